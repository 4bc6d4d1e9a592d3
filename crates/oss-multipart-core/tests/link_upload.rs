//! Uploads on a modelled link (sim time, never wall-clock): the adaptive concurrency reaches
//! the link without growing without bound, stays close to the best fixed concurrency on every
//! kind of link, and hedging keeps slow connections from stretching the upload, within its
//! byte budget. The object is always verified byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use oss_multipart_core::sim::{Faults, LinkModel, Outcome, Sim};
use oss_multipart_core::{
    AdaptiveConcurrency, Config, DEFAULT_MAX_IN_FLIGHT, Plan, PlanOptions, SourceSize, Target,
    TransferStats, Upload,
};

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
/// The smallest part OSS accepts: 160 parts make 16 MiB, about 15 rounds of the concurrency
/// that fills the link below (a few GiB in 8 MiB parts on a real link have more).
const PART: u64 = 100 * 1024;

fn source(len: usize, seed: u64) -> Vec<u8> {
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

struct Run {
    secs: f64,
    stats: TransferStats,
    peak: usize,
}

/// Uploads `size` bytes over `link`; `None` when the upload failed (a fixed concurrency far
/// above what a throttling server accepts runs out of retries).
fn try_run(link: &LinkModel, config: Config, size: usize, seed: u64) -> Option<Run> {
    let data = source(size, seed);
    let opts = PlanOptions::default()
        .with_part_size(PART)
        .with_single_put_threshold(0)
        .with_memory_budget(PART * 64);
    let plan = Plan::new(SourceSize::Known(size as u64), &opts).unwrap();
    let target = Target::new("bucket", "big.bin").unwrap();
    let upload = Upload::new(target, plan, config, Instant::now(), seed).unwrap();
    let mut faults = Faults::none();
    faults.max_latency = Duration::from_millis(2);
    let mut sim = Sim::new(upload, data.clone(), faults, seed);
    sim.set_link(link.clone());
    let out = sim.drive_bounded(1_000_000).unwrap();
    if !matches!(out, Outcome::Completed(_)) {
        return None;
    }
    assert_eq!(
        sim.oss.object("bucket", "big.bin"),
        Some(&data[..]),
        "seed {seed}"
    );
    Some(Run {
        secs: sim.elapsed().as_secs_f64(),
        stats: sim.upload.stats(),
        peak: sim.peak_parts_in_flight(),
    })
}

fn run(link: &LinkModel, config: Config, size: usize, seed: u64) -> Run {
    try_run(link, config, size, seed).unwrap_or_else(|| panic!("seed {seed}: failed"))
}

fn adaptive() -> Config {
    Config::default()
}

fn fixed(n: usize) -> Config {
    let mut c = Config::default();
    c.max_in_flight = n;
    c.adaptive = None;
    c.hedging = None;
    c
}

/// Scenario (a) of the link benchmark scaled down in bytes: 1 MiB/s link, 100 KiB/s per
/// connection (a tenth), 20 ms round trip: about 11 parts fill it.
fn link_a() -> LinkModel {
    LinkModel::new(MIB, 100.0 * KIB, Duration::from_millis(20))
}

/// 32 MiB: 320 parts, about 20 rounds of 16 (the sim's parts move in lockstep, so the
/// partial last round costs a whole part time; real transfers spread out).
fn reaches_the_link(seeds: std::ops::RangeInclusive<u64>) {
    let size = 32 << 20;
    for seed in seeds {
        let r = run(&link_a(), adaptive(), size, seed);
        let rate = size as f64 / r.secs / MIB;
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
            r.stats.peak_limit <= 32,
            "seed {seed}: grew to {}",
            r.stats.peak_limit
        );
    }
}

#[test]
fn adaptive_reaches_the_link_and_stays_bounded() {
    reaches_the_link(1..=2);
}

#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_upload -- --ignored"]
fn adaptive_reaches_the_link_many_seeds() {
    reaches_the_link(1..=8);
}

fn links() -> Vec<(&'static str, LinkModel, usize)> {
    vec![
        ("aggregate-bound", link_a(), 32 << 20),
        (
            "per-connection-bound",
            LinkModel::new(256.0 * MIB, 100.0 * KIB, Duration::from_millis(20)),
            64 << 20,
        ),
        (
            "throttling beyond 6",
            link_a().with_max_concurrent(6),
            16 << 20,
        ),
    ]
}

