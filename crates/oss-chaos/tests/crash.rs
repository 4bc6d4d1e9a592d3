//! Crash/resume: the real `ossmp cp` (binary `chaos-ossmp` = `ossmp::run`) SIGKILLed at random
//! points — during parts and right when the last part is stored (Complete) — and re-run on the
//! same upload; and the `oss-local` server (binary `chaos-oss-local`) SIGKILLed and restarted on
//! its data directory mid-upload.
//!
//! Proof that no finished part was sent twice: `oss-local` stores every committed UploadPart
//! under a fresh file name (`<n>-<unique>.part`). After each kill the client's journal (its
//! checkpoint) names the parts it considers finished; the file names of those parts must stay
//! the same through every later run, up to the completed object.
//!
//! Quick variants run in `cargo test`; `CRASH_KILLS=20 cargo test -p oss-chaos --test crash`
//! (what `cargo xtask chaos` does) repeats 20 kills on one upload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod procs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oss_chaos::evidence::{Journal, PartFiles, journals, part_files};
use oss_chaos::{BUCKET, client, crc64, data, fast_retry, local_config};
use procs::ServerProcess;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn kills(default: usize) -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `ossmp --json --quiet cp SRC oss://BUCKET/KEY` in 100 KiB parts, 3 at a time.
fn ossmp_cp(home: &Path, endpoint: &str, src: &Path, key: &str, cp_dir: &Path) -> Command {
    let mut cmd = procs::ossmp(home, endpoint);
    cmd.args(["--json", "--quiet", "cp"])
        .arg(src)
        .arg(format!("oss://{BUCKET}/{key}"))
        .args(["--part-size", "100KiB", "--jobs", "3", "--checkpoint-dir"])
        .arg(cp_dir);
    cmd
}

