//! One security group's section: what it is, its interfaces, its rules
//! with their hits, the traffic each rule allowed, and its proposals.

use super::*;

pub(super) fn group(
    p: &mut Page,
    v: &RecommendPage<'_>,
    gi: usize,
    rules: &[&RuleReport],
    recs: &[(usize, &Recommendation)],
) {
    let inv = v.inventory;
    let g = &inv.groups[gi];
    let members: Vec<_> = inv.interfaces_with_group(&g.group_id).collect();
    let logged = members
        .iter()
        .filter(|e| v.logged.contains(e.id.as_str()))
        .count();
    let unused = rules
        .iter()
        .filter(|r| r.status == RuleStatus::Unused)
        .count();
    w!(
        p,
        "<details open class=\"group\" id=\"g{gi}\" data-group=\"{}\">\n<summary>{}\
         <span class=\"meta\">{} rules, {} unused, {} proposals; {} of {} interfaces logged</span>\
         </summary>\n",
        esc(&g.group_id),
        esc(&group_label(inv, &g.group_id)),
        rules.len(),
        unused,
        recs.len(),
        logged,
        members.len()
    );
    p.raw("<dl class=\"facts\">");
    let fact = |p: &mut Page, k: &str, val: &str| {
        if !val.is_empty() {
            w!(p, "<dt>{k}</dt><dd>{}</dd>", esc(val));
        }
    };
    fact(p, "Group id", &g.group_id);
    fact(p, "Name", &g.group_name);
    fact(p, "Description", &g.description);
    fact(p, "VPC", g.vpc_id.as_deref().unwrap_or(""));
    fact(p, "Owner", g.owner_id.as_deref().unwrap_or(""));
    if !g.tags.is_empty() {
        p.raw("<dt>Tags</dt><dd><ul class=\"tags\">");
        for (k, val) in &g.tags {
            w!(p, "<li><code>{}</code> = {}</li>", esc(k), esc(val));
        }
        p.raw("</ul></dd>");
    }
    p.raw("</dl>\n");
    interfaces(p, v, &members);
    if rules.is_empty() {
        p.raw("<p class=\"muted\">No rules.</p>\n");
    } else {
        rules_table(p, v, gi, rules, recs);
        traffic(p, v, gi, rules);
    }
    for &(k, r) in recs {
        proposal(p, inv, k, r);
    }
    p.raw("</details>\n");
}

fn interfaces(
    p: &mut Page,
    v: &RecommendPage<'_>,
    members: &[&crate::inventory::NetworkInterface],
) {
    if members.is_empty() {
        p.raw("<p class=\"muted\">Attached to no network interface in the inventory.</p>\n");
        return;
    }
    w!(
        p,
        "<details class=\"members\"><summary>Network interfaces ({})</summary>\n",
        members.len()
    );
    p.raw(
        "<table><thead><tr><th>Interface</th><th>Kind</th><th>Addresses</th>\
           <th>In the logs</th><th>Description</th></tr></thead><tbody>\n",
    );
    for e in members {
        let addrs: Vec<String> = e
            .private_ips
            .iter()
            .chain(&e.ipv6)
            .chain(&e.public_ips)
            .map(|a| a.to_string())
            .collect();
        p.text_td_row(&[
            &e.id,
            e.kind.label(),
            &addrs.join(", "),
            if v.logged.contains(e.id.as_str()) {
                "yes"
            } else {
                "no"
            },
            &e.description,
        ]);
    }
    p.raw("</tbody></table></details>\n");
}

