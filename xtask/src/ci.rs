//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

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
    run_step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
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
    // The official Python SDKs against oss-local (installs its own venv; needs python3).
    crate::interop::run(&[])?;
    Ok(())
}
