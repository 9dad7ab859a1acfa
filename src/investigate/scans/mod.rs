//! Scan detection: sources that, within a time window, tried many
//! distinct ports or many distinct destinations, and were mostly REJECTed.
//!
//! Outcomes are judged per *attempt*, not per record: an attempt is one
//! (source, target address, port, protocol) within a window, however many
//! records describe it (with flow logs on both ends, one connection
//! attempt is logged by the source's interface as egress and by the
//! target's as ingress, and each may be split over aggregation intervals).
//! An attempt is
//! - *rejected* if any of its records is a REJECT (the target, or the
//!   source's own group, refused it);
//! - else *accepted* if any ACCEPT record of it was not logged as egress
//!   on the source's own interface (the target's side let it in, or the
//!   side is unknown because the format has no `flow-direction`);
//! - else *unconfirmed* if its only records are ACCEPTs logged as egress
//!   on the source's interface: its own group let it out, but nothing
//!   shows the target accepting it (typically an address with no
//!   interface, or an interface without flow logs);
//! - else (no action field) *other*.
//!
//! The REJECT share is `rejected / (accepted + rejected + other)`:
//! unconfirmed attempts say nothing about the target and are left out, so
//! a sweep whose source-side records are all ACCEPT (its group allows all
//! egress) while the targets refuse it is still "mostly REJECTed".
//!
//! Only traffic a source *initiated* counts: records sent by the server
//! (responses) are ignored, so a busy service answering many clients never
//! looks like a scanner. Which side listens is summarize's answer for the
//! record: the matching records go through the same aggregate
//! (`aggregate::Aggregate`, with the same interface addresses), which tells
//! it (`Aggregate::listener`). Where the record alone cannot (both ports
//! service ports or neither, a rejected packet from a service port: about
//! 1% of busy records), the end of the run decides it for the record's
//! cell from the interface's other traffic (`Aggregate::decide`); until
//! then its attempt is *pending*, kept apart in its source's cell, and
//! touches no figure. So `scans` and `summarize` never disagree on which
//! port a record probed: an `nmap -g 53` scan whose rejected probes the
//! per-record rule took for responses from port 53 is a scan of every port
//! it probed. (The attempt's source is always the record's source: the
//! decision only says whether the record is a request.)
//!
//! Records are bucketed per source by start time into fixed windows
//! (`--window`, aligned to the epoch). A window qualifies alone or
//! together with the next one, so any burst shorter than the window is
//! caught wherever it falls (at the cost of sometimes counting a burst
//! spread over up to two windows). Consecutive qualifying windows of one
//! source make one finding.
//!
//! Memory is bounded: each (source, window) cell keeps at most `set_cap`
//! ports and targets (beyond that the distinct counts are lower bounds and
//! the finding says "capped") and at most `attempt_cap` attempts (beyond
//! that each further record counts as one attempt of its own outcome, and
//! the finding says `attempts_capped`), and at
//! most `max_cells` cells are tracked across all workers. When that cap is
//! reached, cells that look like ordinary clients (one port, one target)
//! are dropped to make room; if that is not enough, new cells are ignored.
//! Either way the run reports it, and counts become lower bounds. Pending
//! attempts are capped at `attempt_cap` per cell too (past it they are left
//! out, and the finding says `attempts_capped`); the aggregate bounds its
//! own memory as summarize's does.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use serde::Serialize;

use crate::aggregate::{Aggregate, Listener, Locals, OpenCell, RejectedKeys};
use crate::engine::{Processor, RecordCtx};
use crate::flowlog::record::{has_ports, Action, FlowRecord, Ip, PacketDirection};

use super::filter::Filter;

mod cell;

use cell::{
    open_key, outcome, Att, AttemptKey, Big, Cell, Outcome, ACCEPTED, NO_ACTION, REJECTED, SENT,
    SETTLED,
};

/// Detection settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Window size in seconds.
    pub window: u64,
    pub min_ports: usize,
    pub min_targets: usize,
    /// Minimum share of REJECTed flows, in percent.
    pub min_reject_pct: u64,
    /// Per-cell cap on each distinct set (ports, targets).
    pub set_cap: usize,
    /// Per-cell cap on attempts tracked with their outcome.
    pub attempt_cap: usize,
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
            attempt_cap: DEFAULT_ATTEMPT_CAP,
            max_cells: DEFAULT_MAX_CELLS,
        }
    }
}

