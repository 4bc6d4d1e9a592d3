//! Resume from a checkpoint after a dropped future, from server state, cancellation, abort.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::TryStreamExt as _;
use oss_model::{BucketName, ObjectKey, PartNumber};
use oss_multipart::ops::{InitiateMultipartUpload, UploadPart};
use oss_multipart::{CancellationToken, FailurePolicy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_resumes_from_its_checkpoint() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let cp_dir = dir.path().join("cp");
    let bytes = data(2_000_000, 10);
    let path = write_file(dir.path(), "f.bin", &bytes);

    // First run: dropped (not cancelled) once 3 parts are confirmed.
    let three = Arc::new(tokio::sync::Notify::new());
    let n = three.clone();
    let first = client
        .upload_file(BUCKET, "resumed.bin", &path)
        .part_size(102_400)
        .concurrency(2)
        .checkpoint_dir(&cp_dir)
        .progress(move |p| {
            if p.parts_done >= 3 {
                n.notify_one();
            }
        })
        .send();
    tokio::select! {
        r = first => panic!("finished too early: {r:?}"),
        () = three.notified() => {}
    }
    // The future is dropped here; with a checkpoint dir the parts are kept.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let saved: Vec<_> = std::fs::read_dir(&cp_dir).unwrap().collect();
    assert_eq!(saved.len(), 1, "one checkpoint file");
    let uploads: Vec<_> = client
        .list_uploads(BUCKET, Some("resumed"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1, "the upload was kept");

    // Second run of the same upload resumes automatically.
    let out = client
        .upload_file(BUCKET, "resumed.bin", &path)
        .part_size(102_400)
        .concurrency(2)
        .checkpoint_dir(&cp_dir)
        .send()
        .await
        .unwrap();
    assert!(out.resumed);
    assert!(out.parts_reused >= 3, "reused {}", out.parts_reused);
    assert_eq!(
        out.upload_id.as_deref(),
        Some(uploads[0].upload_id.as_str())
    );
    assert_eq!(
        client.get_object(BUCKET, "resumed.bin").await.unwrap(),
        bytes
    );
    assert_eq!(
        std::fs::read_dir(&cp_dir).unwrap().count(),
        0,
        "checkpoint removed after success"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_upload_keeps_a_checkpoint_and_resume_finishes_it() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_000_000, 11);
    let path = write_file(dir.path(), "f.bin", &bytes);
    let token = CancellationToken::new();
    let t = token.clone();
    let err = client
        .upload_file(BUCKET, "cancelled", &path)
        .part_size(102_400)
        .concurrency(1)
        .checkpoint_dir(dir.path())
        .progress(move |p| {
            if p.parts_done >= 2 {
                t.cancel();
            }
        })
        .cancellation(token)
        .await
        .unwrap_err();
    assert!(err.is_cancelled());
    assert!(err.is_resumable());
    let cp = err.checkpoint_path().unwrap().to_path_buf();
    assert!(cp.exists());
    let out = client.resume(&cp, &path).await.unwrap();
    assert!(out.resumed && out.parts_reused >= 2);
    assert_eq!(client.get_object(BUCKET, "cancelled").await.unwrap(), bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_upload_without_checkpoint_is_aborted() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", &data(800_000, 12));
    let token = CancellationToken::new();
    let t = token.clone();
    let err = client
        .upload_file(BUCKET, "aborted", &path)
        .part_size(102_400)
        .concurrency(1)
        .progress(move |p| {
            if p.parts_done >= 1 {
                t.cancel();
            }
        })
        .cancellation(token)
        .await
        .unwrap_err();
    assert!(err.is_cancelled() && !err.is_resumable());
    let left: Vec<_> = client
        .list_uploads(BUCKET, None)
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "aborted on cancel: {left:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_without_checkpoint_is_aborted_in_the_background() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", &data(800_000, 13));
    let one = Arc::new(tokio::sync::Notify::new());
    let n = one.clone();
    let fut = client
        .upload_file(BUCKET, "dropped", &path)
        .part_size(102_400)
        .concurrency(1)
        .progress(move |p| {
            if p.parts_done >= 1 {
                n.notify_one();
            }
        })
        .send();
    tokio::select! {
        r = fut => panic!("finished too early: {r:?}"),
        () = one.notified() => {}
    }
    // The best-effort abort runs on the runtime shortly after the drop.
    let mut left = 1;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let l: Vec<_> = client
            .list_uploads(BUCKET, None)
            .try_collect()
            .await
            .unwrap();
        left = l.len();
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "the dropped upload was aborted");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_server_state_reuses_uploaded_parts() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(700_000, 14);
    let path = write_file(dir.path(), "f.bin", &bytes);
    let (b, k) = (
        BucketName::new(BUCKET).unwrap(),
        ObjectKey::new("from-server").unwrap(),
    );
    // Another process started the upload and sent parts 1 and 2 (each operation alone).
    let init = client
        .send(InitiateMultipartUpload::new(b.clone(), k.clone()))
        .await
        .unwrap();
    for n in 1..=2u32 {
        let off = (n as usize - 1) * 204_800;
        let op = UploadPart::new(
            b.clone(),
            k.clone(),
            init.upload_id.clone(),
            PartNumber::new(n).unwrap(),
        );
        let out = client
            .send_with_body(
                op,
                bytes::Bytes::copy_from_slice(&bytes[off..off + 204_800]),
            )
            .await
            .unwrap();
        assert_eq!(
            out.crc64,
            Some(oss_multipart_core::crc64(&bytes[off..off + 204_800]))
        );
    }
    let parts: Vec<_> = client
        .list_parts(BUCKET, "from-server", &init.upload_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(parts.len(), 2);
    // Part size is taken from the server's part 1.
    let out = client
        .resume_from_server(BUCKET, "from-server", &init.upload_id, &path)
        .await
        .unwrap();
    assert_eq!(out.upload_id.as_deref(), Some(init.upload_id.as_str()));
    assert_eq!(out.parts, 4);
    assert_eq!(out.parts_reused, 2);
    assert_eq!(
        client.get_object(BUCKET, "from-server").await.unwrap(),
        bytes
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_removes_the_upload_and_keep_parts_keeps_it() {
    let server = server().await;
    let client = client(&server.endpoint());
    let (b, k) = (
        BucketName::new(BUCKET).unwrap(),
        ObjectKey::new("to-abort").unwrap(),
    );
    let init = client
        .send(InitiateMultipartUpload::new(b, k))
        .await
        .unwrap();
    let listed: Vec<_> = client
        .list_uploads(BUCKET, Some("to-"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].upload_id, init.upload_id);
    client
        .abort_upload(BUCKET, "to-abort", &init.upload_id)
        .await
        .unwrap();
    let err = client
        .abort_upload(BUCKET, "to-abort", &init.upload_id)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code(), "NoSuchUpload");
    let err = client
        .list_parts(BUCKET, "to-abort", &init.upload_id)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code(), "NoSuchUpload");

    // KeepParts: a failing upload (source vanished mid-way is hard to stage, so use a
    // forbidden overwrite at Complete) keeps its upload id for the caller.
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f", &data(300_000, 15));
    client
        .put_object(BUCKET, "exists", vec![0u8; 3])
        .await
        .unwrap();
    let err = client
        .upload_file(BUCKET, "exists", &path)
        .part_size(102_400)
        .forbid_overwrite(true)
        .on_failure(FailurePolicy::KeepParts)
        .await
        .unwrap_err();
    // Initiate itself is refused by forbid-overwrite on some servers; either way no leak
    // unless the upload id is reported.
    let left: Vec<_> = client
        .list_uploads(BUCKET, Some("exists"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left.len(), usize::from(err.upload_id().is_some()));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_parts_pages_through_more_than_a_thousand_parts() {
    let mut cfg = local_config();
    cfg.limits.min_part_size = 1;
    let server = server_with(cfg).await;
    let client = client(&server.endpoint());
    let (b, k) = (
        BucketName::new(BUCKET).unwrap(),
        ObjectKey::new("many").unwrap(),
    );
    let init = client
        .send(InitiateMultipartUpload::new(b.clone(), k.clone()))
        .await
        .unwrap();
    let jobs = (1..=1005u32).map(|n| {
        let client = client.clone();
        let op = UploadPart::new(
            b.clone(),
            k.clone(),
            init.upload_id.clone(),
            PartNumber::new(n).unwrap(),
        );
        async move {
            client
                .send_with_body(op, bytes::Bytes::from(vec![n as u8; 3]))
                .await
        }
    });
    use futures::StreamExt as _;
    let results: Vec<_> = futures::stream::iter(jobs)
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    let parts: Vec<_> = client
        .list_parts(BUCKET, "many", &init.upload_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(parts.len(), 1005);
    assert!(
        parts
            .windows(2)
            .all(|w| w[0].part_number < w[1].part_number)
    );
    client
        .abort_upload(BUCKET, "many", &init.upload_id)
        .await
        .unwrap();
    server.shutdown().await;
}
