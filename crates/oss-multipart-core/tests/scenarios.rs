//! Scenario tests: one fault at a time, driven by the simulation harness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use oss_multipart_core::sim::{Fault, Faults, Outcome, Sim};
use oss_multipart_core::{
    BodyRead, Checkpoint, Config, Event, FailurePolicy, Op, OpKind, Plan, PlanError, PlanOptions,
    SourceIdentity, SourceSize, Target, Upload, UploadError, crc64,
};

const PART: u64 = 102_400;

fn source(len: usize, salt: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(salt) % 251) as u8)
        .collect()
}

fn opts() -> PlanOptions {
    PlanOptions::default()
        .with_part_size(PART)
        .with_single_put_threshold(0)
}

fn target() -> Target {
    Target::new("bucket", "dir/object.bin").unwrap()
}

fn known(src: &[u8], config: Config, checkpoint: bool) -> Upload {
    let plan = Plan::new(SourceSize::Known(src.len() as u64), &opts()).unwrap();
    let now = Instant::now();
    if checkpoint {
        Upload::with_checkpointing(
            target(),
            plan,
            config,
            SourceIdentity::new(src.len() as u64),
            now,
            1,
        )
        .unwrap()
    } else {
        Upload::new(target(), plan, config, now, 1).unwrap()
    }
}

fn completed(sim: &mut Sim) -> oss_multipart_core::Completed {
    match sim.drive_bounded(100_000).unwrap() {
        Outcome::Completed(c) => {
            assert_eq!(
                sim.oss.object("bucket", "dir/object.bin"),
                Some(sim.source()),
                "object bytes differ"
            );
            assert_eq!(c.crc64, crc64(sim.source()));
            assert_eq!(c.size, sim.source().len() as u64);
            c
        }
        other => panic!("expected completion, got {other:?}"),
    }
}

fn count(sim: &Sim, f: impl Fn(&Event) -> bool) -> usize {
    sim.events().iter().filter(|e| f(e)).count()
}

#[test]
fn clean_upload_progress_and_events() {
    let src = source(5 * PART as usize + 17, 1);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        1,
    );
    let c = completed(&mut sim);
    assert!(!c.confirmed_by_head);
    assert!(c.upload_id.is_some());
    assert_eq!(
        count(&sim, |e| matches!(
            e,
            Event::PartDone { resumed: false, .. }
        )),
        6
    );
    assert_eq!(count(&sim, |e| matches!(e, Event::Retried { .. })), 0);
    let last = sim.events().iter().rev().find_map(|e| match e {
        Event::Progress(p) => Some(*p),
        _ => None,
    });
    assert_eq!(last.unwrap().confirmed, 5 * PART + 17);
    assert_eq!(sim.oss.upload_count(), 0);
}

#[test]
fn small_source_uses_single_put() {
    let src = source(1000, 2);
    let plan = Plan::new(SourceSize::Known(1000), &PlanOptions::default()).unwrap();
    assert!(plan.is_single_put());
    let up = Upload::new(target(), plan, Config::default(), Instant::now(), 3).unwrap();
    let mut sim = Sim::new(up, src, Faults::none(), 3);
    sim.inject(OpKind::PutObject, Fault::CorruptBody);
    let c = completed(&mut sim);
    assert!(c.upload_id.is_none());
    assert_eq!(
        count(&sim, |e| matches!(
            e,
            Event::Retried {
                op: OpKind::PutObject,
                ..
            }
        )),
        1
    );
}

#[test]
fn empty_source_is_one_empty_put() {
    let plan = Plan::new(SourceSize::Known(0), &opts()).unwrap();
    let up = Upload::new(target(), plan, Config::default(), Instant::now(), 3).unwrap();
    let mut sim = Sim::new(up, Vec::new(), Faults::none(), 3);
    completed(&mut sim);
}

#[test]
fn streams_of_various_lengths() {
    let opts = PlanOptions::default()
        .with_stream_initial_part_size(PART)
        .with_stream_parts_per_step(2);
    for len in [
        0,
        1,
        PART as usize,
        2 * PART as usize,
        5 * PART as usize + 3,
        9 * PART as usize,
    ] {
        let plan = Plan::new(SourceSize::Unknown, &opts).unwrap();
        let up = Upload::new(target(), plan, Config::default(), Instant::now(), 5).unwrap();
        let mut sim = Sim::new(up, source(len, 3), Faults::flaky(), len as u64);
        completed(&mut sim);
    }
}

