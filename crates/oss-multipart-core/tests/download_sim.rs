//! The download machine under simulated faults, over thousands of seeds: every run ends in a
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

//! bit-exact copy of one version of the object, or a typed error; never a mixed file.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use oss_multipart_core::download::sim::{DownloadFaults, DownloadSim};
use oss_multipart_core::{
    ChangePolicy, Download, DownloadConfig, DownloadError, DownloadEvent, DownloadOp,
    DownloadRequest, FailureKind, Target, crc64,
};

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
}

fn object(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    (0..len).map(|_| r.next() as u8).collect()
}

/// Sizes that matter: empty, 1 byte, exactly one range, one range + 1, several ranges.
fn shape(r: &mut Rng) -> (usize, u64) {
    let part = 512 * (1 + r.below(32));
    let size = match r.below(6) {
        0 => 0,
        1 => 1,
        2 => part as usize,
        3 => part as usize + 1,
        _ => r.below(12 * part) as usize,
    };
    (size, part)
}

fn config(part: u64, r: &mut Rng) -> DownloadConfig {
    let mut c = DownloadConfig::default();
    c.part_size = part;
    c.max_in_flight = 1 + r.below(8) as usize;
    c.retry.max_retries = 9;
    c
}

fn target() -> Target {
    Target::new("bucket", "dir/object.bin").unwrap()
}

/// The local copy is exactly the version the machine says it downloaded.
fn assert_exact(sim: &DownloadSim, done: &DownloadEvent, seed: u64) {
    let DownloadEvent::Completed(c) = done else {
        unreachable!()
    };
    let version = sim
        .version(&c.object.etag)
        .expect("a version the server had");
    assert_eq!(sim.local(), version, "seed {seed}: local copy differs");
    assert_eq!(c.crc64, crc64(version), "seed {seed}");
    assert!(
        c.crc_verified,
        "seed {seed}: whole objects with a CRC are verified"
    );
}

