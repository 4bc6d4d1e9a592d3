//! Seeded fault injection: decides, per request, whether to fail, drop or let it through, and,
//! per connection, whether it is one of the slow ones.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{FaultConfig, FaultOp};

/// What to do to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// Answer 500 InternalError (`true`) or 503 ServiceUnavailable (`false`) without storing.
    FailBefore {
        internal: bool,
    },
    /// Store, then answer 500/503 anyway (the client will retry an already applied request).
    FailAfter {
        internal: bool,
    },
    /// Close the connection while the request body is being read (after this fraction of it).
    DropMidBody,
    /// Do the work, then close the connection instead of answering.
    DropBeforeResponse,
}

/// How one connection is shaped: a slow connection has `factor` times the latency and
/// `1/factor` of the bandwidth cap of the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnShape {
    factor: u32,
}

impl ConnShape {
    /// A connection shaped like the configuration says, no slower.
    pub(crate) const NORMAL: Self = Self { factor: 1 };

    #[cfg(test)]
    fn is_slow(self) -> bool {
        self.factor > 1
    }

    /// The latency added to each request on this connection.
    pub(crate) fn latency(self, base: Duration) -> Duration {
        base.saturating_mul(self.factor)
    }

    /// The body bandwidth cap on this connection (at least 1 byte/s when capped).
    pub(crate) fn bandwidth(self, base: Option<u64>) -> Option<u64> {
        base.map(|rate| (rate / u64::from(self.factor)).max(1))
    }
}

pub(crate) struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
    /// Connections accepted so far.
    connections: AtomicU64,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Self {
            config,
            rng,
            connections: AtomicU64::new(0),
        }
    }

    /// Shapes the next accepted connection. Connections are counted in windows of
    /// `round(1 / slow_conn_rate)`; in each window, the one at position `seed mod window` is
    /// slow. Counting rather than drawing keeps the promised share exact over any run, even
    /// for a client that opens few connections; seed 0 makes the first connection of every
    /// window the slow one, so every client meets at least one.
    pub(crate) fn connection(&self) -> ConnShape {
        let rate = self.config.slow_conn_rate;
        if rate <= 0.0 || self.config.slow_factor <= 1 {
            return ConnShape::NORMAL;
        }
        // `rate` is in (0, 1]: the window is 1 or more, and fits in u64.
        let window = ((1.0 / rate).round() as u64).max(1);
        let i = self.connections.fetch_add(1, Ordering::Relaxed);
        if i % window == self.config.seed % window {
            ConnShape {
                factor: self.config.slow_factor,
            }
        } else {
            ConnShape::NORMAL
        }
    }

    /// Draws the fault for one request of `op` (`has_body`: the request streams a body).
    pub(crate) fn draw(&self, op: FaultOp, has_body: bool) -> Fault {
        if !self.config.targets(op)
            || (self.config.fault_rate <= 0.0 && self.config.drop_rate <= 0.0)
        {
            return Fault::None;
        }
        let mut rng = match self.rng.lock() {
            Ok(rng) => rng,
            Err(poisoned) => poisoned.into_inner(),
        };
        let roll: f64 = rng.r#gen();
        let flip: bool = rng.r#gen();
        let internal: bool = rng.r#gen();
        if roll < self.config.fault_rate {
            return if flip {
                Fault::FailBefore { internal }
            } else {
                Fault::FailAfter { internal }
            };
        }
        if roll < self.config.fault_rate + self.config.drop_rate {
            return if flip && has_body {
                Fault::DropMidBody
            } else {
                Fault::DropBeforeResponse
            };
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(rate: f64, drop: f64, seed: u64) -> Faults {
        Faults::new(FaultConfig {
            fault_rate: rate,
            drop_rate: drop,
            seed,
            ops: vec![FaultOp::UploadPart],
            ..FaultConfig::default()
        })
    }

    #[test]
    fn seeded_and_scoped() {
        let a: Vec<Fault> = (0..64)
            .map(|_| faults(0.3, 0.3, 7).draw(FaultOp::UploadPart, true))
            .collect();
        let f = faults(0.3, 0.3, 7);
        let b: Vec<Fault> = (0..64).map(|_| f.draw(FaultOp::UploadPart, true)).collect();
        // Same seed, fresh generator each time: the first draw repeats.
        assert!(a.iter().all(|x| *x == a[0]));
        assert_eq!(a[0], b[0]);
        assert!(b.contains(&Fault::None));
        assert!(b.iter().any(|x| *x != Fault::None));
        assert_eq!(f.draw(FaultOp::Complete, false), Fault::None);
        let never = faults(0.0, 0.0, 1);
        assert!((0..100).all(|_| never.draw(FaultOp::UploadPart, true) == Fault::None));
        let always = faults(1.0, 0.0, 1);
        assert!((0..100).all(|_| matches!(
            always.draw(FaultOp::UploadPart, true),
            Fault::FailBefore { .. } | Fault::FailAfter { .. }
        )));
    }

    fn slow(rate: f64, factor: u32, seed: u64) -> Faults {
        Faults::new(FaultConfig {
            slow_conn_rate: rate,
            slow_factor: factor,
            seed,
            ..FaultConfig::default()
        })
    }

    fn pattern(faults: &Faults, n: usize) -> Vec<bool> {
        (0..n).map(|_| faults.connection().is_slow()).collect()
    }

    #[test]
    fn slow_connections_are_the_promised_fraction_in_every_window() {
        for seed in 0..50 {
            let drawn = pattern(&slow(0.05, 10, seed), 2000);
            for window in drawn.chunks(20) {
                assert_eq!(window.iter().filter(|s| **s).count(), 1, "seed {seed}");
                // The seed chooses the position in the window.
                assert!(window[usize::try_from(seed % 20).unwrap()], "seed {seed}");
            }
        }
        // Seed 0: the first connection is slow, so a client with one connection meets it.
        assert_eq!(pattern(&slow(0.05, 10, 0), 3), [true, false, false]);
        let quarter = pattern(&slow(0.25, 4, 3), 400);
        assert_eq!(quarter.iter().filter(|s| **s).count(), 100);
        assert_eq!(quarter[..4], [false, false, false, true]);
        // A rate whose inverse is not whole rounds to the nearest window (1/0.3 -> 3).
        assert_eq!(
            pattern(&slow(0.3, 2, 0), 6),
            [true, false, false, true, false, false]
        );
        assert!(pattern(&slow(1.0, 2, 7), 50).iter().all(|s| *s));
        assert!(!pattern(&slow(0.0, 10, 0), 50).iter().any(|s| *s));
        // A factor of 1 is no slowdown at all.
        assert!(!pattern(&slow(1.0, 1, 0), 50).iter().any(|s| *s));
    }

    #[test]
    fn a_slow_connection_divides_bandwidth_and_multiplies_latency() {
        let shape = slow(1.0, 10, 0).connection();
        assert!(shape.is_slow());
        assert_eq!(shape.bandwidth(Some(40 << 20)), Some(4 << 20));
        assert_eq!(shape.bandwidth(Some(5)), Some(1));
        assert_eq!(shape.bandwidth(None), None);
        assert_eq!(
            shape.latency(Duration::from_millis(20)),
            Duration::from_millis(200)
        );
        let normal = ConnShape::NORMAL;
        assert_eq!(normal.bandwidth(Some(40 << 20)), Some(40 << 20));
        assert_eq!(
            normal.latency(Duration::from_millis(20)),
            Duration::from_millis(20)
        );
    }
}
