//! Planning cost and the machine's overhead per part in a full simulated upload.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::unreachable,
    missing_docs
)]

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, StatusCode};
use oss_multipart_core::{
    BodyRead, Config, Event, Op, Plan, PlanOptions, SourceSize, Target, Upload,
};

fn plan(c: &mut Criterion) {
    let opts = PlanOptions::default();
    c.bench_function("plan_known_1TiB", |b| {
        b.iter(|| Plan::new(SourceSize::Known(std::hint::black_box(1 << 40)), &opts).unwrap())
    });
    let p = Plan::new(SourceSize::Unknown, &opts).unwrap();
    c.bench_function("stream_part_lookup_10000", |b| {
        b.iter(|| p.part(std::hint::black_box(10_000)).unwrap())
    });
}

/// Drives a 10,000-part upload by hand with canned answers (no bytes move), so the figure is the
/// machine's own overhead per part: polling, bookkeeping, parsing answers, events.
fn machine_10000_parts(c: &mut Criterion) {
    let opts = PlanOptions::default()
        .with_part_size(102_400)
        .with_single_put_threshold(0);
    let size = 102_400u64 * 10_000;
    let init = b"<InitiateMultipartUploadResult><Bucket>b-1</Bucket><Key>k</Key><UploadId>U</UploadId></InitiateMultipartUploadResult>";
    let done = b"<CompleteMultipartUploadResult><Location>l</Location><Bucket>b-1</Bucket><Key>k</Key><ETag>&quot;E-10000&quot;</ETag></CompleteMultipartUploadResult>";
    let mut part_ok = HeaderMap::new();
    part_ok.insert(
        "etag",
        HeaderValue::from_static("\"0123456789ABCDEF0123456789ABCDEF\""),
    );
    part_ok.insert("x-oss-hash-crc64ecma", HeaderValue::from_static("7"));
    let empty = HeaderMap::new();
    let mut g = c.benchmark_group("machine");
    g.sample_size(10);
    g.bench_function("upload_10000_parts", |b| {
        b.iter(|| {
            let plan = Plan::new(SourceSize::Known(size), &opts).unwrap();
            let mut config = Config::default();
            config.max_in_flight = 16;
            let now = Instant::now();
            let mut up =
                Upload::new(Target::new("b-1", "k").unwrap(), plan, config, now, 1).unwrap();
            let mut pending = std::collections::VecDeque::new();
            let mut completed = false;
            loop {
                while let Some(r) = up.poll_request() {
                    pending.push_back(r);
                }
                while let Some(ev) = up.poll_event() {
                    completed |= matches!(ev, Event::Completed(_));
                }
                let Some(r) = pending.pop_front() else { break };
                match r.op {
                    Op::Initiate => up.handle_response(r.id, now, StatusCode::OK, &empty, init),
                    Op::UploadPart { range, .. } => {
                        let read = BodyRead {
                            len: range.end - range.start,
                            crc64: 7,
                            end_of_stream: false,
                        };
                        up.handle_body_read(r.id, now, read);
                        up.handle_response(r.id, now, StatusCode::OK, &part_ok, b"");
                    }
                    Op::Complete { .. } => {
                        up.handle_response(r.id, now, StatusCode::OK, &empty, done)
                    }
                    _ => unreachable!(),
                }
            }
            assert!(completed);
        })
    });
    g.finish();
}

criterion_group!(benches, plan, machine_10000_parts);
criterion_main!(benches);
