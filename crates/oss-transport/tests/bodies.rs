//! Request bodies over a real connection: file ranges, chunk lists, streams; bytes and checksums must match.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use md5::Digest as _;
use oss_transport::{Client, Digests, FileRange, RequestBody};

fn temp_file(data: &[u8]) -> Arc<std::fs::File> {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    Arc::new(f)
}

fn put(url: String, body: RequestBody) -> http::Request<RequestBody> {
    http::Request::put(url).body(body).unwrap()
}

fn crc64_xz(data: &[u8]) -> u64 {
    oss_crc64::crc64(data)
}

#[test]
fn crc_reference_matches_the_check_value() {
    // The published check value of CRC-64/XZ: if the reference itself were wrong, every comparison below
    // would be meaningless.
    assert_eq!(crc64_xz(b"123456789"), 0x995D_C9BB_DF19_39FA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_range_streams_exact_bytes_with_crc_and_md5() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let data = common::pattern(5 * 1024 * 1024 + 17, 7);
    let file = temp_file(&data);
    // An odd offset and length, spanning many chunks, the last one short.
    let (offset, len) = (1_234_567usize, 3_000_001usize);
    let range = FileRange::new(file, offset as u64, len as u64).with_chunk_size(256 * 1024);
    assert_eq!(range.chunk_size(), 256 * 1024);
    let (body, digest) = RequestBody::file_range(range).digested(Digests::Crc64AndMd5);
    assert_eq!(body.len(), Some(len as u64));

    let resp = client
        .send_collect(put(server.url("http", "/part"), body), 8 * 1024 * 1024)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let expected = &data[offset..offset + len];
    assert_eq!(
        resp.headers()["x-seen-content-length"],
        len.to_string().as_str()
    );
    assert_eq!(resp.headers()["x-seen-chunked"], "no");
    assert!(
        resp.body().as_ref() == expected,
        "echoed bytes differ from the file range"
    );

    let d = digest
        .result()
        .expect("digest published after the body was sent");
    assert_eq!(d.len(), len as u64);
    assert_eq!(d.crc64(), Some(crc64_xz(expected)));
    let md5: [u8; 16] = md5::Md5::digest(expected).into();
    assert_eq!(d.md5(), Some(md5));
    assert_eq!(digest.bytes_produced(), len as u64);
}

#[tokio::test]
async fn file_range_known_vector() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let file = temp_file(b"xx123456789yy");
    let (body, digest) =
        RequestBody::file_range(FileRange::new(file, 2, 9)).digested(Digests::Crc64);
    let resp = client
        .send_collect(put(server.url("http", "/"), body), 1024)
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), b"123456789");
    assert_eq!(
        digest.result().and_then(|d| d.crc64()),
        Some(0x995D_C9BB_DF19_39FA)
    );
}

#[tokio::test]
async fn file_range_retry_with_a_new_body_gives_same_digest() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let data = common::pattern(700_000, 3);
    let range = FileRange::new(temp_file(&data), 100, 600_000);
    let mut crcs = Vec::new();
    for _ in 0..2 {
        let (body, digest) = RequestBody::file_range(range.clone()).digested(Digests::Crc64);
        client
            .send_collect(put(server.url("http", "/"), body), 1 << 20)
            .await
            .unwrap();
        crcs.push(digest.result().unwrap().crc64().unwrap());
    }
    assert_eq!(crcs[0], crcs[1]);
    assert_eq!(crcs[0], crc64_xz(&data[100..600_100]));
}

#[tokio::test]
async fn file_shorter_than_range_is_a_body_error() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let file = temp_file(&common::pattern(1000, 1));
    let (body, digest) =
        RequestBody::file_range(FileRange::new(file, 500, 1000)).digested(Digests::Crc64);
    let err = client
        .send(put(server.url("http", "/"), body))
        .await
        .unwrap_err();
    assert!(err.is_body(), "{err:?}");
    assert!(!err.body_fully_sent());
    assert!(digest.result().is_none());
}

#[tokio::test]
async fn chunk_list_is_sized_and_exact() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let parts: Vec<Bytes> = (0..5u8)
        .map(|i| Bytes::from(common::pattern(10_000 + usize::from(i), u64::from(i))))
        .collect();
    let expected: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let (body, digest) = RequestBody::from_chunks(parts).digested(Digests::Crc64);
    let resp = client
        .send_collect(put(server.url("http", "/"), body), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-seen-content-length"],
        expected.len().to_string().as_str()
    );
    assert!(resp.body().as_ref() == expected.as_slice());
    assert_eq!(digest.result().unwrap().crc64(), Some(crc64_xz(&expected)));
}

#[tokio::test]
async fn stream_without_length_is_sent_chunked() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let chunks = vec![
        Ok(Bytes::from_static(b"hello ")),
        Ok(Bytes::from_static(b"world")),
    ];
    let body = RequestBody::from_stream(futures::stream::iter(chunks), None);
    let resp = client
        .send_collect(put(server.url("http", "/"), body), 1024)
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-seen-chunked"], "yes");
    assert_eq!(resp.body().as_ref(), b"hello world");
}

#[tokio::test]
async fn stream_error_is_a_body_error() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let chunks = vec![
        Ok(Bytes::from_static(b"abc")),
        Err(std::io::Error::other("source broke")),
    ];
    let body = RequestBody::from_stream(futures::stream::iter(chunks), Some(10));
    let err = client
        .send(put(server.url("http", "/"), body))
        .await
        .unwrap_err();
    assert!(err.is_body(), "{err:?}");
    assert!(!err.body_fully_sent());
}

#[tokio::test]
async fn rate_limited_body_takes_time() {
    let server = common::echo_server().await;
    let client = Client::builder().build().unwrap();
    let limiter = oss_transport::RateLimiter::with_burst(1_000_000, std::time::Duration::ZERO);
    let range = FileRange::new(temp_file(&common::pattern(300_000, 9)), 0, 300_000)
        .with_chunk_size(64 * 1024);
    let start = std::time::Instant::now();
    let resp = client
        .send_collect(
            put(
                server.url("http", "/"),
                RequestBody::file_range(range).rate_limited(limiter),
            ),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(resp.body().len(), 300_000);
    // 300 kB at 1 MB/s: at least ~0.3 s.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
}
