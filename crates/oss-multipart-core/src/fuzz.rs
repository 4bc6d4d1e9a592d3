//! Fuzzing entry point: drives an [`Upload`] with an arbitrary sequence of inputs decoded from
//! bytes, and checks the invariants that must hold whatever the network says.
//!
//! Used by `fuzz/fuzz_targets/core_machine.rs` (`cfg(fuzzing)`) and replayed on stable over the
//! committed corpus by this crate's tests (feature `sim`). Like the machine, it reads no clock:
//! the harness passes the starting instant.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::checkpoint::{Checkpoint, JournalEntry, SourceIdentity};
use crate::config::Config;
use crate::event::Event;
use crate::inflight::BodyRead;
use crate::plan::{Plan, PlanOptions, SourceSize};
use crate::request::{Op, RequestId};
use crate::target::Target;
use crate::upload::Upload;

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.u8()?);
        }
        Some(v)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let end = self.pos.saturating_add(n).min(self.data.len());
        let s = &self.data[self.pos..end];
        self.pos = end;
        s
    }
}

const STATUSES: [u16; 12] = [200, 204, 206, 400, 403, 404, 408, 409, 429, 500, 503, 203];
const CODES: [&str; 8] = [
    "NoSuchUpload",
    "InvalidPart",
    "RequestTimeTooSkewed",
    "InvalidArgument",
    "AccessDenied",
    "InternalError",
    "EntityTooSmall",
    "InvalidDigest",
];

