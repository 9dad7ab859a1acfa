//! The `summarize` page: totals, the interfaces, the traffic rows, and the
//! accounting of every line read.

use std::collections::HashMap;
use std::io;

use super::{esc, period, span, w, Page, RunInfo};
use crate::aggregate::{AddressSource, Direction, Row, Summary};
use crate::flowlog::record::Action;
use crate::report::{proto_label, thousands};

/// What the summarize page shows.
pub struct SummarizePage<'a> {
    pub run: RunInfo<'a>,
    pub summary: &'a Summary,
    /// What the inventory says of an interface (`alb retail-store-alb`).
    pub labels: &'a HashMap<&'a str, String>,
    /// Rows shown at most, most flows first.
    pub limit: usize,
}

/// Writes the page.
pub fn write_summarize(out: &mut dyn io::Write, v: &SummarizePage<'_>) -> io::Result<()> {
    let s = v.summary;
    let mut p = Page::new(&format!("Flow-log summary: {}", period(s.window)));
    p.raw("<header>\n<h1>Flow-log summary</h1>\n<p class=\"sub\">flowscope summarize: ");
    p.text(&period(s.window));
    p.raw("</p>\n<nav class=\"toc\"><a href=\"#summary\">Summary</a><a href=\"#interfaces\">Interfaces</a>\
           <a href=\"#rows\">Traffic</a><a href=\"#input\">Input</a></nav>\n</header>\n");
    totals(&mut p, v);
    interfaces(&mut p, v);
    rows(&mut p, v);
    p.input_section(&v.run);
    p.finish(out)
}

fn totals(p: &mut Page, v: &SummarizePage<'_>) {
    let s = v.summary;
    let sum = |f: fn(&Row) -> bool, x: fn(&Row) -> u64| -> u64 {
        s.rows
            .iter()
            .filter(|r| f(r))
            .fold(0u64, |a, r| a.saturating_add(x(r)))
    };
    let flows = sum(|_| true, |r| r.flows);
    let attachments = s
        .interfaces
        .iter()
        .filter(|i| i.eni.is_attachment())
        .count() as u64;
    let unknown = s
        .rows
        .iter()
        .filter(|r| r.direction == Direction::Unknown)
        .count() as u64;
    p.raw("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    let card = |p: &mut Page, key: &str, val: String, detail: String| {
        w!(
            p,
            "<div class=\"card\"><div class=\"k\">{key}</div><div class=\"v\">{}</div>\
             <div class=\"d\">{}</div></div>\n",
            esc(&val),
            esc(&detail)
        );
    };
    let hours = s
        .window
        .map_or(0.0, |(a, b)| b.saturating_sub(a) as f64 / 3600.0);
    card(p, "Period", format!("{hours:.1} h"), span(s.window));
    card(
        p,
        "Flows",
        thousands(flows),
        format!(
            "{} accepted, {} rejected",
            thousands(sum(|r| r.action == Action::Accept, |r| r.flows)),
            thousands(sum(
                |r| r.action == Action::Reject && !r.eni.is_attachment(),
                |r| r.flows
            ))
        ),
    );
    card(
        p,
        "Packets",
        thousands(sum(|_| true, |r| r.packets)),
        String::new(),
    );
    let bytes = sum(|_| true, |r| r.bytes);
    card(
        p,
        "Bytes",
        crate::report::human_bytes(bytes),
        format!("{} bytes", thousands(bytes)),
    );
    card(
        p,
        "Interfaces",
        thousands(s.interfaces.len() as u64 - attachments),
        if attachments > 0 {
            format!("and {} Transit Gateway attachments", thousands(attachments))
        } else {
            String::new()
        },
    );
    card(
        p,
        "Rows",
        thousands(s.rows.len() as u64),
        format!(
            "interface, direction, protocol, port, action; {} shown",
            thousands(s.rows.len().min(v.limit) as u64)
        ),
    );
    card(
        p,
        "Messages of the run",
        thousands(v.run.diagnostics.len() as u64),
        "listed under Input".into(),
    );
    p.raw("</div>\n<ul id=\"approximations\">\n");
    if s.overflow > 0 {
        w!(
            p,
            "<li>{} rejected records to rarely hit ports are counted in folded rows (port \
             shown as the number of ports).</li>\n",
            thousands(s.overflow)
        );
    }
    if unknown > 0 {
        w!(
            p,
            "<li>{} rows have direction unknown (the interface's own address could not be told \
             from its peer's); --interfaces network-interfaces.json resolves them.</li>\n",
            thousands(unknown)
        );
    }
    let estimated = s.rows.iter().filter(|r| !r.peers.is_exact()).count() as u64;
    if estimated > 0 {
        w!(
            p,
            "<li>{} rows have more peers than are counted exactly: their peer counts are \
             estimates (~).</li>\n",
            thousands(estimated)
        );
    }
    if attachments > 0 {
        p.raw(
            "<li>A flow between two logged Transit Gateway attachments is counted on each; \
               DROP rows are packets the gateway dropped.</li>\n",
        );
    }
    p.raw("</ul>\n</section>\n");
}

