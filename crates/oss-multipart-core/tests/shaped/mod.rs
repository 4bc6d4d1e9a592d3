//! What the link tests of uploads and downloads share: the settings they compare, one run's
//! figures, and the assertions, each over a [`Transfer`] that runs one machine in its sim on a
//! modelled link (sim time, never wall-clock).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::ops::RangeInclusive;

use oss_multipart_core::sim::LinkModel;
use oss_multipart_core::{DEFAULT_MAX_IN_FLIGHT, TransferStats};

pub const KIB: f64 = 1024.0;
pub const MIB: f64 = 1024.0 * KIB;

/// Pseudo-random bytes (xorshift), different for each seed.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// How many requests a run keeps in flight.
#[derive(Clone, Copy, Debug)]
pub enum Setting {
    /// The defaults: adaptive concurrency and hedging.
    Adaptive,
    /// Adaptive concurrency, no hedging.
    AdaptiveNoHedge,
    /// Adaptive from `start`, never above `max`.
    AdaptiveWithin { start: usize, max: usize },
    /// Exactly `n`, no hedging.
    Fixed(usize),
}

/// One finished run.
pub struct Run {
    /// Sim seconds from start to the terminal event.
    pub secs: f64,
    pub stats: TransferStats,
    /// The most requests that were ever in flight at once.
    pub peak: usize,
}

/// One machine (upload or download) in its sim.
pub trait Transfer {
    /// Moves `size` bytes over `link` and checks them byte for byte; `None` when the transfer
    /// failed (a fixed concurrency far above what a throttling server accepts runs out of
    /// retries).
    fn try_run(&self, link: &LinkModel, setting: Setting, size: usize, seed: u64) -> Option<Run>;

    /// Moves `size` bytes over `link` under every fault of the sim, with the default setting
    /// and 9 retries: either the bytes arrive exactly or the transfer fails with a typed
    /// error (anything else panics). Returns the machine's stats.
    fn flaky_run(&self, link: &LinkModel, size: usize, seed: u64) -> TransferStats;
}

pub fn run(t: &impl Transfer, link: &LinkModel, setting: Setting, size: usize, seed: u64) -> Run {
    t.try_run(link, setting, size, seed)
        .unwrap_or_else(|| panic!("seed {seed}: {setting:?} failed"))
}

/// At the defaults, `size` bytes reach ≥ 0.9 of `link_rate` (bytes/s) and the concurrency
/// stays within its ceiling.
pub fn reaches_the_link(
    t: &impl Transfer,
    link: &LinkModel,
    link_rate: f64,
    size: usize,
    seeds: RangeInclusive<u64>,
) {
    for seed in seeds {
        let r = run(t, link, Setting::Adaptive, size, seed);
        let rate = size as f64 / r.secs / link_rate;
        eprintln!(
            "seed {seed}: {rate:.3} of the link, peak limit {}",
            r.stats.peak_limit
        );
        assert!(rate >= 0.9, "seed {seed}: {rate:.3} of the link");
        assert!(
            r.peak <= DEFAULT_MAX_IN_FLIGHT + 1,
            "seed {seed}: peak {}",
            r.peak
        );
        assert!(
            r.stats.peak_limit <= DEFAULT_MAX_IN_FLIGHT,
            "seed {seed}: grew to {}",
            r.stats.peak_limit
        );
    }
}

/// On each `(name, link, size)`, the defaults take at most 1/0.85 of the time of the best
/// fixed concurrency (2 to 32).
pub fn close_to_the_best_fixed(
    t: &impl Transfer,
    links: &[(&str, LinkModel, usize)],
    seeds: RangeInclusive<u64>,
) {
    for (name, link, size) in links {
        let best = [2, 4, 8, 16, 32]
            .into_iter()
            .filter_map(|n| t.try_run(link, Setting::Fixed(n), *size, 7))
            .map(|r| r.secs)
            .fold(f64::INFINITY, f64::min);
        for seed in seeds.clone() {
            let r = run(t, link, Setting::Adaptive, *size, seed);
            let ratio = best / r.secs;
            eprintln!("{name} seed {seed}: adaptive/best fixed {ratio:.3}");
            assert!(
                ratio >= 0.85,
                "{name} seed {seed}: adaptive {:.2} s vs best fixed {best:.2} s",
                r.secs
            );
        }
    }
}

/// With one connection in twenty 10× slower, hedging keeps the time within 1.2× of `link`'s
/// on average (1.5× at worst) and within 5 % extra bytes; without it the time is clearly worse.
pub fn hedging_absorbs_slow_connections(
    t: &impl Transfer,
    link: &LinkModel,
    size: usize,
    seeds: RangeInclusive<u64>,
) {
    let slow = link.clone().with_slow(0.05, 10.0);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for seed in seeds {
        let base = run(t, link, Setting::Adaptive, size, seed).secs;
        let r = run(t, &slow, Setting::Adaptive, size, seed);
        eprintln!(
            "seed {seed}: slow/base {:.3}, {} hedges, {} hedge bytes",
            r.secs / base,
            r.stats.hedges,
            r.stats.hedge_bytes
        );
        assert!(
            r.stats.hedge_bytes as f64 <= 0.05 * size as f64,
            "seed {seed}: {} hedge bytes",
            r.stats.hedge_bytes
        );
        with.push(r.secs / base);
        without.push(run(t, &slow, Setting::AdaptiveNoHedge, size, seed).secs / base);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let worst = with.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "slow/base with hedging: mean {:.3}, worst {worst:.3}; without: mean {:.3}",
        mean(&with),
        mean(&without)
    );
    assert!(
        mean(&with) <= 1.2,
        "with hedging {:.3}× on average",
        mean(&with)
    );
    assert!(worst <= 1.5, "with hedging {worst:.3}× at worst");
    // Without hedging the same links are clearly worse (the reason it exists).
    assert!(
        mean(&without) > mean(&with) + 0.1,
        "without hedging {:.3}×",
        mean(&without)
    );
}

/// A fixed count is never exceeded nor hedged; an adaptive ceiling is obeyed.
pub fn fixed_concurrency_stays_fixed(t: &impl Transfer, link: &LinkModel, size: usize) {
    let r = run(t, link, Setting::Fixed(3), size, 1);
    assert!(r.peak <= 3, "peak {}", r.peak);
    assert_eq!((r.stats.peak_limit, r.stats.hedges), (3, 0));
    let within = Setting::AdaptiveWithin { start: 2, max: 5 };
    let r = run(t, link, within, 2 * size, 1);
    assert!(r.stats.peak_limit <= 5 && r.peak <= 5 + 1, "{:?}", r.stats);
}

/// Hedge races under every fault of the sim on a link with slow connections keep every
/// guarantee of [`Transfer::flaky_run`], stay within the byte budget, and do happen.
pub fn hedging_under_faults_keeps_every_guarantee(
    t: &impl Transfer,
    link: &LinkModel,
    size: usize,
) {
    let slow = link.clone().with_slow(0.1, 10.0);
    let mut hedged = 0;
    for seed in 1..=24u64 {
        let s = t.flaky_run(&slow, size, seed);
        assert!(
            s.hedge_bytes as f64 <= 0.05 * size as f64,
            "seed {seed}: {s:?}"
        );
        hedged += u32::from(s.hedges > 0);
    }
    eprintln!("hedged in {hedged} of 24 runs");
    assert!(hedged >= 3, "hedging happened in {hedged} of 24 runs only");
}
