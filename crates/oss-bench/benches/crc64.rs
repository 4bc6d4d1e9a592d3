//! CRC-64 per part and the combine that folds 10,000 part checksums into the object's.
//!
//! `cargo bench -p oss-bench --bench crc64 -- --quick`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oss_multipart_core::{Crc64, crc64, crc64_combine};

const PART: usize = 8 << 20;
const CHUNK: usize = 512 << 10;

fn bench(c: &mut Criterion) {
    let part: Vec<u8> = (0..PART).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect();

    let mut g = c.benchmark_group("crc64");
    g.throughput(Throughput::Bytes(PART as u64));
    g.bench_function("part_8MiB_one_call", |b| b.iter(|| crc64(black_box(&part))));
    // As the transport hashes: one update per 512 KiB chunk read.
    g.bench_function("part_8MiB_512KiB_chunks", |b| {
        b.iter(|| {
            let mut crc = Crc64::new();
            for chunk in black_box(&part).chunks(CHUNK) {
                crc.update(chunk);
            }
            crc.finish()
        })
    });
    g.finish();

    // The whole-object CRC of a 10,000-part upload from its part CRCs (what Complete checks).
    let crcs: Vec<u64> = (0..10_000u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let mut g = c.benchmark_group("crc64_combine");
    g.throughput(Throughput::Elements(crcs.len() as u64));
    g.bench_function("fold_10000_parts_of_8MiB", |b| {
        b.iter(|| {
            black_box(&crcs)
                .iter()
                .fold(0u64, |acc, &crc| crc64_combine(acc, crc, PART as u64))
        })
    });
    g.finish();

    // The combine is only useful if it agrees with hashing the concatenation.
    let (a, b2) = part.split_at(PART / 3);
    assert_eq!(
        crc64_combine(crc64(a), crc64(b2), b2.len() as u64),
        crc64(&part)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
