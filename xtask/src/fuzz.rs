//! `cargo xtask fuzz [--time S] [--sanitizer none|address] [TARGET...]`: runs every cargo-fuzz
//! target of `fuzz/` (or the named ones) for S seconds each (default 60) and prints the
//! executions per target.
//!
//! Installs `cargo-fuzz` when missing (`cargo install cargo-fuzz --locked`). Uses the nightly
//! toolchain (`rustup run nightly cargo fuzz`) when rustup has one, else stable with
//! `--sanitizer none` (libFuzzer needs no nightly without sanitizers). The committed corpus
//! `fuzz/corpus/T/` is read-only input: new inputs go to `target/fuzz-corpus/T/` so a run never
//! dirties the checkout; crashes land in `fuzz/artifacts/T/` and fail the task. The libFuzzer
//! log of each target is kept in `target/fuzz-logs/T.log`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::workspace_root;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut secs: u64 = 60;
    let mut sanitizer: Option<String> = None;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                secs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--time needs a number of seconds")?;
            }
            "--sanitizer" => {
                sanitizer = Some(it.next().ok_or("--sanitizer needs a value")?.clone())
            }
            other if other.starts_with('-') => return Err(format!("fuzz: unknown flag `{other}`")),
            other => targets.push(other.to_owned()),
        }
    }
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let all = list_targets(&fuzz_dir)?;
    if targets.is_empty() {
        targets = all.clone();
    }
    if let Some(unknown) = targets.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "fuzz: no target `{unknown}` (have: {})",
            all.join(", ")
        ));
    }
    ensure_cargo_fuzz()?;
    let nightly = has_nightly();
    let sanitizer = sanitizer.unwrap_or_else(|| {
        if nightly {
            "address".into()
        } else {
            "none".into()
        }
    });
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let work = target_dir.join("fuzz-corpus");
    let logs = target_dir.join("fuzz-logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("fuzz: {e}"))?;
    let fuzz_target_dir = target_dir.join("fuzz-build");

    eprintln!(
        "xtask: fuzz: building {} target(s) ({}, sanitizer {sanitizer})",
        targets.len(),
        if nightly { "nightly" } else { "stable" }
    );
    let mut build = fuzz_command(nightly);
    build
        .current_dir(&fuzz_dir)
        .args(["build", "--sanitizer", &sanitizer, "--target-dir"])
        .arg(&fuzz_target_dir);
    if !build
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo fuzz: {e}"))?
        .success()
    {
        return Err("fuzz: build failed".into());
    }

    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for t in &targets {
        let scratch = work.join(t);
        std::fs::create_dir_all(&scratch).map_err(|e| format!("fuzz: {e}"))?;
        let log = logs.join(format!("{t}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("fuzz: {e}"))?;
        eprintln!("xtask: fuzz: {t} for {secs} s (log {})", log.display());
        let mut cmd = fuzz_command(nightly);
        cmd.current_dir(&fuzz_dir)
            .args(["run", "--sanitizer", &sanitizer, "--target-dir"])
            .arg(&fuzz_target_dir)
            .arg(t)
            .arg(&scratch)
            .arg(fuzz_dir.join("corpus").join(t))
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            .arg("-print_final_stats=1")
            .stdout(Stdio::null())
            .stderr(log_file);
        let status = cmd
            .status()
            .map_err(|e| format!("fuzz: cannot run {t}: {e}"))?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let execs = stat(&text, "stat::number_of_executed_units:");
        let rate = stat(&text, "stat::average_exec_per_sec:");
        let result = if status.success() { "ok" } else { "FAILED" };
        if !status.success() {
            failed.push(t.clone());
            for line in text
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("panicked") || l.contains("artifact"))
                .take(8)
            {
                eprintln!("  {t}: {line}");
            }
        }
        rows.push((t.clone(), execs, rate, result));
    }
    eprintln!(
        "\n{:<22} {:>14} {:>10}  result",
        "target", "executions", "exec/s"
    );
    for (t, execs, rate, result) in &rows {
        eprintln!("{t:<22} {:>14} {:>10}  {result}", show(*execs), show(*rate));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz: {} found a failure (see fuzz/artifacts/ and target/fuzz-logs/)",
            failed.join(", ")
        ))
    }
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_owned(), |v| v.to_string())
}

/// The value of a libFuzzer final-stats line.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(name)?.trim().parse().ok())
}

/// Target names: `fuzz/fuzz_targets/*.rs`.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("fuzz: cannot read {}: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".rs")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

fn fuzz_command(nightly: bool) -> Command {
    if nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo", "fuzz"]);
        c
    } else {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut c = Command::new(cargo);
        c.arg("fuzz");
        c
    }
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let present = Command::new(&cargo)
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: fuzz: installing cargo-fuzz");
    let ok = Command::new(&cargo)
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("fuzz: could not install cargo-fuzz".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_final_stats() {
        let log = "INFO: x\nstat::number_of_executed_units: 123456\nstat::average_exec_per_sec:     2057\n";
        assert_eq!(stat(log, "stat::number_of_executed_units:"), Some(123_456));
        assert_eq!(stat(log, "stat::average_exec_per_sec:"), Some(2057));
        assert_eq!(stat("", "stat::number_of_executed_units:"), None);
    }

    #[test]
    fn lists_the_committed_targets() {
        let names = list_targets(&workspace_root().join("fuzz")).unwrap();
        assert!(names.iter().any(|n| n == "local_request"), "{names:?}");
        assert!(names.iter().any(|n| n == "core_machine"), "{names:?}");
    }
}
