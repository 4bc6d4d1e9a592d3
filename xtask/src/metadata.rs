//! The workspace as `cargo metadata` sees it: packages, what they ship with, and the published
//! subset. Shared by `msrv` and `release`, so both read the dependency graph the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::util::cargo;

/// A Rust release, `major.minor.patch`; `rust-version = "1.89"` reads as 1.89.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RustVersion(pub(crate) u32, pub(crate) u32, pub(crate) u32);

impl RustVersion {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split('.').map(|part| part.parse::<u32>());
        let bad = || format!("`{text}` is not a Rust version (MAJOR.MINOR[.PATCH])");
        let major = parts.next().and_then(Result::ok).ok_or_else(bad)?;
        let minor = parts.next().and_then(Result::ok).ok_or_else(bad)?;
        let patch = match parts.next() {
            None => 0,
            Some(patch) => patch.map_err(|_| bad())?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self(major, minor, patch))
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self(major, minor, 0) => write!(f, "{major}.{minor}"),
            Self(major, minor, patch) => write!(f, "{major}.{minor}.{patch}"),
        }
    }
}

/// One package of the resolved graph (a workspace member or a dependency).
#[derive(Debug)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) rust_version: Option<RustVersion>,
    /// A workspace member (not a registry or git dependency).
    pub(crate) member: bool,
    /// `publish` is not `false` (only meaningful for members).
    pub(crate) publishable: bool,
    /// The directory holding its `Cargo.toml`.
    pub(crate) dir: std::path::PathBuf,
    /// The raw `cargo metadata` entry, for manifest fields only one check reads.
    pub(crate) raw: Value,
}

/// A dependency edge of the resolved graph.
#[derive(Debug)]
pub(crate) struct Edge {
    pub(crate) to: String,
    /// A normal or build dependency, on some platform: it ships with the package. Dev-only
    /// edges do not.
    pub(crate) shipped: bool,
}

/// The resolved workspace, with every feature of every member enabled.
#[derive(Debug)]
pub(crate) struct Workspace {
    /// Keyed by package id.
    pub(crate) packages: BTreeMap<String, Package>,
    pub(crate) edges: BTreeMap<String, Vec<Edge>>,
}