/// Distinct ports and targets kept per cell.
pub const DEFAULT_SET_CAP: usize = 4096;
/// Attempts (target, port, protocol) kept with their outcome per cell.
pub const DEFAULT_ATTEMPT_CAP: usize = 16384;
/// (source, window) cells tracked at most, over all workers. An ordinary
/// client's cell (one attempt) lives inline in its table entry; measured on
/// 3 M one-record sources at -j2, the whole process peaked at 410 MiB
/// with the cap reached.
pub const DEFAULT_MAX_CELLS: usize = 1_000_000;

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
    /// Transit Gateway records among those matched (`ScanNotes`).
    tgw_records: u64,
    /// The matching records as summarize books them: it tells which side
    /// of each listens (`Aggregate::listener`), at the end of the run for
    /// the open ones (`Aggregate::decide`).
    agg: Aggregate,
    /// The aggregate's cells that pending attempts wait on, each once.
    open: OpenCells,
}

/// The cells pending attempts wait on (`AttemptKey::open`), numbered in
/// the order seen. As many as the aggregate has open cells at most.
#[derive(Debug, Default)]
struct OpenCells {
    index: HashMap<OpenCell, u32>,
    list: Vec<OpenCell>,
}

impl OpenCells {
    fn number(&mut self, c: OpenCell) -> u32 {
        let list = &mut self.list;
        *self.index.entry(c).or_insert_with(|| {
            list.push(c);
            // Two numbers to a cell in `AttemptKey::open` (`open_key`),
            // below `SETTLED`.
            u32::try_from(list.len() - 1)
                .ok()
                .filter(|&n| n < SETTLED >> 1)
                .expect("fewer than 2^31 open cells")
        })
    }
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
    /// Attempts: distinct (target, port, protocol) per window.
    pub attempts: u64,
    /// True when more attempts were made than tracked: the attempt counts
    /// are approximate (one attempt per further record).
    pub attempts_capped: bool,
    /// Attempts that were accepted (see the module doc).
    pub accepted: u64,
    /// Attempts with a REJECT record.
    pub rejected: u64,
    /// Attempts only seen leaving the source (egress ACCEPT on its own
    /// interface): no record shows the target's answer.
    pub unconfirmed: u64,
    /// Attempts left out of the figures above as the source's routine:
    /// accepted or unconfirmed, to a (target, port, protocol) it also
    /// reached outside any finding.
    pub routine_attempts: u64,
    /// ACCEPT and REJECT records (a flow logged on both ends counts twice).
    pub accept_records: u64,
    pub reject_records: u64,
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
    /// Transit Gateway records matched: they have no ACCEPT/REJECT, only
    /// the gateway's drops count as rejected (`flowlog::tgw`).
    pub tgw_records: u64,
}

impl ScanProc {
    /// A maker of per-worker processors. `locals` are the interfaces'
    /// addresses from an inventory, as summarize takes them
    /// (`commands::interfaces_for`), so that both book records alike.
    pub fn new(
        filter: Arc<Filter>,
        cfg: Arc<ScanConfig>,
        locals: Option<Arc<Locals>>,
    ) -> impl Fn() -> ScanProc + Sync {
        let shared = Arc::new(Shared::default());
        // Shared by the workers, as summarize's are (the rejected-key
        // budget holds for the run).
        let keys = Arc::new(RejectedKeys::default());
        move || ScanProc {
            filter: filter.clone(),
            cfg: cfg.clone(),
            shared: shared.clone(),
            cells: HashMap::new(),
            dropped: 0,
            tgw_records: 0,
            agg: Aggregate::sharing(locals.clone(), keys.clone()),
            open: OpenCells::default(),
        }
    }

    /// Settles every pending attempt with the end of the run's decision
    /// for its cell: counted as the source's, or dropped (the source did
    /// not initiate it).
    fn settle(&mut self) {
        let agg = std::mem::take(&mut self.agg);
        let open = std::mem::take(&mut self.open);
        if open.list.is_empty() {
            return;
        }
        let turned = agg.decide(&open.list);
        drop(open);
        let cfg = self.cfg.clone();
        self.cells.retain(|_, c| c.settle(&turned, &cfg));
    }

