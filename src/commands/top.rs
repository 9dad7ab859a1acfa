//! `flowscope top`: top talkers by source, destination, interface,
//! service port or address pair: exact totals up to a memory bound, then
//! the heavy hitters with an error bound (`investigate::top`).
//!
//! JSON contract (`-o json`): one object, with or without `--bucket`,
//! documented in `docs/json.md` (`"version": 1`): `by`, `metric`, `exact`,
//! `unlisted_max`, `distinct_keys`, `total`, `without_key`, `rows` (largest first, ties by key: `key`, the key's
//! typed fields, counts, `first_seen`, `last_seen`, `error`) and `timeline`
//! (null without `--bucket`).

use std::io::Write;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::Outcome;
use crate::config::TopConfig;
use crate::engine;
use crate::investigate::timeline::TimelineJson;
use crate::investigate::top::{Metric, Stat, TopBy, TopKey, TopProc, TopRow, TOP_COUNTERS};
use crate::investigate::Filter;
use crate::report::{
    self, fmt_opt_time, human_bytes, proto_label, thousands, Output, OutputFormat, Table,
};

/// `-o json` (`docs/json.md`): one object whatever the flags.
#[derive(Serialize)]
struct JsonDoc<'a> {
    version: u32,
    by: &'static str,
    metric: &'static str,
    /// False when the key table was pruned: rows are the heavy hitters,
    /// each within its `error`.
    exact: bool,
    /// Any key not listed counted at most this much of the metric.
    unlisted_max: u64,
    /// Distinct keys (null when not exact: not known).
    distinct_keys: Option<usize>,
    total: JsonStat,
    without_key: u64,
    rows: Vec<JsonRow<'a>>,
    timeline: Option<TimelineJson>,
}

#[derive(Serialize)]
struct JsonStat {
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
}

impl From<&Stat> for JsonStat {
    fn from(s: &Stat) -> JsonStat {
        JsonStat {
            flows: s.flows,
            packets: s.packets,
            bytes: s.bytes,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
        }
    }
}

/// A row: `key` (the label the table shows), the key's typed fields for
/// this `--by`, the counts, and `error`.
#[derive(Serialize)]
struct JsonRow<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: Option<String>,
    /// `--by port`: null for protocols without ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<Option<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol_name: Option<String>,
    #[serde(flatten)]
    stat: JsonStat,
    error: u64,
}

fn json_row(r: &TopRow) -> JsonRow<'_> {
    let mut j = JsonRow {
        key: &r.label,
        addr: None,
        interface_id: None,
        src: None,
        dst: None,
        port: None,
        protocol: None,
        protocol_name: None,
        stat: JsonStat::from(&r.stat),
        error: r.error,
    };
    match r.key {
        TopKey::Addr(ip) => j.addr = Some(ip.to_string()),
        TopKey::Eni(_) => j.interface_id = Some(&r.label),
        TopKey::Pair(a, b) => {
            j.src = Some(a.to_string());
            j.dst = Some(b.to_string());
        }
        TopKey::Port { port, proto } => {
            j.port = Some(port);
            j.protocol = Some(proto);
            j.protocol_name = Some(proto_label(proto));
        }
    }
    j
}

/// CSV row: the JSON row's common columns.
#[derive(Serialize)]
struct CsvRow<'a> {
    key: &'a str,
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
    error: u64,
}

