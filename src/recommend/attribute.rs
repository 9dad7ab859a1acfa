//! Step 1: accepted flows to the rules that admitted them.
//!
//! Each accepted flow of known direction is matched, peer by peer, against the rules of its
//! interface's groups; every rule that admits it gets the hit (groups are a union). A flow no
//! rule visibly admits is either *unattributed* (some rule may admit it but cannot be
//! evaluated: a prefix list without entries, a group of another account, or a row with too
//! many peers to list) or *unexplained* (no rule can admit it: the inventory is out of date,
//! or the groups do not filter it).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use super::{
    is_world, rule_ports, Analysis, PeerHit, RejectedOpen, RuleHits, RuleReport, RuleStatus,
    Safety, Service, Unattributed, Unexplained, UnknownInterface,
};
use crate::aggregate::{Direction, InterfaceSummary, Summary};
use crate::flowlog::record::Action;
use crate::inventory::{InterfaceKind, Inventory, Rule, RuleDirection};
use crate::matching::{protocol_allows, rule_allows, Match};

/// Does `rule`, of a group owned by `owner`, admit the flow? `peer` is `None` for a row with
/// too many peers to list: only a world-open rule surely admits all of them, any other rule
/// of the right protocol and port may. A rule whose source the inventory cannot evaluate
/// ([`Inventory::can_evaluate`]) never answers `No`: its members are unknown.
pub(crate) fn verdict(
    inv: &Inventory,
    rule: &Rule,
    owner: Option<&str>,
    protocol: u8,
    port: Option<u16>,
    peer: Option<IpAddr>,
) -> Match {
    if !protocol_allows(rule, protocol, port) {
        return Match::No;
    }
    let Some(peer) = peer else {
        return if is_world(&rule.target) {
            Match::Yes
        } else {
            Match::Unresolvable
        };
    };
    match rule_allows(
        rule,
        protocol,
        port,
        peer,
        inv.groups_of_addr(peer),
        &inv.prefix_lists,
    ) {
        Match::No if !inv.can_evaluate(&rule.target, owner) => Match::Unresolvable,
        m => m,
    }
}

/// (interfaces with the group, how many of them appear in the logs), per group index.
/// Built once: per rule it would be O(rules × interfaces).
pub(crate) fn group_interfaces(inv: &Inventory, summary: &Summary) -> Vec<(u64, u64)> {
    let logged: HashSet<&str> = summary
        .interfaces
        .iter()
        .filter_map(|s| s.interface_id.as_deref())
        .collect();
    inv.groups
        .iter()
        .map(|g| {
            inv.interfaces_with_group(&g.group_id)
                .fold((0, 0), |(n, l), i| {
                    (n + 1, l + u64::from(logged.contains(i.id.as_str())))
                })
        })
        .collect()
}

/// What the logs say about each interface, by id.
pub(crate) fn logged_interfaces(summary: &Summary) -> HashMap<&str, &InterfaceSummary> {
    summary
        .interfaces
        .iter()
        .filter_map(|s| s.interface_id.as_deref().map(|id| (id, s)))
        .collect()
}

