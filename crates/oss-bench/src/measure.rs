//! Runs a child process and reports what the OS charged it: wall time, user and system CPU
//! time, and peak resident set size (`wait4`'s `rusage`).
//!
//! The figures are the child's own (and those of any grandchildren it waited for), so a
//! client measured this way cannot flatter itself, and the harness's own memory is not
//! counted.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::report::Record;

/// Resource usage of a finished child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// From spawn to exit.
    pub wall: Duration,
    /// CPU time in user mode.
    pub user: Duration,
    /// CPU time in the kernel.
    pub system: Duration,
    /// Peak resident set size in KiB.
    pub max_rss_kib: u64,
    /// Exit code; `None` if killed by a signal.
    pub exit_code: Option<i32>,
}

impl Usage {
    /// The `rusage` record line.
    pub fn record(&self) -> Record {
        Record::new("rusage")
            .field("wall_s", format!("{:.4}", self.wall.as_secs_f64()))
            .field("user_s", format!("{:.4}", self.user.as_secs_f64()))
            .field("sys_s", format!("{:.4}", self.system.as_secs_f64()))
            .field("maxrss_kib", self.max_rss_kib)
            .field(
                "exit",
                self.exit_code
                    .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
            )
    }
}

/// Spawns `command` (stdio inherited) and waits for it with `wait4`.
///
/// # Errors
/// When the child cannot be spawned or waited for.
pub fn run(command: &mut Command) -> io::Result<Usage> {
    let started = Instant::now();
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| io::Error::other("child pid out of range"))?;
    let (status, usage) = wait4(pid)?;
    let wall = started.elapsed();
    // `child` is reaped already; dropping a `Child` never waits or kills.
    drop(child);
    Ok(Usage {
        wall,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
    })
}

#[allow(unsafe_code)]
fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types; `pid` is our child,
        // which std has not reaped (we never called `wait` on it).
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            return Ok((status, usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_the_child() {
        // A shell that burns a little CPU and exits 3.
        let usage = run(Command::new("sh").args([
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3",
        ]))
        .unwrap();
        assert_eq!(usage.exit_code, Some(3));
        assert!(usage.max_rss_kib > 0);
        assert!(usage.user + usage.system > Duration::ZERO);
        assert!(usage.wall >= usage.user.min(usage.wall));
        let line = usage.record();
        assert_eq!(crate::report::field(line.as_str(), "exit"), Some("3"));
    }
}
