//! The one place memory could grow without bound: rejected traffic to
//! random ports (scanners probing any port from any source port make one
//! row per probe). Accepted rows are always exact (rules are built from
//! them and they are bounded by the services really in use), and so are
//! rejected rows to service ports. Rejected rows to other ports stay
//! exact until there are more than a budget of them (`MAX_REJECTED_KEYS`
//! for the whole run, whatever the thread count); past it a sample of
//! them, chosen by a hash of the row's key, stays exact and the rest fold
//! into one row per interface, direction, protocol and action, with port
//! `null` and the number of distinct ports folded.
//!
//! The sample does not depend on thread count or file order. A key folds
//! iff its hash is below a cut set from the number of distinct foldable
//! keys in the whole input, `D`: keep a share `budget / D`. `D` is a
//! HyperLogLog estimate, whose registers are the maximum over every key
//! seen, whatever the order or split: the final `D` is a function of the
//! set of keys. During the run workers raise their cut from the registers
//! of all workers so far (shared atomics), which are never above the
//! final ones, and the estimate only grows with them: a key folded early
//! is below the final cut too, and a key kept was kept whole. At the end
//! the final cut folds whatever is left below it. So memory follows the
//! budget, not the input, and the output follows the input alone.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Distinct foldable keys (rejected, port outside the service list) kept
/// exact across the run: ~150 bytes each with their peer in a cell, so
/// ~40 MB. (5 million records of the busy profile have 243,601.)
pub const MAX_REJECTED_KEYS: u64 = 1 << 18;

const BITS: u32 = 12;
const REGS: usize = 1 << BITS;

/// Observations between two looks at the shared registers (fewer for a
/// budget smaller than that).
const CHECK: u64 = 4096;

/// The foldable keys seen by every worker of a run (HyperLogLog
/// registers), and the budget. One per run, shared by its workers.
#[derive(Debug)]
pub struct RejectedKeys {
    regs: Box<[AtomicU8]>,
    limit: u64,
}

impl Default for RejectedKeys {
    fn default() -> Self {
        RejectedKeys::with_limit(MAX_REJECTED_KEYS)
    }
}

impl RejectedKeys {
    /// Keys kept exact: `limit` (tests use small ones).
    pub fn with_limit(limit: u64) -> RejectedKeys {
        RejectedKeys {
            regs: (0..REGS).map(|_| AtomicU8::new(0)).collect(),
            limit: limit.max(1),
        }
    }

    fn estimate(&self) -> f64 {
        estimate(self.regs.iter().map(|r| r.load(Ordering::Relaxed)))
    }
}

/// One worker's side of the fold.
#[derive(Debug, Clone, Default)]
pub(super) struct Fold {
    shared: Arc<RejectedKeys>,
    /// This aggregate's registers (merged by maximum): at the end, those
    /// of every key of the run.
    regs: Option<Box<[u8; REGS]>>,
    /// Keys whose hash is below fold.
    cut: u64,
    /// The estimate `cut` was set from.
    cut_at: f64,
    since_check: u64,
}

impl Fold {
    pub fn new(shared: Arc<RejectedKeys>) -> Fold {
        Fold {
            shared,
            ..Fold::default()
        }
    }

    /// Counts a foldable key; true if it folds.
    #[inline]
    pub fn observe(&mut self, h: u64) -> bool {
        let regs = self.regs.get_or_insert_with(|| Box::new([0; REGS]));
        let (i, rank) = register(h);
        if regs[i] < rank {
            regs[i] = rank;
            self.shared.regs[i].fetch_max(rank, Ordering::Relaxed);
        }
        h < self.cut
    }

    /// True when the cut rose and cells below it should fold now. Looks
    /// at the shared registers every `CHECK` observations.
    #[inline]
    pub fn due(&mut self) -> bool {
        self.since_check += 1;
        if self.since_check < CHECK.min(self.shared.limit / 4 + 1) {
            return false;
        }
        self.since_check = 0;
        let est = self.shared.estimate();
        self.raise(est)
    }