#[test]
fn stream_too_long_fails_before_part_10001() {
    // Drive by hand: every part is read full and never ends; answers carry the right CRC.
    let opts = PlanOptions::default()
        .with_stream_initial_part_size(PART)
        .with_memory_budget(PART);
    let plan = Plan::new(SourceSize::Unknown, &opts).unwrap();
    assert_eq!(plan.max_object_size(), 10_000 * PART);
    let now = Instant::now();
    let mut up = Upload::new(target(), plan, Config::default(), now, 1).unwrap();
    let mut ok = HeaderMap::new();
    ok.insert("etag", HeaderValue::from_static("\"E\""));
    let init =
        b"<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>dir/object.bin</Key><UploadId>U</UploadId></InitiateMultipartUploadResult>";
    let mut max_part = 0;
    let mut failure = None;
    for _ in 0..30_000 {
        let Some(req) = up.poll_request() else { break };
        match req.op {
            Op::Initiate => {
                up.handle_response(req.id, now, StatusCode::OK, &HeaderMap::new(), init)
            }
            Op::UploadPart {
                part_number, range, ..
            } => {
                max_part = max_part.max(part_number);
                let read = BodyRead {
                    len: range.end - range.start,
                    crc64: 9,
                    end_of_stream: false,
                };
                up.handle_body_read(req.id, now, read);
                up.handle_response(req.id, now, StatusCode::OK, &ok, b"");
            }
            Op::Abort { .. } => {
                up.handle_response(req.id, now, StatusCode::NO_CONTENT, &HeaderMap::new(), b"")
            }
            other => panic!("unexpected {other:?}"),
        }
        while let Some(ev) = up.poll_event() {
            if let Event::Failed(f) = ev {
                failure = Some(f);
            }
        }
    }
    assert_eq!(max_part, 10_000);
    let f = failure.expect("must fail");
    assert!(matches!(f.error, UploadError::StreamTooLong { max } if max == 10_000 * PART));
}

#[test]
fn sequential_mode_uploads_in_order() {
    let src = source(8 * PART as usize, 4);
    let mut config = Config::default();
    config.sequential = true;
    let mut faults = Faults::flaky();
    faults.server_error = 0.2;
    let mut sim = Sim::new(known(&src, config, false), src, faults, 9);
    completed(&mut sim);
    let order: Vec<u32> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::PartDone { part_number, .. } => Some(*part_number),
            _ => None,
        })
        .collect();
    assert_eq!(order, (1..=8).collect::<Vec<_>>());
}

#[test]
fn concurrency_respects_max_in_flight_and_memory_budget() {
    let src = source(20 * PART as usize, 5);
    let mut config = Config::default();
    config.max_in_flight = 8;
    let plan_opts = opts().with_memory_budget(3 * PART);
    let plan = Plan::new(SourceSize::Known(src.len() as u64), &plan_opts).unwrap();
    let now = Instant::now();
    let mut up = Upload::new(target(), plan, config, now, 1).unwrap();
    let init =
        b"<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>dir/object.bin</Key><UploadId>U</UploadId></InitiateMultipartUploadResult>";
    let r = up.poll_request().unwrap();
    up.handle_response(r.id, now, StatusCode::OK, &HeaderMap::new(), init);
    let mut parts = 0;
    while let Some(r) = up.poll_request() {
        assert!(matches!(r.op, Op::UploadPart { .. }));
        parts += 1;
    }
    assert_eq!(parts, 3, "memory budget of 3 parts");
}

#[test]
fn crc_corruption_is_retried() {
    let src = source(4 * PART as usize, 6);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        2,
    );
    sim.inject(OpKind::UploadPart, Fault::CorruptBody);
    completed(&mut sim);
    let retried: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Retried {
                reason, rewound, ..
            } => Some((reason.clone(), *rewound)),
            _ => None,
        })
        .collect();
    assert_eq!(retried.len(), 1);
    assert!(matches!(retried[0].0, UploadError::PartCrcMismatch { .. }));
    assert_eq!(retried[0].1, PART);
}

#[test]
fn lost_complete_response_is_confirmed_by_head() {
    let src = source(3 * PART as usize, 7);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        3,
    );
    sim.inject(OpKind::Complete, Fault::LostResponse);
    let c = completed(&mut sim);
    assert!(c.confirmed_by_head);
}

