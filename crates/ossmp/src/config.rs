//! Where connection settings come from: flags, then the environment, then the profile file.
//!
//! clap already folds the environment into the flag values (each global flag names its variable), so this
//! module only has to layer the profile file underneath. Credentials are taken as a group from the highest
//! layer that has an AccessKey ID: mixing an ID from one place with a secret or STS token from another is never
//! what anyone meant and fails with a confusing signature error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::exit::{CliError, Exit};

/// One `[section]` of the profile file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) access_key_id: Option<String>,
    pub(crate) access_key_secret: Option<String>,
    pub(crate) session_token: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    /// Default bucket for commands whose location is optional (`uploads ls`).
    pub(crate) bucket: Option<String>,
    pub(crate) path_style: Option<bool>,
    pub(crate) v1_signature: Option<bool>,
    /// Transfer defaults, under the flags (see `defaults.rs`): e.g. `part_size = "64MiB"`.
    pub(crate) part_size: Option<String>,
    /// Parts (or ranges) in flight per file, like `--jobs`.
    pub(crate) jobs: Option<u16>,
    /// Bandwidth limit, like `--bwlimit`: e.g. `bwlimit = "50MiB/s"`.
    pub(crate) bwlimit: Option<String>,
}

/// A credential triple. `Debug` never shows the secret or the token.
#[derive(Clone)]
pub(crate) struct Creds {
    pub(crate) access_key_id: String,
    pub(crate) access_key_secret: String,
    pub(crate) session_token: Option<String>,
}

impl fmt::Debug for Creds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Creds")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Everything needed to build a client, after layering.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) creds: Option<Creds>,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) bucket: Option<String>,
    pub(crate) path_style: bool,
    pub(crate) v1_signature: bool,
}

/// The documented default location of the profile file: `$XDG_CONFIG_HOME/ossmp/config.toml` when that is
/// set (to an absolute path, as the XDG spec requires), else `~/.config/ossmp/config.toml` on every platform,
/// so the README's path is right on macOS too.
pub(crate) fn default_profile_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| dirs::home_dir().map(|h| h.join(".config")))
        .map(|c| c.join("ossmp").join("config.toml"))
}

/// Reads one section of a profile file. A missing default file is fine (empty profile); a missing file the user
/// named explicitly, a missing section they asked for by name, or a malformed file are usage errors.
pub(crate) fn load_profile(path: Option<&Path>, name: &str) -> Result<Profile, CliError> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_profile_path() {
            Some(p) => (p, false),
            None => return Ok(Profile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return if name == "default" {
                Ok(Profile::default())
            } else {
                Err(CliError::usage(format!(
                    "profile `{name}` requested but {} does not exist",
                    path.display()
                ))
                .hint("create it with a [NAME] section, or drop --profile"))
            };
        }
        Err(e) => {
            return Err(CliError::usage(format!(
                "cannot read profile file {}: {e}",
                path.display()
            )));
        }
    };
    parse_profile(&text, name).map_err(|msg| CliError::usage(format!("{}: {msg}", path.display())))
}

