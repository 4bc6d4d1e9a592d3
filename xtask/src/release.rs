//! `cargo xtask release --dry-run`: everything a release checks, without publishing.
//!
//! 1. Versions: every published crate carries the workspace version, and depends on the other
//!    published crates at exactly that version.
//! 2. The changelog has an `[Unreleased]` section and a section for that version.
//! 3. Every published crate has the metadata crates.io and docs.rs show (description, license,
//!    repository, keywords, categories, docs.rs settings) and ships both license files.
//! 4. The publish order: dependencies first, computed from the graph.
//! 5. `cargo package` of all of them in that order. cargo packages the crates of one
//!    invocation against each other (a local registry overlay), so crates that depend on
//!    not-yet-published workspace crates package without a registry round trip. `--no-verify`
//!    keeps CI fast; `--verify` also builds every packaged crate from its `.crate` file alone.
//!
//! Publishing itself is manual and follows RELEASING.md.

use std::collections::BTreeSet;

use crate::metadata::Workspace;
use crate::util::{cargo, run_step, workspace_root};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut dry_run = false;
    let mut verify = false;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--verify" => verify = true,
            other => {
                return Err(format!(
                    "`release` takes `--dry-run [--verify]`, got `{other}`"
                ));
            }
        }
    }
    if !dry_run {
        return Err(
            "only `cargo xtask release --dry-run` is automated; publishing follows RELEASING.md"
                .to_owned(),
        );
    }
    let ws = Workspace::load()?;
    let version = check_versions(&ws)?;
    let changelog = std::fs::read_to_string(workspace_root().join("CHANGELOG.md"))
        .map_err(|err| format!("[release] cannot read CHANGELOG.md: {err}"))?;
    check_changelog(&changelog, &version)?;
    check_manifests(&ws)?;
    let order = publish_order(&ws)?;
    eprintln!(
        "xtask: [release] version {version}, publish order: {}",
        order.join(", ")
    );
    let mut package = cargo();
    package.args(["package", "--locked", "--allow-dirty"]);
    if !verify {
        package.arg("--no-verify");
    }
    for name in &order {
        package.args(["-p", name]);
    }
    run_step("release: cargo package", &mut package)
}

