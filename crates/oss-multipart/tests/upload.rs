//! Uploads against an in-process `oss-local`: file and stream sources, round-tripped bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_file_upload_round_trips() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_234_567, 1);
    let path = write_file(dir.path(), "f.bin", &bytes);
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let out = client
        .upload_file(BUCKET, "dir/with space/ü.bin", &path)
        .part_size(200 * 1024)
        .concurrency(3)
        .content_type("application/x-test")
        .metadata("origin", "test")
        .progress(move |p| {
            assert!(p.bytes_done <= 1_234_567);
            c.fetch_add(1, Ordering::Relaxed);
        })
        .send()
        .await
        .unwrap();
    assert_eq!(out.size, 1_234_567);
    assert_eq!(out.parts, 7);
    assert!(out.upload_id.is_some());
    assert!(!out.resumed);
    assert_eq!(out.crc64, oss_multipart_core::crc64(&bytes));
    assert!(calls.load(Ordering::Relaxed) >= 7);
    let got = client
        .get_object(BUCKET, "dir/with space/ü.bin")
        .await
        .unwrap();
    assert!(got == bytes, "downloaded bytes differ");
    let head = client
        .head_object(BUCKET, "dir/with space/ü.bin")
        .await
        .unwrap();
    assert_eq!(head.content_length, 1_234_567);
    assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
    assert!(
        head.metadata
            .iter()
            .any(|(k, v)| k == "origin" && v == "test")
    );
    // No upload is left behind.
    use futures::TryStreamExt as _;
    let left: Vec<_> = client
        .list_uploads(BUCKET, None)
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_file_goes_up_in_one_put() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(5000, 2);
    let path = write_file(dir.path(), "small.bin", &bytes);
    let out = client.upload_file(BUCKET, "small", &path).await.unwrap();
    assert_eq!(
        (out.size, out.parts, out.upload_id.clone()),
        (5000, 1, None)
    );
    assert!(out.request_id.is_some());
    assert_eq!(client.get_object(BUCKET, "small").await.unwrap(), bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_upload_round_trips_with_bounded_buffers() {
    let server = server().await;
    let client = client(&server.endpoint());
    let bytes = data(1_000_003, 3);
    // A reader that returns small, irregular reads, as a pipe would.
    let reader = tokio::io::BufReader::with_capacity(777, std::io::Cursor::new(bytes.clone()));
    let out = client
        .upload_stream(BUCKET, "streamed", reader)
        .part_size(102_400)
        .concurrency(2)
        .send()
        .await
        .unwrap();
    assert_eq!(out.size, 1_000_003);
    assert!(out.parts >= 2);
    assert_eq!(out.crc64, oss_multipart_core::crc64(&bytes));
    assert_eq!(client.get_object(BUCKET, "streamed").await.unwrap(), bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_stream_and_empty_file() {
    let server = server().await;
    let client = client(&server.endpoint());
    let out = client
        .upload_stream(BUCKET, "empty-stream", tokio::io::empty())
        .send()
        .await
        .unwrap();
    assert_eq!(out.size, 0);
    assert!(
        client
            .get_object(BUCKET, "empty-stream")
            .await
            .unwrap()
            .is_empty()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "e", b"");
    let out = client
        .upload_file(BUCKET, "empty-file", &path)
        .await
        .unwrap();
    assert_eq!(out.size, 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_overwrite_is_a_service_error() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f", &data(300_000, 4));
    client
        .upload_file(BUCKET, "once", &path)
        .part_size(102_400)
        .await
        .unwrap();
    let err = client
        .upload_file(BUCKET, "once", &path)
        .part_size(102_400)
        .forbid_overwrite(true)
        .await
        .unwrap_err();
    let se = err.service_error().expect("service error");
    assert_eq!(se.code(), "FileAlreadyExists");
    assert!(!err.is_retryable());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_an_auth_error_and_never_leaks() {
    let server = server().await;
    let client = oss_multipart::Client::builder()
        .endpoint(server.endpoint())
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(
            AK,
            "definitely-wrong-secret",
        ))
        .addressing(oss_multipart::Addressing::Path)
        .build()
        .unwrap();
    let err = client
        .put_object(BUCKET, "k", vec![1u8; 10])
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert_eq!(err.service_error().unwrap().code(), "SignatureDoesNotMatch");
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains("definitely-wrong-secret"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_signatures_work_too() {
    let server = server().await;
    let client = oss_multipart::Client::builder()
        .endpoint(server.endpoint())
        .signature_version(oss_multipart::SignatureVersion::V1)
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(250_000, 5);
    let path = write_file(dir.path(), "f", &bytes);
    client
        .upload_file(BUCKET, "v1/key", &path)
        .part_size(102_400)
        .await
        .unwrap();
    assert_eq!(client.get_object(BUCKET, "v1/key").await.unwrap(), bytes);
    server.shutdown().await;
}
