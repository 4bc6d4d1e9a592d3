//! Pooling, response bounds, streamed responses and connect failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::Duration;

use oss_transport::{Client, RequestBody, RetireSlowConnections};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn get(url: String) -> http::Request<RequestBody> {
    http::Request::get(url).body(RequestBody::empty()).unwrap()
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    for i in 0..10 {
        let body = RequestBody::from_bytes(format!("request {i}"));
        let req = http::Request::put(server.url("http", "/"))
            .body(body)
            .unwrap();
        // Clones share the pool.
        let resp = client.clone().send_collect(req, 1024).await.unwrap();
        assert_eq!(resp.body().as_ref(), format!("request {i}").as_bytes());
    }
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn streamed_response_is_reused_once_drained() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    for _ in 0..3 {
        let resp = client
            .send(get(server.url("http", "/big/3000000")))
            .await
            .unwrap();
        let mut body = resp.into_body();
        let mut total = 0;
        while let Some(chunk) = body.chunk().await.unwrap() {
            assert!(chunk.iter().all(|&b| b == b'x'));
            total += chunk.len();
        }
        assert_eq!(total, 3_000_000);
        assert_eq!(body.bytes_received(), 3_000_000);
    }
    assert_eq!(server.accepted(), 1);
}

/// Sends `times` requests to `url`, each carrying the slow-connection bound `bound`, and
/// returns the connections the server has accepted by then.
async fn send_retiring(
    client: &Client,
    server: &common::Server,
    url: &str,
    bound: Option<Duration>,
    times: usize,
) -> usize {
    let retire = RetireSlowConnections::default();
    retire.set(bound);
    for _ in 0..times {
        let mut req = get(url.to_owned());
        req.extensions_mut().insert(retire.clone());
        client.send_collect(req, 1024).await.unwrap();
    }
    server.accepted()
}

#[tokio::test]
async fn a_connection_slower_than_its_request_allows_is_not_reused() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let url = server.url("http", "/slow/60");
    let slow = Some(Duration::from_millis(20));
    assert_eq!(send_retiring(&client, &server, &url, slow, 3).await, 3);
    // Within the bound, or with none, the connection is reused.
    let within = Some(Duration::from_secs(30));
    assert_eq!(send_retiring(&client, &server, &url, within, 3).await, 4);
    assert_eq!(send_retiring(&client, &server, &url, None, 3).await, 4);
}

#[tokio::test]
async fn the_bound_is_read_when_the_exchange_ends() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let url = server.url("http", "/slow/60");
    for round in 1..=2 {
        let retire = RetireSlowConnections::default();
        let mut req = get(url.clone());
        req.extensions_mut().insert(retire.clone());
        let sent = client.send_collect(req, 1024);
        let set_late = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            // Learned while the request was in flight.
            retire.set(Some(Duration::from_millis(20)));
        };
        let (resp, ()) = tokio::join!(sent, set_late);
        resp.unwrap();
        assert_eq!(server.accepted(), round);
    }
}

/// Answers every request on the connection with a head at once and its 5-byte body 60 ms later.
async fn slow_body(mut sock: tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
        if sock.write_all(answer).await.is_err() || sock.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        if sock.write_all(b"hello").await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_slow_response_body_retires_its_connection_at_its_end() {
    let server = common::raw_server(slow_body).await;
    let client = Client::builder().build().unwrap();
    let url = server.url("http", "/");
    // The head comes in time, the body does not.
    let slow = Some(Duration::from_millis(30));
    assert_eq!(send_retiring(&client, &server, &url, slow, 2).await, 2);
    let within = Some(Duration::from_secs(30));
    assert_eq!(send_retiring(&client, &server, &url, within, 2).await, 3);
}

#[tokio::test]
async fn concurrent_requests_open_parallel_connections_then_reuse_them() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    for _round in 0..3 {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                let url = server.url("http", "/big/200000");
                tokio::spawn(async move {
                    client
                        .send_collect(get(url), 1 << 20)
                        .await
                        .unwrap()
                        .into_body()
                        .len()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200_000);
        }
    }
    let n = server.accepted();
    assert!(
        (1..=4).contains(&n),
        "accepted {n} connections for 4 concurrent streams over 3 rounds"
    );
}

#[tokio::test]
async fn response_over_the_bound_is_too_large() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    // Declared by Content-Length.
    let err = client
        .send_collect(get(server.url("http", "/big/1000")), 999)
        .await
        .unwrap_err();
    assert!(err.is_response_too_large(), "{err:?}");
    let ok = client
        .send_collect(get(server.url("http", "/big/1000")), 1000)
        .await
        .unwrap();
    assert_eq!(ok.body().len(), 1000);
}

#[tokio::test]
async fn chunked_response_over_the_bound_is_too_large() {
    // No Content-Length: the bound must be enforced while reading.
    let server = common::raw_server(|mut sock| async move {
        let mut buf = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
        let mut resp = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..10 {
            resp.extend_from_slice(b"64\r\n");
            resp.extend_from_slice(&[b'y'; 100]);
            resp.extend_from_slice(b"\r\n");
        }
        resp.extend_from_slice(b"0\r\n\r\n");
        let _ = sock.write_all(&resp).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let client = Client::builder().build().unwrap();
    let err = client
        .send_collect(get(server.url("http", "/")), 550)
        .await
        .unwrap_err();
    assert!(err.is_response_too_large(), "{err:?}");
    assert!(err.body_fully_sent());
    let ok = client
        .send_collect(get(server.url("http", "/")), 1000)
        .await
        .unwrap();
    assert_eq!(ok.body().len(), 1000);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder().build().unwrap();
    let err = client
        .send(get(format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_timeout() && !err.is_tls() && !err.body_fully_sent());
}

#[tokio::test]
async fn server_closing_mid_response_is_io() {
    let server = common::raw_server(|mut sock| async move {
        let mut buf = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly a few")
            .await;
    })
    .await;
    let client = Client::builder().build().unwrap();
    let err = client
        .send_collect(get(server.url("http", "/")), 1000)
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
    assert!(!err.is_connect());
}

#[tokio::test]
async fn relative_or_foreign_uris_are_invalid_requests() {
    let client = Client::builder().https_only(true).build().unwrap();
    for uri in ["/just/a/path", "ftp://127.0.0.1/", "http://127.0.0.1:1/"] {
        let req = http::Request::get(uri).body(RequestBody::empty()).unwrap();
        let err = client.send(req).await.unwrap_err();
        assert!(err.is_invalid_request(), "{uri}: {err:?}");
    }
}

#[test]
fn public_types_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send_sync::<oss_transport::TransportError>();
    send_sync::<oss_transport::DigestHandle>();
    send_sync::<oss_transport::RateLimiter>();
    send_sync::<oss_transport::FileRange>();
    send::<RequestBody>();
    send::<oss_transport::ResponseBody>();
}
