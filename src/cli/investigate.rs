//! The flags of `query`, `top` and `scans`, and of the record filters they
//! share, with their conversion into `config` and `investigate` values.

use std::path::PathBuf;

use clap::Args;

use super::{InputArgs, OutputFileArgs, OutputFormat};
use crate::config::{self, QueryConfig, ScansConfig, TopConfig};
use crate::flowlog::record::Action;
use crate::investigate::filter::{addr_range, port_range, AddrRange, PortRange};
use crate::investigate::parse::{
    parse_action, parse_duration, parse_protocol, parse_time, parse_until,
};
use crate::investigate::scans::DEFAULT_MAX_CELLS;
use crate::investigate::{top, FilterSpec};
use crate::report::parse_output_path;

/// Filter flags. Flatten into a command's arguments.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Filters (different flags: AND; a repeated flag: OR)")]
pub struct FilterArgs {
    /// Address or CIDR block on either side (srcaddr or dstaddr), IPv4 or IPv6
    #[arg(long, value_name = "ADDR|CIDR", value_parser = addr_range)]
    pub addr: Vec<AddrRange>,

    /// Address or CIDR block of the source (srcaddr)
    #[arg(long, value_name = "ADDR|CIDR", value_parser = addr_range)]
    pub src: Vec<AddrRange>,

    /// Address or CIDR block of the destination (dstaddr)
    #[arg(long, value_name = "ADDR|CIDR", value_parser = addr_range)]
    pub dst: Vec<AddrRange>,

    /// Network interface (interface-id), e.g. eni-0a1b2c3d4e5f60718
    #[arg(long, value_name = "ENI")]
    pub eni: Vec<String>,

    /// Port or range (8000-8100) on either side (srcport or dstport)
    #[arg(long, value_name = "PORT|LO-HI", value_parser = port_range)]
    pub port: Vec<PortRange>,

    /// Source port or range
    #[arg(long, value_name = "PORT|LO-HI", value_parser = port_range)]
    pub sport: Vec<PortRange>,

    /// Destination port or range
    #[arg(long, value_name = "PORT|LO-HI", value_parser = port_range)]
    pub dport: Vec<PortRange>,

    /// Protocol: IANA number or tcp, udp, icmp, icmpv6
    #[arg(long, value_name = "PROTO", value_parser = parse_protocol)]
    pub protocol: Vec<u8>,

    /// ACCEPT or REJECT (any case)
    #[arg(long, value_name = "ACTION", value_parser = parse_action)]
    pub action: Option<Action>,

    /// Records that end at or after this time: RFC 3339
    /// (2025-11-20T10:00:00Z, 2025-11-20T12:00:00+02:00), a date (2025-11-20),
    /// epoch seconds or milliseconds (13 digits), or an age (30m, 1h, 7d: that
    /// long before now). Times and dates without an offset are UTC, as flow
    /// logs are
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<u64>,

    /// Records that start at or before this time (same forms as --since; a
    /// date alone means the END of that day). With --since: the records
    /// whose [start, end] overlaps the window
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<u64>,

    /// VPC (vpc-id column, exact text; Transit Gateway logs: tgw-src-vpc-id or
    /// tgw-dst-vpc-id); files with neither kind of column match nothing
    #[arg(long, value_name = "VPC")]
    pub vpc: Vec<String>,

    /// Subnet (subnet-id column, exact text; Transit Gateway logs:
    /// tgw-src-subnet-id or tgw-dst-subnet-id); files with neither match nothing
    #[arg(long, value_name = "SUBNET")]
    pub subnet: Vec<String>,

    /// Instance (instance-id column, exact text); files without the field match nothing
    #[arg(long, value_name = "INSTANCE")]
    pub instance: Vec<String>,
}

const QUERY_ABOUT: &str = "\
Print the flow-log records that match every filter given: the original lines \
(text), JSON Lines keyed by the AWS field names of each record's own format, \
or CSV with a fixed column set.

Filters combine with AND; repeating a flag is an OR of its values \
(--port 22 --port 3389). Addresses take CIDR blocks; ports take ranges. \
--since/--until keep the records whose [start, end] overlaps the window. \
NODATA and SKIPDATA records are left out unless --include-nodata (they can \
match --eni, the time window and --vpc/--subnet/--instance, never a filter \
on addresses, ports, protocol or action).

Results stream as they are found; with several files or threads their order \
follows the work, not the input (-j 1 or --sort start for a fixed order).

