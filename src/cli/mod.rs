//! Command-line definition (clap): the flags ("low args", as ripgrep's
//! `LowArgs`), checked value by value, then converted once into the plain
//! `config` values the commands run on (`Cli::into_config`). This is the
//! only module that knows clap; nothing below it imports `cli`.

mod generate;
mod investigate;
mod sql;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, InputConfig, RecommendConfig, SummarizeConfig, WindowConfig};
use crate::investigate::parse::{parse_time, parse_until};
use crate::report::{self, parse_output_path};

/// Fast AWS VPC flow-log analysis: summarize traffic per interface, turn it
/// into least-privilege security groups, investigate incidents.
#[derive(Debug, Parser)]
#[command(name = "flowscope", version, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour tables: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: ColorChoice,

    /// Never narrow tables to the terminal's width (on a terminal, long
    /// text columns are otherwise cut with …; pipes and files get everything)
    #[arg(long, global = true)]
    pub wide: bool,
}

pub const EXIT_CODES: &str = "Exit status: 0 everything read; 1 some input could not be read (a damaged or \
unreadable file; the rest was processed), or lines were malformed with --strict; 2 usage error or fatal error; 130 interrupted (Ctrl-C), with what was \
read so far on stderr. A closed pipe (`flowscope ... | head`) is not an error: \
the status is as if the output had been read to the end.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Aggregate flows by interface, direction, protocol, service port and action
    ///
    /// Reads flow logs as AWS delivers them (gzip or plain text, S3 header line,
    /// default or custom format of any version) and groups the traffic by
    /// network interface, the direction of the security-group rule it needs
    /// (ingress: the interface is the server; egress: it is the client), the
    /// service port (the listening side's port, never an ephemeral one) and
    /// ACCEPT/REJECT.
    // The examples are in after_long_help: clap reflows doc comments and
    // ran them together into one paragraph.
    #[command(after_long_help = SUMMARIZE_EXAMPLES)]
    Summarize(SummarizeArgs),

    /// Match traffic to security-group rules and propose least-privilege rules
    ///
    /// Reads flow logs and the inventory (`aws ec2 describe-security-groups`,
    /// `describe-network-interfaces`, optionally a CloudFormation template),
    /// attributes every accepted flow to the rules that allowed it, and proposes
    /// tighter rules with their evidence: a source group instead of 0.0.0.0/0
    /// when only one group's interfaces talk (the ALB → task pattern), narrower
    /// CIDRs and port ranges, removal of unused rules, egress limited to what was
    /// initiated, and a review of world-open administrative ports. Every proposal
    /// is checked by simulation: applying all of them must not deny any accepted
    /// flow in the logs.
    ///
    /// A directory argument that holds security-groups.json,
    /// network-interfaces.json and template.json (as sample-logs/retail-store
    /// does) supplies the inventory too.
    #[command(after_long_help = RECOMMEND_EXAMPLES)]
    Recommend(RecommendArgs),

    /// Generate realistic flow logs and matching inventory (retail store, or a busy estate)
    ///
    /// Writes S3-style gzip flow logs (default and custom formats, multi-member
    /// gzip, NODATA/SKIPDATA, IPv6) for an ALB → ECS services → RDS/Redis
    /// topology, with security-groups.json, network-interfaces.json, a
    /// CloudFormation template and a manifest of the ground truth. Used for
    /// sample-logs/, tests and benchmarks.
    Generate(generate::GenerateArgs),

    Query(investigate::QueryArgs),
    Top(investigate::TopArgs),
    Scans(investigate::ScansArgs),
    Sql(sql::SqlArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_long_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff), for `man -l -` or a man directory
    #[command(after_long_help = "Example:\n  flowscope man > ~/.local/share/man/man1/flowscope.1")]
    Man,
}

const SUMMARIZE_EXAMPLES: &str = "\
Examples:
  flowscope summarize sample-logs/retail-store
  flowscope summarize -o json --interfaces network-interfaces.json logs/
  flowscope summarize --since 2025-11-20 --until 2025-11-20 logs/   # that whole day
  flowscope summarize --since 24h -n 20 logs/
  zcat x.log.gz | flowscope summarize --format '${version} ${interface-id} ...' -";

const RECOMMEND_EXAMPLES: &str = "\
Examples:
  flowscope recommend sample-logs/retail-store
  flowscope recommend -o cli --groups sgs.json --interfaces enis.json logs/ > apply.sh
  flowscope recommend -o cfn --template stack.json --groups sgs.json --interfaces enis.json logs/
  # a baseline without the incident window
  flowscope recommend --until 2025-11-20T09:59:59Z sample-logs/retail-store";

