//! `cargo xtask msrv`: the declared `rust-version` must be the true minimum.
//!
//! The true minimum of a published crate is the newest `rust-version` among everything it ships
//! with (its normal and build dependencies, transitively, with every feature on), or our own
//! floor ([`OWN_CODE_FLOOR`]) when that is newer. Dev-dependencies do not count: users never
//! build them. Declaring less breaks users on older toolchains with an unhelpful error;
//! declaring more turns away users who could build the crate.
//!
//! Dependencies that declare no `rust-version` cannot be checked this way; CI building with the
//! declared toolchain would catch those.

use crate::metadata::{RustVersion, Workspace};

/// What our own code needs, whatever the dependencies say, and why.
const OWN_CODE_FLOOR: (RustVersion, &str) = (RustVersion(1, 85, 0), "edition 2024");

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`msrv` takes no arguments, got `{arg}`"));
    }
    let summary = check(&Workspace::load()?)?;
    eprintln!("xtask: [msrv] {summary}");
    Ok(())
}

/// Checks every published member; returns a one-line summary.
///
/// The published crates are released together with one `rust-version` (the workspace's), so
/// it must be the newest of their minimums: a leaf crate may declare more than it alone needs.
pub(crate) fn check(ws: &Workspace) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut overall = (OWN_CODE_FLOOR.0, OWN_CODE_FLOOR.1.to_owned());
    let mut declared_versions = Vec::new();
    for id in ws.published() {
        let package = &ws.packages[id];
        let (required, why) = required(ws, id);
        match package.rust_version {
            None => problems.push(format!(
                "{} declares no rust-version; it needs {required} ({why})",
                package.name
            )),
            Some(declared) if declared < required => problems.push(format!(
                "{} declares rust-version {declared} but needs {required} ({why}): raise \
                 `rust-version` in the workspace Cargo.toml and note it in CHANGELOG.md",
                package.name
            )),
            Some(declared) => declared_versions.push((package.name.as_str(), declared)),
        }
        if required > overall.0 {
            overall = (required, why);
        }
    }
    for (name, declared) in declared_versions {
        if declared > overall.0 {
            problems.push(format!(
                "{name} declares rust-version {declared} but the published crates only need {} \
                 ({}): lower it, or raise OWN_CODE_FLOOR in xtask/src/msrv.rs with the reason",
                overall.0, overall.1
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "rust-version {} is the true minimum ({})",
            overall.0, overall.1
        ))
    } else {
        Err(format!("[msrv] {}", problems.join("; ")))
    }
}

/// The minimum Rust for published member `id`, and what sets it.
fn required(ws: &Workspace, id: &str) -> (RustVersion, String) {
    let mut best = (OWN_CODE_FLOOR.0, OWN_CODE_FLOOR.1.to_owned());
    for dep in ws.shipped_closure(id) {
        let package = &ws.packages[dep];
        // Members share the workspace's declared version; they are checked on their own.
        if package.member {
            continue;
        }
        if let Some(version) = package.rust_version
            && version > best.0
        {
            best = (version, format!("{} {}", package.name, package.version));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::fake;

    fn check_fake(declared: &str, deps: &[(&str, &str, Option<&str>)]) -> Result<String, String> {
        let ws = Workspace::from_json(&fake(
            &[
                ("core", Some(declared), true),
                ("cli", Some(declared), true),
                ("bench", Some(declared), false),
            ],
            &[
                ("crc", Some("1.89")),
                ("proptest", Some("1.90")),
                ("tool", Some("1.91")),
                ("old", Some("1.60")),
                ("unversioned", None),
            ],
            deps,
        ))?;
        check(&ws)
    }

    const GRAPH: &[(&str, &str, Option<&str>)] = &[
        // `cli` alone needs only 1.85: it still shares the workspace's 1.89.
        ("core", "old", None),
        ("old", "crc", None),
        ("core", "unversioned", Some("build")),
        // Dev-dependencies and unpublished members do not raise the minimum.
        ("core", "proptest", Some("dev")),
        ("bench", "tool", None),
    ];

    #[test]
    fn transitive_normal_dependency_sets_the_minimum() {
        assert_eq!(
            check_fake("1.89", GRAPH),
            Ok("rust-version 1.89 is the true minimum (crc 1.0.0)".to_owned())
        );
    }

    #[test]
    fn declaring_less_than_a_dependency_needs_fails_and_names_it() {
        let err = check_fake("1.85", GRAPH).unwrap_err();
        assert!(
            err.contains("core declares rust-version 1.85 but needs 1.89 (crc 1.0.0)"),
            "{err}"
        );
        assert!(!err.contains("cli declares"), "{err}");
    }

    #[test]
    fn declaring_more_than_needed_fails() {
        let err = check_fake("1.90", GRAPH).unwrap_err();
        assert!(err.contains("core declares rust-version 1.90"), "{err}");
        assert!(err.contains("only need 1.89 (crc 1.0.0)"), "{err}");
    }

    #[test]
    fn own_floor_applies_without_dependencies() {
        let err = check_fake("1.80", &[]).unwrap_err();
        assert!(err.contains("needs 1.85 (edition 2024)"), "{err}");
    }

    /// The real workspace: fails when a dependency update raises the minimum past the
    /// declared `rust-version` (or the declaration drifts above it).
    #[test]
    fn workspace_rust_version_is_true() {
        let ws = Workspace::load().unwrap();
        assert_eq!(check(&ws).map(|_| ()), Ok(()));
    }
}
