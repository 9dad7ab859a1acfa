//! The numbers behind a recommendation, and how sure an "unused" is.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{Confidence, Evidence, Kind, PeerEvidence, PeerHit, RuleReport};
use crate::aggregate::InterfaceSummary;
use crate::inventory::Inventory;

pub(crate) fn unused_confidence(
    inv: &Inventory,
    logged: &HashMap<&str, &InterfaceSummary>,
    group_id: &str,
    window: Option<(u64, u64)>,
) -> (Confidence, String) {
    let span = window.map(|(a, b)| b.saturating_sub(a)).unwrap_or(0);
    let mut skip = 0;
    let mut activity = 0;
    for i in inv.interfaces_with_group(group_id) {
        if let Some(s) = logged.get(i.id.as_str()) {
            skip += s.skipdata;
            activity += s.records;
        }
    }
    let days = span as f64 / 86400.0;
    let window_text = if days >= 1.0 {
        format!("{days:.1} days")
    } else {
        format!("{:.1} hours", span as f64 / 3600.0)
    };
    if skip > 0 {
        return (
            Confidence::Low,
            format!("{skip} SKIPDATA records on its interfaces: some flows were not logged"),
        );
    }
    if days >= 14.0 {
        (Confidence::High, format!("{window_text} of logs"))
    } else if days >= 1.0 || (span >= 6 * 3600 && activity >= 1000) {
        (Confidence::Medium, format!("{window_text} of logs with {activity} records on its interfaces; a rarely used path (monthly jobs, failover) may not show in this window"))
    } else {
        (
            Confidence::Low,
            format!("only {window_text} of logs and {activity} records on its interfaces"),
        )
    }
}

pub(crate) fn evidence(
    inv: &Inventory,
    rr: &RuleReport,
    window: Option<(u64, u64)>,
    n_if: u64,
    logged: u64,
) -> Evidence {
    let peers = rr.hits.peers();
    let mut top: Vec<(&IpAddr, &PeerHit)> = peers.iter().collect();
    top.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
    let mut peer_groups: BTreeMap<String, u64> = BTreeMap::new();
    for ip in peers.keys() {
        for g in inv.groups_of_addr(*ip) {
            *peer_groups.entry(g.clone()).or_default() += 1;
        }
    }
    Evidence {
        flows: rr.hits.flows,
        bytes: rr.hits.bytes,
        peers: peers.len() as u64,
        peers_exact: !rr.hits.has_many(),
        top_peers: top
            .iter()
            .take(5)
            .map(|(ip, h)| {
                let iface = inv.interface_by_addr(**ip);
                PeerEvidence {
                    address: ip.to_string(),
                    interface_id: iface.map(|i| i.id.clone()),
                    role: iface.map(|i| i.kind.label().to_string()),
                    groups: inv.groups_of_addr(**ip).to_vec(),
                    flows: h.flows,
                    bytes: h.bytes,
                }
            })
            .collect(),
        peer_groups,
        ports: rr.hits.ports().into_iter().collect(),
        first_seen: rr.hits.first_seen,
        last_seen: rr.hits.last_seen,
        window_start: window.map(|w| w.0),
        window_end: window.map(|w| w.1),
        interfaces: n_if,
        interfaces_logged: logged,
        public_destinations: Vec::new(),
    }
}

/// The highest confidence a change may have given how much was seen: the window's length (a
/// weekly job needs a week of logs to show, a monthly one a month) and SKIPDATA on the group's
/// interfaces (flows were lost). Allow-all egress is rebuilt from what was seen, so it needs
/// more: a destination missing from the window is denied after the change.
pub(crate) fn coverage_cap(
    kind: Kind,
    window: Option<(u64, u64)>,
    skipdata: u64,
) -> Option<(Confidence, String)> {
    let span = window.map(|(a, b)| b.saturating_sub(a)).unwrap_or(0);
    let days = span as f64 / 86400.0;
    let seen = if days >= 1.0 {
        format!("{days:.1} days of logs")
    } else {
        format!("only {:.1} hours of logs", span as f64 / 3600.0)
    };
    let egress = kind == Kind::TightenEgress;
    let (mut cap, mut why) = if days >= 30.0 {
        (Confidence::High, String::new())
    } else if days >= 7.0 {
        (
            if egress {
                Confidence::Medium
            } else {
                Confidence::High
            },
            format!("{seen}: a monthly job may not show"),
        )
    } else if days >= 1.0 {
        (
            if egress {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            format!("{seen}: weekly and monthly jobs may not show"),
        )
    } else {
        (
            if egress {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            format!("{seen}: nightly batches, weekly and monthly jobs may not show"),
        )
    };
    if skipdata > 0 {
        cap = cap.min(if egress {
            Confidence::Low
        } else {
            Confidence::Medium
        });
        if !why.is_empty() {
            why.push_str("; ");
        }
        why.push_str(&format!(
            "{skipdata} SKIPDATA records on the group's interfaces: some flows were not logged"
        ));
    }
    (cap < Confidence::High || !why.is_empty()).then_some((cap, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_caps_follow_the_window_and_skipdata() {
        let days = |d: u64| Some((0, d * 86400));
        let cap = |k, w, s| coverage_cap(k, w, s).map(|c| c.0);
        let (egress, group) = (Kind::TightenEgress, Kind::ReplaceCidrWithGroup);
        assert_eq!(cap(group, Some((0, 6 * 3600)), 0), Some(Confidence::Medium));
        assert_eq!(cap(egress, Some((0, 6 * 3600)), 0), Some(Confidence::Low));
        assert_eq!(cap(group, days(3), 0), Some(Confidence::Medium));
        assert_eq!(cap(group, days(8), 0), Some(Confidence::High));
        assert_eq!(cap(egress, days(8), 0), Some(Confidence::Medium));
        assert_eq!(cap(group, days(31), 0), None);
        assert_eq!(cap(group, days(31), 2), Some(Confidence::Medium));
        let why = coverage_cap(egress, days(8), 0).unwrap().1;
        assert!(why.contains("8.0 days") && why.contains("monthly"), "{why}");
    }
}
