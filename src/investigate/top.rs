//! Top talkers: totals per key (source, destination, interface, service
//! port or address pair), one table per worker, merged.
//!
//! Memory is bounded whatever the number of distinct keys: each worker
//! keeps its share of `TOP_COUNTERS` (the total does not grow with the
//! thread count) and, when its table reaches twice its share, keeps only
//! the share with the largest counts of the ranked metric (a batched
//! SpaceSaving summary). Until that happens every count is exact. After
//! it, `floor` is the most any key dropped had counted; a key that enters
//! the table later may have been counted and dropped before, so its `error`
//! is the floor at that moment: its true metric lies in
//! `[count, count + error]`, and any key not in the table counted at most
//! `floor`. Merging adds the other side's floor to the error of keys it
//! does not have (the summaries are mergeable: the bounds hold across
//! workers). A row whose `error` is 0 is exact. So every heavy hitter
//! (more than `floor` of the metric) is listed, and the output says when
//! counts are approximate (see `TopResult::exact`).
//!
//! `--by port` ranks what summarize's rows say: the matching records go
//! through the same aggregate (`aggregate::Aggregate`, with the same
//! interface addresses), whose end of run corrects the ports a record
//! alone cannot decide (ambiguous ports, a rejected packet from a service
//! port), and its rows are summed per protocol and port. So `top --by
//! port` and `summarize` never book a record on different ports. (The
//! per-record rule alone disagreed on 0.5% of 200,000 busy records.) The
//! aggregate bounds its own memory by folding rejected traffic to rarely
//! hit ports; folded records count against every port of their protocol
//! as `error` (then the result is not exact).

use std::sync::Arc;

use hashbrown::HashMap;

use crate::aggregate::{Aggregate, Locals, RejectedKeys, Summary};
use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{has_ports, EniId, FlowRecord, Ip};
use crate::report::proto_label;

use super::filter::{column, Filter};
use super::timeline::Timeline;

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopBy {
    /// Source address (srcaddr).
    Src,
    /// Destination address (dstaddr).
    Dst,
    /// Network interface (interface-id).
    Eni,
    /// Service port and protocol: the listening side's port.
    Port,
    /// Source → destination address pair.
    Pair,
}

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Flows,
    Bytes,
    Packets,
}

/// A grouping key. Ordered so ties sort naturally (addresses numerically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TopKey {
    Addr(Ip),
    Eni(EniId),
    Port { port: Option<u16>, proto: u8 },
    Pair(Ip, Ip),
}

/// Totals for one key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
}

impl Stat {
    #[inline]
    fn add(&mut self, flows: u64, packets: u64, bytes: u64, start: Option<u64>, end: Option<u64>) {
        self.flows += flows;
        self.packets = self.packets.saturating_add(packets);
        self.bytes = self.bytes.saturating_add(bytes);
        if let Some(s) = start.or(end) {
            self.first_seen = Some(self.first_seen.map_or(s, |f| f.min(s)));
        }
        if let Some(e) = end.or(start) {
            self.last_seen = Some(self.last_seen.map_or(e, |l| l.max(e)));
        }
    }

    pub fn merge(&mut self, o: &Stat) {
        self.add(o.flows, o.packets, o.bytes, o.first_seen, o.last_seen);
    }

    pub fn metric(&self, m: Metric) -> u64 {
        match m {
            Metric::Flows => self.flows,
            Metric::Bytes => self.bytes,
            Metric::Packets => self.packets,
        }
    }
}

/// Counters kept over all workers (each keeps `TOP_COUNTERS / threads`,
/// and up to twice that before it prunes). About 120 bytes each in the
/// table: on 3 M distinct sources the whole process peaked at 182-213 MiB
/// at -j1, -j2 and -j4 (920 MiB before the bound).
pub const TOP_COUNTERS: usize = 1 << 18;

/// A key's counts and how much of the ranked metric they may miss.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    stat: Stat,
    /// The key may have counted up to this much (ranked metric) before
    /// it entered the table: 0 for an exact count.
    error: u64,
}

