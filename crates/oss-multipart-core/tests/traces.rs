//! Snapshot tests of request/event traces (update with `UPDATE_EXPECT=1 cargo test`).
//! One `check` helper runs a scenario; a behaviour change shows up as a readable trace diff.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use expect_test::{Expect, expect};
use oss_multipart_core::sim::{Fault, Faults, Sim};
use oss_multipart_core::{
    Config, OpKind, Plan, PlanOptions, SourceIdentity, SourceSize, Target, Upload,
};

const PART: u64 = 102_400;

fn sim(len: u64, checkpoint: bool) -> Sim {
    let opts = PlanOptions::default()
        .with_part_size(PART)
        .with_single_put_threshold(0);
    let plan = Plan::new(SourceSize::Known(len), &opts).unwrap();
    let target = Target::new("bucket", "key").unwrap();
    let mut config = Config::default();
    config.max_in_flight = 2;
    let now = Instant::now();
    let up = if checkpoint {
        Upload::with_checkpointing(target, plan, config, SourceIdentity::new(len), now, 1).unwrap()
    } else {
        Upload::new(target, plan, config, now, 1).unwrap()
    };
    Sim::new(up, vec![5; len as usize], Faults::none(), 1)
}

fn check(mut sim: Sim, setup: impl FnOnce(&mut Sim), expect: Expect) {
    setup(&mut sim);
    let outcome = sim.drive_bounded(10_000).unwrap();
    assert!(outcome.is_completed(), "{outcome:?}");
    expect.assert_eq(&(sim.trace().join("\n") + "\n"));
}

#[test]
fn trace_clean_two_parts() {
    check(
        sim(PART + 10, false),
        |_| {},
        expect![[r#"
            > #1 Initiate
            < #1 200
            > #2 UploadPart 1 0..102400
            > #3 UploadPart 2 102400..102410
            ! upload id
            < #2 200
            ! part 1 done
            ! progress 102400/102410
            < #3 200
            > #4 Complete 2 parts
            ! part 2 done
            ! progress 102410/102410
            < #4 200
            ! completed size 102410 by_head false
        "#]],
    );
}

#[test]
fn trace_lost_complete_confirmed_by_head() {
    check(
        sim(PART + 10, false),
        |s| s.inject(OpKind::Complete, Fault::LostResponse),
        expect![[r#"
            > #1 Initiate
            < #1 200
            > #2 UploadPart 1 0..102400
            > #3 UploadPart 2 102400..102410
            ! upload id
            < #2 200
            ! part 1 done
            ! progress 102400/102410
            < #3 200
            > #4 Complete 2 parts [LostResponse]
            ! part 2 done
            ! progress 102410/102410
            < #4 Timeout
            > #5 HeadObject
            < #5 200
            ! completed size 102410 by_head true
        "#]],
    );
}

#[test]
fn trace_part_503_and_crc_corruption() {
    check(
        sim(2 * PART, false),
        |s| {
            s.inject(OpKind::UploadPart, Fault::ServerError);
            s.inject(OpKind::UploadPart, Fault::CorruptBody);
        },
        expect![[r#"
            > #1 Initiate
            < #1 200
            > #2 UploadPart 1 0..102400 [ServerError]
            > #3 UploadPart 2 102400..204800 [CorruptBody]
            ! upload id
            < #2 500
            ! retry UploadPart 1 attempt 1: UploadPart failed
            < #3 200
            ! retry UploadPart 2 attempt 1: CRC64 mismatch on part 2: sent 2892455023951113288, OSS stored 15088156509289910826
            > #4 UploadPart 2 102400..204800
            < #4 200
            ! part 2 done
            ! progress 102400/204800
            > #5 UploadPart 1 0..102400
            < #5 200
            > #6 Complete 2 parts
            ! part 1 done
            ! progress 204800/204800
            < #6 200
            ! completed size 204800 by_head false
        "#]],
    );
}

#[test]
fn trace_resume_after_upload_lost() {
    let mut s = sim(2 * PART, true);
    while !s
        .trace()
        .iter()
        .any(|l| l.contains("part 1 done") || l.contains("part 2 done"))
    {
        assert!(s.step());
    }
    s.oss.forget_uploads();
    s.crash_and_resume(Config::default(), 2).unwrap();
    check(
        s,
        |_| {},
        expect![[r#"
            > #1 Initiate
            < #1 200
            > #2 UploadPart 1 0..102400
            > #3 UploadPart 2 102400..204800
            ! upload id
            ! CheckpointChanged
            < #2 200
            ! part 1 done
            ! progress 102400/204800
            ! CheckpointChanged
            > #1 ListParts after 0
            ! upload id
            < #1 404
            > #2 Initiate
            ! Restarted
            < #2 200
            > #3 UploadPart 1 0..102400
            > #4 UploadPart 2 102400..204800
            ! upload id
            ! CheckpointChanged
            < #4 200
            ! part 2 done
            ! progress 102400/204800
            ! CheckpointChanged
            < #3 200
            > #5 Complete 2 parts
            ! part 1 done
            ! progress 204800/204800
            ! CheckpointChanged
            < #5 200
            ! completed size 204800 by_head false
        "#]],
    );
}
