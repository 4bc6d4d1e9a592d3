//! A byte-rate limiter shared by any number of request bodies (one budget for a whole upload).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket in its "virtual scheduling" form (GCRA): each chunk pushes a theoretical arrival time forward
/// by `len / rate`; a chunk waits until that time is within the burst allowance of now.
///
/// Clone it to share one budget across requests. Attach it to a body with
/// [`RequestBody::rate_limited`](crate::RequestBody::rate_limited).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bytes_per_sec: f64,
    burst: Duration,
    tat: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter of `bytes_per_sec` (at least 1) with a burst allowance of 100 ms worth of bytes.
    pub fn new(bytes_per_sec: u64) -> Self {
        Self::with_burst(bytes_per_sec, Duration::from_millis(100))
    }

    /// A limiter with an explicit burst allowance: how far ahead of the steady rate a sender may run.
    pub fn with_burst(bytes_per_sec: u64, burst: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                bytes_per_sec: bytes_per_sec.max(1) as f64,
                burst,
                tat: Mutex::new(None),
            }),
        }
    }

    /// The configured rate.
    pub fn bytes_per_sec(&self) -> u64 {
        self.inner.bytes_per_sec as u64
    }

    /// Waits until `len` more bytes fit the budget. For receivers: a download that calls this
    /// after each chunk it reads stops reading while over budget, and TCP flow control then
    /// slows the sender, so one limiter caps uploads (as a body limiter) and downloads alike.
    pub async fn acquire(&self, len: usize) {
        let now = Instant::now();
        let at = self.reserve(len, now);
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Reserve `len` bytes now; returns when they may be sent (possibly now).
    pub(crate) fn reserve(&self, len: usize, now: Instant) -> Instant {
        let cost = Duration::from_secs_f64(len as f64 / self.inner.bytes_per_sec);
        // A poisoned lock only means another body panicked mid-update; the stored instant is still usable.
        let mut tat = self.inner.tat.lock().unwrap_or_else(|e| e.into_inner());
        let start = tat.map_or(now, |t| t.max(now));
        let next = start + cost;
        *tat = Some(next);
        // The chunk may go once the schedule is no more than `burst` ahead of now.
        next.checked_sub(self.inner.burst)
            .map_or(now, |ready| ready.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_spaces_chunks() {
        let lim = RateLimiter::with_burst(1000, Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(lim.reserve(500, t0), t0 + Duration::from_millis(500));
        assert_eq!(lim.reserve(500, t0), t0 + Duration::from_millis(1000));
        // Idle time is not banked beyond the schedule.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(lim.reserve(1000, later), later + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_paces_a_receiver() {
        let lim = RateLimiter::with_burst(1000, Duration::ZERO);
        let t0 = Instant::now();
        lim.acquire(250).await;
        lim.acquire(250).await;
        assert_eq!(Instant::now() - t0, Duration::from_millis(500));
    }

    #[test]
    fn burst_lets_first_chunks_through() {
        let lim = RateLimiter::with_burst(1000, Duration::from_millis(200));
        let t0 = Instant::now();
        assert_eq!(lim.reserve(100, t0), t0);
        assert_eq!(lim.reserve(100, t0), t0);
        assert_eq!(lim.reserve(100, t0), t0 + Duration::from_millis(100));
    }
}
