//! The clients of `cargo xtask interop` that are not Python: the official Node.js SDK
//! (`ali-oss`, from npm) and Apache OpenDAL's `oss` service (the Rust crate, built from
//! `crates/opendal-probe`, a crate outside the workspace with its own lockfile so the
//! workspace build never compiles OpenDAL).
//!
//! Both run against an oss-local started with nothing but its key pair and bucket, as a
//! newcomer would start it. The peers benchmark reuses [`ali_oss_modules`] and
//! [`opendal_probe`] to get the same installs.
//!
//! Environment: `OSS_INTEROP_ALI_OSS=0` / `OSS_INTEROP_OPENDAL=0` skip one client.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::interop::json_string_field;
use crate::util::{cargo, run_step};

/// Installs `tests/ali-oss` (package.json + package-lock.json, `npm ci`) into
/// `target/ali-oss` unless the installed lockfile is already the checked-in one; returns that
/// directory (its `node_modules` holds ali-oss).
pub(crate) fn ali_oss_modules(root: &Path) -> Result<PathBuf, String> {
    let source = root.join("tests").join("ali-oss");
    let dir = root.join("target").join("ali-oss");
    let lock = read(&source.join("package-lock.json"))?;
    let stamp = dir.join("installed-package-lock.json");
    if dir.join("node_modules").is_dir()
        && std::fs::read_to_string(&stamp).ok() == Some(lock.clone())
    {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file))
            .map_err(|e| format!("copying {file} into {}: {e}", dir.display()))?;
    }
    run_step(
        "interop npm ci",
        Command::new("npm").current_dir(&dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
    )?;
    std::fs::write(&stamp, lock).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(dir)
}

/// Builds `crates/opendal-probe` into the workspace's target directory and returns the
/// executable. The interop check builds it with the dev profile: its lockfile is seeded from
/// the workspace's and its dev profile is the workspace's, so it reuses most of what the
/// workspace's debug build compiled and only OpenDAL's own crates are new. A benchmark wants
/// `release`.
pub(crate) fn opendal_probe(root: &Path, release: bool) -> Result<PathBuf, String> {
    let manifest = root.join("crates").join("opendal-probe").join("Cargo.toml");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut command = cargo();
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .args(["--locked", "--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit());
    if release {
        command.arg("--release");
    }
    eprintln!("xtask: [interop opendal build] {command:?}");
    let output = command
        .output()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building opendal-probe failed with {}",
            output.status
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("\"name\":\"opendal-probe\"") && line.contains("\"bin\""))
        .find_map(|line| json_string_field(line, "executable"))
        .map(PathBuf::from)
        .ok_or_else(|| "cargo did not report the opendal-probe executable".to_owned())
}

/// Where a client finds the server and its credentials.
pub(crate) struct Target<'a> {
    pub(crate) endpoint: &'a str,
    pub(crate) bucket: &'a str,
    pub(crate) access_key_id: &'a str,
    pub(crate) access_key_secret: &'a str,
}

/// Runs ali-oss and OpenDAL against `target` (each unless switched off).
pub(crate) fn run(root: &Path, target: &Target<'_>) -> Result<(), String> {
    if enabled("OSS_INTEROP_ALI_OSS") {
        let modules = ali_oss_modules(root)?;
        let mut node = Command::new("node");
        node.arg(root.join("tests").join("ali-oss").join("interop.js"))
            .env("NODE_PATH", modules.join("node_modules"));
        run_step("interop ali-oss", with_target(&mut node, target))?;
    }
    if enabled("OSS_INTEROP_OPENDAL") {
        let probe = opendal_probe(root, false)?;
        let mut check = Command::new(probe);
        check.arg("check");
        run_step("interop opendal", with_target(&mut check, target))?;
    }
    Ok(())
}

fn with_target<'c>(command: &'c mut Command, target: &Target<'_>) -> &'c mut Command {
    command
        .env("OSS_LOCAL_ENDPOINT", target.endpoint)
        .env("OSS_ENDPOINT", target.endpoint)
        .env("OSS_BUCKET", target.bucket)
        .env("OSS_ACCESS_KEY_ID", target.access_key_id)
        .env("OSS_ACCESS_KEY_SECRET", target.access_key_secret)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
}

fn enabled(switch: &str) -> bool {
    std::env::var(switch).as_deref() != Ok("0")
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}
