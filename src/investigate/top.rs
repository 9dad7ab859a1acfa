//! Top talkers: exact totals per key (source, destination, interface,
//! service port or address pair), one hash map per worker, merged.

use std::sync::Arc;

use hashbrown::HashMap;

use crate::aggregate::direction::server_is_dst;
use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{has_ports, EniId, FlowRecord, Ip};
use crate::report::proto_label;

use super::filter::{column, Filter};
use super::timeline::Timeline;

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TopBy {
    /// Source address (srcaddr)
    Src,
    /// Destination address (dstaddr)
    Dst,
    /// Network interface (interface-id)
    Eni,
    /// Service port and protocol: the listening side's port, never an ephemeral one
    Port,
    /// Source → destination address pair
    Pair,
}

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

    fn merge(&mut self, o: &Stat) {
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

/// The processor behind `flowscope top`.
pub struct TopProc {
    filter: Arc<Filter>,
    by: TopBy,
    map: HashMap<TopKey, Stat>,
    /// Text of interface ids that do not pack (rare).
    eni_names: HashMap<EniId, String>,
    pub timeline: Option<Timeline>,
    /// Matching records that lack the key (e.g. no interface-id column).
    pub without_key: u64,
    /// Totals over every matching record.
    pub total: Stat,
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    pub key: TopKey,
    pub label: String,
    pub stat: Stat,
}

impl TopProc {
    pub fn new(filter: Arc<Filter>, by: TopBy, bucket: Option<u64>) -> TopProc {
        TopProc {
            filter,
            by,
            map: HashMap::new(),
            eni_names: HashMap::new(),
            timeline: bucket.map(Timeline::new),
            without_key: 0,
            total: Stat::default(),
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
            TopBy::Port => {
                let proto = rec.protocol?;
                let port = if has_ports(proto) {
                    if server_is_dst(rec, proto).0 {
                        rec.dstport
                    } else {
                        rec.srcport
                    }
                } else {
                    None
                };
                TopKey::Port { port, proto }
            }
        })
    }

    /// Rows ranked by `metric` (largest first), ties by key.
    pub fn ranked(&self, metric: Metric) -> Vec<TopRow> {
        let mut v: Vec<TopRow> = self
            .map
            .iter()
            .map(|(k, s)| TopRow {
                key: *k,
                label: self.label(k),
                stat: *s,
            })
            .collect();
        v.sort_unstable_by(|a, b| {
            b.stat
                .metric(metric)
                .cmp(&a.stat.metric(metric))
                .then(a.key.cmp(&b.key))
        });
        v
    }

    /// Number of distinct keys.
    pub fn keys(&self) -> usize {
        self.map.len()
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
            TopKey::Port { port: None, proto } => proto_label(*proto),
        }
    }
}

impl Processor for TopProc {
    #[inline]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        if !self.filter.matches(rec, ctx) {
            return;
        }
        self.total
            .add(1, rec.packets, rec.bytes, rec.start, rec.end);
        if let Some(t) = &mut self.timeline {
            t.add(rec);
        }
        let Some(key) = self.key(rec) else {
            self.without_key += 1;
            return;
        };
        if let TopKey::Eni(e) = key {
            if e.is_hashed() && !self.eni_names.contains_key(&e) {
                if let Some(text) = ctx
                    .format
                    .index_of(&Field::InterfaceId)
                    .and_then(|c| column(ctx.line, c))
                {
                    self.eni_names
                        .insert(e, String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        self.map
            .entry(key)
            .or_default()
            .add(1, rec.packets, rec.bytes, rec.start, rec.end);
    }

    fn merge(&mut self, o: Self) {
        for (k, s) in o.map {
            self.map.entry(k).or_default().merge(&s);
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
