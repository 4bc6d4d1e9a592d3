//! Transfer progress as reported to callers, with rate and ETA computed here (the core reports
//! counts only; it has no business knowing about wall-clock rates).
//!
//! Two byte counts: `bytes_done` is what the machine confirmed (parts OSS acknowledged, ranges
//! written and accounted), `bytes_sent` adds what the requests in flight have moved so far. The
//! latter is read from counters the transport keeps per body (one atomic addition per chunk, no
//! lock, no allocation on the data path); the drivers sum them when they report.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oss_multipart_core::RequestId;
use oss_transport::DigestHandle;

/// A snapshot of a transfer's progress, passed to the
/// [`UploadBuilder::progress`](crate::UploadBuilder::progress) and
/// [`DownloadBuilder::progress`](crate::DownloadBuilder::progress) callbacks.
///
/// While parts are on the wire a report comes about every quarter of a second, besides one per
/// confirmed part; `rate_bytes_per_sec` and `eta` follow `bytes_sent`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes on the wire: `bytes_done` plus what the requests in flight have sent (uploads) or
    /// received (downloads) so far. It falls back when an attempt fails, since its bytes will
    /// move again; never below `bytes_done`.
    pub bytes_sent: u64,
    /// Bytes confirmed: parts OSS acknowledged (uploads; parts reused on resume included), or
    /// ranges received whole and accounted (downloads). Never decreases within one run, and
    /// agrees with `parts_done`: the two change in the same report.
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
    /// Recent rate of `bytes_sent` in bytes per second (over the last few seconds).
    pub rate_bytes_per_sec: f64,
    /// Estimated time to completion at that rate, when the total and a rate are known.
    pub eta: Option<Duration>,
    /// Why saving the checkpoint failed (a full disk, a removed directory...), while it keeps
    /// failing; `None` once a save succeeds again. The checkpoint on disk is then the last one
    /// saved (files are replaced atomically, never torn): a resume from it sends again the
    /// parts confirmed since. The upload itself goes on.
    pub checkpoint_error: Option<String>,
}

impl Progress {
    /// A report with nothing done yet.
    pub(crate) fn start(bytes_total: Option<u64>, parts_total: Option<u32>) -> Self {
        Self {
            bytes_sent: 0,
            bytes_done: 0,
            bytes_total,
            parts_done: 0,
            parts_in_flight: 0,
            parts_total,
            retries: 0,
            rate_bytes_per_sec: 0.0,
            eta: None,
            checkpoint_error: None,
        }
    }

    /// Sets `bytes_sent` from the confirmed bytes and the bytes in flight, then the rate and
    /// ETA from it. `reused` bytes (parts or ranges a resume found done) count as sent but
    /// moved nothing: the rate leaves them out.
    pub(crate) fn measure<K: PartialEq>(
        &mut self,
        wire: &OnTheWire<K>,
        meter: &mut RateMeter,
        now: Instant,
        reused: u64,
    ) {
        let sent = self.bytes_done.saturating_add(wire.bytes());
        self.bytes_sent = self.bytes_total.map_or(sent, |t| sent.min(t));
        self.rate_bytes_per_sec = meter.record(now, self.bytes_sent.saturating_sub(reused));
        let remaining = self.bytes_total.map(|t| t.saturating_sub(self.bytes_sent));
        self.eta = eta(remaining, self.rate_bytes_per_sec);
    }
}

/// How often a driver reports while bytes are on the wire and no part completes.
pub(crate) const REPORT_EVERY: Duration = Duration::from_millis(250);

/// One request's byte counter: a request body's (uploads) or a response body's (downloads).
#[derive(Debug, Clone)]
pub(crate) enum Gauge {
    /// Bytes a request body handed to the connection.
    Body(DigestHandle),
    /// Bytes of a response body received.
    Received(Arc<AtomicU64>),
}

impl Gauge {
    fn bytes(&self) -> u64 {
        match self {
            Self::Body(h) => h.bytes_produced(),
            Self::Received(n) => n.load(Ordering::Relaxed),
        }
    }
}

/// The requests on the wire that move the transfer's bytes, with their counters. An attempt
/// leaves when its answer is handed to the machine: its bytes are then either confirmed (and in
/// `bytes_done`) or to be moved again.
#[derive(Debug)]
pub(crate) struct OnTheWire<K = RequestId> {
    flights: Vec<(K, Gauge)>,
}

impl<K> Default for OnTheWire<K> {
    fn default() -> Self {
        Self {
            flights: Vec::new(),
        }
    }
}

impl<K: PartialEq> OnTheWire<K> {
    pub(crate) fn start(&mut self, id: K, gauge: Gauge) {
        self.flights.push((id, gauge));
    }

    /// The request left the wire; returns the bytes it had moved.
    pub(crate) fn end(&mut self, id: K) -> Option<u64> {
        let i = self.flights.iter().position(|(k, _)| *k == id)?;
        Some(self.flights.swap_remove(i).1.bytes())
    }

    pub(crate) fn clear(&mut self) {
        self.flights.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.flights.is_empty()
    }

    /// Requests on the wire.
    pub(crate) fn len(&self) -> usize {
        self.flights.len()
    }

    /// Bytes the attempts in flight have moved so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.flights.iter().map(|(_, g)| g.bytes()).sum()
    }
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
    fn sent_is_done_plus_the_attempts_in_flight_and_falls_back_when_one_ends() {
        let t0 = Instant::now();
        let mut meter = RateMeter::new(t0, 0);
        let mut wire = OnTheWire::<u64>::default();
        let (a, b) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        wire.start(1u64, Gauge::Received(a.clone()));
        wire.start(2u64, Gauge::Received(b.clone()));
        let mut p = Progress::start(Some(1000), Some(4));
        a.store(200, Ordering::Relaxed);
        b.store(100, Ordering::Relaxed);
        p.measure(&wire, &mut meter, t0 + Duration::from_secs(1), 0);
        assert_eq!((p.bytes_done, p.bytes_sent), (0, 300));
        assert!((p.rate_bytes_per_sec - 300.0).abs() < 1e-6);
        assert_eq!(p.eta, Some(Duration::from_secs_f64(700.0 / 300.0)));
        // Attempt 1 failed: its 200 bytes go again; attempt 2 was confirmed (250 bytes).
        wire.end(1u64);
        wire.end(2u64);
        p.bytes_done = 250;
        p.measure(&wire, &mut meter, t0 + Duration::from_secs(2), 0);
        assert_eq!((p.bytes_done, p.bytes_sent), (250, 250));
        assert!(wire.is_empty());
        // Never above the total.
        wire.start(3u64, Gauge::Received(Arc::new(AtomicU64::new(5000))));
        p.measure(&wire, &mut meter, t0 + Duration::from_secs(3), 0);
        assert_eq!(p.bytes_sent, 1000);
    }

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
