//! `flowscope summarize`: the traffic table.
//!
//! JSON contract (`-o json`, `"version": 1`):
//! - `input`: `files`, `files_failed`, `lines`, `headers`, `records` (data
//!   records read), `nodata`, `skipdata`, `skipped` (reason → count),
//!   `bytes_read`, `bytes_decompressed`, `filtered` (`records`, `nodata`,
//!   `skipdata` outside `--since/--until`, left out of `rows` and
//!   `interfaces`; zeros without a window). Identity: lines = headers +
//!   records + nodata + skipdata + Σ skipped.
//! - `window`: `start`, `end` (epoch seconds) or null.
//! - `rows`: `interface_id` (null if the format has none), `direction`
//!   (`ingress`|`egress`|`unknown`), `protocol` (IANA number), `port`
//!   (service port; null for protocols without ports), `action`
//!   (`ACCEPT`|`REJECT`, null if the format has no action), `flows`,
//!   `packets`, `bytes`, `first_seen`, `last_seen`, `peers` (distinct),
//!   `peers_exact` (false once over the exact cap: HyperLogLog estimate).
//!   Σ `flows` = `input.records` − `input.filtered.records`. A folded row
//!   (rejected traffic to rarely hit ports, once the run's budget of such
//!   rows is spent) has `port` null and `ports_folded`: the number of
//!   distinct ports in it; other rows have no `ports_folded`.
//! - `overflow_records`: records in folded rows (0 when nothing folded).
//! - `interfaces`: per interface `records`, `nodata`, `skipdata`,
//!   `first_seen`, `last_seen`, `addresses` and `address_source`
//!   (`inventory`, `flow-direction`, `learned` or `unknown`), and per
//!   address family present, `ipv4` / `ipv6`: `addresses`, `source`,
//!   `records` (of that family) and `share` (the share of the records the
//!   addresses were judged on that carry one of them: near 1 for an
//!   ordinary interface, lower for a NAT gateway's transit records).
//! - `timeline` (only with `--bucket`, otherwise absent): `bucket_seconds`,
//!   `buckets` (non-empty buckets in time order, each `start` (epoch
//!   seconds, aligned to the epoch), `flows`, `packets`, `bytes`) and
//!   `untimed` (records with no start or end time, in no bucket). It counts
//!   the same data records as `rows` (not NODATA/SKIPDATA), by start time:
//!   Σ `buckets[].flows` + `untimed` = `input.records` − `input.filtered.records`. CSV output has no
//!   timeline (a note says so on stderr).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{
    warn_overflow, write_accounting, Filtered, InputJson, Labels, Outcome, Window, Windowed,
};
use crate::aggregate::{Aggregate, FamilyAddresses, RejectedKeys, Row, Summary};
use crate::config::SummarizeConfig;
use crate::engine::{Accounting, Processor, RecordCtx};
use crate::flowlog::record::{Action, FlowRecord, LogStatus};
use crate::investigate::timeline::{Timeline, TimelineJson};
use crate::report::{
    self, fmt_opt_time, human_bytes, proto_label, thousands, Output, OutputFormat, Table,
};

pub fn run(args: &SummarizeConfig, session: &super::Session<'_>) -> Result<Outcome> {
    let mut out = Output::open(args.output_file.as_deref())?;
    // Interface addresses decide direction exactly.
    let (locals, labels) = super::interfaces_for(args.interfaces.as_deref(), &args.input.paths)?;
    let window = super::window_filter(&args.window)?;
    let keys = std::sync::Arc::new(RejectedKeys::default());
    let (run, outcome) = super::read_logs_in(
        &args.input,
        (args.window.since, args.window.until),
        session,
        || {
            Windowed::new(
                SummaryProc {
                    aggregate: Aggregate::sharing(locals.clone(), keys.clone()),
                    timeline: args.bucket.map(Timeline::new),
                },
                window.clone(),
            )
        },
    )?;
    if args.input.strict && outcome == Outcome::DataErrors {
        return Ok(outcome);
    }
    let filtered = run.processor.filtered;
    filtered.warn_if_everything(&run.accounting);
    let SummaryProc {
        aggregate,
        timeline,
    } = run.processor.inner;
    let summary = aggregate.finish();
    warn_overflow(&summary);
    match args.output {
        OutputFormat::Json => write_json(
            &mut out,
            &run.accounting,
            filtered,
            &summary,
            args.limit,
            timeline.as_ref(),
            &labels,
        )?,
        OutputFormat::Csv => {
            if timeline.is_some() {
                crate::note!("CSV output has no timeline (--bucket); use -o json or the table");
            }
            write_csv(&mut out, &summary, args.limit)?
        }
        OutputFormat::Table => {
            let style = session.style(&out);
            write_table(
                &mut out,
                &run.accounting,
                filtered,
                &summary,
                args.limit.unwrap_or(50),
                &labels,
                &style,
            )?;
            if let Some(t) = &timeline {
                writeln!(out)?;
                t.write_text(&mut out, style.fit)?;
            }
        }
    }
    out.finish()?;
    Ok(outcome)
}

