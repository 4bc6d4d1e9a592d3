//! `cargo xtask chaos [--time S] [--kills N] [--rounds N] [--seed N] [--max-mib N]`: the long
//! reliability run.
//!
//! 1. the long chaos test (`oss-chaos` `chaos_long`, release build): random file and stream
//!    uploads up to `--max-mib` (default 256) against faulty `oss-local` servers for S seconds
//!    (default 300), each checked bit-exact, resuming when retries run out;
//! 2. the crash tests with `--kills` (default 20) SIGKILLs of `ossmp cp` on one upload and of
//!    `oss-local` mid-upload, then of `ossmp cp oss://… FILE` on one download (`crash_download`);
//! 3. the mixed run (`oss-chaos` `mixed`) with `--rounds` (default 40) uploads by the real
//!    `ossmp cp`, each meeting one of: server restarts (1–3 s down), SIGINT/SIGTERM/SIGKILL at a
//!    random point, a concurrent run on the same checkpoint, a full checkpoint disk, Ctrl-C or
//!    SIGTERM on a stdin upload; HEAD fails 30 % of the time throughout. It lists the upload ids
//!    left on the server (there must be none).
//!
//! The tests print `CHAOS ...` / `CRASH ...` summary lines with the figures.

use crate::util::{cargo, run_step};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut secs = "300".to_owned();
    let mut kills = "20".to_owned();
    let mut rounds = "40".to_owned();
    let mut seed: Option<String> = None;
    let mut max_mib = "256".to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or(format!("chaos: {arg} needs a value"))
        };
        match arg.as_str() {
            "--time" => secs = value()?,
            "--kills" => kills = value()?,
            "--rounds" => rounds = value()?,
            "--seed" => seed = Some(value()?),
            "--max-mib" => max_mib = value()?,
            other => return Err(format!("chaos: unknown argument `{other}`")),
        }
    }
    for (name, v) in [
        ("--time", &secs),
        ("--kills", &kills),
        ("--rounds", &rounds),
        ("--max-mib", &max_mib),
    ] {
        if v.parse::<u64>().is_err() {
            return Err(format!("chaos: {name} wants a number, got `{v}`"));
        }
    }
    let mut long = chaos_test("chaos", &["--ignored", "chaos_long"]);
    long.env("CHAOS_SECS", &secs).env("CHAOS_MAX_MIB", &max_mib);
    let mut crash = chaos_test("crash", &["--test-threads", "1"]);
    crash.env("CRASH_KILLS", &kills);
    let mut crash_download = chaos_test("crash_download", &[]);
    crash_download.env("CRASH_KILLS", &kills);
    let mut mixed = chaos_test("mixed", &[]);
    mixed.env("MIXED_ROUNDS", &rounds);
    if let Some(seed) = &seed {
        long.env("CHAOS_SEED", seed);
        crash.env("CHAOS_SEED", seed);
        crash_download.env("CHAOS_SEED", seed);
        mixed.env("CHAOS_SEED", seed);
    }
    run_step("chaos: uploads under faults", &mut long)?;
    run_step("chaos: SIGKILL and resume", &mut crash)?;
    run_step(
        "chaos: SIGKILL and resume of a download",
        &mut crash_download,
    )?;
    run_step("chaos: mixed disruptions of ossmp cp", &mut mixed)
}

/// `cargo test --release -p oss-chaos --test NAME -- --nocapture EXTRA...`.
fn chaos_test(name: &str, extra: &[&str]) -> std::process::Command {
    let mut cmd = cargo();
    cmd.args(["test", "--release", "-p", "oss-chaos", "--test", name])
        .args(["--", "--nocapture"])
        .args(extra);
    cmd
}
