//! Downloads against oss-local: bit-exact files of every shape, under faults, resumed after a
//! cancellation without fetching verified ranges again, and clean typed failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use oss_multipart::{CancellationToken, Error, IntegrityError, OnObjectChange};

/// GETs counted by their `Range` header.
fn counting_client(endpoint: &str) -> (oss_multipart::Client, Counts) {
    common::counting_client(endpoint, |request| {
        let range = request.headers().get("range")?;
        (request.method() == http::Method::GET).then(|| range.to_str().unwrap_or("").to_owned())
    })
}

/// Names in `dir` other than `keep` (temp files left behind would show here).
fn leftovers(dir: &std::path::Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_every_shape_download_bit_exact_and_atomically() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    for (i, size) in [0usize, 1, 102_400, 102_401, 1_000_003]
        .into_iter()
        .enumerate()
    {
        let bytes = data(size, i as u64 + 1);
        let key = format!("shapes/{size}");
        client
            .put_object(BUCKET, &key, bytes.clone())
            .await
            .unwrap();
        let path = dir.path().join(format!("f{i}"));
        let out = client
            .download(BUCKET, &key)
            .part_size(102_400)
            .concurrency(3)
            .to_file(&path)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "size {size}");
        assert_eq!((out.size, out.crc_verified), (size as u64, true));
        assert_eq!(out.crc64, oss_multipart_core::crc64(&bytes));
        assert_eq!(out.ranges, (size as u64).div_ceil(102_400));
    }
    assert!(leftovers(dir.path(), &["f0", "f1", "f2", "f3", "f4"]).is_empty());
    // A multipart object (its ETag is not an MD5, its CRC-64 is the parts' combination).
    let bytes = data(350_000, 7);
    let src = dir.path().join("src");
    std::fs::write(&src, &bytes).unwrap();
    let up = client
        .upload_file(BUCKET, "multipart", &src)
        .part_size(102_400)
        .send()
        .await
        .unwrap();
    assert_eq!(up.parts, 4);
    let path = dir.path().join("mp");
    let out = client
        .download_file(BUCKET, "multipart", &path)
        .await
        .unwrap();
    assert!(out.crc_verified && std::fs::read(&path).unwrap() == bytes);
    std::fs::remove_file(&src).unwrap();
    std::fs::remove_file(&path).unwrap();
    // The default replaces an existing file, as cp does.
    let path = dir.path().join("f4");
    client
        .download_file(BUCKET, "shapes/1", &path)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data(1, 2));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_under_fault_and_drop_injection_are_bit_exact() {
    let mut cfg = faulty_config(11);
    cfg.faults.ops = vec![
        oss_local::FaultOp::GetObject,
        oss_local::FaultOp::HeadObject,
    ];
    let server = server_with(cfg).await;
    let client = patient_client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_500_000, 5);
    client
        .put_object(BUCKET, "faulty", bytes.clone())
        .await
        .unwrap();
    let retries = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let r = retries.clone();
    let path = dir.path().join("out");
    client
        .download(BUCKET, "faulty")
        .part_size(102_400)
        .concurrency(4)
        .progress(move |p| r.store(p.retries, std::sync::atomic::Ordering::Relaxed))
        .to_file(&path)
        .await
        .unwrap();
    assert!(std::fs::read(&path).unwrap() == bytes, "bit-exact");
    assert!(
        retries.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "faults were injected"
    );
    // The ordered writer path under the same faults.
    let mut out = Vec::new();
    let done = client
        .download(BUCKET, "faulty")
        .part_size(102_400)
        .to_writer(&mut out)
        .await
        .unwrap();
    assert!(
        out == bytes && done.crc_verified,
        "bit-exact through the reorder buffer"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_and_ranges() {
    let server = server().await;
    let client = client(&server.endpoint());
    let bytes = data(700_000, 9);
    client
        .put_object(BUCKET, "obj", bytes.clone())
        .await
        .unwrap();
    let mut out = Vec::new();
    client.download_to(BUCKET, "obj", &mut out).await.unwrap();
    assert!(out == bytes);
    let got = client
        .download_range(BUCKET, "obj", 100..300_123)
        .await
        .unwrap();
    assert_eq!(&got[..], &bytes[100..300_123]);
    // Clipped to the object.
    let got = client
        .download_range(BUCKET, "obj", 699_990..800_000)
        .await
        .unwrap();
    assert_eq!(&got[..], &bytes[699_990..]);
    let (got, done) = client
        .download(BUCKET, "obj")
        .range(5..10)
        .to_bytes()
        .await
        .unwrap();
    assert_eq!((&got[..], done.crc_verified), (&bytes[5..10], false));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_download_resumes_without_refetching_verified_ranges() {
    let server = server().await;
    let (client, gets) = counting_client(&server.endpoint());
    let bytes = data(2_000_000, 4);
    client
        .put_object(BUCKET, "big", bytes.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cps = dir.path().join("cps");
    let path = dir.path().join("big.bin");
    let token = CancellationToken::new();
    let t = token.clone();
    let e = client
        .download(BUCKET, "big")
        .part_size(102_400)
        .concurrency(2)
        .checkpoint_dir(&cps)
        .cancellation(token)
        .progress(move |p| {
            if p.bytes_done >= 800_000 {
                t.cancel();
            }
        })
        .to_file(&path)
        .await
        .unwrap_err();
    assert!(e.is_cancelled() && e.is_resumable(), "{e:?}");
    assert!(e.checkpoint_path().is_some_and(|p| p.exists()));
    assert!(!path.exists(), "nothing partial at the target");
    let first: BTreeMap<String, u32> = gets.lock().unwrap().clone();
    // Ranges journaled by the checkpoint are re-hashed, not fetched again.
    let out = client
        .download(BUCKET, "big")
        .part_size(102_400)
        .checkpoint_dir(&cps)
        .to_file(&path)
        .await
        .unwrap();
    assert!(out.resumed && out.ranges_reused >= 5, "{out:?}");
    assert!(std::fs::read(&path).unwrap() == bytes);
    let all = gets.lock().unwrap().clone();
    let refetched: Vec<_> = all
        .iter()
        .filter(|(r, n)| first.get(*r).is_some_and(|f| *n > f))
        .collect();
    assert!(
        refetched.len() as u64 <= out.ranges - out.ranges_reused,
        "only ranges not journaled are fetched again: {refetched:?}"
    );
    assert_eq!(
        all.len() as u64,
        out.ranges,
        "each range was requested whole (no partial rests without faults)"
    );
    assert!(leftovers(dir.path(), &["big.bin", "cps"]).is_empty());
    assert_eq!(
        std::fs::read_dir(&cps).unwrap().count(),
        0,
        "checkpoint removed"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_typed_errors_and_leaves_nothing() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    // No such key.
    let e = client
        .download_file(BUCKET, "absent", &path)
        .await
        .unwrap_err();
    assert_eq!(
        e.service_error().map(|s| s.status().as_u16()),
        Some(404),
        "{e:?}"
    );
    assert!(!e.is_retryable() && !e.is_resumable());
    // No such bucket.
    let e = client
        .download_file("no-such-bucket", "k", &path)
        .await
        .unwrap_err();
    assert_eq!(
        e.service_error().map(|s| s.status().as_u16()),
        Some(404),
        "{e:?}"
    );
    assert!(
        leftovers(dir.path(), &[]).is_empty(),
        "no temp file is left"
    );
    // A directory that does not exist: the error names the path.
    client.put_object(BUCKET, "k", data(10, 1)).await.unwrap();
    let bad = dir.path().join("missing-dir").join("x");
    let e = client.download_file(BUCKET, "k", &bad).await.unwrap_err();
    let Error::Io(io) = e else { panic!("{e:?}") };
    assert_eq!(io.path(), Some(bad.as_path()));
    // No-clobber refuses an existing file and leaves it alone.
    std::fs::write(&path, b"keep me").unwrap();
    let e = client
        .download(BUCKET, "k")
        .no_clobber(true)
        .to_file(&path)
        .await
        .unwrap_err();
    let Error::Io(io) = &e else { panic!("{e:?}") };
    assert_eq!(io.io_error().kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(io.path(), Some(path.as_path()));
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    // A directory target is refused by the library (the CLI maps it to DIR/basename).
    let e = client
        .download_file(BUCKET, "k", dir.path())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_mid_download_never_yields_a_mixed_file() {
    let mut cfg = local_config();
    cfg.faults.latency = Duration::from_millis(40);
    let server = server_with(cfg).await;
    let client = client(&server.endpoint());
    let old = data(1_000_000, 1);
    let new = data(1_000_000, 2);
    let dir = tempfile::tempdir().unwrap();
    for policy in [OnObjectChange::Fail, OnObjectChange::Restart] {
        client
            .put_object(BUCKET, "moving", old.clone())
            .await
            .unwrap();
        let path = dir.path().join(format!("{policy:?}"));
        let replace = {
            let (client, new) = (client.clone(), new.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                client.put_object(BUCKET, "moving", new).await.unwrap();
            })
        };
        let r = client
            .download(BUCKET, "moving")
            .part_size(102_400)
            .concurrency(1)
            .on_object_change(policy)
            .to_file(&path)
            .await;
        replace.await.unwrap();
        match (policy, r) {
            (OnObjectChange::Fail, Err(e)) => {
                assert!(
                    matches!(&e, Error::Download(d) if matches!(d.cause(), Error::Integrity(IntegrityError::ObjectChanged { .. }))),
                    "{e:?}"
                );
                assert!(!path.exists());
            }
            (OnObjectChange::Restart, Ok(out)) => {
                assert!(
                    std::fs::read(&path).unwrap() == new,
                    "the new version, whole"
                );
                assert_eq!(out.crc64, oss_multipart_core::crc64(&new));
            }
            (p, r) => panic!("{p:?}: {r:?}"),
        }
    }
    server.shutdown().await;
}
