//! Uploads through a local forward proxy that counts what passes: plain HTTP in absolute form
//! with basic credentials, HTTPS through `CONNECT` to a TLS front of oss-local, and `NO_PROXY`
//! hosts connecting directly.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw: one entry per client connection, its first request line and its
/// `Proxy-Authorization` header.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A forward proxy on 127.0.0.1: `CONNECT host:port` opens a tunnel; any other request names
/// its target in absolute form and is relayed (with the rest of the connection) to it.
async fn forward_proxy() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or("").to_owned();
                let auth = text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("proxy-authorization: ")
                            .or_else(|| l.strip_prefix("Proxy-Authorization: "))
                    })
                    .map(str::to_owned);
                seen.lock().unwrap().push((line.clone(), auth));
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("");
                let target = parts.next().unwrap_or("");
                if method == "CONNECT" {
                    let Ok(mut up) = TcpStream::connect(target).await else {
                        return;
                    };
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                } else {
                    let authority = target
                        .strip_prefix("http://")
                        .and_then(|t| t.split('/').next())
                        .unwrap_or("");
                    let Ok(mut up) = TcpStream::connect(authority).await else {
                        return;
                    };
                    up.write_all(&head).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                }
            });
        }
    });
    (url, log)
}

fn localhost(endpoint: &str) -> String {
    endpoint.replace("127.0.0.1", "localhost")
}

async fn upload(client: &oss_multipart::Client, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(300_000, 9);
    let path = write_file(dir.path(), "f", &bytes);
    client
        .upload_file(BUCKET, key, &path)
        .part_size(102_400)
        .concurrency(2)
        .await
        .unwrap();
    assert_eq!(client.get_object(BUCKET, key).await.unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_goes_through_the_proxy_with_basic_auth() {
    let server = server().await;
    let (proxy, log) = forward_proxy().await;
    let with_auth = proxy.replace("http://", "http://user:p%40ss@");
    let client = oss_multipart::Client::builder()
        .endpoint(localhost(&server.endpoint()))
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .proxy(with_auth)
        .build()
        .unwrap();
    upload(&client, "via-proxy").await;
    let log = log.lock().unwrap().clone();
    assert!(!log.is_empty());
    for (line, auth) in &log {
        assert!(line.contains(" http://localhost:"), "absolute form: {line}");
        // base64("user:p@ss")
        assert_eq!(auth.as_deref(), Some("Basic dXNlcjpwQHNz"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_tunnelled_with_connect() {
    let server = server().await;
    let (endpoint, pem) = tls_front(server.addr()).await;
    let (proxy, log) = forward_proxy().await;
    let client = oss_multipart::Client::builder()
        .endpoint(&endpoint)
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .add_root_certificate_pem(pem.as_bytes())
        .proxy(proxy)
        .build()
        .unwrap();
    upload(&client, "via-tunnel").await;
    let log = log.lock().unwrap().clone();
    assert!(!log.is_empty());
    let port = endpoint.rsplit(':').next().unwrap();
    for (line, _) in &log {
        assert_eq!(line, &format!("CONNECT localhost:{port} HTTP/1.1"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_connect_directly() {
    let server = server().await;
    let (proxy, log) = forward_proxy().await;
    let client = oss_multipart::Client::builder()
        .endpoint(localhost(&server.endpoint()))
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .proxy(proxy)
        .no_proxy("example.com, localhost")
        .build()
        .unwrap();
    upload(&client, "direct").await;
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing went through the proxy"
    );
}
