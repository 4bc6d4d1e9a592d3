//! Retry scheduler: the [`Backoff`] of one machine plus the timers of its pending retries
//! (its own `poll_timeout`/`handle_timeout`, the way Firezone's `ExpiringMap` works).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::retry::{Backoff, RetryPolicy, Tries};

#[derive(Debug)]
pub(crate) struct Scheduler<J> {
    backoff: Backoff,
    seq: u64,
    pending: BTreeMap<(Instant, u64), J>,
}

impl<J> Scheduler<J> {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            backoff: Backoff::new(policy, seed),
            seq: 0,
            pending: BTreeMap::new(),
        }
    }

    /// The delay before the next attempt of a unit whose last attempt just failed, or `None`
    /// when a budget is spent.
    pub(crate) fn next_delay(&mut self, tries: Tries, now: Instant) -> Option<Duration> {
        self.backoff
            .next_delay(tries.count(), tries.first(now), now)
    }

    /// [`Backoff::next_delay_reconnecting`] for a unit that could not connect to an endpoint
    /// that has answered before.
    pub(crate) fn next_delay_reconnecting(
        &mut self,
        tries: Tries,
        now: Instant,
    ) -> Option<Duration> {
        self.backoff
            .next_delay_reconnecting(tries.count(), tries.first(now), now)
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
