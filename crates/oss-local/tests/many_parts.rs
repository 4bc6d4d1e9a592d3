//! Complete of 10,000 parts: fast (a manifest over the part files, no copy) and correct.
//! The 100 KB minimum part size is lowered through `Limits::min_part_size` so the test uploads
//! 10,000 tiny parts instead of 1 GB.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::Instant;

use common::*;
use oss_local::{Limits, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_ten_thousand_parts() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.min_part_size = 1;
    let server = Server::start(config(dir.path()).with_limits(limits))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "many").await;
    let part = |n: u32| format!("part-{n:05}|").into_bytes();
    let mut lanes = Vec::new();
    for lane in 0..16u32 {
        let id = id.clone();
        lanes.push(tokio::spawn(async move {
            let mut etags = Vec::new();
            for n in (1..=10_000u32).filter(|n| n % 16 == lane) {
                etags.push((n, upload_part(addr, "many", &id, n, &part(n)).await));
            }
            etags
        }));
    }
    let mut etags = Vec::new();
    for lane in lanes {
        etags.extend(lane.await.unwrap());
    }
    etags.sort();
    let refs: Vec<(u32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let body = complete_body(&refs);
    assert!(body.len() < 2 * 1024 * 1024);
    let t = Instant::now();
    let r = req("POST", "many")
        .q("uploadId", &id)
        .body(body)
        .send(addr)
        .await;
    let elapsed = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    println!("Complete of 10,000 parts: {elapsed:?}");
    assert!(elapsed.as_secs_f64() < 3.0, "{elapsed:?}");
    assert!(r.elem("ETag").unwrap().ends_with("-10000\""));
    let expected: Vec<u8> = (1..=10_000).flat_map(part).collect();
    let got = req("GET", "many").send(addr).await;
    assert_eq!(got.body.len(), expected.len());
    assert!(got.body == expected);
    assert_eq!(
        got.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&expected).to_string()
    );
    server.shutdown().await;
}

/// Throughput figure (run with `cargo test --release -p oss-local --test many_parts --
/// --ignored --nocapture`): 4 connections upload 8 MiB parts of a 256 MiB object to disk
/// (fsync on), then the object is read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, run in release"]
async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path()).with_fsync(true))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "big").await;
    let part = std::sync::Arc::new(data(8 * 1024 * 1024, 1));
    let t = Instant::now();
    let mut lanes = Vec::new();
    for lane in 0..4u32 {
        let (id, part) = (id.clone(), part.clone());
        lanes.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for n in (1..=32u32).filter(|n| n % 4 == lane) {
                out.push((n, upload_part(addr, "big", &id, n, &part).await));
            }
            out
        }));
    }
    let mut etags = Vec::new();
    for lane in lanes {
        etags.extend(lane.await.unwrap());
    }
    let up = t.elapsed();
    etags.sort();
    let refs: Vec<(u32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let r = req("POST", "big")
        .q("uploadId", &id)
        .body(complete_body(&refs))
        .send(addr)
        .await;
    assert_eq!(r.status, 200);
    let t = Instant::now();
    let got = req("GET", "big").send(addr).await;
    let down = t.elapsed();
    assert_eq!(got.body.len(), 256 * 1024 * 1024);
    println!(
        "upload 256 MiB: {:.0} MiB/s; download: {:.0} MiB/s",
        256.0 / up.as_secs_f64(),
        256.0 / down.as_secs_f64()
    );
    server.shutdown().await;
}
