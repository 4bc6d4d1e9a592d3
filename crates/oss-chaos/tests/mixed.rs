//! The mixed chaos run: the real `ossmp cp` (binary `chaos-ossmp`) against the real server
//! (binary `chaos-oss-local`) whose HEAD requests fail at random, while each upload meets one
//! disruption drawn from a seeded generator:
//! - the server is SIGKILLed and comes back 1–3 s later on the same port and data directory;
//! - `ossmp` gets SIGINT, SIGTERM or SIGKILL at a random point;
//! - a second `ossmp` runs the same file to the same key at the same time;
//! - the checkpoint disk fills up (`ulimit -f` with SIGXFSZ ignored: writes beyond the limit
//!   fail with EFBIG, as a full disk fails with ENOSPC);
//! - a stdin upload gets SIGINT or SIGTERM;
//! - nothing.
//!
//! Every upload must end with exactly one of: exit 0 and a bit-exact object; a clear refusal
//! that changed nothing; or a resumable state (exit 4, 130, 143 or killed) whose re-run, the same
//! command, ends with exit 0 and a bit-exact object. At the end the run lists every multipart
//! upload left on the server: there must be none.
//!
//! `cargo test -p oss-chaos --test mixed` runs a few rounds; `MIXED_ROUNDS=N` (what
//! `cargo xtask chaos` sets) runs more, `CHAOS_SEED` replays a run.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::expect_used,
    clippy::print_stdout
)]

mod procs;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use oss_chaos::{BUCKET, client, data, fast_retry};
use procs::ServerProcess;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What can happen to one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disruption {
    None,
    ServerRestart,
    Signal(&'static str),
    Concurrent,
    FullCheckpointDisk,
    StdinSignal(&'static str),
}

impl Disruption {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.gen_range(0..9) {
            0 => Self::None,
            1 => Self::ServerRestart,
            2 => Self::Signal("INT"),
            3 => Self::Signal("TERM"),
            4 => Self::Signal("KILL"),
            5 => Self::Concurrent,
            6 => Self::FullCheckpointDisk,
            7 => Self::StdinSignal("INT"),
            _ => Self::StdinSignal("TERM"),
        }
    }
}

/// How one upload ended, after its re-runs.
#[derive(Debug, Default)]
struct Tally {
    ok_first: u32,
    refused: u32,
    resumed: u32,
    stdin_aborted: u32,
    reruns: u32,
    restarts: u32,
    warnings: u32,
}

struct Run<'a> {
    home: &'a Path,
    endpoint: String,
}

