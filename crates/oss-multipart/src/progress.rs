//! Upload progress as reported to callers, with rate and ETA computed here (the core reports
//! counts only; it has no business knowing about wall-clock rates).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A snapshot of an upload's progress, passed to the
/// [`progress`](crate::UploadBuilder::progress) callback.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes confirmed by the server (parts completed, including parts reused on resume).
    pub bytes_done: u64,
    /// Total bytes, when known (files; `None` for streams until they end).
    pub bytes_total: Option<u64>,
    /// Parts confirmed by the server.
    pub parts_done: u32,
    /// Part requests currently on the wire.
    pub parts_in_flight: u32,
    /// Number of parts, when known.
    pub parts_total: Option<u32>,
    /// Requests retried so far.
    pub retries: u32,
    /// Recent upload rate in bytes per second (over the last few seconds).
    pub rate_bytes_per_sec: f64,
    /// Estimated time to completion, when the total and a rate are known.
    pub eta: Option<Duration>,
    /// Why saving the checkpoint failed (a full disk, a removed directory...), while it keeps
    /// failing; `None` once a save succeeds again. The checkpoint on disk is then the last one
    /// saved (files are replaced atomically, never torn): a resume from it sends again the
    /// parts confirmed since. The upload itself goes on.
    pub checkpoint_error: Option<String>,
}

/// Sliding-window rate meter: samples of (time, cumulative bytes) over the last `WINDOW`.
#[derive(Debug)]
pub(crate) struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

const WINDOW: Duration = Duration::from_secs(5);

impl RateMeter {
    pub(crate) fn new(now: Instant, start_bytes: u64) -> Self {
        let mut samples = VecDeque::new();
        samples.push_back((now, start_bytes));
        Self { samples }
    }

    /// Records the cumulative byte count at `now` and returns the rate over the window.
    pub(crate) fn record(&mut self, now: Instant, total: u64) -> f64 {
        self.samples.push_back((now, total));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) > WINDOW)
        {
            self.samples.pop_front();
        }
        self.rate()
    }

    pub(crate) fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) => {
                let dt = t1.saturating_duration_since(*t0).as_secs_f64();
                if dt <= 0.0 {
                    0.0
                } else {
                    b1.saturating_sub(*b0) as f64 / dt
                }
            }
            _ => 0.0,
        }
    }
}

/// Time left at `rate` for `remaining` bytes, if meaningful.
pub(crate) fn eta(remaining: Option<u64>, rate: f64) -> Option<Duration> {
    let remaining = remaining?;
    if remaining == 0 {
        return Some(Duration::ZERO);
    }
    if rate <= 0.0 || !rate.is_finite() {
        return None;
    }
    let secs = remaining as f64 / rate;
    (secs.is_finite() && secs < 1e10).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_over_window_and_eta() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0, 0);
        assert_eq!(m.rate(), 0.0);
        let r = m.record(t0 + Duration::from_secs(1), 1000);
        assert!((r - 1000.0).abs() < 1e-6);
        let r = m.record(t0 + Duration::from_secs(2), 3000);
        assert!((r - 1500.0).abs() < 1e-6);
        // Old samples fall out of the window: only the last ~5 s count.
        let r = m.record(t0 + Duration::from_secs(20), 3000);
        assert!(r < 1500.0);
        assert_eq!(eta(Some(3000), 1000.0), Some(Duration::from_secs(3)));
        assert_eq!(eta(Some(0), 0.0), Some(Duration::ZERO));
        assert_eq!(eta(None, 10.0), None);
        assert_eq!(eta(Some(5), 0.0), None);
    }
}
