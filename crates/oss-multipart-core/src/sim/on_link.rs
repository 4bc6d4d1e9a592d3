//! The upload [`Sim`] on a modelled link ([`Sim::set_link`]): part bodies flow through the
//! [`Link`] before they reach the fake server, cancelled requests stop there, and the
//! figures the link tests read (sim time, parts in flight, bytes carried).

use super::*;

impl Delivery {
    pub(super) fn id(&self) -> RequestId {
        match self {
            Self::SourceChecked { id, .. }
            | Self::Arrive { id, .. }
            | Self::Response { id, .. }
            | Self::Failure { id, .. }
            | Self::Hash { id, .. } => *id,
        }
    }
}

impl Sim {
    /// Sends part bodies through a modelled link (bandwidth, per-connection caps, slow
    /// connections, server throttling) instead of a plain latency. Other requests take the
    /// link's round trip. Set it before the first step.
    pub fn set_link(&mut self, model: LinkModel) {
        self.link = Some(Link::new(model));
    }

    /// Virtual time since the simulation started.
    pub fn elapsed(&self) -> Duration {
        self.timeline.now.saturating_duration_since(self.started)
    }

    /// The most part requests outstanding at once (started, not yet answered or cancelled).
    pub fn peak_parts_in_flight(&self) -> usize {
        self.peak_parts
    }

    /// Bytes the modelled link carried (hedges and cancelled bodies included).
    pub fn link_bytes(&self) -> u64 {
        self.link.as_ref().map_or(0, |l| l.carried.round() as u64)
    }

    /// Starts a part body: straight to OSS after the latency, or onto the modelled link.
    pub(super) fn send_body(&mut self, id: RequestId, at: Instant, arrive: Delivery) {
        self.parts_out.insert(id);
        self.peak_parts = self.peak_parts.max(self.parts_out.len());
        let Delivery::Arrive { body, .. } = &arrive else {
            return;
        };
        let len = body.len() as u64;
        let slow = match &self.link {
            None => return self.push(at, arrive),
            Some(link) if !link.admits() => {
                let resp = self.oss.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "too many requests in flight",
                );
                return self.push(at, Delivery::Response { id, resp });
            }
            Some(link) => {
                let fraction = link.model.slow_fraction;
                self.rng.chance(fraction)
            }
        };
        let now = self.timeline.now;
        if let Some(link) = self.link.as_mut() {
            link.start(now, id.get(), len, slow);
        }
        self.on_link.insert(id, arrive);
    }

    /// The request is answered (or failed): no longer outstanding.
    pub(super) fn part_answered(&mut self, id: RequestId) {
        self.parts_out.remove(&id);
    }

    /// The driver aborts request `id`: its body stops, nothing of it reaches the machine, and
    /// the machine hears how many bytes it had sent.
    pub(super) fn cancel(&mut self, id: RequestId) {
        self.trace.push(format!("x #{} cancelled", id.get()));
        self.parts_out.remove(&id);
        let now = self.timeline.now;
        let moved = self.link.as_mut().and_then(|l| l.cancel(now, id.get()));
        self.on_link.remove(&id);
        self.timeline.forget(|d| d.id() == id);
        // Without a link a body is sent whole at once.
        let moved = moved.unwrap_or_else(|| self.upload.plan().part_size().unwrap_or(0));
        self.upload.handle_cancelled(id, now, moved);
    }

    /// When the link next finishes carrying a body.
    pub(super) fn next_on_link(&self) -> Option<Instant> {
        self.link.as_ref().and_then(Link::next_done)
    }

    /// Bodies the link finished carrying reach OSS after the round trip.
    pub(super) fn bodies_through(&mut self) {
        let now = self.timeline.now;
        let done = match self.link.as_mut() {
            Some(link) => link.take_done(now),
            None => return,
        };
        for key in done {
            if let Some(arrive) = self.on_link.remove(&RequestId(key)) {
                let at = now + self.latency();
                self.push(at, arrive);
            }
        }
    }

    /// Stops the requests the machine cancelled; `true` when there were any.
    pub(super) fn stop_cancelled_requests(&mut self) -> bool {
        let ids = std::mem::take(&mut self.cancelled);
        for &id in &ids {
            self.cancel(id);
        }
        !ids.is_empty()
    }
}
