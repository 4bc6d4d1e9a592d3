//! `cargo xtask interop`: the official Python SDKs (`alibabacloud-oss-v2`, `oss2`) against
//! `oss-local`.
//!
//! Self-contained on a fresh machine with Python 3 and network access to PyPI: creates a venv
//! in `target/interop-venv` (reused while its requirement stamp matches), installs the SDKs
//! and pytest, builds the `oss-local` binary, starts it on an ephemeral port (parsing its
//! `listening on` line), runs `tests/interop`, stops the server, and ends with one
//! `interop: PASS` / `interop: FAIL` line.
//!
//! Environment: `OSS_INTEROP_PYTHON` picks the interpreter that creates the venv (default
//! `python3`); `OSS_INTEROP_VENV` moves the venv; extra arguments go to pytest (e.g. `-k v1`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::{cargo, run_step, workspace_root};

/// What the venv must contain; changing this list reinstalls.
const REQUIREMENTS: &[&str] = &[
    "alibabacloud-oss-v2>=1.4,<2",
    "oss2>=2.19,<3",
    "pytest>=7,<10",
];
const AK: &str = "interop-ak";
const SK: &str = "interop-secret";
const BUCKET: &str = "interop-bucket";
const SUFFIX: &str = "oss.localhost";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let started = Instant::now();
    let result = run_inner(args);
    let secs = started.elapsed().as_secs();
    match &result {
        Ok(()) => eprintln!("interop: PASS ({secs} s)"),
        Err(message) => eprintln!("interop: FAIL ({secs} s): {message}"),
    }
    result
}

fn run_inner(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let venv = std::env::var_os("OSS_INTEROP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("interop-venv"));
    let python = ensure_venv(&venv)?;
    let binary = build_server()?;
    let data_dir = std::env::temp_dir().join(format!("oss-interop-{}", std::process::id()));
    let mut server = Server::start(&binary, &data_dir)?;
    eprintln!("xtask: [interop] oss-local at {}", server.endpoint);
    let mut pytest = Command::new(&python);
    pytest
        .current_dir(root.join("tests").join("interop"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .args(args)
        .env("OSS_LOCAL_ENDPOINT", &server.endpoint)
        // The suite talks to 127.0.0.1 and uses the SDKs' explicit proxy setting for
        // virtual-host style; a proxy from the environment would only get in the way.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    let result = run_step("interop pytest", &mut pytest);
    server.stop();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Creates the venv and installs the requirements unless its stamp says they are there.
pub(crate) fn ensure_venv(venv: &Path) -> Result<PathBuf, String> {
    let python = venv_python(venv);
    let stamp = venv.join("oss-interop-requirements.txt");
    let wanted = REQUIREMENTS.join("\n");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    if !python.exists() {
        let base = std::env::var("OSS_INTEROP_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run_step(
            "interop venv",
            Command::new(&base).args(["-m", "venv"]).arg(venv),
        )?;
    }
    run_step(
        "interop pip",
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .args(REQUIREMENTS),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}

/// Builds `oss-local` and returns the executable path cargo reports (honours
/// `CARGO_TARGET_DIR`).
fn build_server() -> Result<PathBuf, String> {
    let mut command = cargo();
    command
        .args(["build", "-p", "oss-local", "--bin", "oss-local"])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    eprintln!("xtask: [interop build] {command:?}");
    let output = command
        .output()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !output.status.success() {
        return Err(format!("building oss-local failed with {}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter(|line| line.contains("\"name\":\"oss-local\"") && line.contains("\"bin\""))
        .find_map(|line| json_string_field(line, "executable"))
        .map(PathBuf::from)
        .ok_or_else(|| "cargo did not report the oss-local executable".to_owned())
}

/// The value of `"field":"..."` in one line of cargo's JSON (paths need only `\\` and `\"`).
pub(crate) fn json_string_field(line: &str, field: &str) -> Option<String> {
    let start = line.find(&format!("\"{field}\":\""))? + field.len() + 4;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn start(binary: &Path, data_dir: &Path) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--access-key-id", AK])
            .args(["--access-key-secret", SK, "--bucket", BUCKET])
            .args(["--virtual-host-suffix", SUFFIX, "--no-fsync", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout from oss-local")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("oss-local did not print its listening line within 60 s".to_owned());
        };
        let Some(endpoint) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("unexpected first line from oss-local: {line:?}"));
        };
        Ok(Self { child, endpoint })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::json_string_field;

    #[test]
    fn finds_the_executable_in_cargo_json() {
        let line = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"oss-local"},"executable":"/t/debug/oss-local","fresh":true}"#;
        assert_eq!(
            json_string_field(line, "executable").as_deref(),
            Some("/t/debug/oss-local")
        );
        assert_eq!(
            json_string_field(r#"{"executable":"C:\\t\\x.exe"}"#, "executable").as_deref(),
            Some("C:\\t\\x.exe")
        );
        assert_eq!(
            json_string_field(r#"{"executable":null}"#, "executable"),
            None
        );
    }
}
