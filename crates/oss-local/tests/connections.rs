//! Idle and half-sent connections must not lock other clients out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GET_SERVICE: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Sends one request on a fresh connection and reads its (short) answer; returns the
/// connection, kept open (keep-alive), or `None` when no answer came within a second.
async fn request_and_keep(addr: SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(GET_SERVICE).await.ok()?;
    let mut buf = [0u8; 8192];
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
    matches!(read, Ok(Ok(n)) if n > 0).then_some(stream)
}

/// The status line a brand-new client gets, and how long it took.
async fn fresh_client(addr: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(GET_SERVICE).await.unwrap();
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf))
        .await
        .expect("no answer within 15 s")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_do_not_stall_a_new_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path()).await;
    let addr = server.addr();

    // 300 keep-alive connections that finished a request and now sit idle (more than the
    // 256 slots of a default server), then 300 that send half a request head and stall.
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Some(stream) = request_and_keep(addr).await {
            held.push(stream);
        }
    }
    // A default server serves the first 256 without waiting; the rest only if idle ones made
    // room.
    assert!(
        held.len() > 256,
        "only {} idle clients were served",
        held.len()
    );
    for _ in 0..300 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"PUT /test-bucket/stalled HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            .await
            .unwrap();
        held.push(stream);
    }

    let (status, took) = fresh_client(addr).await;
    assert!(status.starts_with("HTTP/1.1 "), "got {status:?}");
    assert!(
        took < Duration::from_secs(5),
        "a new client waited {took:?} behind idle and half-sent connections"
    );
    drop(held);
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_request_head_is_cut_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.limits.header_read_timeout = Duration::from_secs(1);
    let server = oss_local::Server::start(config).await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 1")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    // The server closes the connection (EOF or reset) instead of waiting for the rest.
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("the stalled connection was still open after 10 s");
    assert!(
        matches!(closed, Ok(0) | Err(_))
            || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        "unexpected answer {closed:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut after {:?}",
        started.elapsed()
    );
    // An idle keep-alive connection is not cut by the header timeout.
    let mut idle = request_and_keep(server.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    idle.write_all(GET_SERVICE).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 "));
    server.shutdown().await;
}

#[tokio::test]
async fn a_get_that_declares_a_body_it_never_sends_is_answered_at_once() {
    // A presigned GET signed with `Content-Length: 9` (as oss2's tests send it) carries that
    // header but no body: the answer must not wait for the nine bytes.
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path()).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /test-bucket/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .expect("the GET waited for a body")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 403"));
    server.shutdown().await;
}
