//! The flags of `generate`, and their conversion into `generate::GenerateOptions`.

use std::path::PathBuf;

use crate::generate::{self, GenerateOptions};

/// Record format choice of `--format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// AWS default format (version 2 fields in the default order).
    V2,
    /// Custom format with version 3 fields (vpc-id, subnet-id, instance-id, type,
    /// pkt-srcaddr, pkt-dstaddr, tcp-flags) in a non-default column order.
    V3,
    /// Custom format with version 3-5 fields (adds flow-direction, region, az-id,
    /// pkt-src/dst-aws-service, traffic-path) in a non-default column order.
    V5,
    /// Files alternate v2, v3 and v5 (as when several flow logs write to one bucket).
    Mixed,
    /// Parquet files (`--file-format parquet`), records as `mixed` (busy profile: v2).
    Parquet,
}

/// File format of `--file-format`: how AWS delivers to S3 (`FileFormat`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Text lines with a header line (gzip unless --no-gzip).
    Text,
    /// Apache Parquet as AWS writes it: one column per field of the format (underscore
    /// names, INT32/INT64 numbers, strings), GZIP inside, row groups of 16,384 rows.
    Parquet,
}

/// Which estate `generate` describes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The ECS retail store of one account (with manifest.json, template.json).
    Retail,
    /// A busy multi-account estate: 200 interfaces in 4 accounts, dual-stack, secondary
    /// addresses, NAT gateways, internet-facing load balancers, 20,000 public and 4,000
    /// private clients, 3,000 scanners; files of 50,000 records; truth.csv holds the true
    /// row (interface, rule direction, protocol, port, action) of every record.
    Busy,
}

/// Generate a realistic VPC flow-log dataset (S3 layout) with inventory and ground truth.
#[derive(clap::Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Estate to generate.
    #[arg(long, value_enum, default_value_t = Profile::Retail)]
    pub profile: Profile,

    /// Output directory (created if missing). Logs go under DIR/AWSLogs/...; previously
    /// generated log files of this flow log in DIR are replaced.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Total number of data records (all non-header lines, NODATA and SKIPDATA included).
    #[arg(long, value_name = "N", default_value_t = 40_000)]
    pub records: u64,

    /// Number of log files, spread over the time window by 5-minute delivery times
    /// (retail profile; the busy profile writes files of 50,000 records).
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub files: usize,

    /// Write one single .log.gz file holding everything (overrides --files).
    #[arg(long)]
    pub single_file: bool,

    /// Start of the time window (default 2025-11-20T00:00:00Z): RFC 3339, a
    /// date, epoch seconds or milliseconds, or an age like 6h or 7d (that long before now).
    #[arg(long, value_name = "TIME", default_value_t = 1_763_596_800,
          value_parser = crate::investigate::parse::parse_time)]
    pub start: u64,

    /// Length of the time window in hours.
    #[arg(long, value_name = "H", default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub hours: u64,

    /// Random seed of the traffic (the topology is fixed). Same arguments and seed give
    /// byte-identical output.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// Record format of the files (busy profile: v2 unless v3 or v5 is given).
    #[arg(long, value_enum, default_value_t = FormatArg::Mixed)]
    pub format: FormatArg,

    /// Write plain .log files instead of gzip.
    #[arg(long)]
    pub no_gzip: bool,

    /// File format of the logs: text, or Parquet (`.log.parquet` files holding the same
    /// records as the text files of the same arguments).
    #[arg(long, value_enum, default_value_t = FileFormat::Text)]
    pub file_format: FileFormat,

    /// Gzip compression level (0-9).
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: u32,

    /// Add incident traffic: a port scan of the ALB, a data exfiltration from an orders task
    /// and a lateral-movement sweep from a catalog task (facts in manifest.json).
    #[arg(long)]
    pub incidents: bool,

    /// Do not write security-groups.json, network-interfaces.json and template.json
    /// (manifest.json is still written).
    #[arg(long)]
    pub no_inventory: bool,

    /// Write into a directory that is not empty. Without it a non-empty DIR is refused, so
    /// that a mistyped --out never overwrites an inventory or deletes logs; with it, log
    /// files of the generated flow log found there are removed and the inventory, manifest
    /// and truth files overwritten (other files are left as they are).
    #[arg(long)]
    pub force: bool,
}

super::mirror!(FormatArg => generate::FormatArg { V2, V3, V5, Mixed, Parquet });
super::mirror!(FileFormat => generate::FileFormat { Text, Parquet });
super::mirror!(Profile => generate::Profile { Retail, Busy });

impl From<GenerateArgs> for GenerateOptions {
    fn from(a: GenerateArgs) -> GenerateOptions {
        GenerateOptions {
            profile: a.profile.into(),
            out: a.out,
            records: a.records,
            files: a.files,
            single_file: a.single_file,
            start: a.start,
            hours: a.hours,
            seed: a.seed,
            format: a.format.into(),
            no_gzip: a.no_gzip,
            file_format: a.file_format.into(),
            level: a.level,
            incidents: a.incidents,
            no_inventory: a.no_inventory,
            force: a.force,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_defaults_match_new() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: GenerateArgs,
        }
        let a = Cli::try_parse_from(["flowscope", "--out", "d"])
            .unwrap()
            .args;
        let a = GenerateOptions::from(a);
        let b = GenerateOptions::new("d");
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let c = Cli::try_parse_from([
            "flowscope",
            "--out",
            "d",
            "--format",
            "v3",
            "--level",
            "1",
            "--incidents",
        ])
        .unwrap()
        .args;
        let c = GenerateOptions::from(c);
        assert_eq!(
            (c.format, c.level, c.incidents),
            (generate::FormatArg::V3, 1, true)
        );
        assert!(Cli::try_parse_from(["flowscope", "--out", "d", "--level", "10"]).is_err());
        assert!(
            Cli::try_parse_from(["flowscope"]).is_err(),
            "--out is required"
        );
    }
}
