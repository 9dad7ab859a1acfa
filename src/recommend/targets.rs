//! Where a narrowed rule should point: groups of ours, covering prefixes,
//! or the world on one service.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::{cidr, PeerHit, RuleHits, Service, Settings};
use crate::flowlog::record::has_ports;
use crate::inventory::{Inventory, Protocol, Rule, RuleSpec, RuleTarget};

/// Where a rule should point: groups of ours, prefixes, or (for public
/// traffic) the whole internet per address family.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    pub groups: Vec<String>,
    pub cidrs: Vec<IpNet>,
    pub world: bool,
    pub grouped_peers: usize,
}

impl Targets {
    pub fn all(&self) -> Vec<RuleTarget> {
        self.groups
            .iter()
            .map(|g| RuleTarget::Group {
                group_id: g.clone(),
                user_id: None,
            })
            .chain(self.cidrs.iter().map(|n| RuleTarget::Cidr(*n)))
            .collect()
    }
}

/// The tightest targets admitting every peer: the peers' groups when a few
/// cover them; the other addresses as host prefixes when few, else as
/// covering prefixes inside `within`; public addresses too many or too
/// spread to list become 0.0.0.0/0 (or ::/0) on that service only.
pub(crate) fn targets_for(
    inv: &Inventory,
    peers: &BTreeMap<IpAddr, PeerHit>,
    many: bool,
    within: Option<&IpNet>,
    s: &Settings,
) -> Targets {
    let world4: IpNet = "0.0.0.0/0".parse().expect("cidr");
    let world6: IpNet = "::/0".parse().expect("cidr");
    let mut t = Targets::default();
    if many {
        t.world = true;
        t.cidrs = vec![world4, world6];
        return t;
    }
    let grouped: BTreeMap<IpAddr, PeerHit> = peers
        .iter()
        .filter(|(ip, _)| !inv.groups_of_addr(**ip).is_empty())
        .map(|(a, h)| (*a, *h))
        .collect();
    let mut rest: Vec<IpAddr> = peers
        .keys()
        .filter(|ip| !grouped.contains_key(ip))
        .copied()
        .collect();
    if !grouped.is_empty() {
        match cover_groups(inv, &grouped, s.max_groups) {
            Some(gs) => {
                t.groups = gs;
                t.grouped_peers = grouped.len();
            }
            None => rest.extend(grouped.keys().copied()),
        }
    }
    rest.sort();
    if rest.is_empty() {
        return t;
    }
    let public = rest.iter().filter(|ip| !is_private(ip)).count();
    if rest.len() <= s.max_hosts {
        t.cidrs = rest.iter().map(|ip| IpNet::from(*ip)).collect();
    } else if public >= s.public_peers / 2 && within.is_none_or(|w| w.prefix_len() == 0) {
        t.world = true;
        if rest.iter().any(|a| a.is_ipv4()) {
            t.cidrs.push(world4);
        }
        if rest.iter().any(|a| a.is_ipv6()) {
            t.cidrs.push(world6);
        }
    } else {
        let cover = cidr::cover(&rest, s.max_prefixes, within);
        let too_wide = cover.iter().any(|n| match n {
            IpNet::V4(x) => x.prefix_len() < 16,
            IpNet::V6(x) => x.prefix_len() < 48,
        });
        if too_wide && within.is_none_or(|w| w.prefix_len() == 0) {
            t.world = true;
            if rest.iter().any(|a| a.is_ipv4()) {
                t.cidrs.push(world4);
            }
            if rest.iter().any(|a| a.is_ipv6()) {
                t.cidrs.push(world6);
            }
        } else {
            t.cidrs = cover;
        }
    }
    t
}

/// RFC 1918, unique-local and link-local addresses.
fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private() || a.is_link_local() || a.is_loopback(),
        IpAddr::V6(a) => {
            (a.segments()[0] & 0xfe00) == 0xfc00 || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The fewest groups (at most `max`) whose interfaces hold every peer.
fn cover_groups(
    inv: &Inventory,
    peers: &BTreeMap<IpAddr, PeerHit>,
    max: usize,
) -> Option<Vec<String>> {
    let mut left: BTreeSet<IpAddr> = peers.keys().copied().collect();
    let mut chosen = Vec::new();
    while !left.is_empty() {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for ip in &left {
            for g in inv.groups_of_addr(*ip) {
                *count.entry(g.as_str()).or_default() += 1;
            }
        }
        let (best, _) = count
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        let best = best.to_string();
        left.retain(|ip| !inv.groups_of_addr(*ip).contains(&best));
        chosen.push(best);
        if chosen.len() > max {
            return None;
        }
    }
    Some(chosen)
}

/// Egress rules that admit exactly what was initiated: per service, the
/// peers' groups when all are ours, else covering prefixes, else the world
/// on that port only.
pub(crate) fn egress_proposal(
    inv: &Inventory,
    r: &Rule,
    hits: &RuleHits,
    s: &Settings,
) -> Vec<RuleSpec> {
    let mut out: Vec<RuleSpec> = Vec::new();
    let services: BTreeSet<Service> = hits
        .by_service
        .keys()
        .chain(hits.many.keys())
        .copied()
        .collect();
    for svc in services {
        let (proto, port) = svc;
        let protocol = Protocol::Number(proto);
        let (from, to) = if has_ports(proto) {
            (port, port)
        } else {
            (None, None)
        };
        let peers = hits.by_service.get(&svc).cloned().unwrap_or_default();
        let many = hits.many.contains_key(&svc);
        let within = if let RuleTarget::Cidr(n) = &r.target {
            Some(*n)
        } else {
            None
        };
        let targets = targets_for(inv, &peers, many, within.as_ref(), s).all();
        for t in targets {
            let sp = RuleSpec {
                protocol,
                from_port: from,
                to_port: to,
                target: t,
                description: Some("flowscope: observed egress".into()),
            };
            if !out.contains(&sp) {
                out.push(sp);
            }
        }
    }
    // Portless protocols other than ICMP need protocol-wide rules.
    for sp in out.iter_mut() {
        if !sp.protocol.has_ports() {
            sp.from_port = None;
            sp.to_port = None;
        }
    }
    out
}