/// The processor behind `flowscope top`.
pub struct TopProc {
    filter: Arc<Filter>,
    by: TopBy,
    metric: Metric,
    map: HashMap<TopKey, Entry>,
    /// Entries kept after a prune (this worker's share of `TOP_COUNTERS`).
    share: usize,
    /// Most of the metric any key not in `map` counted (0: nothing dropped).
    floor: u64,
    /// Text of interface ids that do not pack (rare).
    eni_names: HashMap<EniId, String>,
    pub timeline: Option<Timeline>,
    /// Matching records that lack the key (e.g. no interface-id column).
    pub without_key: u64,
    /// Totals over every matching record.
    pub total: Stat,
    /// `--by port`: the matching records, aggregated as summarize does
    /// (`map` stays empty).
    ports: Option<Aggregate>,
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    pub key: TopKey,
    pub label: String,
    pub stat: Stat,
    /// The ranked metric may be this much higher than counted (0: exact).
    pub error: u64,
}

/// What `top` found.
#[derive(Debug)]
pub struct TopResult {
    /// Every key kept, ranked by the metric (largest first), ties by key.
    pub rows: Vec<TopRow>,
    /// True when every count is exact; false when the key table was
    /// pruned (then `rows` are the heavy hitters, see the module doc).
    pub exact: bool,
    /// When not exact: any key not in `rows` counted at most this much of
    /// the ranked metric.
    pub unlisted_max: u64,
    pub timeline: Option<Timeline>,
    pub without_key: u64,
    pub total: Stat,
}

impl TopProc {
    /// A maker of per-worker processors for `threads` workers: together
    /// they keep at most `counters` keys (twice that while filling).
    /// `locals` are the interfaces' addresses from an inventory, which
    /// `--by port` uses as summarize does.
    pub fn maker(
        filter: Arc<Filter>,
        by: TopBy,
        metric: Metric,
        bucket: Option<u64>,
        threads: usize,
        counters: usize,
        locals: Option<Arc<Locals>>,
    ) -> impl Fn() -> TopProc + Sync {
        let share = (counters / threads.max(1)).max(1);
        // Shared by the workers, as summarize's are (the rejected-key
        // budget holds for the run).
        let keys = Arc::new(RejectedKeys::default());
        move || TopProc {
            filter: filter.clone(),
            by,
            metric,
            map: HashMap::new(),
            share,
            floor: 0,
            eni_names: HashMap::new(),
            timeline: bucket.map(Timeline::new),
            without_key: 0,
            total: Stat::default(),
            ports: (by == TopBy::Port).then(|| Aggregate::sharing(locals.clone(), keys.clone())),
        }
    }

    #[inline]
    fn key(&self, rec: &FlowRecord) -> Option<TopKey> {
        Some(match self.by {
            TopBy::Src => TopKey::Addr(rec.srcaddr?),
            TopBy::Dst => TopKey::Addr(rec.dstaddr?),
            TopBy::Eni => {
                if rec.interface == EniId::NONE {
                    return None;
                }
                TopKey::Eni(rec.interface)
            }
            TopBy::Pair => TopKey::Pair(rec.srcaddr?, rec.dstaddr?),
            // Ranked from the aggregate's rows (`record`, `finish`).
            TopBy::Port => return None,
        })
    }

    /// Keeps the `share` entries with the largest metric (ties: smaller
    /// key), and raises `floor` to the largest metric dropped.
    #[cold]
    fn prune(&mut self) {
        let m = self.metric;
        let est = |e: &Entry| e.stat.metric(m).saturating_add(e.error);
        let mut v: Vec<(std::cmp::Reverse<u64>, TopKey)> = self
            .map
            .iter()
            .map(|(k, e)| (std::cmp::Reverse(est(e)), *k))
            .collect();
        if v.len() <= self.share {
            return;
        }
        let (_, pivot, dropped) = v.select_nth_unstable(self.share - 1);
        let pivot = *pivot;
        let dropped_max = dropped.iter().map(|d| d.0 .0).max().unwrap_or(0);
        self.map
            .retain(|k, e| (std::cmp::Reverse(est(e)), *k) <= pivot);
        self.floor = self.floor.max(dropped_max);
    }

