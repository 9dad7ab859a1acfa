//! What is counted per cell and per interface while records come in.

use super::keys::CellKey;
use super::peers::PeerSet;
use super::slots::Slots;
use crate::flowlog::record::Ip;

/// A time window `[first, last]` in seconds. Empty is `first > last`, so
/// widening it by a record is one `min` and one `max`, with no branch on
/// whether either side was there (as `Option`s it was ~5% of a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub first: u64,
    pub last: u64,
}

impl Default for Span {
    fn default() -> Span {
        Span::EMPTY
    }
}

impl Span {
    pub const EMPTY: Span = Span {
        first: u64::MAX,
        last: 0,
    };

    /// A record's span, lowest first: a record whose start is after its
    /// end (a broken clock, a damaged line) still spans [end, start], so
    /// every window keeps first ≤ last. One of the two alone is a point.
    #[inline]
    pub fn of(start: Option<u64>, end: Option<u64>) -> Span {
        match (start.or(end), end.or(start)) {
            (Some(s), Some(e)) => Span {
                first: s.min(e),
                last: s.max(e),
            },
            _ => Span::EMPTY,
        }
    }

    #[inline]
    pub fn widen(&mut self, o: Span) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    pub fn get(self) -> Option<(u64, u64)> {
        (self.first <= self.last).then_some((self.first, self.last))
    }

    pub fn first(self) -> Option<u64> {
        self.get().map(|s| s.0)
    }

    pub fn last(self) -> Option<u64> {
        self.get().map(|s| s.1)
    }
}

/// The ports a folded cell stands for: one bit per port (8 KiB, only in
/// folded cells, of which there are a few per interface).
#[derive(Debug, Clone)]
pub(super) struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    fn new() -> PortSet {
        PortSet(Box::new([0; 1024]))
    }

    pub fn insert(&mut self, p: u16) {
        self.0[p as usize / 64] |= 1 << (p % 64);
    }

    pub fn union(&mut self, o: &PortSet) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a |= b;
        }
    }

    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Cell {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub span: Span,
    pub peers: PeerSet,
    /// Folded cells only: the ports folded into it.
    pub ports: Option<PortSet>,
}

impl Cell {
    /// Adds another cell of the same key.
    pub fn merge(&mut self, key: CellKey, o: Cell) {
        self.flows += o.flows;
        self.packets = self.packets.saturating_add(o.packets);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.span.widen(o.span);
        self.peers.merge_in(key.peer_bound(), o.peers);
        if let Some(p) = o.ports {
            match &mut self.ports {
                Some(s) => s.union(&p),
                None => self.ports = Some(p),
            }
        }
    }

    /// Notes a port folded into this cell.
    pub fn fold_port(&mut self, p: Option<u16>) {
        if let Some(p) = p {
            self.ports.get_or_insert_with(PortSet::new).insert(p);
        }
    }
}

/// Records of one address family (IPv4, IPv6) of an interface.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FamilyStats {
    pub records: u64,
    /// Placed by `flow-direction`.
    pub flow_direction: u64,
    /// With an inventory: records with none of its addresses on either
    /// side (transit through a NAT gateway, an address it does not list).
    pub neither: u64,
}

impl FamilyStats {
    fn merge(&mut self, o: FamilyStats) {
        self.records += o.records;
        self.flow_direction += o.flow_direction;
        self.neither += o.neither;
    }
}

/// Per-interface observation: how much we saw of it and when.
#[derive(Debug, Clone, Default)]
pub(super) struct EniStats {
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub span: Span,
    /// By family: 0 IPv4, 1 IPv6 (`family`).
    pub family: [FamilyStats; 2],
    /// The interface's side of records whose placement proved it
    /// (`flow-direction`, a public IPv4 peer), with their flows: evidence
    /// for learning its addresses. Normally one or two addresses.
    pub own: Slots<Ip, u64>,
    /// The interface's addresses from the inventory (`None`: not in it),
    /// copied here when the interface is first seen so that a record
    /// costs one map lookup for both.
    pub inventory: Option<Vec<Ip>>,
}

impl EniStats {
    pub fn merge(&mut self, o: EniStats) {
        if self.inventory.is_none() {
            self.inventory = o.inventory;
        }
        self.records += o.records;
        self.nodata += o.nodata;
        self.skipdata += o.skipdata;
        self.span.widen(o.span);
        for (a, b) in self.family.iter_mut().zip(o.family) {
            a.merge(b);
        }
        for (ip, n) in o.own {
            *self.own.get_or_insert_with(ip, || 0) += n;
        }
    }
}

/// 0 for IPv4, 1 for IPv6 (and records without addresses).
#[inline]
pub(super) fn family(ip: Ip) -> usize {
    !ip.is_v4() as usize
}
