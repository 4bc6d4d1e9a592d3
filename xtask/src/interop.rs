//! `cargo xtask interop`: the official Python SDKs (`alibabacloud-oss-v2`, `oss2`) against
//! `oss-local`.
//!
//! Self-contained on a fresh machine with Python 3 and network access to PyPI: creates a venv
//! in `target/interop-venv` (reused while its requirement stamp matches), installs the SDKs
//! and pytest, builds the `oss-local` and `ossmp` binaries, starts `oss-local` on an ephemeral
//! port (parsing its `listening on` line), runs `tests/interop` (with `OSSMP_BIN` naming the
//! downloader that fetches what the SDKs wrote), stops the server, and ends with one
//! `interop: PASS` / `interop: FAIL` line.
//!
//! Then it runs the official `oss2` SDK's own test suite (from its PyPI source package,
//! downloaded into `target/oss2-suite`, never copied into the repository) against the same
//! server through our harness `tests/oss2-suite` (its environment, the loopback-only guard
//! and the list of excluded tests with their reasons): the files of [`OSS2_SUITE_V4`] signed
//! with V4, then [`OSS2_SUITE_V1`] signed with V1.
//!
//! It also builds the `list_stream` example of oss-multipart, whose path the suite gets in
//! `OSS_LIST_STREAM_BIN`: the listing judge runs our streams over what the SDK created.
//! Between the two, the Node.js SDK `ali-oss` and Apache OpenDAL run against a second,
//! default oss-local (see [`crate::interop_clients`]).
//!
//! Environment: `OSS_INTEROP_PYTHON` picks the interpreter that creates the venv (default
//! `python3`); `OSS_INTEROP_VENV` moves the venv; extra arguments go to pytest (e.g. `-k v1`)
//! for `tests/interop` only; `OSS_INTEROP_OSS2_SUITE=0` skips the oss2 suite.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::{cargo, run_step, workspace_root};

