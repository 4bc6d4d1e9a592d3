//! Signing and verification throughput (goal: >= 300k V4 header signatures/s on one core;
//! figures and how they vary on this VM: `benches/README.md`).
//!
//! `cargo bench -p oss-auth --bench sign -- --quick`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oss_auth::{Credentials, SignableRequest, Signer, V4Params, Verifier, VerifyRequest};

const QUERY: [(&str, &str); 2] = [
    ("partNumber", "7"),
    ("uploadId", "0004B9894A22E5B1888A1E29F823ABCD"),
];
const HEADERS: [(&str, &str); 3] = [
    ("Content-Type", "application/octet-stream"),
    ("Content-Length", "6291456"),
    ("Content-MD5", "eB5eJF1ptWaXm4bijSPyxw=="),
];

fn bench(c: &mut Criterion) {
    let creds = Credentials::new("LTAI5tExampleAccessKey", "ExampleSecretKey1234567890abcd");
    let signer = Signer::new();
    let time = UNIX_EPOCH + Duration::from_secs(1_735_732_800);
    let req = SignableRequest::new(
        "PUT",
        Some("examplebucket"),
        Some("dir/sub dir/multipart.data"),
    )
    .with_query(&QUERY)
    .with_headers(&HEADERS);
    let params = V4Params::new("cn-hangzhou", time);

    let mut g = c.benchmark_group("oss-auth");
    g.throughput(Throughput::Elements(1));
    g.bench_function("v4_header", |b| {
        b.iter(|| {
            signer
                .sign_v4_header(black_box(&req), &creds, &params)
                .unwrap()
        })
    });
    g.bench_function("v4_presign", |b| {
        b.iter(|| {
            signer
                .presign_v4(black_box(&req), &creds, &params, Duration::from_secs(3600))
                .unwrap()
        })
    });
    g.bench_function("v1_header", |b| {
        b.iter(|| {
            signer
                .sign_v1_header(black_box(&req), &creds, time, &[])
                .unwrap()
        })
    });

    let signed = signer.sign_v4_header(&req, &creds, &params).unwrap();
    let mut headers: Vec<(&str, &str)> = HEADERS.to_vec();
    headers.extend(signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let raw_query = "partNumber=7&uploadId=0004B9894A22E5B1888A1E29F823ABCD";
    let incoming = VerifyRequest::new(
        "PUT",
        Some("examplebucket"),
        Some("dir/sub dir/multipart.data"),
        raw_query,
        &headers,
    );
    let verifier = Verifier::new("cn-hangzhou");
    let secret = "ExampleSecretKey1234567890abcd".to_owned();
    g.bench_function("v4_verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&incoming), |_| Some(secret.clone()), time)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