/// (interface, direction, protocol, port, peer) of traffic no rule visibly admits.
type FlowKey = (String, &'static str, u8, Option<u16>, Option<IpAddr>);

/// Step 1: flows to rules.
pub fn attribute(inv: &Inventory, summary: &Summary) -> Analysis {
    let mut rules: Vec<RuleReport> = Vec::new();
    let mut index: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (gi, g) in inv.groups.iter().enumerate() {
        for (ri, r) in g.rules.iter().enumerate() {
            index.insert((gi, ri), rules.len());
            rules.push(RuleReport {
                group_index: gi,
                rule_index: ri,
                rule: r.clone(),
                hits: RuleHits::default(),
                status: RuleStatus::Unobserved,
            });
        }
    }
    let group_pos: HashMap<&str, usize> = inv
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.group_id.as_str(), i))
        .collect();
    let mut unexplained: BTreeMap<FlowKey, PeerHit> = BTreeMap::new();
    let mut unattributed: BTreeMap<FlowKey, (PeerHit, BTreeSet<usize>)> = BTreeMap::new();
    let mut rejected_open = Vec::new();
    let mut unknown: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut unknown_direction_flows = 0;
    for row in &summary.rows {
        let Some(id) = row.interface_id.as_deref() else {
            continue;
        };
        let Some(iface) = inv.interface(id) else {
            let e = unknown.entry(id.to_string()).or_default();
            e.0 += row.flows;
            e.1 += row.bytes;
            continue;
        };
        if iface.kind == InterfaceKind::NatGateway && iface.group_ids.is_empty() {
            continue; // no security groups: NACLs only
        }
        let dir = match row.direction {
            Direction::Ingress => RuleDirection::Ingress,
            Direction::Egress => RuleDirection::Egress,
            Direction::Unknown => {
                unknown_direction_flows += row.flows;
                continue;
            }
        };
        let groups: Vec<usize> = iface
            .group_ids
            .iter()
            .filter_map(|g| group_pos.get(g.as_str()).copied())
            .collect();
        let svc: Service = (row.protocol, row.port);
        let span = (row.first_seen, row.last_seen);
        if row.action == Action::Reject {
            // A folded row (rejected probes of rarely hit ports, past the
            // aggregator's budget) has no one port: it cannot be said to
            // have hit an open rule, and `port: None` would read as "any".
            if dir == RuleDirection::Ingress && row.ports_folded.is_none() {
                let open: Vec<String> = groups
                    .iter()
                    .flat_map(|&gi| inv.groups[gi].rules.iter())
                    .filter(|r| r.direction == dir && protocol_allows(r, row.protocol, row.port))
                    .map(|r| format!("{} {} from {}", r.group_id, rule_ports(r), r.target))
                    .collect();
                if !open.is_empty() {
                    rejected_open.push(RejectedOpen {
                        interface_id: id.to_string(),
                        protocol: row.protocol,
                        port: row.port,
                        flows: row.flows,
                        peers: row.peers.count(),
                        top_peers: row
                            .peers
                            .top(5)
                            .iter()
                            .map(|(ip, _)| ip.to_string())
                            .collect(),
                        rules: open,
                    });
                }
            }
            continue;
        }
        if row.action != Action::Accept {
            continue;
        }
        // Exact peers one by one; past the exact cap, the row as one unknown peer.
        let peers: Vec<(Option<IpAddr>, u64, u64)> = match row.peers.exact() {
            Some(peers) => peers
                .into_iter()
                .map(|(ip, s)| (Some(ip.to_ip_addr()), s.flows, s.bytes))
                .collect(),
            None => vec![(None, row.flows, row.bytes)],
        };
        for (peer, flows, bytes) in peers {
            let mut hit = false;
            let mut maybe = BTreeSet::new();
            for &gi in &groups {
                let g = &inv.groups[gi];
                for (ri, r) in g.rules.iter().enumerate() {
                    if r.direction != dir {
                        continue;
                    }
                    match verdict(inv, r, g.owner_id.as_deref(), row.protocol, row.port, peer) {
                        Match::Yes => {
                            hit = true;
                            let rr = &mut rules[index[&(gi, ri)]];
                            rr.hits.add(svc, peer, flows, bytes, span);
                            rr.hits.interfaces.insert(id.to_string());
                        }
                        Match::Unresolvable => {
                            maybe.insert(index[&(gi, ri)]);
                        }
                        Match::No => {}
                    }
                }
            }
            if hit {
                continue;
            }
            let key = (
                id.to_string(),
                row.direction.as_str(),
                row.protocol,
                row.port,
                peer,
            );
            if maybe.is_empty() {
                let e = unexplained.entry(key).or_default();
                e.flows += flows;
                e.bytes = e.bytes.saturating_add(bytes);
            } else {
                for &i in &maybe {
                    rules[i].hits.unattributed_flows += flows;
                }
                let e = unattributed.entry(key).or_default();
                e.0.flows += flows;
                e.0.bytes = e.0.bytes.saturating_add(bytes);
                e.1.extend(maybe);
            }
        }
    }
    // Status: unobservable, used, unused (its interfaces were logged), or unobserved.
    let seen = group_interfaces(inv, summary);
    for rr in rules.iter_mut() {
        let g = &inv.groups[rr.group_index];
        let evaluable = inv.can_evaluate(&rr.rule.target, g.owner_id.as_deref());
        rr.status = if !evaluable || (rr.hits.flows == 0 && rr.hits.unattributed_flows > 0) {
            RuleStatus::Unobservable
        } else if rr.hits.flows > 0 {
            RuleStatus::Used
        } else if seen[rr.group_index].1 > 0 {
            RuleStatus::Unused
        } else {
            RuleStatus::Unobserved
        };
    }
    let unexplained_flows = unexplained.values().map(|h| h.flows).sum();
    let mut unexplained: Vec<Unexplained> = unexplained
        .into_iter()
        .map(
            |((interface_id, direction, protocol, port, peer), h)| Unexplained {
                interface_id,
                direction,
                protocol,
                port,
                peer: peer.map(|p| p.to_string()),
                flows: h.flows,
                bytes: h.bytes,
            },
        )
        .collect();
    unexplained.sort_by(|a, b| {
        b.flows
            .cmp(&a.flows)
            .then(a.interface_id.cmp(&b.interface_id))
    });
    let unattributed_flows = unattributed.values().map(|(h, _)| h.flows).sum();
    let mut unattributed: Vec<Unattributed> = unattributed
        .into_iter()
        .map(
            |((interface_id, direction, protocol, port, peer), (h, maybe))| Unattributed {
                interface_id,
                direction,
                protocol,
                port,
                peer: peer.map(|p| p.to_string()),
                flows: h.flows,
                bytes: h.bytes,
                rules: maybe
                    .into_iter()
                    .map(|i| {
                        let r = &rules[i].rule;
                        format!("{} {} {}", r.group_id, rule_ports(r), r.target)
                    })
                    .collect(),
            },
        )
        .collect();
    unattributed.sort_by(|a, b| {
        b.flows
            .cmp(&a.flows)
            .then(a.interface_id.cmp(&b.interface_id))
    });
    Analysis {
        rules,
        recommendations: Vec::new(),
        group_findings: Vec::new(),
        unexplained,
        unexplained_flows,
        unattributed,
        unattributed_flows,
        rejected_open,
        unknown_interfaces: unknown
            .into_iter()
            .map(|(interface_id, (flows, bytes))| UnknownInterface {
                interface_id,
                flows,
                bytes,
            })
            .collect(),
        unknown_direction_flows,
        safety: Safety::default(),
        window: summary.window,
    }
}