/// Checks the no-double-send invariant: every part a journal recorded as finished still has
/// the file name it had right after that journal's kill.
fn check_no_resend(history: &[(Journal, PartFiles)], now: &PartFiles) -> usize {
    let mut checked = 0;
    for (journal, then) in history {
        let (Some(before), Some(after)) =
            (then.get(&journal.upload_id), now.get(&journal.upload_id))
        else {
            panic!(
                "upload {} (journal of {} parts) vanished from the server; uploads now: {:?}. \
                 A run after a kill started a new multipart upload and sent every finished part again",
                journal.upload_id,
                journal.parts.len(),
                now.iter()
                    .map(|(id, p)| (id.clone(), p.len()))
                    .collect::<Vec<_>>()
            );
        };
        for n in &journal.parts {
            let (b, a) = (before.get(n), after.get(n));
            assert!(b.is_some(), "journal part {n} was never stored");
            assert_eq!(
                b, a,
                "finished part {n} of {} was sent (and stored) again",
                journal.upload_id
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ossmp_cp_survives_sigkill_and_never_resends_a_finished_part() {
    let kills = kills(4);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    // Bandwidth-capped so a run lasts long enough to be killed mid-way at random.
    let mut faults = oss_local::FaultConfig::default();
    faults.bandwidth = Some(1024 * 1024);
    let server =
        oss_local::Server::start(local_config().with_data_dir(&data_dir).with_faults(faults))
            .await
            .unwrap();
    let endpoint = server.endpoint();
    // About 2.5 MiB per kill at 3 × 1 MiB/s, so the kills land before the end.
    let bytes = data((kills * 5 / 2).max(8) * 1024 * 1024 + 12_345, 99);
    let total_parts = bytes.len().div_ceil(102_400);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &bytes).unwrap();
    let cp_dir = dir.path().join("cp");
    let key = "crash/ossmp.bin";
    let mut rng = StdRng::seed_from_u64(
        std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    );
    let mut history: Vec<(Journal, PartFiles)> = Vec::new();
    let mut survived = 0;
    let mut checked = 0;
    let mut finished: Option<std::process::Output> = None;
    let mut completed_by_killed_run = false;
    for i in 0..kills {
        let mut child = ossmp_cp(dir.path(), &endpoint, &src, key, &cp_dir)
            .spawn()
            .unwrap();
        // The last kill waits until the client's journal holds every part, so it lands in
        // Complete; the others land at random points during the parts.
        let at_complete = i + 1 == kills;
        let started = Instant::now();
        let delay = Duration::from_millis(rng.gen_range(150..1500));
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if at_complete {
                // The client's journal holds every part: the next request is Complete.
                let all_done = journals(&cp_dir)
                    .iter()
                    .any(|j| j.parts.len() >= total_parts);
                if all_done || started.elapsed() > Duration::from_secs(60) {
                    break;
                }
            } else if started.elapsed() >= delay {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if child.try_wait().unwrap().is_some() {
            // It finished before the kill: nothing more to crash; its summary is the result.
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "ossmp failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            finished = Some(out);
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        survived += 1;
        println!(
            "kill {i}: at_complete={at_complete} after {:?}, journals {:?}, server uploads {:?}",
            started.elapsed(),
            journals(&cp_dir)
                .iter()
                .map(|j| (j.upload_id.clone(), j.parts.len()))
                .collect::<Vec<_>>(),
            part_files(&data_dir, BUCKET)
                .iter()
                .map(|(id, p)| (id.clone(), p.len()))
                .collect::<Vec<_>>()
        );
        let snapshot = part_files(&data_dir, BUCKET);
        checked += check_no_resend(&history, &snapshot);
        if journals(&cp_dir).is_empty() && !history.is_empty() {
            // The killed run had completed (its checkpoint is removed at Complete) and died
            // before exiting. Running `cp` again now would be a new copy of the same file, so
            // the upload under test is over: the object must be complete and exact.
            completed_by_killed_run = true;
            break;
        }
        if let Some(j) = journals(&cp_dir).into_iter().next() {
            history.push((j, snapshot));
        }
    }
    // The final, uninterrupted run (unless the last one already finished).
    let summary: serde_json::Value = if completed_by_killed_run {
        serde_json::json!({"parts_reused": null, "resumed": null, "upload_id": null})
    } else {
        let out = match finished {
            Some(out) => out,
            None => ossmp_cp(dir.path(), &endpoint, &src, key, &cp_dir)
                .output()
                .unwrap(),
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
        assert_eq!(summary["status"], "ok");
        assert_eq!(summary["crc64_verified"], true);
        summary
    };
    let client = client(&endpoint, fast_retry(3)).unwrap();
    let stored = client.get_object(BUCKET, key).await.unwrap();
    assert_eq!(crc64(&stored), crc64(&bytes));
    assert!(stored == bytes, "object differs from the source");
    let final_files = part_files(&data_dir, BUCKET);
    checked += check_no_resend(&history, &final_files);
    // One multipart upload from the first run to the end: no run started over (which would
    // send every finished part again under a new upload id).
    assert_eq!(
        final_files.len(),
        1,
        "uploads created (id, parts stored): {:?}; journals {:?}; final summary {summary}",
        final_files
            .iter()
            .map(|(id, p)| (id.clone(), p.len()))
            .collect::<Vec<_>>(),
        history
            .iter()
            .map(|(j, _)| (j.upload_id.clone(), j.parts.len()))
            .collect::<Vec<_>>()
    );
    let mut complete_landed = false;
    if let Some((last, _)) = history.last() {
        // The CLI's own account agrees: at least the journal's parts were reused, unless the
        // killed run's Complete had already landed, in which case the re-run finds the finished
        // upload and sends nothing (then the blob holds exactly the journal's part files,
        // which check_no_resend verified above).
        let reused = summary["parts_reused"].as_u64().unwrap_or(0);
        complete_landed = completed_by_killed_run || (reused == 0 && summary["resumed"] == true);
        if summary["upload_id"].as_str() == Some(last.upload_id.as_str()) && !complete_landed {
            assert!(
                reused >= last.parts.len() as u64,
                "reused {reused} < journal {}: {summary}",
                last.parts.len()
            );
        }
    }
    println!(
        "CRASH ossmp: kills_survived={survived} journal_parts_checked={checked} final_parts_reused={} resumed={} \
         complete_landed_before_kill={complete_landed}",
        summary["parts_reused"], summary["resumed"]
    );
    assert!(survived >= 1, "no kill landed");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oss_local_sigkill_and_restart_mid_upload() {
    let kills = kills(3);
    let dir = tempfile::tempdir().unwrap();
    let data_dir: PathBuf = dir.path().join("server");
    let mut server = ServerProcess::start(&data_dir, &["--bandwidth", "1048576"]);
    let endpoint = server.endpoint();
    // About 2.5 MiB per kill at 3 × 1 MiB/s, so every kill lands before the end.
    let bytes = data((kills * 5 / 2).max(8) * 1024 * 1024 + 777, 5);
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &bytes).unwrap();
    let cp_dir = dir.path().join("cp");
    let key = "crash/server.bin";
    let client = client(&endpoint, fast_retry(1)).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut history: Vec<(Journal, PartFiles)> = Vec::new();
    let (mut restarts, mut attempts, mut checked) = (0, 0, 0);
    let out = loop {
        attempts += 1;
        assert!(attempts < 60, "upload never finished");
        let upload = client
            .upload_file(BUCKET, key, &src)
            .part_size(102_400)
            .concurrency(3)
            .checkpoint_dir(&cp_dir)
            .send();
        let result = if restarts < kills {
            let delay = Duration::from_millis(rng.gen_range(100..1200));
            tokio::pin!(upload);
            tokio::select! {
                r = &mut upload => r,
                () = tokio::time::sleep(delay) => {
                    server.kill();
                    restarts += 1;
                    // Acknowledged parts must have survived the crash.
                    let after_crash = part_files(&data_dir, BUCKET);
                    checked += check_no_resend(&history, &after_crash);
                    let r = upload.await;
                    server.restart();
                    r
                }
            }
        } else {
            upload.await
        };
        match result {
            Ok(out) => break out,
            Err(e) => {
                assert!(
                    e.is_resumable() || e.is_network() || e.is_retryable(),
                    "not resumable: {e:?}"
                );
                let snapshot = part_files(&data_dir, BUCKET);
                checked += check_no_resend(&history, &snapshot);
                if let Some(j) = journals(&cp_dir).into_iter().next() {
                    // Every journal part is on the server (it survived the SIGKILL).
                    let stored = snapshot.get(&j.upload_id).cloned().unwrap_or_default();
                    for n in &j.parts {
                        assert!(
                            stored.contains_key(n),
                            "acknowledged part {n} lost by the server crash"
                        );
                    }
                    history.push((j, snapshot));
                }
            }
        }
    };
    assert_eq!(out.crc64, crc64(&bytes));
    let stored = client.get_object(BUCKET, key).await.unwrap();
    assert!(stored == bytes, "object differs from the source");
    let final_files = part_files(&data_dir, BUCKET);
    checked += check_no_resend(&history, &final_files);
    assert_eq!(
        final_files.len(),
        1,
        "uploads created: {:?}",
        final_files.keys().collect::<Vec<_>>()
    );
    println!(
        "CRASH oss-local: server_kills={restarts} client_attempts={attempts} journal_parts_checked={checked} parts_reused={}",
        out.parts_reused
    );
    assert!(restarts >= 1);
    server.kill();
}
