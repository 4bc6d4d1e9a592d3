//! The upload machine in its copy mode (UploadPartCopy / CopyObject), driven by the simulation:
//! terabytes copied with no byte through the driver, the source pinned by its ETag, resume
//! without copying finished parts again, and the single CopyObject below the threshold.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use oss_multipart_core::limits::MAX_PART_COUNT;
use oss_multipart_core::sim::{Faults, Outcome, Sim};
use oss_multipart_core::{
    Config, CopySource, Event, FailurePolicy, Op, OpKind, Plan, PlanError, PlanOptions, SourceSize,
    Target, Upload, UploadError, crc64,
};

const MIB: u64 = 1024 * 1024;
const TIB: u64 = 1024 * 1024 * MIB;
const PART: u64 = 102_400;

fn target() -> Target {
    Target::new("dst-bucket", "copies/object.bin").unwrap()
}

fn bytes(len: usize, salt: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(salt) % 251) as u8)
        .collect()
}

/// The source as the driver would learn it from HeadObject.
fn source_of(sim: &Sim, key: &str) -> CopySource {
    let (size, etag, crc) = sim.oss.object_info("src-bucket", key).unwrap();
    CopySource::new("src-bucket", key, etag, size)
        .unwrap()
        .with_crc64(Some(crc))
}

/// A sim whose FakeOss holds `src` as `src-bucket/key`, running a copy of it planned with
/// `part` parts and a single-copy `threshold`.
fn copy_sim(src: Vec<u8>, part: u64, threshold: u64, config: Config, checkpoint: bool) -> Sim {
    let placeholder = Upload::new(
        target(),
        Plan::new(SourceSize::Known(0), &PlanOptions::default()).unwrap(),
        Config::default(),
        Instant::now(),
        1,
    )
    .unwrap();
    let mut sim = Sim::new(placeholder, Vec::new(), Faults::none(), 1);
    sim.oss.put_object_bytes("src-bucket", "key", src);
    start_copy(&mut sim, "key", part, threshold, config, checkpoint);
    sim
}

fn start_copy(sim: &mut Sim, key: &str, part: u64, threshold: u64, config: Config, cp: bool) {
    let source = source_of(sim, key);
    let opts = PlanOptions::for_copy(part, threshold).unwrap();
    let plan = Plan::new(SourceSize::Known(source.size()), &opts).unwrap();
    let now = sim.now();
    sim.upload = if cp {
        Upload::copy_with_checkpointing(target(), source, plan, config, now, 1).unwrap()
    } else {
        Upload::copy(target(), source, plan, config, now, 1).unwrap()
    };
}

fn count(sim: &Sim, what: &str) -> usize {
    sim.trace()
        .iter()
        .filter(|l| l.starts_with("> ") && l.contains(what))
        .count()
}

fn no_bytes_moved(sim: &Sim) {
    for banned in ["UploadPart ", "PutObject", "HashRange"] {
        assert_eq!(
            count(sim, banned),
            0,
            "{banned} in a copy: {:?}",
            sim.trace()
        );
    }
}

#[test]
fn a_10_tib_source_is_copied_in_at_most_10000_parts_and_no_byte_moves() {
    let mut sim = copy_sim(Vec::new(), 64 * MIB, 1024 * MIB, Config::default(), false);
    sim.oss.put_zeros_object("src-bucket", "huge", 10 * TIB);
    let mut config = Config::default();
    config.max_in_flight = 64;
    start_copy(&mut sim, "huge", 64 * MIB, 1024 * MIB, config, false);
    let parts = sim.upload.plan().part_count().unwrap();
    assert!(parts <= MAX_PART_COUNT, "{parts} parts");
    assert!(
        sim.upload.plan().part_size_grown(),
        "64 MiB parts grew to fit"
    );

    let Outcome::Completed(done) = sim.drive_bounded(1_000_000).unwrap() else {
        panic!("copy failed: {:?}", sim.outcome())
    };
    let (size, _, crc) = sim
        .oss
        .object_info("dst-bucket", "copies/object.bin")
        .unwrap();
    let (_, _, source_crc) = sim.oss.object_info("src-bucket", "huge").unwrap();
    assert_eq!((done.size, size), (10 * TIB, 10 * TIB));
    assert_eq!((done.crc64, crc), (source_crc, source_crc));
    assert!(done.crc64_known);
    assert_eq!(count(&sim, "UploadPartCopy"), parts as usize);
    assert_eq!(
        sim.oss.bytes_copied(),
        10 * TIB,
        "every byte copied server-side once"
    );
    no_bytes_moved(&sim);
    assert_eq!(sim.oss.upload_count(), 0);
}