    /// Sets the cut for an estimate of `est` keys, if it grew by an eighth
    /// since the last (so that cells are swept a few dozen times at most).
    fn raise(&mut self, est: f64) -> bool {
        let limit = self.shared.limit as f64;
        if est <= limit || est < self.cut_at * 1.125 {
            return false;
        }
        self.cut_at = est;
        self.cut = cut_for(est, limit);
        true
    }

    pub fn cut(&self) -> u64 {
        self.cut
    }

    pub fn merge(&mut self, o: &Fold) {
        if let Some(theirs) = &o.regs {
            let mine = self.regs.get_or_insert_with(|| Box::new([0; REGS]));
            for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                *a = (*a).max(*b);
            }
        }
        self.cut = self.cut.max(o.cut);
        self.cut_at = self.cut_at.max(o.cut_at);
    }

    /// The final cut: from this aggregate's registers, which after every
    /// merge are those of all keys of the run.
    pub fn final_cut(&self) -> u64 {
        let est = match &self.regs {
            Some(r) => estimate(r.iter().copied()),
            None => return 0,
        };
        let limit = self.shared.limit as f64;
        if est <= limit {
            0
        } else {
            cut_for(est, limit).max(self.cut)
        }
    }
}

/// Keys with a hash below this fold: a share `1 - limit / est` of them.
/// Grows with `est`.
fn cut_for(est: f64, limit: f64) -> u64 {
    ((1.0 - limit / est) * 18_446_744_073_709_551_616.0) as u64
}

/// The register and rank of a key's hash (mixed again: the cut uses the
/// hash's value, the registers its bits).
#[inline]
fn register(h: u64) -> (usize, u8) {
    let z = (h ^ 0x5851_f42d_4c95_7f2d).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let z = z ^ (z >> 29);
    let i = (z >> (64 - BITS)) as usize;
    let rest = (z << BITS) | (1 << (BITS - 1));
    (i, rest.leading_zeros() as u8 + 1)
}

/// A HyperLogLog estimate that grows with every register, so that a
/// subset of the keys never estimates above the whole: the smaller of the
/// raw estimate (biased up on small sets) and linear counting (exact on
/// small sets, unbounded once no register is zero), both of which grow.
fn estimate(regs: impl Iterator<Item = u8>) -> f64 {
    let m = REGS as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let (mut sum, mut zeros) = (0f64, 0u32);
    for r in regs {
        sum += 2f64.powi(-(r as i32));
        zeros += (r == 0) as u32;
    }
    let raw = alpha * m * m / sum;
    if zeros == 0 {
        return raw;
    }
    raw.min(m * (m / zeros as f64).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u64) -> u64 {
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn the_estimate_is_close_and_the_cut_keeps_the_budget() {
        let shared = Arc::new(RejectedKeys::with_limit(10_000));
        let mut f = Fold::new(shared);
        for n in 0..100_000 {
            f.observe(hash(n));
        }
        let est = estimate(f.regs.as_ref().unwrap().iter().copied());
        assert!((est - 100_000.0).abs() < 5_000.0, "{est}");
        let cut = f.final_cut();
        let kept = (0..100_000).filter(|&n| hash(n) >= cut).count();
        assert!((9_000..11_000).contains(&kept), "{kept}");
    }

    #[test]
    fn early_cuts_never_pass_the_final_one_whatever_the_split() {
        // Two workers sharing registers, each raising its cut as it goes;
        // then merged: the final cut is the one a single pass finds, and
        // no worker's cut went above it.
        let shared = Arc::new(RejectedKeys::with_limit(1_000));
        let (mut a, mut b) = (Fold::new(shared.clone()), Fold::new(shared));
        let mut max_early = 0;
        for n in 0..50_000 {
            let f = if hash(n ^ 77).is_multiple_of(3) {
                &mut a
            } else {
                &mut b
            };
            f.observe(hash(n));
            f.due();
            max_early = max_early.max(f.cut());
        }
        a.merge(&b);
        let mut one = Fold::new(Arc::new(RejectedKeys::with_limit(1_000)));
        for n in (0..50_000).rev() {
            one.observe(hash(n));
        }
        assert_eq!(a.final_cut(), one.final_cut());
        assert!(max_early > 0 && max_early <= one.final_cut());
    }
}
