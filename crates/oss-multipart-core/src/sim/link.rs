//! A modelled network link for the simulations: bodies flow as fluids that share an aggregate
//! capacity, each capped per connection, some connections much slower than the rest, and a
//! fixed round trip per request.
//!
//! The model is max-min fair ("water filling"): every flow gets an equal share of the
//! aggregate, except flows whose own cap is lower, whose unused share is split among the
//! others. Rates change only when a flow starts or ends, so the next completion is exact.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The shape of a simulated link ([`Sim::set_link`](super::Sim::set_link),
/// [`DownloadSim::set_link`](crate::download::sim::DownloadSim::set_link)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LinkModel {
    /// Bytes per second one connection carries at most.
    pub per_connection: f64,
    /// Bytes per second all connections together carry at most.
    pub aggregate: f64,
    /// Round trip added to every request (before its answer arrives).
    pub latency: Duration,
    /// Fraction of connections (each request draws one) that are slow.
    pub slow_fraction: f64,
    /// How many times slower a slow connection is (its cap is `per_connection / slow_factor`).
    pub slow_factor: f64,
    /// The server answers 503 to a request arriving while this many bodies are in flight.
    pub max_concurrent: Option<usize>,
}

impl LinkModel {
    /// A link of `aggregate` bytes/s, `per_connection` bytes/s per connection, `latency` per
    /// request, no slow connections, no throttling.
    pub fn new(aggregate: f64, per_connection: f64, latency: Duration) -> Self {
        Self {
            per_connection,
            aggregate,
            latency,
            slow_fraction: 0.0,
            slow_factor: 1.0,
            max_concurrent: None,
        }
    }

    /// With a fraction `fraction` of connections `factor` times slower.
    #[must_use]
    pub fn with_slow(mut self, fraction: f64, factor: f64) -> Self {
        self.slow_fraction = fraction;
        self.slow_factor = factor;
        self
    }

    /// With the server throttling beyond `n` bodies in flight.
    #[must_use]
    pub fn with_max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = Some(n);
        self
    }
}

#[derive(Debug, Clone)]
struct Flow {
    total: f64,
    remaining: f64,
    cap: f64,
    rate: f64,
}

/// Flows on the link, keyed by request id.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) model: LinkModel,
    flows: BTreeMap<u64, Flow>,
    at: Option<Instant>,
    /// Bytes delivered through the link.
    pub(crate) carried: f64,
    /// The most flows at once.
    pub(crate) peak_flows: usize,
}

/// A remainder this small counts as done (floating point dust).
const DONE_EPSILON: f64 = 0.5;

impl Link {
    pub(crate) fn new(model: LinkModel) -> Self {
        Self {
            model,
            flows: BTreeMap::new(),
            at: None,
            carried: 0.0,
            peak_flows: 0,
        }
    }

    /// Whether the server accepts another body now.
    pub(crate) fn admits(&self) -> bool {
        self.model
            .max_concurrent
            .is_none_or(|max| self.flows.len() < max)
    }

    /// Starts a body of `bytes` on a connection that is `slow` or not.
    pub(crate) fn start(&mut self, now: Instant, key: u64, bytes: u64, slow: bool) {
        self.advance(now);
        let cap = if slow && self.model.slow_factor > 1.0 {
            self.model.per_connection / self.model.slow_factor
        } else {
            self.model.per_connection
        };
        self.flows.insert(
            key,
            Flow {
                total: bytes as f64,
                remaining: bytes as f64,
                cap: cap.max(1.0),
                rate: 0.0,
            },
        );
        self.peak_flows = self.peak_flows.max(self.flows.len());
        self.share();
    }

    /// Stops a flow (its request was cancelled); returns the bytes it had moved.
    pub(crate) fn cancel(&mut self, now: Instant, key: u64) -> Option<u64> {
        self.advance(now);
        let f = self.flows.remove(&key)?;
        self.share();
        Some((f.total - f.remaining).max(0.0).round() as u64)
    }