#[test]
fn every_part_copy_is_pinned_to_the_source_etag_and_range() {
    let src = bytes(5 * PART as usize + 7, 1);
    let mut config = Config::default();
    config.max_in_flight = 4;
    let mut sim = copy_sim(src.clone(), PART, 0, config, false);
    let etag = source_of(&sim, "key").etag().to_owned();
    let mut seen = 0;
    while let Some(req) = sim.upload.poll_request() {
        if let Op::Initiate = req.op {
            let mut h = http::HeaderMap::new();
            h.insert("x-oss-request-id", "R".parse().unwrap());
            let body = b"<InitiateMultipartUploadResult><Bucket>dst-bucket</Bucket><Key>copies/object.bin</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
            sim.upload
                .handle_response(req.id, sim.now(), http::StatusCode::OK, &h, body);
            continue;
        }
        let Op::UploadPartCopy {
            part_number, range, ..
        } = &req.op
        else {
            panic!("{:?}", req.op)
        };
        let http = req.to_oss_request().unwrap().unwrap();
        assert_eq!(http.method, http::Method::PUT);
        assert_eq!(http.headers["x-oss-copy-source"], "/src-bucket/key");
        assert_eq!(http.headers["x-oss-copy-source-if-match"], etag.as_str());
        let want = format!("bytes={}-{}", range.start, range.end - 1);
        assert_eq!(http.headers["x-oss-copy-source-range"], want.as_str());
        assert!(http.body.is_empty());
        assert_eq!(req.op.kind(), OpKind::UploadPartCopy);
        assert!(!req.op.kind().sends_source_bytes());
        seen += 1;
        assert!(*part_number <= 6);
    }
    assert_eq!(seen, 4, "max_in_flight parts are issued at once");
}

#[test]
fn a_source_replaced_mid_copy_fails_typed_is_aborted_and_creates_nothing() {
    let src = bytes(20 * PART as usize, 2);
    let mut config = Config::default();
    config.max_in_flight = 2;
    let mut sim = copy_sim(src, PART, 0, config, false);
    // Let a few parts be copied, then replace the source with other bytes (a new ETag).
    while sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { .. }))
        .count()
        < 3
    {
        assert!(sim.step());
    }
    sim.oss
        .put_object_bytes("src-bucket", "key", bytes(20 * PART as usize, 3));
    let Outcome::Failed(f) = sim.drive_bounded(100_000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    assert!(
        matches!(f.error, UploadError::CopySourceChanged { .. }),
        "{:?}",
        f.error
    );
    assert!(!f.error.is_retryable());
    assert!(!f.resumable);
    assert_eq!(sim.oss.upload_count(), 0, "the upload was aborted");
    assert!(
        sim.oss
            .object_info("dst-bucket", "copies/object.bin")
            .is_none()
    );
    assert_eq!(count(&sim, "Complete"), 0);
}

#[test]
fn a_replaced_source_aborts_even_when_parts_are_kept_for_resume() {
    let src = bytes(8 * PART as usize, 4);
    let mut config = Config::default();
    config.on_failure = FailurePolicy::Keep;
    let mut sim = copy_sim(src, PART, 0, config, true);
    while sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { .. }))
        .count()
        < 2
    {
        assert!(sim.step());
    }
    sim.oss
        .put_object_bytes("src-bucket", "key", bytes(8 * PART as usize, 5));
    let Outcome::Failed(f) = sim.drive_bounded(100_000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    assert!(matches!(f.error, UploadError::CopySourceChanged { .. }));
    assert!(!f.resumable, "parts of the old source cannot be resumed");
    assert_eq!(sim.oss.upload_count(), 0);
}

