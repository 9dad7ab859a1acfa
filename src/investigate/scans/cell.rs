//! The state kept per (source, window): its attempts and their outcomes,
//! inline for the one-attempt cells of ordinary clients (`Cell::One`),
//! with bounded sets past that (`Big`). See the parent module for what an
//! attempt and its outcome are.

use hashbrown::{HashMap, HashSet};

use super::ScanConfig;
use crate::flowlog::record::Ip;

/// Outcome bits of one attempt (ORed over its records).
pub(super) const REJECTED: u8 = 1;
/// An ACCEPT not logged as egress on the source's own interface.
pub(super) const ACCEPTED: u8 = 2;
/// An ACCEPT logged as egress on the source's own interface.
pub(super) const SENT: u8 = 4;
/// A record without an action field.
pub(super) const NO_ACTION: u8 = 8;

/// What one attempt is: its target (address, port, protocol), and whether
/// it counts at all, when the end of the run decides that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct AttemptKey {
    pub(super) target: Ip,
    pub(super) port: Option<u16>,
    pub(super) proto: u8,
    /// `SETTLED` when its records told alone that the source initiated
    /// them; else `open_key`: pending the end of the run's decision for
    /// the aggregate's cell (`aggregate::Listener::Open`), counted only if
    /// the decision makes the target the listening side.
    pub(super) open: u32,
}

/// `AttemptKey::open` of an attempt that counts.
pub(super) const SETTLED: u32 = u32::MAX;

/// `AttemptKey::open` of a pending attempt: the index of its cell among
/// those asked about (`ScanProc::open`), and the record's guess.
pub(super) fn open_key(index: u32, dst_listens: bool) -> u32 {
    index << 1 | dst_listens as u32
}

/// True when a pending attempt counts: its record's guess, kept or turned
/// round by its cell's decision, makes the target listen.
pub(super) fn counts(open: u32, turned: &[bool]) -> bool {
    let dst_listens = open & 1 == 1;
    dst_listens != turned[(open >> 1) as usize]
}

/// One attempt: its outcome bits and when it was seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Att {
    pub(super) bits: u8,
    pub(super) first: u64,
    pub(super) last: u64,
}

/// How an attempt ended, from its ORed outcome bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Rejected,
    Accepted,
    Other,
    Unconfirmed,
}

pub(super) fn outcome(bits: u8) -> Outcome {
    if bits & REJECTED != 0 {
        Outcome::Rejected
    } else if bits & ACCEPTED != 0 {
        Outcome::Accepted
    } else if bits & NO_ACTION != 0 {
        Outcome::Other
    } else {
        Outcome::Unconfirmed
    }
}

/// Attempt counts by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) accepted: u64,
    pub(super) rejected: u64,
    pub(super) unconfirmed: u64,
    pub(super) other: u64,
}

impl Tally {
    pub(super) fn add(&mut self, o: Outcome, n: u64) {
        match o {
            Outcome::Rejected => self.rejected += n,
            Outcome::Accepted => self.accepted += n,
            Outcome::Other => self.other += n,
            Outcome::Unconfirmed => self.unconfirmed += n,
        }
    }

    pub(super) fn merge(&mut self, o: &Tally) {
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.unconfirmed += o.unconfirmed;
        self.other += o.other;
    }

    pub(super) fn total(&self) -> u64 {
        self.accepted + self.rejected + self.unconfirmed + self.other
    }

    /// Mostly REJECTed, as `--min-reject-pct` asks.
    pub(super) fn qualifies(&self, c: &ScanConfig) -> bool {
        // Unconfirmed attempts say nothing about the target: left out.
        let known = self.accepted + self.rejected + self.other;
        if c.min_reject_pct == 0 {
            self.total() > 0
        } else {
            known > 0 && self.rejected * 100 >= c.min_reject_pct * known
        }
    }
}

/// What one source did in one window. Most cells are ordinary clients
/// that made one attempt (one port, one target): those are kept inline
/// (`One`, no allocation of its own) and get their sets (`Big`) only with a second
/// attempt. Before, every cell allocated three hash sets, about 1 KB for
/// a one-record cell, so the default cap took over 1 GB.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    One {
        key: AttemptKey,
        att: Att,
        accept_records: u64,
        reject_records: u64,
    },
    Many(Box<Big>),
}

/// A pending attempt (`AttemptKey::open`): what it adds to its cell once
/// it counts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub(super) att: Att,
    pub(super) accept_records: u64,
    pub(super) reject_records: u64,
}

