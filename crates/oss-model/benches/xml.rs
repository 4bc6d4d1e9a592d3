//! XML throughput: parse a 1,000-part ListParts page; write a 10,000-part Complete body.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use criterion::{Criterion, criterion_group, criterion_main};
use oss_model::PartNumber;
use oss_model::ops::{CompleteMultipartUploadBody, CompletedPart, ListPartsOutput, PartSummary};
use std::hint::black_box;

fn list_parts_page() -> Vec<u8> {
    let mut page = ListPartsOutput::default();
    page.bucket = "examplebucket".into();
    page.key = "some/dir/multipart.data".into();
    page.upload_id = "0004B9894A22E5B1888A1E29F823ABCD".into();
    page.storage_class = "Standard".into();
    page.max_parts = 1000;
    page.next_part_number_marker = 1000;
    page.is_truncated = true;
    page.parts = (1..=1000)
        .map(|n| {
            let mut part = PartSummary::new(
                PartNumber::new(n).unwrap(),
                format!("\"{:032X}\"", u128::from(n) * 0x9E37_79B9_7F4A_7C15),
                6_291_456,
            );
            part.crc64 = Some(u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            part.last_modified = "2012-02-23T07:01:34.000Z".into();
            part
        })
        .collect();
    page.to_xml().into_bytes()
}

fn complete_body() -> CompleteMultipartUploadBody {
    CompleteMultipartUploadBody::new(
        (1..=10_000)
            .map(|n| {
                CompletedPart::new(
                    PartNumber::new(n).unwrap(),
                    format!("\"{:032X}\"", u128::from(n) * 0x9E37_79B9_7F4A_7C15),
                )
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let page = list_parts_page();
    c.bench_function("parse ListParts 1000 parts", |b| {
        b.iter(|| ListPartsOutput::from_xml(black_box(&page)).unwrap())
    });
    let body = complete_body();
    c.bench_function("write Complete 10000 parts", |b| {
        b.iter(|| black_box(&body).to_xml())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
