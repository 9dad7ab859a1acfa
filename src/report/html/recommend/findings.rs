//! What the analysis could not tell, approximated or left alone, and what
//! the run warned about: the part of the page a reviewer must read before
//! trusting the rest.

use super::*;

pub(super) fn findings(p: &mut Page, v: &RecommendPage<'_>) {
    let a = v.analysis;
    p.raw("<section id=\"findings\">\n<h2>Findings and approximations</h2>\n<ul id=\"approximations\">\n");
    let item = |p: &mut Page, kind: &str, text: String| {
        w!(p, "<li data-kind=\"{kind}\">{}</li>\n", esc(&text));
    };
    let count = |s: RuleStatus| a.rules.iter().filter(|r| r.status == s).count() as u64;
    item(
        p,
        "packets",
        "Rules are credited with flows, bytes and peers; packets are counted per row of \
         traffic (summarize), not per rule."
            .into(),
    );
    let many = a.rules.iter().filter(|r| r.hits.has_many()).count() as u64;
    if many > 0 {
        item(
            p,
            "peers-estimated",
            format!(
                "{} rules saw a service with too many peers to list: their peer counts are lower bounds (≥).",
                thousands(many)
            ),
        );
    }
    let unobservable = count(RuleStatus::Unobservable);
    if unobservable > 0 {
        item(
            p,
            "unobservable",
            format!(
                "{} rules are unobservable (a prefix list without entries, a group whose members \
                 are unknown, or only peers too many to list): never reported unused, never changed.",
                thousands(unobservable)
            ),
        );
    }
    let unobserved = count(RuleStatus::Unobserved);
    if unobserved > 0 {
        item(
            p,
            "unobserved",
            format!(
                "{} rules belong to groups none of whose interfaces is in the logs: nothing is concluded about them.",
                thousands(unobserved)
            ),
        );
    }
    if a.unattributed_flows > 0 {
        item(
            p,
            "unattributed",
            format!(
                "{} accepted flows could not be attributed to a rule; the rules that may allow them are left unchanged.",
                thousands(a.unattributed_flows)
            ),
        );
    }
    if a.unexplained_flows > 0 {
        item(
            p,
            "unexplained",
            format!(
                "{} accepted flows no rule of the interface's groups allows (inventory out of date, \
                 or traffic security groups do not filter).",
                thousands(a.unexplained_flows)
            ),
        );
    }
    if a.unknown_direction_flows > 0 {
        item(
            p,
            "direction-unknown",
            format!(
                "{} flows of unknown direction were not attributed.",
                thousands(a.unknown_direction_flows)
            ),
        );
    }
    if !a.unknown_interfaces.is_empty() {
        item(
            p,
            "unknown-interfaces",
            format!(
                "{} logged interfaces are not in the inventory; their traffic is not attributed.",
                thousands(a.unknown_interfaces.len() as u64)
            ),
        );
    }
    if !a.safety.withdrawn.is_empty() {
        item(
            p,
            "withdrawn",
            format!(
                "{} changes were withdrawn because they could deny accepted flows.",
                thousands(a.safety.withdrawn.len() as u64)
            ),
        );
    }
    let out = v.run.outside;
    if out.records + out.nodata + out.skipdata > 0 {
        item(
            p,
            "window",
            format!(
                "{} records outside --since/--until were left out.",
                thousands(out.records)
            ),
        );
    }
    item(
        p,
        "safety",
        format!(
            "Safety check: applying every change keeps all {} accepted flows ({} peer/service \
             pairs) allowed{}.",
            thousands(a.safety.checked_flows),
            thousands(a.safety.checked_peers),
            if a.safety.violations.is_empty() {
                String::new()
            } else {
                format!(" EXCEPT {}", a.safety.violations.len())
            }
        ),
    );
    p.raw("</ul>\n");
    p.diagnostics(v.run.diagnostics);
    list(p, "Changes withdrawn", "withdrawn", &a.safety.withdrawn);
    list(
        p,
        "Safety violations (a bug; please report)",
        "violations",
        &a.safety.violations,
    );
    let port = |p: Option<u16>| p.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
    if !a.unexplained.is_empty() {
        p.raw("<h3>Unexplained accepted flows</h3>\n");
        p.table_head(
            "unexplained",
            &[
                ("Interface", false),
                ("Direction", false),
                ("Protocol", false),
                ("Port", true),
                ("Peer", false),
                ("Flows", true),
                ("Bytes", true),
            ],
            false,
        );
        for u in a.unexplained.iter().take(FINDINGS_SHOWN) {
            p.raw("<tr>");
            p.text_td(&u.interface_id);
            p.text_td(u.direction);
            p.text_td(&proto_label(u.protocol));
            p.text_td(&port(u.port));
            p.text_td(u.peer.as_deref().unwrap_or("(many)"));
            p.count_td(u.flows);
            p.bytes_td(u.bytes);
            p.raw("</tr>\n");
        }
        p.table_end();
        more(p, a.unexplained.len());
    }
    if !a.unattributed.is_empty() {
        p.raw("<h3>Unattributed accepted flows</h3>\n");
        p.table_head(
            "unattributed",
            &[
                ("Interface", false),
                ("Direction", false),
                ("Protocol", false),
                ("Port", true),
                ("Peer", false),
                ("Flows", true),
                ("Bytes", true),
                ("May be allowed by", false),
            ],
            false,
        );
        for u in a.unattributed.iter().take(FINDINGS_SHOWN) {
            p.raw("<tr>");
            p.text_td(&u.interface_id);
            p.text_td(u.direction);
            p.text_td(&proto_label(u.protocol));
            p.text_td(&port(u.port));
            p.text_td(u.peer.as_deref().unwrap_or("(many)"));
            p.count_td(u.flows);
            p.bytes_td(u.bytes);
            p.text_td(&u.rules.join("; "));
            p.raw("</tr>\n");
        }
        p.table_end();
        more(p, a.unattributed.len());
    }
    if !a.rejected_open.is_empty() {
        p.raw("<h3>Rejected on ports a rule opens to others</h3>\n");
        p.table_head(
            "rejected-open",
            &[
                ("Interface", false),
                ("Protocol", false),
                ("Port", true),
                ("Flows", true),
                ("Peers", true),
                ("Example peers", false),
                ("Open by", false),
            ],
            false,
        );
        for r in a.rejected_open.iter().take(FINDINGS_SHOWN) {
            p.raw("<tr>");
            p.text_td(&r.interface_id);
            p.text_td(&proto_label(r.protocol));
            p.text_td(&port(r.port));
            p.count_td(r.flows);
            p.count_td(r.peers);
            p.text_td(&r.top_peers.join(", "));
            p.text_td(&r.rules.join("; "));
            p.raw("</tr>\n");
        }
        p.table_end();
        more(p, a.rejected_open.len());
    }
    if !a.group_findings.is_empty() {
        p.raw(
            "<h3>Group findings</h3>\n<table id=\"group-findings\"><thead><tr><th>Finding</th>\
               <th>Group</th><th>Detail</th><th>Controls</th></tr></thead><tbody>\n",
        );
        for f in &a.group_findings {
            p.text_td_row(&[
                f.kind,
                &group_label(v.inventory, &f.group_id),
                &f.detail,
                controls_label(&f.controls).trim(),
            ]);
        }
        p.raw("</tbody></table>\n");
    }
    if !a.unknown_interfaces.is_empty() {
        p.raw("<h3>Interfaces not in the inventory</h3>\n<table id=\"unknown-interfaces\"><thead><tr>\
               <th>Interface</th><th class=\"n\">Flows</th><th class=\"n\">Bytes</th></tr></thead><tbody>\n");
        for u in &a.unknown_interfaces {
            p.raw("<tr>");
            p.text_td(&u.interface_id);
            p.count_td(u.flows);
            p.bytes_td(u.bytes);
            p.raw("</tr>\n");
        }
        p.raw("</tbody></table>\n");
    }
    p.raw("</section>\n");
}

fn list(p: &mut Page, title: &str, id: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    w!(p, "<h3>{title}</h3>\n<ul id=\"{id}\">\n");
    for x in items {
        w!(p, "<li>{}</li>\n", esc(x));
    }
    p.raw("</ul>\n");
}

fn more(p: &mut Page, total: usize) {
    if total > FINDINGS_SHOWN {
        w!(
            p,
            "<p class=\"muted\">{} more: -o json lists them all.</p>\n",
            thousands((total - FINDINGS_SHOWN) as u64)
        );
    }
}