Examples:
  # everything a suspicious address did, with where each line came from
  flowscope query logs/ --addr 203.0.113.66 --with-filename
  # rejected SSH/RDP attempts from inside the VPC, as JSON Lines
  flowscope query logs/ --src 10.0.0.0/16 --dport 22 --dport 3389 --action reject -o json
  # one interface during an incident window, in time order
  flowscope query logs/ --eni eni-0a1b2c3d4e5f60718 \\
      --since 2025-11-20T10:00:00Z --until 2025-11-20T10:30:00Z --sort start
  # the first 20 large transfers to port 443, with a 5-minute timeline on stderr
  flowscope query logs/ --dport 443 --limit 20 --bucket 5m";

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    /// The original lines
    Text,
    /// JSON Lines: one object per record, AWS field names, `-` as null, plus file and line
    Json,
    /// CSV: file,line,interface-id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,
    /// start,end,action,log-status,tcp-flags,flow-direction (empty when absent)
    Csv,
}

/// Sort keys of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// Record start time (then file, line)
    Start,
}

#[derive(Debug, Args)]
#[command(
    about = "Print the records that match filters (addresses, ports, interface, time, action)",
    long_about = QUERY_ABOUT
)]
pub struct QueryArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: QueryFormat,

    /// Prefix each text line with `file:line:`
    #[arg(long)]
    pub with_filename: bool,

    /// Stop after N matching records (without --sort: the first N found,
    /// which with several threads are not necessarily the first N in the files)
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<u64>,

    /// Write the records to FILE (a regular file is replaced atomically
    /// once complete; a pipe, device or symlink is written through)
    #[arg(long, value_name = "FILE", value_parser = parse_output_path)]
    pub output_file: Option<std::path::PathBuf>,

    /// Sort the output. Nothing is printed until the input is read; without --limit every match
    /// is held in memory, with --limit N only the first N in sort order (memory bounded by N)
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SortKey>,

    /// Also print NODATA and SKIPDATA records (they match only --eni, the
    /// time window and --vpc/--subnet/--instance)
    #[arg(long)]
    pub include_nodata: bool,

    /// Print a timeline of the matching records to stderr after them:
    /// flows, packets and bytes per interval of record start (30s, 5m, 1h, 1d)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub bucket: Option<u64>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TopBy {
    /// Source address (srcaddr)
    Src,
    /// Destination address (dstaddr)
    Dst,
    /// Network interface (interface-id)
    Eni,
    /// Service port and protocol: the listening side's port, never an ephemeral one
    Port,
    /// Source → destination address pair
    Pair,
}

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    Flows,
    Bytes,
    Packets,
}

const TOP_ABOUT: &str = "\
Rank sources, destinations, interfaces, service ports or address pairs by \
flows, bytes or packets, with totals and when each was first and last \
seen. Totals are exact up to a memory bound (262,144 keys kept over all \
threads); past it the heavy hitters are listed with an error bound, and \
the output says so. Every \
query filter applies first (--action REJECT ranks who was blocked most; \
--dst 10.0.1.0/24 ranks who talked to a subnet).

--by port ranks the service port: the listening side's port of each flow \
(from tcp-flags when present, else the port heuristics), so ephemeral \
client ports never show up. --by pair ranks source -> destination pairs.

--bucket adds a timeline of the matching records (per-interval flows, \
packets and bytes by record start) under the table, so a spike shows.

Examples:
  # where did the bytes go?
  flowscope top logs/ --by dst --metric bytes
  # who was rejected most, in the incident window
  flowscope top logs/ --by src --action reject --since 2025-11-20T10:00:00Z
  # busiest services of one interface, with a 5-minute timeline
  flowscope top logs/ --by port --eni eni-0a1b2c3d4e5f60718 --bucket 5m
  # the 100 biggest conversations, as CSV
  flowscope top logs/ --by pair --metric bytes -n 100 -o csv";

#[derive(Debug, Args)]
#[command(
    about = "Top talkers: sources, destinations, interfaces, ports or pairs by flows, bytes or packets",
    long_about = TOP_ABOUT
)]
pub struct TopArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// What to rank
    #[arg(long, value_enum)]
    pub by: TopBy,

    /// What to rank by
    #[arg(long, value_enum, default_value = "flows")]
    pub metric: Metric,

    /// Show the first N (0: all)
    #[arg(
        short = 'n',
        long = "limit",
        alias = "top",
        value_name = "N",
        default_value_t = 20
    )]
    pub n: usize,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub output_file: OutputFileArgs,

    /// `aws ec2 describe-network-interfaces` JSON: a NAME column in the table
    /// (role and group names of the interface, or of the interface owning
    /// the address)
    #[arg(long, value_name = "FILE")]
    pub interfaces: Option<PathBuf>,

    /// Add a timeline: flows, packets and bytes per interval (30s, 5m, 1h, 1d)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub bucket: Option<u64>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

const SCANS_ABOUT: &str = "\
Find sources that, within a short window, tried many distinct ports (a port \
scan) or many distinct destination addresses (a sweep) and were mostly \
REJECTed, and show what they tried and, above all, anything that was \
ACCEPTed: the ports and targets that answered.

