//! The processes of a benchmark: building the binaries, `oss-local`, the ceiling sink, and
//! clients measured by `oss-bench measure`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{AK, BUCKET, SK, bench_dir};
use crate::interop::json_string_field;
use crate::util::cargo;

/// Release executables of `oss-bench`, `oss-local` and `ossmp`.
pub(crate) struct Binaries {
    pub(crate) oss_bench: PathBuf,
    pub(crate) oss_local: PathBuf,
    pub(crate) ossmp: PathBuf,
}

/// Builds the three binaries (release: the figures are meaningless in debug) and returns
/// the paths cargo reports, so `CARGO_TARGET_DIR` is honoured. Always the same three in one
/// build, so that features unify the same way for every benchmark and switching between
/// benchmarks does not rebuild.
pub(crate) fn build() -> Result<Binaries, String> {
    let mut found = build_bins(&["oss-bench", "oss-local", "ossmp"])?.into_iter();
    match (found.next(), found.next(), found.next()) {
        (Some(oss_bench), Some(oss_local), Some(ossmp)) => Ok(Binaries {
            oss_bench,
            oss_local,
            ossmp,
        }),
        _ => Err("cargo did not report the benchmark executables".to_owned()),
    }
}

/// Builds the binaries of `packages` (release) and returns each package's executable of
/// the same name, in order.
fn build_bins(packages: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut command = cargo();
    command.args(["build", "--release"]);
    for package in packages {
        command.args(["-p", package]);
    }
    command
        .args(["--bins", "--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    eprintln!("xtask: [bench build] {command:?}");
    let output = command
        .output()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the benchmark binaries failed with {}",
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let find = |name: &str| {
        stdout
            .lines()
            .filter(|line| {
                line.contains(&format!("\"name\":\"{name}\"")) && line.contains("\"bin\"")
            })
            .find_map(|line| json_string_field(line, "executable"))
            .map(PathBuf::from)
            .ok_or_else(|| format!("cargo did not report the {name} executable"))
    };
    packages.iter().map(|p| find(p)).collect()
}

/// A child that printed `listening on URL` as its first stdout line; killed on drop.
struct Listening {
    child: Child,
    url: String,
}

impl Listening {
    fn start(command: &mut Command, what: &str) -> Result<Self, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {what}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what} did not print its listening line (got {line:?})"
            ));
        };
        Ok(Self { child, url })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `oss-local` on an ephemeral port with a throw-away data directory.
pub(crate) struct OssLocal {
    pub(crate) endpoint: String,
    data_dir: PathBuf,
    _process: Listening,
}

impl OssLocal {
    pub(crate) fn start(bins: &Binaries, extra: &[&str]) -> Result<Self, String> {
        Self::start_with(Command::new(&bins.oss_local), "127.0.0.1:0", extra)
    }

    /// Runs `command` (an `oss-local`, possibly wrapped, e.g. by `ip netns exec`) listening
    /// on `listen`.
    pub(crate) fn start_with(
        command: Command,
        listen: &str,
        extra: &[&str],
    ) -> Result<Self, String> {
        let data_dir = bench_dir().join(format!(
            "oss-local-{}-{}",
            std::process::id(),
            extra.join("-")
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        Self::spawn(command, listen, extra, data_dir)
    }

    /// Stops this server and runs `command` on the same data directory with `extra` flags:
    /// the same objects, served another way.
    pub(crate) fn restart_with(
        mut self,
        command: Command,
        listen: &str,
        extra: &[&str],
    ) -> Result<Self, String> {
        let data_dir = std::mem::take(&mut self.data_dir);
        // Kills the process; the empty path left behind removes nothing.
        drop(self);
        Self::spawn(command, listen, extra, data_dir)
    }

    fn spawn(
        mut command: Command,
        listen: &str,
        extra: &[&str],
        data_dir: PathBuf,
    ) -> Result<Self, String> {
        let process = Listening::start(
            command
                .args(["--listen", listen, "--access-key-id", AK])
                .args(["--access-key-secret", SK, "--bucket", BUCKET, "--no-fsync"])
                .args(["--max-connections", "256", "--data-dir"])
                .arg(&data_dir)
                .args(extra),
            "oss-local",
        )?;
        Ok(Self {
            endpoint: process.url.clone(),
            data_dir,
            _process: process,
        })
    }
}

impl Drop for OssLocal {
    fn drop(&mut self) {
        // `_process` is dropped (killed) after this body; the files are gone either way.
        if !self.data_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// The ceiling sink (`oss-bench sink`).
pub(crate) struct Sink {
    pub(crate) addr: String,
    _process: Listening,
}

impl Sink {
    pub(crate) fn start(bins: &Binaries) -> Result<Self, String> {
        Self::start_with(Command::new(&bins.oss_bench), "127.0.0.1:0")
    }

    /// Runs `command` (an `oss-bench`, possibly wrapped) as a sink listening on `listen`.
    pub(crate) fn start_with(mut command: Command, listen: &str) -> Result<Self, String> {
        let process = Listening::start(command.args(["sink", "--listen", listen]), "the sink")?;
        Ok(Self {
            addr: process.url.trim_start_matches("http://").to_owned(),
            _process: process,
        })
    }
}

/// One client run as the OS measured it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured {
    pub(crate) bytes: u64,
    /// The client's own transfer time (first request to completed object).
    pub(crate) secs: f64,
    pub(crate) cpu_secs: f64,
    pub(crate) max_rss_kib: u64,
}

/// Runs `program args` under `oss-bench measure` and combines its `result` and `rusage`
/// lines.
pub(crate) fn measure(
    bins: &Binaries,
    label: &str,
    program: &Path,
    args: &[String],
) -> Result<Measured, String> {
    let mut command = Command::new(&bins.oss_bench);
    command
        .arg("measure")
        .arg("--")
        .arg(program)
        .args(args)
        // Loopback only: a proxy from the environment would measure the proxy.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .map_err(|e| format!("[{label}] could not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout.lines().find(|l| l.starts_with("result "));
    let usage = stdout.lines().find(|l| l.starts_with("rusage "));
    let (Some(result), Some(usage), true) = (result, usage, output.status.success()) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .join("\n  ");
        return Err(format!(
            "[{label}] failed ({}):\n  {stdout}\n  {tail}",
            output.status
        ));
    };
    let num = |line: &str, key: &str| -> Result<f64, String> {
        field(line, key)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("[{label}] no {key} in `{line}`"))
    };
    let measured = Measured {
        bytes: num(result, "bytes")? as u64,
        secs: num(result, "secs")?,
        cpu_secs: num(usage, "user_s")? + num(usage, "sys_s")?,
        max_rss_kib: num(usage, "maxrss_kib")? as u64,
    };
    eprintln!(
        "xtask: [bench] {label:<8} {:>7.3} GiB/s  cpu {:>6.2} s  rss {:>6.1} MiB",
        measured.bytes as f64 / super::GIB / measured.secs,
        measured.cpu_secs,
        measured.max_rss_kib as f64 / 1024.0
    );
    Ok(measured)
}

/// Runs `program args` and returns its first stdout line tagged `tag`.
pub(crate) fn run_for_line(program: &Path, args: &[String], tag: &str) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", program.display()))?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let prefix = format!("{tag} ");
    match stdout.lines().find(|l| l.starts_with(&prefix)) {
        Some(line) if status.success() => Ok(line.to_owned()),
        _ => Err(format!("{} failed ({status}): {stdout}", program.display())),
    }
}

/// The value of `key` in a `tag key=value ...` line.
pub(crate) fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .skip(1)
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}
