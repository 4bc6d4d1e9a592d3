//! Progress semantics against an in-process `oss-local`: `bytes_sent` (on the wire) and
//! `bytes_done` (confirmed), parts in step with bytes, for uploads, downloads and directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use oss_multipart::{DirProgress, Progress};

const PART: u64 = 256 * 1024;

/// Collects every report a callback receives.
fn recorder<T: Clone + Send + 'static>() -> (Arc<Mutex<Vec<T>>>, impl Fn(&T) + Send + Sync) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (seen, move |p: &T| s.lock().unwrap().push(p.clone()))
}

/// The bytes `parts` confirmed parts can hold, for a source of `total` bytes in parts of `PART`:
/// all full parts, or full parts plus the short last one.
fn bytes_of_parts(parts: u64, total: u64) -> [u64; 2] {
    let last = total - (total.div_ceil(PART) - 1) * PART;
    [parts * PART, (parts.max(1) - 1) * PART + last].map(|b| b.min(total))
}

/// The rules every report of one transfer follows.
fn check_reports(reports: &[Progress], total: u64) {
    assert!(!reports.is_empty());
    let mut done_before = 0;
    for p in reports {
        assert!(p.bytes_done >= done_before, "bytes_done went back: {p:?}");
        done_before = p.bytes_done;
        assert!(p.bytes_sent >= p.bytes_done, "sent below done: {p:?}");
        assert!(p.bytes_sent <= total, "sent above the total: {p:?}");
        let parts = u64::from(p.parts_done);
        assert!(
            bytes_of_parts(parts, total).contains(&p.bytes_done),
            "{parts} part(s) done but {} bytes confirmed: {p:?}",
            p.bytes_done
        );
    }
    let last = reports.last().unwrap();
    assert_eq!((last.bytes_done, last.bytes_sent), (total, total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_reports_bytes_on_the_wire_and_parts_in_step_with_bytes() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let total = 6 * PART + 1000;
    let path = write_file(dir.path(), "f.bin", &data(total as usize, 7));
    let (seen, record) = recorder::<Progress>();
    client
        .upload_file(BUCKET, "progress/f.bin", &path)
        .part_size(PART)
        .concurrency(2)
        // About 1.6 s: several reports while parts are on the wire.
        .bandwidth_limit(1 << 20)
        .progress(record)
        .send()
        .await
        .unwrap();
    let reports = seen.lock().unwrap().clone();
    check_reports(&reports, total);
    // Bytes on the wire were seen before their parts were confirmed, and the rate follows them.
    assert!(
        reports.iter().any(|p| p.bytes_sent > p.bytes_done),
        "no report showed bytes in flight: {reports:?}"
    );
    let rates: Vec<f64> = reports.iter().map(|p| p.rate_bytes_per_sec).collect();
    let max = rates.iter().copied().fold(0.0, f64::max);
    assert!(
        max > 0.0 && max < 4.0 * f64::from(1 << 20),
        "a rate far above the 1 MiB/s limit: {rates:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_reports_received_bytes_and_ranges_in_step_with_bytes() {
    let mut faults = oss_local::FaultConfig::default();
    // Half a second per range: reports come between range completions.
    faults.bandwidth = Some(512 << 10);
    let server = server_with(local_config().with_faults(faults)).await;
    let client = client(&server.endpoint());
    let total = 5 * PART + 4096;
    client
        .put_object(BUCKET, "progress/d.bin", data(total as usize, 8))
        .await
        .unwrap();
    let (seen, record) = recorder::<Progress>();
    let dir = tempfile::tempdir().unwrap();
    client
        .download(BUCKET, "progress/d.bin")
        .part_size(PART)
        .concurrency(2)
        .progress(record)
        .to_file(dir.path().join("d.bin"))
        .await
        .unwrap();
    let reports = seen.lock().unwrap().clone();
    check_reports(&reports, total);
    assert!(
        reports
            .iter()
            .any(|p| p.bytes_sent > p.bytes_done && p.parts_in_flight > 0),
        "no report showed bytes being received: {reports:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_progress_sums_sent_and_confirmed_bytes() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let sizes = [0usize, 10, 3 * PART as usize + 5, 70_000];
    for (i, n) in sizes.iter().enumerate() {
        write_file(dir.path(), &format!("f{i}.bin"), &data(*n, i as u64));
    }
    let total: u64 = sizes.iter().map(|n| *n as u64).sum();
    let (seen, record) = recorder::<DirProgress>();
    let out = client
        .upload_dir(dir.path(), BUCKET, "tree/")
        .part_size(PART)
        .progress(record)
        .send()
        .await
        .unwrap();
    assert!(out.is_complete());
    let reports = seen.lock().unwrap().clone();
    for p in &reports {
        assert!(
            p.bytes_sent >= p.bytes_done && p.bytes_sent <= total,
            "{p:?}"
        );
        assert_eq!(p.bytes_total, total);
    }
    let last = reports.last().unwrap();
    assert_eq!(
        (last.bytes_done, last.bytes_sent, last.files_done),
        (total, total, 4)
    );
    server.shutdown().await;
}