    /// When the next flow ends.
    pub(crate) fn next_done(&self) -> Option<Instant> {
        let at = self.at?;
        self.flows
            .values()
            .filter(|f| f.rate > 0.0)
            .map(|f| {
                let secs = (f.remaining - DONE_EPSILON).max(0.0) / f.rate;
                // Rounded up to the microsecond, so the flow is done by then.
                at + Duration::from_micros((secs * 1e6).ceil() as u64 + 1)
            })
            .min()
    }

    /// Flows that ended by `now`, in key order.
    pub(crate) fn take_done(&mut self, now: Instant) -> Vec<u64> {
        self.advance(now);
        let done: Vec<u64> = self
            .flows
            .iter()
            .filter(|(_, f)| f.remaining <= DONE_EPSILON + f.rate * 1e-6)
            .map(|(k, _)| *k)
            .collect();
        for k in &done {
            self.flows.remove(k);
        }
        if !done.is_empty() {
            self.share();
        }
        done
    }

    fn advance(&mut self, now: Instant) {
        let at = *self.at.get_or_insert(now);
        if now <= at {
            return;
        }
        let dt = (now - at).as_secs_f64();
        for f in self.flows.values_mut() {
            let moved = (f.rate * dt).min(f.remaining);
            f.remaining -= moved;
            self.carried += moved;
        }
        self.at = Some(now);
    }

    /// Max-min fair shares under each flow's cap.
    fn share(&mut self) {
        let mut order: Vec<(u64, f64)> = self.flows.iter().map(|(k, f)| (*k, f.cap)).collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut left = self.model.aggregate.max(1.0);
        let mut n = order.len();
        for (k, cap) in order {
            let rate = cap.min(left / n as f64);
            left -= rate;
            n -= 1;
            if let Some(f) = self.flows.get_mut(&k) {
                f.rate = rate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(from: Instant, to: Option<Instant>) -> f64 {
        to.map_or(f64::NAN, |t| (t - from).as_secs_f64())
    }

    #[test]
    fn capped_flows_and_fair_shares() {
        let t = Instant::now();
        let mut l = Link::new(LinkModel::new(100.0, 40.0, Duration::ZERO));
        l.start(t, 1, 400, false);
        // Alone: its own cap, 40 B/s → 10 s.
        assert!((secs(t, l.next_done()) - 10.0).abs() < 0.02);
        l.start(t, 2, 400, false);
        l.start(t, 3, 400, false);
        // Three share 100 B/s: 33.3 each → 12 s.
        assert!((secs(t, l.next_done()) - 12.0).abs() < 0.02);
        let t12 = t + Duration::from_secs(12);
        assert_eq!(l.take_done(t12), vec![1, 2, 3]);
        assert!((l.carried - 1200.0).abs() < 2.0);
    }

    #[test]
    fn a_slow_flow_leaves_its_share_to_the_others() {
        let t = Instant::now();
        let model = LinkModel::new(100.0, 60.0, Duration::ZERO).with_slow(1.0, 6.0);
        let mut l = Link::new(model);
        l.start(t, 1, 100, true); // capped at 10 B/s
        l.start(t, 2, 900, false);
        l.start(t, 3, 900, false);
        // The slow one takes 10; the two others 45 each (below their cap of 60) → 20 s.
        assert!((secs(t, l.next_done()) - 10.0).abs() < 0.1);
        let done = l.take_done(t + Duration::from_secs(10));
        assert_eq!(done, vec![1]);
        // Now 2 and 3 have 450 left each at 50 B/s (capped by the link).
        assert!((secs(t, l.next_done()) - 19.0).abs() < 0.05);
    }

    #[test]
    fn cancel_frees_capacity_and_throttling_counts_flows() {
        let t = Instant::now();
        let mut l = Link::new(LinkModel::new(100.0, 100.0, Duration::ZERO).with_max_concurrent(2));
        l.start(t, 1, 1000, false);
        assert!(l.admits());
        l.start(t, 2, 100, false);
        assert!(!l.admits());
        l.cancel(t, 1);
        assert!(l.admits());
        assert!((secs(t, l.next_done()) - 1.0).abs() < 0.02);
        assert_eq!(l.peak_flows, 2);
    }
}