#[test]
fn complete_5xx_then_retry_succeeds() {
    let src = source(3 * PART as usize, 8);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        3,
    );
    sim.inject(OpKind::Complete, Fault::ServerError);
    let c = completed(&mut sim);
    assert!(!c.confirmed_by_head);
    assert!(
        count(&sim, |e| matches!(
            e,
            Event::Retried {
                op: OpKind::Complete,
                ..
            }
        )) == 1
    );
}

#[test]
fn duplicated_complete_answer_is_harmless() {
    let src = source(3 * PART as usize, 9);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        3,
    );
    sim.inject(OpKind::Complete, Fault::Duplicate);
    sim.inject(OpKind::UploadPart, Fault::Duplicate);
    completed(&mut sim);
    assert_eq!(count(&sim, |e| matches!(e, Event::Completed(_))), 1);
}

#[test]
fn non_retryable_error_aborts_by_default() {
    let src = source(4 * PART as usize, 10);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        4,
    );
    sim.inject(OpKind::UploadPart, Fault::Error(403, "AccessDenied"));
    match sim.drive_bounded(10_000).unwrap() {
        Outcome::Failed(f) => {
            assert!(!f.resumable);
            assert_eq!(f.error.service_error().unwrap().code(), "AccessDenied");
            assert!(!f.error.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.oss.upload_count(), 0, "parts were aborted");
}

#[test]
fn keep_policy_leaves_a_resumable_upload() {
    let src = source(4 * PART as usize, 11);
    let mut config = Config::default();
    config.on_failure = FailurePolicy::Keep;
    let mut sim = Sim::new(known(&src, config, false), src, Faults::none(), 4);
    sim.inject(OpKind::UploadPart, Fault::Error(400, "InvalidArgument"));
    let Outcome::Failed(f) = sim.drive_bounded(10_000).unwrap() else {
        panic!()
    };
    assert!(f.resumable);
    let id = f.upload_id.unwrap();
    assert_eq!(sim.oss.upload_count(), 1);
    // Stateless resume from the id alone.
    let plan = Plan::new(SourceSize::Known(sim.source().len() as u64), &opts()).unwrap();
    let up = Upload::resume_upload_id(target(), id, plan, Config::default(), None, sim.now(), 5)
        .unwrap();
    let done_before = sim.oss.part_numbers(up.upload_id().unwrap()).len();
    assert!(done_before >= 1);
    let mut resumed = Sim::new(up, sim.source().to_vec(), Faults::none(), 5);
    resumed.oss = sim.oss.clone();
    completed(&mut resumed);
    assert_eq!(
        count(&resumed, |e| matches!(
            e,
            Event::PartDone { resumed: true, .. }
        )),
        done_before
    );
}

#[test]
fn retry_budget_exhaustion_is_reported() {
    let src = source(2 * PART as usize, 12);
    let mut config = Config::default();
    config.retry.max_retries = 1;
    let mut sim = Sim::new(known(&src, config, true), src, Faults::none(), 4);
    sim.inject(OpKind::Initiate, Fault::Reset);
    sim.inject(OpKind::Initiate, Fault::Reset);
    let Outcome::Failed(f) = sim.drive_bounded(10_000).unwrap() else {
        panic!()
    };
    assert!(matches!(f.error, UploadError::RetriesExhausted { .. }));
    assert!(f.error.service_error().is_none());
}

#[test]
fn abort_command_aborts_and_is_terminal() {
    let src = source(6 * PART as usize, 13);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        5,
    );
    sim.run_for(4);
    let now = sim.now();
    sim.upload.abort(now);
    assert_eq!(sim.drive_bounded(10_000).unwrap(), Outcome::Aborted);
    assert_eq!(sim.oss.upload_count(), 0);
    assert!(sim.oss.object("bucket", "dir/object.bin").is_none());
    assert!(sim.upload.poll_request().is_none());
}

#[test]
fn abort_answered_no_such_upload_is_done() {
    let src = source(3 * PART as usize, 14);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        5,
    );
    sim.run_for(3);
    sim.oss.forget_uploads();
    let now = sim.now();
    sim.upload.abort(now);
    assert_eq!(sim.drive_bounded(10_000).unwrap(), Outcome::Aborted);
}