/// All published crates share one version, and pin each other at it. Returns the version.
fn check_versions(ws: &Workspace) -> Result<String, String> {
    let published = ws.published();
    let first = published.first().ok_or("[release] no published crates")?;
    let version = ws.packages[*first].version.clone();
    let mut problems = Vec::new();
    for id in &published {
        let package = &ws.packages[*id];
        if package.version != version {
            problems.push(format!(
                "{} is at {} but {} is at {version}",
                package.name, package.version, ws.packages[*first].name
            ));
        }
        for dep in ws.member_deps(id) {
            let dep = &ws.packages[dep];
            if !dep.publishable {
                problems.push(format!(
                    "{} depends on {}, which is `publish = false`",
                    package.name, dep.name
                ));
            }
        }
        // The requirement as written, which is what crates.io will see.
        for dep in package.raw["dependencies"].as_array().into_iter().flatten() {
            let is_member_path = dep["path"].is_string() && dep["kind"].as_str() != Some("dev");
            if !is_member_path {
                continue;
            }
            let req = dep["req"].as_str().unwrap_or("*");
            if req != format!("^{version}") {
                problems.push(format!(
                    "{} requires {} `{req}`; expected `{version}` (set it in the workspace \
                     [workspace.dependencies])",
                    package.name,
                    dep["name"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(version)
    } else {
        Err(format!("[release] versions: {}", problems.join("; ")))
    }
}

/// The changelog has an `## [Unreleased]` section and a `## [VERSION]` section.
fn check_changelog(text: &str, version: &str) -> Result<(), String> {
    let headings: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("## ["))
        .filter_map(|rest| rest.split(']').next())
        .collect();
    let mut missing = Vec::new();
    for wanted in ["Unreleased", version] {
        if !headings.contains(&wanted) {
            missing.push(format!("`## [{wanted}]`"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "[release] CHANGELOG.md has no {} section",
            missing.join(" or ")
        ))
    }
}

/// The fields crates.io and docs.rs display, and the license files.
fn check_manifests(ws: &Workspace) -> Result<(), String> {
    let mut problems = Vec::new();
    for id in ws.published() {
        let package = &ws.packages[id];
        let raw = &package.raw;
        for field in ["description", "license", "repository"] {
            if raw[field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{} has no `{field}`", package.name));
            }
        }
        for field in ["keywords", "categories"] {
            if raw[field].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{} has no `{field}`", package.name));
            }
        }
        if !raw["metadata"]["docs"]["rs"].is_object() {
            problems.push(format!(
                "{} has no [package.metadata.docs.rs] (all-features, --cfg docsrs)",
                package.name
            ));
        }
        for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
            if !package.dir.join(file).is_file() {
                problems.push(format!(
                    "{} does not ship {file} (link it: ln -s ../../{file} {})",
                    package.name,
                    package.dir.display()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("[release] manifests: {}", problems.join("; ")))
    }
}

/// Published crates, every one after the published crates it depends on; ties by name.
fn publish_order(ws: &Workspace) -> Result<Vec<String>, String> {
    let mut left: Vec<&str> = ws.published();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|id| ws.member_deps(id).iter().all(|dep| done.contains(dep)))
            .collect();
        if ready.is_empty() {
            let names: Vec<&str> = left
                .iter()
                .map(|id| ws.packages[*id].name.as_str())
                .collect();
            return Err(format!(
                "[release] dependency cycle among {}",
                names.join(", ")
            ));
        }
        for id in ready {
            done.insert(id);
            order.push(ws.packages[id].name.clone());
        }
        left.retain(|id| !done.contains(id));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::fake;

    #[test]
    fn order_puts_dependencies_first() {
        let ws = Workspace::from_json(&fake(
            &[
                ("cli", None, true),
                ("facade", None, true),
                ("core", None, true),
                ("model", None, true),
                ("auth", None, true),
                ("bench", None, false),
            ],
            &[],
            &[
                ("cli", "facade", None),
                ("facade", "core", None),
                ("facade", "auth", None),
                ("core", "model", None),
                // A dev-dependency cycle is fine: cargo strips dev-dependencies on publish.
                ("model", "cli", Some("dev")),
                ("bench", "cli", None),
            ],
        ))
        .unwrap();
        assert_eq!(
            publish_order(&ws).unwrap(),
            ["auth", "model", "core", "facade", "cli"]
        );
    }

    #[test]
    fn shipped_cycle_is_an_error() {
        let ws = Workspace::from_json(&fake(
            &[("a", None, true), ("b", None, true)],
            &[],
            &[("a", "b", None), ("b", "a", Some("build"))],
        ))
        .unwrap();
        assert!(publish_order(&ws).unwrap_err().contains("cycle among a, b"));
    }

    #[test]
    fn changelog_needs_unreleased_and_the_version() {
        let good = "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n";
        assert_eq!(check_changelog(good, "0.2.0"), Ok(()));
        let err = check_changelog(good, "0.3.0").unwrap_err();
        assert!(err.contains("`## [0.3.0]`"), "{err}");
        let err = check_changelog("## [0.3.0]\n", "0.3.0").unwrap_err();
        assert!(err.contains("`## [Unreleased]`"), "{err}");
    }

    #[test]
    fn published_crate_depending_on_unpublished_one_is_refused() {
        let ws = Workspace::from_json(&fake(
            &[("lib", None, true), ("support", None, false)],
            &[],
            &[("lib", "support", None)],
        ))
        .unwrap();
        let err = check_versions(&ws).unwrap_err();
        assert!(err.contains("lib depends on support"), "{err}");
    }

    /// The real workspace: versions, changelog and manifests pass (packaging is the CI step).
    #[test]
    fn workspace_is_releasable() {
        let ws = Workspace::load().unwrap();
        let version = check_versions(&ws).unwrap();
        let changelog = std::fs::read_to_string(workspace_root().join("CHANGELOG.md")).unwrap();
        assert_eq!(check_changelog(&changelog, &version), Ok(()));
        assert_eq!(check_manifests(&ws), Ok(()));
        let order = publish_order(&ws).unwrap();
        let at = |name: &str| order.iter().position(|n| n == name).unwrap();
        assert!(at("oss-model") < at("oss-multipart-core"));
        assert!(at("oss-multipart-core") < at("oss-multipart"));
        assert!(at("oss-transport") < at("oss-multipart"));
        assert!(at("oss-multipart") < at("ossmp"));
        assert!(at("oss-local") < at("ossmp"));
    }
}
