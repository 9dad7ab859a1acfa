//! The `recommend` page: what was read, every security group with every
//! rule and the traffic it allowed, each proposal with its evidence and
//! the exact change, and what could not be told.

use std::collections::{HashMap, HashSet};
use std::io;

use super::{esc, period, span, w, Page, RunInfo};
use crate::inventory::{Inventory, Rule, RuleDirection, RuleSpec, RuleTarget};
use crate::recommend::{
    group_label, rule_ports, spec_ports, Analysis, Confidence, Kind, Recommendation, RuleReport,
    RuleStatus,
};
use crate::report::proposals::controls_label;
use crate::report::{human_bytes, proto_label, thousands};

/// Peers listed per service under a rule (the rest are summed).
const PEERS_SHOWN: usize = 20;
/// Rows listed per finding table (the rest are counted).
const FINDINGS_SHOWN: usize = 200;

/// What the recommend page shows.
pub struct RecommendPage<'a> {
    pub run: RunInfo<'a>,
    pub inventory: &'a Inventory,
    pub analysis: &'a Analysis,
    /// The interfaces the logs name.
    pub logged: &'a HashSet<&'a str>,
}

const KINDS: [Kind; 6] = [
    Kind::ReplaceCidrWithGroup,
    Kind::NarrowCidr,
    Kind::NarrowPorts,
    Kind::RemoveUnused,
    Kind::TightenEgress,
    Kind::ReviewPublic,
];

/// Writes the page.
pub fn write_recommend(out: &mut dyn io::Write, v: &RecommendPage<'_>) -> io::Result<()> {
    let (inv, a) = (v.inventory, v.analysis);
    let mut p = Page::new(&format!("Security-group review: {}", period(a.window)));
    p.raw("<header>\n<h1>Security-group review</h1>\n<p class=\"sub\">flowscope recommend: ");
    p.text(&period(a.window));
    p.raw("</p>\n<nav class=\"toc\"><a href=\"#summary\">Summary</a><a href=\"#proposals\">Proposals</a>\
           <a href=\"#findings\">Findings and approximations</a><a href=\"#groups\">Security groups</a>\
           <a href=\"#input\">Input</a>\
           <span class=\"jsonly\"><button type=\"button\" data-open=\"1\">Open all</button>\
           <button type=\"button\" data-open=\"0\">Close all</button></span></nav>\n</header>\n");
    summary(&mut p, v);
    proposals_table(&mut p, inv, a);
    findings(&mut p, v);
    p.raw("<section id=\"groups\">\n<h2>Security groups</h2>\n");
    let mut rules_of: Vec<Vec<&RuleReport>> = vec![Vec::new(); inv.groups.len()];
    for rr in &a.rules {
        rules_of[rr.group_index].push(rr);
    }
    let mut recs_of: HashMap<usize, Vec<(usize, &Recommendation)>> = HashMap::new();
    for (k, r) in a.recommendations.iter().enumerate() {
        recs_of.entry(r.group_index).or_default().push((k, r));
    }
    for (gi, rules) in rules_of.iter().enumerate() {
        let recs = recs_of.get(&gi).map(Vec::as_slice).unwrap_or_default();
        group(&mut p, v, gi, rules, recs);
    }
    p.raw("</section>\n");
    p.input_section(&v.run);
    p.finish(out)
}

fn card(p: &mut Page, key: &str, value: &str, detail: &str) {
    w!(
        p,
        "<div class=\"card\"><div class=\"k\">{key}</div><div class=\"v\">{}</div>\
         <div class=\"d\">{}</div></div>\n",
        esc(value),
        esc(detail)
    );
}

