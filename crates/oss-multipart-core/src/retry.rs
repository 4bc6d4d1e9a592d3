//! The retry policy: how often and how long to wait before sending a failed request again.
//!
//! One policy for every request of every machine and for the façade's single requests
//! (`oss_multipart::RetryConfig` maps onto [`RetryPolicy`] field for field). Whether a failure
//! is worth retrying at all is [`classify`](crate::classify)'s business; this module only
//! spends the budgets and draws the delays.

use std::time::{Duration, Instant};

use crate::rng::SplitMix64;

/// Retry budgets and backoff.
///
/// The delay before retry `n` (1-based) is drawn uniformly ("full jitter") from
/// `0..=min(max_backoff, initial_backoff × backoff_base^(n-1))`, from the seed given to
/// [`Backoff::new`] (an [`Upload`](crate::Upload) passes its own seed), so a schedule can be
/// replayed exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of one request after its first attempt (0 disables retrying). Default 5.
    pub max_retries: u32,
    /// Ceiling of the first delay. Default 200 ms.
    pub initial_backoff: Duration,
    /// Ceiling of any delay. Default 20 s.
    pub max_backoff: Duration,
    /// Growth of the ceiling from one retry to the next. Default 2.0; values below 1 (or not
    /// finite) count as 1.
    pub backoff_base: f64,
    /// No retry of a request starts later than this after its first attempt. Default 3 min.
    pub retry_timeout: Duration,
    /// Retries across a whole transfer (every request of one upload), so a sick endpoint
    /// cannot keep a large upload retrying forever. Default 1000.
    pub max_total_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            backoff_base: 2.0,
            retry_timeout: Duration::from_secs(180),
            max_total_retries: 1000,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The largest delay before retry `retry` (1-based), before jitter.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let base = if self.backoff_base.is_finite() && self.backoff_base >= 1.0 {
            self.backoff_base
        } else {
            1.0
        };
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_backoff.as_secs_f64() * base.powi(exp);
        let cap = self.max_backoff.as_secs_f64();
        if secs.is_finite() && secs < cap {
            Duration::from_secs_f64(secs.max(0.0))
        } else {
            self.max_backoff
        }
    }
}

/// A [`RetryPolicy`] at work for one transfer (or one single request): the random source of
/// the jitter and the transfer-wide retry count.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    rng: SplitMix64,
    retries: u32,
}

impl Backoff {
    /// A fresh budget; `seed` feeds the jitter.
    pub fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: SplitMix64::new(seed),
            retries: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Retries granted so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Decides the retry of a request whose attempt number `attempt` (1-based) just failed and
    /// whose first attempt started at `first_attempt`: `Some(delay)` to send it again after
    /// `delay` (counted against the budgets), `None` once a budget is spent (retries per
    /// request, retries per transfer, or `retry_timeout`).
    pub fn next_delay(
        &mut self,
        attempt: u32,
        first_attempt: Instant,
        now: Instant,
    ) -> Option<Duration> {
        if attempt > self.policy.max_retries {
            return None;
        }
        self.next_delay_reconnecting(attempt, first_attempt, now)
    }

    /// [`next_delay`](Self::next_delay) for a request that could not connect to an endpoint
    /// that has answered during this transfer: a server restarting or a network blip, not a
    /// wrong address. Such a request never reached the server, so sending it again is always
    /// safe; it is retried with the same growing backoff until `retry_timeout` (or the
    /// transfer's `max_total_retries`) is spent, however small `max_retries` is, so an outage
    /// of a few seconds does not end a long transfer.
    pub fn next_delay_reconnecting(
        &mut self,
        attempt: u32,
        first_attempt: Instant,
        now: Instant,
    ) -> Option<Duration> {
        let p = &self.policy;
        if self.retries >= p.max_total_retries {
            return None;
        }
        let ceiling = u64::try_from(p.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        let delay = Duration::from_nanos(self.rng.below_inclusive(ceiling));
        let elapsed = now.saturating_duration_since(first_attempt);
        if elapsed.saturating_add(delay) > p.retry_timeout {
            return None;
        }
        self.retries += 1;
        Some(delay)
    }
}

/// Attempts of one request (a part, an Initiate...): how many were started and when the first
/// one was, which is what [`Backoff::next_delay`] needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tries {
    count: u32,
    first: Option<Instant>,
}

impl Tries {
    /// Counts one more attempt started at `now`.
    pub(crate) fn start(&mut self, now: Instant) {
        self.count += 1;
        self.first.get_or_insert(now);
    }

    /// Attempts started (the one that just failed is the last).
    pub(crate) fn count(self) -> u32 {
        self.count
    }

    /// When the first attempt started (`now` when none did).
    pub(crate) fn first(self, now: Instant) -> Instant {
        self.first.unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            backoff_base: 2.0,
            retry_timeout: Duration::from_secs(3600),
            max_total_retries: 6,
        }
    }

    #[test]
    fn full_jitter_is_bounded_and_budgeted() {
        let t0 = Instant::now();
        let mut b = Backoff::new(policy(), 42);
        for attempt in 1..=4 {
            let d = b.next_delay(attempt, t0, t0).expect("within budget");
            assert!(d <= policy().ceiling(attempt), "attempt {attempt}: {d:?}");
        }
        assert_eq!(b.next_delay(5, t0, t0), None, "per-request budget");
        assert!(b.next_delay(1, t0, t0).is_some());
        assert!(b.next_delay(1, t0, t0).is_some());
        assert_eq!(b.next_delay(1, t0, t0), None, "per-transfer budget");
        assert_eq!(b.retries(), 6);
    }

    #[test]
    fn ceilings_grow_by_the_base_up_to_the_cap() {
        let mut p = policy();
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(3), Duration::from_millis(400));
        assert_eq!(p.ceiling(10), Duration::from_secs(1));
        p.backoff_base = 3.0;
        assert_eq!(p.ceiling(3), Duration::from_millis(900));
        p.backoff_base = f64::NAN;
        assert_eq!(p.ceiling(5), Duration::from_millis(100));
        p.initial_backoff = Duration::from_secs(5);
        assert_eq!(p.ceiling(1), Duration::from_secs(1), "capped");
    }

    #[test]
    fn retry_timeout_counts_from_the_first_attempt() {
        let t0 = Instant::now();
        let mut p = policy();
        p.retry_timeout = Duration::from_secs(10);
        let mut b = Backoff::new(p, 7);
        assert!(b.next_delay(1, t0, t0 + Duration::from_secs(8)).is_some());
        assert_eq!(b.next_delay(1, t0, t0 + Duration::from_secs(10)), None);
        assert_eq!(b.retries(), 1);
    }

    #[test]
    fn same_seed_same_schedule() {
        let t0 = Instant::now();
        let draw = |seed| {
            let mut b = Backoff::new(policy(), seed);
            (1..=4)
                .map(|a| b.next_delay(a, t0, t0).unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }

    #[test]
    fn reconnecting_is_bounded_by_the_timeout_not_the_retry_count() {
        let mut p = policy();
        p.max_retries = 1;
        p.retry_timeout = Duration::from_secs(10);
        let mut b = Backoff::new(p, 1);
        let t0 = Instant::now();
        assert!(b.next_delay(2, t0, t0).is_none());
        assert!(b.next_delay_reconnecting(2, t0, t0).is_some());
        assert!(b.next_delay_reconnecting(30, t0, t0).is_some());
        let late = t0 + Duration::from_secs(11);
        assert!(b.next_delay_reconnecting(3, t0, late).is_none());
    }
}
