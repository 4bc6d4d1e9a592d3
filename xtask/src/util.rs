//! Small helpers shared by the tasks: locating the workspace and running commands loudly.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of the `xtask` directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// A `cargo` command rooted at the workspace, using the cargo that invoked us.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Runs `command`, echoing it first, and turns a non-zero exit into an error naming the step.
pub(crate) fn run_step(step: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: [{step}] {command:?}");
    let status = command
        .status()
        .map_err(|err| format!("[{step}] could not start {command:?}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("[{step}] failed with {status}"))
    }
}
