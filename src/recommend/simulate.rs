//! Step 3: apply the proposals to a copy of the groups and check every accepted flow again.
//!
//! A flow some rule visibly admitted must still be admitted by a rule after the changes. A
//! flow that could not be attributed (a rule may admit it but cannot be evaluated) must keep
//! every rule that may admit it unchanged. Anything else is a violation, and names the rules
//! whose change causes it so that [`super::analyse`] can withdraw those changes.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use super::attribute::verdict;
use super::{Recommendation, Safety};
use crate::aggregate::{Direction, Summary};
use crate::flowlog::record::Action;
use crate::inventory::{Inventory, Rule, RuleDirection, RuleSpec};
use crate::matching::Match;

/// An accepted flow the changes would deny (or might, for an unattributed one).
#[derive(Debug, Clone)]
pub(crate) struct Violation {
    pub text: String,
    /// (group index, rule index) of the changed rules that admitted (or may admit) it.
    pub rules: Vec<(usize, usize)>,
}

/// The groups' rules after applying every rule-changing recommendation.
pub fn applied_rules(inv: &Inventory, recs: &[Recommendation]) -> Vec<Vec<Rule>> {
    let mut out: Vec<Vec<Rule>> = inv.groups.iter().map(|g| g.rules.clone()).collect();
    let mut removed: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut added: Vec<(usize, Rule)> = Vec::new();
    for rec in recs.iter().filter(|r| r.kind.changes_rules()) {
        if !removed.insert((rec.group_index, rec.rule_index)) {
            continue; // one change per rule: the first (by kind order)
        }
        for p in &rec.proposed {
            added.push((rec.group_index, rule_from_spec(&rec.rule, p)));
        }
    }
    for (gi, rules) in out.iter_mut().enumerate() {
        let mut keep = Vec::new();
        for (ri, r) in rules.drain(..).enumerate() {
            if !removed.contains(&(gi, ri)) {
                keep.push(r);
            }
        }
        *rules = keep;
    }
    for (gi, r) in added {
        if !out[gi].contains(&r) {
            out[gi].push(r);
        }
    }
    out
}

/// An inventory rule from a proposed spec, in the same group and direction.
pub fn rule_from_spec(base: &Rule, s: &RuleSpec) -> Rule {
    let icmp = s.protocol.is_icmp();
    Rule {
        group_id: base.group_id.clone(),
        direction: base.direction,
        protocol: s.protocol,
        from_port: if icmp { None } else { s.from_port },
        to_port: if icmp { None } else { s.to_port },
        icmp_type: if icmp {
            s.from_port.map(|v| v as u8)
        } else {
            None
        },
        icmp_code: if icmp {
            s.to_port.map(|v| v as u8)
        } else {
            None
        },
        target: s.target.clone(),
        description: s.description.clone(),
        rule_id: None,
    }
}

/// Step 3: every accepted flow of known direction that the current rules admit must still be
/// admitted after the changes; every one they may admit must keep the rules that may.
pub fn simulate(inv: &Inventory, summary: &Summary, recs: &[Recommendation]) -> Safety {
    check(inv, summary, recs).0
}

/// [`simulate`], with the violations and the rules whose change causes each.
pub(crate) fn check(
    inv: &Inventory,
    summary: &Summary,
    recs: &[Recommendation],
) -> (Safety, Vec<Violation>) {
    let after = applied_rules(inv, recs);
    let pos: HashMap<&str, usize> = inv
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.group_id.as_str(), i))
        .collect();
    let mut safety = Safety::default();
    let mut violations = Vec::new();
    for row in summary.rows.iter().filter(|r| r.action == Action::Accept) {
        let dir = match row.direction {
            Direction::Ingress => RuleDirection::Ingress,
            Direction::Egress => RuleDirection::Egress,
            Direction::Unknown => continue,
        };
        let Some(iface) = row.interface_id.as_deref().and_then(|id| inv.interface(id)) else {
            continue;
        };
        let gis: Vec<usize> = iface
            .group_ids
            .iter()
            .filter_map(|g| pos.get(g.as_str()).copied())
            .collect();
        if gis.is_empty() {
            continue;
        }
        let peers: Vec<(Option<IpAddr>, u64)> = match row.peers.exact() {
            Some(peers) => peers
                .into_iter()
                .map(|(ip, s)| (Some(ip.to_ip_addr()), s.flows))
                .collect(),
            None => vec![(None, row.flows)],
        };
        for (peer, flows) in peers {
            let judge = |r: &Rule, gi: usize| {
                if r.direction != dir {
                    return Match::No;
                }
                let owner = inv.groups[gi].owner_id.as_deref();
                verdict(inv, r, owner, row.protocol, row.port, peer)
            };
            let mut admitted = Vec::new();
            let mut maybe = Vec::new();
            for &gi in &gis {
                for (ri, r) in inv.groups[gi].rules.iter().enumerate() {
                    match judge(r, gi) {
                        Match::Yes => admitted.push((gi, ri)),
                        Match::Unresolvable => maybe.push((gi, ri)),
                        Match::No => {}
                    }
                }
            }
            let still_admitted = || {
                gis.iter()
                    .any(|&gi| after[gi].iter().any(|r| judge(r, gi) == Match::Yes))
            };
            let what = || {
                format!(
                    "{} {} {} {} {}",
                    iface.id,
                    row.direction.as_str(),
                    row.protocol,
                    row.port.map_or_else(|| "-".into(), |p| p.to_string()),
                    peer.map_or_else(|| "(many peers)".into(), |p| format!("peer {p}")),
                )
            };
            if !admitted.is_empty() {
                safety.checked_flows += flows;
                safety.checked_peers += u64::from(peer.is_some());
                if !still_admitted() {
                    violations.push(Violation {
                        text: format!("{}: {flows} accepted flows would be denied", what()),
                        rules: admitted,
                    });
                }
            } else if !maybe.is_empty() {
                safety.unattributed_flows += flows;
                let changed: Vec<(usize, usize)> = maybe
                    .into_iter()
                    .filter(|&(gi, ri)| !after[gi].contains(&inv.groups[gi].rules[ri]))
                    .collect();
                if !changed.is_empty() && !still_admitted() {
                    violations.push(Violation {
                        text: format!(
                            "{}: {flows} accepted flows no rule could be shown to admit may be denied",
                            what()
                        ),
                        rules: changed,
                    });
                }
            }
        }
    }
    safety.violations = violations.iter().map(|v| v.text.clone()).collect();
    (safety, violations)
}