Only traffic a source initiated counts: the listening side of each record, \
and so the port probed, is the one summarize books it with (tcp-flags, \
REJECT, port heuristics, and for records those leave open the end of the run \
from the interface's other traffic), and responses are ignored, so a server \
answering many clients is never reported. Records \
are grouped per source into windows of --window by start time; a burst shorter \
than the window is caught wherever it falls (two adjacent windows are also \
considered together), and consecutive suspicious windows make one finding.

Outcomes are counted per attempt (source, target address, port, protocol \
within the window), not per record, so a flow logged by both interfaces \
counts once: an attempt is REJECTED if any of its records is a REJECT, \
ACCEPTED if an ACCEPT record comes from the target's side (or from an \
unknown side, without flow-direction), and UNCONFIRMED if it was only seen \
leaving the source (egress ACCEPT on its own interface: its group let it \
out, nothing shows the target's answer). The REJECT share leaves \
unconfirmed attempts out.

Memory is bounded: at most 4096 distinct ports, targets and accepted \
(target, port) pairs are kept per source and window (the finding then says \
the counts are lower bounds), and at most --max-cells (source, window) \
cells are tracked; past that, cells that look like ordinary clients (one \
port, one target) are dropped first, and a warning is printed.

Examples:
  flowscope scans logs/
  # slower scans: 10 ports per hour is enough
  flowscope scans logs/ --window 1h --min-ports 10
  # every fan-out, blocked or not, from one subnet
  flowscope scans logs/ --src 10.0.3.0/24 --min-reject-pct 0 -o json";

#[derive(Debug, Args)]
#[command(
    about = "Find port scans and address sweeps, and what they got through",
    long_about = SCANS_ABOUT
)]
pub struct ScansArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Distinct destination ports a source must try within the window
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub min_ports: usize,

    /// Distinct destination addresses a source must try within the window
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_targets: usize,

    /// Window length (30s, 5m, 1h, 1d)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub window: u64,

    /// Minimum share of the source's attempts that were REJECTed, in percent,
    /// unconfirmed attempts left out (0 reports every fan-out, blocked or not)
    #[arg(long, value_name = "PCT", default_value_t = 50)]
    pub min_reject_pct: u64,

    /// (source, window) cells tracked at most (memory bound: about 400 bytes
    /// each for ordinary clients, so about 400 MB at the default)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CELLS)]
    pub max_cells: usize,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub output_file: OutputFileArgs,

    /// `aws ec2 describe-network-interfaces` JSON: each interface's own
    /// addresses (for direction, as summarize) and names for the sources and
    /// the targets that were reached (role and group names) in the table
    #[arg(long, value_name = "FILE")]
    pub interfaces: Option<PathBuf>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

impl From<FilterArgs> for FilterSpec {
    fn from(a: FilterArgs) -> FilterSpec {
        FilterSpec {
            addr: a.addr,
            src: a.src,
            dst: a.dst,
            eni: a.eni,
            port: a.port,
            sport: a.sport,
            dport: a.dport,
            protocol: a.protocol,
            action: a.action,
            since: a.since,
            until: a.until,
            vpc: a.vpc,
            subnet: a.subnet,
            instance: a.instance,
        }
    }
}

super::mirror!(QueryFormat => config::QueryFormat { Text, Json, Csv });
super::mirror!(SortKey => config::SortKey { Start });
super::mirror!(TopBy => top::TopBy { Src, Dst, Eni, Port, Pair });
super::mirror!(Metric => top::Metric { Flows, Bytes, Packets });

impl From<QueryArgs> for QueryConfig {
    fn from(a: QueryArgs) -> QueryConfig {
        QueryConfig {
            input: a.input.into(),
            output: a.output.into(),
            with_filename: a.with_filename,
            limit: a.limit,
            output_file: a.output_file,
            sort: a.sort.map(Into::into),
            include_nodata: a.include_nodata,
            bucket: a.bucket,
            filter: a.filter.into(),
        }
    }
}

impl From<TopArgs> for TopConfig {
    fn from(a: TopArgs) -> TopConfig {
        TopConfig {
            input: a.input.into(),
            by: a.by.into(),
            metric: a.metric.into(),
            n: a.n,
            output: a.output.into(),
            output_file: a.output_file.output_file,
            interfaces: a.interfaces,
            bucket: a.bucket,
            filter: a.filter.into(),
        }
    }
}

impl From<ScansArgs> for ScansConfig {
    fn from(a: ScansArgs) -> ScansConfig {
        ScansConfig {
            input: a.input.into(),
            min_ports: a.min_ports,
            min_targets: a.min_targets,
            window: a.window,
            min_reject_pct: a.min_reject_pct,
            max_cells: a.max_cells,
            output: a.output.into(),
            output_file: a.output_file.output_file,
            interfaces: a.interfaces,
            filter: a.filter.into(),
        }
    }
}