impl Workspace {
    /// Runs `cargo metadata --all-features --locked` and reads its output.
    pub(crate) fn load() -> Result<Self, String> {
        let output = cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--all-features",
                "--locked",
            ])
            .output()
            .map_err(|err| format!("could not run cargo metadata: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Self::from_json(&String::from_utf8_lossy(&output.stdout))
    }

    /// Reads `cargo metadata --format-version 1` output.
    pub(crate) fn from_json(text: &str) -> Result<Self, String> {
        let root: Value =
            serde_json::from_str(text).map_err(|err| format!("cargo metadata: {err}"))?;
        let members: BTreeSet<&str> = root["workspace_members"]
            .as_array()
            .ok_or("cargo metadata: no workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut packages = BTreeMap::new();
        for raw in root["packages"]
            .as_array()
            .ok_or("cargo metadata: no packages")?
        {
            let id = str_field(raw, "id")?;
            let rust_version = match raw["rust_version"].as_str() {
                Some(text) => Some(RustVersion::parse(text).map_err(|err| format!("{id}: {err}"))?),
                None => None,
            };
            let manifest = std::path::PathBuf::from(str_field(raw, "manifest_path")?);
            let package = Package {
                name: str_field(raw, "name")?.to_owned(),
                version: str_field(raw, "version")?.to_owned(),
                rust_version,
                member: members.contains(id),
                // `publish = false` reads as an empty registry list.
                publishable: raw["publish"]
                    .as_array()
                    .is_none_or(|list| !list.is_empty()),
                dir: manifest.parent().map(Into::into).unwrap_or_default(),
                raw: raw.clone(),
            };
            packages.insert(id.to_owned(), package);
        }
        let mut edges = BTreeMap::new();
        for node in root["resolve"]["nodes"]
            .as_array()
            .ok_or("cargo metadata: no resolve graph")?
        {
            let from = str_field(node, "id")?;
            let mut out = Vec::new();
            for dep in node["deps"].as_array().into_iter().flatten() {
                let shipped = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind["kind"].as_str() != Some("dev"));
                out.push(Edge {
                    to: str_field(dep, "pkg")?.to_owned(),
                    shipped,
                });
            }
            edges.insert(from.to_owned(), out);
        }
        Ok(Self { packages, edges })
    }

    /// Ids of the members that get published, sorted by name.
    pub(crate) fn published(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .packages
            .iter()
            .filter(|(_, p)| p.member && p.publishable)
            .map(|(id, _)| id.as_str())
            .collect();
        ids.sort_by_key(|id| &self.packages[*id].name);
        ids
    }

    /// Every package `id` ships with: its normal and build dependencies, transitively (not `id`).
    pub(crate) fn shipped_closure(&self, id: &str) -> BTreeSet<&str> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            for edge in self.edges.get(at).into_iter().flatten() {
                if edge.shipped && seen.insert(edge.to.as_str()) {
                    stack.push(&edge.to);
                }
            }
        }
        seen.remove(id);
        seen
    }

    /// The direct shipped dependencies of `id` that are workspace members.
    pub(crate) fn member_deps(&self, id: &str) -> Vec<&str> {
        self.edges
            .get(id)
            .into_iter()
            .flatten()
            .filter(|edge| edge.shipped && self.packages.get(&edge.to).is_some_and(|p| p.member))
            .map(|edge| edge.to.as_str())
            .collect()
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("cargo metadata: an entry has no `{key}`"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny `cargo metadata` document: `members` are `(name, rust_version, publish)`,
    /// `deps` are `(from, to, kind)` with kind `None` (normal), `"build"` or `"dev"`.
    pub(crate) fn fake(
        members: &[(&str, Option<&str>, bool)],
        registry: &[(&str, Option<&str>)],
        deps: &[(&str, &str, Option<&str>)],
    ) -> String {
        let id = |name: &str| format!("id-{name}");
        let mut packages = Vec::new();
        for (name, rust_version, publish) in members {
            packages.push(serde_json::json!({
                "id": id(name), "name": name, "version": "0.1.0", "rust_version": rust_version,
                "publish": if *publish { Value::Null } else { serde_json::json!([]) },
                "manifest_path": format!("/ws/crates/{name}/Cargo.toml"),
            }));
        }
        for (name, rust_version) in registry {
            packages.push(serde_json::json!({
                "id": id(name), "name": name, "version": "1.0.0", "rust_version": rust_version,
                "publish": Value::Null, "manifest_path": format!("/registry/{name}/Cargo.toml"),
            }));
        }
        let nodes: Vec<Value> = members
            .iter()
            .map(|(name, ..)| *name)
            .chain(registry.iter().map(|(name, _)| *name))
            .map(|name| {
                let out: Vec<Value> = deps
                    .iter()
                    .filter(|(from, ..)| *from == name)
                    .map(|(_, to, kind)| {
                        serde_json::json!({"pkg": id(to), "dep_kinds": [{"kind": kind}]})
                    })
                    .collect();
                serde_json::json!({"id": id(name), "deps": out})
            })
            .collect();
        let members: Vec<String> = members.iter().map(|(name, ..)| id(name)).collect();
        serde_json::json!({
            "packages": packages, "workspace_members": members, "resolve": {"nodes": nodes},
        })
        .to_string()
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(RustVersion::parse("1.89"), Ok(RustVersion(1, 89, 0)));
        assert_eq!(RustVersion::parse("1.85.1"), Ok(RustVersion(1, 85, 1)));
        assert!(RustVersion::parse("1").is_err());
        assert!(RustVersion::parse("1.x").is_err());
        assert!(RustVersion::parse("1.2.3.4").is_err());
        assert!(RustVersion(1, 89, 0) > RustVersion(1, 85, 9));
        assert_eq!(RustVersion(1, 89, 0).to_string(), "1.89");
    }

    #[test]
    fn closure_follows_normal_and_build_edges_only() {
        let ws = Workspace::from_json(&fake(
            &[("lib", Some("1.85"), true), ("tool", None, false)],
            &[("a", None), ("b", None), ("c", None), ("d", None)],
            &[
                ("lib", "a", None),
                ("a", "b", Some("build")),
                ("lib", "c", Some("dev")),
                ("c", "d", None),
            ],
        ))
        .unwrap();
        let closure: Vec<&str> = ws.shipped_closure("id-lib").into_iter().collect();
        assert_eq!(closure, ["id-a", "id-b"]);
        assert_eq!(ws.published(), ["id-lib"]);
    }
}
