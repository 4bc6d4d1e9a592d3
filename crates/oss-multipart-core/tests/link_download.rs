//! Downloads on a modelled link (sim time, never wall-clock): the adaptive concurrency reaches
//! the link without growing without bound, and hedging keeps slow connections from
//! stretching the download, within its byte budget.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use oss_multipart_core::download::sim::{DownloadFaults, DownloadSim};
use oss_multipart_core::sim::LinkModel;
use oss_multipart_core::{
    AdaptiveConcurrency, DEFAULT_MAX_IN_FLIGHT, Download, DownloadConfig, DownloadEvent, Target,
    TransferStats,
};

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
/// Ranges of 16 KiB: a 4 MiB object is 256 ranges, about 20 rounds of the concurrency that
/// fills the link, the proportions of a few GiB in 8 MiB parts on a real link.
const PART: u64 = 16 * 1024;

fn object(len: usize, seed: u64) -> Vec<u8> {
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

/// How a run ended: sim seconds, stats, peak GETs in flight.
struct Run {
    secs: f64,
    stats: TransferStats,
    peak: usize,
}

/// Downloads `size` bytes over `link`; `None` when the download failed (a fixed concurrency
/// far above what a throttling server accepts runs out of retries).
fn try_run(link: &LinkModel, config: DownloadConfig, size: usize, seed: u64) -> Option<Run> {
    let data = object(size, seed);
    let target = Target::new("bucket", "big.bin").unwrap();
    let download = Download::new(target, config, Instant::now(), seed).unwrap();
    let mut faults = DownloadFaults::none();
    faults.max_latency = Duration::from_millis(2);
    let mut sim = DownloadSim::new(download, data.clone(), faults, seed);
    sim.set_link(link.clone());
    let out = sim.drive_bounded(1_000_000).unwrap();
    if !matches!(out, Some(DownloadEvent::Completed(_))) {
        return None;
    }
    assert_eq!(sim.local(), &data[..], "seed {seed}: bytes differ");
    Some(Run {
        secs: sim.elapsed().as_secs_f64(),
        stats: sim.download.stats(),
        peak: sim.peak_gets_in_flight(),
    })
}

fn run(link: &LinkModel, config: DownloadConfig, size: usize, seed: u64) -> Run {
    try_run(link, config, size, seed).unwrap_or_else(|| panic!("seed {seed}: failed"))
}

fn adaptive() -> DownloadConfig {
    let mut c = DownloadConfig::default();
    c.part_size = PART;
    c
}

fn fixed(n: usize) -> DownloadConfig {
    let mut c = adaptive();
    c.max_in_flight = n;
    c.adaptive = None;
    c.hedging = None;
    c
}

/// Scenario (a) of the link benchmark scaled down 1,600 times in bytes: 256 KiB/s link,
/// 25.6 KiB/s per connection (a tenth), 20 ms round trip: about 11 GETs fill it.
fn link_a() -> LinkModel {
    LinkModel::new(256.0 * KIB, 25.6 * KIB, Duration::from_millis(20))
}

const LINK_A: f64 = 256.0 * KIB;

#[test]
fn adaptive_reaches_the_link_and_stays_bounded() {
    let size = 4 << 20;
    for seed in 1..=3 {
        let r = run(&link_a(), adaptive(), size, seed);
        let rate = size as f64 / r.secs / LINK_A;
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
        // About 11 GETs fill this link: no growth far beyond.
        assert!(
            r.stats.peak_limit <= 32,
            "seed {seed}: grew to {}",
            r.stats.peak_limit
        );
    }
}

/// Links of every kind, each with a size of about 20 rounds at its best fixed concurrency.
fn links() -> Vec<(&'static str, LinkModel, usize)> {
    vec![
        ("aggregate-bound", link_a(), 2 << 20),
        (
            "per-connection-bound",
            LinkModel::new(64.0 * MIB, 25.6 * KIB, Duration::from_millis(20)),
            12 << 20,
        ),
        (
            "latency-bound",
            LinkModel::new(MIB, 512.0 * KIB, Duration::from_millis(200)),
            12 << 20,
        ),
        (
            "throttling beyond 6",
            link_a().with_max_concurrent(6),
            2 << 20,
        ),
    ]
}

/// Adaptive time over the best fixed concurrency's, for each link (the first `count`) and
/// seed.
fn compare(count: usize, seeds: std::ops::RangeInclusive<u64>) {
    let mut links = links();
    links.sort_by_key(|(_, _, size)| *size);
    for (name, link, size) in links.into_iter().take(count) {
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

/// The two cheap links (aggregate-bound, throttling) in the default run.
#[test]
fn adaptive_is_close_to_the_best_fixed_concurrency() {
    compare(2, 1..=1);
}

/// Every link, more seeds (about a minute in a debug build).
#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_download -- --ignored"]
fn adaptive_is_close_to_the_best_fixed_concurrency_on_every_link() {
    compare(usize::MAX, 1..=8);
}

#[test]
fn hedging_absorbs_slow_connections_within_budget() {
    let size = 4 << 20;
    let slow = link_a().with_slow(0.05, 10.0);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for seed in 1..=8 {
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
    // Without hedging the same links are clearly worse (the reason it exists).
    assert!(
        mean(&without) > mean(&with) + 0.1,
        "without hedging {:.3}×",
        mean(&without)
    );
}

#[test]
fn fixed_concurrency_stays_fixed() {
    let r = run(&link_a(), fixed(3), 1 << 20, 1);
    assert!(r.peak <= 3, "peak {}", r.peak);
    assert_eq!((r.stats.peak_limit, r.stats.hedges), (3, 0));
    let mut c = adaptive();
    c.adaptive = Some(AdaptiveConcurrency::starting_at(2));
    c.max_in_flight = 5;
    let r = run(&link_a(), c, 2 << 20, 1);
    assert!(r.stats.peak_limit <= 5 && r.peak <= 5 + 1, "{:?}", r.stats);
}

#[test]
#[ignore = "diagnostics: SEED=n LINK=latency SLOW=1 cargo test --test link_download -- trace_limits --ignored --nocapture"]
fn trace_limits() {
    let seed: u64 = std::env::var("SEED").map_or(1, |s| s.parse().unwrap());
    let size = std::env::var("SIZE").map_or(4 << 20, |s| s.parse().unwrap());
    let data = object(size, seed);
    let target = Target::new("bucket", "big.bin").unwrap();
    let download = Download::new(target, adaptive(), Instant::now(), seed).unwrap();
    let mut faults = DownloadFaults::none();
    faults.max_latency = Duration::from_millis(2);
    let mut sim = DownloadSim::new(download, data.clone(), faults, seed);
    let link = match std::env::var("LINK").ok().as_deref() {
        Some("latency") => LinkModel::new(MIB, 512.0 * KIB, Duration::from_millis(200)),
        _ => link_a(),
    };
    sim.set_link(std::env::var("SLOW").map_or(link.clone(), |_| link.with_slow(0.05, 10.0)));
    let mut last = 0;
    let mut last_t = 0;
    while sim.run_for(1) {
        let s = sim.download.stats();
        let tenth = (sim.elapsed().as_secs_f64() * 0.5) as usize;
        if s.limit != last || tenth != last_t {
            println!(
                "{:.3} limit {} hedges {} carried {} peak {}",
                sim.elapsed().as_secs_f64(),
                s.limit,
                s.hedges,
                sim.link_bytes(),
                sim.peak_gets_in_flight()
            );
            last = s.limit;
            last_t = tenth;
        }
    }
    println!(
        "{:.3} end {:?}",
        sim.elapsed().as_secs_f64(),
        sim.download.stats()
    );
}

/// Hedge races under every fault of the download sim (resets, cut and truncated bodies,
/// corruption, 5xx) on a link with slow connections: the local copy is exactly the object
/// or the download fails with a typed error; hedging stays within its budget and happens.
#[test]
fn hedging_under_faults_keeps_every_guarantee() {
    let mut hedged = 0;
    for seed in 1..=24u64 {
        let size = 1 << 20;
        let data = object(size, seed);
        let target = Target::new("bucket", "k").unwrap();
        let mut config = adaptive();
        config.retry.max_retries = 9;
        let download = Download::new(target, config, Instant::now(), seed).unwrap();
        let mut sim = DownloadSim::new(download, data.clone(), DownloadFaults::flaky(), seed);
        sim.set_link(link_a().with_slow(0.1, 10.0));
        match sim.drive_bounded(1_000_000).unwrap() {
            Some(DownloadEvent::Completed(done)) => {
                assert!(done.crc_verified);
                assert_eq!(sim.local(), &data[..], "seed {seed}");
            }
            Some(DownloadEvent::Failed(e)) => assert!(!e.to_string().is_empty()),
            other => panic!("seed {seed}: {other:?}"),
        }
        let s = sim.download.stats();
        assert!(
            s.hedge_bytes as f64 <= 0.05 * size as f64,
            "seed {seed}: {s:?}"
        );
        hedged += u32::from(s.hedges > 0);
    }
    eprintln!("hedged in {hedged} of 24 runs");
    assert!(hedged >= 3, "hedging happened in {hedged} of 24 runs only");
}
