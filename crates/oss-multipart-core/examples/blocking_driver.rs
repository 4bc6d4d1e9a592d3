//! A complete blocking driver for the sans-IO [`Upload`] machine, in plain `std`.
//!
//! It shows everything a runtime owes the machine: executing each polled request, reading and
//! hashing part bodies, answering `HashRange` on resume, arming the single retry timer, feeding
//! answers back one at a time with a fresh `now`, draining after every input, and persisting the
//! checkpoint. The "network" is the crate's in-memory [`FakeOss`] behind a tiny fault script, so
//! the example runs anywhere; a real driver would sign the `OssRequest` (crate `oss-auth`) and
//! send it over HTTP at the marked spot.
//!
//! The run: upload 5 parts with checkpointing, "crash" after 2 parts are confirmed, resume from
//! the saved checkpoint JSON (verified parts are reused, not re-sent), survive a 503 on one part
//! and a lost Complete answer (confirmed by HeadObject), and check the object bit for bit.
//!
//! `cargo run -p oss-multipart-core --example blocking_driver`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use http::StatusCode;
use oss_multipart_core::sim::{FakeOss, SimResponse};
use oss_multipart_core::{
    BodyRead, Checkpoint, Config, Event, FailureKind, Op, Plan, PlanOptions, Request, RequestId,
    SourceIdentity, SourceSize, Target, Upload, crc64,
};

/// What the "network" did with one request. A real driver gets this from its HTTP client.
enum Answer {
    /// An HTTP response (any status: the machine classifies errors itself).
    Response(SimResponse),
    /// No response: connection reset, timeout... (the server may or may not have acted).
    Failure(FailureKind),
    /// The CRC-64 of a local range (`Op::HashRange`), `None` when it could not be read.
    Hash(Option<u64>),
}

/// A finished request waiting to be fed back to the machine.
struct Done {
    id: RequestId,
    /// For UploadPart/PutObject: what was read from the source and sent.
    body_read: Option<BodyRead>,
    answer: Answer,
}

/// The server side: the in-memory fake plus a scripted fault or two.
struct Network {
    oss: FakeOss,
    /// Answer the first UploadPart of this part number with 503 (OSS does nothing).
    fail_part_once: Option<u32>,
    /// Let OSS complete the first Complete, but lose its answer (the driver times out).
    lose_complete_once: bool,
}

impl Network {
    fn execute(&mut self, req: &Request, body: &[u8]) -> Answer {
        // A real driver: sign `http` with oss-auth, pick the URL (virtual-host or path style),
        // set Content-Length (and Content-MD5 when `content_md5` asks for it), and send it with
        // `body` as the payload; deadlines are the driver's, reported as FailureKind::Timeout.
        let http = req
            .to_oss_request()
            .expect("valid target")
            .expect("HTTP op");
        match &req.op {
            Op::UploadPart { part_number, .. } if self.fail_part_once == Some(*part_number) => {
                self.fail_part_once = None;
                Answer::Response(self.oss.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "try again",
                ))
            }
            Op::Complete { .. } if self.lose_complete_once => {
                self.lose_complete_once = false;
                let _ = self.oss.handle(&http, body); // the object now exists
                Answer::Failure(FailureKind::Timeout)
            }
            _ => Answer::Response(self.oss.handle(&http, body)),
        }
    }
}

fn read<'a>(source: &'a [u8], range: &Range<u64>) -> Option<&'a [u8]> {
    let (start, end) = (
        usize::try_from(range.start).ok()?,
        usize::try_from(range.end).ok()?,
    );
    source.get(start..end)
}

/// What the driver saw, for the final assertions.
#[derive(Default)]
struct Stats {
    uploaded: u32,
    reused: u32,
    retries: u32,
}

/// How a run of the driver ended.
enum Outcome {
    Completed(oss_multipart_core::Completed),
    Failed(oss_multipart_core::Failure),
    Aborted,
    /// We pulled the plug (the simulated crash).
    Crashed,
}

