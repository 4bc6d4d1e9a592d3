//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use std::collections::BTreeSet;
use std::process::Command;

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
