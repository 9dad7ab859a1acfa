//! Distinct peers: exact (with per-peer flows and bytes) up to a cap, then
//! a HyperLogLog estimate.
//!
//! The exact set is what `recommend` needs to name peers and their groups;
//! the cap keeps memory bounded when a scanner sprays the address space.
//! Past `EXACT_PEERS` distinct addresses a row switches to a 4096-register
//! HyperLogLog (about 1.6% standard error), which merges exactly, so the
//! estimate does not depend on thread count or file order.
//!
//! Rejected rows (`Bound::Small`) keep `SMALL_EXACT` peers exactly, then a
//! 512-register sketch (about 4.6%): rules are never built from them, and
//! at 50 million busy records 28,000 rejected rows held 1.3 million exact
//! peers, a third of the run's memory. A 4096-register sketch folds into a
//! 512-register one exactly (the same registers as adding the peers
//! themselves), so the result still depends only on the union of peers.

use super::slots::Slots;
use crate::flowlog::record::Ip;

/// Distinct peers tracked exactly per row (then estimated).
pub const EXACT_PEERS: usize = 2048;

/// Distinct peers tracked exactly per rejected row (then estimated).
pub const SMALL_EXACT: usize = 16;

const HLL_BITS: u32 = 12;
const SMALL_BITS: u32 = 9;

/// How many peers a set keeps exactly, and the sketch past them. Every
/// set takes the same bound for all its peers (the bound follows from the
/// cell's key or the row's action), so its state is a function of its
/// peers alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `EXACT_PEERS`, then 4096 registers.
    Full,
    /// `SMALL_EXACT`, then 512 registers.
    Small,
}

impl Bound {
    fn exact(self) -> usize {
        match self {
            Bound::Full => EXACT_PEERS,
            Bound::Small => SMALL_EXACT,
        }
    }

    /// Peers kept in a vector: a rejected row never needs a table.
    fn few(self) -> usize {
        match self {
            Bound::Full => FEW_PEERS,
            Bound::Small => SMALL_EXACT,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Bound::Full => HLL_BITS,
            Bound::Small => SMALL_BITS,
        }
    }
}

/// Traffic of one peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerStat {
    pub flows: u64,
    pub bytes: u64,
}

