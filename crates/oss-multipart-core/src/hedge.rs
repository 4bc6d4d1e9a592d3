//! Straggler hedging: a transfer that takes much longer than the recent ones is sent again
//! on another connection, and the first verified answer wins.
//!
//! The statistics are the durations of the last [`WINDOW`] successful transfers; a transfer
//! in flight longer than `k ×` their median (once `min_samples` are known), and overtaken by
//! transfers sent after it, is a straggler. A
//! hedge costs the bytes of the transfer again, so the bytes of all hedges of a machine are
//! bounded by a fraction of the object's size. Nothing here reads a clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::request::RequestId;

/// Knobs of straggler hedging (on by default in both machines).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Hedging {
    /// A transfer is a straggler after this many times the median duration (default 2.0,
    /// at least 1.5).
    pub k: f64,
    /// Durations needed before anything is hedged (default 8, at least 1).
    pub min_samples: usize,
    /// Bytes of all hedges together, as a fraction of the object's size (default 0.05;
    /// streams: of the bytes sent so far).
    pub budget: f64,
}

impl Default for Hedging {
    fn default() -> Self {
        Self {
            k: 2.0,
            min_samples: 8,
            budget: 0.05,
        }
    }
}

impl Hedging {
    pub(crate) fn is_valid(&self) -> bool {
        self.k.is_finite()
            && self.k >= 1.5
            && self.min_samples >= 1
            && self.budget.is_finite()
            && (0.0..=1.0).contains(&self.budget)
    }
}

/// A transfer is a straggler only once this many transfers sent after it completed first
/// (or nothing is left to start): transfers sent together at a higher concurrency all take
/// long, none is overtaken, and none of them is a straggler.
pub(crate) const OVERTAKEN: u32 = 2;

/// The share of the hedge budget that hedges sent before the last round may use.
pub(crate) const BEFORE_LAST_ROUND: f64 = 0.5;

/// Successful durations kept for the median.
pub(crate) const WINDOW: usize = 32;

/// The hedging state of one machine.
#[derive(Debug, Clone)]
pub(crate) struct Hedger {
    cfg: Option<Hedging>,
    recent: VecDeque<Duration>,
    /// Bytes charged to the budget: each hedge its whole length when sent, until the loser
    /// of its race reports what it really moved.
    spent: u64,
    hedges: u64,
    /// Losers whose moved bytes may still be reported, with the length they were charged.
    unsettled: BTreeMap<RequestId, u64>,
}

impl Hedger {
    pub(crate) fn new(cfg: Option<Hedging>) -> Self {
        Self {
            cfg,
            recent: VecDeque::with_capacity(WINDOW),
            spent: 0,
            hedges: 0,
            unsettled: BTreeMap::new(),
        }
    }

    /// A transfer (not a hedge that lost) succeeded after `took`.
    pub(crate) fn record(&mut self, took: Duration) {
        if self.cfg.is_none() {
            return;
        }
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(took);
    }

    /// The limit of transfers in flight grew by `factor`: on a saturated link each transfer
    /// now takes that much longer, so the known durations are stretched (on a link that is
    /// not saturated this only delays hedging until new durations replace them).
    pub(crate) fn rescale(&mut self, factor: f64) {
        if factor.is_finite() && factor > 1.0 {
            for d in &mut self.recent {
                *d = d.mul_f64(factor);
            }
        }
    }