#[test]
fn flaky_network_thousands_of_seeds_bit_exact() {
    let (mut completed, mut failed, mut crc_restarts) = (0, 0, 0);
    for seed in 0..2000u64 {
        let mut r = Rng(seed);
        let (size, part) = shape(&mut r);
        let data = object(size, seed);
        let d = Download::new(target(), config(part, &mut r), Instant::now(), seed).unwrap();
        let mut sim = DownloadSim::new(d, data, DownloadFaults::flaky(), seed);
        let outcome = sim.drive_bounded(200_000).unwrap();
        crc_restarts += sim
            .events()
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    DownloadEvent::Restarted {
                        reason: DownloadError::CrcMismatch { .. }
                    }
                )
            })
            .count();
        match &outcome {
            Some(done @ DownloadEvent::Completed(_)) => {
                assert_exact(&sim, done, seed);
                completed += 1;
            }
            Some(DownloadEvent::Failed(e)) => {
                assert!(
                    matches!(e, DownloadError::RetriesExhausted { .. }),
                    "seed {seed}: {e:?}"
                );
                failed += 1;
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(completed >= 1990, "completed {completed}, failed {failed}");
    assert!(
        crc_restarts > 0,
        "corrupted bodies were caught by the CRC and refetched"
    );
}

#[test]
fn object_replaced_mid_download_never_mixes() {
    let mut changed = 0;
    for seed in 0..1500u64 {
        let mut r = Rng(seed);
        let (size, part) = shape(&mut r);
        let mut c = config(part, &mut r);
        c.on_change = if seed % 2 == 0 {
            ChangePolicy::Fail
        } else {
            ChangePolicy::Restart
        };
        let d = Download::new(target(), c, Instant::now(), seed).unwrap();
        let mut faults = DownloadFaults::flaky();
        faults.replace = 0.04;
        let mut sim = DownloadSim::new(d, object(size, seed), faults, seed);
        match sim.drive_bounded(200_000).unwrap() {
            Some(done @ DownloadEvent::Completed(_)) => assert_exact(&sim, &done, seed),
            Some(DownloadEvent::Failed(e)) => {
                assert!(
                    e.is_object_changed() || matches!(e, DownloadError::RetriesExhausted { .. }),
                    "seed {seed}: {e:?}"
                );
                if seed % 2 == 0 {
                    changed += usize::from(e.is_object_changed());
                }
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(
        changed > 0,
        "some downloads saw the object change and failed by policy"
    );
}

#[test]
fn crash_at_any_step_then_resume_refetches_nothing_verified() {
    let mut resumed_ranges = 0;
    for seed in 0..1500u64 {
        let mut r = Rng(seed);
        let (size, part) = shape(&mut r);
        let c = config(part, &mut r);
        let d = Download::new(target(), c.clone(), Instant::now(), seed)
            .unwrap()
            .with_checkpointing("local");
        let data = object(size, seed);
        let faulty = seed % 3 == 0;
        let faults = if faulty {
            DownloadFaults::flaky()
        } else {
            DownloadFaults::none()
        };
        let mut sim = DownloadSim::new(d, data.clone(), faults, seed);
        let mut lost_write = false;
        let (mut journaled, mut served_before, mut crashed) = (0, 0, false);
        for crash in 0..1 + r.below(3) {
            if !sim.run_for(r.below(40)) {
                crashed = false;
                break;
            }
            // A crash may lose writes that never reached the disk.
            if r.below(4) == 0 && !sim.local().is_empty() {
                let i = r.below(sim.local().len() as u64) as usize;
                sim.local_mut()[i] ^= 0xFF;
                lost_write = true;
            }
            sim.crash_and_resume(c.clone(), seed + 1000 * (crash + 1))
                .unwrap();
            journaled = sim.last_checkpoint().map_or(0, |cp| cp.ranges_done());
            served_before = sim.served().len();
            crashed = true;
        }
        let outcome = sim.drive_bounded(200_000).unwrap();
        let Some(done @ DownloadEvent::Completed(c)) = &outcome else {
            assert!(faulty, "seed {seed}: {outcome:?}");
            continue;
        };
        assert_exact(&sim, done, seed);
        resumed_ranges += c.ranges_reused;
        if crashed && !lost_write && !faulty {
            // Every range journaled before the last crash was re-verified, not fetched again.
            assert_eq!(c.ranges_reused as usize, journaled, "seed {seed}");
            let refetched = sim.served()[served_before..]
                .iter()
                .filter(|r| {
                    let i = r.start / part;
                    sim.events().iter().any(|e| {
                        matches!(e, DownloadEvent::RangeDone { index, resumed: true, .. } if *index == i)
                    })
                })
                .count();
            assert_eq!(
                refetched, 0,
                "seed {seed}: a verified range was fetched again"
            );
        }
    }
    assert!(
        resumed_ranges > 100,
        "resumes reused ranges ({resumed_ranges})"
    );
}

fn head_headers(size: u64, etag: &str, crc: Option<u64>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-length", HeaderValue::from(size));
    h.insert("etag", HeaderValue::from_str(etag).unwrap());
    if let Some(c) = crc {
        h.insert("x-oss-hash-crc64ecma", HeaderValue::from(c));
    }
    h
}

fn drain(d: &mut Download) -> (Vec<DownloadRequest>, Vec<DownloadEvent>) {
    let mut reqs = Vec::new();
    while let Some(r) = d.poll_request() {
        reqs.push(r);
    }
    let _ = d.poll_timeout();
    let mut evs = Vec::new();
    while let Some(e) = d.poll_event() {
        evs.push(e);
    }
    (reqs, evs)
}

#[test]
fn cut_body_requests_only_the_rest() {
    let t0 = Instant::now();
    let mut c = DownloadConfig::default();
    c.part_size = 1000;
    let mut d = Download::new(target(), c, t0, 1).unwrap();
    let (reqs, _) = drain(&mut d);
    let head = reqs[0].id;
    d.handle_response(
        head,
        t0,
        StatusCode::OK,
        &head_headers(1500, "\"E\"", None),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    assert_eq!(reqs.len(), 2);
    let DownloadOp::Get {
        range, if_match, ..
    } = &reqs[0].op
    else {
        panic!()
    };
    assert_eq!((range.clone(), if_match.as_str()), (0..1000, "\"E\""));
    let oss = reqs[0].to_oss_request().unwrap().unwrap();
    assert_eq!(oss.headers.get("range").unwrap(), "bytes=0-999");
    assert_eq!(oss.headers.get("if-match").unwrap(), "\"E\"");

    let mut h = head_headers(1000, "\"E\"", None);
    h.insert(
        "content-range",
        HeaderValue::from_static("bytes 0-999/1500"),
    );
    d.handle_response(reqs[0].id, t0, StatusCode::PARTIAL_CONTENT, &h, b"");
    assert_eq!(d.body_target(reqs[0].id), Some(0..1000));
    d.handle_body(reqs[0].id, t0, 400, 7, Some(FailureKind::ConnectionReset));
    let (again, evs) = drain(&mut d);
    assert!(again.is_empty(), "the retry waits for its backoff");
    assert!(
        evs.iter()
            .any(|e| matches!(e, DownloadEvent::Retried { index: Some(0), .. }))
    );
    assert!(evs.contains(&DownloadEvent::Progress(d.progress())));
    assert_eq!(d.progress().received, 400);
    d.handle_timeout(t0 + Duration::from_secs(60));
    let (retry, _) = drain(&mut d);
    let DownloadOp::Get { range, .. } = &retry[0].op else {
        panic!()
    };
    assert_eq!(*range, 400..1000, "only the missing rest is requested");
}

#[test]
fn precondition_failed_fails_by_default_with_a_typed_error() {
    let t0 = Instant::now();
    let mut d = Download::new(target(), DownloadConfig::default(), t0, 1).unwrap();
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::OK,
        &head_headers(10, "\"E\"", Some(1)),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::PRECONDITION_FAILED,
        &HeaderMap::new(),
        b"",
    );
    assert_eq!(
        d.body_target(reqs[0].id),
        None,
        "no body is written after a 412"
    );
    let (_, evs) = drain(&mut d);
    assert!(
        matches!(evs.last(), Some(DownloadEvent::Failed(e)) if e.is_object_changed()),
        "{evs:?}"
    );
    assert!(d.is_finished());
}

#[test]
fn wrong_content_range_is_not_written() {
    let t0 = Instant::now();
    let mut d = Download::new(target(), DownloadConfig::default(), t0, 1).unwrap();
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::OK,
        &head_headers(100, "\"E\"", Some(1)),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    let mut h = HeaderMap::new();
    h.insert("content-range", HeaderValue::from_static("bytes 10-99/100"));
    d.handle_response(reqs[0].id, t0, StatusCode::PARTIAL_CONTENT, &h, b"");
    assert_eq!(d.body_target(reqs[0].id), None);
}

#[test]
fn huge_objects_plan_without_overflow() {
    let t0 = Instant::now();
    let size = 48_800_000_000_000u64; // 48.8 TB
    let mut c = DownloadConfig::default();
    c.part_size = 5 * 1024 * 1024 * 1024;
    let mut d = Download::new(target(), c, t0, 1).unwrap();
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::OK,
        &head_headers(size, "\"E\"", Some(9)),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    assert_eq!(d.range_count(), Some(size.div_ceil(5 * 1024 * 1024 * 1024)));
    let initial = oss_multipart_core::DEFAULT_INITIAL_IN_FLIGHT;
    assert_eq!(
        reqs.len(),
        initial,
        "the first GETs, as many as the start allows"
    );
    let DownloadOp::Get { range, .. } = &reqs[initial - 1].op else {
        panic!()
    };
    let last = initial as u64 - 1;
    let part = 5 * 1024 * 1024 * 1024;
    assert_eq!(*range, last * part..(last + 1) * part);

    // A span near u64::MAX: ranges stay inside it.
    let mut d = Download::for_range(
        target(),
        u64::MAX - 10..u64::MAX,
        DownloadConfig::default(),
        t0,
        1,
    )
    .unwrap();
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::OK,
        &head_headers(u64::MAX, "\"E\"", None),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    let DownloadOp::Get { range, .. } = &reqs[0].op else {
        panic!()
    };
    assert_eq!(*range, u64::MAX - 10..u64::MAX);
}

#[test]
fn ordered_window_bounds_what_is_requested_ahead() {
    let t0 = Instant::now();
    let mut c = DownloadConfig::default();
    c.part_size = 10;
    c.max_in_flight = 8;
    c.window = Some(2);
    let mut d = Download::new(target(), c, t0, 1).unwrap();
    let (reqs, _) = drain(&mut d);
    d.handle_response(
        reqs[0].id,
        t0,
        StatusCode::OK,
        &head_headers(100, "\"E\"", None),
        b"",
    );
    let (reqs, _) = drain(&mut d);
    assert_eq!(reqs.len(), 2, "two ranges past the first incomplete one");
    // Completing range 1 does not open the window: range 0 is still missing.
    let mut h = HeaderMap::new();
    h.insert("content-range", HeaderValue::from_static("bytes 10-19/100"));
    d.handle_response(reqs[1].id, t0, StatusCode::PARTIAL_CONTENT, &h, b"");
    d.handle_body(reqs[1].id, t0, 10, 0, None);
    let (more, _) = drain(&mut d);
    assert!(more.is_empty());
    h.insert("content-range", HeaderValue::from_static("bytes 0-9/100"));
    d.handle_response(reqs[0].id, t0, StatusCode::PARTIAL_CONTENT, &h, b"");
    d.handle_body(reqs[0].id, t0, 10, 0, None);
    let (more, _) = drain(&mut d);
    assert_eq!(more.len(), 2, "ranges 2 and 3");
}

#[test]
fn checkpoint_round_trips_through_json_and_rejects_edits() {
    let data = object(50_000, 3);
    let mut c = DownloadConfig::default();
    c.part_size = 4096;
    let d = Download::new(target(), c.clone(), Instant::now(), 3)
        .unwrap()
        .with_checkpointing("tmp-name");
    let mut sim = DownloadSim::new(d, data, DownloadFaults::none(), 3);
    sim.run_for(12);
    let cp = sim.last_checkpoint().unwrap().clone();
    let json = serde_json::to_string(&cp).unwrap();
    let back: oss_multipart_core::DownloadCheckpoint = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cp);
    assert_eq!(back.local(), "tmp-name");
    let edited = json.replace("\"version\":1", "\"version\":9");
    let edited: oss_multipart_core::DownloadCheckpoint = serde_json::from_str(&edited).unwrap();
    assert!(Download::from_checkpoint(&edited, c, Instant::now(), 1).is_err());
}