fn source(s: AddressSource) -> &'static str {
    match s {
        AddressSource::Inventory => "inventory",
        AddressSource::Learned => "learned",
        AddressSource::FlowDirection => "flow-direction",
        AddressSource::Unknown => "unknown",
    }
}

fn role(v: &SummarizePage<'_>, id: Option<&str>, eni: crate::flowlog::record::EniId) -> String {
    if let Some(l) = id.and_then(|id| v.labels.get(id)) {
        return l.clone();
    }
    if eni.is_attachment() {
        return match v.summary.attachments.by_id.get(&eni) {
            Some(s) if !s.vpcs.is_empty() => format!(
                "tgw attachment: {}",
                s.vpcs.iter().map(|v| &**v).collect::<Vec<_>>().join(",")
            ),
            _ => "tgw attachment".into(),
        };
    }
    "-".into()
}

fn interfaces(p: &mut Page, v: &SummarizePage<'_>) {
    p.raw("<section id=\"interfaces\">\n<h2>Interfaces</h2>\n");
    p.table_head(
        "interface-list",
        &[
            ("Interface", false),
            ("Role", false),
            ("Records", true),
            ("NODATA", true),
            ("SKIPDATA", true),
            ("First seen", false),
            ("Last seen", false),
            ("Addresses", false),
            ("Address source", false),
        ],
        true,
    );
    for i in &v.summary.interfaces {
        let id = i.interface_id.as_deref();
        w!(
            p,
            "<tr class=\"interface\" data-interface=\"{}\" data-records=\"{}\">",
            esc(id.unwrap_or("")),
            i.records
        );
        p.text_td(id.unwrap_or("-"));
        p.text_td(&role(v, id, i.eni));
        p.count_td(i.records);
        p.count_td(i.nodata);
        p.count_td(i.skipdata);
        p.time_td(i.first_seen);
        p.time_td(i.last_seen);
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        p.text_td(&addrs.join(", "));
        p.text_td(source(i.address_source));
        p.raw("</tr>\n");
    }
    p.table_end();
    p.raw("</section>\n");
}

fn rows(p: &mut Page, v: &SummarizePage<'_>) {
    let s = v.summary;
    let mut rows: Vec<&Row> = s.rows.iter().collect();
    rows.sort_by(|a, b| b.flows.cmp(&a.flows).then(b.bytes.cmp(&a.bytes)));
    p.raw(
        "<section id=\"rows\">\n<h2>Traffic</h2>\n<p>By interface, direction, protocol, \
           service port and action; most flows first.</p>\n",
    );
    p.table_head(
        "row-list",
        &[
            ("Interface", false),
            ("Role", false),
            ("Direction", false),
            ("Protocol", false),
            ("Port", true),
            ("Action", false),
            ("Flows", true),
            ("Packets", true),
            ("Bytes", true),
            ("Peers", true),
            ("First seen", false),
            ("Last seen", false),
        ],
        true,
    );
    for r in rows.iter().take(v.limit) {
        let id = r.interface_id.as_deref();
        let action = match r.action {
            Action::Unknown => "-",
            Action::Reject if r.eni.is_attachment() => "DROP",
            a => a.as_str(),
        };
        w!(
            p,
            "<tr class=\"row\" data-interface=\"{}\" data-flows=\"{}\" data-packets=\"{}\" \
             data-bytes=\"{}\">",
            esc(id.unwrap_or("")),
            r.flows,
            r.packets,
            r.bytes
        );
        p.text_td(id.unwrap_or("-"));
        p.text_td(&role(v, id, r.eni));
        p.text_td(r.direction.as_str());
        p.text_td(&proto_label(r.protocol));
        match (r.port, r.ports_folded) {
            (Some(port), _) => w!(p, "<td class=\"n\" data-v=\"{port}\">{port}</td>"),
            (None, Some(n)) => w!(
                p,
                "<td class=\"n\" data-v=\"-1\" title=\"folded row\">{} ports</td>",
                thousands(n as u64)
            ),
            (None, None) => p.raw("<td class=\"n\" data-v=\"-1\">-</td>"),
        }
        p.text_td(action);
        p.count_td(r.flows);
        p.count_td(r.packets);
        p.bytes_td(r.bytes);
        let peers = r.peers.count();
        if r.peers.is_exact() {
            p.count_td(peers);
        } else {
            w!(
                p,
                "<td class=\"n\" data-v=\"{peers}\" title=\"estimate\">~{}</td>",
                thousands(peers)
            );
        }
        p.time_td(r.first_seen);
        p.time_td(r.last_seen);
        p.raw("</tr>\n");
    }
    p.table_end();
    if rows.len() > v.limit {
        w!(
            p,
            "<p class=\"muted\">{} more rows with fewer flows: -n N shows more, -o json lists all.</p>\n",
            thousands((rows.len() - v.limit) as u64)
        );
    }
    p.raw("</section>\n");
}
