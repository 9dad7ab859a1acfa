//! What a run is asked to do, as plain values ("high args", as ripgrep's
//! `HiArgs`): built once from the command line by `cli`, read by
//! `commands`. Nothing here knows clap, so the commands and everything
//! below them can be driven by tests, benches or another front end
//! without a command line.

use std::path::PathBuf;

use crate::investigate::top::{Metric, TopBy};
use crate::investigate::FilterSpec;
use crate::report::{ColorChoice, OutputFormat};

/// One run: the global settings and the command.
#[derive(Debug)]
pub struct Config {
    /// When to colour tables (`--color`).
    pub color: ColorChoice,
    /// Never narrow tables to the terminal's width (`--wide`).
    pub wide: bool,
    pub command: Command,
}

/// The command to run, with its settings.
#[derive(Debug)]
pub enum Command {
    Summarize(SummarizeConfig),
    Recommend(RecommendConfig),
    Generate(crate::generate::GenerateOptions),
    Query(QueryConfig),
    Top(TopConfig),
    Scans(ScansConfig),
    /// Text made by the command-line layer itself (a completion script,
    /// the manual page), written to stdout as it is.
    Print(Vec<u8>),
}

/// What every command that reads flow logs needs.
#[derive(Debug, Clone, Default)]
pub struct InputConfig {
    /// Files, directories, or `-` for stdin.
    pub paths: Vec<PathBuf>,
    /// How s3:// inputs are reached.
    pub s3: crate::source::s3::S3Config,
    /// `--format`: the format of input without a header line.
    pub format: Option<String>,
    /// `--flow-logs`: `aws ec2 describe-flow-logs` JSON, each log group's
    /// format for CloudWatch Logs forms.
    pub flow_logs: Option<PathBuf>,
    /// Worker threads (`-j`, 1 to `cli::MAX_THREADS`); None: the default.
    pub threads: Option<usize>,
    /// Malformed lines are fatal.
    pub strict: bool,
    /// No warnings about skipped lines, no progress line.
    pub quiet: bool,
}

/// The `--since/--until` window of `summarize` and `recommend`, epoch
/// seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowConfig {
    pub since: Option<u64>,
    pub until: Option<u64>,
}

/// `flowscope summarize`.
#[derive(Debug)]
pub struct SummarizeConfig {
    pub input: InputConfig,
    pub output: SummarizeFormat,
    pub window: WindowConfig,
    pub output_file: Option<PathBuf>,
    pub interfaces: Option<PathBuf>,
    /// Rows shown at most (None: the format's default).
    pub limit: Option<usize>,
    /// Timeline interval, seconds.
    pub bucket: Option<u64>,
}

/// Output formats of `summarize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummarizeFormat {
    Table,
    Json,
    Csv,
    /// A self-contained page (report::html).
    Html,
}

/// Output formats of `recommend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecommendFormat {
    Table,
    Json,
    Cli,
    Cfn,
    Terraform,
    /// A self-contained page for reviewers (report::html).
    Html,
}

/// `flowscope recommend`.
#[derive(Debug)]
pub struct RecommendConfig {
    pub input: InputConfig,
    pub output: RecommendFormat,
    pub window: WindowConfig,
    pub output_file: Option<PathBuf>,
    pub groups: Vec<PathBuf>,
    pub interfaces: Vec<PathBuf>,
    pub template: Option<PathBuf>,
    pub stack_resources: Option<PathBuf>,
    pub prefix_lists: Option<PathBuf>,
    /// `describe-stale-security-groups` outputs (files or directories).
    pub stale_groups: Vec<PathBuf>,
    pub max_groups: usize,
    pub max_prefixes: usize,
    pub public_peers: usize,
    pub stable_cidrs: Option<PathBuf>,
    pub aws_ip_ranges: Option<PathBuf>,
    pub aws_prefix_lists: Option<PathBuf>,
    pub group: Vec<String>,
    pub kind: Vec<crate::recommend::KindArg>,
    pub min_confidence: crate::recommend::ConfidenceArg,
    pub include_low: bool,
    pub aws_args: Option<String>,
}

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryFormat {
    /// The original lines.
    Text,
    /// JSON Lines.
    Json,
    Csv,
}

/// Sort keys of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Record start time (then file, line).
    Start,
}

/// `flowscope query`.
#[derive(Debug)]
pub struct QueryConfig {
    pub input: InputConfig,
    pub output: QueryFormat,
    pub with_filename: bool,
    pub limit: Option<u64>,
    pub output_file: Option<PathBuf>,
    pub sort: Option<SortKey>,
    pub include_nodata: bool,
    pub bucket: Option<u64>,
    pub filter: FilterSpec,
}

/// `flowscope top`.
#[derive(Debug)]
pub struct TopConfig {
    pub input: InputConfig,
    pub by: TopBy,
    pub metric: Metric,
    /// Rows shown (0: all).
    pub n: usize,
    pub output: OutputFormat,
    pub output_file: Option<PathBuf>,
    pub interfaces: Option<PathBuf>,
    pub bucket: Option<u64>,
    pub filter: FilterSpec,
}

/// `flowscope scans`.
#[derive(Debug)]
pub struct ScansConfig {
    pub input: InputConfig,
    pub min_ports: usize,
    pub min_targets: usize,
    /// Window length, seconds.
    pub window: u64,
    pub min_reject_pct: u64,
    pub max_cells: usize,
    pub output: OutputFormat,
    pub output_file: Option<PathBuf>,
    pub interfaces: Option<PathBuf>,
    pub filter: FilterSpec,
}
