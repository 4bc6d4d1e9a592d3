//! Chaos e2e: file and stream uploads (0 bytes .. tens of MiB quick, up to hundreds of MiB in
//! the long run) against in-process `oss-local` servers that inject 500/503 (before and after
//! storing), dropped connections (mid-body and before the response), latency and bandwidth caps.
//!
//! Every upload must end bit-exact (`get_object` equals the source, CRC-64 equal). When the
//! retries run out, the error must say the upload can continue: a file upload with a
//! checkpoint directory is then re-run and must resume (reusing parts) to a bit-exact object;
//! a stream (which cannot be re-read) must have left no object behind and is sent again.
//!
//! Quick variant: `chaos_quick` (normal `cargo test`). Long variant: `chaos_long`, ignored,
//! run by `cargo xtask chaos --time S` (env `CHAOS_SECS`, `CHAOS_SEED`, `CHAOS_MAX_MIB`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oss_chaos::{BUCKET, client, crc64, data, fast_retry, local_config};
use oss_local::{EtagMode, FaultConfig, FaultOp};
use oss_multipart::{Client, Error, UploadOutput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Figures of a run (printed at the end; the closing report quotes them).
#[derive(Default, Debug)]
struct Tally {
    uploads: AtomicU64,
    bytes: AtomicU64,
    attempts: AtomicU64,
    resumes: AtomicU64,
    stream_restarts: AtomicU64,
    fresh_restarts: AtomicU64,
    retries: AtomicU64,
    parts_reused: AtomicU64,
}

impl Tally {
    fn print(&self, name: &str, elapsed: Duration) {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        // Every client retry and every attempt that ran out of retries is one injected fault
        // the client met: a lower bound of the faults injected (oss-local keeps no counter).
        let failed = g(&self.attempts) - g(&self.uploads);
        println!(
            "CHAOS {name}: uploads={} bytes={} attempts={} resumes={} stream_restarts={} \
             fresh_restarts={} client_retries={} faults_met>={} parts_reused={} elapsed={:.1}s",
            g(&self.uploads),
            g(&self.bytes),
            g(&self.attempts),
            g(&self.resumes),
            g(&self.stream_restarts),
            g(&self.fresh_restarts),
            g(&self.retries),
            g(&self.retries) + failed,
            g(&self.parts_reused),
            elapsed.as_secs_f64(),
        );
    }
}

struct Profile {
    name: &'static str,
    faults: FaultConfig,
    max_retries: u32,
}

fn faults(
    fault_rate: f64,
    drop_rate: f64,
    latency_ms: u64,
    bandwidth: Option<u64>,
    seed: u64,
) -> FaultConfig {
    let mut f = FaultConfig::default();
    f.fault_rate = fault_rate;
    f.drop_rate = drop_rate;
    f.latency = Duration::from_millis(latency_ms);
    f.bandwidth = bandwidth;
    // Verification reads (GetObject/HeadObject) and the listings stay clean: faults hit the
    // upload path, where they matter.
    f.ops = vec![
        FaultOp::Initiate,
        FaultOp::UploadPart,
        FaultOp::Complete,
        FaultOp::PutObject,
        FaultOp::Abort,
    ];
    f.seed = seed;
    f
}

fn profiles(seed: u64) -> Vec<Profile> {
    vec![
        Profile {
            name: "5xx",
            faults: faults(0.15, 0.0, 0, None, seed),
            max_retries: 3,
        },
        Profile {
            name: "drops",
            faults: faults(0.0, 0.12, 0, None, seed + 1),
            max_retries: 3,
        },
        Profile {
            name: "slow",
            faults: faults(0.05, 0.05, 3, Some(24 * 1024 * 1024), seed + 2),
            max_retries: 3,
        },
        // Few retries: most uploads exhaust them and must resume.
        Profile {
            name: "harsh",
            faults: faults(0.25, 0.15, 0, None, seed + 3),
            max_retries: 1,
        },
    ]
}

#[derive(Debug, Clone, Copy)]
struct Case {
    size: usize,
    part_size: u64,
    stream: bool,
    concurrency: usize,
    seed: u64,
}

const MIN_PART: u64 = 102_400;

fn pick_case(rng: &mut StdRng, max_size: usize) -> Case {
    let sizes = [
        0,
        1,
        MIN_PART as usize - 1,
        MIN_PART as usize,
        MIN_PART as usize + 1,
        2 * MIN_PART as usize + 17,
        1_048_583,
        3_000_000,
        rng.gen_range(0..=max_size),
        max_size,
    ];
    let size = sizes[rng.gen_range(0..sizes.len())].min(max_size);
    let part_sizes = [MIN_PART, MIN_PART + 1, 131_072, 1 << 20, 5 << 20];
    let mut part_size = part_sizes[rng.gen_range(0..part_sizes.len())];
    // Keep within 10,000 parts and within a few hundred requests per upload.
    while (size as u64).div_ceil(part_size) > 200 {
        part_size *= 2;
    }
    Case {
        size,
        part_size,
        stream: rng.gen_bool(0.35),
        concurrency: rng.gen_range(1..=4),
        seed: rng.r#gen(),
    }
}

/// Uploads one case to the end: resumes/restarts as the errors allow, then checks the bytes.
async fn run_case(
    client: &Client,
    stream_client: &Client,
    dir: &std::path::Path,
    key: &str,
    case: Case,
    tally: &Tally,
) {
    let bytes = data(case.size, case.seed);
    let path = dir.join(format!("{}.src", key.replace('/', "_")));
    let cp_dir = dir.join("checkpoints");
    if !case.stream {
        std::fs::write(&path, &bytes).unwrap();
    }
    let retries = Arc::new(AtomicU32::new(0));
    let mut out: Option<UploadOutput> = None;
    for attempt in 0..40 {
        tally.attempts.fetch_add(1, Ordering::Relaxed);
        retries.store(0, Ordering::Relaxed);
        let r = retries.clone();
        let builder = if case.stream {
            stream_client.upload_stream(BUCKET, key, std::io::Cursor::new(bytes.clone()))
        } else {
            client
                .upload_file(BUCKET, key, &path)
                .checkpoint_dir(&cp_dir)
        };
        let result = builder
            .part_size(case.part_size)
            .concurrency(case.concurrency)
            .progress(move |p| {
                r.fetch_max(p.retries, Ordering::Relaxed);
            })
            .send()
            .await;
        tally.retries.fetch_add(
            u64::from(retries.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        match result {
            Ok(o) => {
                if attempt > 0 && !case.stream && o.resumed {
                    assert!(o.upload_id.is_some(), "{key}: resumed without an upload id");
                }
                tally
                    .parts_reused
                    .fetch_add(u64::from(o.parts_reused), Ordering::Relaxed);
                out = Some(o);
                break;
            }
            Err(e) => classify_failure(client, key, case, &e, &cp_dir, tally).await,
        }
    }
    let out = out.unwrap_or_else(|| panic!("{key}: {case:?} did not finish in 40 attempts"));
    assert_eq!(out.size, case.size as u64, "{key}: size");
    assert_eq!(out.crc64, crc64(&bytes), "{key}: reported CRC-64");
    let stored = client.get_object(BUCKET, key).await.unwrap();
    assert!(
        stored == bytes,
        "{key}: stored object differs from the source ({case:?})"
    );
    if !case.stream {
        let left = oss_chaos::evidence::journals(&cp_dir);
        assert!(
            left.iter()
                .all(|j| Some(j.upload_id.as_str()) != out.upload_id.as_deref()),
            "{key}: checkpoint left after success"
        );
        let _ = std::fs::remove_file(&path);
    }
    tally.uploads.fetch_add(1, Ordering::Relaxed);
    tally.bytes.fetch_add(case.size as u64, Ordering::Relaxed);
}

/// A failed attempt must be one the user can continue from, and must leave no wrong object.
async fn classify_failure(
    client: &Client,
    key: &str,
    case: Case,
    e: &Error,
    cp_dir: &std::path::Path,
    tally: &Tally,
) {
    assert!(
        !e.is_integrity() && !e.is_usage() && !e.is_auth(),
        "{key}: non-resumable failure class under network faults: {e:?}"
    );
    // Nothing may have been completed by a failed attempt.
    match client.head_object(BUCKET, key).await {
        Err(err) => assert_eq!(
            err.service_error().map(|s| s.status().as_u16()),
            Some(404),
            "{key}: head after failure: {err:?}"
        ),
        // A Complete/PutObject that was applied but whose answer was lost (fault after
        // storing, dropped response) does leave the object: it must then be the right one.
        Ok(head) => assert_eq!(
            head.content_length, case.size as u64,
            "{key}: partial object after failure: {e:?}"
        ),
    }
    if case.stream {
        assert!(
            e.is_retryable() || e.is_network(),
            "{key}: stream failure not retryable: {e:?}"
        );
        tally.stream_restarts.fetch_add(1, Ordering::Relaxed);
    } else if e.is_resumable() {
        let cp = e
            .checkpoint_path()
            .unwrap_or_else(|| panic!("{key}: resumable without a checkpoint: {e:?}"));
        assert!(cp.starts_with(cp_dir), "{key}: checkpoint outside its dir");
        tally.resumes.fetch_add(1, Ordering::Relaxed);
    } else {
        // Failed before any upload id existed (Initiate) or in a single PutObject: start over.
        assert!(
            e.is_retryable() || e.is_network(),
            "{key}: not resumable and not retryable: {e:?}"
        );
        tally.fresh_restarts.fetch_add(1, Ordering::Relaxed);
    }
}

async fn run_profile(
    profile: Profile,
    deadline: Instant,
    min_uploads: usize,
    max_uploads: usize,
    max_size: usize,
    seed: u64,
    tally: Arc<Tally>,
) {
    let server = oss_local::Server::start(
        local_config()
            .with_etag(EtagMode::Fast)
            .with_faults(profile.faults),
    )
    .await
    .unwrap();
    let client = client(&server.endpoint(), fast_retry(profile.max_retries)).unwrap();
    // A stream cannot resume, so a large one must get through in one attempt: with the
    // profile's few retries the odds fall with every part. Streams get 8 retries.
    let stream_client =
        oss_chaos::client(&server.endpoint(), fast_retry(profile.max_retries.max(8))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut n = 0;
    while n < max_uploads && (n < min_uploads || Instant::now() < deadline) {
        let case = pick_case(&mut rng, max_size);
        let key = format!("{}/{n:04}-{}", profile.name, case.size);
        run_case(&client, &stream_client, dir.path(), &key, case, &tally).await;
        n += 1;
    }
    server.shutdown().await;
}

async fn run(
    secs: u64,
    min_per_profile: usize,
    max_per_profile: usize,
    max_size: usize,
    seed: u64,
) -> Arc<Tally> {
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in profiles(seed).into_iter().enumerate() {
        tasks.spawn(run_profile(
            p,
            deadline,
            min_per_profile,
            max_per_profile,
            max_size,
            seed.wrapping_add(i as u64 * 1000),
            tally.clone(),
        ));
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_quick() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121);
    let started = Instant::now();
    // Four profiles in parallel, 6..=10 uploads each within ~20 s, sizes up to 24 MiB.
    let tally = run(20, 6, 10, 24 << 20, seed).await;
    tally.print("quick", started.elapsed());
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    assert!(g(&tally.uploads) >= 24);
    // The faults must actually have been met, or this test proves nothing.
    assert!(g(&tally.retries) > 0, "no retries: faults not injected?");
    assert!(
        g(&tally.resumes) + g(&tally.stream_restarts) + g(&tally.fresh_restarts) > 0,
        "no attempt ran out of retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: cargo xtask chaos --time S"]
async fn chaos_long() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let secs = env("CHAOS_SECS", 300);
    let seed = env("CHAOS_SEED", 7);
    let max_mib = usize::try_from(env("CHAOS_MAX_MIB", 256)).unwrap();
    let started = Instant::now();
    let tally = run(secs, 1, usize::MAX, max_mib << 20, seed).await;
    tally.print("long", started.elapsed());
    assert!(tally.uploads.load(Ordering::Relaxed) >= 4);
}
