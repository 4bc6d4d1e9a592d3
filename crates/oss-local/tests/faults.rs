//! Fault injection: 500/503 before or after storing, dropped connections, latency, bandwidth,
//! operation scoping and seed determinism.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use oss_local::{FaultConfig, FaultOp, Server};

fn faults(fault_rate: f64, drop_rate: f64, seed: u64) -> FaultConfig {
    let mut f = FaultConfig::default();
    f.fault_rate = fault_rate;
    f.drop_rate = drop_rate;
    f.seed = seed;
    f.ops = vec![FaultOp::UploadPart];
    f
}

async fn statuses(seed: u64) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path()).with_faults(faults(0.4, 0.2, seed)))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "k").await; // not targeted: always succeeds
    let mut out = Vec::new();
    for n in 1..=30u32 {
        let r = req("PUT", "k")
            .q("partNumber", &n.to_string())
            .q("uploadId", &id)
            .body(vec![7u8; 1000])
            .try_send(addr)
            .await;
        out.push(match r {
            Ok(r) => {
                if r.status != 200 {
                    r.assert_error(
                        r.status,
                        if r.status == 500 {
                            "InternalError"
                        } else {
                            "ServiceUnavailable"
                        },
                    );
                }
                r.status.to_string()
            }
            Err(_) => "dropped".to_owned(),
        });
    }
    // Faults after storing leave the part in place: ListParts (not targeted) sees more parts
    // than were acknowledged.
    let listed = req("GET", "k")
        .q("uploadId", &id)
        .send(addr)
        .await
        .elems("PartNumber")
        .len();
    let acked = out.iter().filter(|s| *s == "200").count();
    assert!(listed >= acked, "{listed} < {acked}");
    server.shutdown().await;
    out
}

#[tokio::test]
async fn faults_are_seeded_scoped_and_varied() {
    let a = statuses(42).await;
    let b = statuses(42).await;
    assert_eq!(a, b, "same seed, same faults");
    for kind in ["200", "500", "503", "dropped"] {
        assert!(a.iter().any(|s| s == kind), "{kind} never happened: {a:?}");
    }
    let c = statuses(7).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn fault_after_store_keeps_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path()).with_faults(faults(1.0, 0.0, 3)))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "k").await;
    let mut stored_despite_error = false;
    for n in 1..=20u32 {
        let r = req("PUT", "k")
            .q("partNumber", &n.to_string())
            .q("uploadId", &id)
            .body("x")
            .send(addr)
            .await;
        assert!(r.status == 500 || r.status == 503, "{}", r.status);
        let listed = req("GET", "k")
            .q("uploadId", &id)
            .send(addr)
            .await
            .elems("PartNumber");
        stored_despite_error |= listed.contains(&n.to_string());
    }
    assert!(stored_despite_error);
    server.shutdown().await;
}

#[tokio::test]
async fn latency_and_bandwidth() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FaultConfig::default();
    f.latency = Duration::from_millis(150);
    f.bandwidth = Some(400_000);
    let server = Server::start(config(dir.path()).with_faults(f))
        .await
        .unwrap();
    let addr = server.addr();
    let t = Instant::now();
    req("GET", "missing")
        .send(addr)
        .await
        .assert_error(404, "NoSuchKey");
    assert!(t.elapsed() >= Duration::from_millis(150));
    let body = data(200_000, 1);
    let t = Instant::now();
    assert_eq!(
        req("PUT", "o").body(body.clone()).send(addr).await.status,
        200
    );
    // 200 KB at 400 KB/s: at least ~0.5 s minus the first chunk.
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(req("GET", "o").send(addr).await.body, body);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn slow_connections_are_slower_by_the_factor() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FaultConfig::default();
    f.latency = Duration::from_millis(40);
    f.slow_conn_rate = 0.5;
    f.slow_factor = 10;
    f.seed = 3;
    let server = Server::start(config(dir.path()).with_faults(f))
        .await
        .unwrap();
    let addr = server.addr();
    // One request per connection, one after the other: with a rate of 1/2 and seed 3, the
    // second connection of every pair is slow (400 ms of latency instead of 40).
    let mut slow = Vec::new();
    for _ in 0..8 {
        let t = Instant::now();
        req("GET", "missing")
            .send(addr)
            .await
            .assert_error(404, "NoSuchKey");
        let elapsed = t.elapsed();
        assert!(elapsed >= Duration::from_millis(40), "{elapsed:?}");
        slow.push(elapsed >= Duration::from_millis(400));
    }
    let odd = slow.iter().skip(1).step_by(2).all(|s| *s);
    assert!(odd, "the odd connections were not all slow: {slow:?}");
    assert!(
        slow.iter().any(|s| !s),
        "every connection was slow: {slow:?}"
    );
    server.shutdown().await;
}