const COMPLETIONS_HELP: &str = "\
Install:
  bash: flowscope completions bash > ~/.local/share/bash-completion/completions/flowscope
  zsh:  flowscope completions zsh > ~/.zfunc/_flowscope   (with fpath+=~/.zfunc before compinit)
  fish: flowscope completions fish > ~/.config/fish/completions/flowscope.fish";

/// Output formats of `recommend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecommendFormat {
    /// Rules grouped by security group, with hits and proposals
    Table,
    /// The full analysis (a documented contract)
    Json,
    /// A shell script of AWS CLI calls: every authorize before any revoke, one call per group
    /// and direction, safe to run again; `sh FILE --dry-run` changes nothing
    Cli,
    /// The CloudFormation template with its rules rewritten
    Cfn,
    /// Terraform (AWS provider): new rules as resources, the rules they replace imported by
    /// their sgr- ids, to be removed in a second step
    Terraform,
    /// One self-contained HTML page for reviewers: every group and rule with its evidence,
    /// each proposal with the exact change, the warnings (open it in a browser; works offline)
    Html,
}

/// Output formats of `summarize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummarizeFormat {
    /// Aligned columns for people
    Table,
    /// One JSON document (a documented contract)
    Json,
    /// Comma-separated rows with a header
    Csv,
    /// One self-contained HTML page: totals, interfaces, sortable rows, the input accounting
    Html,
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: RecommendFormat,

    #[command(flatten)]
    pub window: WindowArgs,

    #[command(flatten)]
    pub output_file: OutputFileArgs,

    /// `aws ec2 describe-security-groups` (or `describe-security-group-rules`) JSON or YAML.
    /// Repeat it, or name a directory (searched for security-groups.json), for several
    /// accounts or regions: they are merged
    #[arg(long, value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub groups: Vec<PathBuf>,

    /// `aws ec2 describe-network-interfaces` JSON or YAML (which groups each interface has, its
    /// addresses). Repeat it, or name a directory (searched for network-interfaces.json)
    #[arg(long, value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub interfaces: Vec<PathBuf>,

    /// CloudFormation template (JSON, or YAML with !Ref/!GetAtt) defining the groups; needed for -o cfn
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// `aws cloudformation describe-stack-resources` JSON, to map template logical ids to group ids
    #[arg(long, value_name = "FILE")]
    pub stack_resources: Option<PathBuf>,

    /// `aws ec2 get-managed-prefix-list-entries` output keyed by prefix-list id
    #[arg(long, value_name = "FILE")]
    pub prefix_lists: Option<PathBuf>,

    /// `aws ec2 describe-stale-security-groups` JSON or YAML: its stale rules join the group
    /// findings. Repeat it (one per VPC), or name a directory (searched for
    /// stale-security-groups.json)
    #[arg(long, value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub stale_groups: Vec<PathBuf>,

    /// At most this many source groups may replace one CIDR
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_groups: usize,

    /// At most this many prefixes may replace one CIDR when narrowing
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_prefixes: usize,

    /// A world-open rule used by at least N internet addresses is public traffic: kept
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub public_peers: usize,

    // Where public destinations may be pinned (recommend::destinations); without these,
    // public destinations are allowed by port only, never pinned to the addresses seen.
    /// Public ranges you declare stable (partners, your offices): one CIDR a line, `#` comments
    #[arg(long, value_name = "FILE")]
    pub stable_cidrs: Option<PathBuf>,

    /// AWS's ip-ranges.json (offline copy): names the AWS service of public destinations
    #[arg(long, value_name = "FILE")]
    pub aws_ip_ranges: Option<PathBuf>,

    /// `aws ec2 describe-prefix-lists` or `describe-managed-prefix-lists` JSON: the AWS-managed
    /// prefix lists (S3, DynamoDB) proposed for their services' addresses
    #[arg(long, value_name = "FILE")]
    pub aws_prefix_lists: Option<PathBuf>,

    // Which recommendations every output shows (the analysis covers every group).
    /// Only this group's recommendations (repeatable)
    #[arg(long, value_name = "SG-ID", action = clap::ArgAction::Append)]
    pub group: Vec<String>,

    /// Only this kind of recommendation (repeatable): replace-cidr-with-group, narrow-cidr,
    /// narrow-ports, remove-unused, tighten-egress, review-public
    #[arg(long, value_name = "KIND", value_parser = crate::recommend::KindArg::parse, action = clap::ArgAction::Append)]
    pub kind: Vec<crate::recommend::KindArg>,

    /// Leave out recommendations below this confidence: low, medium, high
    #[arg(long, value_name = "LEVEL", value_parser = crate::recommend::ConfidenceArg::parse, default_value = "low")]
    pub min_confidence: crate::recommend::ConfidenceArg,

    /// -o cli: write low-confidence changes as commands (by default they are commented out)
    #[arg(long)]
    pub include_low: bool,

    /// -o cli: arguments for every aws call, e.g. '--profile prod --region us-east-1'
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub aws_args: Option<String>,
}

