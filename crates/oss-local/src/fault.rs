//! Seeded fault injection: decides, per request, whether to fail, drop or let it through.

use std::sync::Mutex;

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

pub(crate) struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Self { config, rng }
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
}