fn rules_table(
    p: &mut Page,
    v: &RecommendPage<'_>,
    gi: usize,
    rules: &[&RuleReport],
    recs: &[(usize, &Recommendation)],
) {
    let inv = v.inventory;
    p.table_head(
        &format!("g{gi}-rules"),
        &[
            ("Direction", false),
            ("Rule", false),
            ("Description", false),
            ("Status", false),
            ("Flows", true),
            ("Bytes", true),
            ("Peers", true),
            ("Ports seen", false),
            ("First seen", false),
            ("Last seen", false),
            ("Proposals", false),
        ],
        false,
    );
    for rr in rules {
        let r = &rr.rule;
        let h = &rr.hits;
        let peers = h.peers().len() as u64;
        w!(
            p,
            "<tr class=\"rule\" id=\"g{gi}-r{}\" data-group=\"{}\" data-direction=\"{}\" \
             data-status=\"{}\" data-flows=\"{}\" data-bytes=\"{}\" data-peers=\"{peers}\">\
             <td>{}</td><td>{}</td><td>{}</td>\
             <td title=\"{}\"><span class=\"badge {s}\">{s}</span></td>",
            rr.rule_index,
            esc(&r.group_id),
            r.direction,
            status_word(rr.status),
            h.flows,
            h.bytes,
            r.direction,
            esc(&rule_label(inv, r)),
            esc(r.description.as_deref().unwrap_or("")),
            esc(&status_text(inv, rr)),
            s = status_word(rr.status)
        );
        p.count_td(h.flows);
        p.bytes_td(h.bytes);
        if h.has_many() {
            w!(
                p,
                "<td class=\"n\" data-v=\"{peers}\" title=\"at least: some services had too many peers to list\">\u{2265}{}</td>",
                thousands(peers)
            );
        } else {
            p.count_td(peers);
        }
        p.text_td(&ports_text(h.ports()));
        p.time_td(h.first_seen);
        p.time_td(h.last_seen);
        p.raw("<td>");
        for &(k, rec) in recs.iter().filter(|(_, x)| x.rule_index == rr.rule_index) {
            w!(p, "<a href=\"#p{k}\">{}</a> ", rec.kind.as_str());
        }
        p.raw("</td></tr>\n");
    }
    p.table_end();
}

/// The traffic each used rule allowed, service by service and peer by
/// peer (collapsed: it can be long).
fn traffic(p: &mut Page, v: &RecommendPage<'_>, gi: usize, rules: &[&RuleReport]) {
    let inv = v.inventory;
    for rr in rules.iter().filter(|r| r.hits.flows > 0) {
        let h = &rr.hits;
        w!(
            p,
            "<details class=\"traffic\" id=\"g{gi}-r{}-traffic\"><summary>Traffic allowed by {} {}\
             <span class=\"meta\">{} flows, {}, on {}</span></summary>\n",
            rr.rule_index,
            rr.rule.direction,
            esc(&rule_label(inv, &rr.rule)),
            thousands(h.flows),
            human_bytes(h.bytes),
            esc(&h.interfaces.iter().cloned().collect::<Vec<_>>().join(", "))
        );
        p.raw(
            "<table><thead><tr><th>Service</th><th>Peer</th><th>Who</th>\
               <th class=\"n\">Flows</th><th class=\"n\">Bytes</th></tr></thead><tbody>\n",
        );
        let services: std::collections::BTreeSet<_> =
            h.by_service.keys().chain(h.many.keys()).copied().collect();
        for svc in services {
            let name = match svc.1 {
                Some(port) => format!("{} {port}", proto_label(svc.0)),
                None => proto_label(svc.0),
            };
            let mut peers: Vec<_> = h
                .by_service
                .get(&svc)
                .map(|m| m.iter().collect())
                .unwrap_or_default();
            peers.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
            for (ip, hit) in peers.iter().take(PEERS_SHOWN) {
                p.raw("<tr>");
                p.text_td(&name);
                p.text_td(&ip.to_string());
                p.text_td(&peer_name(inv, **ip));
                p.count_td(hit.flows);
                p.bytes_td(hit.bytes);
                p.raw("</tr>\n");
            }
            if peers.len() > PEERS_SHOWN {
                let rest = &peers[PEERS_SHOWN..];
                p.raw("<tr>");
                p.text_td(&name);
                p.text_td(&format!("{} more peers", thousands(rest.len() as u64)));
                p.text_td("");
                p.count_td(rest.iter().map(|x| x.1.flows).sum());
                p.bytes_td(rest.iter().map(|x| x.1.bytes).sum());
                p.raw("</tr>\n");
            }
            if let Some(&flows) = h.many.get(&svc) {
                p.raw("<tr>");
                p.text_td(&name);
                p.text_td("too many peers to list");
                p.text_td("");
                p.count_td(flows);
                p.raw("<td class=\"n\">-</td></tr>\n");
            }
        }
        p.raw("</tbody></table></details>\n");
    }
}