fn parse_profile(text: &str, name: &str) -> Result<Profile, String> {
    let mut sections: BTreeMap<String, Profile> =
        toml::from_str(text).map_err(|e| e.message().to_owned())?;
    match sections.remove(name) {
        Some(p) => Ok(p),
        None if name == "default" => Ok(Profile::default()),
        None => Err(format!(
            "no [{name}] section (sections: {})",
            sections
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Layers flags/environment over the profile.
pub(crate) fn resolve(global: &GlobalArgs, profile: Profile) -> Result<Settings, CliError> {
    let creds = match (&global.access_key_id, &global.access_key_secret) {
        (Some(id), Some(secret)) => Some(Creds {
            access_key_id: id.clone(),
            access_key_secret: secret.clone(),
            session_token: global.session_token.clone(),
        }),
        (Some(_), None) => {
            return Err(
                CliError::new(Exit::Auth, "an AccessKey ID was given but no secret")
                    .hint("set OSS_ACCESS_KEY_SECRET or pass --access-key-secret"),
            );
        }
        (None, Some(_)) => {
            return Err(
                CliError::new(Exit::Auth, "an AccessKey secret was given but no ID")
                    .hint("set OSS_ACCESS_KEY_ID or pass --access-key-id"),
            );
        }
        (None, None) => match (profile.access_key_id, profile.access_key_secret) {
            (Some(id), Some(secret)) => Some(Creds {
                access_key_id: id,
                access_key_secret: secret,
                session_token: profile.session_token,
            }),
            (None, None) => None,
            _ => {
                return Err(CliError::new(
                    Exit::Auth,
                    "the profile has only half of an AccessKey pair",
                )
                .hint("give both access_key_id and access_key_secret in the profile file"));
            }
        },
    };
    Ok(Settings {
        creds,
        endpoint: global.endpoint.clone().or(profile.endpoint),
        region: global.region.clone().or(profile.region),
        bucket: profile.bucket,
        path_style: global.path_style || profile.path_style.unwrap_or(false),
        v1_signature: global.v1_signature || profile.v1_signature.unwrap_or(false),
    })
}

impl Settings {
    /// The credentials, or the standard "how to provide them" error (exit 3).
    pub(crate) fn require_creds(&self) -> Result<&Creds, CliError> {
        self.creds.as_ref().ok_or_else(|| {
            CliError::new(Exit::Auth, "no credentials found").hint(
                "set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, pass --access-key-id/--access-key-secret, \
                 or add them to ~/.config/ossmp/config.toml",
            )
        })
    }

    /// The endpoint URL with a scheme: given directly, or derived from the region.
    pub(crate) fn require_endpoint(&self) -> Result<String, CliError> {
        match (&self.endpoint, &self.region) {
            (Some(e), _) if e.contains("://") => Ok(e.clone()),
            (Some(e), _) => Ok(format!("https://{e}")),
            (None, Some(r)) => Ok(format!("https://oss-{}.aliyuncs.com", r.trim_start_matches("oss-"))),
            (None, None) => Err(CliError::usage("no endpoint or region configured")
                .hint("set OSS_ENDPOINT or OSS_REGION, pass --endpoint/--region, or add them to the profile file")),
        }
    }

    /// Region for V4 signing: given, or read from a standard `oss-<region>[-internal].aliyuncs.com` endpoint.
    pub(crate) fn effective_region(&self) -> Option<String> {
        if let Some(r) = &self.region {
            return Some(r.trim_start_matches("oss-").to_owned());
        }
        let endpoint = self.endpoint.as_deref()?;
        let host = endpoint.split("://").last()?.split(['/', ':']).next()?;
        let label = host.strip_suffix(".aliyuncs.com")?.rsplit('.').next()?;
        let region = label.strip_prefix("oss-")?.trim_end_matches("-internal");
        (!region.is_empty()).then(|| region.to_owned())
    }

    /// Path-style addressing: requested, or implied because the endpoint is an IP address or localhost
    /// (virtual-hosted names cannot resolve there).
    pub(crate) fn use_path_style(&self, endpoint: &str) -> bool {
        if self.path_style {
            return true;
        }
        let host = endpoint.split("://").last().unwrap_or(endpoint);
        let host = host.split('/').next().unwrap_or(host);
        let host = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| h.trim_start_matches('['))
                .unwrap_or(host)
        } else {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        };
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn global(args: &[&str]) -> GlobalArgs {
        // Use a subcommand that needs nothing else; env vars are not consulted because tests pass flags only
        // and the OSS_* variables are unset in CI.
        let mut all = vec!["ossmp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["uploads", "ls"]);
        Cli::try_parse_from(all).unwrap().global
    }

    const FILE: &str = r#"
[default]
access_key_id = "file-id"
access_key_secret = "file-secret"
endpoint = "oss-cn-hangzhou.aliyuncs.com"
bucket = "dflt"

[local]
access_key_id = "l-id"
access_key_secret = "l-secret"
session_token = "l-token"
endpoint = "http://127.0.0.1:9000"
"#;

    #[test]
    fn flags_beat_profile() {
        let p = parse_profile(FILE, "default").unwrap();
        let s = resolve(
            &global(&[
                "--access-key-id",
                "flag-id",
                "--access-key-secret",
                "flag-secret",
            ]),
            p,
        )
        .unwrap();
        let c = s.creds.as_ref().unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.access_key_secret.as_str()),
            ("flag-id", "flag-secret")
        );
        assert_eq!(s.endpoint.as_deref(), Some("oss-cn-hangzhou.aliyuncs.com"));
        assert_eq!(
            s.require_endpoint().unwrap(),
            "https://oss-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(s.effective_region().as_deref(), Some("cn-hangzhou"));
        assert_eq!(s.bucket.as_deref(), Some("dflt"));
    }

    #[test]
    fn profile_fills_gaps_as_a_group() {
        let p = parse_profile(FILE, "local").unwrap();
        let s = resolve(&global(&["--region", "cn-beijing"]), p).unwrap();
        let c = s.creds.as_ref().unwrap();
        assert_eq!(c.access_key_id, "l-id");
        assert_eq!(c.session_token.as_deref(), Some("l-token"));
        assert_eq!(s.region.as_deref(), Some("cn-beijing"));
        assert!(s.use_path_style(&s.require_endpoint().unwrap()));
        assert!(!format!("{c:?}").contains("l-secret"));
        assert!(!format!("{c:?}").contains("l-token"));
    }

    #[test]
    fn half_pairs_and_missing_things_are_errors() {
        let e = resolve(&global(&["--access-key-id", "x"]), Profile::default()).unwrap_err();
        assert_eq!(e.exit(), Exit::Auth);
        let s = resolve(&global(&[]), Profile::default()).unwrap();
        assert_eq!(s.require_creds().unwrap_err().exit(), Exit::Auth);
        assert_eq!(s.require_endpoint().unwrap_err().exit(), Exit::Usage);
        assert!(parse_profile(FILE, "nope").unwrap_err().contains("local"));
        assert!(parse_profile("[default]\nacces_key_id = 1", "default").is_err());
        assert!(parse_profile("not toml [", "default").is_err());
        assert!(parse_profile("", "default").is_ok());
    }

    #[test]
    fn path_style_detection() {
        let s = resolve(&global(&[]), Profile::default()).unwrap();
        assert!(s.use_path_style("http://127.0.0.1:9000"));
        assert!(s.use_path_style("http://localhost:9000/"));
        assert!(s.use_path_style("http://[::1]:9000"));
        assert!(!s.use_path_style("https://oss-cn-hangzhou.aliyuncs.com"));
    }

    #[test]
    fn region_from_internal_endpoint() {
        let mut s = resolve(&global(&[]), Profile::default()).unwrap();
        s.endpoint = Some("https://oss-cn-shanghai-internal.aliyuncs.com".into());
        assert_eq!(s.effective_region().as_deref(), Some("cn-shanghai"));
        s.endpoint = Some("http://127.0.0.1:9000".into());
        assert_eq!(s.effective_region(), None);
    }
}
