//! Pause/resume and the bandwidth limit of a running upload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use oss_multipart::PauseHandle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_upload_starts_no_new_part_until_resumed() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_024_000, 50);
    let path = write_file(dir.path(), "f", &bytes);
    let pause = PauseHandle::new();
    let done = Arc::new(AtomicU32::new(0));
    let (p, d) = (pause.clone(), done.clone());
    let task = tokio::spawn(
        client
            .upload_file(BUCKET, "paused", &path)
            .part_size(102_400)
            .concurrency(1)
            .pause_handle(pause.clone())
            .progress(move |pr| {
                d.store(pr.parts_done, Ordering::SeqCst);
                if pr.parts_done == 2 {
                    p.pause();
                }
            })
            .send(),
    );
    // Wait until paused, then check that progress stops (at most the part already on the
    // wire may still finish).
    while !pause.is_paused() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let frozen = done.load(Ordering::SeqCst);
    assert!(frozen <= 3, "parts kept going while paused: {frozen}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(done.load(Ordering::SeqCst), frozen);
    assert!(!task.is_finished());
    pause.resume();
    let out = task.await.unwrap().unwrap();
    assert_eq!(out.parts, 10);
    assert_eq!(client.get_object(BUCKET, "paused").await.unwrap(), bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_limit_paces_the_upload() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f", &data(600_000, 51));
    let t = Instant::now();
    client
        .upload_file(BUCKET, "slow", &path)
        .part_size(102_400)
        .concurrency(4)
        .bandwidth_limit(1_000_000)
        .await
        .unwrap();
    let took = t.elapsed();
    // 600 kB at 1 MB/s with a 100 ms burst allowance: at least ~0.45 s.
    assert!(took >= Duration::from_millis(450), "took only {took:?}");
    server.shutdown().await;
}