#[test]
fn pause_stops_new_requests_until_resumed() {
    let src = source(6 * PART as usize, 15);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        6,
    );
    let now = sim.now();
    sim.upload.pause(now);
    sim.run_for(1); // Initiate answered while paused: no part goes out
    assert!(sim.upload.poll_request().is_none());
    assert!(!sim.run_for(5));
    assert!(sim.outcome().is_none());
    let now = sim.now();
    sim.upload.resume(now);
    // The sim drains after each step; kick it by stepping.
    let mut sim2_events = 0;
    while let Some(r) = sim.upload.poll_request() {
        sim2_events += 1;
        assert!(matches!(r.op, Op::UploadPart { .. }));
    }
    assert!(sim2_events > 0);
}

#[test]
fn resume_reuses_verified_parts_non_contiguous() {
    let src = source(6 * PART as usize, 16);
    let mut sim = Sim::new(
        known(&src, Config::default(), true),
        src.clone(),
        Faults::none(),
        7,
    );
    // Run until a few parts are journaled, then crash.
    while count(&sim, |e| matches!(e, Event::PartDone { .. })) < 4 {
        assert!(sim.step());
    }
    let cp = sim.last_checkpoint().unwrap().clone();
    let journaled: Vec<u32> = cp.parts().map(|e| e.part_number).collect();
    assert!(journaled.len() >= 4);
    // Damage one part server-side and one locally: both must be re-uploaded.
    let id = cp.upload_id().to_owned();
    sim.oss
        .tamper_part(&id, journaled[0], vec![0; PART as usize]);
    let local = journaled[2];
    sim.source_mut()[((local - 1) as u64 * PART) as usize] ^= 0xFF;
    sim.crash_and_resume(Config::default(), 8).unwrap();
    completed(&mut sim);
    let reused: Vec<u32> = sim
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::PartDone {
                part_number,
                resumed: true,
                ..
            } => Some(*part_number),
            _ => None,
        })
        .collect();
    assert!(
        !reused.contains(&journaled[0]),
        "tampered server part reused"
    );
    assert!(!reused.contains(&local), "locally changed part reused");
    assert!(
        reused.contains(&journaled[1]) && reused.contains(&journaled[3]),
        "{reused:?} vs {journaled:?}"
    );
}

#[test]
fn resume_pages_through_list_parts() {
    let src = source(9 * PART as usize, 17);
    let mut sim = Sim::new(known(&src, Config::default(), true), src, Faults::none(), 7);
    sim.oss.set_list_page_limit(2);
    while count(&sim, |e| matches!(e, Event::PartDone { .. })) < 7 {
        assert!(sim.step());
    }
    sim.crash_and_resume(Config::default(), 9).unwrap();
    completed(&mut sim);
    assert!(count(&sim, |e| matches!(e, Event::PartDone { resumed: true, .. })) >= 7);
}

#[test]
fn no_such_upload_on_resume_starts_over() {
    let src = source(5 * PART as usize, 18);
    let mut sim = Sim::new(known(&src, Config::default(), true), src, Faults::none(), 7);
    while count(&sim, |e| matches!(e, Event::PartDone { .. })) < 2 {
        assert!(sim.step());
    }
    sim.oss.forget_uploads();
    sim.crash_and_resume(Config::default(), 10).unwrap();
    completed(&mut sim);
    assert_eq!(count(&sim, |e| matches!(e, Event::Restarted)), 1);
}

#[test]
fn crash_after_complete_resumes_to_completed_via_head() {
    let src = source(3 * PART as usize, 19);
    let mut sim = Sim::new(known(&src, Config::default(), true), src, Faults::none(), 7);
    sim.inject(OpKind::Complete, Fault::LostResponse);
    // Run until Complete reached the server (object exists), then crash before the answer.
    while sim.oss.object("bucket", "dir/object.bin").is_none() {
        assert!(sim.step());
    }
    sim.crash_and_resume(Config::default(), 11).unwrap();
    let c = completed(&mut sim);
    assert!(c.confirmed_by_head);
    assert_eq!(count(&sim, |e| matches!(e, Event::Restarted)), 0);
}

