//! `flowscope sql`: the query that reduces a flow-log table on an engine
//! the user already runs (Spark, Athena/Trino) to pre-aggregated lines
//! that flowscope reads back, exactly.
//!
//! Which side of a record is the server and which is the interface is
//! decided in one place (`aggregate::direction`, with end-of-run
//! corrections from learned interface addresses in `aggregate::resolve`).
//! A second copy of those rules in SQL would drift from the first, so the
//! engine does only a lossless reduction: it groups the records by every
//! column flowscope's analysis reads except the counters and times, and
//! sums those. Records of one group differ in nothing flowscope decides
//! on (tcp-flags is a key, not OR-ed: the direction is decided per record
//! from its own flags), so each decision made once per group is the one
//! made for each of its records; counts are weighted by the group's
//! `flows` (`Field::Flows`, flowscope's own field, not AWS's).
//!
//! Exact: rows, interfaces, their flows, packets, bytes, first and last
//! seen, peers, and so proposals. Not kept: which record of a group came
//! when, so `--since/--until` judge a group by its whole span, and a
//! timeline is exact only at the granularity of `--bucket` given here
//! (and its multiples).

use std::fmt::Write;

use crate::flowlog::format::{Field, Format};

/// The engines whose SQL dialect is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Spark SQL: identifiers in backticks.
    Spark,
    /// Athena (Trino, Presto): identifiers in double quotes.
    Athena,
}

/// What the query is for.
#[derive(Debug, Clone)]
pub struct Spec {
    pub engine: Engine,
    /// The table (or view) of flow-log records, as the engine names it
    /// (`db.table` allowed; written as given).
    pub table: String,
    /// The table's columns as flow-log fields (a log format or a field
    /// list); `None`: the columns of AWS's Athena DDL (`ATHENA_DDL`).
    pub format: Option<Format>,
    /// Seconds: also group by the start time's interval of this width,
    /// aligned to the epoch (the buckets of `summarize --bucket`).
    pub bucket: Option<u64>,
}

/// The columns of the table AWS documents for flow logs in Athena
/// ("Create a table for Amazon VPC flow logs", versions 2 to 5, text and
/// Parquet alike; its partition columns are not fields and are ignored).
pub const ATHENA_DDL: &str = "version account-id interface-id srcaddr dstaddr srcport dstport \
protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type \
pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service \
pkt-dst-aws-service flow-direction traffic-path";

/// The fields a group is keyed by, when the table has them: every one
/// flowscope's reports and filters read, but the counters and times.
/// `version`, the sublocation and ECS fields are read by nothing but
/// `query` (which refuses pre-aggregated input), so grouping by them would
/// only make more lines.
pub const KEY_FIELDS: [Field; 22] = [
    Field::AccountId,
    Field::InterfaceId,
    Field::SrcAddr,
    Field::DstAddr,
    Field::SrcPort,
    Field::DstPort,
    Field::Protocol,
    Field::Action,
    Field::LogStatus,
    Field::TcpFlags,
    Field::FlowDirection,
    Field::PktSrcAddr,
    Field::PktDstAddr,
    Field::PktSrcAwsService,
    Field::PktDstAwsService,
    Field::VpcId,
    Field::SubnetId,
    Field::InstanceId,
    Field::Type,
    Field::Region,
    Field::AzId,
    Field::TrafficPath,
];

/// Why no query can be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error(
        "the table has no {0} column: flowscope needs it to tell the traffic apart \
         (give the table's columns with --format)"
    )]
    Missing(&'static str),
    #[error("--table '{0}' is not a table name (letters, digits, _ and . only)")]
    BadTable(String),
    #[error("--bucket must be at least one second")]
    ZeroBucket,
    #[error(
        "the table is a Transit Gateway flow log ({0}): `sql` writes queries for VPC flow \
         logs only"
    )]
    Tgw(String),
}

/// The query for `spec`.
pub fn query(spec: &Spec) -> Result<String, SqlError> {
    let default;
    let format = match &spec.format {
        Some(f) => f,
        None => {
            default = Format::parse(ATHENA_DDL).expect("the Athena DDL's fields are valid");
            &default
        }
    };
    if let Some(t) = format.columns().iter().find(|f| matches!(f, Field::Tgw(_))) {
        return Err(SqlError::Tgw(t.name().to_string()));
    }
    for (f, name) in [
        (Field::SrcAddr, "srcaddr"),
        (Field::DstAddr, "dstaddr"),
        (Field::Protocol, "protocol"),
    ] {
        if !format.has(&f) {
            return Err(SqlError::Missing(name));
        }
    }
    let valid_table = !spec.table.is_empty()
        && spec
            .table
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if !valid_table {
        return Err(SqlError::BadTable(spec.table.clone()));
    }
    if spec.bucket == Some(0) {
        return Err(SqlError::ZeroBucket);
    }
    let q = |f: &Field| quote(spec.engine, &f.parquet_name());
    let keys: Vec<&Field> = KEY_FIELDS.iter().filter(|f| format.has(f)).collect();
    // Numbers through TRY_CAST: Spark reading text logs sees strings (and
    // `-`), which SUM would turn into floating point; Athena's columns
    // are already integers, which the cast leaves as they are. Both
    // dialects have TRY_CAST (Spark 3.2+, Trino).
    let num = |f: &Field| format!("TRY_CAST({} AS BIGINT)", q(f));
    let mut select: Vec<String> = keys
        .iter()
        .map(|f| format!("{} AS {}", q(f), q(f)))
        .collect();
    for (field, agg) in [
        (Field::Packets, "SUM"),
        (Field::Bytes, "SUM"),
        (Field::Start, "MIN"),
        (Field::End, "MAX"),
    ] {
        if format.has(&field) {
            select.push(format!("{agg}({}) AS {}", num(&field), q(&field)));
        }
    }
    // A table that is already pre-aggregated (a merge of earlier results)
    // sums its counts.
    let flows = if format.has(&Field::Flows) {
        format!("SUM({})", num(&Field::Flows))
    } else {
        "COUNT(*)".to_string()
    };
    select.push(format!("{flows} AS {}", q(&Field::Flows)));
    let mut group: Vec<String> = keys.iter().map(|f| q(f)).collect();
    if let Some(width) = spec.bucket {
        // flowscope's timeline puts a record at its start, or its end
        // when it has no start (`investigate::timeline`).
        let time = match (format.has(&Field::Start), format.has(&Field::End)) {
            (true, true) => format!("COALESCE({}, {})", num(&Field::Start), num(&Field::End)),
            (true, false) => num(&Field::Start),
            (false, true) => num(&Field::End),
            (false, false) => return Err(SqlError::Missing("start")),
        };
        group.push(format!("{time} - {time} % {width}"));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- flowscope sql --engine {}: one line per group of records that differ only in their",
        match spec.engine {
            Engine::Spark => "spark",
            Engine::Athena => "athena",
        }
    );
    let _ = writeln!(
        out,
        "-- counters and times; flowscope reads the result (Parquet, or text with its header line)."
    );
    let _ = writeln!(out, "SELECT\n  {}", select.join(",\n  "));
    let _ = writeln!(out, "FROM {}", spec.table);
    let _ = writeln!(out, "GROUP BY\n  {}", group.join(",\n  "));
    Ok(out)
}

/// An identifier in the engine's quotes (every one is quoted: `end` is
/// reserved in both dialects, `start`, `type` and `action` in some).
fn quote(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Spark => format!("`{name}`"),
        Engine::Athena => format!("\"{name}\""),
    }
}

#[cfg(test)]
mod tests;
