//! Scan detection: sources that, within a time window, tried many
//! distinct ports or many distinct destinations, and were mostly REJECTed.
//!
//! Only traffic a source *initiated* counts: the listening side of each
//! record comes from `aggregate::direction::server_is_dst`, and records
//! sent by the server (responses) are ignored, so a busy service answering
//! many clients never looks like a scanner.
//!
//! Records are bucketed per source by start time into fixed windows
//! (`--window`, aligned to the epoch). A window qualifies alone or
//! together with the next one, so any burst shorter than the window is
//! caught wherever it falls (at the cost of sometimes counting a burst
//! spread over up to two windows). Consecutive qualifying windows of one
//! source make one finding.
//!
//! Memory is bounded: each (source, window) cell keeps at most `set_cap`
//! ports, targets and accepted (target, port) pairs (beyond that the
//! distinct counts are lower bounds and the finding says "capped"), and at
//! most `max_cells` cells are tracked across all workers. When that cap is
//! reached, cells that look like ordinary clients (one port, one target)
//! are dropped to make room; if that is not enough, new cells are ignored.
//! Either way the run reports it, and counts become lower bounds.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use serde::Serialize;

use crate::aggregate::direction::server_is_dst;
use crate::engine::{Processor, RecordCtx};
use crate::flowlog::record::{has_ports, Action, FlowRecord, Ip};

use super::filter::Filter;

/// Detection settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Window size in seconds.
    pub window: u64,
    pub min_ports: usize,
    pub min_targets: usize,
    /// Minimum share of REJECTed flows, in percent.
    pub min_reject_pct: u64,
    /// Per-cell cap on each distinct set.
    pub set_cap: usize,
    /// Cap on (source, window) cells tracked across all workers.
    pub max_cells: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            window: 300,
            min_ports: 20,
            min_targets: 10,
            min_reject_pct: 50,
            set_cap: DEFAULT_SET_CAP,
            max_cells: DEFAULT_MAX_CELLS,
        }
    }
}

/// Distinct ports, targets and accepted pairs kept per cell.
pub const DEFAULT_SET_CAP: usize = 4096;
/// (source, window) cells tracked at most: about 400 bytes each for an
/// ordinary client (one port, one target), so about 400 MB at the cap.
pub const DEFAULT_MAX_CELLS: usize = 1_000_000;

/// What one source did in one window.
#[derive(Debug, Default, Clone)]
struct Cell {
    ports: HashSet<u16>,
    targets: HashSet<Ip>,
    accepted_pairs: HashSet<(Ip, Option<u16>)>,
    ports_capped: bool,
    targets_capped: bool,
    accepted: u64,
    rejected: u64,
    /// Flows without an action field.
    other: u64,
    first: u64,
    last: u64,
}

impl Cell {
    fn new(t: u64) -> Cell {
        Cell {
            first: t,
            last: t,
            ..Default::default()
        }
    }

    fn add_port(&mut self, p: u16, cap: usize) {
        if self.ports.len() < cap {
            self.ports.insert(p);
        } else if !self.ports.contains(&p) {
            self.ports_capped = true;
        }
    }

    fn add_target(&mut self, t: Ip, cap: usize) {
        if self.targets.len() < cap {
            self.targets.insert(t);
        } else if !self.targets.contains(&t) {
            self.targets_capped = true;
        }
    }

    fn merge(&mut self, o: &Cell, cap: usize) {
        for &p in &o.ports {
            self.add_port(p, cap);
        }
        for &t in &o.targets {
            self.add_target(t, cap);
        }
        for &pair in &o.accepted_pairs {
            if self.accepted_pairs.len() < cap {
                self.accepted_pairs.insert(pair);
            }
        }
        self.ports_capped |= o.ports_capped;
        self.targets_capped |= o.targets_capped;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.other += o.other;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    /// Looks like an ordinary client: safe to drop under memory pressure.
    fn is_small(&self) -> bool {
        self.ports.len() <= 1 && self.targets.len() <= 1
    }

    fn qualifies(&self, c: &ScanConfig) -> bool {
        let total = self.accepted + self.rejected + self.other;
        total > 0
            && (self.ports.len() >= c.min_ports || self.targets.len() >= c.min_targets)
            && self.rejected * 100 >= c.min_reject_pct * total
    }
}

/// State shared by all workers.
#[derive(Debug, Default)]
struct Shared {
    cells: AtomicUsize,
    pruned: AtomicBool,
    full: AtomicBool,
}

/// The processor behind `flowscope scans`.
pub struct ScanProc {
    filter: Arc<Filter>,
    cfg: Arc<ScanConfig>,
    shared: Arc<Shared>,
    cells: HashMap<(Ip, u64), Cell>,
    /// Records ignored because the cell cap was reached.
    pub dropped: u64,
}

/// One detected scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub source: String,
    pub first_seen: u64,
    pub last_seen: u64,
    pub distinct_ports: usize,
    pub distinct_targets: usize,
    /// Distinct ports tried, sorted (at most the per-cell cap per window).
    pub ports: Vec<u16>,
    pub targets: Vec<String>,
    /// True when more ports (targets) were tried than kept: the counts are lower bounds.
    pub ports_capped: bool,
    pub targets_capped: bool,
    pub accepted: u64,
    pub rejected: u64,
    pub accepted_ports: Vec<u16>,
    pub accepted_targets: Vec<String>,
    /// What was let through: target and port (null for protocols without ports).
    pub accepted_pairs: Vec<AcceptedPair>,
    #[serde(skip)]
    source_ip: Ip,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedPair {
    pub target: String,
    pub port: Option<u16>,
}

/// Run-level notes for stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanNotes {
    pub pruned: bool,
    pub full: bool,
    pub dropped: u64,
}

