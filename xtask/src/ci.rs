//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use crate::util::{cargo, run_step};

/// Runs the whole CI pipeline. Skips are deliberately not offered: CI is one thing.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`ci` takes no arguments, got `{arg}`"));
    }
    run_step("fmt", cargo().args(["fmt", "--all", "--check"]))?;
    // Generated code must match its spec; runs in-process (no build of the workspace needed).
    eprintln!("xtask: [codegen] checking crates/oss-model/src/generated");
    crate::codegen::run(&["--check".to_owned()]).map_err(|err| format!("[codegen] {err}"))?;
    run_step("clippy", &mut clippy(&["--workspace"]))?;
    // The progress test reads the bar from a real terminal through tmux; a fresh machine may
    // lack it (the test then says it was skipped, and why).
    install_if_missing("tmux", &["-V"]);
    run_step("test", cargo().args(["test", "--workspace", "--locked"]))?;
    // oss-auth's pure-Rust crypto backend passes the same vectors as the default one.
    run_step(
        "test oss-auth (rust-crypto)",
        cargo().args([
            "test",
            "-p",
            "oss-auth",
            "--no-default-features",
            "--features",
            "rust-crypto",
            "--locked",
        ]),
    )?;
    run_step(
        "doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // `cargo install ossmp --no-default-features` links no server: it builds, and oss-local is
    // not in its dependency tree.
    run_step(
        "ossmp without local",
        cargo().args(["build", "-p", "ossmp", "--no-default-features", "--locked"]),
    )?;
    run_step(
        "ossmp without local: clippy",
        &mut clippy(&["-p", "ossmp", "--no-default-features"]),
    )?;
    check_tree_lacks("ossmp", &["--no-default-features"], &["oss-local"])?;
    // The CLI reaches the wire model through the façade's re-exports only.
    check_tree_lacks("ossmp", &["--depth", "1"], &["oss-model"])?;
    // The sans-IO core ships with no runtime, HTTP stack or randomness.
    check_tree_lacks("oss-multipart-core", &[], &["tokio", "hyper", "rand"])?;
    // Versions, changelog, manifests, then `cargo package` of every published crate (no build).
    crate::release::run(&["--dry-run".to_owned()])?;
    // The official Python SDKs against oss-local (installs its own venv; needs python3).
    crate::interop::run(&[])?;
    Ok(())
}

/// Installs the Debian package `tool` when `tool ARGS` does not run, if this is a Debian
/// machine and we may (root); otherwise, or when that fails, says so and goes on.
fn install_if_missing(tool: &str, args: &[&str]) {
    let runs = |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status();
    if runs(Command::new(tool).args(args)).is_ok_and(|s| s.success()) {
        return;
    }
    let apt = |apt_args: &[&str]| {
        let mut c = Command::new("apt-get");
        c.args(apt_args).env("DEBIAN_FRONTEND", "noninteractive");
        run_step(&format!("install {tool}"), &mut c)
    };
    let installed = apt(&["-q", "update"]).and_then(|()| apt(&["-q", "-y", "install", tool]));
    if let Err(err) = installed {
        eprintln!(
            "xtask: `{tool}` is not installed and could not be ({err}); the tests that need it skip"
        );
    }
}

/// `cargo clippy SELECTION --all-targets --locked -- -D warnings`.
fn clippy(selection: &[&str]) -> Command {
    let mut command = cargo();
    command.arg("clippy").args(selection).args([
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    command
}

/// Fails when `cargo tree -p PACKAGE ARGS` (normal and build edges) holds any of `unwanted`.
fn check_tree_lacks(package: &str, args: &[&str], unwanted: &[&str]) -> Result<(), String> {
    let output = cargo()
        .args([
            "tree",
            "--locked",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .args(args)
        .output()
        .map_err(|err| format!("could not run cargo tree: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    let held: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split(' ').next())
        .filter(|name| unwanted.contains(name))
        .collect();
    if !held.is_empty() {
        return Err(format!(
            "[tree] `cargo tree -p {package} {}` holds {}",
            args.join(" "),
            held.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    eprintln!(
        "xtask: [tree] {package} {} holds none of {}",
        args.join(" "),
        unwanted.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_check_finds_a_dependency_and_passes_without_it() {
        let err = check_tree_lacks("oss-model", &[], &["tokio", "quick-xml"]).unwrap_err();
        assert!(err.ends_with("holds quick-xml"), "{err}");
        assert_eq!(
            check_tree_lacks("oss-model", &[], &["tokio", "hyper"]),
            Ok(())
        );
    }
}