/// The summarize processor: the aggregate and, with `--bucket`, a
/// timeline of the same data records.
struct SummaryProc {
    aggregate: Aggregate,
    timeline: Option<Timeline>,
}

impl Processor for SummaryProc {
    #[inline(always)]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        self.aggregate.record(rec, ctx);
        if let Some(t) = &mut self.timeline {
            // The rows count data records only; so does the timeline.
            if rec.status == LogStatus::Ok {
                t.add(rec);
            }
        }
    }

    fn wants_lines(&self) -> bool {
        self.aggregate.wants_lines()
    }

    fn merge(&mut self, other: Self) {
        self.aggregate.merge(other.aggregate);
        if let (Some(a), Some(b)) = (&mut self.timeline, other.timeline) {
            a.merge(b);
        }
    }
}

/// Rows by flows (most first), ties by key.
fn by_flows(summary: &Summary) -> Vec<&Row> {
    let mut v: Vec<&Row> = summary.rows.iter().collect();
    v.sort_by(|a, b| b.flows.cmp(&a.flows).then(b.bytes.cmp(&a.bytes)));
    v
}

#[derive(Serialize)]
struct JsonOut<'a> {
    version: u32,
    input: InputJson,
    /// Records in folded rows (rejected traffic to rarely hit ports).
    overflow_records: u64,
    window: Option<Window>,
    rows: Vec<JsonRow<'a>>,
    interfaces: Vec<JsonInterface<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeline: Option<TimelineJson>,
}

/// A row in JSON and in CSV.
#[derive(Serialize)]
struct JsonRow<'a> {
    interface_id: Option<&'a str>,
    direction: &'static str,
    protocol: u8,
    port: Option<u16>,
    action: Option<&'static str>,
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
    peers: u64,
    peers_exact: bool,
    #[serde(skip_serializing_if = "Folded::is_left_out")]
    ports_folded: Folded,
}

/// `ports_folded`: JSON has the key only on folded rows; CSV has the
/// column on every line (empty but on folded rows).
#[derive(Debug, Clone, Copy)]
struct Folded {
    ports: Option<u32>,
    /// Left out when empty (JSON).
    omit_empty: bool,
}

impl Folded {
    fn is_left_out(&self) -> bool {
        self.omit_empty && self.ports.is_none()
    }
}

impl Serialize for Folded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.ports.serialize(s)
    }
}

#[derive(Serialize)]
struct JsonFamily {
    addresses: Vec<String>,
    source: crate::aggregate::AddressSource,
    records: u64,
    share: f64,
}

fn json_family(f: &Option<FamilyAddresses>) -> Option<JsonFamily> {
    f.as_ref().map(|f| JsonFamily {
        addresses: f.addresses.iter().map(|a| a.to_string()).collect(),
        source: f.source,
        records: f.records,
        // Four decimals: enough to tell 99.9% from 100%, and stable text.
        share: (f.share * 10_000.0).round() / 10_000.0,
    })
}

#[derive(Serialize)]
struct JsonInterface<'a> {
    interface_id: Option<&'a str>,
    /// From the inventory (null without one): the interface's kind.
    role: Option<&'static str>,
    /// From the inventory (null without one): its security groups.
    groups: Option<Vec<JsonGroup<'a>>>,
    records: u64,
    nodata: u64,
    skipdata: u64,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
    addresses: Vec<String>,
    address_source: crate::aggregate::AddressSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<JsonFamily>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<JsonFamily>,
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    group_id: &'a str,
    group_name: &'a str,
}

fn action_json(a: Action) -> Option<&'static str> {
    match a {
        Action::Unknown => None,
        a => Some(a.as_str()),
    }
}

fn json_row(r: &Row) -> JsonRow<'_> {
    JsonRow {
        interface_id: r.interface_id.as_deref(),
        direction: r.direction.as_str(),
        protocol: r.protocol,
        port: r.port,
        action: action_json(r.action),
        flows: r.flows,
        packets: r.packets,
        bytes: r.bytes,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        peers: r.peers.count(),
        peers_exact: r.peers.is_exact(),
        ports_folded: Folded {
            ports: r.ports_folded,
            omit_empty: true,
        },
    }
}

fn write_json(
    w: &mut dyn Write,
    acc: &Accounting,
    filtered: Filtered,
    s: &Summary,
    top: Option<usize>,
    timeline: Option<&Timeline>,
    labels: &Labels,
) -> Result<()> {
    let rows: Vec<JsonRow> = match top {
        Some(n) => by_flows(s).into_iter().take(n).map(json_row).collect(),
        None => s.rows.iter().map(json_row).collect(),
    };
    let doc = JsonOut {
        version: 1,
        input: InputJson {
            accounting: acc.to_json(),
            filtered,
        },
        overflow_records: s.overflow,
        window: s.window.map(|(start, end)| Window { start, end }),
        rows,
        interfaces: s
            .interfaces
            .iter()
            .map(|i| JsonInterface {
                interface_id: i.interface_id.as_deref(),
                role: i
                    .interface_id
                    .as_deref()
                    .and_then(|id| labels.get(id))
                    .map(|l| l.role),
                groups: i
                    .interface_id
                    .as_deref()
                    .and_then(|id| labels.get(id))
                    .map(|l| {
                        l.groups
                            .iter()
                            .map(|(id, name)| JsonGroup {
                                group_id: id,
                                group_name: name,
                            })
                            .collect()
                    }),
                records: i.records,
                nodata: i.nodata,
                skipdata: i.skipdata,
                first_seen: i.first_seen,
                last_seen: i.last_seen,
                addresses: i.addresses.iter().map(|a| a.to_string()).collect(),
                address_source: i.address_source,
                ipv4: json_family(&i.ipv4),
                ipv6: json_family(&i.ipv6),
            })
            .collect(),
        timeline: timeline.map(Timeline::to_json),
    };
    crate::report::write_json_pretty(w, &doc)?;
    Ok(())
}