/// What the venv must contain; changing this list reinstalls.
const REQUIREMENTS: &[&str] = &[
    "alibabacloud-oss-v2>=1.4,<2",
    // The version whose source package's tests/ the oss2 suite runs.
    "oss2==2.19.1",
    "pytest>=7,<10",
    // Imported by oss2's own tests.
    "mock>=4",
];
/// The oss2 source package whose `tests/` run against oss-local.
const OSS2_SDIST: &str = "oss2==2.19.1";
const OSS2_DIR: &str = "oss2-2.19.1";
/// oss2 test files run with V4 signing.
const OSS2_SUITE_V4: &[&str] = &[
    "test_multipart.py",
    "test_upload.py",
    "test_download.py",
    "test_iterator.py",
    "test_crc64_combine.py",
    "test_object.py",
    "test_chinese.py",
    "test_crypto_multipart.py",
    "test_put_object_chunked.py",
    "test_sign.py",
    "test_traffic_limit.py",
];
/// oss2 test files run again with V1 signing (the ones whose requests differ most between
/// the two signatures: sub-resources, Unicode headers, presigned URLs).
const OSS2_SUITE_V1: &[&str] = &[
    "test_multipart.py",
    "test_object.py",
    "test_chinese.py",
    "test_sign.py",
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
    let binary = build_bin("oss-local")?;
    // `ossmp` runs the copy whose result the SDKs check (tests/interop/test_copy.py).
    let cli = build_bin("ossmp")?;
    // Our listing streams, printed as JSON lines, judged by tests/interop/test_listing_scale.py
    // on data the official SDK created.
    let lister = build_target("oss-multipart", "example", "list_stream")?;
    let data_dir = std::env::temp_dir().join(format!("oss-interop-{}", std::process::id()));
    let mut server = Server::start(&binary, &data_dir)?;
    eprintln!("xtask: [interop] oss-local at {}", server.endpoint);
    let mut pytest = Command::new(&python);
    pytest
        .current_dir(root.join("tests").join("interop"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .args(args)
        .env("OSS_LOCAL_ENDPOINT", &server.endpoint)
        .env("OSSMP_BIN", &cli)
        .env("OSS_LIST_STREAM_BIN", &lister)
        // The suite talks to 127.0.0.1 and uses the SDKs' explicit proxy setting for
        // virtual-host style; a proxy from the environment would only get in the way.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    let mut result = run_step("interop pytest", &mut pytest);
    if result.is_ok() {
        result = run_plain_clients(&root, &binary, &data_dir.with_extension("plain"));
    }
    if result.is_ok() && std::env::var("OSS_INTEROP_OSS2_SUITE").as_deref() != Ok("0") {
        result = run_oss2_suite(&root, &python, &server.endpoint);
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

/// ali-oss and OpenDAL against a second oss-local started with only a key pair and a bucket:
/// they must work with a default server.
fn run_plain_clients(root: &Path, binary: &Path, data_dir: &Path) -> Result<(), String> {
    let mut server = Server::start_plain(binary, data_dir)?;
    eprintln!("xtask: [interop] plain oss-local at {}", server.endpoint);
    let target = crate::interop_clients::Target {
        endpoint: &server.endpoint,
        bucket: BUCKET,
        access_key_id: AK,
        access_key_secret: SK,
    };
    let result = crate::interop_clients::run(root, &target);
    server.stop();
    let _ = std::fs::remove_dir_all(data_dir);
    result
}

/// Runs oss2's own tests (V4 then V1) against `endpoint`.
fn run_oss2_suite(root: &Path, python: &Path, endpoint: &str) -> Result<(), String> {
    let sdist = fetch_oss2_sdist(root, python)?;
    let harness = root.join("tests").join("oss2-suite");
    for (version, files) in [("v4", OSS2_SUITE_V4), ("v1", OSS2_SUITE_V1)] {
        let mut pytest = Command::new(python);
        pytest
            .current_dir(&sdist)
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "oss2_harness",
            ])
            .args(files.iter().map(|f| format!("tests/{f}")))
            .env("PYTHONPATH", &harness)
            .env("OSS_TEST_ACCESS_KEY_ID", AK)
            .env("OSS_TEST_ACCESS_KEY_SECRET", SK)
            .env("OSS_TEST_ENDPOINT", endpoint)
            .env("OSS_TEST_REGION", "cn-hangzhou")
            .env("OSS_TEST_AUTH_VERSION", version)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
        run_step(&format!("interop oss2 suite ({version})"), &mut pytest)?;
    }
    Ok(())
}

/// Downloads and unpacks the oss2 source package once; returns its directory.
fn fetch_oss2_sdist(root: &Path, python: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target").join("oss2-suite");
    let unpacked = dir.join(OSS2_DIR);
    if unpacked.join("tests").join("common.py").exists() {
        return Ok(unpacked);
    }
    run_step(
        "interop oss2 sdist",
        Command::new(python)
            .args(["-m", "pip", "download", "--disable-pip-version-check", "-q"])
            .args(["--no-binary", ":all:", "--no-deps", "-d"])
            .arg(&dir)
            .arg(OSS2_SDIST),
    )?;
    let archive = dir.join(format!("{OSS2_DIR}.tar.gz"));
    run_step(
        "interop oss2 unpack",
        Command::new(python)
            .args([
                "-c",
                "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])",
            ])
            .arg(&archive)
            .arg(&dir),
    )?;
    Ok(unpacked)
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

/// Builds the binary `name` of the package of the same name; returns its path.
fn build_bin(name: &str) -> Result<PathBuf, String> {
    build_target(name, "bin", name)
}

/// Builds target `name` of kind `kind` (`bin` or `example`) in `package` and returns the
/// executable path cargo reports.
fn build_target(package: &str, kind: &str, name: &str) -> Result<PathBuf, String> {
    let mut command = cargo();
    command
        .args(["build", "-p", package, &format!("--{kind}"), name])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    eprintln!("xtask: [interop build] {command:?}");
    let output = command
        .output()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !output.status.success() {
        return Err(format!("building {name} failed with {}", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(&format!("\"name\":\"{name}\"")))
        .find_map(|line| json_string_field(line, "executable"))
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo did not report the {name} executable"))
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
        Self::spawn(
            Command::new(binary)
                .args(["--virtual-host-suffix", SUFFIX, "--no-fsync"])
                // Callbacks: the suite's own callback servers run on 127.0.0.1; oss2's presigned
                // callback test names an Internet host, mapped to a closed local port so the
                // callback fails (203, as the test expects) without any name lookup.
                .args(["--callback-allow", "127.0.0.1"])
                .args(["--callback-allow", "cbsrv.oss.demo.com=127.0.0.1:9"])
                .arg("--data-dir")
                .arg(data_dir),
            binary,
        )
    }

    /// The server as a newcomer starts it: a key pair, a bucket, defaults for the rest.
    fn start_plain(binary: &Path, data_dir: &Path) -> Result<Self, String> {
        Self::spawn(Command::new(binary).arg("--data-dir").arg(data_dir), binary)
    }

    fn spawn(command: &mut Command, binary: &Path) -> Result<Self, String> {
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--access-key-id", AK])
            .args(["--access-key-secret", SK, "--bucket", BUCKET])
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
