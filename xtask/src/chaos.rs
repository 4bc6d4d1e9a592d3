//! `cargo xtask chaos [--time S] [--kills N] [--seed N] [--max-mib N]`: the long reliability run.
//!
//! 1. the long chaos test (`oss-chaos` `chaos_long`, release build): random file and stream
//!    uploads up to `--max-mib` (default 256) against faulty `oss-local` servers for S seconds
//!    (default 300), each checked bit-exact, resuming when retries run out;
//! 2. the crash tests with `--kills` (default 20) SIGKILLs of `ossmp cp` on one upload and of
//!    `oss-local` mid-upload.
//!
//! The tests print `CHAOS ...` / `CRASH ...` summary lines with the figures.

use crate::util::{cargo, run_step};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut secs = "300".to_owned();
    let mut kills = "20".to_owned();
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
            "--seed" => seed = Some(value()?),
            "--max-mib" => max_mib = value()?,
            other => return Err(format!("chaos: unknown argument `{other}`")),
        }
    }
    for (name, v) in [
        ("--time", &secs),
        ("--kills", &kills),
        ("--max-mib", &max_mib),
    ] {
        if v.parse::<u64>().is_err() {
            return Err(format!("chaos: {name} wants a number, got `{v}`"));
        }
    }
    let mut long = cargo();
    long.args([
        "test",
        "--release",
        "-p",
        "oss-chaos",
        "--test",
        "chaos",
        "--",
        "--ignored",
        "--nocapture",
        "chaos_long",
    ])
    .env("CHAOS_SECS", &secs)
    .env("CHAOS_MAX_MIB", &max_mib);
    let mut crash = cargo();
    crash
        .args([
            "test",
            "--release",
            "-p",
            "oss-chaos",
            "--test",
            "crash",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("CRASH_KILLS", &kills);
    if let Some(seed) = &seed {
        long.env("CHAOS_SEED", seed);
        crash.env("CHAOS_SEED", seed);
    }
    run_step("chaos: uploads under faults", &mut long)?;
    run_step("chaos: SIGKILL and resume", &mut crash)
}