impl PeerStat {
    fn add(&mut self, o: PeerStat) {
        self.flows += o.flows;
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

/// Peers kept in a plain vector, found by a linear scan, before a set
/// becomes a hash table. Most cells that see more than one peer see a
/// handful (a service port's few callers, a conversation between two
/// interfaces seen from both): a table for them cost ~450 bytes and a
/// hash per record; four to eight entries cost 32 bytes each and a scan of
/// at most eight comparisons. (At 50 million busy records, 750,000 cells
/// held 2.2 million peers, nearly all in sets of two to four.)
const FEW_PEERS: usize = 8;

/// An address as two 8-byte words, for structures held by the hundred
/// thousand (see `Peers::One`, `keys::CellKey`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct Words([u64; 2]);

impl Words {
    #[inline(always)]
    pub fn of(ip: Ip) -> Words {
        Words([ip.0 as u64, (ip.0 >> 64) as u64])
    }

    #[inline(always)]
    pub fn ip(self) -> Ip {
        Ip(self.0[0] as u128 | (self.0[1] as u128) << 64)
    }

    /// The low and high words.
    #[inline(always)]
    pub fn words(self) -> [u64; 2] {
        self.0
    }
}

/// The peers of one row. Most cells see a single peer (one server, one
/// client): that case lives inline, without a heap allocation.
#[derive(Debug, Clone, Default)]
pub struct PeerSet(Peers);

#[derive(Debug, Clone, Default)]
enum Peers {
    #[default]
    Empty,
    /// The address as two words (`Words`): an `Ip` (a `u128`) is aligned
    /// to 16 bytes, which made this enum, and every cell, 8 bytes larger.
    One(Words, PeerStat),
    /// Two to `FEW_PEERS` peers (`SMALL_EXACT` for `Bound::Small`), in
    /// the order they came.
    Few(Vec<(Ip, PeerStat)>),
    /// A record's peer is most often the previous record's (a request and
    /// its response), which `Slots` finds without hashing.
    Exact(Box<Slots<Ip, PeerStat>>),
    /// HyperLogLog registers: 4096 (`Bound::Full`) or 512.
    Sketch(Box<[u8]>),
}

impl PeerSet {
    /// Adds traffic from (or to) a peer.
    #[inline(always)]
    pub fn add(&mut self, ip: Ip, flows: u64, bytes: u64) {
        self.add_in(Bound::Full, ip, flows, bytes)
    }

    /// Adds traffic from (or to) a peer, to a set of that bound.
    #[inline(always)]
    pub fn add_in(&mut self, bound: Bound, ip: Ip, flows: u64, bytes: u64) {
        let s = match &mut self.0 {
            Peers::One(a, s) if *a == Words::of(ip) => s,
            Peers::Few(v) => match v.iter_mut().find(|e| e.0 == ip) {
                Some(e) => &mut e.1,
                None => return self.add_new(bound, ip, flows, bytes),
            },
            Peers::Exact(m) => match m.last(&ip) {
                Some(s) => s,
                None => return self.add_new(bound, ip, flows, bytes),
            },
            _ => return self.add_new(bound, ip, flows, bytes),
        };
        s.flows += flows;
        s.bytes = s.bytes.saturating_add(bytes);
    }

    /// `add` for a peer other than the one last added.
    #[inline(never)]
    fn add_new(&mut self, bound: Bound, ip: Ip, flows: u64, bytes: u64) {
        let stat = PeerStat { flows, bytes };
        match &mut self.0 {
            Peers::Empty => self.0 = Peers::One(Words::of(ip), stat),
            Peers::One(a, s) if *a == Words::of(ip) => s.add(stat),
            Peers::One(a, s) => {
                let mut v = Vec::with_capacity(2);
                v.extend([(a.ip(), *s), (ip, stat)]);
                self.0 = Peers::Few(v);
            }
            Peers::Few(v) => match v.iter().position(|e| e.0 == ip) {
                Some(i) => v[i].1.add(stat),
                None if v.len() < bound.few() => v.push((ip, stat)),
                None if bound == Bound::Small => {
                    v.push((ip, stat));
                    self.make_sketch(bound.bits());
                }
                None => {
                    // Many peers: likely many more (a server's clients).
                    let mut m = Box::new(Slots::with_capacity(4 * FEW_PEERS));
                    for &(a, s) in v.iter() {
                        m.get_or_insert_with(a, PeerStat::default).add(s);
                    }
                    m.get_or_insert_with(ip, PeerStat::default).add(stat);
                    self.0 = Peers::Exact(m);
                }
            },
            Peers::Exact(m) => {
                m.get_or_insert_with(ip, PeerStat::default).add(stat);
                if m.len() > bound.exact() {
                    self.make_sketch(bound.bits());
                }
            }
            Peers::Sketch(_) => {
                self.make_sketch(bound.bits());
                if let Peers::Sketch(regs) = &mut self.0 {
                    hll_add(regs, ip);
                }
            }
        }
    }

    /// Turns the set into a sketch of at most `1 << bits` registers: from
    /// its exact peers, or by folding a larger sketch (a smaller one stays).
    fn make_sketch(&mut self, bits: u32) {
        let regs = match &self.0 {
            Peers::Sketch(r) if r.len() <= 1 << bits => return,
            Peers::Sketch(r) => hll_fold(r, bits),
            _ => {
                let mut regs = vec![0u8; 1 << bits].into_boxed_slice();
                for (ip, _) in self.iter_exact() {
                    hll_add(&mut regs, ip);
                }
                regs
            }
        };
        self.0 = Peers::Sketch(regs);
    }

    /// Merges another set into this one. The smaller set is added to the
    /// larger one, peer by peer: rows built from one cell take its set
    /// whole. (The result does not depend on the order: sums add, the
    /// union is the same, and a sketch is a union too.)
    pub fn merge(&mut self, other: PeerSet) {
        self.merge_in(Bound::Full, other)
    }

    /// `merge` for sets of that bound (or of a larger one, which the
    /// result takes the bound of).
    pub fn merge_in(&mut self, bound: Bound, mut other: PeerSet) {
        if other.size() > self.size() {
            std::mem::swap(self, &mut other);
        }
        match other.0 {
            Peers::Empty => {}
            Peers::One(ip, s) => self.add_in(bound, ip.ip(), s.flows, s.bytes),
            Peers::Few(v) => {
                for (ip, s) in v {
                    self.add_in(bound, ip, s.flows, s.bytes);
                }
            }
            Peers::Exact(m) => {
                for (ip, s) in *m {
                    self.add_in(bound, ip, s.flows, s.bytes);
                }
            }
            Peers::Sketch(o) => {
                let bits = bound.bits().min(o.len().trailing_zeros());
                self.make_sketch(bits);
                if let Peers::Sketch(regs) = &mut self.0 {
                    let o = if o.len() > regs.len() {
                        hll_fold(&o, regs.len().trailing_zeros())
                    } else {
                        o
                    };
                    for (a, b) in regs.iter_mut().zip(o.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
        }
        // A set of a larger bound (a rejected row taking an exact cell)
        // ends within this one.
        if self.size() > bound.exact() {
            self.make_sketch(bound.bits());
        }
    }

    /// How much `merge` has to walk to add this set to another: its
    /// exact peers, or more than any exact set once it is a sketch.
    fn size(&self) -> usize {
        match &self.0 {
            Peers::Empty => 0,
            Peers::One(..) => 1,
            Peers::Few(v) => v.len(),
            Peers::Exact(m) => m.len(),
            Peers::Sketch(_) => usize::MAX,
        }
    }

    /// Number of distinct peers (estimated once over the cap).
    pub fn count(&self) -> u64 {
        match &self.0 {
            Peers::Empty => 0,
            Peers::One(..) => 1,
            Peers::Few(v) => v.len() as u64,
            Peers::Exact(m) => m.len() as u64,
            Peers::Sketch(regs) => hll_estimate(regs),
        }
    }

    /// True while the count is exact.
    pub fn is_exact(&self) -> bool {
        !matches!(self.0, Peers::Sketch(_))
    }

    /// The exact peers sorted by address, if still exact.
    pub fn exact(&self) -> Option<Vec<(Ip, PeerStat)>> {
        let mut v = self.exact_unsorted()?;
        v.sort_unstable_by_key(|e| e.0);
        Some(v)
    }

    /// The exact peers in no particular order, if still exact (for
    /// counting: sorting thousands of peers per cell took a tenth of a
    /// run on data with many of them).
    pub fn exact_unsorted(&self) -> Option<Vec<(Ip, PeerStat)>> {
        Some(match &self.0 {
            Peers::Empty => Vec::new(),
            Peers::One(ip, s) => vec![(ip.ip(), *s)],
            Peers::Few(v) => v.clone(),
            Peers::Exact(m) => m.iter().map(|(a, s)| (*a, *s)).collect(),
            Peers::Sketch(_) => return None,
        })
    }

    /// The exact peers in no particular order, without copying them
    /// (none once a sketch).
    pub fn iter_exact(&self) -> impl Iterator<Item = (Ip, PeerStat)> + '_ {
        let (one, few, many) = match &self.0 {
            Peers::One(ip, s) => (Some((ip.ip(), *s)), None, None),
            Peers::Few(v) => (None, Some(v.iter().copied()), None),
            Peers::Exact(m) => (None, None, Some(m.iter().map(|(a, s)| (*a, *s)))),
            _ => (None, None, None),
        };
        one.into_iter()
            .chain(few.into_iter().flatten())
            .chain(many.into_iter().flatten())
    }

    /// The top `n` peers by flows (ties by address), if exact.
    pub fn top(&self, n: usize) -> Vec<(Ip, PeerStat)> {
        let Some(mut v) = self.exact() else {
            return Vec::new();
        };
        v.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

#[inline]
fn mix(ip: Ip) -> u64 {
    // splitmix64 finaliser over both halves: good enough dispersion for
    // register selection and leading-zero counts.
    let mut z = (ip.0 as u64) ^ ((ip.0 >> 64) as u64).rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hll_add(regs: &mut [u8], ip: Ip) {
    let bits = regs.len().trailing_zeros();
    let h = mix(ip);
    let idx = (h >> (64 - bits)) as usize;
    let rest = (h << bits) | (1 << (bits - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if regs[idx] < rank {
        regs[idx] = rank;
    }
}

/// The registers of the same peers at fewer index bits: an old index's
/// low `d` bits become the leading bits of the rest of the hash, so the
/// rank is their leading zeros (plus one), or `d` more than the old rank
/// when they are all zero. Exactly what adding the peers would give.
fn hll_fold(regs: &[u8], bits: u32) -> Box<[u8]> {
    let d = regs.len().trailing_zeros() - bits;
    let mut out = vec![0u8; 1 << bits].into_boxed_slice();
    for (i, &r) in regs.iter().enumerate() {
        if r == 0 {
            continue;
        }
        let low = (i & ((1 << d) - 1)) as u32;
        let rank = if low == 0 {
            r + d as u8
        } else {
            (d - (32 - low.leading_zeros())) as u8 + 1
        };
        let o = &mut out[i >> d];
        *o = (*o).max(rank);
    }
    out
}

fn hll_estimate(regs: &[u8]) -> u64 {
    let m = regs.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = regs.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
    let zeros = regs.iter().filter(|&&r| r == 0).count();
    let raw = alpha * m * m / sum;
    let est = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    est.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_estimated_within_error() {
        let mut s = PeerSet::default();
        for i in 0..EXACT_PEERS as u32 {
            s.add(Ip::v4(i), 1, 10);
        }
        assert!(s.is_exact());
        assert_eq!(s.count(), EXACT_PEERS as u64);
        for i in 0..100_000u32 {
            s.add(Ip::v4(i), 1, 10);
        }
        assert!(!s.is_exact());
        let c = s.count() as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.05, "{c}");
    }

    #[test]
    fn merge_is_order_independent() {
        let mk = |r: std::ops::Range<u32>| {
            let mut s = PeerSet::default();
            for i in r {
                s.add(Ip::v4(i * 7), 1, 1);
            }
            s
        };
        let mut a = mk(0..1500);
        a.merge(mk(1000..5000));
        let mut b = mk(1000..5000);
        b.merge(mk(0..1500));
        assert_eq!(a.count(), b.count());
        let mut c = mk(0..10);
        c.merge(mk(5..20));
        assert_eq!(c.count(), 20);
        let exact = c.exact().unwrap();
        assert_eq!(exact.iter().find(|e| e.0 == Ip::v4(35)).unwrap().1.flows, 2);
    }

    #[test]
    fn merge_gives_the_same_set_whichever_side_is_larger() {
        // Every kind on either side (empty, one peer, exact, past the cap),
        // with overlaps: the merged peers, their sums and the count agree
        // whichever set `merge` walks.
        let mk = |from: u32, n: u32, bytes: u64| {
            let mut s = PeerSet::default();
            for i in from..from + n {
                s.add(Ip::v4(i), 1 + (i % 3) as u64, bytes);
            }
            s
        };
        let kinds = [
            (0, 0),
            (5, 1),
            (4, 3),
            (2, FEW_PEERS as u32),
            (3, 40),
            (20, 700),
            (0, EXACT_PEERS as u32 - 5),
        ];
        let kinds = kinds.iter().chain(&[(100, EXACT_PEERS as u32 + 50)]);
        for &(fa, na) in kinds.clone() {
            for &(fb, nb) in kinds.clone() {
                let mut ab = mk(fa, na, 10);
                ab.merge(mk(fb, nb, 7));
                let mut ba = mk(fb, nb, 7);
                ba.merge(mk(fa, na, 10));
                assert_eq!(ab.count(), ba.count(), "{na} {nb}");
                assert_eq!(ab.exact(), ba.exact(), "{na} {nb}");
            }
        }
    }

    #[test]
    fn a_folded_sketch_is_the_sketch_of_the_same_peers() {
        let mut full = PeerSet::default();
        let mut small = PeerSet::default();
        for i in 0..20_000u32 {
            full.add(Ip::v4(i.wrapping_mul(2_654_435_761)), 1, 1);
            small.add_in(Bound::Small, Ip::v4(i.wrapping_mul(2_654_435_761)), 1, 1);
        }
        let (Peers::Sketch(f), Peers::Sketch(s)) = (&full.0, &small.0) else {
            panic!("both past their caps")
        };
        assert_eq!((f.len(), s.len()), (4096, 512));
        assert_eq!(hll_fold(f, SMALL_BITS), *s);
        let c = small.count() as f64;
        assert!((c - 20_000.0).abs() / 20_000.0 < 0.15, "{c}");
    }

    #[test]
    fn small_sets_are_exact_to_their_cap_then_the_same_sketch_in_any_order() {
        let mk = |from: u32, n: u32, bound: Bound| {
            let mut s = PeerSet::default();
            for i in from..from + n {
                s.add_in(bound, Ip::v4(i), 1, 1);
            }
            s
        };
        let s = mk(0, SMALL_EXACT as u32, Bound::Small);
        assert!(s.is_exact());
        assert_eq!(s.count(), SMALL_EXACT as u64);
        assert!(!mk(0, SMALL_EXACT as u32 + 1, Bound::Small).is_exact());
        // Halves of every kind, merged as a rejected row merges its cells
        // (some kept whole: a full bound), in both orders.
        let kinds = [(0, 3), (2, 10), (5, 40), (1, 3000)];
        for &(fa, na) in &kinds {
            for &(fb, nb) in &kinds {
                for bound in [Bound::Small, Bound::Full] {
                    let mut ab = mk(fa, na, Bound::Small);
                    ab.merge_in(Bound::Small, mk(fb, nb, bound));
                    let mut ba = mk(fb, nb, bound);
                    ba.merge_in(Bound::Small, mk(fa, na, Bound::Small));
                    let mut whole = PeerSet::default();
                    for i in (fa..fa + na).chain(fb..fb + nb) {
                        whole.add_in(Bound::Small, Ip::v4(i), 1, 1);
                    }
                    assert_eq!(ab.count(), ba.count(), "{na} {nb}");
                    assert_eq!(ab.count(), whole.count(), "{na} {nb}");
                    assert_eq!(ab.exact(), ba.exact(), "{na} {nb}");
                    let addrs =
                        |s: &PeerSet| s.exact().map(|v| v.iter().map(|e| e.0).collect::<Vec<_>>());
                    assert_eq!(addrs(&ab), addrs(&whole), "{na} {nb}");
                }
            }
        }
    }

    #[test]
    fn rejected_rows_keep_few_exact_peers_accepted_rows_all() {
        use crate::aggregate::{Aggregate, Direction};
        use crate::flowlog::{format::DEFAULT_V2, Format, Parser};
        let p = Parser::new(&Format::parse(DEFAULT_V2).unwrap());
        let (mut whole, mut a, mut b) = (
            Aggregate::new(None),
            Aggregate::new(None),
            Aggregate::new(None),
        );
        for i in 0..200u32 {
            let peer = format!("198.51.{}.{}", i / 250, i % 250 + 1);
            for (port, action) in [(443, "ACCEPT"), (22, "REJECT")] {
                let l = format!(
                    "2 1 eni-0aaa {peer} 10.0.1.10 {} {port} 6 1 40 100 110 {action} OK",
                    40000 + i
                );
                let r = p.parse(l.as_bytes()).unwrap();
                whole.add(&r);
                if i % 2 == 0 {
                    a.add(&r)
                } else {
                    b.add(&r)
                }
            }
        }
        b.merge_from(a);
        for s in [whole.finish(), b.finish()] {
            let row = |port| {
                s.rows
                    .iter()
                    .find(|r| r.direction == Direction::Ingress && r.port == Some(port))
                    .unwrap()
            };
            assert!(row(443).peers.is_exact());
            assert_eq!(row(443).peers.count(), 200);
            assert!(!row(22).peers.is_exact());
            let c = row(22).peers.count();
            assert!((180..=220).contains(&c), "{c}");
        }
    }
}
