//! Downloads on a modelled link (sim time, never wall-clock): the adaptive concurrency reaches
//! the link without growing without bound, stays close to the best fixed concurrency, and
//! hedging keeps slow connections from stretching the download, within its byte budget. The
//! local copy is always checked byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod shaped;

use std::time::{Duration, Instant};

use oss_multipart_core::download::sim::{DownloadFaults, DownloadSim};
use oss_multipart_core::sim::LinkModel;
use oss_multipart_core::{
    AdaptiveConcurrency, Download, DownloadConfig, DownloadEvent, Target, TransferStats,
};
use shaped::{KIB, MIB, Run, Setting, Transfer};

/// Ranges of 16 KiB: a 4 MiB object is 256 ranges, about 20 rounds of the concurrency that
/// fills the link, the proportions of a few GiB in 8 MiB parts on a real link.
const PART: u64 = 16 * 1024;

struct Downloads;

impl Downloads {
    fn config(setting: Setting) -> DownloadConfig {
        let mut c = DownloadConfig::default();
        c.part_size = PART;
        match setting {
            Setting::Adaptive => {}
            Setting::AdaptiveNoHedge => c.hedging = None,
            Setting::AdaptiveWithin { start, max } => {
                c.adaptive = Some(AdaptiveConcurrency::starting_at(start));
                c.max_in_flight = max;
            }
            Setting::Fixed(n) => {
                c.max_in_flight = n;
                c.adaptive = None;
                c.hedging = None;
            }
        }
        c
    }

    /// A sim holding `data` as the object to download.
    fn sim(data: &[u8], config: DownloadConfig, faults: DownloadFaults, seed: u64) -> DownloadSim {
        let target = Target::new("bucket", "big.bin").unwrap();
        let download = Download::new(target, config, Instant::now(), seed).unwrap();
        DownloadSim::new(download, data.to_vec(), faults, seed)
    }
}

impl Transfer for Downloads {
    fn try_run(&self, link: &LinkModel, setting: Setting, size: usize, seed: u64) -> Option<Run> {
        let data = shaped::bytes(size, seed);
        let mut faults = DownloadFaults::none();
        faults.max_latency = Duration::from_millis(2);
        let mut sim = Self::sim(&data, Self::config(setting), faults, seed);
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

    fn flaky_run(&self, link: &LinkModel, size: usize, seed: u64) -> TransferStats {
        let data = shaped::bytes(size, seed);
        let mut config = Self::config(Setting::Adaptive);
        config.retry.max_retries = 9;
        let mut sim = Self::sim(&data, config, DownloadFaults::flaky(), seed);
        sim.set_link(link.clone());
        match sim.drive_bounded(1_000_000).unwrap() {
            Some(DownloadEvent::Completed(done)) => {
                assert!(done.crc_verified);
                assert_eq!(sim.local(), &data[..], "seed {seed}");
            }
            Some(DownloadEvent::Failed(e)) => assert!(!e.to_string().is_empty()),
            other => panic!("seed {seed}: {other:?}"),
        }
        sim.download.stats()
    }
}

/// Scenario (a) of the link benchmark scaled down 1,600 times in bytes: 256 KiB/s link,
/// 25.6 KiB/s per connection (a tenth), 20 ms round trip: about 11 GETs fill it.
fn link_a() -> LinkModel {
    LinkModel::new(LINK_A, 25.6 * KIB, Duration::from_millis(20))
}

const LINK_A: f64 = 256.0 * KIB;

#[test]
fn adaptive_reaches_the_link_and_stays_bounded() {
    shaped::reaches_the_link(&Downloads, &link_a(), LINK_A, 4 << 20, 1..=3);
}

/// Links of every kind, each with a size of about 20 rounds at its best fixed concurrency,
/// cheapest first.
fn links() -> [(&'static str, LinkModel, usize); 4] {
    [
        ("aggregate-bound", link_a(), 2 << 20),
        (
            "throttling beyond 6",
            link_a().with_max_concurrent(6),
            2 << 20,
        ),
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
    ]
}

/// The two cheap links in the default run.
#[test]
fn adaptive_is_close_to_the_best_fixed_concurrency() {
    shaped::close_to_the_best_fixed(&Downloads, &links()[..2], 1..=1);
}

/// Every link, more seeds (about a minute in a debug build).
#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_download -- --ignored"]
fn adaptive_is_close_to_the_best_fixed_concurrency_on_every_link() {
    shaped::close_to_the_best_fixed(&Downloads, &links(), 1..=8);
}

#[test]
fn hedging_absorbs_slow_connections_within_budget() {
    shaped::hedging_absorbs_slow_connections(&Downloads, &link_a(), 4 << 20, 1..=8);
}

#[test]
fn fixed_concurrency_stays_fixed() {
    shaped::fixed_concurrency_stays_fixed(&Downloads, &link_a(), 1 << 20);
}

/// Faults: resets, cut and truncated bodies, corruption, 5xx.
#[test]
fn hedging_under_faults_keeps_every_guarantee() {
    shaped::hedging_under_faults_keeps_every_guarantee(&Downloads, &link_a(), 1 << 20);
}