impl ScanProc {
    pub fn new(filter: Arc<Filter>, cfg: Arc<ScanConfig>) -> impl Fn() -> ScanProc + Sync {
        let shared = Arc::new(Shared::default());
        move || ScanProc {
            filter: filter.clone(),
            cfg: cfg.clone(),
            shared: shared.clone(),
            cells: HashMap::new(),
            dropped: 0,
        }
    }

    /// Drops small cells to make room; marks the run full when that is
    /// not enough.
    #[cold]
    fn make_room(&mut self) {
        let before = self.cells.len();
        self.cells.retain(|_, c| !c.is_small());
        let freed = before - self.cells.len();
        if freed > 0 {
            self.shared.pruned.store(true, Ordering::Relaxed);
            self.shared.cells.fetch_sub(freed, Ordering::Relaxed);
        }
        if self.shared.cells.load(Ordering::Relaxed) >= self.cfg.max_cells * 3 / 4 {
            self.shared.full.store(true, Ordering::Relaxed);
        }
    }

    /// The findings, most important first: anything ACCEPTed, then by
    /// distinct ports, distinct targets, source.
    pub fn findings(&self) -> (Vec<Finding>, ScanNotes) {
        let cfg = &*self.cfg;
        let mut keys: Vec<&(Ip, u64)> = self.cells.keys().collect();
        keys.sort_unstable();
        let mut out = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let src = keys[i].0;
            let mut j = i;
            while j < keys.len() && keys[j].0 == src {
                j += 1;
            }
            let wins: Vec<(u64, &Cell)> =
                keys[i..j].iter().map(|k| (k.1, &self.cells[*k])).collect();
            // A window qualifies alone or with a neighbour.
            let mut q = vec![false; wins.len()];
            for k in 0..wins.len() {
                if wins[k].1.qualifies(cfg) {
                    q[k] = true;
                }
                if k + 1 < wins.len() && wins[k + 1].0 == wins[k].0 + 1 {
                    let mut pair = wins[k].1.clone();
                    pair.merge(wins[k + 1].1, cfg.set_cap);
                    if pair.qualifies(cfg) {
                        q[k] = true;
                        q[k + 1] = true;
                    }
                }
            }
            let mut k = 0;
            while k < wins.len() {
                if !q[k] {
                    k += 1;
                    continue;
                }
                let mut run = wins[k].1.clone();
                let mut last = wins[k].0;
                k += 1;
                while k < wins.len() && q[k] && wins[k].0 == last + 1 {
                    run.merge(wins[k].1, cfg.set_cap);
                    last = wins[k].0;
                    k += 1;
                }
                out.push(finding(src, &run));
            }
            i = j;
        }
        out.sort_by(|a, b| {
            (b.accepted > 0)
                .cmp(&(a.accepted > 0))
                .then(b.distinct_ports.cmp(&a.distinct_ports))
                .then(b.distinct_targets.cmp(&a.distinct_targets))
                .then(a.source_ip.cmp(&b.source_ip))
                .then(a.first_seen.cmp(&b.first_seen))
        });
        let notes = ScanNotes {
            pruned: self.shared.pruned.load(Ordering::Relaxed),
            full: self.shared.full.load(Ordering::Relaxed),
            dropped: self.dropped,
        };
        (out, notes)
    }
}

fn finding(src: Ip, c: &Cell) -> Finding {
    let ports: Vec<u16> = c
        .ports
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let targets: BTreeSet<Ip> = c.targets.iter().copied().collect();
    let pairs: BTreeSet<(Ip, Option<u16>)> = c.accepted_pairs.iter().copied().collect();
    let accepted_ports: BTreeSet<u16> = pairs.iter().filter_map(|p| p.1).collect();
    let accepted_targets: BTreeSet<Ip> = pairs.iter().map(|p| p.0).collect();
    Finding {
        source: src.to_string(),
        first_seen: c.first,
        last_seen: c.last,
        distinct_ports: ports.len(),
        distinct_targets: targets.len(),
        ports,
        targets: targets.iter().map(Ip::to_string).collect(),
        ports_capped: c.ports_capped,
        targets_capped: c.targets_capped,
        accepted: c.accepted,
        rejected: c.rejected,
        accepted_ports: accepted_ports.into_iter().collect(),
        accepted_targets: accepted_targets.iter().map(Ip::to_string).collect(),
        accepted_pairs: pairs
            .iter()
            .map(|(t, p)| AcceptedPair {
                target: t.to_string(),
                port: *p,
            })
            .collect(),
        source_ip: src,
    }
}

