//! The real binaries as processes: `oss-local` (binary `chaos-oss-local`), so a test can
//! SIGKILL it and bring it back on the same port and data directory, and `ossmp` (binary
//! `chaos-ossmp`) isolated from the user's profile and cache.
#![allow(dead_code, unreachable_pub, clippy::unwrap_in_result)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oss_chaos::{AK, BUCKET, REGION, SK};

/// A running `chaos-oss-local`.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    data_dir: PathBuf,
    args: Vec<String>,
}

impl ServerProcess {
    /// Starts on an ephemeral port with `args` added to the usual flags (faults, bandwidth...).
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let (child, addr) = spawn(data_dir, "127.0.0.1:0", &args).expect("oss-local did not start");
        Self {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            args,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL, `down` of downtime, then the same port and data directory again, with new
    /// extra flags when `args` says so.
    pub fn crash_and_restart(&mut self, down: Duration, args: Option<&[&str]>) {
        self.kill();
        if let Some(args) = args {
            self.args = args.iter().map(|a| (*a).to_owned()).collect();
        }
        std::thread::sleep(down);
        self.restart();
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again (after [`Self::kill`]) on the same port and data directory.
    pub fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port was just freed; binding may race the kernel for a moment.
            if let Some((child, _)) = spawn(&self.data_dir, &self.addr.to_string(), &self.args) {
                self.child = child;
                return;
            }
            assert!(Instant::now() < deadline, "oss-local did not restart");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(data_dir: &Path, listen: &str, args: &[String]) -> Option<(Child, SocketAddr)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaos-oss-local"))
        .args([
            "--listen",
            listen,
            "--access-key-id",
            AK,
            "--access-key-secret",
            SK,
        ])
        .args(["--bucket", BUCKET, "--no-fsync"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    match line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
    {
        Some(addr) => Some((child, addr)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// `ossmp --endpoint ENDPOINT --path-style` with an isolated HOME (no profile file, no user
/// cache), env credentials and region (`--region` overrides it), no stdin and piped output;
/// add the command after.
pub fn ossmp(home: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaos-ossmp"));
    cmd.env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("OSS_ACCESS_KEY_ID", AK)
        .env("OSS_ACCESS_KEY_SECRET", SK)
        .env("OSS_REGION", REGION)
        .args(["--endpoint", endpoint, "--path-style"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `cmd` run by `sh` under `ulimit -f blocks` with SIGXFSZ ignored: every write past the limit
/// fails with EFBIG, as writes to a full disk fail with ENOSPC.
pub fn under_file_size_limit(cmd: &Command, blocks: u32) -> Command {
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks} && exec \"$0\" \"$@\""
        ))
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            limited.env(k, v);
        }
    }
    limited
}
