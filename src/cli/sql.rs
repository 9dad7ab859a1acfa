//! `flowscope sql`: its flags, and the query made from them (`crate::sql`).

use clap::Args;

use crate::investigate::parse::parse_duration;
use crate::sql::{Engine, Spec};

pub const SQL_EXAMPLES: &str = "Examples:
  # Athena: the table from AWS's \"Create a table for VPC flow logs\" DDL, one day
  flowscope sql --engine athena --table vpc_flow_logs > reduce.sql
  #   wrap it as UNLOAD (<query> WHERE ...) TO 's3://bucket/reduced/' WITH (format = 'PARQUET')
  #   (see the README: \"Scaling out: Spark and Athena\"), then:
  flowscope summarize s3://bucket/reduced/

  # Spark: the script asks flowscope for the query of the columns it finds
  python3 scripts/spark/preaggregate.py --out reduced/ logs/
  # or, for your own job, with a view flow_logs of AWS's Parquet column names
  flowscope sql --engine spark --table flow_logs --format \"$(zcat f.log.gz | head -1)\"

  # Per-hour timelines stay exact (summarize --bucket 1h, or any multiple)
  flowscope sql --engine athena --bucket 1h";

/// The engine to write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlEngine {
    /// Spark SQL (backtick quotes)
    Spark,
    /// Amazon Athena, Trino, Presto (double quotes)
    Athena,
}

/// Print the SQL that pre-aggregates flow logs on Spark or Athena, for
/// flowscope to finish
///
/// For data that outgrows one machine: the engine you already run reads
/// months of logs and groups the records by every column flowscope's
/// analysis reads except the counters and times (interface, addresses,
/// ports, protocol, action, log-status, tcp-flags, flow-direction, pkt-*
/// addresses and services, account, VPC, subnet, instance, type,
/// traffic-path), summing packets and bytes, keeping the earliest start
/// and latest end, and counting the records in a `flows` column. The
/// result, written as Parquet (or space-separated text with a header
/// line), is read by summarize, recommend and top as the records it
/// stands for: rows, interfaces, peers and proposals are those of the raw
/// logs. Several results (days, accounts, runs) read together add up.
/// query and scans show single records and refuse such input.
#[derive(Debug, Args)]
#[command(after_long_help = SQL_EXAMPLES)]
pub struct SqlArgs {
    /// The engine whose dialect to write: spark (Spark SQL) or athena
    /// (Athena, Trino, Presto)
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: SqlEngine,

    /// The table (or view) holding the flow-log records, `db.table` allowed
    #[arg(long, value_name = "NAME", default_value = "vpc_flow_logs")]
    pub table: String,

    /// The table's columns, as a flow-log format (`${version} ${srcaddr} ...`) or a
    /// field list (hyphens or underscores). Default: the columns of AWS's Athena
    /// DDL for flow logs (versions 2 to 5); only the columns flowscope reads are grouped
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Also group by the interval of the record's start time (30s, 5m, 1h, 1d),
    /// aligned to the epoch: `summarize --bucket` on the result is exact at
    /// this width and its multiples (without it the result has one span per group)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub bucket: Option<u64>,
}

impl SqlArgs {
    /// The query these flags ask for.
    pub fn query(&self) -> anyhow::Result<String> {
        let format = match &self.format {
            Some(f) => {
                let (format, _) = crate::flowlog::Format::parse_typed(f)
                    .map_err(|e| anyhow::anyhow!("--format '{f}': {e}"))?;
                Some(format)
            }
            None => None,
        };
        let spec = Spec {
            engine: match self.engine {
                SqlEngine::Spark => Engine::Spark,
                SqlEngine::Athena => Engine::Athena,
            },
            table: self.table.clone(),
            format,
            bucket: self.bucket,
        };
        Ok(crate::sql::query(&spec)?)
    }
}