impl Processor for ScanProc {
    #[inline]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        if !self.filter.matches(rec, ctx) {
            return;
        }
        let (Some(src), Some(dst), Some(proto)) = (rec.srcaddr, rec.dstaddr, rec.protocol) else {
            return;
        };
        if !server_is_dst(rec, proto).0 {
            return; // a response: the source did not initiate it
        }
        let Some(t) = rec.start.or(rec.end) else {
            return;
        };
        let cap = self.cfg.set_cap;
        let key = (src, t / self.cfg.window);
        let cell = match self.cells.get_mut(&key) {
            Some(c) => c,
            None => {
                if self.shared.cells.load(Ordering::Relaxed) >= self.cfg.max_cells {
                    if !self.shared.full.load(Ordering::Relaxed) {
                        self.make_room();
                    }
                    if self.shared.full.load(Ordering::Relaxed) {
                        self.dropped += 1;
                        return;
                    }
                }
                self.shared.cells.fetch_add(1, Ordering::Relaxed);
                self.cells.entry(key).or_insert_with(|| Cell::new(t))
            }
        };
        let port = if has_ports(proto) { rec.dstport } else { None };
        if let Some(p) = port {
            cell.add_port(p, cap);
        }
        cell.add_target(dst, cap);
        match rec.action {
            Action::Accept => {
                cell.accepted += 1;
                if cell.accepted_pairs.len() < cap {
                    cell.accepted_pairs.insert((dst, port));
                }
            }
            Action::Reject => cell.rejected += 1,
            Action::Unknown => cell.other += 1,
        }
        cell.first = cell.first.min(t);
        cell.last = cell.last.max(rec.end.unwrap_or(t));
    }

    fn merge(&mut self, o: Self) {
        let cap = self.cfg.set_cap;
        for (k, c) in o.cells {
            match self.cells.get_mut(&k) {
                Some(mine) => mine.merge(&c, cap),
                None => {
                    self.cells.insert(k, c);
                }
            }
        }
        self.dropped += o.dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Format;

    fn feed(p: &mut ScanProc, src: &str, dst: &str, sp: u16, dp: u16, t: u64, accept: bool) {
        let rec = FlowRecord {
            srcaddr: Some(Ip::from(src.parse::<std::net::IpAddr>().unwrap())),
            dstaddr: Some(Ip::from(dst.parse::<std::net::IpAddr>().unwrap())),
            srcport: Some(sp),
            dstport: Some(dp),
            protocol: Some(6),
            start: Some(t),
            end: Some(t + 10),
            action: if accept {
                Action::Accept
            } else {
                Action::Reject
            },
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

    #[test]
    fn burst_across_a_window_boundary_is_one_finding() {
        let make = ScanProc::new(Arc::new(Filter::default()), Arc::new(ScanConfig::default()));
        let mut p = make();
        // 30 ports, half before and half after the 600 s boundary.
        for i in 0..30u16 {
            feed(
                &mut p,
                "203.0.113.9",
                "10.0.0.1",
                60000,
                1000 + i,
                585 + i as u64,
                i == 7,
            );
        }
        // A server answering 50 clients from 8080 is not a scanner.
        for i in 0..50u16 {
            feed(
                &mut p,
                "10.0.0.2",
                &format!("10.1.0.{i}"),
                8080,
                50000 + i,
                600,
                false,
            );
        }
        let (f, notes) = p.findings();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].source, "203.0.113.9");
        assert_eq!(f[0].distinct_ports, 30);
        assert_eq!((f[0].accepted, f[0].rejected), (1, 29));
        assert_eq!(f[0].accepted_ports, vec![1007]);
        assert_eq!((f[0].first_seen, f[0].last_seen), (585, 624));
        assert_eq!(notes, ScanNotes::default());
    }

    #[test]
    fn cell_cap_prunes_small_cells_first() {
        let cfg = ScanConfig {
            max_cells: 8,
            set_cap: 4,
            ..Default::default()
        };
        let make = ScanProc::new(Arc::new(Filter::default()), Arc::new(cfg));
        let mut p = make();
        for i in 0..25u16 {
            feed(&mut p, "203.0.113.9", "10.0.0.1", 60000, 1000 + i, 0, false);
        }
        for i in 0..20u64 {
            feed(&mut p, "10.9.9.9", "10.0.0.1", 60000, 443, i * 300, true);
        }
        let (f, notes) = p.findings();
        assert!(notes.pruned);
        assert_eq!(f.len(), 0, "20 ports needed, only 4 kept: {f:?}");
        let c = &p.cells[&(
            Ip::from("203.0.113.9".parse::<std::net::IpAddr>().unwrap()),
            0,
        )];
        assert!(c.ports_capped);
        assert_eq!(c.ports.len(), 4);
    }
}