/// A cell with more than one attempt.
#[derive(Debug, Default, Clone)]
pub(super) struct Big {
    pub(super) ports: HashSet<u16>,
    pub(super) targets: HashSet<Ip>,
    pub(super) ports_capped: bool,
    pub(super) targets_capped: bool,
    /// Attempts and their outcome bits (at most `attempt_cap`).
    pub(super) attempts: HashMap<AttemptKey, Att>,
    pub(super) attempts_capped: bool,
    /// Records beyond the attempt cap, one attempt each.
    pub(super) spill: Tally,
    /// Accepted (target, port) of spilled records (at most `set_cap`).
    pub(super) spill_accepted: HashSet<(Ip, Option<u16>)>,
    pub(super) accept_records: u64,
    pub(super) reject_records: u64,
    pub(super) first: u64,
    pub(super) last: u64,
    /// Pending attempts (at most `attempt_cap`), kept apart until the end
    /// of the run says which count (`settle`): they touch none of the
    /// figures above before.
    pub(super) pending: HashMap<AttemptKey, Pending>,
    /// Pending attempts past the cap were left out: the counts are then
    /// approximate (`attempts_capped` once settled).
    pub(super) pending_capped: bool,
}

impl Cell {
    pub(super) fn one(key: AttemptKey, att: Att, accept_records: u64, reject_records: u64) -> Cell {
        Cell::One {
            key,
            att,
            accept_records,
            reject_records,
        }
    }

    /// Adds an attempt seen in `accept_records` ACCEPT and
    /// `reject_records` REJECT records.
    pub(super) fn add(&mut self, k: AttemptKey, a: Att, acc: u64, rej: u64, c: &ScanConfig) {
        match self {
            Cell::One {
                key,
                att,
                accept_records,
                reject_records,
            } if *key == k => {
                att.bits |= a.bits;
                att.first = att.first.min(a.first);
                att.last = att.last.max(a.last);
                *accept_records += acc;
                *reject_records += rej;
            }
            Cell::One { .. } => {
                let mut b = self.to_big(c);
                b.add(k, a, acc, rej, c);
                *self = Cell::Many(Box::new(b));
            }
            Cell::Many(b) => b.add(k, a, acc, rej, c),
        }
    }

    pub(super) fn merge(&mut self, o: &Cell, c: &ScanConfig) {
        match o {
            Cell::One {
                key,
                att,
                accept_records,
                reject_records,
            } => self.add(*key, *att, *accept_records, *reject_records, c),
            Cell::Many(ob) => {
                if let Cell::One { .. } = self {
                    *self = Cell::Many(Box::new(self.to_big(c)));
                }
                if let Cell::Many(b) = self {
                    b.merge(ob, c);
                }
            }
        }
    }

    /// The cell with its sets (a copy).
    pub(super) fn to_big(&self, c: &ScanConfig) -> Big {
        match self {
            Cell::One {
                key,
                att,
                accept_records,
                reject_records,
            } => {
                let mut b = Big {
                    first: u64::MAX,
                    last: 0,
                    ..Default::default()
                };
                b.add(*key, *att, *accept_records, *reject_records, c);
                b
            }
            Cell::Many(b) => (**b).clone(),
        }
    }

