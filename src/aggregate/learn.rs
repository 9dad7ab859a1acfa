//! An interface's own addresses, learned from the records, per address
//! family.
//!
//! Every record of an interface has one of its own addresses on one side
//! (AWS writes the primary private IPv4 for traffic to a secondary one, and
//! the interface's own IPv6 address in IPv6 records): so an address in
//! nearly every record of a family is the interface's. The evidence is
//! exact counts, made at the end of the run: the records whose placement
//! proved the interface's side (`flow-direction`, a public peer), and the
//! unresolved cells (one side's address in the key, the other side's
//! among the peers). IPv4 and IPv6 are counted apart, so that a
//! dual-stack interface's IPv6 address is judged on its IPv6 records
//! alone. A NAT gateway's transit records (neither side its own) only
//! lower the share reported with the addresses.

use hashbrown::{HashMap, HashSet};

use super::cells::{family, Cell, EniStats};
use super::keys::{CellDir, CellKey};

use super::peers::{PeerSet, PeerStat};
use super::slots::Slots;
use crate::flowlog::record::{EniId, Ip};

/// What was learned for one family of an interface.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Learned {
    /// Empty when no address could be told apart.
    pub addresses: Vec<Ip>,
    pub share: f64,
}

/// Interface → what was learned, by family (0 IPv4, 1 IPv6).
pub(super) type LearnedMap = HashMap<EniId, [Option<Learned>; 2]>;

/// Learns the addresses of every interface without an inventory.
pub(super) fn learn(cells: &Slots<CellKey, Cell>, enis: &Slots<EniId, EniStats>) -> LearnedMap {
    let mut by_eni: HashMap<(EniId, usize), Vec<Sides>> = HashMap::new();
    // Records whose other side is never the interface's, summed by the
    // address on the key's side: public-peer cells (hundreds of thousands
    // at 50 million busy records, mostly of one address per interface;
    // one `Sides` each took more memory than anything else at the end of
    // a run) and the sides proved by `flow-direction`.
    let mut sums: HashMap<(EniId, Ip), u64> = HashMap::new();
    for (k, cell) in cells {
        match k.dir() {
            // Counted by address (`own_addresses`): any order.
            CellDir::Unresolved(_) => {
                by_eni
                    .entry((k.eni(), family(k.addr())))
                    .or_default()
                    .push(Sides {
                        addr: k.addr(),
                        flows: cell.flows,
                        others: Some(&cell.peers),
                    })
            }
            // The other side is public: never the interface's.
            CellDir::PublicPeer(_) => *sums.entry((k.eni(), k.addr())).or_default() += cell.flows,
            CellDir::Known(_) => continue,
        }
    }
    for (e, s) in enis {
        if s.inventory.is_some() {
            continue;
        }
        for &(ip, flows) in &s.own {
            *sums.entry((*e, ip)).or_default() += flows;
        }
    }
    for ((e, ip), flows) in sums {
        by_eni.entry((e, family(ip))).or_default().push(Sides {
            addr: ip,
            flows,
            others: None,
        });
    }
    let none = HashSet::new();
    let first: Vec<((EniId, usize), Option<Found>)> = by_eni
        .iter()
        .map(|(e, cells)| (*e, own_addresses(cells, &none)))
        .collect();
    // An address one interface certainly owns is another's peer: a
    // second look without them settles an interface talking to one peer
    // (two addresses in every record), a NAT gateway's transit records
    // (application interfaces' addresses), a secondary address answering
    // one client.
    let mut owners: HashMap<Ip, Vec<EniId>> = HashMap::new();
    for ((e, _), f) in &first {
        if let Some(Found {
            own: Own::Certain(v),
            ..
        }) = f
        {
            for ip in v {
                owners.entry(*ip).or_default().push(*e);
            }
        }
    }
    let mut out = LearnedMap::new();
    for (e, cells) in &by_eni {
        let others: HashSet<Ip> = owners
            .iter()
            .filter(|(_, o)| o.iter().any(|o| *o != e.0))
            .map(|(ip, _)| *ip)
            .collect();
        let Some(f) = own_addresses(cells, &others) else {
            continue;
        };
        let addresses = match f.own {
            Own::Certain(v) => v,
            Own::Either(_) => Vec::new(),
        };
        out.entry(e.0).or_insert([None, None])[e.1] = Some(Learned {
            addresses,
            share: f.share,
        });
    }
    out
}

/// Records with one side known as `addr`, as `own_addresses` sees them,
/// and the other side with each address's flows (empty when the other
/// side is not one of the interface's addresses, or when the cell has
/// more peers than it counts exactly; the key's side, with that many
/// peers, is then the interface itself).
pub(super) struct Sides<'a> {
    pub addr: Ip,
    pub flows: u64,
    /// Borrowed from the cell: copying every cell's peers took as much
    /// memory again as the cells at the end of a run.
    pub others: Option<&'a PeerSet>,
}

