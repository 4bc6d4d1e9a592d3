//! Crash/resume of a download: the real `ossmp cp oss://… FILE` (binary `chaos-ossmp`)
//! SIGKILLed at random points, then run to the end. Every kill leaves nothing at the target;
//! the end is bit-exact; the final run reuses at least every range the last checkpoint
//! journaled (it re-hashes them from the temp file instead of fetching them again), and removes
//! its checkpoint. (`crates/ossmp/tests/cp_download.rs` counts the GETs at the server's door
//! for five kills; this one repeats the kills at random times.)
//!
//! `cargo test` runs 3 kills; `CRASH_KILLS=20 cargo test -p oss-chaos --test crash_download`
//! (what `cargo xtask chaos` does) runs 20.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod procs;

use std::path::Path;
use std::time::Duration;

use oss_chaos::{BUCKET, client, data, fast_retry, local_config};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn kills() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// Range indexes journaled in the (single) download checkpoint under `dir`.
fn journaled(dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let Some(path) = entries
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".ossmp-checkpoint.json"))
    else {
        return Vec::new();
    };
    // A kill may land mid-save: the checkpoint is replaced atomically, so it parses or is the
    // previous one; read errors (renamed away meanwhile) count as no journal.
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let cp: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    cp["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["i"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ossmp_cp_download_survives_sigkill_and_reuses_what_it_verified() {
    let kills = kills();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    // Stored at full speed, then served at 1 MiB/s per connection so a run lasts long enough
    // to be killed mid-way at random.
    let bytes = data((kills * 5 / 2).max(6) * 1024 * 1024 + 54_321, 17);
    let key = "crash/download.bin";
    let server = oss_local::Server::start(local_config().with_data_dir(&data_dir))
        .await
        .unwrap();
    client(&server.endpoint(), fast_retry(3))
        .unwrap()
        .put_object(BUCKET, key, bytes.clone())
        .await
        .unwrap();
    server.shutdown().await;
    let mut faults = oss_local::FaultConfig::default();
    faults.bandwidth = Some(1024 * 1024);
    let server =
        oss_local::Server::start(local_config().with_data_dir(&data_dir).with_faults(faults))
            .await
            .unwrap();
    let endpoint = server.endpoint();
    let target = dir.path().join("out.bin");
    let cp_dir = dir.path().join("cp");
    let run = || {
        let mut cmd = procs::ossmp(dir.path(), &endpoint);
        cmd.args(["--json", "--quiet", "cp"])
            .arg(format!("oss://{BUCKET}/{key}"))
            .arg(&target)
            .args(["--part-size", "100KiB", "--jobs", "3", "--checkpoint-dir"])
            .arg(&cp_dir);
        cmd
    };
    let mut rng = StdRng::seed_from_u64(
        std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let (mut survived, mut last_journal) = (0, Vec::new());
    let mut finished = None;
    for i in 0..kills {
        let mut child = run().spawn().unwrap();
        let delay = Duration::from_millis(rng.gen_range(200..1500));
        let started = std::time::Instant::now();
        while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if child.try_wait().unwrap().is_some() {
            finished = Some(child.wait_with_output().unwrap());
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        survived += 1;
        assert!(
            !target.exists(),
            "a partial file at the target after kill {i}"
        );
        let journal = journaled(&cp_dir);
        println!(
            "kill {i} after {delay:?}: {} ranges journaled",
            journal.len()
        );
        last_journal = journal;
    }
    let out = match finished {
        Some(out) => out,
        None => run().output().unwrap(),
    };
    assert!(
        out.status.success(),
        "final ossmp cp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|&b| b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["status"], "ok", "{summary}");
    assert_eq!(summary["crc64_verified"], true, "{summary}");
    assert!(std::fs::read(&target).unwrap() == bytes, "bit-exact");
    if survived > 0 && !last_journal.is_empty() {
        assert_eq!(summary["resumed"], true, "{summary}");
        let reused = summary["ranges_reused"].as_u64().unwrap();
        assert!(
            reused >= last_journal.len() as u64,
            "reused {reused} < journal {}: {summary}",
            last_journal.len()
        );
    }
    assert!(journaled(&cp_dir).is_empty(), "checkpoint removed");
    println!(
        "CRASH download: kills_survived={survived} last_journal={} reused={}",
        last_journal.len(),
        summary["ranges_reused"]
    );
    assert!(survived >= 1, "no kill landed");
    server.shutdown().await;
}