fn summary(p: &mut Page, v: &RecommendPage<'_>) {
    let (inv, a) = (v.inventory, v.analysis);
    let acc = v.run.accounting;
    let status = |s: RuleStatus| a.rules.iter().filter(|r| r.status == s).count() as u64;
    let changes = a.recommendations.iter().filter(|r| r.kind.changes_rules());
    let changes = changes.count() as u64;
    p.raw("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    let hours = a
        .window
        .map_or(0.0, |(s, e)| e.saturating_sub(s) as f64 / 3600.0);
    card(p, "Period", &format!("{hours:.1} h"), &span(a.window));
    card(
        p,
        "Records analysed",
        &thousands(acc.records - v.run.outside.records),
        &format!(
            "{} files, {} lines",
            thousands(acc.files),
            thousands(acc.lines)
        ),
    );
    let known = v.logged.iter().filter(|id| inv.interface(id).is_some());
    card(
        p,
        "Interfaces logged",
        &thousands(v.logged.len() as u64),
        &format!(
            "{} of them in the inventory's {}",
            thousands(known.count() as u64),
            thousands(inv.interfaces.len() as u64)
        ),
    );
    card(
        p,
        "Security groups",
        &thousands(inv.groups.len() as u64),
        &format!("{} rules", thousands(a.rules.len() as u64)),
    );
    card(
        p,
        "Rules used",
        &thousands(status(RuleStatus::Used)),
        &format!(
            "{} unused, {} unobserved, {} unobservable",
            thousands(status(RuleStatus::Unused)),
            thousands(status(RuleStatus::Unobserved)),
            thousands(status(RuleStatus::Unobservable))
        ),
    );
    card(
        p,
        "Proposed changes",
        &thousands(changes),
        &format!(
            "and {} advisories",
            thousands(a.recommendations.len() as u64 - changes)
        ),
    );
    card(
        p,
        "Messages of the run",
        &thousands(v.run.diagnostics.len() as u64),
        "warnings and notes, listed under Findings",
    );
    let safety = &a.safety;
    if safety.violations.is_empty() {
        card(
            p,
            "Safety check",
            "passed",
            &format!(
                "applying every change keeps all {} accepted flows allowed",
                thousands(safety.checked_flows)
            ),
        );
    } else {
        card(
            p,
            "Safety check",
            "FAILED",
            &format!(
                "{} accepted flows would be denied (a bug; please report)",
                safety.violations.len()
            ),
        );
    }
    p.raw("</div>\n<h3>Proposals by kind</h3>\n<table class=\"kv\" id=\"by-kind\"><thead><tr>\
           <th>Kind</th><th class=\"n\">High</th><th class=\"n\">Medium</th><th class=\"n\">Low</th>\
           <th class=\"n\">Total</th></tr></thead><tbody>\n");
    for k in KINDS {
        let of = |c: Option<Confidence>| {
            a.recommendations
                .iter()
                .filter(|r| r.kind == k && c.is_none_or(|c| r.confidence == c))
                .count() as u64
        };
        w!(
            p,
            "<tr data-kind=\"{}\"><th>{}</th>",
            k.as_str(),
            k.as_str()
        );
        for c in [
            Some(Confidence::High),
            Some(Confidence::Medium),
            Some(Confidence::Low),
            None,
        ] {
            p.count_td(of(c));
        }
        p.raw("</tr>\n");
    }
    p.raw("</tbody></table>\n</section>\n");
}

/// Every proposal in one sortable table, each linked to its details.
fn proposals_table(p: &mut Page, inv: &Inventory, a: &Analysis) {
    p.raw("<section id=\"proposals\">\n<h2>Proposals</h2>\n");
    if a.recommendations.is_empty() {
        p.raw("<p>No proposals: every rule is as tight as the traffic shows.</p>\n</section>\n");
        return;
    }
    p.raw(
        "<p>Each proposal is listed with its evidence and the exact change under its group.</p>\n",
    );
    p.table_head(
        "proposal-list",
        &[
            ("#", true),
            ("Kind", false),
            ("Confidence", false),
            ("Group", false),
            ("Rule", false),
            ("Proposal", false),
            ("Flows", true),
            ("Bytes", true),
        ],
        true,
    );
    for (k, r) in a.recommendations.iter().enumerate() {
        w!(
            p,
            "<tr><td class=\"n\" data-v=\"{k}\"><a href=\"#p{k}\">{}</a></td>\
             <td class=\"kind\">{}</td><td data-v=\"{}\"><span class=\"badge {c}\">{c}</span></td>\
             <td><a href=\"#g{}\">{}</a></td><td>{} {}</td><td>{}</td>",
            k + 1,
            r.kind.as_str(),
            r.confidence as u8,
            r.group_index,
            esc(&group_label(inv, &r.rule.group_id)),
            r.rule.direction,
            esc(&rule_label(inv, &r.rule)),
            esc(headline(inv, r)),
            c = r.confidence.as_str()
        );
        p.count_td(r.evidence.flows);
        p.bytes_td(r.evidence.bytes);
        p.raw("</tr>\n");
    }
    p.table_end();
    p.raw("</section>\n");
}

/// The headline without the group it starts with (the table has a column for it).
fn headline<'a>(inv: &Inventory, r: &'a Recommendation) -> &'a str {
    let group = format!("{}: ", group_label(inv, &r.rule.group_id));
    r.headline.strip_prefix(&group).unwrap_or(&r.headline)
}