impl Sides<'_> {
    fn others(&self) -> impl Iterator<Item = (Ip, PeerStat)> + '_ {
        self.others.iter().flat_map(|p| p.iter_exact())
    }
}

/// What the records say an interface's own addresses are.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Own {
    /// One address first (in nearly every record), then any others that
    /// are in nearly every record left (a secondary address, a second
    /// IPv6 address).
    Certain(Vec<Ip>),
    /// Two or more addresses in nearly every record: an interface talking
    /// to one peer. One is its own.
    Either(Vec<Ip>),
}

#[derive(Debug, PartialEq)]
pub(super) struct Found {
    pub own: Own,
    /// Share of the records with one of the addresses on a side.
    pub share: f64,
}

/// Most addresses learned for one interface and family.
const MAX_OWN: usize = 8;

/// An interface's own addresses in one family, found one at a time: the
/// address in most of the records not yet covered by one found before,
/// if any of these holds:
/// - it is in at least 60% of them (and no other within 10% of it: two
///   addresses in every record are an interface talking to one peer,
///   `Own::Either`);
/// - with the next addresses it could share them out (together in no
///   more than all of them, in 90% or more, each three times as many as
///   the next address) (two secondary addresses answering, two IPv6 addresses
///   of a load balancer sharing its clients);
/// - it is in a fifth of all the records and three times as many as any
///   other (a NAT gateway, whose transit records carry neither of its
///   addresses).
///
/// Counts are exact and the order of cells does not matter, so the
/// answer depends on the records alone.
pub(super) fn own_addresses(cells: &[Sides], exclude: &HashSet<Ip>) -> Option<Found> {
    let mut own: Vec<Ip> = Vec::new();
    let total: u64 = cells.iter().map(|c| c.flows).sum();
    // At most every peer and key address once (sized up front: on an
    // interface with thousands of peers, growing it was a third of it).
    let room: usize = cells.iter().map(|c| c.others().count() + 1).sum();
    while own.len() < MAX_OWN {
        // Records with no known own address, by address.
        let mut counts: HashMap<Ip, u64> = HashMap::with_capacity(room);
        let mut left = 0u64;
        for c in cells.iter().filter(|c| !own.contains(&c.addr)) {
            let mut flows = c.flows;
            for (ip, stat) in c.others() {
                if own.contains(&ip) {
                    flows = flows.saturating_sub(stat.flows);
                } else if ip != c.addr {
                    // (A record whose two sides are one address counts once.)
                    *counts.entry(ip).or_default() += stat.flows;
                }
            }
            *counts.entry(c.addr).or_default() += flows;
            left += flows;
        }
        counts.retain(|ip, _| !exclude.contains(ip));
        if left == 0 || counts.is_empty() {
            break;
        }
        // Most records first, then by address: a fixed order.
        let mut ranked: Vec<(Ip, u64)> = counts.into_iter().filter(|e| e.1 > 0).collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let Some(&(_, top)) = ranked.first() else {
            break;
        };
        let second = ranked.get(1).map_or(0, |e| e.1);
        let most = (left as f64 * 0.6).ceil() as u64;
        if top >= most {
            let min = most.max((top as f64 * 0.9).ceil() as u64);
            let found: Vec<Ip> = ranked
                .iter()
                .take_while(|e| e.1 >= min)
                .map(|e| e.0)
                .collect();
            match found.len() {
                1 => own.push(found[0]),
                _ if own.is_empty() => {
                    let mut found = found;
                    found.sort();
                    return Some(Found {
                        own: Own::Either(found),
                        share: top as f64 / total as f64,
                    });
                }
                // Two equal candidates among the records left: no guess.
                _ => break,
            }
            continue;
        }
        let big: Vec<u64> = ranked
            .iter()
            .take(MAX_OWN)
            .map(|e| e.1)
            .take_while(|&c| c * 10 >= left)
            .collect();
        // Some of the first addresses that could be disjoint (together in
        // no more records than there are) and cover nearly all.
        // Each of them three times as many as the next address.
        let mut shared = 0;
        let split = big.iter().enumerate().any(|(i, c)| {
            shared += c;
            let next = ranked.get(i + 1).map_or(0, |e| e.1);
            i > 0 && shared * 10 >= left * 9 && shared <= left && big[i] >= next * 3
        });
        let dominant = top * 5 >= total && top >= second * 3;
        if split || dominant {
            own.push(ranked[0].0);
        } else {
            break;
        }
    }
    if own.is_empty() {
        return None;
    }
    own.sort();
    // Records with one of them on a side.
    let covered: u64 = cells
        .iter()
        .map(|c| {
            if own.contains(&c.addr) {
                c.flows
            } else {
                c.others()
                    .filter(|(ip, _)| own.contains(ip))
                    .map(|(_, s)| s.flows)
                    .sum::<u64>()
                    .min(c.flows)
            }
        })
        .sum();
    let share = if total == 0 {
        1.0
    } else {
        covered as f64 / total as f64
    };
    Some(Found {
        own: Own::Certain(own),
        share,
    })
}