/// One proposal: what, how sure, why, the exact change, the evidence.
fn proposal(p: &mut Page, inv: &Inventory, k: usize, r: &Recommendation) {
    let e = &r.evidence;
    w!(
        p,
        "<article class=\"proposal{}\" id=\"p{k}\" data-kind=\"{}\" data-confidence=\"{}\" \
         data-group=\"{}\" data-rule=\"g{}-r{}\" data-flows=\"{}\" data-bytes=\"{}\">\n\
         <h4><span class=\"badge kind\">{}</span> <span class=\"badge {}\">{} confidence</span> {}</h4>\n\
         <p>{}</p>\n",
        if r.kind.changes_rules() { "" } else { " advice" },
        r.kind.as_str(),
        r.confidence.as_str(),
        esc(&r.rule.group_id),
        r.group_index,
        r.rule_index,
        e.flows,
        e.bytes,
        r.kind.as_str(),
        r.confidence.as_str(),
        r.confidence.as_str(),
        esc(&r.headline),
        esc(&r.reason)
    );
    let current = RuleSpec::from_rule(&r.rule);
    p.raw("<pre class=\"change\">");
    if r.kind.changes_rules() {
        for s in &r.proposed {
            w!(
                p,
                "<span class=\"add\">+ {}</span>",
                esc(&spec_label(inv, r.rule.direction, s))
            );
        }
        w!(
            p,
            "<span class=\"del\">- {}{}</span>",
            esc(&spec_label(inv, r.rule.direction, &current)),
            esc(&r
                .rule
                .rule_id
                .as_ref()
                .map(|id| format!("  [{id}]"))
                .unwrap_or_default())
        );
        if r.proposed.is_empty() {
            p.raw("(removed; nothing replaces it)");
        }
    } else {
        w!(
            p,
            "  {}\n(advice: no change proposed)",
            esc(&spec_label(inv, r.rule.direction, &current))
        );
    }
    p.raw("</pre>\n<dl class=\"facts\">");
    let fact = |p: &mut Page, key: &str, val: String| {
        w!(p, "<dt>{key}</dt><dd>{}</dd>", esc(&val));
    };
    fact(
        p,
        "Evidence",
        format!(
            "{} flows, {} ({} bytes)",
            thousands(e.flows),
            human_bytes(e.bytes),
            thousands(e.bytes)
        ),
    );
    fact(
        p,
        "Peers",
        format!(
            "{}{}",
            if e.peers_exact { "" } else { "at least " },
            thousands(e.peers)
        ),
    );
    if !e.ports.is_empty() {
        fact(p, "Ports used", ports_text(e.ports.iter().copied()));
    }
    let seen = |t: Option<u64>| t.map(super::super::time).unwrap_or_else(|| "-".into());
    if let (Some(first), Some(last)) = (e.first_seen, e.last_seen) {
        let (first, last) = (seen(Some(first)), seen(Some(last)));
        fact(p, "Seen", format!("{first} to {last}"));
    } else {
        fact(p, "Seen", "never: no accepted flow matched".into());
    }
    fact(
        p,
        "Observed",
        format!(
            "{} to {}; {} of the group's {} interfaces logged",
            seen(e.window_start),
            seen(e.window_end),
            e.interfaces_logged,
            e.interfaces
        ),
    );
    if !e.peer_groups.is_empty() {
        let groups: Vec<String> = e
            .peer_groups
            .iter()
            .map(|(g, n)| format!("{} ({n} peers)", group_label(inv, g)))
            .collect();
        fact(p, "Peer groups", groups.join(", "));
    }
    if !r.controls.is_empty() {
        fact(
            p,
            "Controls",
            controls_label(&r.controls).trim().to_string(),
        );
    }
    p.raw("</dl>\n");
    if !e.top_peers.is_empty() {
        p.raw("<table><thead><tr><th>Top peer</th><th>Interface</th><th>Role</th>\
               <th>Groups</th><th class=\"n\">Flows</th><th class=\"n\">Bytes</th></tr></thead><tbody>\n");
        for t in &e.top_peers {
            p.raw("<tr>");
            p.text_td(&t.address);
            p.text_td(t.interface_id.as_deref().unwrap_or("-"));
            p.text_td(t.role.as_deref().unwrap_or("-"));
            let gs: Vec<String> = t.groups.iter().map(|g| group_label(inv, g)).collect();
            p.text_td(&gs.join(", "));
            p.count_td(t.flows);
            p.bytes_td(t.bytes);
            p.raw("</tr>\n");
        }
        p.raw("</tbody></table>\n");
    }
    if !e.public_destinations.is_empty() {
        p.raw(
            "<table><thead><tr><th>Public destination</th><th>AWS service</th>\
               <th>Range</th><th>Allowed as</th><th>Why</th></tr></thead><tbody>\n",
        );
        for d in &e.public_destinations {
            p.text_td_row(&[
                &d.address,
                d.aws_service.as_deref().unwrap_or("-"),
                d.range.as_deref().unwrap_or("-"),
                &d.allowed_as,
                &d.why,
            ]);
        }
        p.raw("</tbody></table>\n");
    }
    p.raw("</article>\n");
}