    /// Drops small cells to make room; marks the run full when that is
    /// not enough.
    #[cold]
    fn make_room(&mut self) {
        let before = self.cells.len();
        self.cells.retain(|_, c| !c.is_small());
        // A table keeps its size after `retain`: give the memory back, so
        // the cap bounds the sum over workers, not each worker's table.
        self.cells.shrink_to_fit();
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
    pub fn findings(mut self) -> (Vec<Finding>, ScanNotes) {
        self.settle();
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
                    pair.merge(wins[k + 1].1, cfg);
                    if pair.qualifies(cfg) {
                        q[k] = true;
                        q[k + 1] = true;
                    }
                }
            }
            // What the source reached, or sent unanswered, outside any
            // finding is its routine: left out of the findings' figures.
            let routine: HashSet<AttemptKey> = wins
                .iter()
                .zip(&q)
                .filter(|(_, &q)| !q)
                .flat_map(|((_, c), _)| c.attempts())
                .filter(|(_, a)| is_routine_outcome(a.bits))
                .map(|(k, _)| *k)
                .collect();
            let mut k = 0;
            while k < wins.len() {
                if !q[k] {
                    k += 1;
                    continue;
                }
                let mut run = wins[k].1.to_big(cfg);
                let mut last = wins[k].0;
                k += 1;
                while k < wins.len() && q[k] && wins[k].0 == last + 1 {
                    run.merge(&wins[k].1.to_big(cfg), cfg);
                    last = wins[k].0;
                    k += 1;
                }
                out.push(finding(src, &run, &routine));
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
            tgw_records: self.tgw_records,
        };
        (out, notes)
    }
}

/// Accepted or unconfirmed: an attempt that, seen outside a burst, is
/// the source's ordinary traffic.
fn is_routine_outcome(bits: u8) -> bool {
    matches!(outcome(bits), Outcome::Accepted | Outcome::Unconfirmed)
}