/// Options shared by every command that reads flow logs.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Flow-log files, directories (walked recursively: the S3 layout
    /// AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/), s3://bucket/prefix
    /// URLs, or - for stdin
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub s3: S3Args,

    /// Format of input without a header line, in AWS's syntax:
    /// '${version} ${account-id} ${interface-id} ...'. Files with a header
    /// line use their header. Default: the v2 default format.
    #[arg(long, value_name = "FMT")]
    pub format: Option<String>,

    /// `aws ec2 describe-flow-logs` output (JSON): the format of each flow
    /// log's log group, for CloudWatch Logs exports, filter-log-events
    /// output and Firehose deliveries, which have no header line
    #[arg(long, value_name = "FILE")]
    pub flow_logs: Option<PathBuf>,

    /// Worker threads, 1 to 1024 (default: all cores, at most 16; never
    /// more than the work needs)
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// Fail (exit status 1, no report) if any line is malformed
    #[arg(long)]
    pub strict: bool,

    /// Do not print warnings about skipped lines, nor the progress line (errors are still printed)
    #[arg(short, long)]
    pub quiet: bool,
}

/// Where and how s3:// inputs are read, as the AWS CLI's options.
#[derive(Debug, Args, Clone, Default)]
pub struct S3Args {
    /// AWS region of s3:// inputs (default: AWS_REGION, AWS_DEFAULT_REGION,
    /// the profile's region, else the bucket's own, asked of S3)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// URL of an S3-compatible store for s3:// inputs (default:
    /// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Read s3:// inputs without credentials (public buckets)
    #[arg(long)]
    pub no_sign_request: bool,

    /// AWS profile for s3:// inputs, from ~/.aws/config and
    /// ~/.aws/credentials (default: AWS_PROFILE, else the default profile)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl From<S3Args> for crate::source::s3::S3Config {
    fn from(a: S3Args) -> Self {
        crate::source::s3::S3Config {
            region: a.region,
            endpoint_url: a.endpoint_url,
            no_sign_request: a.no_sign_request,
            profile: a.profile,
        }
    }
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: SummarizeFormat,

    #[command(flatten)]
    pub window: WindowArgs,

    #[command(flatten)]
    pub output_file: OutputFileArgs,

    /// `aws ec2 describe-network-interfaces` JSON: gives each interface's own
    /// addresses (for direction) and names interfaces in the table
    #[arg(long, value_name = "FILE")]
    pub interfaces: Option<PathBuf>,

    /// Show only the N rows with the most flows (table default: 50; HTML: 2,000; JSON/CSV: all)
    #[arg(short = 'n', long = "limit", alias = "top", value_name = "N")]
    pub limit: Option<usize>,

    /// Also count flows, packets and bytes per interval of DURATION (30s, 5m,
    /// 1h, 1d) by record start time: sparklines under the table, a
    /// `timeline` object in JSON (not in CSV)
    #[arg(long, value_name = "DURATION", value_parser = crate::investigate::parse::parse_duration)]
    pub bucket: Option<u64>,
}

/// The clap command of the whole CLI (for completions and the man page).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

/// Upper bound of `-j`: far above any useful count, low enough that
/// spawning that many threads cannot fail on an ordinary system.
pub const MAX_THREADS: usize = 1024;

/// `-j N`: a whole number from 1 to MAX_THREADS.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 threads cannot do any work: use 1 or more".into()),
        Ok(n) if n <= MAX_THREADS => Ok(n),
        Ok(_) => Err(format!("at most {MAX_THREADS} threads")),
        Err(_) => Err(format!(
            "'{s}' is not a number of threads (1 to {MAX_THREADS})"
        )),
    }
}

/// The time window of `summarize` and `recommend` (`query`, `top` and
/// `scans` have the same flags among their filters). Records outside it
/// are left out and counted as filtered in the input accounting.
#[derive(Debug, Args, Clone, Default)]
pub struct WindowArgs {
    /// Only records that end at or after this time: RFC 3339
    /// (2025-11-20T10:00:00Z, 2025-11-20T12:00:00+02:00), a date (2025-11-20),
    /// epoch seconds or milliseconds (13 digits), or an age (30m, 1h, 7d: that
    /// long before now). Times and dates without an offset are UTC, as flow
    /// logs are
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<u64>,

