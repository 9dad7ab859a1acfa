//! Where a narrowed rule should point: groups of ours, covering prefixes,
//! or the world on one service.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::destinations::{PublicDestination, Stable};
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
    /// AWS-managed prefix lists holding public peers.
    pub lists: Vec<String>,
    /// How each public peer is allowed, and why (evidence).
    pub public: Vec<PublicDestination>,
}

impl Targets {
    pub fn all(&self) -> Vec<RuleTarget> {
        self.groups
            .iter()
            .map(|g| RuleTarget::Group {
                group_id: g.clone(),
                user_id: None,
            })
            .chain(self.lists.iter().map(|l| RuleTarget::PrefixList(l.clone())))
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
    let open = within.is_none_or(|w| w.prefix_len() == 0);
    if open {
        // Public addresses are pinned only through a range that stays put; the rest of the
        // world is allowed on this service alone (see `destinations`).
        let public: Vec<IpAddr> = rest.iter().copied().filter(|ip| !is_private(ip)).collect();
        if !public.is_empty() {
            rest.retain(is_private);
            public_targets(&mut t, &public, s);
        }
        if rest.is_empty() {
            return t;
        }
    }
    if rest.len() <= s.max_hosts {
        t.cidrs.extend(rest.iter().map(|ip| IpNet::from(*ip)));
    } else {
        let cover = cidr::cover(&rest, s.max_prefixes, within);
        let too_wide = cover.iter().any(|n| match n {
            IpNet::V4(x) => x.prefix_len() < 16,
            IpNet::V6(x) => x.prefix_len() < 48,
        });
        if too_wide && open {
            add_world(&mut t, &rest);
        } else {
            t.cidrs.extend(cover);
        }
    }
    t
}

fn add_world(t: &mut Targets, addrs: &[IpAddr]) {
    t.world = true;
    for (v4, net) in [(true, "0.0.0.0/0"), (false, "::/0")] {
        let net: IpNet = net.parse().expect("cidr");
        if addrs.iter().any(|a| a.is_ipv4() == v4) && !t.cidrs.contains(&net) {
            t.cidrs.push(net);
        }
    }
}

/// Public peers: through their declared, listed or published ranges when every one has one;
/// else the whole internet of their address family (on the rule's service only).
fn public_targets(t: &mut Targets, public: &[IpAddr], s: &Settings) {
    let stable: Vec<Option<Stable>> = public.iter().map(|ip| s.known.stable_target(*ip)).collect();
    let all_stable = stable.iter().all(Option::is_some);
    if !all_stable {
        add_world(t, public);
    }
    let third_party = stable.iter().filter(|x| x.is_none()).count();
    for (ip, st) in public.iter().zip(stable) {
        let aws = s.known.aws_range(*ip);
        // Named by ip-ranges.json, else by the flow logs (pkt-*-aws-service).
        let service = s.known.service_of(*ip).map(str::to_string);
        let from_logs = aws.is_none() && service.is_some();
        let world = if ip.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
        let (allowed_as, range, why) = match (&st, all_stable) {
            (Some(Stable::Declared(n)), true) => {
                push_unique(&mut t.cidrs, *n);
                (n.to_string(), Some(*n), "in a range declared stable (--stable-cidrs)".to_string())
            }
            (Some(Stable::List(id)), true) => {
                if !t.lists.contains(id) {
                    t.lists.push(id.clone());
                }
                let svc = service.clone().unwrap_or_else(|| "its service".to_string());
                (
                    id.clone(),
                    aws.map(|a| a.net),
                    format!(
                        "an AWS {svc} address{}: the AWS-managed prefix list follows the service's addresses",
                        if from_logs { " (named by the flow log)" } else { "" }
                    ),
                )
            }
            (Some(Stable::Published(n)), true) => {
                push_unique(&mut t.cidrs, *n);
                (
                    n.to_string(),
                    Some(*n),
                    "in a range AWS publishes (ip-ranges.json); no managed prefix list of the service was given".to_string(),
                )
            }
            (Some(_), false) => (
                world.to_string(),
                aws.map(|a| a.net),
                format!(
                    "in a stable or AWS range, but {third_party} other public destination(s) of this service are not: \
                     the service is allowed by port, not per address"
                ),
            ),
            (None, _) => match &service {
                Some(svc) => (
                    world.to_string(),
                    None,
                    format!(
                        "an AWS {svc} address (named by the flow log), in no range or prefix list given: \
                         its addresses change, so it is allowed by port, not pinned \
                         (--aws-prefix-lists names the service's managed prefix list)"
                    ),
                ),
                None => (
                    world.to_string(),
                    None,
                    "a third-party public address (in no stable or AWS range): it can change at any time, \
                     so it is allowed by port, not pinned"
                        .to_string(),
                ),
            },
        };
        t.public.push(PublicDestination {
            address: ip.to_string(),
            aws_service: service,
            aws_region: aws.map(|a| a.region.clone()),
            range: range.map(|n| n.to_string()),
            allowed_as,
            why,
        });
    }
}

fn push_unique(v: &mut Vec<IpNet>, n: IpNet) {
    if !v.contains(&n) {
        v.push(n);
    }
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
) -> (Vec<RuleSpec>, Vec<PublicDestination>) {
    let mut out: Vec<RuleSpec> = Vec::new();
    let mut public: Vec<PublicDestination> = Vec::new();
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
        let found = targets_for(inv, &peers, many, within.as_ref(), s);
        for p in &found.public {
            if !public.contains(p) {
                public.push(p.clone());
            }
        }
        for t in found.all() {
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
    (out, public)
}