/// A finding from a run of windows. Attempts that are routine for the
/// source (accepted or unconfirmed, to a (target, port) it also reached
/// outside any finding) are left out of its figures, unless a cap was
/// hit (then the distinct sets are all there is).
fn finding(src: Ip, c: &Big, routine: &HashSet<AttemptKey>) -> Finding {
    let exact = !(c.ports_capped || c.targets_capped || c.attempts_capped);
    let kept: Vec<(&AttemptKey, &Att)> = c
        .attempts
        .iter()
        .filter(|(k, a)| !(exact && is_routine_outcome(a.bits) && routine.contains(*k)))
        .collect();
    let routine_attempts = (c.attempts.len() - kept.len()) as u64;
    let (ports, targets, first, last): (BTreeSet<u16>, BTreeSet<Ip>, u64, u64) =
        if exact && routine_attempts > 0 && !kept.is_empty() {
            (
                kept.iter().filter_map(|(k, _)| k.port).collect(),
                kept.iter().map(|(k, _)| k.target).collect(),
                kept.iter().map(|(_, a)| a.first).min().unwrap_or(c.first),
                kept.iter().map(|(_, a)| a.last).max().unwrap_or(c.last),
            )
        } else {
            (
                c.ports.iter().copied().collect(),
                c.targets.iter().copied().collect(),
                c.first,
                c.last,
            )
        };
    let ports: Vec<u16> = ports.into_iter().collect();
    let mut tally = c.spill;
    for (_, a) in &kept {
        tally.add(outcome(a.bits), 1);
    }
    let pairs: BTreeSet<(Ip, Option<u16>)> = kept
        .iter()
        .filter(|(_, a)| outcome(a.bits) == Outcome::Accepted)
        .map(|(k, _)| (k.target, k.port))
        .chain(c.spill_accepted.iter().copied())
        .collect();
    let accepted_ports: BTreeSet<u16> = pairs.iter().filter_map(|p| p.1).collect();
    let accepted_targets: BTreeSet<Ip> = pairs.iter().map(|p| p.0).collect();
    Finding {
        source: src.to_string(),
        first_seen: first,
        last_seen: last,
        distinct_ports: ports.len(),
        distinct_targets: targets.len(),
        ports,
        targets: targets.iter().map(Ip::to_string).collect(),
        ports_capped: c.ports_capped,
        targets_capped: c.targets_capped,
        attempts: tally.total(),
        attempts_capped: c.attempts_capped,
        accepted: tally.accepted,
        rejected: tally.rejected,
        unconfirmed: tally.unconfirmed,
        routine_attempts,
        accept_records: c.accept_records,
        reject_records: c.reject_records,
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
        self.agg.record(rec, ctx);
        self.tgw_records += rec.interface.is_attachment() as u64;
        let (Some(src), Some(dst), Some(proto)) = (rec.srcaddr, rec.dstaddr, rec.protocol) else {
            return;
        };
        let open = match self.agg.listener(rec) {
            Listener::Known(true) => SETTLED,
            Listener::Known(false) => return, // a response: the source did not initiate it
            // Pending: the end of the run says whether it counts.
            Listener::Open { cell, dst } => open_key(self.open.number(cell), dst),
        };
        let Some(t) = rec.start.or(rec.end) else {
            return;
        };
        let key = (src, t / self.cfg.window);
        let port = if has_ports(proto) { rec.dstport } else { None };
        let (bits, acc, rej) = match rec.action {
            // Egress on the initiator's own interface: only its own
            // group's verdict.
            Action::Accept if rec.flow_direction == Some(PacketDirection::Egress) => (SENT, 1, 0),
            Action::Accept => (ACCEPTED, 1, 0),
            Action::Reject => (REJECTED, 0, 1),
            Action::Unknown => (NO_ACTION, 0, 0),
        };
        let att = Att {
            bits,
            first: t,
            last: rec.end.unwrap_or(t).max(t),
        };
        let attempt = AttemptKey {
            target: dst,
            port,
            proto,
            open,
        };
        match self.cells.get_mut(&key) {
            Some(c) => c.add(attempt, att, acc, rej, &self.cfg),
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
                self.cells.insert(key, Cell::one(attempt, att, acc, rej));
            }
        }
    }

    fn wants_lines(&self) -> bool {
        self.filter.needs_lines()
    }

    fn merge(&mut self, o: Self) {
        let cfg = self.cfg.clone();
        // The other worker's cells numbered as this one's.
        let map: Vec<u32> = o.open.list.iter().map(|&c| self.open.number(c)).collect();
        self.agg.merge_from(o.agg);
        for (k, mut c) in o.cells {
            if !map.is_empty() {
                c.renumber(&map);
            }
            match self.cells.get_mut(&k) {
                Some(mine) => mine.merge(&c, &cfg),
                None => {
                    self.cells.insert(k, c);
                }
            }
        }
        self.dropped += o.dropped;
        self.tgw_records += o.tgw_records;
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
        let make = ScanProc::new(
            Arc::new(Filter::default()),
            Arc::new(ScanConfig::default()),
            None,
        );
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
        // A server answering 50 clients from 8080 is not a scanner, even
        // when a network ACL rejects its answers: the clients were seen
        // calling it (else summarize, and so scans, would take the
        // rejected packets for requests from 8080).
        for i in 0..50u16 {
            let client = format!("10.1.0.{i}");
            feed(&mut p, &client, "10.0.0.2", 50000 + i, 8080, 600, true);
            feed(&mut p, "10.0.0.2", &client, 8080, 50000 + i, 600, false);
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
        let make = ScanProc::new(Arc::new(Filter::default()), Arc::new(cfg), None);
        let mut p = make();
        for i in 0..25u16 {
            feed(&mut p, "203.0.113.9", "10.0.0.1", 60000, 1000 + i, 0, false);
        }
        for i in 0..20u64 {
            feed(&mut p, "10.9.9.9", "10.0.0.1", 60000, 443, i * 300, true);
        }
        let c = p.cells[&(
            Ip::from("203.0.113.9".parse::<std::net::IpAddr>().unwrap()),
            0,
        )]
            .to_big(&p.cfg);
        assert!(c.ports_capped);
        assert_eq!(c.ports.len(), 4);
        let (f, notes) = p.findings();
        assert!(notes.pruned);
        assert_eq!(f.len(), 0, "20 ports needed, only 4 kept: {f:?}");
    }
}