/// Drives `up` to a terminal event. `crash_after_parts` stops the loop abruptly once that many
/// parts are confirmed, dropping every answer still in flight, as a killed process would.
fn drive(
    up: &mut Upload,
    source: &[u8],
    net: &mut Network,
    saved: &mut Option<String>,
    stats: &mut Stats,
    crash_after_parts: Option<u32>,
) -> Outcome {
    // Answers the "network" has produced but the machine has not seen yet. A threaded or async
    // driver would collect these from its workers; feeding them one at a time is what matters.
    let mut in_flight: VecDeque<Done> = VecDeque::new();
    let mut parts_done = 0;
    loop {
        // 1. Requests: start each one. (This driver executes them at once and queues the answer.)
        while let Some(req) = up.poll_request() {
            println!("  > #{} {}", req.id.get(), describe(&req.op));
            let done = match &req.op {
                Op::HashRange { range, .. } => Done {
                    id: req.id,
                    body_read: None,
                    answer: Answer::Hash(read(source, range).map(crc64)),
                },
                Op::UploadPart { range, .. } | Op::PutObject { range, .. } => {
                    let body = read(source, range).unwrap_or_default();
                    // Hash exactly the bytes that are sent, while sending them.
                    let body_read = BodyRead {
                        len: body.len() as u64,
                        crc64: crc64(body),
                        end_of_stream: false, // only meaningful for streams
                    };
                    let answer = net.execute(&req, body);
                    Done {
                        id: req.id,
                        body_read: Some(body_read),
                        answer,
                    }
                }
                _ => Done {
                    id: req.id,
                    body_read: None,
                    answer: net.execute(&req, &[]),
                },
            };
            in_flight.push_back(done);
        }
        // 2. The one timer: replace whatever was armed before.
        let deadline = up.poll_timeout();
        // 3. Events.
        while let Some(event) = up.poll_event() {
            match event {
                Event::PartDone {
                    part_number,
                    resumed,
                    ..
                } => {
                    parts_done += 1;
                    if resumed {
                        stats.reused += 1;
                    } else {
                        stats.uploaded += 1;
                    }
                    let how = if resumed {
                        "reused after re-hash"
                    } else {
                        "uploaded"
                    };
                    println!("  ! part {part_number} {how}");
                }
                Event::Progress(p) => println!("  ! progress {}/{:?}", p.confirmed, p.total),
                Event::Retried {
                    op, delay, reason, ..
                } => {
                    stats.retries += 1;
                    println!("  ! retry {op:?} in {} ms: {reason}", delay.as_millis());
                }
                Event::Restarted => println!("  ! upload gone on the server: started over"),
                Event::CheckpointChanged => {
                    // Persist (here: a string; on disk, write a temp file and rename it).
                    let cp = up.checkpoint().expect("checkpointing upload");
                    *saved = Some(serde_json::to_string(&cp).expect("serialisable"));
                }
                Event::Completed(c) => return Outcome::Completed(c),
                Event::Failed(f) => return Outcome::Failed(f),
                Event::Aborted => return Outcome::Aborted,
                Event::UploadId(_) => println!("  ! upload id known"),
                other => println!("  ! {other:?}"),
            }
        }
        if crash_after_parts.is_some_and(|n| parts_done >= n) {
            return Outcome::Crashed;
        }
        // Wait for the next input: an answer, else the timer.
        if let Some(done) = in_flight.pop_front() {
            let now = Instant::now();
            if let Some(read) = done.body_read {
                up.handle_body_read(done.id, now, read); // before the answer, always
            }
            match done.answer {
                Answer::Response(r) => {
                    println!("  < #{} {}", done.id.get(), r.status.as_u16());
                    up.handle_response(done.id, now, r.status, &r.headers, &r.body);
                }
                Answer::Failure(kind) => {
                    println!("  < #{} {kind:?}", done.id.get());
                    up.handle_failure(done.id, now, kind);
                }
                Answer::Hash(crc) => up.handle_hash(done.id, now, crc),
            }
        } else if let Some(t) = deadline {
            std::thread::sleep(t.at.saturating_duration_since(Instant::now()));
            println!("  ~ timer ({:?})", t.reason);
            up.handle_timeout(Instant::now());
        } else {
            // Nothing in flight, no timer, no terminal event: the contract says this cannot
            // happen, so a driver should report it rather than spin.
            panic!("machine stalled");
        }
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::UploadPart {
            part_number, range, ..
        } => format!("UploadPart {part_number} bytes {range:?}"),
        Op::HashRange { part_number, .. } => format!("HashRange {part_number} (local re-read)"),
        Op::Complete { parts, .. } => format!("Complete ({} parts)", parts.len()),
        Op::ListParts { marker, .. } => format!("ListParts after {marker}"),
        other => format!("{:?}", other.kind()),
    }
}

