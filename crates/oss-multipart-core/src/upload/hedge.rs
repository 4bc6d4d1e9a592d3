//! Concurrency and straggler hedging of parts: the limit the issuing obeys, races between an
//! attempt and its hedge, and the statistics both feed on (policies in `adapt` and `hedge`).

use std::time::Duration;

use super::*;
use crate::hedge::OVERTAKEN;

/// Attempts of one part in flight at once, hedges included.
const MAX_ATTEMPTS: usize = 3;

impl Upload {
    /// Requests allowed in flight now (hedges come on top).
    pub(super) fn slots(&self) -> usize {
        if self.config.sequential {
            1
        } else {
            self.limit.get()
        }
    }

    /// Concurrency and hedging so far.
    pub fn stats(&self) -> TransferStats {
        TransferStats {
            limit: self.slots(),
            peak_limit: self.limit.peak(),
            hedges: self.hedger.count(),
            hedge_bytes: self.hedger.spent(),
        }
    }

    /// How long a part transfer may take before it counts as a straggler (`k ×` the median of
    /// the recent ones), once enough are known and hedging is on. A driver may retire the
    /// connection that carried a slower one: some connections stay slow for their whole life,
    /// and the pool would hand it to the next part.
    pub fn straggler_threshold(&self) -> Option<Duration> {
        self.hedger.threshold()
    }

    /// Optional, after [`Event::Cancel`]: request `id` had sent `bytes` of its body when it was
    /// stopped. Only those count against the hedge budget; a driver that does not report is
    /// charged the whole part.
    pub fn handle_cancelled(&mut self, id: RequestId, now: Instant, bytes: u64) {
        self.tick(now);
        self.hedger.settle(id, bytes);
        self.pump();
    }

    /// Whether another attempt of part `n` is still in flight: a failure of this one then
    /// needs no retry.
    pub(super) fn racing(&self, n: u32) -> bool {
        !self.in_flight.ids_of(Job::Part(n)).is_empty()
    }

    /// An attempt of part `n`, sent at `sent`, was confirmed first: the other attempts are
    /// cancelled, and its time feeds the concurrency and the straggler statistics.
    pub(super) fn part_won(&mut self, n: u32, sent: Instant, bytes: u64) {
        for id in self.in_flight.ids_of(Job::Part(n)) {
            if let Some(f) = self.in_flight.remove(id) {
                let len = self
                    .part_mut(n)
                    .map_or(f.bytes, |p| p.read_len.unwrap_or(p.range.len));
                self.hedger.cancelled(id, len);
            }
            self.events.push_back(Event::Cancel { id, part_number: n });
        }
        self.in_flight.overtake(sent);
        let parts = 1 + self
            .in_flight
            .iter()
            .filter(|(_, f)| matches!(f.job, Job::Part(_)) && !f.hedge)
            .count();
        let before = self.limit.get();
        self.limit.on_complete(self.now, sent, bytes, parts);
        self.hedger.record(self.now.saturating_duration_since(sent));
        self.hedger
            .rescale(self.limit.get() as f64 / before.max(1) as f64);
    }

    /// OSS asked to slow down a request sent at `sent`.
    pub(super) fn throttled(&mut self, sent: Instant) {
        self.limit.on_throttled(self.now, sent);
    }

    /// Bytes the hedge budget is a fraction of: the source, or for a stream what was read.
    fn hedge_basis(&self) -> u64 {
        self.total().unwrap_or_else(|| {
            self.parts
                .iter()
                .map(|p| p.read_len.unwrap_or(0))
                .sum::<u64>()
        })
    }

    /// Parts still to be started, in rounds of the limit.
    fn rounds_left(&self) -> f64 {
        let unplanned = match self.plan.part_count() {
            Some(count) => u64::from(count).saturating_sub(self.parts.len() as u64),
            // A stream: its end is unknown until read; count what is ready only.
            None => 0,
        };
        let pending = self
            .parts
            .iter()
            .filter(|p| matches!(p.state, PartState::Pending | PartState::Backoff))
            .count() as u64;
        (unplanned + pending) as f64 / self.slots().max(1) as f64
    }

    /// The earliest part attempt that becomes a straggler worth hedging, and when.
    pub(super) fn next_hedge(&self) -> Option<(Instant, RequestId)> {
        if self.phase != Phase::Parts || self.paused || self.config.sequential {
            return None;
        }
        let basis = self.hedge_basis();
        let rounds_left = self.rounds_left();
        let attempts = |job: Job| self.in_flight.ids_of(job).len();
        self.in_flight
            .iter()
            .filter(|(_, f)| matches!(f.job, Job::Part(_)) && !f.hedged)
            .filter(|(_, f)| {
                // Once nothing is left to start, no attempt can be overtaken any more.
                (f.overtaken >= OVERTAKEN || rounds_left == 0.0) && attempts(f.job) < MAX_ATTEMPTS
            })
            .filter(|(_, f)| {
                let len = match f.job {
                    Job::Part(n) => self
                        .part(n)
                        .map_or(0, |p| p.read_len.unwrap_or(p.range.len)),
                    _ => 0,
                };
                self.hedger.affordable(len, basis, rounds_left)
            })
            .filter_map(|(id, f)| Some((self.hedger.deadline(f.sent, rounds_left)?, id)))
            .min()
    }

    /// Sends a hedge for every part attempt that is a straggler by now: the same part again,
    /// on another connection (a new request id).
    pub(super) fn send_hedges(&mut self) {
        let Some(upload_id) = self.upload_id.clone() else {
            return;
        };
        while let Some((at, of)) = self.next_hedge() {
            if at > self.now {
                break;
            }
            let Some(Job::Part(n)) = self.in_flight.get(of).map(|f| f.job) else {
                break;
            };
            let Some(p) = self.part(n) else { break };
            let len = p.read_len.unwrap_or(p.range.len);
            let range = p.range.offset..p.range.offset + len;
            self.hedger.spend(len);
            self.next_id += 1;
            let id = RequestId(self.next_id);
            self.in_flight.insert_hedge(id, of, self.now);
            let op = Op::UploadPart {
                part_number: n,
                range,
                upload_id: upload_id.clone(),
                content_md5: self.config.content_md5,
            };
            self.requests.push_back(Request {
                id,
                op,
                target: self.target.clone(),
                object: self.object.clone(),
            });
        }
    }

    fn part(&self, n: u32) -> Option<&Part> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.parts.get(i)
    }
}
