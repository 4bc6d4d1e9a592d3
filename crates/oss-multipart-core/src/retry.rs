//! Retry scheduler: full-jitter exponential backoff from the injected seed, per-unit and
//! per-upload budgets, and the timers of pending retries (its own `poll_timeout`/`handle_timeout`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::RetryPolicy;
use crate::rng::SplitMix64;

/// Decision for one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Retry after the delay.
    Retry(Duration),
    /// Budget exhausted.
    GiveUp,
}

#[derive(Debug)]
pub(crate) struct Scheduler<J> {
    policy: RetryPolicy,
    rng: SplitMix64,
    retries_used: u32,
    seq: u64,
    pending: BTreeMap<(Instant, u64), J>,
}

impl<J> Scheduler<J> {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: SplitMix64::new(seed),
            retries_used: 0,
            seq: 0,
            pending: BTreeMap::new(),
        }
    }

    /// `attempt` is the attempt that just failed (1-based).
    pub(crate) fn verdict(&mut self, attempt: u32) -> Verdict {
        if attempt >= self.policy.max_attempts
            || self.retries_used >= self.policy.max_retries_per_upload
        {
            return Verdict::GiveUp;
        }
        self.retries_used += 1;
        let shift = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1u32 << shift)
            .min(self.policy.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Verdict::Retry(Duration::from_nanos(self.rng.below_inclusive(nanos)))
    }

    pub(crate) fn schedule(&mut self, at: Instant, job: J) {
        self.seq += 1;
        self.pending.insert((at, self.seq), job);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.pending.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns every job due at `now`, in deadline order.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<J> {
        let later = self.pending.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut self.pending, later);
        due.into_values().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_is_bounded_and_budgeted() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 5,
            max_retries_per_upload: 6,
        };
        let mut s: Scheduler<u32> = Scheduler::new(policy, 42);
        for attempt in 1..5 {
            match s.verdict(attempt) {
                Verdict::Retry(d) => {
                    assert!(d <= Duration::from_millis(100 << (attempt - 1)).min(policy.max_delay))
                }
                Verdict::GiveUp => panic!("gave up early"),
            }
        }
        assert_eq!(s.verdict(5), Verdict::GiveUp, "per-unit budget");
        assert!(matches!(s.verdict(1), Verdict::Retry(_)));
        assert!(matches!(s.verdict(1), Verdict::Retry(_)));
        assert_eq!(s.verdict(1), Verdict::GiveUp, "per-upload budget");
    }

    #[test]
    fn due_jobs_in_order() {
        let mut s: Scheduler<u32> = Scheduler::new(RetryPolicy::default(), 1);
        let t0 = Instant::now();
        s.schedule(t0 + Duration::from_secs(2), 2);
        s.schedule(t0 + Duration::from_secs(1), 1);
        s.schedule(t0 + Duration::from_secs(3), 3);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(s.take_due(t0 + Duration::from_secs(2)), vec![1, 2]);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    }
}