#[test]
fn a_killed_copy_resumes_without_copying_finished_parts_again() {
    let src = bytes(12 * PART as usize + 99, 6);
    let mut sim = copy_sim(src.clone(), PART, 0, Config::default(), true);
    let source = source_of(&sim, "key");
    while sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { .. }))
        .count()
        < 5
    {
        assert!(sim.step());
    }
    let journaled = sim.last_checkpoint().unwrap().parts().count();
    assert!(journaled >= 5);
    let copies_before = count(&sim, "UploadPartCopy");
    sim.crash_and_resume_copy(&source, Config::default(), 2)
        .unwrap();
    let Outcome::Completed(done) = sim.drive_bounded(100_000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    let copies_after = count(&sim, "UploadPartCopy") - copies_before;
    assert_eq!(
        copies_after,
        13 - journaled,
        "only the missing parts are copied"
    );
    let resumed = sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { resumed: true, .. }))
        .count();
    assert_eq!(resumed, journaled);
    assert_eq!(done.crc64, crc64(&src));
    assert_eq!(
        sim.oss.object("dst-bucket", "copies/object.bin"),
        Some(&src[..])
    );
    no_bytes_moved(&sim);
}

#[test]
fn a_checkpoint_of_another_source_version_is_refused() {
    let mut sim = copy_sim(
        bytes(6 * PART as usize, 7),
        PART,
        0,
        Config::default(),
        true,
    );
    while sim.last_checkpoint().is_none_or(|c| c.parts().count() < 1) {
        assert!(sim.step());
    }
    let cp = sim.last_checkpoint().unwrap().clone();
    assert_eq!(cp.copy_source().unwrap().unwrap().key(), "key");
    let as_upload = oss_multipart_core::SourceIdentity::new(6 * PART);
    assert!(matches!(
        Upload::from_checkpoint(&cp, &as_upload, Config::default(), sim.now(), 1),
        Err(PlanError::CheckpointInvalid { .. })
    ));
    sim.oss
        .put_object_bytes("src-bucket", "key", bytes(6 * PART as usize, 8));
    let replaced = source_of(&sim, "key");
    let err =
        Upload::copy_from_checkpoint(&cp, &replaced, Config::default(), sim.now(), 1).unwrap_err();
    assert_eq!(err, PlanError::SourceChanged);
}

#[test]
fn below_the_threshold_one_copy_object_copies_everything() {
    let src = bytes(300_000, 9);
    let mut sim = copy_sim(src.clone(), 64 * MIB, 1024 * MIB, Config::default(), false);
    assert!(sim.upload.plan().is_single_put());
    let Outcome::Completed(done) = sim.drive_bounded(1000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    assert_eq!(count(&sim, "CopyObject"), 1);
    assert_eq!(count(&sim, "Initiate"), 0);
    assert_eq!(done.upload_id, None);
    assert_eq!((done.size, done.crc64), (300_000, crc64(&src)));
    assert_eq!(
        sim.oss.object("dst-bucket", "copies/object.bin"),
        Some(&src[..])
    );
    no_bytes_moved(&sim);
}

#[test]
fn a_flaky_network_never_yields_a_wrong_copy() {
    for seed in 0..40u64 {
        let len = (seed as usize * 7919) % (9 * PART as usize) + 1;
        let src = bytes(len, seed as u32);
        let mut config = Config::default();
        config.retry.max_retries = 12;
        let threshold = if seed % 3 == 0 { 1024 * MIB } else { 0 };
        let mut sim = copy_sim(src.clone(), PART, threshold, config, seed % 2 == 0);
        sim.faults = Faults::flaky();
        match sim.drive_bounded(200_000).unwrap() {
            Outcome::Completed(done) => {
                assert_eq!(done.crc64, crc64(&src), "seed {seed}");
                assert_eq!(
                    sim.oss.object("dst-bucket", "copies/object.bin"),
                    Some(&src[..]),
                    "seed {seed}"
                );
            }
            Outcome::Failed(f) => assert!(
                sim.oss.object("dst-bucket", "copies/object.bin").is_none()
                    || f.error == UploadError::CompletionUnconfirmed,
                "seed {seed}: {f:?}"
            ),
            other => panic!("seed {seed}: {other:?}"),
        }
        no_bytes_moved(&sim);
    }
}