    /// Only records that start at or before this time (same forms as
    /// --since; a date alone means the END of that day, so --since D
    /// --until D is the whole day D)
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<u64>,
}

/// `--output-file`, as summarize, recommend, top and scans take it.
/// Flatten into a command's arguments.
#[derive(Debug, Args)]
pub struct OutputFileArgs {
    /// Write the output to FILE (a regular file is replaced atomically; a
    /// pipe, device or symlink is written through)
    #[arg(long, value_name = "FILE", value_parser = parse_output_path)]
    pub output_file: Option<PathBuf>,
}

/// Output formats a command can emit (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people
    Table,
    /// One JSON document (a documented contract)
    Json,
    /// Comma-separated rows with a header
    Csv,
}

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb
    #[default]
    Auto,
    /// Always (even into a pipe or a file)
    Always,
    /// Never
    Never,
}

/// `From` between a clap choice and its plain twin, variant by variant
/// (the help text of each choice stays here, with the flags).
macro_rules! mirror {
    ($from:ty => $to:ty { $($v:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(v: $from) -> $to {
                match v {
                    $(<$from>::$v => <$to>::$v,)*
                }
            }
        }
    };
}
pub(crate) use mirror;

mirror!(OutputFormat => report::OutputFormat { Table, Json, Csv });
mirror!(ColorChoice => report::ColorChoice { Auto, Always, Never });
mirror!(RecommendFormat => config::RecommendFormat { Table, Json, Cli, Cfn, Terraform, Html });
mirror!(SummarizeFormat => config::SummarizeFormat { Table, Json, Csv, Html });

impl Cli {
    /// The run these flags ask for. Completions and the manual page are
    /// made here, from the clap definition: the commands never see it.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let command = match self.command {
            Command::Summarize(a) => config::Command::Summarize(a.into()),
            Command::Recommend(a) => config::Command::Recommend(a.into()),
            Command::Generate(a) => config::Command::Generate(a.into()),
            Command::Query(a) => config::Command::Query(a.into()),
            Command::Top(a) => config::Command::Top(a.into()),
            Command::Scans(a) => config::Command::Scans(a.into()),
            Command::Sql(a) => config::Command::Print(a.query()?.into_bytes()),
            Command::Completions { shell } => {
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut command(), "flowscope", &mut buf);
                config::Command::Print(buf)
            }
            Command::Man => {
                let mut buf = Vec::new();
                clap_mangen::Man::new(command()).render(&mut buf)?;
                config::Command::Print(buf)
            }
        };
        Ok(Config {
            color: self.color.into(),
            wide: self.wide,
            command,
        })
    }
}

impl From<InputArgs> for InputConfig {
    fn from(a: InputArgs) -> InputConfig {
        InputConfig {
            paths: a.paths,
            s3: a.s3.into(),
            format: a.format,
            flow_logs: a.flow_logs,
            threads: a.threads,
            strict: a.strict,
            quiet: a.quiet,
        }
    }
}

impl From<WindowArgs> for WindowConfig {
    fn from(a: WindowArgs) -> WindowConfig {
        WindowConfig {
            since: a.since,
            until: a.until,
        }
    }
}

impl From<SummarizeArgs> for SummarizeConfig {
    fn from(a: SummarizeArgs) -> SummarizeConfig {
        SummarizeConfig {
            input: a.input.into(),
            output: a.output.into(),
            window: a.window.into(),
            output_file: a.output_file.output_file,
            interfaces: a.interfaces,
            limit: a.limit,
            bucket: a.bucket,
        }
    }
}

impl From<RecommendArgs> for RecommendConfig {
    fn from(a: RecommendArgs) -> RecommendConfig {
        RecommendConfig {
            input: a.input.into(),
            output: a.output.into(),
            window: a.window.into(),
            output_file: a.output_file.output_file,
            groups: a.groups,
            interfaces: a.interfaces,
            template: a.template,
            stack_resources: a.stack_resources,
            prefix_lists: a.prefix_lists,
            stale_groups: a.stale_groups,
            max_groups: a.max_groups,
            max_prefixes: a.max_prefixes,
            public_peers: a.public_peers,
            stable_cidrs: a.stable_cidrs,
            aws_ip_ranges: a.aws_ip_ranges,
            aws_prefix_lists: a.aws_prefix_lists,
            group: a.group,
            kind: a.kind,
            min_confidence: a.min_confidence,
            include_low: a.include_low,
            aws_args: a.aws_args,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
