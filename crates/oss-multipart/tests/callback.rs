//! Upload callbacks end to end against oss-local, which really POSTs to a callback server on
//! 127.0.0.1: the server receives the substituted variables, its reply comes back in
//! `UploadOutput::callback`, a failing callback is a success with a typed error and the object
//! kept, and a target oss-local may not call is refused before anything is stored. Multipart,
//! single PUT and the manual Complete.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use oss_multipart::{ObjectOptions, PartBody};

/// A callback server on 127.0.0.1 answering `status` + `reply` to every POST; each received
/// body is sent on the channel.
fn callback_server(status: u16, reply: &'static str) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = tx.send(String::from_utf8(body).unwrap());
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

fn callback_json(addr: impl std::fmt::Display) -> String {
    format!(
        r#"{{"callbackUrl":"http://{addr}/cb","callbackBody":"object=${{object}}&size=${{size}}&etag=${{etag}}&crc=${{crc64}}&who=${{x:who}}"}}"#
    )
}

fn field<'a>(body: &'a str, name: &str) -> &'a str {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} missing from {body}"))
}

#[tokio::test]
async fn uploads_return_the_callback_servers_reply() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let (cb, received) = callback_server(200, r#"{"accepted":true}"#);
    // Multipart (3 parts), then a single PUT.
    for (key, size, part_size) in [
        ("cb/multi", 250_000usize, 102_400u64),
        ("cb/single", 1_000, 8 << 20),
    ] {
        let path = write_file(dir.path(), "src", &data(size, 4));
        let out = client
            .upload_file(BUCKET, key, &path)
            .part_size(part_size)
            .callback(callback_json(cb))
            .callback_var(r#"{"x:who":"alice"}"#)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        assert_eq!(out.parts, if size > 200_000 { 3 } else { 1 }, "{key}");
        let reply = out.callback.expect("a callback reply");
        assert!(!reply.is_failed());
        let json: serde_json::Value = reply.json().unwrap();
        assert_eq!(json["accepted"], true);
        let body = received.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(field(&body, "object"), key.replace('/', "%2F"));
        assert_eq!(field(&body, "size"), size.to_string());
        assert_eq!(field(&body, "etag"), out.etag.trim_matches('"'));
        assert_eq!(field(&body, "crc"), out.crc64.to_string());
        assert_eq!(field(&body, "who"), "alice");
        let head = client.head_object(BUCKET, key).await.unwrap();
        assert_eq!(head.content_length, size as u64);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_failing_callback_is_a_success_with_a_typed_error_and_the_object_kept() {
    let server =
        server_with(local_config().with_callback_timeout(Duration::from_millis(500))).await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let (failing, _rx) = callback_server(500, r#"{"error":"boom"}"#);
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for target in [failing, down] {
        for (size, part_size) in [(250_000usize, 102_400u64), (1_000, 8 << 20)] {
            let key = format!("cb-failed/{}-{size}", target.port());
            let path = write_file(dir.path(), "src", &data(size, 5));
            let out = client
                .upload_file(BUCKET, &key, &path)
                .part_size(part_size)
                .callback(callback_json(target))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            let reply = out.callback.expect("a callback reply");
            let error = reply.error.as_ref().expect("the callback's error");
            assert_eq!(error.code(), "CallbackFailed");
            assert_eq!(error.status(), 203);
            assert_eq!(out.size, size as u64);
            let head = client.head_object(BUCKET, &key).await.unwrap();
            assert_eq!(
                head.content_length, size as u64,
                "{key}: the object is kept"
            );
            assert_eq!(head.crc64, Some(out.crc64));
        }
    }
    // Nothing was aborted, nothing leaked.
    use futures::TryStreamExt as _;
    let left: Vec<_> = client
        .list_uploads(BUCKET, Some("cb-failed/"))
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_target_oss_local_may_not_call_is_refused_and_nothing_is_stored() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    for (size, part_size) in [(250_000usize, 102_400u64), (1_000, 8 << 20)] {
        let key = format!("cb-refused/{size}");
        let path = write_file(dir.path(), "src", &data(size, 6));
        let err = client
            .upload_file(BUCKET, &key, &path)
            .part_size(part_size)
            .callback(callback_json("192.0.2.7:80"))
            .send()
            .await
            .expect_err("a disallowed callback target");
        let service = err.service_error().expect("a service error");
        assert_eq!(service.code(), "InvalidArgument", "{err}");
        assert!(client.head_object(BUCKET, &key).await.is_err());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_manual_complete_and_put_carry_the_reply() {
    let server = server().await;
    let client = client(&server.endpoint());
    let (cb, received) = callback_server(200, r#"{"manual":1}"#);
    let options = ObjectOptions::new()
        .with_callback(callback_json(cb))
        .with_callback_var(r#"{"x:who":"bob"}"#);
    let key = "cb/manual";
    let id = client
        .initiate_upload(BUCKET, key, &ObjectOptions::new())
        .await
        .unwrap()
        .upload_id;
    let body = data(102_400, 7);
    let part = client
        .upload_part(
            BUCKET,
            key,
            &id,
            1,
            PartBody::Bytes(body.clone().into()),
            &ObjectOptions::new(),
        )
        .await
        .unwrap();
    let done = client
        .complete_upload(BUCKET, key, &id, &[(1, part.etag)], &options)
        .await
        .unwrap();
    assert_eq!(done.status, 200);
    let reply = done.callback.expect("reply");
    assert_eq!(reply.json::<serde_json::Value>().unwrap()["manual"], 1);
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(field(&got, "who"), "bob");
    assert_eq!(field(&got, "size"), "102400");
    let put = client
        .put_object_with(BUCKET, "cb/manual-put", b"hello".to_vec(), &options)
        .await
        .unwrap();
    assert_eq!(
        put.callback.expect("reply").body,
        r#"{"manual":1}"#.as_bytes()
    );
    assert_eq!(
        field(
            &received.recv_timeout(Duration::from_secs(5)).unwrap(),
            "size"
        ),
        "5"
    );
    server.shutdown().await;
}
