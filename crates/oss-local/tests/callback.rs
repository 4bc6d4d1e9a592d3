//! Upload callbacks: oss-local POSTs the filled-in body to a callback server on 127.0.0.1 and
//! answers with its reply (200), or with 203 CallbackFailed while keeping the object; a
//! malformed description or a target outside the allow list is refused before anything is
//! stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use oss_local::{CallbackTarget, Server};

/// One request the callback server received.
#[derive(Debug)]
struct Received {
    request_line: String,
    host: String,
    content_type: String,
    body: String,
}

/// A callback server on 127.0.0.1 that records each request and answers `status` + `reply`.
fn callback_server(status: u16, reply: &'static str) -> (SocketAddr, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut host, mut content_type, mut length) = (String::new(), String::new(), 0);
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "host" => host = value.trim().to_owned(),
                    "content-type" => content_type = value.trim().to_owned(),
                    "content-length" => length = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = tx.send(Received {
                request_line: request_line.trim_end().to_owned(),
                host,
                content_type,
                body: String::from_utf8(body).unwrap(),
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (addr, rx)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn b64(text: &str) -> String {
    B64.encode(text)
}

fn form_callback(url: &str) -> String {
    b64(&format!(
        r#"{{"callbackUrl":"{url}","callbackHost":"cb.test","callbackBody":"bucket=${{bucket}}&object=${{object}}&etag=${{etag}}&size=${{size}}&mimeType=${{mimeType}}&crc64=${{crc64}}&var=${{x:var}}"}}"#
    ))
}

#[tokio::test]
async fn put_object_calls_back_and_returns_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let (cb, received) = callback_server(200, r#"{"ok":true}"#);
    let data = data(1000, 3);
    let r = req("PUT", "dir/cb 1.txt")
        .h("content-type", "text/plain")
        .h(
            "x-oss-callback",
            &form_callback(&format!("http://{cb}/notify?a=1")),
        )
        .h("x-oss-callback-var", &b64(r#"{"x:var":"v&1"}"#))
        .body(data.clone())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"ok":true}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        Some(crc64(&data).to_string().as_str())
    );
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got.request_line, "POST /notify?a=1 HTTP/1.1");
    assert_eq!(got.host, "cb.test");
    assert_eq!(got.content_type, "application/x-www-form-urlencoded");
    assert_eq!(
        got.body,
        format!(
            "bucket={BUCKET}&object=dir%2Fcb%201.txt&etag={}&size=1000&mimeType=text%2Fplain\
             &crc64={}&var=v%261",
            etag.trim_matches('"'),
            crc64(&data)
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn complete_calls_back_with_a_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let (cb, received) = callback_server(200, r#"{"stored":"yes"}"#);
    let key = "multi/cb.bin";
    let id = initiate(addr, key).await;
    let (a, b) = (data(102_400, 1), data(10, 2));
    let e1 = upload_part(addr, key, &id, 1, &a).await;
    let e2 = upload_part(addr, key, &id, 2, &b).await;
    let callback = b64(&format!(
        r#"{{"callbackUrl":"http://{cb}/","callbackBody":"{{\"object\":${{object}},\"size\":${{size}},\"crc\":${{crc64}},\"v\":${{x:v}}}}","callbackBodyType":"application/json"}}"#
    ));
    let r = req("POST", key)
        .q("uploadId", &id)
        .h("x-oss-callback", &callback)
        .h("x-oss-callback-var", &b64(r#"{"x:v":"q\"w"}"#))
        .body(complete_body(&[(1, &e1), (2, &e2)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"stored":"yes"}"#);
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.host, cb.to_string());
    let body: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    let whole = [a, b].concat();
    assert_eq!(body["object"], key);
    assert_eq!(body["size"], 102_410);
    assert_eq!(body["crc"].as_u64(), Some(crc64(&whole)));
    assert_eq!(body["v"], "q\"w");
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_callback_answers_203_and_keeps_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(config(dir.path()).with_callback_timeout(Duration::from_millis(300)))
            .await
            .unwrap();
    let addr = server.addr();
    let (status_500, _rx1) = callback_server(500, r#"{"no":1}"#);
    let (not_json, _rx2) = callback_server(200, "plain text");
    // A server that accepts and never answers: the timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let down = format!("127.0.0.1:{}", closed_port());
    for (n, url) in [
        format!("http://{status_500}/"),
        format!("http://{not_json}/"),
        format!("http://{silent_addr}/"),
        format!("http://{down}/"),
    ]
    .iter()
    .enumerate()
    {
        let key = format!("failed/{n}");
        let data = data(100, n as u8);
        let r = req("PUT", &key)
            .h("x-oss-callback", &form_callback(url))
            .body(data.clone())
            .send(addr)
            .await;
        r.assert_error(203, "CallbackFailed");
        assert!(r.header("etag").is_some(), "{url}");
        assert_eq!(
            r.header("x-oss-hash-crc64ecma"),
            Some(crc64(&data).to_string().as_str())
        );
        let head = req("HEAD", &key).send(addr).await;
        assert_eq!(head.status, 200, "{url}: the object is kept");
        assert_eq!(head.header("etag"), r.header("etag"));
    }
    // Several URLs: the first that answers wins.
    let (good, received) = callback_server(200, r#"{"second":true}"#);
    let r = req("PUT", "failed/then-ok")
        .h(
            "x-oss-callback",
            &form_callback(&format!("http://{down};http://{good}/x")),
        )
        .body(b"abc".to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"second":true}"#);
    assert!(received.recv_timeout(Duration::from_secs(5)).is_ok());
    drop(silent);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_or_disallowed_callbacks_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(config(dir.path()).with_callback_allow(CallbackTarget::host("cb.example")))
            .await
            .unwrap();
    let addr = server.addr();
    let (cb, received) = callback_server(200, "{}");
    let key = "refused/obj";
    for callback in [
        // Loopback is no longer allowed once an allow list is given.
        form_callback(&format!("http://{cb}/")),
        form_callback("http://192.0.2.1/"),
        b64("not json"),
        b64(r#"{"callbackUrl":"http://cb.example/"}"#),
        "***".to_owned(),
    ] {
        let r = req("PUT", key)
            .h("x-oss-callback", &callback)
            .body(b"data".to_vec())
            .send(addr)
            .await;
        r.assert_error(400, "InvalidArgument");
        assert_eq!(req("HEAD", key).send(addr).await.status, 404);
    }
    // Header and query form together.
    let r = req("PUT", key)
        .h("x-oss-callback", &form_callback("http://cb.example/"))
        .q("callback", &form_callback("http://cb.example/"))
        .body(b"data".to_vec())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    // Complete refused: the upload is still there and completes afterwards.
    let id = initiate(addr, key).await;
    let e1 = upload_part(addr, key, &id, 1, b"part").await;
    let r = req("POST", key)
        .q("uploadId", &id)
        .h("x-oss-callback", &form_callback("http://10.1.2.3/"))
        .body(complete_body(&[(1, &e1)]))
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    assert_eq!(req("HEAD", key).send(addr).await.status, 404);
    let r = req("POST", key)
        .q("uploadId", &id)
        .body(complete_body(&[(1, &e1)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(received.try_recv().is_err(), "no callback was sent");
    server.shutdown().await;
}

#[tokio::test]
async fn the_query_form_works_on_presigned_style_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let (cb, received) = callback_server(200, r#"{"q":1}"#);
    let r = req("PUT", "query/cb")
        .q("callback", &form_callback(&format!("http://{cb}/")))
        .q("callback-var", &b64(r#"{"x:var":"qv"}"#))
        .body(b"xyz".to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"q":1}"#);
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(got.body.ends_with("&var=qv"), "{}", got.body);
    server.shutdown().await;
}

#[tokio::test]
async fn an_allowed_name_can_be_mapped_to_a_local_address_without_a_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let (cb, received) = callback_server(200, r#"{"mapped":true}"#);
    let target = CallbackTarget::host_port("callback.example.com", 80).connecting_to(cb);
    let server = Server::start(config(dir.path()).with_callback_allow(target))
        .await
        .unwrap();
    let r = req("PUT", "mapped")
        .h(
            "x-oss-callback",
            &b64(r#"{"callbackUrl":"http://callback.example.com/hook","callbackBody":"k=${object}"}"#),
        )
        .body(b"m".to_vec())
        .send(server.addr())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"mapped":true}"#);
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got.request_line, "POST /hook HTTP/1.1");
    assert_eq!(got.host, "callback.example.com");
    assert_eq!(got.body, "k=mapped");
    server.shutdown().await;
}