    /// Ranks what was counted.
    pub fn finish(mut self) -> TopResult {
        if let Some(agg) = self.ports.take() {
            let (map, floor) = port_table(agg.finish(), self.metric);
            self.map = map;
            self.floor = floor;
        }
        let metric = self.metric;
        let mut rows: Vec<TopRow> = self
            .map
            .iter()
            .map(|(k, e)| TopRow {
                key: *k,
                label: self.label(k),
                stat: e.stat,
                error: e.error,
            })
            .collect();
        rows.sort_unstable_by(|a, b| {
            b.stat
                .metric(metric)
                .cmp(&a.stat.metric(metric))
                .then(a.key.cmp(&b.key))
        });
        TopResult {
            rows,
            exact: self.floor == 0,
            unlisted_max: self.floor,
            timeline: self.timeline,
            without_key: self.without_key,
            total: self.total,
        }
    }

    fn label(&self, k: &TopKey) -> String {
        match k {
            TopKey::Addr(ip) => ip.to_string(),
            TopKey::Pair(a, b) => format!("{a} -> {b}"),
            TopKey::Eni(e) => e
                .packed_text()
                .or_else(|| self.eni_names.get(e).cloned())
                .unwrap_or_else(|| "?".into()),
            TopKey::Port {
                port: Some(p),
                proto,
            } => format!("{p}/{}", proto_label(*proto)),
            // A record of a protocol with ports but without them.
            TopKey::Port { port: None, proto } if has_ports(*proto) => {
                format!("{} (no port)", proto_label(*proto))
            }
            TopKey::Port { port: None, proto } => proto_label(*proto),
        }
    }
}

impl Processor for TopProc {
    const WEIGHTED: bool = true;