fn main() {
    // 5 parts of 100 KiB (the OSS minimum), the last one shorter.
    let source: Vec<u8> = (0..460_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let options = PlanOptions::default()
        .with_part_size(102_400)
        .with_single_put_threshold(0);
    let plan = Plan::new(SourceSize::Known(source.len() as u64), &options).unwrap();
    let target = Target::new("my-bucket", "backups/blocking.bin").unwrap();
    let mut config = Config::default();
    config.max_in_flight = 2;
    config.retry.initial_backoff = Duration::from_millis(50); // keep the demo's backoff short
    // How this machine recognises "the same file" next time (size, mtime, sampled hash...).
    let identity = SourceIdentity::new(source.len() as u64);

    let mut net = Network {
        oss: FakeOss::new(),
        fail_part_once: Some(5),
        lose_complete_once: true,
    };
    let mut saved = None;
    let mut first = Stats::default();
    let mut second = Stats::default();

    println!("run 1: upload with a checkpoint, crash after 2 parts");
    let seed = 7; // jitter seed: a real driver takes it from the clock or an RNG
    let mut up = Upload::with_checkpointing(
        target,
        plan,
        config.clone(),
        identity.clone(),
        Instant::now(),
        seed,
    )
    .unwrap();
    assert!(matches!(
        drive(&mut up, &source, &mut net, &mut saved, &mut first, Some(2)),
        Outcome::Crashed
    ));
    drop(up); // the process is gone; only the checkpoint survives

    println!("run 2: resume from the saved checkpoint");
    let checkpoint: Checkpoint = serde_json::from_str(saved.as_deref().unwrap()).unwrap();
    let mut up =
        Upload::from_checkpoint(&checkpoint, &identity, config, Instant::now(), seed + 1).unwrap();
    let done = match drive(&mut up, &source, &mut net, &mut saved, &mut second, None) {
        Outcome::Completed(done) => done,
        Outcome::Failed(f) => panic!("upload failed: {}", f.error),
        Outcome::Aborted | Outcome::Crashed => panic!("unexpected end"),
    };

    // The object is the source, byte for byte, and the machine said how it knew.
    let stored = net.oss.object("my-bucket", "backups/blocking.bin").unwrap();
    assert_eq!(stored, &source[..]);
    assert_eq!(done.size, source.len() as u64);
    assert_eq!(done.crc64, crc64(&source));
    assert!(
        done.confirmed_by_head,
        "the lost Complete answer was confirmed by HeadObject"
    );
    assert_eq!(net.oss.upload_count(), 0);
    // Run 1 confirmed 2 parts before the crash; run 2 re-hashed and reused them (and any part
    // OSS stored whose answer died with run 1), and uploaded only the rest.
    assert_eq!(first.uploaded, 2);
    assert!(second.reused >= 2, "reused {}", second.reused);
    assert_eq!(second.reused + second.uploaded, 5);
    assert!(second.retries >= 1, "the 503 on part 5 was retried");
    assert!(
        up.poll_request().is_none() && up.is_finished(),
        "nothing after the terminal event"
    );
    println!(
        "completed: {} bytes, CRC-64 {:#018x}, confirmed by HeadObject: {}",
        done.size, done.crc64, done.confirmed_by_head
    );
}

// `cargo test -p oss-multipart-core --examples` runs the whole example (its assertions included).
#[cfg(test)]
mod tests {
    #[test]
    fn example_runs_to_a_verified_object() {
        super::main();
    }
}