fn by_key(b: TopBy) -> &'static str {
    match b {
        TopBy::Src => "src",
        TopBy::Dst => "dst",
        TopBy::Eni => "eni",
        TopBy::Port => "port",
        TopBy::Pair => "pair",
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

/// The key budget: `TOP_COUNTERS`, or `FLOWSCOPE_TOP_COUNTERS` (a
/// documented knob: more memory for exact counts over more keys, or less).
fn counters() -> usize {
    std::env::var("FLOWSCOPE_TOP_COUNTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(TOP_COUNTERS)
}

pub fn run(args: &TopConfig, session: &super::Session<'_>) -> Result<Outcome> {
    let mut out = Output::open(args.output_file.as_deref())?;
    let names = super::InterfaceNames::load(args.interfaces.as_deref())?;
    let filter = Arc::new(Filter::new(&args.filter).map_err(|e| anyhow!(e))?);
    let threads = args
        .input
        .threads
        .unwrap_or_else(engine::default_threads)
        .max(1);
    // `--by port` books records as summarize does, with the same
    // interface addresses.
    let locals = match args.by {
        TopBy::Port => super::interfaces_for(args.interfaces.as_deref(), &args.input.paths)?.0,
        _ => None,
    };
    let (run, outcome) = super::read_logs_in(
        &args.input,
        (args.filter.since, args.filter.until),
        session,
        TopProc::maker(
            filter.clone(),
            args.by,
            args.metric,
            args.bucket,
            threads,
            counters(),
            locals,
        ),
    )?;
    for d in filter.diagnostics() {
        crate::warning!("{d}");
    }
    if args.input.strict && outcome == Outcome::DataErrors {
        return Ok(outcome);
    }
    let p = run.processor.finish();
    let (title, plural) = by_name(args.by);
    let metric = metric_name(args.metric);
    let all = p.rows.len();
    let rows = if args.n > 0 {
        &p.rows[..all.min(args.n)]
    } else {
        &p.rows[..]
    };
    // Never approximate without a word: on stderr whatever the format,
    // and in the table footer and the JSON fields.
    let approx_note = (!p.exact).then(|| {
        format!(
            "more than {} distinct {plural}, the memory bound: counts are approximate. \
             Any {} not ranked had at most {} {metric}; each count may be short by at most its error \
             (ERROR column, JSON `error`; 0 or `exact`: exact)",
            thousands(all as u64),
            title.to_lowercase(),
            thousands(p.unlisted_max)
        )
    });
    if let Some(n) = &approx_note {
        if args.output != OutputFormat::Table {
            crate::warning!("{n}");
        }
    }
    let style = session.style(&out);
    match args.output {
        OutputFormat::Json => {
            let doc = JsonDoc {
                version: 1,
                by: by_key(args.by),
                metric,
                exact: p.exact,
                unlisted_max: p.unlisted_max,
                distinct_keys: p.exact.then_some(all),
                total: JsonStat::from(&p.total),
                without_key: p.without_key,
                rows: rows.iter().map(json_row).collect(),
                timeline: p.timeline.as_ref().map(|t| t.to_json()),
            };
            crate::report::write_json_pretty(&mut out, &doc)?;
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
                "error",
            ])?;
            for r in rows {
                c.serialize(CsvRow {
                    key: &r.label,
                    flows: r.stat.flows,
                    packets: r.stat.packets,
                    bytes: r.stat.bytes,
                    first_seen: r.stat.first_seen,
                    last_seen: r.stat.last_seen,
                    error: r.error,
                })?;
            }
            c.flush()?;
            drop(c);
            if let Some(t) = &p.timeline {
                t.write_text(&mut std::io::stderr().lock(), style.fit)?;
            }
        }
        OutputFormat::Table => {
            let total = p.total.metric(args.metric).max(1);
            let mut cols = vec![("#", true), (title, false)];
            if names.is_some() {
                cols.push(("NAME", false));
            }
            cols.extend([
                ("FLOWS", true),
                ("PACKETS", true),
                ("BYTES", true),
                ("SHARE", true),
                ("FIRST SEEN", false),
                ("LAST SEEN", false),
            ]);
            if !p.exact {
                cols.push(("ERROR", true));
            }
            let mut t = Table::new(&cols);
            for (i, r) in rows.iter().enumerate() {
                let mut cells = vec![(i + 1).to_string(), r.label.clone()];
                if let Some(n) = &names {
                    cells.push(n.name_of(&r.label));
                }
                cells.extend([
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
                if !p.exact {
                    cells.push(if r.error == 0 {
                        "exact".to_string()
                    } else {
                        format!("≤ {}", thousands(r.error))
                    });
                }
                t.push(cells);
            }
            writeln!(
                out,
                "Top {} of {}{} by {metric}",
                rows.len(),
                if p.exact { "" } else { "more than " },
                report::count(all as u64, singular(args.by), plural),
            )?;
            t.write(&mut out, &style)?;
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
            if let Some(n) = &approx_note {
                writeln!(out, "Approximate: {n}")?;
            }
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
                tl.write_text(&mut out, style.fit)?;
            }
        }
    }
    out.finish()?;
    Ok(outcome)
}
