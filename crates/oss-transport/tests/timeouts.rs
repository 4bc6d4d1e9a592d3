//! Stalling servers must surface as `is_timeout()` errors, with the right "body fully sent" answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use oss_transport::{Client, RequestBody};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const SHORT: Duration = Duration::from_millis(300);

fn get(url: String) -> http::Request<RequestBody> {
    http::Request::get(url).body(RequestBody::empty()).unwrap()
}

/// Reads the request head and then says nothing.
async fn silent_after_request(mut sock: tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = sock.read(&mut buf).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn server_never_answering_is_a_read_timeout() {
    let server = common::raw_server(silent_after_request).await;
    let client = Client::builder()
        .connect_timeout(SHORT)
        .read_timeout(SHORT)
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client.send(get(server.url("http", "/"))).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_connect());
    // An empty body is fully sent as soon as the head is.
    assert!(err.body_fully_sent());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn overall_request_timeout() {
    let server = common::raw_server(silent_after_request).await;
    let client = Client::builder()
        .read_timeout(None)
        .request_timeout(SHORT)
        .build()
        .unwrap();
    let err = client.send(get(server.url("http", "/"))).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The per-clone override applies too.
    let err = client
        .with_request_timeout(Duration::from_millis(100))
        .send(get(server.url("http", "/")))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn server_not_reading_the_upload_is_a_timeout_before_the_body_is_sent() {
    // Accepts and never reads: the socket buffers fill and the body stops being polled.
    let server = common::raw_server(|sock| async move {
        let _keep_open = sock;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = Client::builder().read_timeout(SHORT).build().unwrap();
    let body = RequestBody::from_chunks((0..64).map(|_| Bytes::from(vec![0u8; 1 << 20])));
    let req = http::Request::put(server.url("http", "/"))
        .body(body)
        .unwrap();
    let start = Instant::now();
    let err = client.send(req).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        !err.body_fully_sent(),
        "64 MiB cannot have fit in socket buffers"
    );
    // Body progress ends the connect grace: the stall is detected after the read timeout, not after
    // connect timeout + read timeout.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn slow_but_steady_upload_is_not_a_read_timeout() {
    // The idle clock is reset by body progress, so an upload longer than the read timeout still succeeds.
    let server = common::echo_server().await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let limiter = oss_transport::RateLimiter::with_burst(400_000, Duration::ZERO);
    let body = RequestBody::from_chunks((0..8).map(|_| Bytes::from(vec![1u8; 50_000])))
        .rate_limited(limiter);
    let req = http::Request::put(server.url("http", "/"))
        .body(body)
        .unwrap();
    let start = Instant::now();
    let resp = client.send_collect(req, 1 << 20).await.unwrap();
    assert_eq!(resp.body().len(), 400_000);
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn response_body_stalling_is_a_read_timeout() {
    let server = common::raw_server(|mut sock| async move {
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = Client::builder().read_timeout(SHORT).build().unwrap();
    let resp = client.send(get(server.url("http", "/"))).await.unwrap();
    let mut body = resp.into_body();
    assert_eq!(body.chunk().await.unwrap().as_deref(), Some(&b"ab"[..]));
    let err = body.chunk().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.body_fully_sent());
}

#[tokio::test]
async fn tls_handshake_stall_is_a_connect_timeout() {
    // A TCP server that never speaks TLS: the TCP connect succeeds, the handshake hangs.
    let server = common::raw_server(silent_after_request).await;
    let client = Client::builder()
        .connect_timeout(SHORT)
        .read_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client
        .send(get(server.url("https", "/")))
        .await
        .unwrap_err();
    assert!(err.is_timeout() && err.is_connect(), "{err:?}");
    assert!(!err.body_fully_sent());
    assert!(start.elapsed() < Duration::from_secs(5));
}
