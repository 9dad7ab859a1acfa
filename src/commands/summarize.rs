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
use crate::config::{SummarizeConfig, SummarizeFormat as OutputFormat};
use crate::engine::{Accounting, Processor, RecordCtx};
use crate::flowlog::record::{Action, EniId, FlowRecord, LogStatus};
use crate::flowlog::tgw::{AttachmentSides, Attachments};
use crate::investigate::timeline::{Timeline, TimelineJson};
use crate::report::{self, fmt_opt_time, human_bytes, proto_label, thousands, Output, Table};

pub fn run(args: &SummarizeConfig, session: &super::Session<'_>) -> Result<Outcome> {
    let said = crate::messages::record(); // -o html lists what the run said
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
    let tgw = &summary.attachments;
    warn_overflow(&summary);
    match args.output {
        OutputFormat::Json => write_json(
            &mut out,
            &run.accounting,
            filtered,
            &summary,
            args.limit,
            timeline.as_ref(),
            Annotations {
                labels: &labels,
                tgw,
            },
        )?,
        OutputFormat::Csv => {
            if timeline.is_some() {
                crate::note!("CSV output has no timeline (--bucket); use -o json or the table");
            }
            write_csv(&mut out, &summary, args.limit, tgw)?
        }
        OutputFormat::Html => {
            if timeline.is_some() {
                crate::note!("the HTML page has no timeline (--bucket); use -o json or the table");
            }
            let labels = labels.iter().map(|(k, l)| (k.as_str(), l.to_string()));
            let diagnostics = said.lines();
            let page = report::html::SummarizePage {
                run: report::html::RunInfo {
                    inputs: &args.input.paths,
                    accounting: &run.accounting,
                    outside: filtered.into(),
                    diagnostics: &diagnostics,
                },
                summary: &summary,
                labels: &labels.collect(),
                limit: args.limit.unwrap_or(HTML_ROWS),
            };
            report::html::write_summarize(&mut out, &page)?
        }
        OutputFormat::Table => {
            let style = session.style(&out);
            write_table(
                &mut out,
                &run.accounting,
                filtered,
                &summary,
                args.limit.unwrap_or(50),
                Annotations {
                    labels: &labels,
                    tgw,
                },
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

/// Rows on the HTML page by default: a busy estate's rows by the
/// thousand stay a page a browser opens at once.
const HTML_ROWS: usize = 2000;

/// The summarize processor: the aggregate and, with `--bucket`, a
/// timeline of the same data records.
struct SummaryProc {
    aggregate: Aggregate,
    timeline: Option<Timeline>,
}

impl Processor for SummaryProc {
    const WEIGHTED: bool = true;

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

    fn wants_aws_services(&self) -> bool {
        self.aggregate.wants_aws_services()
    }

    fn merge(&mut self, other: Self) {
        self.aggregate.merge(other.aggregate);
        if let (Some(a), Some(b)) = (&mut self.timeline, other.timeline) {
            a.merge(b);
        }
    }
}

/// What the report adds to the summary's rows and interfaces: the
/// inventory's labels, and Transit Gateway attachments' VPCs.
#[derive(Clone, Copy)]
struct Annotations<'a> {
    labels: &'a Labels,
    tgw: &'a Attachments,
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

#[derive(Serialize)]
struct JsonRow<'a> {
    interface_id: Option<&'a str>,
    /// `interface`, or `tgw-attachment` for a Transit Gateway attachment.
    kind: &'static str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    ports_folded: Option<u32>,
    /// Attachments only: the VPC(s) behind it, and those beyond the
    /// transit gateway it exchanged traffic with.
    #[serde(skip_serializing_if = "Option::is_none")]
    vpcs: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_vpcs: Option<Vec<&'a str>>,
}

/// A row in CSV: every column on every line (`ports_folded` empty but on
/// folded rows).
#[derive(Serialize)]
struct CsvRow<'a> {
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
    ports_folded: Option<u32>,
    kind: &'static str,
    /// Attachments: the VPC(s) behind it, `;`-separated.
    vpcs: String,
}

impl<'a> From<JsonRow<'a>> for CsvRow<'a> {
    fn from(r: JsonRow<'a>) -> CsvRow<'a> {
        CsvRow {
            interface_id: r.interface_id,
            direction: r.direction,
            protocol: r.protocol,
            port: r.port,
            action: r.action,
            flows: r.flows,
            packets: r.packets,
            bytes: r.bytes,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            peers: r.peers,
            peers_exact: r.peers_exact,
            ports_folded: r.ports_folded,
            kind: r.kind,
            vpcs: r.vpcs.unwrap_or_default().join(";"),
        }
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
    /// As in rows.
    kind: &'static str,
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
    /// Transit Gateway attachments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    tgw: Option<JsonAttachment<'a>>,
}

/// What an attachment's records say besides its rows.
#[derive(Serialize)]
struct JsonAttachment<'a> {
    vpcs: Vec<&'a str>,
    subnets: Vec<&'a str>,
    peer_vpcs: Vec<&'a str>,
    packets_lost: JsonLost,
}

#[derive(Serialize)]
struct JsonLost {
    no_route: u64,
    blackhole: u64,
    mtu_exceeded: u64,
    ttl_expired: u64,
}

fn json_attachment(s: &AttachmentSides) -> JsonAttachment<'_> {
    let [no_route, blackhole, mtu_exceeded, ttl_expired] = s.lost;
    JsonAttachment {
        vpcs: s.vpcs.iter().map(|v| &**v).collect(),
        subnets: s.subnets.iter().map(|v| &**v).collect(),
        peer_vpcs: s.peer_vpcs.iter().map(|v| &**v).collect(),
        packets_lost: JsonLost {
            no_route,
            blackhole,
            mtu_exceeded,
            ttl_expired,
        },
    }
}

/// `interface`, or `tgw-attachment`.
fn kind(e: EniId) -> &'static str {
    if e.is_attachment() {
        "tgw-attachment"
    } else {
        "interface"
    }
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    group_id: &'a str,
    group_name: &'a str,
}

