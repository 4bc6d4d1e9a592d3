//! Planning cost and the machine's overhead per part in a full simulated upload.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use oss_multipart_core::sim::{Faults, Sim};
use oss_multipart_core::{Config, Plan, PlanOptions, SourceSize, Target, Upload};

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

fn machine_10000_parts(c: &mut Criterion) {
    // 10,000 parts of 100 KiB (≈ 1 GB of source) through the fake, no faults.
    let opts = PlanOptions::default()
        .with_part_size(102_400)
        .with_single_put_threshold(0);
    let size = 102_400u64 * 10_000;
    let source = vec![7u8; size as usize];
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("upload_10000_parts", |b| {
        b.iter(|| {
            let plan = Plan::new(SourceSize::Known(size), &opts).unwrap();
            let mut config = Config::default();
            config.max_in_flight = 16;
            let up = Upload::new(
                Target::new("b-1", "k").unwrap(),
                plan,
                config,
                Instant::now(),
                1,
            )
            .unwrap();
            let mut sim = Sim::new(up, source.clone(), Faults::none(), 1);
            assert!(sim.drive_bounded(1_000_000).unwrap().is_completed());
        })
    });
    g.finish();
}

criterion_group!(benches, plan, machine_10000_parts);
criterion_main!(benches);