fn write_csv(w: &mut dyn Write, s: &Summary, top: Option<usize>) -> Result<()> {
    let mut c = csv::Writer::from_writer(w);
    let rows: Vec<&Row> = match top {
        Some(n) => by_flows(s).into_iter().take(n).collect(),
        None => s.rows.iter().collect(),
    };
    for r in rows {
        let mut row = json_row(r);
        row.ports_folded.omit_empty = false;
        c.serialize(row)?;
    }
    if s.rows.is_empty() {
        c.write_record([
            "interface_id",
            "direction",
            "protocol",
            "port",
            "action",
            "flows",
            "packets",
            "bytes",
            "first_seen",
            "last_seen",
            "peers",
            "peers_exact",
            "ports_folded",
        ])?;
    }
    c.flush()?;
    Ok(())
}

fn write_table(
    w: &mut dyn Write,
    acc: &Accounting,
    filtered: Filtered,
    s: &Summary,
    top: usize,
    labels: &Labels,
    style: &report::Style,
) -> Result<()> {
    let mut t = Table::new(&[
        ("INTERFACE", false),
        ("ROLE", false),
        ("DIRECTION", false),
        ("PROTO", false),
        ("PORT", true),
        ("ACTION", false),
        ("FLOWS", true),
        ("PACKETS", true),
        ("BYTES", true),
        ("PEERS", true),
        ("FIRST SEEN", false),
        ("LAST SEEN", false),
    ]);
    let rows = by_flows(s);
    for r in rows.iter().take(top) {
        let id = r.interface_id.clone().unwrap_or_else(|| "-".into());
        let role = labels
            .get(&id)
            .map_or_else(|| "-".into(), |l| l.to_string());
        t.push(vec![
            id,
            role,
            r.direction.as_str().into(),
            proto_label(r.protocol),
            match (r.port, r.ports_folded) {
                (Some(p), _) => p.to_string(),
                (None, Some(n)) => format!("{} ports", thousands(n as u64)),
                (None, None) => "-".into(),
            },
            r.action.as_str().into(),
            thousands(r.flows),
            thousands(r.packets),
            human_bytes(r.bytes),
            format!(
                "{}{}",
                if r.peers.is_exact() { "" } else { "~" },
                thousands(r.peers.count())
            ),
            fmt_opt_time(r.first_seen),
            fmt_opt_time(r.last_seen),
        ]);
    }
    t.write(w, style)?;
    if rows.len() > top {
        writeln!(
            w,
            "… {} more rows (-n N to show more, -o json for all)",
            rows.len() - top
        )?;
    }
    let (flows, packets, bytes) = s.rows.iter().fold((0u64, 0u64, 0u64), |(f, p, b), r| {
        (
            f + r.flows,
            p.saturating_add(r.packets),
            b.saturating_add(r.bytes),
        )
    });
    let accepted: u64 = s
        .rows
        .iter()
        .filter(|r| r.action == Action::Accept)
        .map(|r| r.flows)
        .sum();
    let rejected: u64 = s
        .rows
        .iter()
        .filter(|r| r.action == Action::Reject)
        .map(|r| r.flows)
        .sum();
    writeln!(w)?;
    writeln!(
        w,
        "Total: {} ({} accepted, {} rejected), {}, {} in {} over {}",
        report::count(flows, "flow", "flows"),
        thousands(accepted),
        thousands(rejected),
        report::count(packets, "packet", "packets"),
        human_bytes(bytes),
        report::count(s.rows.len() as u64, "row", "rows"),
        report::count(s.interfaces.len() as u64, "interface", "interfaces")
    )?;
    if let Some((a, b)) = s.window {
        writeln!(
            w,
            "Window: {} to {}",
            report::fmt_time(a),
            report::fmt_time(b)
        )?;
    }
    write_accounting(w, acc, filtered)?;
    let unknown = s
        .rows
        .iter()
        .filter(|r| r.direction == crate::aggregate::Direction::Unknown)
        .count();
    if unknown > 0 {
        writeln!(
            w,
            "Note: {} direction 'unknown' (the interface's own address could not be told \
             from its peer's); --interfaces network-interfaces.json resolves them.",
            report::count(unknown as u64, "row has", "rows have")
        )?;
    }
    Ok(())
}