/// A row's action: on an attachment's row, REJECT stands for packets the
/// transit gateway dropped (`flowlog::tgw`), shown as `DROP`.
fn action_label(r: &Row) -> Option<&'static str> {
    match r.action {
        Action::Unknown => None,
        Action::Reject if r.eni.is_attachment() => Some("DROP"),
        a => Some(a.as_str()),
    }
}

fn json_row<'a>(r: &'a Row, tgw: &'a Attachments) -> JsonRow<'a> {
    let sides = tgw.by_id.get(&r.eni);
    let list = |f: fn(&AttachmentSides) -> &std::collections::BTreeSet<Box<str>>| {
        sides.map(|s| f(s).iter().map(|v| &**v).collect::<Vec<&str>>())
    };
    JsonRow {
        interface_id: r.interface_id.as_deref(),
        kind: kind(r.eni),
        direction: r.direction.as_str(),
        protocol: r.protocol,
        port: r.port,
        action: action_label(r),
        flows: r.flows,
        packets: r.packets,
        bytes: r.bytes,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        peers: r.peers.count(),
        peers_exact: r.peers.is_exact(),
        ports_folded: r.ports_folded,
        vpcs: list(|s| &s.vpcs),
        peer_vpcs: list(|s| &s.peer_vpcs),
    }
}

fn write_json(
    w: &mut dyn Write,
    acc: &Accounting,
    filtered: Filtered,
    s: &Summary,
    top: Option<usize>,
    timeline: Option<&Timeline>,
    Annotations { labels, tgw }: Annotations<'_>,
) -> Result<()> {
    let row = |r| json_row(r, tgw);
    let rows: Vec<JsonRow> = match top {
        Some(n) => by_flows(s).into_iter().take(n).map(row).collect(),
        None => s.rows.iter().map(row).collect(),
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
                kind: kind(i.eni),
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
                tgw: tgw.by_id.get(&i.eni).map(json_attachment),
            })
            .collect(),
        timeline: timeline.map(Timeline::to_json),
    };
    crate::report::write_json_pretty(w, &doc)?;
    Ok(())
}

fn write_csv(w: &mut dyn Write, s: &Summary, top: Option<usize>, tgw: &Attachments) -> Result<()> {
    let mut c = csv::Writer::from_writer(w);
    let rows: Vec<&Row> = match top {
        Some(n) => by_flows(s).into_iter().take(n).collect(),
        None => s.rows.iter().collect(),
    };
    for r in rows {
        c.serialize(CsvRow::from(json_row(r, tgw)))?;
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
            "kind",
            "vpcs",
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
    Annotations { labels, tgw }: Annotations<'_>,
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
        let role = match labels.get(&id) {
            Some(l) => l.to_string(),
            // An attachment says so, with the VPC behind it.
            None if r.eni.is_attachment() => match tgw.by_id.get(&r.eni) {
                Some(s) if !s.vpcs.is_empty() => format!(
                    "tgw attachment: {}",
                    s.vpcs.iter().map(|v| &**v).collect::<Vec<_>>().join(",")
                ),
                _ => "tgw attachment".into(),
            },
            None => "-".into(),
        };
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
            action_label(r).unwrap_or("-").into(),
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
        .filter(|r| r.action == Action::Reject && !r.eni.is_attachment())
        .map(|r| r.flows)
        .sum();
    let attachments = s
        .interfaces
        .iter()
        .filter(|i| i.eni.is_attachment())
        .count() as u64;
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
        report::count(
            s.interfaces.len() as u64 - attachments,
            "interface",
            "interfaces"
        )
    )?;
    if attachments > 0 {
        write_tgw_totals(w, s, attachments)?;
    }
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

/// The Transit Gateway line under the totals: its flows are neither
/// accepted nor rejected (a gateway forwards), some dropped; and each
/// flow through it is logged on both attachments it crosses.
fn write_tgw_totals(w: &mut dyn Write, s: &Summary, attachments: u64) -> Result<()> {
    let (flows, dropped) =
        s.rows
            .iter()
            .filter(|r| r.eni.is_attachment())
            .fold((0u64, 0u64), |(f, d), r| {
                let drop = if r.action == Action::Reject {
                    r.flows
                } else {
                    0
                };
                (f + r.flows, d + drop)
            });
    writeln!(
        w,
        "Transit Gateway: {} on {} (tgw-attach-… rows), {} dropped by the gateway \
         (DROP: packets-lost-* above 0); a flow between two logged attachments is counted on each",
        report::count(flows, "flow", "flows"),
        report::count(attachments, "attachment", "attachments"),
        thousands(dropped)
    )?;
    Ok(())
}