#[test]
fn checkpoint_roundtrips_and_rejects_other_versions_and_changed_sources() {
    let src = source(3 * PART as usize, 20);
    let mut sim = Sim::new(
        known(&src, Config::default(), true),
        src.clone(),
        Faults::none(),
        7,
    );
    while count(&sim, |e| matches!(e, Event::PartDone { .. })) < 2 {
        assert!(sim.step());
    }
    let cp = sim.last_checkpoint().unwrap().clone();
    let json = serde_json::to_string(&cp).unwrap();
    let back: Checkpoint = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cp);
    let ident = SourceIdentity::new(src.len() as u64);
    let bumped = json.replace("\"version\":1", "\"version\":2");
    let bad: Checkpoint = serde_json::from_str(&bumped).unwrap();
    assert!(matches!(
        Upload::from_checkpoint(&bad, &ident, Config::default(), Instant::now(), 1),
        Err(PlanError::CheckpointVersion { found: 2, .. })
    ));
    let mut changed = ident.clone();
    changed.mtime = Some(5);
    assert!(matches!(
        Upload::from_checkpoint(&cp, &changed, Config::default(), Instant::now(), 1),
        Err(PlanError::SourceChanged)
    ));
}

#[test]
fn drive_bounded_catches_livelock() {
    let src = source(20 * PART as usize, 21);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::none(),
        1,
    );
    assert!(sim.drive_bounded(3).is_err());
}

#[test]
fn time_going_backwards_is_tolerated() {
    let src = source(2 * PART as usize, 22);
    let mut sim = Sim::new(
        known(&src, Config::default(), false),
        src,
        Faults::flaky(),
        1,
    );
    let early = sim.now() - Duration::from_secs(1);
    sim.upload.handle_timeout(early);
    completed(&mut sim);
}

#[test]
fn request_intents_build_http_requests() {
    let src = source(2 * PART as usize, 23);
    let mut config = Config::default();
    config.extra_headers.initiate.push((
        http::HeaderName::from_static("x-oss-forbid-overwrite"),
        HeaderValue::from_static("true"),
    ));
    let mut up = known(&src, config, false);
    let r = up.poll_request().unwrap();
    let http = r.to_oss_request().unwrap().unwrap();
    assert_eq!(http.method, http::Method::POST);
    assert!(
        http.query
            .iter()
            .any(|(k, v)| k == "uploads" && v.is_empty())
    );
    assert_eq!(http.headers.get("x-oss-forbid-overwrite").unwrap(), "true");
    assert_eq!(http.key.as_deref(), Some("dir/object.bin"));
    assert_eq!(http.bucket.as_deref(), Some("bucket"));
}

/// A stateless resume that does not know the part size the upload was started with adopts
/// the server's (part 1's size) once the parts are listed, and reuses the parts already there.
#[test]
fn stateless_resume_adopts_the_part_size_the_upload_was_started_with() {
    use oss_multipart_core::sim::FakeOss;
    let src: Vec<u8> = (0..6 * PART as u32 + 5).map(|i| (i % 239) as u8).collect();
    let opts = |part| {
        PlanOptions::default()
            .with_part_size(part)
            .with_single_put_threshold(0)
    };
    let first = Plan::new(SourceSize::Known(src.len() as u64), &opts(2 * PART)).unwrap();
    let mut config = Config::default();
    config.sequential = true;
    config.on_failure = FailurePolicy::Keep;
    let up = Upload::new(target(), first, config.clone(), Instant::now(), 8).unwrap();
    let mut sim = Sim::new(up, src.clone(), Faults::none(), 8);
    while sim
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { .. }))
        .count()
        < 2
    {
        assert!(sim.step());
    }
    let upload_id = sim.upload.upload_id().unwrap().to_owned();
    let oss = std::mem::replace(&mut sim.oss, FakeOss::new());

    // The resume plans with the fallback size (1 part = 100 KiB), the server holds 200 KiB parts.
    let fallback = Plan::new(SourceSize::Known(src.len() as u64), &opts(PART)).unwrap();
    let up = Upload::resume_upload_id_adopting_part_size(
        target(),
        upload_id,
        fallback,
        config,
        None,
        sim.now(),
        9,
    )
    .unwrap();
    let mut resumed = Sim::new(up, src.clone(), Faults::none(), 9);
    resumed.oss = oss;
    let Outcome::Completed(done) = resumed.drive_bounded(10_000).unwrap() else {
        panic!("{:?}", resumed.outcome())
    };
    assert_eq!(done.size, src.len() as u64);
    assert_eq!(
        resumed.oss.object("bucket", "dir/object.bin"),
        Some(&src[..])
    );
    assert_eq!(resumed.upload.plan().part_size(), Some(2 * PART));
    let reused = resumed
        .events()
        .iter()
        .filter(|e| matches!(e, Event::PartDone { resumed: true, .. }))
        .count();
    assert!(reused >= 2, "parts already uploaded are reused: {reused}");
}
