//! Step 2: per rule, the tightest change the evidence supports, or advice.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::evidence::{coverage_cap, evidence, unused_confidence};
use super::labels::{port_label, ports_label};
use super::targets::{egress_proposal, targets_for};
use super::{
    attribute, cidr, controls, destinations, group_label, is_world, rule_ports, sensitive_ports,
    spec_label, Confidence, Kind, Recommendation, RuleReport, RuleStatus, Settings,
};
use crate::aggregate::Summary;
use crate::inventory::{Inventory, Protocol, Rule, RuleDirection, RuleSpec, RuleTarget};

/// Step 2: proposals per rule.
/// Rules in `frozen` (group index, rule index) get advice only: a change
/// to them was found unsafe.
pub fn propose(
    inv: &Inventory,
    summary: &Summary,
    rules: &[RuleReport],
    s: &Settings,
    frozen: &BTreeSet<(usize, usize)>,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let window = summary.window;
    let seen = attribute::group_interfaces(inv, summary);
    let logged_ifaces = attribute::logged_interfaces(summary);
    for rr in rules {
        let r = &rr.rule;
        let group = &inv.groups[rr.group_index];
        let (n_if, logged) = seen[rr.group_index];
        let ev = evidence(inv, rr, window, n_if, logged);
        let mk = |kind: Kind,
                  proposed: Vec<RuleSpec>,
                  confidence: Confidence,
                  reason: String,
                  headline: String| {
            Recommendation {
                kind,
                group_index: rr.group_index,
                rule_index: rr.rule_index,
                rule: r.clone(),
                proposed,
                evidence: ev.clone(),
                confidence,
                reason,
                headline,
                controls: controls::for_rule(r),
            }
        };
        let name = group_label(inv, &group.group_id);
        let what = format!(
            "{} {} {} {}",
            rule_ports(r),
            if r.direction == RuleDirection::Ingress {
                "from"
            } else {
                "to"
            },
            r.target,
            ""
        );
        let what = what.trim_end().to_string();
        let world = is_world(&r.target);
        let sensitive = if world && r.direction == RuleDirection::Ingress {
            sensitive_ports(r)
        } else {
            Vec::new()
        };
        if !sensitive.is_empty() {
            let names: Vec<String> = sensitive
                .iter()
                .take(6)
                .map(|(p, n)| format!("{p} ({n})"))
                .collect();
            out.push(mk(
                Kind::ReviewPublic,
                Vec::new(),
                Confidence::High,
                format!(
                    "administrative or database ports open to the whole internet: {}{}",
                    names.join(", "),
                    if sensitive.len() > 6 { ", …" } else { "" }
                ),
                format!(
                    "{name}: {what} exposes {} to the internet",
                    names.join(", ")
                ),
            ));
        }
        match rr.status {
            RuleStatus::Unobserved | RuleStatus::Unobservable => continue,
            RuleStatus::Unused => {
                let (conf, why) = unused_confidence(inv, &logged_ifaces, &group.group_id, window);
                let egress_all =
                    r.direction == RuleDirection::Egress && r.protocol == Protocol::All && world;
                out.push(mk(
                    if egress_all { Kind::TightenEgress } else { Kind::RemoveUnused },
                    Vec::new(),
                    conf,
                    format!("no accepted flow matched this rule on the {logged} logged interfaces of the group; {why}"),
                    format!("{name}: remove {} {what} (unused)", r.direction),
                ));
                continue;
            }
            RuleStatus::Used => {}
        }
        let hits = &rr.hits;
        let ports_used = hits.ports();
        let port_specs = narrowed_ports(r, &ports_used);
        // The rule cut down to the ports used (world-open or not; only the
        // reason's wording differs).
        let narrow_ports = |specs: &[(u16, u16)], reason: String| {
            mk(
                Kind::NarrowPorts,
                specs
                    .iter()
                    .map(|&(f, t)| spec(r, f, t, r.target.clone()))
                    .collect(),
                Confidence::Medium,
                reason,
                format!(
                    "{name}: narrow {what} to ports {}",
                    ports_label(&ports_used)
                ),
            )
        };
        // Allow-all egress: rebuild from what the interfaces initiated.
        if r.direction == RuleDirection::Egress && r.protocol == Protocol::All && world {
            let (proposed, public) = egress_proposal(inv, r, hits, s);
            let conf = if proposed.len() > 25 {
                Confidence::Low
            } else {
                Confidence::Medium
            };
            let list: Vec<String> = proposed.iter().take(6).map(spec_label).collect();
            out.push(mk(
                Kind::TightenEgress,
                proposed.clone(),
                conf,
                format!(
                    "egress initiated by the group's interfaces used {} destination services; responses to inbound traffic need no egress rule (groups are stateful){}",
                    hits.by_service.len() + hits.many.len(),
                    public_reason(&public)
                ),
                format!("{name}: replace allow-all egress with {} rule(s): {}{}", proposed.len(), list.join("; "), if proposed.len() > 6 { "; …" } else { "" }),
            ));
            if let Some(last) = out.last_mut() {
                last.evidence.public_destinations = public;
            }
            continue;
        }
        let RuleTarget::Cidr(net) = &r.target else {
            // Group and prefix-list targets: only ports can narrow.
            if let Some(specs) = port_specs {
                let proposed: Vec<RuleSpec> = specs
                    .iter()
                    .map(|&(f, t)| spec(r, f, t, r.target.clone()))
                    .collect();
                out.push(mk(
                    Kind::NarrowPorts,
                    proposed.clone(),
                    Confidence::Medium,
                    format!(
                        "only ports {} of {} were used",
                        ports_label(&ports_used),
                        rule_ports(r)
                    ),
                    format!(
                        "{name}: narrow {what} to {}",
                        proposed
                            .iter()
                            .map(spec_label)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            continue;
        };
        let peers = hits.peers();
        let public: Vec<&IpAddr> = peers
            .keys()
            .filter(|ip| inv.groups_of_addr(**ip).is_empty())
            .collect();
        if world && (hits.has_many() || public.len() >= s.public_peers) {
            out.push(mk(
                Kind::ReviewPublic,
                Vec::new(),
                Confidence::High,
                format!(
                    "real public traffic: {}{} distinct addresses without a security group of ours; keep the rule",
                    if hits.has_many() { "more than " } else { "" },
                    public.len().max(if hits.has_many() { crate::aggregate::peers::EXACT_PEERS } else { 0 })
                ),
                format!("{name}: keep {what}: it serves the internet"),
            ));
            if let Some(specs) = &port_specs {
                out.push(narrow_ports(
                    specs,
                    format!("only ports {} were used", ports_label(&ports_used)),
                ));
            }
            continue;
        }
        if hits.has_many() {
            continue; // too many peers to narrow a non-world rule safely
        }
        let port_ranges = port_specs
            .clone()
            .unwrap_or_else(|| vec![(r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535))]);
        let t = targets_for(inv, &peers, false, Some(net), s);
        // Groups plus the whole internet again is no tightening: narrow ports instead.
        let group_and_world = t.world && world;
        if !t.groups.is_empty() && !group_and_world {
            // Peers are interfaces of a few groups (plus, perhaps, a few
            // addresses of our own): reference the groups.
            let mut proposed = Vec::new();
            for target in t.all() {
                for &(f, to) in &port_ranges {
                    proposed.push(spec(r, f, to, target.clone()));
                }
            }
            let labels: Vec<String> = t.groups.iter().map(|g| group_label(inv, g)).collect();
            let extra = if t.cidrs.is_empty() {
                String::new()
            } else {
                format!(
                    " and {}",
                    t.cidrs
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let conf = if hits.flows >= 50 && logged == n_if && t.cidrs.is_empty() {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(mk(
                Kind::ReplaceCidrWithGroup,
                proposed,
                conf,
                format!(
                    "{} of the {} peers are interfaces of {}; a group reference follows them as they scale and admits nobody else",
                    t.grouped_peers,
                    peers.len(),
                    labels.join(" and ")
                ),
                format!(
                    "{name}: allow {} {} {}{} instead of {}",
                    port_label(r, &port_ranges),
                    if r.direction == RuleDirection::Ingress { "from" } else { "to" },
                    labels.join(" and "),
                    extra,
                    net
                ),
            ));
            attach_public(&mut out, &t.public);
            continue;
        }
        // Otherwise: the smallest covering prefixes, when much narrower.
        if !t.cidrs.is_empty() && !t.world && cidr::share_of(&t.cidrs, net) <= 0.25 {
            let mut proposed = Vec::new();
            for n in &t.cidrs {
                for &(f, to) in &port_ranges {
                    proposed.push(spec(r, f, to, RuleTarget::Cidr(*n)));
                }
            }
            let nets: Vec<String> = t.cidrs.iter().map(|n| n.to_string()).collect();
            out.push(mk(
                Kind::NarrowCidr,
                proposed,
                Confidence::Medium,
                format!(
                    "the {} peers fit in {}{}",
                    peers.len(),
                    nets.join(", "),
                    public_reason(&t.public)
                ),
                format!("{name}: narrow {what} to {}", nets.join(", ")),
            ));
            attach_public(&mut out, &t.public);
            continue;
        }
        if let Some(specs) = &port_specs {
            out.push(narrow_ports(
                specs,
                format!(
                    "only ports {} of {} were used",
                    ports_label(&ports_used),
                    rule_ports(r)
                ),
            ));
        }
    }
    // Confidence knows how much was seen.
    for rec in out.iter_mut().filter(|r| r.kind.changes_rules()) {
        let group = &inv.groups[rec.group_index].group_id;
        let skipdata: u64 = inv
            .interfaces_with_group(group)
            .filter_map(|i| logged_ifaces.get(i.id.as_str()))
            .map(|s| s.skipdata)
            .sum();
        if let Some((cap, why)) = coverage_cap(rec.kind, window, skipdata) {
            if rec.confidence > cap {
                rec.confidence = cap;
                rec.reason
                    .push_str(&format!("; confidence at most {}: {why}", cap.as_str()));
            }
        }
    }
    out.retain(|r| !r.kind.changes_rules() || !frozen.contains(&(r.group_index, r.rule_index)));
    out.sort_by(|a, b| {
        (a.group_index, a.rule_index, a.kind).cmp(&(b.group_index, b.rule_index, b.kind))
    });
    dedupe(&mut out);
    out
}

/// Says which public peers were not pinned, and through what the pinned ones are allowed.
fn public_reason(public: &[destinations::PublicDestination]) -> String {
    if public.is_empty() {
        return String::new();
    }
    let world: Vec<&str> = public
        .iter()
        .filter(|p| p.allowed_as.ends_with("/0"))
        .map(|p| p.address.as_str())
        .collect();
    let pinned: Vec<String> = public
        .iter()
        .filter(|p| !p.allowed_as.ends_with("/0"))
        .map(|p| match &p.aws_service {
            Some(svc) => format!("{} (AWS {svc}) through {}", p.address, p.allowed_as),
            None => format!("{} through {}", p.address, p.allowed_as),
        })
        .collect();
    let mut out = String::new();
    if !world.is_empty() {
        let shown: Vec<&str> = world.iter().take(4).copied().collect();
        out.push_str(&format!(
            "; {} public destination(s) ({}{}) are not pinned: addresses of third-party and AWS services change, \
             so they are allowed by port to the internet (declare stable ranges with --stable-cidrs, \
             AWS ranges with --aws-ip-ranges and --aws-prefix-lists)",
            world.len(),
            shown.join(", "),
            if world.len() > 4 { ", …" } else { "" }
        ));
    }
    if !pinned.is_empty() {
        out.push_str(&format!(
            "; public destinations in stable ranges: {}",
            pinned.join(", ")
        ));
    }
    out
}

fn attach_public(out: &mut [Recommendation], public: &[destinations::PublicDestination]) {
    if let Some(last) = out.last_mut() {
        last.evidence.public_destinations = public.to_vec();
    }
}

/// Two rules of one group used by the same flows (catalog's `8080 from
/// 0.0.0.0/0` and `8080-8090 from 10.0.0.0/16`) would both be replaced by
/// the same rule; EC2 rejects duplicate permissions, so the later one's
/// duplicates are dropped: the earlier replacement covers its flows.
fn dedupe(recs: &mut [Recommendation]) {
    let key = |gi: usize, d: RuleDirection, p: &RuleSpec| {
        (
            gi,
            d,
            p.protocol,
            p.from_port,
            p.to_port,
            p.target.to_string(),
        )
    };
    let mut seen = BTreeSet::new();
    let mut changed_rules = BTreeSet::new();
    for rec in recs.iter_mut().filter(|r| r.kind.changes_rules()) {
        if !changed_rules.insert((rec.group_index, rec.rule_index)) {
            continue; // only the first change of a rule is applied
        }
        let before = rec.proposed.len();
        let (gi, d) = (rec.group_index, rec.rule.direction);
        rec.proposed.retain(|p| seen.insert(key(gi, d, p)));
        if rec.proposed.len() < before {
            rec.reason.push_str(&format!(
                "; {} of the {} replacement rules are already proposed for another rule of this group",
                before - rec.proposed.len(),
                before
            ));
            if rec.proposed.is_empty() {
                rec.headline.push_str(" (redundant: remove it)");
            }
        }
    }
}

fn spec(r: &Rule, from: u16, to: u16, target: RuleTarget) -> RuleSpec {
    let (from_port, to_port) = if r.protocol.has_ports() {
        (Some(from), Some(to))
    } else if r.protocol.is_icmp() {
        (r.icmp_type.map(u16::from), r.icmp_code.map(u16::from))
    } else {
        (None, None)
    };
    RuleSpec {
        protocol: r.protocol,
        from_port,
        to_port,
        target,
        description: Some(format!(
            "flowscope: {}",
            r.description.clone().unwrap_or_else(|| "tightened".into())
        )),
    }
}

/// The used ports as ranges, when a tcp/udp rule's range is wider.
fn narrowed_ports(r: &Rule, used: &BTreeSet<u16>) -> Option<Vec<(u16, u16)>> {
    if !r.protocol.has_ports() || used.is_empty() {
        return None;
    }
    let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
    if f == t {
        return None;
    }
    let v: Vec<u16> = used.iter().copied().collect();
    let ranges = cidr::port_ranges(&v, 3);
    let width: u32 = ranges.iter().map(|(a, b)| (*b - *a) as u32 + 1).sum();
    if width < (t - f) as u32 + 1 {
        Some(ranges)
    } else {
        None
    }
}
