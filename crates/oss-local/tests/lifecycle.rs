//! Server lifecycle and modes: graceful shutdown finishes in-flight requests, restart keeps
//! data, discard storage still enforces every rule, `--etag fast` is stable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::Duration;

use common::*;
use oss_local::{Config, EtagMode, FaultConfig, Server, StartError, StorageMode};

#[tokio::test]
async fn graceful_shutdown_completes_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut faults = FaultConfig::default();
    faults.latency = Duration::from_millis(300);
    let server = Server::start(config(dir.path()).with_faults(faults))
        .await
        .unwrap();
    let addr = server.addr();
    let in_flight = tokio::spawn(async move { req("PUT", "late").body("data").send(addr).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.shutdown().await;
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // New connections are refused after shutdown.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // Restart on the same directory: the object is there.
    let server = start(dir.path()).await;
    assert_eq!(req("GET", "late").send(server.addr()).await.body, b"data");
    server.shutdown().await;
}

#[tokio::test]
async fn temporary_data_dir_is_removed() {
    let server = Server::start(Config::new(AK, SK).with_bucket(BUCKET))
        .await
        .unwrap();
    let dir = server.data_dir().to_path_buf();
    assert!(dir.exists());
    req("PUT", "x").body("y").send(server.addr()).await;
    server.shutdown().await;
    assert!(!dir.exists());
}

#[tokio::test]
async fn start_errors_are_typed() {
    let err = Server::start(Config::new("", "")).await.unwrap_err();
    assert!(matches!(err, StartError::MissingCredentials));
    let err = Server::start(Config::new(AK, SK).with_bucket("Bad_Name"))
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::BucketName(_)));
    let taken = Server::start(Config::new(AK, SK)).await.unwrap();
    let err = Server::start(Config::new(AK, SK).with_listen(taken.addr()))
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Bind { .. }));
    taken.shutdown().await;
}

#[tokio::test]
async fn discard_storage_keeps_rules_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path()).with_storage(StorageMode::Discard))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "bench").await;
    let a = data(102_400, 1);
    let b = data(10, 2);
    let r = req("PUT", "bench")
        .q("partNumber", "1")
        .q("uploadId", &id)
        .h("content-md5", &md5_b64(b"not a"))
        .body(a.clone())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidDigest");
    let e1 = upload_part(addr, "bench", &id, 1, &a).await;
    let e2 = upload_part(addr, "bench", &id, 2, &b).await;
    assert_eq!(e1.trim_matches('"'), hex_md5(&a));
    let r = req("POST", "bench")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &e1), (2, &e2)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let whole = [a, b].concat();
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&whole).to_string()
    );
    // Bodies are gone (zeros of the right length), metadata is intact.
    let r = req("GET", "bench").send(addr).await;
    assert_eq!(r.body.len(), whole.len());
    assert!(r.body.iter().all(|b| *b == 0));
    // No part data was written anywhere.
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                assert!(!p.to_string_lossy().ends_with(".part"), "{}", p.display());
            }
        }
    }
    server.shutdown().await;
}

fn hex_md5(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode_upper(md5::Md5::digest(data))
}

#[tokio::test]
async fn fast_etags_are_stable_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path()).with_etag(EtagMode::Fast))
        .await
        .unwrap();
    let addr = server.addr();
    let id = initiate(addr, "f").await;
    let body = data(1000, 3);
    let e1 = upload_part(addr, "f", &id, 1, &body).await;
    let again = upload_part(addr, "f", &id, 1, &body).await;
    let other = upload_part(addr, "f", &id, 1, &data(1000, 4)).await;
    assert_eq!(e1, again);
    assert_ne!(e1, other);
    assert_eq!(e1.len(), 34);
    assert_eq!(e1, format!("\"{:016X}{:016X}\"", crc64(&body), body.len()));
    server.shutdown().await;
}

#[tokio::test]
async fn connection_count_is_bounded() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let mut limits = oss_local::Limits::default();
    limits.max_connections = 1;
    let server = Server::start(config(dir.path()).with_limits(limits))
        .await
        .unwrap();
    let addr = server.addr();
    // A connection with a request in progress (its body still arriving) holds the only slot...
    let mut holder = tokio::net::TcpStream::connect(addr).await.unwrap();
    holder
        .write_all(
            b"PUT /test-bucket/held HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...so a second client waits instead of being served: busy connections are never evicted.
    let waiting = tokio::spawn(async move { req("PUT", "queued").body("q").send(addr).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    drop(holder);
    let r = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // An idle connection, by contrast, makes room for a new client at once.
    let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = tokio::time::timeout(
        Duration::from_secs(3),
        req("PUT", "next").body("n").send(addr),
    )
    .await
    .expect("an idle connection kept the only slot");
    assert_eq!(r.status, 200, "{}", r.text());
    drop(idle);
    server.shutdown().await;
}