impl Run<'_> {
    /// `ossmp --json cp SRC oss://BUCKET/KEY` with the test's isolated HOME; `ulimit_blocks`
    /// runs it under a file-size limit (SIGXFSZ ignored) to fail checkpoint writes.
    fn cp(&self, src: &str, key: &str, jobs: u32, ulimit_blocks: Option<u32>) -> Command {
        let mut cmd = procs::ossmp(self.home, &self.endpoint);
        cmd.args(["--json", "cp", src, &format!("oss://{BUCKET}/{key}")])
            .args(["--part-size", "100KiB", "--jobs", &jobs.to_string()])
            .args(["--config", "max_retries=2"])
            .arg("--checkpoint-dir")
            .arg(self.home.join("checkpoints"));
        match ulimit_blocks {
            Some(blocks) => procs::under_file_size_limit(&cmd, blocks),
            None => cmd,
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    text(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON: {}", describe(out)))
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}; stdout {:?}; stderr {:?}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// A stop that leaves a resumable state: network/service trouble (4), SIGINT (130), SIGTERM
/// (143), or a SIGKILL (no status).
fn resumable(status: ExitStatus) -> bool {
    matches!(status.code(), Some(4 | 130 | 143) | None)
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    // The process may have ended on its own just before.
    let _ = ok;
}

#[test]
fn mixed_chaos_every_upload_ends_exact_refused_or_resumable() {
    let rounds: u32 = std::env::var("MIXED_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261202);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        &dir.path().join("server"),
        &[
            "--bandwidth",
            "1048576",
            "--fault-ops",
            "head-object",
            "--fault-rate",
            "0.3",
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = Run {
        home: dir.path(),
        endpoint: server.endpoint(),
    };
    let c = {
        let _guard = rt.enter();
        client(&server.endpoint(), fast_retry(3)).unwrap()
    };
    let mut tally = Tally::default();
    let started = Instant::now();
    // The quick run visits every kind of disruption once, in a seeded order; longer runs draw.
    let mut kinds = vec![
        Disruption::ServerRestart,
        Disruption::Signal("INT"),
        Disruption::Signal("TERM"),
        Disruption::Signal("KILL"),
        Disruption::Concurrent,
        Disruption::FullCheckpointDisk,
        Disruption::StdinSignal("TERM"),
    ];
    for round in 0..rounds {
        let disruption = if kinds.is_empty() {
            Disruption::draw(&mut rng)
        } else {
            kinds.remove(rng.gen_range(0..kinds.len()))
        };
        let key = format!("mixed/{round}");
        let size = if disruption == Disruption::FullCheckpointDisk {
            // Enough parts for the checkpoint to outgrow the file-size limit.
            rng.gen_range(2_000_000..3_000_000)
        } else {
            rng.gen_range(150_000..2_500_000)
        };
        let bytes = data(size, seed ^ u64::from(round));
        let src = dir.path().join(format!("src-{round}"));
        std::fs::write(&src, &bytes).unwrap();
        let src_arg = src.display().to_string();
        let jobs = rng.gen_range(1..=3);
        let delay = Duration::from_millis(rng.gen_range(50..700));
        println!("round {round}: {disruption:?}, {size} bytes, {jobs} jobs, at {delay:?}");

        let first: Output = match disruption {
            Disruption::None => run.cp(&src_arg, &key, jobs, None).output().unwrap(),
            Disruption::ServerRestart => {
                let child = run.cp(&src_arg, &key, jobs, None).spawn().unwrap();
                std::thread::sleep(delay);
                server.crash_and_restart(Duration::from_millis(rng.gen_range(1000..3000)), None);
                tally.restarts += 1;
                child.wait_with_output().unwrap()
            }
            Disruption::Signal(name) => {
                let child = run.cp(&src_arg, &key, jobs, None).spawn().unwrap();
                std::thread::sleep(delay);
                signal(&child, name);
                child.wait_with_output().unwrap()
            }
            Disruption::Concurrent => {
                let child = run.cp(&src_arg, &key, jobs, None).spawn().unwrap();
                std::thread::sleep(delay / 4);
                let second = run.cp(&src_arg, &key, jobs, None).output().unwrap();
                let first = child.wait_with_output().unwrap();
                // One of them ran the upload; the other was refused (or came after it ended).
                let (ran, other) = match second.status.code() {
                    Some(1) => (first, second),
                    _ => (second, first),
                };
                if other.status.code() == Some(1) {
                    let stderr = text(&other.stderr);
                    assert!(
                        stderr.contains("another ossmp (pid "),
                        "{}",
                        describe(&other)
                    );
                    tally.refused += 1;
                } else {
                    assert!(other.status.success(), "{}", describe(&other));
                }
                ran
            }
            Disruption::FullCheckpointDisk => {
                // 9 blocks of 512 bytes: the start-up probe (4 KiB) passes, the checkpoint
                // outgrows the limit after a few parts.
                let out = run.cp(&src_arg, &key, jobs, Some(9)).output().unwrap();
                if out.status.code() == Some(2) {
                    // Refused before anything was sent: nothing of this key exists.
                    assert!(
                        text(&out.stderr).contains("checkpoint"),
                        "{}",
                        describe(&out)
                    );
                    tally.refused += 1;
                }
                out
            }
            Disruption::StdinSignal(name) => {
                let mut cmd = run.cp("-", &key, jobs, None);
                let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
                let mut stdin = child.stdin.take().unwrap();
                let chunk = bytes.clone();
                let feeder = std::thread::spawn(move || {
                    // Never-ending producer: the run can only end by the signal.
                    while stdin.write_all(&chunk).is_ok() {}
                });
                std::thread::sleep(delay);
                signal(&child, name);
                let out = child.wait_with_output().unwrap();
                feeder.join().unwrap();
                let expected = if name == "INT" { 130 } else { 143 };
                assert_eq!(out.status.code(), Some(expected), "{}", describe(&out));
                let j = json(&out);
                assert_eq!(j["aborted"], true, "{j}");
                tally.stdin_aborted += 1;
                // Nothing to re-run: a stream does not resume. Nothing may be left.
                let left: Vec<_> = rt
                    .block_on(
                        c.list_uploads(BUCKET, Some(key.as_str()))
                            .try_collect::<Vec<_>>(),
                    )
                    .unwrap();
                assert!(left.is_empty(), "stdin upload leaked: {left:?}");
                continue;
            }
        };

        println!(
            "  first run: {:?} {}",
            first.status.code(),
            text(&first.stderr).trim()
        );
        // Resolve: exit 0 now, a refusal that changed nothing, or re-runs until exit 0.
        let mut last = first;
        let mut reran = false;
        while !last.status.success() {
            if last.status.code() == Some(2) && disruption == Disruption::FullCheckpointDisk {
                // Refused up front; the object must not exist, then the user fixes the disk.
                assert!(rt.block_on(c.head_object(BUCKET, &key)).is_err());
            } else {
                assert!(
                    resumable(last.status),
                    "round {round} ({disruption:?}) ended neither exact, refused nor resumable: {}",
                    describe(&last)
                );
            }
            assert!(tally.reruns < 100, "too many re-runs");
            tally.reruns += 1;
            reran = true;
            last = run.cp(&src_arg, &key, jobs, None).output().unwrap();
        }
        let j = json(&last);
        assert_eq!(j["status"], "ok", "{j}");
        tally.warnings += u32::try_from(j["warnings"].as_array().map_or(0, Vec::len)).unwrap();
        if reran {
            tally.resumed += 1;
        } else {
            tally.ok_first += 1;
        }
        let stored = rt.block_on(c.get_object(BUCKET, &key)).unwrap();
        assert!(
            stored == bytes,
            "round {round} ({disruption:?}): object is not bit-exact"
        );
    }

    let left: Vec<(String, String)> = rt
        .block_on(
            c.list_uploads(BUCKET, None)
                .map_ok(|u| (u.key, u.upload_id))
                .try_collect::<Vec<_>>(),
        )
        .unwrap();
    println!(
        "CHAOS mixed: rounds={rounds} seed={seed} ok_first={} resumed_ok={} refused={} stdin_aborted={} \
         reruns={} server_restarts={} post_check_warnings={} uploads_left={left:?} elapsed={:.1}s",
        tally.ok_first,
        tally.resumed,
        tally.refused,
        tally.stdin_aborted,
        tally.reruns,
        tally.restarts,
        tally.warnings,
        started.elapsed().as_secs_f64()
    );
    assert!(
        left.is_empty(),
        "multipart uploads left on the server: {left:?}"
    );
}
