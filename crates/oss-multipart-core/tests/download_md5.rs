//! Objects that OSS describes by `Content-MD5` instead of CRC-64: the machine asks for the MD5
//! of the local copy once every range is complete, and a mismatch (a byte damaged in transit,
//! which no per-range check can see) starts the download again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use oss_multipart_core::download::sim::{DownloadFaults, DownloadSim};
use oss_multipart_core::{Download, DownloadConfig, DownloadError, DownloadEvent, Target};

fn object(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn download(part: u64, jobs: usize, seed: u64) -> Download {
    let mut c = DownloadConfig::default();
    c.part_size = part;
    c.max_in_flight = jobs;
    c.retry.max_retries = 9;
    let target = Target::new("bucket", "old/object.bin").unwrap();
    Download::new(target, c, Instant::now(), seed).unwrap()
}

fn md5_restarts(sim: &DownloadSim) -> usize {
    sim.events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                DownloadEvent::Restarted {
                    reason: DownloadError::Md5Mismatch { .. }
                }
            )
        })
        .count()
}

#[test]
fn without_crc64_the_content_md5_is_checked_over_hundreds_of_seeds() {
    let (mut completed, mut restarts) = (0, 0);
    for seed in 0..500u64 {
        let size = [0, 1, 4096, 4097, 30_000][seed as usize % 5];
        let data = object(size, seed);
        let d = download(4096, 1 + seed as usize % 6, seed);
        let mut sim = DownloadSim::new(d, data.clone(), DownloadFaults::flaky(), seed).md5_only();
        let outcome = sim.drive_bounded(200_000).unwrap();
        restarts += md5_restarts(&sim);
        match outcome {
            Some(DownloadEvent::Completed(c)) => {
                assert_eq!(sim.local(), &data[..], "seed {seed}: local copy differs");
                assert!(
                    c.md5_verified && !c.crc_verified,
                    "seed {seed}: verified by MD5 only: {c:?}"
                );
                completed += 1;
            }
            Some(DownloadEvent::Failed(DownloadError::RetriesExhausted { .. })) => {}
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(completed >= 490, "completed {completed} of 500");
    assert!(
        restarts > 0,
        "damaged bodies were caught by the MD5 and downloaded again"
    );
}

#[test]
fn a_body_damaged_every_time_fails_with_the_md5_mismatch() {
    let data = object(10_000, 7);
    let mut faults = DownloadFaults::none();
    faults.corrupt = 1.0;
    let mut sim = DownloadSim::new(download(4096, 2, 7), data, faults, 7).md5_only();
    match sim.drive_bounded(200_000).unwrap() {
        Some(DownloadEvent::Failed(DownloadError::RetriesExhausted { last })) => {
            assert!(
                matches!(*last, DownloadError::Md5Mismatch { .. }),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(md5_restarts(&sim) > 1);
}

#[test]
fn with_a_crc64_no_md5_is_asked_for() {
    let data = object(10_000, 3);
    let mut sim = DownloadSim::new(download(4096, 2, 3), data, DownloadFaults::none(), 3);
    match sim.drive_bounded(200_000).unwrap() {
        Some(DownloadEvent::Completed(c)) => assert!(c.crc_verified && !c.md5_verified),
        other => panic!("{other:?}"),
    }
    assert!(!sim.download.checks_md5());
}
