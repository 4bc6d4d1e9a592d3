//! Memory benchmark: uploads sparse 1 GiB and 8 GiB files (file and stream sources) to an
//! in-process `oss-local` that discards bodies, and reports peak RSS after each upload.
//!
//! Run with `cargo run --release -p oss-multipart --example memory [-- SIZES_GIB...]`.
//! Peak RSS is the process high-water mark (`getrusage(RUSAGE_SELF).ru_maxrss`), so it also
//! counts the in-process server; it can only grow, which is why the sizes run in ascending
//! order: a flat figure across sizes means memory does not depend on the object size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use oss_multipart::{Addressing, Client, Credentials};

/// Peak resident set size in KiB (Linux reports `ru_maxrss` in KiB).
#[allow(unsafe_code)]
fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass; RUSAGE_SELF is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc == 0 { usage.ru_maxrss } else { -1 }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![1, 8] } else { sizes };
    // Part size in MiB (`PART_MIB`, default 8); 4 parts in flight.
    let part_mib: u64 = std::env::var("PART_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let part = part_mib * 1024 * 1024;
    let mut config = oss_local::Config::new("bench-ak", "bench-sk")
        .with_bucket("bench")
        .with_fsync(false)
        .with_storage(oss_local::StorageMode::Discard)
        .with_etag(oss_local::EtagMode::Fast);
    config.limits.max_connections = 64;
    let server = oss_local::Server::start(config).await?;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .region("cn-hangzhou")
        .credentials(Credentials::new("bench-ak", "bench-sk"))
        .addressing(Addressing::Path)
        .build()?;
    let dir = tempfile::tempdir()?;
    println!("baseline peak RSS: {} MiB", peak_rss_kib() / 1024);
    println!("part size {part_mib} MiB, 4 in flight");
    for gib in sizes {
        let size = gib * 1024 * 1024 * 1024;
        let path = dir.path().join(format!("sparse-{gib}g"));
        std::fs::File::create(&path)?.set_len(size)?;
        let t = Instant::now();
        let out = client
            .upload_file("bench", &format!("file-{gib}g"), &path)
            .part_size(part)
            .concurrency(4)
            .send()
            .await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "file   {gib:>2} GiB: {} parts in {secs:.1} s ({:.0} MiB/s), peak RSS {} MiB",
            out.parts,
            size as f64 / secs / 1048576.0,
            peak_rss_kib() / 1024
        );
        std::fs::remove_file(&path)?;
    }
    // A stream of zeros of the largest size: buffered parts, bounded by the memory budget.
    let gib = 1u64;
    let reader = tokio::io::AsyncReadExt::take(tokio::io::repeat(0), gib * 1024 * 1024 * 1024);
    let t = Instant::now();
    let out = client
        .upload_stream("bench", "stream", reader)
        .part_size(part)
        .concurrency(4)
        .memory_budget(4 * part)
        .send()
        .await?;
    println!(
        "stream {gib:>2} GiB: {} parts in {:.1} s, peak RSS {} MiB",
        out.parts,
        t.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024
    );
    server.shutdown().await;
    Ok(())
}