/// `tcp 8080 from 0.0.0.0/0`, a group target with its name.
fn rule_label(inv: &Inventory, r: &Rule) -> String {
    let dir = match r.direction {
        RuleDirection::Ingress => "from",
        RuleDirection::Egress => "to",
    };
    format!("{} {dir} {}", rule_ports(r), target_label(inv, &r.target))
}

fn target_label(inv: &Inventory, t: &RuleTarget) -> String {
    match t {
        RuleTarget::Group { group_id, user_id } => {
            let label = group_label(inv, group_id);
            let owner = inv.group(group_id).and_then(|g| g.owner_id.as_deref());
            match user_id.as_deref() {
                // Another account's group (or one of unknown owner): `account/sg-… (name)`.
                Some(u) if Some(u) != owner => format!("{u}/{label}"),
                _ => label,
            }
        }
        t => t.to_string(),
    }
}

fn spec_label(inv: &Inventory, dir: RuleDirection, s: &RuleSpec) -> String {
    let to = match dir {
        RuleDirection::Ingress => "from",
        RuleDirection::Egress => "to",
    };
    let mut l = format!(
        "{dir} {} {to} {}",
        spec_ports(&s.protocol, s.from_port, s.to_port),
        target_label(inv, &s.target)
    );
    if let Some(d) = &s.description {
        l.push_str(&format!("  \"{d}\""));
    }
    l
}

fn status_text(inv: &Inventory, rr: &RuleReport) -> String {
    let r = &rr.rule;
    match rr.status {
        RuleStatus::Used => "used".into(),
        RuleStatus::Unused => "unused".into(),
        RuleStatus::Unobserved => {
            "unobserved: none of the group's interfaces is in the logs".into()
        }
        RuleStatus::Unobservable => {
            let owner = inv.group(&r.group_id).and_then(|g| g.owner_id.as_deref());
            match &r.target {
                t if inv.can_evaluate(t, owner) => format!(
                    "unobservable: {} flows from too many peers to list",
                    thousands(rr.hits.unattributed_flows)
                ),
                RuleTarget::PrefixList(_) => {
                    "unobservable: the prefix list's entries are unknown (--prefix-lists)".into()
                }
                _ => "unobservable: the referenced group's members are unknown".into(),
            }
        }
    }
}

fn status_word(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Used => "used",
        RuleStatus::Unused => "unused",
        RuleStatus::Unobserved => "unobserved",
        RuleStatus::Unobservable => "unobservable",
    }
}

/// Ports as ranges: `443, 8080-8082`.
fn ports_text(ports: impl IntoIterator<Item = u16>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u16, u16)> = None;
    let flush = |r: (u16, u16), out: &mut Vec<String>| {
        out.push(if r.0 == r.1 {
            r.0.to_string()
        } else {
            format!("{}-{}", r.0, r.1)
        })
    };
    for port in ports {
        run = match run {
            Some((f, t)) if t.checked_add(1) == Some(port) => Some((f, port)),
            Some(r) => {
                flush(r, &mut out);
                Some((port, port))
            }
            None => Some((port, port)),
        };
    }
    if let Some(r) = run {
        flush(r, &mut out);
    }
    out.join(", ")
}

/// Who an address is, from the inventory: `ecs-task eni-… (sg names)`.
fn peer_name(inv: &Inventory, ip: std::net::IpAddr) -> String {
    match inv.interface_by_addr(ip) {
        Some(e) => format!("{} {}", e.kind.label(), e.id),
        None if ip_is_private(ip) => "private, not in the inventory".into(),
        None => "public".into(),
    }
}

fn ip_is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local(),
        std::net::IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00 || v.is_loopback(),
    }
}

mod findings;
use findings::findings;

mod group;
use group::group;