fn compare(seeds: std::ops::RangeInclusive<u64>) {
    for (name, link, size) in links() {
        let best = [2, 4, 8, 16, 32]
            .into_iter()
            .filter_map(|n| try_run(&link, fixed(n), size, 7).map(|r| r.secs))
            .fold(f64::INFINITY, f64::min);
        for seed in seeds.clone() {
            let r = run(&link, adaptive(), size, seed);
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

/// Sizes of about 20 rounds at the best fixed concurrency (the sim's parts move in lockstep):
/// a few minutes in a debug build, not part of the default run.
#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_upload -- --ignored"]
fn adaptive_is_close_to_the_best_fixed_concurrency_on_every_link() {
    compare(1..=2);
}

#[test]
fn hedging_absorbs_slow_connections_within_budget() {
    let size = 16 << 20;
    let slow = link_a().with_slow(0.05, 10.0);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for seed in 1..=4 {
        let base = run(&link_a(), adaptive(), size, seed).secs;
        let r = run(&slow, adaptive(), size, seed);
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
        let mut no_hedge = adaptive();
        no_hedge.hedging = None;
        without.push(run(&slow, no_hedge, size, seed).secs / base);
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
}

#[test]
fn fixed_concurrency_stays_fixed() {
    let r = run(&link_a(), fixed(3), 2 << 20, 1);
    assert!(r.peak <= 3, "peak {}", r.peak);
    assert_eq!((r.stats.peak_limit, r.stats.hedges), (3, 0));
    let mut c = adaptive();
    c.adaptive = Some(AdaptiveConcurrency::starting_at(2));
    c.max_in_flight = 5;
    let r = run(&link_a(), c, 4 << 20, 1);
    assert!(r.stats.peak_limit <= 5 && r.peak <= 6, "{:?}", r.stats);
}

#[test]
#[ignore = "diagnostics: SEED=n SLOW=1 cargo test --test link_upload -- trace --ignored --nocapture"]
fn trace() {
    let seed: u64 = std::env::var("SEED").map_or(1, |s| s.parse().unwrap());
    let size = 16 << 20;
    let data = source(size, seed);
    let opts = PlanOptions::default()
        .with_part_size(PART)
        .with_single_put_threshold(0)
        .with_memory_budget(PART * 64);
    let plan = Plan::new(SourceSize::Known(size as u64), &opts).unwrap();
    let target = Target::new("bucket", "big.bin").unwrap();
    let upload = Upload::new(target, plan, adaptive(), Instant::now(), seed).unwrap();
    let mut faults = Faults::none();
    faults.max_latency = Duration::from_millis(2);
    let mut sim = Sim::new(upload, data, faults, seed);
    let link = std::env::var("SLOW").map_or(link_a(), |_| link_a().with_slow(0.05, 10.0));
    sim.set_link(link);
    let (mut last, mut last_t) = (0, 0);
    while sim.run_for(1) {
        let s = sim.upload.stats();
        let t = sim.elapsed().as_secs_f64();
        if s.limit != last || t as u64 != last_t {
            println!(
                "{t:.3} limit {} hedges {} link bytes {}",
                s.limit,
                s.hedges,
                sim.link_bytes()
            );
            (last, last_t) = (s.limit, t as u64);
        }
    }
    for line in sim.trace().iter().filter(|l| l.starts_with("x ")) {
        println!("{line}");
    }
    println!(
        "{:.3} end {:?}",
        sim.elapsed().as_secs_f64(),
        sim.upload.stats()
    );
}

/// Hedge races under every fault of the sim (lost answers, duplicates, corruption, resets,
/// 5xx) on a link with slow connections: an upload either completes with the exact bytes or
/// fails with a typed error; hedging never exceeds its budget, and it does happen.
#[test]
fn hedging_under_faults_keeps_every_guarantee() {
    let mut hedged = 0;
    for seed in 1..=24u64 {
        let size = 2 << 20;
        let data = source(size, seed);
        let opts = PlanOptions::default()
            .with_part_size(PART)
            .with_single_put_threshold(0);
        let plan = Plan::new(SourceSize::Known(size as u64), &opts).unwrap();
        let target = Target::new("bucket", "k").unwrap();
        let mut config = adaptive();
        config.retry.max_retries = 9;
        let upload = Upload::new(target, plan, config, Instant::now(), seed).unwrap();
        let mut sim = Sim::new(upload, data.clone(), Faults::flaky(), seed);
        sim.set_link(link_a().with_slow(0.1, 10.0));
        match sim.drive_bounded(1_000_000).unwrap() {
            Outcome::Completed(done) => {
                assert_eq!(
                    sim.oss.object("bucket", "k"),
                    Some(&data[..]),
                    "seed {seed}"
                );
                assert_eq!(done.size, size as u64);
            }
            Outcome::Failed(f) => assert!(!f.error.to_string().is_empty()),
            other => panic!("seed {seed}: {other:?}"),
        }
        let s = sim.upload.stats();
        assert!(
            s.hedge_bytes as f64 <= 0.05 * size as f64,
            "seed {seed}: {s:?}"
        );
        hedged += u32::from(s.hedges > 0);
    }
    eprintln!("hedged in {hedged} of 24 runs");
    assert!(hedged >= 3, "hedging happened in {hedged} of 24 runs only");
}