    #[inline]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        if !self.filter.matches(rec, ctx) {
            return;
        }
        self.total
            .add(rec.flows, rec.packets, rec.bytes, rec.start, rec.end);
        if let Some(t) = &mut self.timeline {
            t.add(rec);
        }
        if let Some(agg) = &mut self.ports {
            // Without a protocol there is no port to rank (summarize
            // would book such a record as protocol 0).
            if rec.protocol.is_none() {
                self.without_key += rec.flows;
            } else {
                agg.add(rec);
            }
            return;
        }
        let Some(key) = self.key(rec) else {
            self.without_key += rec.flows;
            return;
        };
        if let TopKey::Eni(e) = key {
            if e.is_hashed() && !self.eni_names.contains_key(&e) {
                // A Transit Gateway log's interface is its attachment.
                if let Some(text) = ctx
                    .format
                    .index_of(&Field::InterfaceId)
                    .and_then(|c| column(ctx.line, c))
                    .or_else(|| crate::flowlog::tgw::attachment_text(ctx.line, ctx.format))
                {
                    self.eni_names
                        .insert(e, String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        let entry = match self.map.get_mut(&key) {
            Some(e) => e,
            None => {
                if self.map.len() >= 2 * self.share {
                    self.prune();
                }
                self.map.entry(key).or_insert(Entry {
                    stat: Stat::default(),
                    error: self.floor,
                })
            }
        };
        entry
            .stat
            .add(rec.flows, rec.packets, rec.bytes, rec.start, rec.end);
    }

    /// Lines for the raw-column filters; odd interface ids come with one.
    fn wants_lines(&self) -> bool {
        self.filter.needs_lines()
    }

    fn merge(&mut self, mut o: Self) {
        if let (Some(a), Some(b)) = (&mut self.ports, o.ports.take()) {
            a.merge_from(b);
        }
        // Each side down to its share first, so the merged table fits in
        // the one this worker already has (no table of twice the size).
        if self.map.len() > self.share {
            self.prune();
        }
        if o.map.len() > o.share {
            o.prune();
        }
        // A key one side lacks may have been counted there and dropped:
        // up to that side's floor.
        if o.floor > 0 {
            for e in self.map.values_mut() {
                e.error = e.error.saturating_add(o.floor);
            }
        }
        for (k, oe) in o.map.drain() {
            match self.map.get_mut(&k) {
                Some(e) => {
                    e.stat.merge(&oe.stat);
                    e.error = e.error - o.floor + oe.error;
                }
                None => {
                    self.map.insert(
                        k,
                        Entry {
                            stat: oe.stat,
                            error: oe.error.saturating_add(self.floor),
                        },
                    );
                }
            }
        }
        self.floor = self.floor.saturating_add(o.floor);
        self.share = self.share.saturating_add(o.share);
        if self.map.len() > 2 * self.share {
            self.prune();
        }
        for (k, v) in o.eni_names {
            self.eni_names.entry(k).or_insert(v);
        }
        if let (Some(a), Some(b)) = (&mut self.timeline, o.timeline) {
            a.merge(b);
        }
        self.without_key += o.without_key;
        self.total.merge(&o.total);
    }
}

/// The aggregate's rows summed per protocol and service port, and the
/// most of the metric any key may miss: a folded row (rejected traffic to
/// rarely hit ports, counted together) may hold any port of its protocol,
/// so its metric is every such key's possible error.
fn port_table(summary: Summary, metric: Metric) -> (HashMap<TopKey, Entry>, u64) {
    let mut map: HashMap<TopKey, Entry> = HashMap::new();
    let mut folded: HashMap<u8, u64> = HashMap::new();
    for r in &summary.rows {
        let stat = Stat {
            flows: r.flows,
            packets: r.packets,
            bytes: r.bytes,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
        };
        if r.ports_folded.is_some() {
            let f = folded.entry(r.protocol).or_default();
            *f = f.saturating_add(stat.metric(metric));
            continue;
        }
        let key = TopKey::Port {
            port: r.port,
            proto: r.protocol,
        };
        map.entry(key).or_default().stat.merge(&stat);
    }
    for (k, e) in map.iter_mut() {
        if let TopKey::Port { proto, .. } = k {
            e.error = folded.get(proto).copied().unwrap_or(0);
        }
    }
    (map, folded.values().copied().max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Format;

    fn feed(p: &mut TopProc, src: u32, bytes: u64) {
        let rec = FlowRecord {
            srcaddr: Some(Ip::v4(src)),
            dstaddr: Some(Ip::v4(1)),
            protocol: Some(6),
            packets: 1,
            bytes,
            start: Some(100),
            end: Some(160),
            ..Default::default()
        };
        let format = Format::default_v2();
        let file: Arc<str> = "f".into();
        let ctx = RecordCtx {
            file: &file,
            line_no: 1,
            line: b"",
            format: &format,
        };
        p.record(&rec, &ctx);
    }

    fn maker(counters: usize, threads: usize) -> impl Fn() -> TopProc + Sync {
        TopProc::maker(
            Arc::new(Filter::default()),
            TopBy::Src,
            Metric::Flows,
            None,
            threads,
            counters,
            None,
        )
    }

    /// Heavy hitters survive any number of light keys; their counts are
    /// within the reported error; the output says it is approximate.
    #[test]
    fn heavy_hitters_are_kept_with_bounded_error() {
        let make = maker(64, 2);
        let (mut a, mut b) = (make(), make());
        // Sources 1, 2, 3 are heavy (4, 3 and 2 flows of every 20), mixed
        // with 3,300 sources of one flow each, split over two workers.
        let mut truth: std::collections::HashMap<u32, u64> = Default::default();
        let mut n = 0u32;
        for _ in 0..300u32 {
            for (src, times) in [(1u32, 4), (2, 3), (3, 2)] {
                for _ in 0..times {
                    let p = if n.is_multiple_of(2) { &mut a } else { &mut b };
                    feed(p, src, 10);
                    *truth.entry(src).or_default() += 1;
                    n += 1;
                }
            }
            for _ in 0..11 {
                let src = 1000 + n;
                let p = if n.is_multiple_of(2) { &mut a } else { &mut b };
                feed(p, src, 10);
                *truth.entry(src).or_default() += 1;
                n += 1;
            }
        }
        a.merge(b);
        let r = a.finish();
        assert!(!r.exact);
        let top: Vec<TopKey> = r.rows.iter().take(3).map(|r| r.key).collect();
        assert_eq!(
            top,
            vec![
                TopKey::Addr(Ip::v4(1)),
                TopKey::Addr(Ip::v4(2)),
                TopKey::Addr(Ip::v4(3))
            ]
        );
        for row in &r.rows {
            let TopKey::Addr(ip) = row.key else { panic!() };
            let t = truth[&(ip.0 as u32)];
            assert!(
                row.stat.flows <= t && t <= row.stat.flows + row.error,
                "{row:?} true {t}"
            );
        }
        // Kept within the bound: twice the counters at most.
        assert!(r.rows.len() <= 128, "{}", r.rows.len());
        // Nothing unlisted counted more than the floor.
        let listed: std::collections::HashSet<TopKey> = r.rows.iter().map(|r| r.key).collect();
        for (src, t) in &truth {
            if !listed.contains(&TopKey::Addr(Ip::v4(*src))) {
                assert!(*t <= r.unlisted_max, "{src}: {t} > {}", r.unlisted_max);
            }
        }
    }

    /// Folded rows (rejected traffic to rarely hit ports, counted
    /// together by summarize's aggregate) may hold any port of their
    /// protocol: every listed key of that protocol gets their metric as
    /// its error, and the result is not exact; other protocols stay exact.
    #[test]
    fn folded_rows_are_every_ports_error() {
        use crate::aggregate::{Direction, Row, Summary};
        use crate::flowlog::record::Action;
        let row = |proto, port, action, flows, bytes, folded| Row {
            eni: EniId::NONE,
            interface_id: None,
            direction: Direction::Ingress,
            protocol: proto,
            port,
            action,
            flows,
            packets: flows,
            bytes,
            first_seen: Some(100),
            last_seen: Some(200),
            peers: Default::default(),
            ports_folded: folded,
        };
        let summary = || Summary {
            rows: vec![
                row(6, Some(443), Action::Accept, 10, 1000, None),
                row(6, Some(443), Action::Reject, 1, 40, None),
                row(6, Some(22), Action::Reject, 3, 120, None),
                row(6, None, Action::Reject, 5, 200, Some(40)),
                row(6, None, Action::Reject, 2, 80, Some(7)),
                row(17, Some(53), Action::Accept, 2, 300, None),
            ],
            interfaces: Vec::new(),
            window: None,
            overflow: 7,
            attachments: Default::default(),
        };
        let (map, floor) = port_table(summary(), Metric::Flows);
        let port = |p, proto| {
            map[&TopKey::Port {
                port: Some(p),
                proto,
            }]
        };
        assert_eq!(floor, 7);
        assert_eq!((port(443, 6).stat.flows, port(443, 6).error), (11, 7));
        assert_eq!((port(22, 6).stat.flows, port(22, 6).error), (3, 7));
        assert_eq!((port(53, 17).stat.flows, port(53, 17).error), (2, 0));
        assert_eq!(map.len(), 3, "folded rows are no key of their own");
        let (map, floor) = port_table(summary(), Metric::Bytes);
        assert_eq!(floor, 280);
        assert_eq!(
            map[&TopKey::Port {
                port: Some(443),
                proto: 6
            }]
                .stat
                .bytes,
            1040
        );
    }

    #[test]
    fn exact_below_the_bound() {
        let make = maker(1000, 2);
        let (mut a, mut b) = (make(), make());
        for i in 0..400u32 {
            feed(&mut a, i, 1);
            feed(&mut b, i % 7, 1);
        }
        a.merge(b);
        let r = a.finish();
        assert!(r.exact);
        assert_eq!(r.unlisted_max, 0);
        assert_eq!(r.rows.len(), 400);
        assert!(r.rows.iter().all(|r| r.error == 0));
        assert_eq!(r.rows[0].stat.flows, 1 + 400 / 7 + 1);
    }
}
