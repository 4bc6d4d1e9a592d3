//! The processes of a benchmark: building the binaries, `oss-local`, the ceiling sink, and
//! clients measured by `oss-bench measure`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    let output = measure_command(bins, program, args)
        .output()
        .map_err(|e| format!("[{label}] could not run: {e}"))?;
    parsed(
        label,
        output.status,
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// How a run with a time cap ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Capped {
    Done(Measured),
    /// Still running at the cap, so it was killed with its whole process group; `secs` is
    /// the wall time from spawn to the kill (start-up included).
    TimedOut {
        secs: f64,
    },
}

/// [`measure`] with a wall-clock cap, counted from the client's [`STARTED`] line. The run
/// gets a process group of its own, so that on
/// timeout the kill reaches the client itself (python, node) and anything it started, not
/// only `oss-bench measure`; it is an error if a live process of the group is still there
/// five seconds after the kill.
pub(crate) fn measure_capped(
    bins: &Binaries,
    label: &str,
    program: &Path,
    args: &[String],
    cap: Duration,
) -> Result<Capped, String> {
    match run_capped(measure_command(bins, program, args), cap)
        .map_err(|e| format!("[{label}] {e}"))?
    {
        Ended::Exited {
            status,
            stdout,
            stderr,
        } => parsed(label, status, &stdout, &stderr).map(Capped::Done),
        Ended::Killed { secs } => {
            eprintln!(
                "xtask: [bench] {label:<8} killed at the cap of {:.1} s",
                cap.as_secs_f64()
            );
            Ok(Capped::TimedOut { secs })
        }
    }
}

/// How [`run_capped`] ended.
#[derive(Debug)]
enum Ended {
    Exited {
        status: std::process::ExitStatus,
        stdout: String,
        stderr: String,
    },
    Killed {
        secs: f64,
    },
}

/// The stdout line a client prints when its own clock starts (after its start-up: the
/// interpreter, imports, `require`, set-up). A capped run's cap counts from it, so that a
/// killed run's time is transfer time, as a finished run's `secs` is.
pub(crate) const STARTED: &str = "started";

/// Runs `command` (output piped) in a process group of its own and kills the group `cap`
/// after the child's [`STARTED`] line, or `cap` after the spawn if it has printed none by
/// then (a start-up that long is a hang too).
fn run_capped(mut command: Command, cap: Duration) -> Result<Ended, String> {
    use std::os::unix::process::CommandExt as _;
    let spawned = Instant::now();
    let mut child = command
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not run: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stdout = drain(child.stdout.take(), Some(tx));
    let stderr = drain(child.stderr.take(), None);
    let mut clock = spawned;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Ended::Exited {
                status,
                stdout: stdout.join().unwrap_or_default(),
                stderr: stderr.join().unwrap_or_default(),
            });
        }
        if let Ok(at) = rx.try_recv() {
            clock = at;
        }
        if clock.elapsed() >= cap {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = clock.elapsed().as_secs_f64();
    kill_group(child.id())?;
    let _ = child.wait();
    wait_group_gone(child.id(), Duration::from_secs(5))?;
    // Every writer of the pipes is gone now, so these return.
    let _ = (stdout.join(), stderr.join());
    Ok(Ended::Killed { secs })
}

/// Reads `pipe` to its end on a thread (so that a chatty child never blocks on a full
/// pipe), sending the time of its first [`STARTED`] line to `started`.
fn drain(
    pipe: Option<impl std::io::Read + Send + 'static>,
    started: Option<mpsc::Sender<Instant>>,
) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let Some(pipe) = pipe else {
            return text;
        };
        let mut reader = BufReader::new(pipe);
        let mut started = started;
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return text,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&line);
            if line.trim_end() == STARTED
                && let Some(tx) = started.take()
            {
                let _ = tx.send(Instant::now());
            }
            text.push_str(&line);
        }
    })
}

