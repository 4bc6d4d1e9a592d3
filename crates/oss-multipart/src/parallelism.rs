//! How many parts (uploads) or ranges (downloads) of one transfer are in flight, and whether
//! stragglers are hedged: the builders' settings, mapped onto the core's policies (which
//! decide everything at run time).

use oss_multipart_core::{
    AdaptiveConcurrency, DEFAULT_INITIAL_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT, Hedging,
};

/// Transfers in flight at the start of an adaptive transfer (and the fixed count of a copy).
pub const DEFAULT_CONCURRENCY: usize = DEFAULT_INITIAL_IN_FLIGHT;

/// The default ceiling of the adaptive concurrency.
pub const DEFAULT_MAX_CONCURRENCY: usize = DEFAULT_MAX_IN_FLIGHT;

/// The concurrency settings of one upload or download builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parallelism {
    /// The fixed count, or where the adaptive concurrency starts.
    pub(crate) start: usize,
    /// The adaptive ceiling.
    pub(crate) max: usize,
    pub(crate) adaptive: bool,
    pub(crate) hedging: bool,
}

impl Default for Parallelism {
    fn default() -> Self {
        Self {
            start: DEFAULT_CONCURRENCY,
            max: DEFAULT_MAX_CONCURRENCY,
            adaptive: true,
            hedging: true,
        }
    }
}

impl Parallelism {
    /// Exactly `n` in flight (`concurrency(n)` on a builder).
    pub(crate) fn fixed(&mut self, n: usize) {
        self.start = n;
        self.adaptive = false;
    }

    /// Adaptive, up to `n` (`max_concurrency(n)` on a builder).
    pub(crate) fn adaptive_up_to(&mut self, n: usize) {
        self.max = n;
        self.adaptive = true;
    }

    /// The most transfers ever in flight: the core's `max_in_flight`.
    pub(crate) fn ceiling(&self) -> usize {
        if self.adaptive { self.max } else { self.start }
    }

    /// The core's adaptive policy (`None`: fixed).
    pub(crate) fn core_adaptive(&self) -> Option<AdaptiveConcurrency> {
        self.adaptive
            .then(|| AdaptiveConcurrency::starting_at(self.start.clamp(1, self.max.max(1))))
    }

    /// The core's hedging policy (`None`: off).
    pub(crate) fn core_hedging(&self) -> Option<Hedging> {
        self.hedging.then(Hedging::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_adaptive_map_onto_the_core() {
        let mut p = Parallelism::default();
        assert_eq!(p.ceiling(), DEFAULT_MAX_CONCURRENCY);
        assert_eq!(
            p.core_adaptive().map(|a| a.initial),
            Some(DEFAULT_CONCURRENCY)
        );
        assert!(p.core_hedging().is_some());
        p.fixed(7);
        assert_eq!((p.ceiling(), p.core_adaptive()), (7, None));
        p.adaptive_up_to(12);
        assert_eq!(p.ceiling(), 12);
        assert_eq!(p.core_adaptive().map(|a| a.initial), Some(7));
        p.hedging = false;
        assert_eq!(p.core_hedging(), None);
    }
}
