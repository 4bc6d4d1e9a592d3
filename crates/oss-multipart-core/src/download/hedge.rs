//! Concurrency and straggler hedging of ranged GETs: the limit the issuing obeys, races
//! between a GET and its hedge, and the statistics both feed on (policies in `adapt` and
//! `hedge`).

use std::time::{Duration, Instant};

use super::{Download, DownloadEvent, DownloadOp, Flight, Job, Phase};
use crate::hedge::{OVERTAKEN, TransferStats};
use crate::request::RequestId;

/// GETs of one range in flight at once, hedges included.
const MAX_ATTEMPTS: usize = 3;

impl Download {
    /// Concurrency and hedging so far.
    pub fn stats(&self) -> TransferStats {
        TransferStats {
            limit: self.limit.get(),
            peak_limit: self.limit.peak(),
            hedges: self.hedger.count(),
            hedge_bytes: self.hedger.spent(),
        }
    }

    /// How long a ranged GET may take before it counts as a straggler (`k ×` the median of
    /// the recent ones), once enough are known and hedging is on. A driver may retire the
    /// connection that carried a slower one: some connections stay slow for their whole life,
    /// and the pool would hand it to the next GET.
    pub fn straggler_threshold(&self) -> Option<Duration> {
        self.hedger.threshold()
    }

    /// Optional, after [`DownloadEvent::Cancel`]: GET `id` had received `bytes` of its body
    /// when it was stopped. Only those count against the hedge budget; a driver that does
    /// not report is charged the whole range.
    pub fn handle_cancelled(&mut self, id: RequestId, now: Instant, bytes: u64) {
        self.tick(now);
        self.hedger.settle(id, bytes);
        self.pump();
    }

    /// Requests in flight that are not hedges (the ones the limit counts).
    pub(super) fn primaries(&self) -> usize {
        self.in_flight.values().filter(|f| !f.hedge).count()
    }

    /// A GET of range `i` still in flight.
    pub(super) fn attempt_of(&self, i: u64) -> Option<RequestId> {
        self.in_flight
            .iter()
            .find(|(_, f)| f.job == Job::Get(i))
            .map(|(id, _)| *id)
    }

    /// GET `flight` completed range `i` first: the other GETs of the range are cancelled,
    /// and its time feeds the statistics.
    pub(super) fn won(&mut self, i: u64, flight: &Flight, now: Instant) {
        let losers: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.job == Job::Get(i))
            .map(|(id, _)| *id)
            .collect();
        for id in losers {
            if let Some(f) = self.in_flight.remove(&id) {
                self.hedger
                    .cancelled(id, f.requested.end - f.requested.start);
            }
            self.events
                .push_back(DownloadEvent::Cancel { id, index: i });
        }
        for f in self.in_flight.values_mut() {
            if f.sent < flight.sent {
                f.overtaken = f.overtaken.saturating_add(1);
            }
        }
        let bytes = flight.requested.end - flight.requested.start;
        let gets = 1 + self
            .in_flight
            .values()
            .filter(|f| matches!(f.job, Job::Get(_)) && !f.hedge)
            .count();
        let before = self.limit.get();
        self.limit.on_complete(now, flight.sent, bytes, gets);
        self.hedger
            .record(now.saturating_duration_since(flight.sent));
        self.hedger
            .rescale(self.limit.get() as f64 / before.max(1) as f64);
    }

    /// The earliest GET that becomes a straggler, and when, among those a hedge is allowed
    /// for (not hedged yet, fewer than [`MAX_ATTEMPTS`] GETs on its range, within the budget).
    /// A hedge that straggles too (it drew a slow connection as well) may be hedged once.
    pub(super) fn next_hedge(&self) -> Option<(Instant, RequestId)> {
        if self.phase != Phase::Ranges || self.paused {
            return None;
        }
        let basis = self.span_len();
        let attempts = |job: Job| self.in_flight.values().filter(|f| f.job == job).count();
        // Ranges still to be started (retries waiting included), in rounds of the limit.
        let fresh = self.count.saturating_sub(self.next_index);
        let rounds_left = (fresh + self.ready.len() as u64) as f64 / self.limit.get() as f64;
        self.in_flight
            .iter()
            .filter(|(_, f)| matches!(f.job, Job::Get(_)) && !f.hedged)
            .filter(|(_, f)| {
                // Once nothing is left to start, no GET can be overtaken any more.
                (f.overtaken >= OVERTAKEN || rounds_left == 0.0) && attempts(f.job) < MAX_ATTEMPTS
            })
            .filter(|(_, f)| {
                let bytes = f.requested.end - f.requested.start;
                self.hedger.affordable(bytes, basis, rounds_left)
            })
            .filter_map(|(id, f)| Some((self.hedger.deadline(f.sent, rounds_left)?, *id)))
            .min()
    }

    /// Sends a hedge for every GET that is a straggler by now.
    pub(super) fn send_hedges(&mut self) {
        while let Some((at, id)) = self.next_hedge() {
            if at > self.now {
                break;
            }
            let Some(etag) = self.object.as_ref().map(|o| o.etag.clone()) else {
                break;
            };
            let Some(f) = self.in_flight.get_mut(&id) else {
                break;
            };
            f.hedged = true;
            let (job, requested) = (f.job, f.requested.clone());
            let Job::Get(index) = job else { continue };
            self.hedger.spend(requested.end - requested.start);
            let op = DownloadOp::Get {
                index,
                range: requested.clone(),
                if_match: etag,
                hedge: true,
            };
            self.issue(job, op, requested);
        }
    }
}