    /// The median of the recent durations, once enough are known.
    fn median(&self) -> Option<Duration> {
        let cfg = self.cfg?;
        if self.recent.len() < cfg.min_samples.max(1) {
            return None;
        }
        let mut sorted: Vec<Duration> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// How long a transfer may take before it is a straggler, once enough are known.
    pub(crate) fn threshold(&self) -> Option<Duration> {
        Some(self.median()?.mul_f64(self.cfg?.k))
    }

    /// When a transfer started at `started` is to be hedged, `rounds_left` being how many
    /// rounds of transfers (at the current limit) are still to be started.
    ///
    /// A straggler is hedged once it is `k ×` the median *and* the rest of the transfer is
    /// likely to end before it: having taken `t` already, it is expected to take about as
    /// long again, while the rest takes `rounds_left` medians. Before that zone, a straggler
    /// only holds one slot among many (on a saturated link the others even take over its
    /// share), and the budget is better kept for the end, where a straggler delays
    /// everything.
    pub(crate) fn deadline(&self, started: Instant, rounds_left: f64) -> Option<Instant> {
        let median = self.median()?;
        let k = self.cfg?.k;
        let wait = median.mul_f64(k.max(rounds_left.clamp(0.0, 1e6)));
        started.checked_add(wait)
    }

    /// Whether a hedge of `bytes` fits the budget, `basis` being the bytes the budget is a
    /// fraction of and `rounds_left` the rounds of transfers still to be started.
    ///
    /// Before the last round, hedges may spend only [`BEFORE_LAST_ROUND`] of the budget: a
    /// straggler there holds one slot among many, while one in the last round holds up the
    /// whole transfer, so the rest is kept for those (spent early on stragglers of a busy
    /// link, the budget was gone when a last part drew a slow connection).
    pub(crate) fn affordable(&self, bytes: u64, basis: u64, rounds_left: f64) -> bool {
        let Some(cfg) = self.cfg else { return false };
        let share = if rounds_left > 1.0 {
            BEFORE_LAST_ROUND
        } else {
            1.0
        };
        let budget = (basis as f64 * cfg.budget * share).floor();
        (self.spent.saturating_add(bytes) as f64) <= budget
    }

    /// A hedge of `bytes` was sent.
    pub(crate) fn spend(&mut self, bytes: u64) {
        self.spent = self.spent.saturating_add(bytes);
        self.hedges += 1;
    }

    /// A race was decided: the losing request `id`, charged `len`, was cancelled.
    pub(crate) fn cancelled(&mut self, id: RequestId, len: u64) {
        if self.cfg.is_some() {
            self.unsettled.insert(id, len);
        }
    }

    /// The cancelled request `id` had moved `moved` bytes: only those stay charged.
    pub(crate) fn settle(&mut self, id: RequestId, moved: u64) {
        if let Some(len) = self.unsettled.remove(&id) {
            self.spent = self.spent.saturating_sub(len.saturating_sub(moved));
        }
    }

    /// Bytes charged to the hedge budget: the bytes cancelled losers moved (their whole
    /// length when not reported), plus hedges still racing.
    pub(crate) fn spent(&self) -> u64 {
        self.spent
    }

    /// Hedges sent.
    pub(crate) fn count(&self) -> u64 {
        self.hedges
    }
}

/// What a machine reports about its concurrency and hedging (for tests, benchmarks and
/// progress displays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TransferStats {
    /// Transfers allowed in flight now.
    pub limit: usize,
    /// The highest limit used so far.
    pub peak_limit: usize,
    /// Hedges sent.
    pub hedges: u64,
    /// Extra bytes of hedging: what cancelled losers moved (their whole length when the
    /// driver did not report it), plus hedges still racing. At most the hedge budget.
    pub hedge_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_threshold_after_min_samples() {
        let mut h = Hedger::new(Some(Hedging::default()));
        for ms in [10, 30, 20, 40, 50, 60, 70] {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.threshold(), None, "seven samples of eight");
        h.record(Duration::from_millis(80));
        // Sorted: 10 20 30 40 50 60 70 80 → element 4 is 50 ms; × 2.
        assert_eq!(h.threshold(), Some(Duration::from_millis(100)));
        h.rescale(2.0);
        assert_eq!(h.threshold(), Some(Duration::from_millis(200)));
        for _ in 0..WINDOW {
            h.record(Duration::from_millis(1));
        }
        assert_eq!(
            h.threshold(),
            Some(Duration::from_millis(2)),
            "old samples age out"
        );
        let t = Instant::now();
        // Median 1 ms: k × median with little left to start, later with much.
        assert_eq!(h.deadline(t, 0.5), Some(t + Duration::from_millis(2)));
        assert_eq!(h.deadline(t, 10.0), Some(t + Duration::from_millis(10)));
    }

    #[test]
    fn budget_is_a_fraction_of_the_basis() {
        let mut h = Hedger::new(Some(Hedging::default()));
        assert!(h.affordable(50, 1000, 1.0));
        assert!(!h.affordable(51, 1000, 0.0));
        // Before the last round, half of it.
        assert!(h.affordable(25, 1000, 1.5));
        assert!(!h.affordable(26, 1000, 1.5));
        h.spend(30);
        assert!(!h.affordable(1, 1000, 3.0), "the first half is spent");
        assert!(h.affordable(20, 1000, 0.5));
        assert!(!h.affordable(21, 1000, 0.5));
        assert_eq!((h.spent(), h.count()), (30, 1));
        // The loser had moved 12 of its 30 bytes: 18 go back to the budget, once.
        h.cancelled(RequestId(9), 30);
        h.settle(RequestId(9), 12);
        h.settle(RequestId(9), 0);
        assert_eq!(h.spent(), 12);
    }

    #[test]
    fn off_means_never() {
        let mut h = Hedger::new(None);
        for _ in 0..100 {
            h.record(Duration::from_millis(5));
        }
        assert_eq!(h.threshold(), None);
        assert!(!h.affordable(0, u64::MAX, 0.0));
    }

    #[test]
    fn validation() {
        assert!(Hedging::default().is_valid());
        let bad_k = Hedging {
            k: 1.0,
            ..Hedging::default()
        };
        assert!(!bad_k.is_valid());
        let bad_budget = Hedging {
            budget: 2.0,
            ..Hedging::default()
        };
        assert!(!bad_budget.is_valid());
    }
}