    /// The attempts and their outcome bits.
    pub(super) fn attempts(&self) -> impl Iterator<Item = (&AttemptKey, &Att)> {
        let (one, many) = match self {
            Cell::One { key, att, .. } => (Some((key, att)), None),
            Cell::Many(b) => (None, Some(b.attempts.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Counts the pending attempts the end of the run made the source's
    /// (`counts`), and drops the others. False when nothing is left.
    pub(super) fn settle(&mut self, turned: &[bool], c: &ScanConfig) -> bool {
        match self {
            Cell::One { key, .. } => {
                if key.open == SETTLED {
                    return true;
                }
                let keep = counts(key.open, turned);
                key.open = SETTLED;
                keep
            }
            Cell::Many(b) => {
                for (mut k, p) in std::mem::take(&mut b.pending) {
                    if counts(k.open, turned) {
                        k.open = SETTLED;
                        b.add(k, p.att, p.accept_records, p.reject_records, c);
                    }
                }
                b.attempts_capped |= b.pending_capped;
                !b.attempts.is_empty() || b.spill.total() > 0
            }
        }
    }

    /// Renumbers pending attempts' cells (`map`: old index to new), as
    /// another worker's cells join this one's.
    pub(super) fn renumber(&mut self, map: &[u32]) {
        let new = |open: u32| {
            if open == SETTLED {
                open
            } else {
                open_key(map[(open >> 1) as usize], open & 1 == 1)
            }
        };
        match self {
            Cell::One { key, .. } => key.open = new(key.open),
            Cell::Many(b) => {
                if !b.pending.is_empty() {
                    // One to one: no two keys become one.
                    b.pending = std::mem::take(&mut b.pending)
                        .into_iter()
                        .map(|(mut k, p)| {
                            k.open = new(k.open);
                            (k, p)
                        })
                        .collect();
                }
            }
        }
    }

    /// Looks like an ordinary client: safe to drop under memory pressure.
    pub(super) fn is_small(&self) -> bool {
        match self {
            Cell::One { .. } => true,
            Cell::Many(b) => b.is_small(),
        }
    }

    pub(super) fn qualifies(&self, c: &ScanConfig) -> bool {
        match self {
            Cell::One { key, att, .. } => {
                let ports = key.port.is_some() as usize;
                (ports >= c.min_ports || 1 >= c.min_targets) && {
                    let mut t = Tally::default();
                    t.add(outcome(att.bits), 1);
                    t.qualifies(c)
                }
            }
            Cell::Many(b) => b.qualifies(c),
        }
    }
}

impl Big {
    /// Adds an attempt: its port and target, its outcome bits and records.
    pub(super) fn add(&mut self, k: AttemptKey, a: Att, acc: u64, rej: u64, c: &ScanConfig) {
        if k.open != SETTLED {
            return self.add_pending(k, a, acc, rej, c);
        }
        if let Some(p) = k.port {
            self.add_port(p, c.set_cap);
        }
        self.add_target(k.target, c.set_cap);
        self.add_attempt(k, a, c);
        self.accept_records += acc;
        self.reject_records += rej;
        self.first = self.first.min(a.first);
        self.last = self.last.max(a.last);
    }

    pub(super) fn add_port(&mut self, p: u16, cap: usize) {
        if self.ports.len() < cap {
            self.ports.insert(p);
        } else if !self.ports.contains(&p) {
            self.ports_capped = true;
        }
    }

    pub(super) fn add_target(&mut self, t: Ip, cap: usize) {
        if self.targets.len() < cap {
            self.targets.insert(t);
        } else if !self.targets.contains(&t) {
            self.targets_capped = true;
        }
    }

    /// Records outcome bits for an attempt; past the cap, counts them as
    /// one more attempt instead.
    pub(super) fn add_attempt(&mut self, k: AttemptKey, a: Att, c: &ScanConfig) {
        let bits = a.bits;
        if let Some(b) = self.attempts.get_mut(&k) {
            b.bits |= a.bits;
            b.first = b.first.min(a.first);
            b.last = b.last.max(a.last);
        } else if self.attempts.len() < c.attempt_cap {
            self.attempts.insert(k, a);
        } else {
            self.attempts_capped = true;
            let o = outcome(bits);
            self.spill.add(o, 1);
            if o == Outcome::Accepted && self.spill_accepted.len() < c.set_cap {
                self.spill_accepted.insert((k.target, k.port));
            }
        }
    }

    /// Keeps a pending attempt apart (past the cap, leaves it out).
    fn add_pending(&mut self, k: AttemptKey, a: Att, acc: u64, rej: u64, c: &ScanConfig) {
        if let Some(p) = self.pending.get_mut(&k) {
            p.att.bits |= a.bits;
            p.att.first = p.att.first.min(a.first);
            p.att.last = p.att.last.max(a.last);
            p.accept_records += acc;
            p.reject_records += rej;
        } else if self.pending.len() < c.attempt_cap {
            let p = Pending {
                att: a,
                accept_records: acc,
                reject_records: rej,
            };
            self.pending.insert(k, p);
        } else {
            self.pending_capped = true;
        }
    }

    pub(super) fn merge(&mut self, o: &Big, c: &ScanConfig) {
        for (&k, p) in &o.pending {
            self.add_pending(k, p.att, p.accept_records, p.reject_records, c);
        }
        self.pending_capped |= o.pending_capped;
        for &p in &o.ports {
            self.add_port(p, c.set_cap);
        }
        for &t in &o.targets {
            self.add_target(t, c.set_cap);
        }
        for (&k, &a) in &o.attempts {
            self.add_attempt(k, a, c);
        }
        for &pair in &o.spill_accepted {
            if self.spill_accepted.len() < c.set_cap {
                self.spill_accepted.insert(pair);
            }
        }
        self.spill.merge(&o.spill);
        self.ports_capped |= o.ports_capped;
        self.targets_capped |= o.targets_capped;
        self.attempts_capped |= o.attempts_capped;
        self.accept_records += o.accept_records;
        self.reject_records += o.reject_records;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    /// Attempts by outcome.
    pub(super) fn tally(&self) -> Tally {
        let mut t = self.spill;
        for a in self.attempts.values() {
            t.add(outcome(a.bits), 1);
        }
        t
    }

    /// Looks like an ordinary client: safe to drop under memory pressure.
    /// (Pending attempts too: a scan whose every probe waits for the end
    /// of the run is not small.)
    pub(super) fn is_small(&self) -> bool {
        if self.ports.len() > 1 || self.targets.len() > 1 {
            return false;
        }
        let mut port = self.ports.iter().next().copied();
        let mut target = self.targets.iter().next().copied();
        for k in self.pending.keys() {
            if k.port.is_some_and(|p| *port.get_or_insert(p) != p)
                || *target.get_or_insert(k.target) != k.target
            {
                return false;
            }
        }
        true
    }

    pub(super) fn qualifies(&self, c: &ScanConfig) -> bool {
        if self.ports.len() < c.min_ports && self.targets.len() < c.min_targets {
            return false;
        }
        self.tally().qualifies(c)
    }
}
