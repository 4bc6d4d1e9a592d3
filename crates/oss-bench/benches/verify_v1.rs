//! V1 (`Authorization: OSS ak:signature`) verification, the half `oss-auth/benches/sign.rs`
//! does not cover (it measures V1 signing and V4 signing and verification).
//!
//! `cargo bench -p oss-bench --bench verify_v1 -- --quick`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oss_auth::{Credentials, SignableRequest, Signer, Verifier, VerifyRequest};

const SECRET: &str = "ExampleSecretKey1234567890abcd";
const QUERY: [(&str, &str); 2] = [
    ("partNumber", "7"),
    ("uploadId", "0004B9894A22E5B1888A1E29F823ABCD"),
];
const HEADERS: [(&str, &str); 2] = [
    ("Content-Type", "application/octet-stream"),
    ("Content-MD5", "eB5eJF1ptWaXm4bijSPyxw=="),
];

fn bench(c: &mut Criterion) {
    let creds = Credentials::new("LTAI5tExampleAccessKey", SECRET);
    let time = UNIX_EPOCH + Duration::from_secs(1_735_732_800);
    let req = SignableRequest::new("PUT", Some("examplebucket"), Some("dir/multipart.data"))
        .with_query(&QUERY)
        .with_headers(&HEADERS);
    let signed = Signer::new()
        .sign_v1_header(&req, &creds, time, &[])
        .unwrap();
    let mut headers: Vec<(&str, &str)> = HEADERS.to_vec();
    headers.extend(signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let incoming = VerifyRequest::new(
        "PUT",
        Some("examplebucket"),
        Some("dir/multipart.data"),
        "partNumber=7&uploadId=0004B9894A22E5B1888A1E29F823ABCD",
        &headers,
    );
    let verifier = Verifier::new("cn-hangzhou");
    // The bench is only meaningful if verification succeeds.
    verifier
        .verify(&incoming, |_| Some(SECRET.to_owned()), time)
        .unwrap();

    let mut g = c.benchmark_group("oss-auth");
    g.throughput(Throughput::Elements(1));
    g.bench_function("v1_verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&incoming), |_| Some(SECRET.to_owned()), time)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
