//! Property tests: the simulation under random faults, crashes and resumes; planning invariants;
//! the fuzz corpus replayed on stable.
//!
//! The normal run checks a few hundred seeds. The long run (≥ 10,000 seeds) is ignored by default:
//! `cargo test -p oss-multipart-core --release --test properties -- --ignored`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::time::{Duration, Instant};

use oss_multipart_core::limits::{MAX_OBJECT_SIZE, MAX_PART_COUNT, MAX_PART_SIZE, MIN_PART_SIZE};
use oss_multipart_core::sim::{Faults, Outcome, Sim};
use oss_multipart_core::{
    Config, Plan, PlanOptions, SourceIdentity, SourceSize, Target, Upload, UploadError, crc64,
};
use proptest::prelude::*;

const PART: u64 = 102_400;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One randomized run: random size, plan, concurrency, faults, crashes and upload loss.
/// Returns a description of what was exercised (for the long run's summary).
fn run_seed(seed: u64) -> (u32, u32) {
    let mut r = Rng(seed);
    let stream = r.below(4) == 0;
    let len = match r.below(4) {
        0 => r.below(PART * 2),
        _ => r.below(PART * 12),
    } as usize;
    let source: Vec<u8> = (0..len)
        .map(|i| (i as u64 ^ seed).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let mut opts = PlanOptions::default()
        .with_part_size(PART + r.below(3) * 50_000)
        .with_single_put_threshold(if r.below(3) == 0 { 150_000 } else { 0 })
        .with_stream_initial_part_size(PART)
        .with_stream_parts_per_step(1 + r.below(3) as u32);
    if r.below(3) == 0 {
        opts = opts.with_memory_budget(PART * (1 + r.below(4)));
    }
    let size = if stream {
        SourceSize::Unknown
    } else {
        SourceSize::Known(len as u64)
    };
    let plan = Plan::new(size, &opts).unwrap();
    let mut config = Config::default();
    config.max_in_flight = 1 + r.below(6) as usize;
    config.sequential = r.below(5) == 0;
    config.retry.initial_backoff = Duration::from_millis(50);
    config.retry.max_backoff = Duration::from_secs(5);
    let intensity = r.unit() * 0.25;
    let faults = {
        let mut f = Faults::none();
        f.server_error = intensity * r.unit();
        f.reset = intensity * r.unit();
        f.timeout = intensity * r.unit();
        f.lost_response = intensity * r.unit();
        f.duplicate = intensity * r.unit();
        f.corrupt_body = intensity * r.unit();
        f.skew = intensity * r.unit() * 0.2;
        f.max_latency = Duration::from_millis(1 + r.below(200));
        f
    };
    let target = Target::new("prop-bucket", "k").unwrap();
    let now = Instant::now();
    let upload = if stream || plan.is_single_put() {
        Upload::new(target, plan, config.clone(), now, seed).unwrap()
    } else {
        let ident = SourceIdentity::new(len as u64);
        Upload::with_checkpointing(target, plan, config.clone(), ident, now, seed).unwrap()
    };
    let mut sim = Sim::new(upload, source.clone(), faults, seed);
    let mut crashes = 0;
    let mut failures = 0;
    for round in 0..40u64 {
        // Crash at a random step, sometimes.
        let outcome = if r.below(3) == 0 && crashes < 4 {
            if sim.run_for(r.below(60)) {
                crashes += 1;
                if r.below(4) == 0 {
                    sim.oss.forget_uploads();
                }
                sim.crash_and_resume(config.clone(), seed ^ round).unwrap();
                continue;
            }
            sim.outcome().cloned().unwrap_or(Outcome::Stalled)
        } else {
            sim.drive_bounded(200_000)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
        };
        match outcome {
            Outcome::Completed(c) => {
                assert_eq!(
                    sim.oss.object("prop-bucket", "k"),
                    Some(&source[..]),
                    "seed {seed}: bytes differ"
                );
                assert_eq!(c.crc64, crc64(&source), "seed {seed}");
                assert_eq!(c.size, len as u64, "seed {seed}");
                return (crashes, failures);
            }
            Outcome::Failed(f) => {
                failures += 1;
                // Every failure can be recovered from: resume (checkpoint) or start again.
                // Part-level CRC checks must catch every corruption before Complete.
                assert!(
                    !matches!(f.error, UploadError::ObjectCrcMismatch { .. }),
                    "seed {seed}: corruption reached the object: {f:?}"
                );
                if !stream {
                    // Known sizes checkpoint (Keep policy) or are single PUTs: the failure must be
                    // resumable unless no upload exists yet or Complete already consumed it.
                    let consumed = matches!(f.error, UploadError::CompletionUnconfirmed);
                    assert!(
                        f.resumable || f.upload_id.is_none() || consumed,
                        "seed {seed}: {f:?}"
                    );
                } else {
                    assert!(!f.resumable, "seed {seed}: streams cannot resume");
                }
                if round > 10 {
                    sim.faults = Faults::none();
                }
                sim.crash_and_resume(config.clone(), seed ^ round ^ 0xFF)
                    .unwrap();
            }
            Outcome::Aborted => panic!("seed {seed}: nobody asked to abort"),
            other => panic!("seed {seed}: stalled without a terminal event: {other:?}"),
        }
    }
    panic!("seed {seed}: did not complete in 40 rounds");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn simulated_uploads_always_end_with_the_source(seed in any::<u64>()) {
        run_seed(seed);
    }

    #[test]
    fn known_size_plans_are_valid(total in 0u64..=MAX_OBJECT_SIZE, part in MIN_PART_SIZE..=MAX_PART_SIZE, threshold in 0u64..=10_000_000) {
        let opts = PlanOptions::default().with_part_size(part).with_single_put_threshold(threshold);
        let plan = Plan::new(SourceSize::Known(total), &opts).unwrap();
        if plan.is_single_put() {
            prop_assert!(total <= threshold || total == 0);
        } else {
            let count = plan.part_count().unwrap();
            prop_assert!((1..=MAX_PART_COUNT).contains(&count));
            prop_assert!(plan.part_size().unwrap() >= part);
            if !plan.part_size_grown() { prop_assert_eq!(plan.part_size(), Some(part)); }
            // Sample parts: first, last, a middle one; ranges contiguous and covering the source.
            let first = plan.part(1).unwrap();
            let last = plan.part(count).unwrap();
            prop_assert_eq!(first.offset, 0);
            prop_assert_eq!(last.offset + last.len, total);
            prop_assert!(last.len >= 1 && last.len <= MAX_PART_SIZE);
            let mid = count / 2 + 1;
            if mid < count {
                let a = plan.part(mid).unwrap();
                let b = plan.part(mid + 1).unwrap();
                prop_assert_eq!(a.offset + a.len, b.offset);
                prop_assert!(a.len >= MIN_PART_SIZE && a.len <= MAX_PART_SIZE);
            }
            prop_assert!(plan.part(count + 1).is_none());
        }
    }

    #[test]
    fn small_plans_cover_exactly(total in 1u64..5_000_000, part in MIN_PART_SIZE..1_000_000) {
        let opts = PlanOptions::default().with_part_size(part).with_single_put_threshold(0);
        let plan = Plan::new(SourceSize::Known(total), &opts).unwrap();
        let mut next = 0;
        let parts: Vec<_> = plan.parts().collect();
        for (i, p) in parts.iter().enumerate() {
            prop_assert_eq!(p.part_number as usize, i + 1);
            prop_assert_eq!(p.offset, next);
            prop_assert!(p.len <= MAX_PART_SIZE);
            if i + 1 < parts.len() { prop_assert!(p.len >= MIN_PART_SIZE); }
            next += p.len;
        }
        prop_assert_eq!(next, total);
    }

    #[test]
    fn stream_plans_are_contiguous_and_bounded(initial in MIN_PART_SIZE..=64 << 20, per_step in 1u32..64, budget in MIN_PART_SIZE..=(8u64 << 30)) {
        let opts = PlanOptions::default().with_stream_initial_part_size(initial).with_stream_parts_per_step(per_step).with_memory_budget(budget);
        match Plan::new(SourceSize::Unknown, &opts) {
            Err(_) => prop_assert!(initial > budget),
            Ok(plan) => {
                let mut next = 0;
                for n in (1..=MAX_PART_COUNT).step_by(97).chain([MAX_PART_COUNT]) {
                    let p = plan.part(n).unwrap();
                    prop_assert!(p.offset >= next);
                    prop_assert!(p.len >= MIN_PART_SIZE && p.len <= MAX_PART_SIZE && p.len <= budget.max(initial));
                    next = p.offset + p.len;
                    if n > 1 {
                        let q = plan.part(n - 1).unwrap();
                        prop_assert_eq!(q.offset + q.len, p.offset);
                        prop_assert!(q.len <= p.len);
                    }
                }
                prop_assert_eq!(next, plan.max_object_size());
                prop_assert!(plan.part(MAX_PART_COUNT + 1).is_none());
            }
        }
    }

    #[test]
    fn machine_never_panics_on_arbitrary_inputs(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = oss_multipart_core::fuzz::run_machine(&data, Instant::now());
    }
}

#[test]
#[ignore = "long: run with --release -- --ignored"]
fn ten_thousand_seeds() {
    let start = Instant::now();
    let (mut crashes, mut failures) = (0u64, 0u64);
    for seed in 0..10_000u64 {
        let (c, f) = run_seed(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
        crashes += u64::from(c);
        failures += u64::from(f);
    }
    println!(
        "10000 seeds ok in {:?}: {crashes} crashes resumed, {failures} failures recovered",
        start.elapsed()
    );
}

#[test]
fn fuzz_corpus_replays() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/core_machine");
    let mut n = 0;
    let mut completed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Some(oss_multipart_core::Event::Completed(_)) =
            oss_multipart_core::fuzz::run_machine(&data, Instant::now())
        {
            completed.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        n += 1;
    }
    assert!(n >= 10, "corpus missing at {}", dir.display());
    // The hand-made seeds reach deep states, not just early rejections.
    for name in [
        "happy-known",
        "happy-checkpoint",
        "happy-single",
        "happy-stream",
    ] {
        assert!(
            completed.iter().any(|c| c == name),
            "{name} did not complete: {completed:?}"
        );
    }
}

#[test]
fn crc_vectors() {
    let text = &oss_test_vectors::text("crc64.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let mut checked = 0;
    for case in v["vectors"].as_array().unwrap() {
        match case["kind"].as_str().unwrap() {
            "crc64" => {
                let data: Vec<u8> = match case["input_utf8"].as_str() {
                    Some(s) => s.as_bytes().to_vec(),
                    None => match case["input_hex_recipe"].as_str().unwrap() {
                        "1024 x 0x00" => vec![0; 1024],
                        "102400 x 0xFF" => vec![0xFF; 102_400],
                        "bytes 0x00..0xFF" => (0..=255u8).collect(),
                        other => panic!("recipe {other}"),
                    },
                };
                assert_eq!(
                    crc64(&data),
                    hex(case["crc64"].as_str().unwrap()),
                    "{}",
                    case["id"]
                );
            }
            "combine" => {
                let c = oss_multipart_core::crc64_combine(
                    hex(case["crc1"].as_str().unwrap()),
                    hex(case["crc2"].as_str().unwrap()),
                    case["len2"].as_u64().unwrap(),
                );
                assert_eq!(c, hex(case["combined"].as_str().unwrap()), "{}", case["id"]);
            }
            "multipart-combine" => {
                let data: Vec<u8> = (0..205_800u32).map(|i| (i % 251) as u8).collect();
                let mut acc = 0;
                let mut off = 0usize;
                for p in case["parts"].as_array().unwrap() {
                    let len = p["len"].as_u64().unwrap() as usize;
                    let crc = crc64(&data[off..off + len]);
                    assert_eq!(crc.to_string(), p["part_crc64_decimal"].as_str().unwrap());
                    acc = oss_multipart_core::crc64_combine(acc, crc, len as u64);
                    assert_eq!(
                        acc.to_string(),
                        p["running_combined_decimal"].as_str().unwrap()
                    );
                    off += len;
                }
                assert_eq!(
                    acc.to_string(),
                    case["whole_object_crc64_decimal"].as_str().unwrap()
                );
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 15);
}