/// `oss-bench measure -- program args`, output piped.
fn measure_command(bins: &Binaries, program: &Path, args: &[String]) -> Command {
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// SIGKILL to every process of group `pgid` (`kill(1)`: std has no group kill, and xtask
/// keeps `unsafe` and libc out).
fn kill_group(pgid: u32) -> Result<(), String> {
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("could not run kill: {e}"))?;
    // A group that emptied itself between the check and the kill is fine too.
    if !status.success() && !live_in_group(pgid).is_empty() {
        return Err(format!("kill -KILL -{pgid} failed ({status})"));
    }
    Ok(())
}

/// Waits until no live process is left in group `pgid` (zombies do not count: they hold no
/// sockets or pipes and their parent reaps them).
fn wait_group_gone(pgid: u32, within: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let live = live_in_group(pgid);
        if live.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= within {
            return Err(format!(
                "processes {live:?} of group {pgid} still run after the kill"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The live (not zombie) processes whose process group is `pgid`, from `/proc`.
fn live_in_group(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat_is_live_in(&stat, pgid))
        })
        .collect()
}

/// Whether a `/proc/PID/stat` line is of a live process in group `pgid`. The command name
/// (field 2) is in parentheses and may hold spaces and parentheses itself, so the fields
/// are counted from the last `)`: state, parent, process group.
fn stat_is_live_in(stat: &str, pgid: u32) -> bool {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let (Some(state), Some(_parent), Some(group)) = (fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    state != "Z" && state != "X" && group.parse::<u32>() == Ok(pgid)
}

/// A [`Measured`] from `oss-bench measure`'s output, or the error with the stderr's tail.
fn parsed(
    label: &str,
    status: std::process::ExitStatus,
    stdout: &str,
    stderr: &str,
) -> Result<Measured, String> {
    let result = stdout.lines().find(|l| l.starts_with("result "));
    let usage = stdout.lines().find(|l| l.starts_with("rusage "));
    let (Some(result), Some(usage), true) = (result, usage, status.success()) else {
        let tail: String = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .join("\n  ");
        return Err(format!(
            "[{label}] failed ({status}):\n  {stdout}\n  {tail}"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        // pid (comm) state ppid pgrp ...
        assert!(stat_is_live_in(
            "4242 (python3) S 4241 4240 4240 0 -1",
            4240
        ));
        assert!(!stat_is_live_in(
            "4242 (python3) S 4241 4240 4240 0 -1",
            4241
        ));
        // A zombie holds nothing: it does not count.
        assert!(!stat_is_live_in("4242 (node) Z 1 4240 4240 0 -1", 4240));
        // A command name with spaces and a parenthesis.
        assert!(stat_is_live_in("7 (a) b (c) R 1 99 99 0", 99));
        assert!(!stat_is_live_in("garbage", 99));
        assert!(!stat_is_live_in("7 (x) R 1", 1));
    }

    #[test]
    fn a_run_past_its_cap_is_killed_with_its_children() {
        // A parent waiting for a child that outlives it unless the whole group is killed;
        // `run_capped` fails if any of the group is alive five seconds after the kill.
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 30 & wait"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let ended = run_capped(command, Duration::from_millis(300));
        let Ok(Ended::Killed { secs }) = ended else {
            panic!("expected a kill, got {ended:?}");
        };
        assert!(secs >= 0.3);
        // Not the 30 s of the sleep: the pipes closed because the sleep died too.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_cap_counts_from_the_started_line() {
        // Half a second of start-up, then the clock starts: killed about 0.8 s after it, so
        // the killed run's time is the transfer's, not the start-up's.
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 0.5; echo started; sleep 30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let ended = run_capped(command, Duration::from_millis(800));
        let Ok(Ended::Killed { secs }) = ended else {
            panic!("expected a kill, got {ended:?}");
        };
        assert!((0.8..1.25).contains(&secs), "{secs}");
        assert!(started.elapsed() >= Duration::from_millis(1300));
    }

    #[test]
    fn a_run_within_its_cap_keeps_its_output() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "echo result bytes=1; echo oops >&2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let ended = run_capped(command, Duration::from_secs(20));
        let Ok(Ended::Exited {
            status,
            stdout,
            stderr,
        }) = ended
        else {
            panic!("expected an exit, got {ended:?}");
        };
        assert!(status.success());
        assert_eq!(
            (stdout.as_str(), stderr.as_str()),
            ("result bytes=1\n", "oops\n")
        );
    }
}
