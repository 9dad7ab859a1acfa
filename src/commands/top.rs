//! `flowscope top`: top talkers by source, destination, interface,
//! service port or address pair, with exact totals.
//!
//! JSON contract (`-o json`): an array of objects, largest first, ties by
//! key: `key` (address; interface id; `443/tcp`, or `icmp` for protocols
//! without ports; `src -> dst` for pairs), `flows`, `packets`, `bytes`,
//! `first_seen`, `last_seen` (epoch seconds, null when unknown). With
//! `--bucket`, the document becomes an object: `{"top": [...],
//! "timeline": {"bucket_seconds", "buckets": [{"start", "flows",
//! "packets", "bytes"}], "untimed"}}` (empty buckets omitted).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use serde::Serialize;

use super::{read_logs, Outcome};
use crate::cli::InputArgs;
use crate::investigate::parse::parse_duration;
use crate::investigate::timeline::TimelineJson;
use crate::investigate::top::{Metric, TopBy, TopProc, TopRow};
use crate::investigate::{Filter, FilterArgs};
use crate::report::{self, fmt_opt_time, human_bytes, thousands, Output, OutputFormat, Table};

const LONG_ABOUT: &str = "\
Rank sources, destinations, interfaces, service ports or address pairs by \
flows, bytes or packets, with exact totals and when each was first and last \
seen. Every query filter applies first (--action REJECT ranks who was \
blocked most; --dst 10.0.1.0/24 ranks who talked to a subnet).

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
    long_about = LONG_ABOUT
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

    /// Write the output to FILE (a regular file is replaced atomically; a
    /// pipe, device or symlink is written through)
    #[arg(long, value_name = "FILE", value_parser = report::parse_output_path)]
    pub output_file: Option<PathBuf>,

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

#[derive(Serialize)]
struct JsonRow<'a> {
    key: &'a str,
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
}

#[derive(Serialize)]
struct WithTimeline<'a> {
    top: Vec<JsonRow<'a>>,
    timeline: TimelineJson,
}

fn json_row(r: &TopRow) -> JsonRow<'_> {
    JsonRow {
        key: &r.label,
        flows: r.stat.flows,
        packets: r.stat.packets,
        bytes: r.stat.bytes,
        first_seen: r.stat.first_seen,
        last_seen: r.stat.last_seen,
    }
}

fn by_name(b: TopBy) -> (&'static str, &'static str) {
    match b {
        TopBy::Src => ("SOURCE", "sources"),
        TopBy::Dst => ("DESTINATION", "destinations"),
        TopBy::Eni => ("INTERFACE", "interfaces"),
        TopBy::Port => ("PORT", "service ports"),
        TopBy::Pair => ("SOURCE -> DESTINATION", "pairs"),
    }
}

fn singular(b: TopBy) -> &'static str {
    match b {
        TopBy::Src => "source",
        TopBy::Dst => "destination",
        TopBy::Eni => "interface",
        TopBy::Port => "service port",
        TopBy::Pair => "pair",
    }
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Flows => "flows",
        Metric::Bytes => "bytes",
        Metric::Packets => "packets",
    }
}

pub fn run(args: &TopArgs) -> Result<Outcome> {
    let mut out = Output::open(args.output_file.as_deref())?;
    let names = super::InterfaceNames::load(args.interfaces.as_deref())?;
    let filter = Arc::new(Filter::new(&args.filter).map_err(|e| anyhow!(e))?);
    let (run, outcome) = read_logs(&args.input, || {
        TopProc::new(filter.clone(), args.by, args.bucket)
    })?;
    if args.input.strict && outcome == Outcome::DataErrors {
        return Ok(outcome);
    }
    let p = run.processor;
    let mut rows = p.ranked(args.metric);
    let all = rows.len();
    if args.n > 0 {
        rows.truncate(args.n);
    }
    match args.output {
        OutputFormat::Json => {
            let top: Vec<JsonRow> = rows.iter().map(json_row).collect();
            match &p.timeline {
                Some(t) => serde_json::to_writer_pretty(
                    &mut out,
                    &WithTimeline {
                        top,
                        timeline: t.to_json(),
                    },
                )?,
                None => serde_json::to_writer_pretty(&mut out, &top)?,
            }
            writeln!(out)?;
        }
        OutputFormat::Csv => {
            let mut c = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut out);
            c.write_record([
                "key",
                "flows",
                "packets",
                "bytes",
                "first_seen",
                "last_seen",
            ])?;
            for r in &rows {
                c.serialize(json_row(r))?;
            }
            c.flush()?;
            drop(c);
            if let Some(t) = &p.timeline {
                t.write_text(&mut std::io::stderr().lock())?;
            }
        }
        OutputFormat::Table => {
            let color = report::color_enabled(&out);
            let (title, plural) = by_name(args.by);
            let total = p.total.metric(args.metric).max(1);
            let mut headers = vec![("#", true), (title, false)];
            if names.is_some() {
                headers.push(("NAME", false));
            }
            headers.extend([
                ("FLOWS", true),
                ("PACKETS", true),
                ("BYTES", true),
                ("SHARE", true),
                ("FIRST SEEN", false),
                ("LAST SEEN", false),
            ]);
            let mut t = Table::new(&headers);
            for (i, r) in rows.iter().enumerate() {
                let mut row = vec![(i + 1).to_string(), r.label.clone()];
                if let Some(n) = &names {
                    row.push(n.name_of(&r.label));
                }
                row.extend([
                    thousands(r.stat.flows),
                    thousands(r.stat.packets),
                    human_bytes(r.stat.bytes),
                    format!(
                        "{:.1}%",
                        r.stat.metric(args.metric) as f64 * 100.0 / total as f64
                    ),
                    fmt_opt_time(r.stat.first_seen),
                    fmt_opt_time(r.stat.last_seen),
                ]);
                t.push(row);
            }
            writeln!(
                out,
                "Top {} of {} by {}",
                rows.len(),
                report::count(all as u64, singular(args.by), plural),
                metric_name(args.metric)
            )?;
            t.write(&mut out, color)?;
            if all > rows.len() {
                writeln!(out, "… {} more (-n 0 shows all)", all - rows.len())?;
            }
            writeln!(
                out,
                "Total: {}, {}, {} matched, {} to {}",
                report::count(p.total.flows, "flow", "flows"),
                report::count(p.total.packets, "packet", "packets"),
                human_bytes(p.total.bytes),
                fmt_opt_time(p.total.first_seen),
                fmt_opt_time(p.total.last_seen),
            )?;
            if p.without_key > 0 {
                writeln!(
                    out,
                    "Note: {} no {} (not ranked)",
                    report::count(
                        p.without_key,
                        "matching record has",
                        "matching records have"
                    ),
                    title.to_lowercase()
                )?;
            }
            if let Some(tl) = &p.timeline {
                tl.write_text(&mut out)?;
            }
        }
    }
    out.finish()?;
    Ok(outcome)
}
