//! Uploads on a modelled link (sim time, never wall-clock): the adaptive concurrency reaches
//! the link without growing without bound, stays close to the best fixed concurrency on every
//! kind of link, and hedging keeps slow connections from stretching the upload, within its
//! byte budget. The object is always verified byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod shaped;

use std::time::{Duration, Instant};

use oss_multipart_core::sim::{Faults, LinkModel, Outcome, Sim};
use oss_multipart_core::{
    AdaptiveConcurrency, Config, Plan, PlanOptions, SourceSize, Target, TransferStats, Upload,
};
use shaped::{KIB, MIB, Run, Setting, Transfer};

/// The smallest part OSS accepts: 160 parts make 16 MiB, about 15 rounds of the concurrency
/// that fills the link below (a few GiB in 8 MiB parts on a real link have more).
const PART: u64 = 100 * 1024;

struct Uploads;

impl Uploads {
    fn config(setting: Setting) -> Config {
        let mut c = Config::default();
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

    /// A sim holding an upload of `data` as `bucket/KEY`, in parts of [`PART`].
    fn sim(data: &[u8], config: Config, faults: Faults, seed: u64) -> Sim {
        let opts = PlanOptions::default()
            .with_part_size(PART)
            .with_single_put_threshold(0)
            .with_memory_budget(PART * 64);
        let plan = Plan::new(SourceSize::Known(data.len() as u64), &opts).unwrap();
        let target = Target::new("bucket", KEY).unwrap();
        let upload = Upload::new(target, plan, config, Instant::now(), seed).unwrap();
        Sim::new(upload, data.to_vec(), faults, seed)
    }
}

const KEY: &str = "big.bin";

impl Transfer for Uploads {
    fn try_run(&self, link: &LinkModel, setting: Setting, size: usize, seed: u64) -> Option<Run> {
        let data = shaped::bytes(size, seed);
        let mut faults = Faults::none();
        faults.max_latency = Duration::from_millis(2);
        let mut sim = Self::sim(&data, Self::config(setting), faults, seed);
        sim.set_link(link.clone());
        let out = sim.drive_bounded(1_000_000).unwrap();
        if !matches!(out, Outcome::Completed(_)) {
            return None;
        }
        assert_eq!(
            sim.oss.object("bucket", KEY),
            Some(&data[..]),
            "seed {seed}"
        );
        Some(Run {
            secs: sim.elapsed().as_secs_f64(),
            stats: sim.upload.stats(),
            peak: sim.peak_parts_in_flight(),
        })
    }

    fn flaky_run(&self, link: &LinkModel, size: usize, seed: u64) -> TransferStats {
        let data = shaped::bytes(size, seed);
        let mut config = Self::config(Setting::Adaptive);
        config.retry.max_retries = 9;
        let mut sim = Self::sim(&data, config, Faults::flaky(), seed);
        sim.set_link(link.clone());
        match sim.drive_bounded(1_000_000).unwrap() {
            Outcome::Completed(done) => {
                assert_eq!(
                    sim.oss.object("bucket", KEY),
                    Some(&data[..]),
                    "seed {seed}"
                );
                assert_eq!(done.size, size as u64);
            }
            Outcome::Failed(f) => assert!(!f.error.to_string().is_empty()),
            other => panic!("seed {seed}: {other:?}"),
        }
        sim.upload.stats()
    }
}

/// Scenario (a) of the link benchmark scaled down in bytes: 1 MiB/s link, 100 KiB/s per
/// connection (a tenth), 20 ms round trip: about 11 parts fill it.
fn link_a() -> LinkModel {
    LinkModel::new(MIB, 100.0 * KIB, Duration::from_millis(20))
}

/// 32 MiB: 320 parts, about 20 rounds of 16 (the sim's parts move in lockstep, so the
/// partial last round costs a whole part time; real transfers spread out).
#[test]
fn adaptive_reaches_the_link_and_stays_bounded() {
    shaped::reaches_the_link(&Uploads, &link_a(), MIB, 32 << 20, 1..=2);
}

#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_upload -- --ignored"]
fn adaptive_reaches_the_link_many_seeds() {
    shaped::reaches_the_link(&Uploads, &link_a(), MIB, 32 << 20, 1..=8);
}

/// Sizes of about 20 rounds at the best fixed concurrency (the sim's parts move in lockstep):
/// a few minutes in a debug build, not part of the default run.
#[test]
#[ignore = "long: cargo test -p oss-multipart-core --test link_upload -- --ignored"]
fn adaptive_is_close_to_the_best_fixed_concurrency_on_every_link() {
    let links = [
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
    ];
    shaped::close_to_the_best_fixed(&Uploads, &links, 1..=2);
}

#[test]
fn hedging_absorbs_slow_connections_within_budget() {
    shaped::hedging_absorbs_slow_connections(&Uploads, &link_a(), 16 << 20, 1..=4);
}

#[test]
fn fixed_concurrency_stays_fixed() {
    shaped::fixed_concurrency_stays_fixed(&Uploads, &link_a(), 2 << 20);
}

/// Faults: lost answers, duplicates, corruption, resets, 5xx.
#[test]
fn hedging_under_faults_keeps_every_guarantee() {
    shaped::hedging_under_faults_keeps_every_guarantee(&Uploads, &link_a(), 2 << 20);
}