/// Runs one fuzz case. Panics only when an invariant of the machine is violated:
/// progress decreased or exceeded the total, a request or second terminal event appeared after
/// the terminal event. Returns the terminal event, if one was reached.
pub fn run_machine(data: &[u8], t0: Instant) -> Option<Event> {
    let mut b = Bytes { data, pos: 0 };
    let mut now = t0;
    let mode = b.u8()?;
    let seed = b.u64().unwrap_or(0);
    let size = u64::from(b.u8().unwrap_or(3)) * 100_000 + u64::from(b.u8().unwrap_or(0));
    let opts = PlanOptions {
        part_size: 102_400,
        single_put_threshold: 150_000,
        ..PlanOptions::default()
    };
    let config = Config {
        sequential: mode & 0x10 != 0,
        max_in_flight: 1 + usize::from(mode >> 5),
        content_md5: mode & 0x08 != 0,
        ..Config::default()
    };
    let Ok(target) = Target::new("fuzz-bucket", "fuzz/key") else {
        return None;
    };
    let upload = match mode % 5 {
        0 => Plan::new(SourceSize::Known(size), &opts)
            .and_then(|p| Upload::new(target, p, config, now, seed)),
        1 => Plan::new(SourceSize::Unknown, &opts)
            .and_then(|p| Upload::new(target, p, config, now, seed)),
        2 => Plan::new(SourceSize::Known(size), &opts).and_then(|p| {
            Upload::with_checkpointing(target, p, config, SourceIdentity::new(size), now, seed)
        }),
        3 => Plan::new(SourceSize::Known(size.max(200_000)), &opts)
            .and_then(|p| Upload::resume_upload_id(target, "ID", p, config, None, now, seed)),
        _ => {
            let size = size.max(200_000);
            let mut journal = Vec::new();
            let mut n = 1;
            let mut off = 0;
            while off < size {
                let len = 102_400.min(size - off);
                if b.u8().unwrap_or(0) & 1 == 1 {
                    journal.push(JournalEntry {
                        part_number: n,
                        offset: off,
                        len,
                        etag: format!("\"E{n}\""),
                        crc64: u64::from(n),
                    });
                }
                off += len;
                n += 1;
            }
            let cp = Checkpoint::build(
                "ID",
                &target,
                &SourceIdentity::new(size),
                102_400,
                1 << 30,
                journal.into_iter(),
            );
            Upload::from_checkpoint(&cp, &SourceIdentity::new(size), config, now, seed)
        }
    };
    let Ok(mut up) = upload else { return None };
    let mut terminal = None;

    let mut open: Vec<(RequestId, Op)> = Vec::new();
    let mut last_confirmed = 0u64;
    let mut finished = false;
    let mut steps = 0;
    loop {
        while let Some(r) = up.poll_request() {
            assert!(!finished, "request after terminal event");
            let _ = r.to_oss_request();
            open.push((r.id, r.op));
        }
        let timeout = up.poll_timeout();
        while let Some(ev) = up.poll_event() {
            match ev {
                Event::Progress(p) => {
                    assert!(p.confirmed >= last_confirmed, "progress went backwards");
                    assert!(
                        p.total.is_none_or(|t| p.confirmed <= t),
                        "progress above total"
                    );
                    last_confirmed = p.confirmed;
                }
                Event::Completed(_) | Event::Failed(_) | Event::Aborted => {
                    assert!(!finished, "second terminal event");
                    finished = true;
                    terminal = Some(ev);
                }
                Event::CheckpointChanged => {
                    let _ = up.checkpoint();
                }
                _ => {}
            }
        }
        assert_eq!(finished, up.is_finished());
        steps += 1;
        let Some(cmd) = b.u8() else { break };
        if steps > 4096 {
            break;
        }
        now += Duration::from_millis(u64::from(b.u8().unwrap_or(0)) * 10);
        let pick = usize::from(b.u8().unwrap_or(0));
        let target_id = match open.len() {
            0 => RequestId(u64::from(b.u8().unwrap_or(0))),
            n => open[pick % n].0,
        };
        let op = open
            .iter()
            .find(|(id, _)| *id == target_id)
            .map(|(_, op)| op.clone());
        match cmd % 10 {
            0..=3 => {
                let status = StatusCode::from_u16(
                    STATUSES[usize::from(b.u8().unwrap_or(0)) % STATUSES.len()],
                )
                .unwrap_or(StatusCode::OK);
                let flags = b.u8().unwrap_or(0);
                let mut headers = HeaderMap::new();
                if flags & 1 != 0 {
                    headers.insert("etag", HeaderValue::from_static("\"ABC\""));
                }
                if flags & 2 != 0 {
                    headers.insert(
                        "x-oss-hash-crc64ecma",
                        HeaderValue::from(b.u64().unwrap_or(0)),
                    );
                }
                if flags & 4 != 0 {
                    headers.insert("content-length", HeaderValue::from(size));
                }
                let body: Vec<u8> = match flags >> 4 {
                    0 => b"<InitiateMultipartUploadResult><Bucket>fuzz-bucket</Bucket><Key>fuzz/key</Key><UploadId>ID</UploadId></InitiateMultipartUploadResult>".to_vec(),
                    1 => {
                        let np = b.u8().unwrap_or(0);
                        let trunc = flags & 8 != 0;
                        let mut s = format!("<ListPartsResult><IsTruncated>{trunc}</IsTruncated><NextPartNumberMarker>{np}</NextPartNumberMarker>");
                        for i in 0..(np % 5) {
                            let n = u32::from(b.u8().unwrap_or(i));
                            s.push_str(&format!(
                                "<Part><PartNumber>{n}</PartNumber><ETag>\"E{n}\"</ETag><HashCrc64ecma>{n}</HashCrc64ecma><Size>102400</Size></Part>"
                            ));
                        }
                        s.push_str("</ListPartsResult>");
                        s.into_bytes()
                    }
                    2 => b"<CompleteMultipartUploadResult><Location>l</Location><Bucket>fuzz-bucket</Bucket><Key>fuzz/key</Key><ETag>&quot;X-2&quot;</ETag></CompleteMultipartUploadResult>".to_vec(),
                    3 => format!("<Error><Code>{}</Code></Error>", CODES[usize::from(b.u8().unwrap_or(0)) % CODES.len()]).into_bytes(),
                    n => b.take(usize::from(n) * 8).to_vec(),
                };
                open.retain(|(id, _)| *id != target_id);
                up.handle_response(target_id, now, status, &headers, &body);
            }
            4 => {
                let kinds = [
                    crate::FailureKind::Connect,
                    crate::FailureKind::ConnectionReset,
                    crate::FailureKind::Timeout,
                    crate::FailureKind::SourceRead,
                    crate::FailureKind::Other,
                ];
                open.retain(|(id, _)| *id != target_id);
                up.handle_failure(
                    target_id,
                    now,
                    kinds[usize::from(b.u8().unwrap_or(0)) % kinds.len()],
                );
            }
            5 => {
                let planned = match &op {
                    Some(Op::UploadPart { range, .. } | Op::PutObject { range, .. }) => {
                        range.end - range.start
                    }
                    _ => 0,
                };
                let len = if b.u8().unwrap_or(0) & 1 == 0 {
                    planned
                } else {
                    planned / 2
                };
                let read = BodyRead {
                    len,
                    crc64: b.u64().unwrap_or(0),
                    end_of_stream: b.u8().unwrap_or(0) & 1 == 1,
                };
                up.handle_body_read(target_id, now, read);
            }
            6 => {
                let crc = if b.u8().unwrap_or(0) & 1 == 0 {
                    Some(b.u64().unwrap_or(0))
                } else {
                    None
                };
                open.retain(|(id, _)| *id != target_id);
                up.handle_hash(target_id, now, crc);
            }
            7 => {
                let at = timeout.map_or(now, |t| t.at);
                now = now.max(at);
                up.handle_timeout(now);
            }
            8 => match b.u8().unwrap_or(0) % 3 {
                0 => up.pause(now),
                1 => up.resume(now),
                _ => up.abort(now),
            },
            _ => {
                // Time goes "backwards": must be tolerated.
                up.handle_timeout(t0);
            }
        }
    }
    terminal
}
