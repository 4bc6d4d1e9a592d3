//! Failures only the driver can see (the source changed or could not be read) reach the
//! machine through `Op::CheckSource` and `Upload::fail_local`; the machine applies the failure
//! policy to them like to any other failure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use http::{HeaderMap, StatusCode};
use oss_multipart_core::sim::{Faults, Outcome, Sim};
use oss_multipart_core::{
    Config, Event, Op, Plan, PlanOptions, SourceIdentity, SourceSize, Target, Upload, UploadError,
};

const PART: u64 = 102_400;

fn source() -> Vec<u8> {
    (0..4 * PART as u32 + 9).map(|i| (i % 241) as u8).collect()
}

fn plan(len: usize) -> Plan {
    let opts = PlanOptions::default()
        .with_part_size(PART)
        .with_single_put_threshold(0);
    Plan::new(SourceSize::Known(len as u64), &opts).unwrap()
}

fn target() -> Target {
    Target::new("bucket", "changing.bin").unwrap()
}

fn checking() -> Config {
    let mut c = Config::default();
    c.check_source = true;
    c.sequential = true;
    c
}

/// Runs until the first part is stored, then changes one source byte.
fn change_after_first_part(sim: &mut Sim) {
    while !sim
        .events()
        .iter()
        .any(|e| matches!(e, Event::PartDone { .. }))
    {
        assert!(sim.step());
    }
    sim.source_mut()[0] ^= 0xFF;
}

#[test]
fn a_source_changed_before_complete_is_aborted_and_never_completed() {
    let src = source();
    let up = Upload::new(target(), plan(src.len()), checking(), Instant::now(), 3).unwrap();
    let mut sim = Sim::new(up, src, Faults::none(), 3);
    change_after_first_part(&mut sim);
    let Outcome::Failed(f) = sim.drive_bounded(10_000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    assert!(
        matches!(f.error, UploadError::SourceModified { .. }),
        "{f:?}"
    );
    assert!(!f.resumable);
    assert!(sim.trace().iter().any(|l| l.contains("CheckSource")));
    assert!(
        !sim.trace().iter().any(|l| l.contains("Complete")),
        "{:?}",
        sim.trace()
    );
    assert_eq!(sim.oss.object("bucket", "changing.bin"), None);
    assert_eq!(sim.oss.upload_count(), 0, "the upload is aborted");
}

#[test]
fn a_source_changed_with_a_checkpoint_keeps_the_parts_and_reports_the_upload() {
    let src = source();
    let ident = SourceIdentity::new(src.len() as u64);
    let up = Upload::with_checkpointing(
        target(),
        plan(src.len()),
        checking(),
        ident,
        Instant::now(),
        4,
    )
    .unwrap();
    let mut sim = Sim::new(up, src, Faults::none(), 4);
    change_after_first_part(&mut sim);
    let Outcome::Failed(f) = sim.drive_bounded(10_000).unwrap() else {
        panic!("{:?}", sim.outcome())
    };
    assert!(
        matches!(f.error, UploadError::SourceModified { .. }),
        "{f:?}"
    );
    assert!(f.resumable && f.upload_id.is_some(), "{f:?}");
    assert_eq!(sim.oss.upload_count(), 1, "parts kept");
    assert_eq!(sim.oss.object("bucket", "changing.bin"), None);
}

#[test]
fn an_unchanged_source_is_checked_once_then_completed() {
    let src = source();
    let up = Upload::new(target(), plan(src.len()), checking(), Instant::now(), 5).unwrap();
    let mut sim = Sim::new(up, src, Faults::none(), 5);
    assert!(matches!(
        sim.drive_bounded(10_000).unwrap(),
        Outcome::Completed(_)
    ));
    let checks = sim
        .trace()
        .iter()
        .filter(|l| l.contains("> #") && l.contains("CheckSource"));
    assert_eq!(checks.count(), 1);
}

fn ok_headers() -> HeaderMap {
    HeaderMap::new()
}

/// `fail_local` while Initiate is in flight: the upload it creates is aborted before the
/// failure is reported, so no upload leaks.
#[test]
fn fail_local_during_initiate_aborts_the_upload_it_creates() {
    let src = source();
    let t0 = Instant::now();
    let mut up = Upload::new(target(), plan(src.len()), Config::default(), t0, 6).unwrap();
    let init = up.poll_request().unwrap();
    assert!(matches!(init.op, Op::Initiate));
    let reason = "the source could not be read".to_owned();
    up.fail_local(t0, UploadError::Local { reason });
    assert!(up.poll_request().is_none());
    assert!(!up.is_finished(), "waits for the Initiate");
    let body = &oss_test_vectors::bytes("xml/InitiateMultipartUploadResult.xml");
    up.handle_response(init.id, t0, StatusCode::OK, &ok_headers(), body);
    let abort = up.poll_request().unwrap();
    assert!(matches!(abort.op, Op::Abort { .. }), "{abort:?}");
    assert!(up.poll_request().is_none(), "no part goes out");
    up.handle_response(abort.id, t0, StatusCode::NO_CONTENT, &ok_headers(), b"");
    let failed = std::iter::from_fn(|| up.poll_event())
        .find_map(|e| match e {
            Event::Failed(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(
        matches!(failed.error, UploadError::Local { .. }),
        "{failed:?}"
    );
    assert!(!failed.resumable);
    assert!(up.is_finished());
}

/// Under the Keep policy a local failure ends the upload at once, resumable, with no Abort.
#[test]
fn fail_local_keeping_parts_ends_resumable_without_abort() {
    let src = source();
    let t0 = Instant::now();
    let ident = SourceIdentity::new(src.len() as u64);
    let mut up =
        Upload::with_checkpointing(target(), plan(src.len()), Config::default(), ident, t0, 7)
            .unwrap();
    let init = up.poll_request().unwrap();
    let body = &oss_test_vectors::bytes("xml/InitiateMultipartUploadResult.xml");
    up.handle_response(init.id, t0, StatusCode::OK, &ok_headers(), body);
    while up.poll_request().is_some() {}
    let reason = "the source could not be read".to_owned();
    up.fail_local(t0, UploadError::Local { reason });
    assert!(up.poll_request().is_none(), "no Abort under Keep");
    let failed = std::iter::from_fn(|| up.poll_event())
        .find_map(|e| match e {
            Event::Failed(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(failed.resumable && failed.upload_id.is_some(), "{failed:?}");
}
