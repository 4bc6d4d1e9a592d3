//! Where connection settings come from: flags, then the environment, then the profile file.
//!
//! The environment is read by the library (`ClientBuilder::with_env` and its credential chain), so the CLI and
//! `Client::from_env` read it the same way; this module keeps the flags and the profile file as separate layers
//! around it. Credentials are taken as a group from the highest layer that has an AccessKey ID: mixing an ID
//! from one place with a secret or STS token from another is never what anyone meant and fails with a confusing
//! signature error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use oss_multipart::{Addressing, Env, EnvProvider};

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
    /// `virtual`, `path` or `cname`.
    pub(crate) addressing: Option<String>,
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

/// The endpoint-related values of one layer (flags, or the profile file).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) addressing: Option<Addressing>,
    pub(crate) v1_signature: bool,
}

/// Everything needed to build a client. Endpoint values stay in layers (flags over the environment over the
/// profile file): [`crate::client::build`] hands them to the library's builder in that order, so the one
/// resolution rule of the library decides, as it does for `Client::from_env`.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Fixed keys: from the flags, else from the profile file when the environment holds none.
    pub(crate) creds: Option<Creds>,
    pub(crate) flags: Layer,
    pub(crate) profile: Layer,
    pub(crate) bucket: Option<String>,
    /// `--profile`, also used for the Alibaba Cloud profile files of the credential chain.
    pub(crate) chain_profile: Option<String>,
    /// `--proxy` (else the environment's `HTTPS_PROXY`... as the library reads them).
    pub(crate) proxy: Option<String>,
    /// `--ca-bundle` (else `SSL_CERT_FILE`, read by the library).
    pub(crate) ca_bundle: Option<PathBuf>,
    pub(crate) env: Env,
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

/// Collects the flags, the profile file and the environment.
pub(crate) fn resolve(
    global: &GlobalArgs,
    profile: Profile,
    env: Env,
) -> Result<Settings, CliError> {
    let creds = match (&global.access_key_id, &global.access_key_secret) {
        (Some(id), Some(secret)) => Some(Creds {
            access_key_id: id.clone(),
            access_key_secret: secret.clone(),
            session_token: global.session_token.clone(),
        }),
        (Some(_), None) => {
            return Err(
                CliError::new(Exit::Auth, "an AccessKey ID was given but no secret")
                    .hint("pass --access-key-secret too, or set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET"),
            );
        }
        (None, Some(_)) => {
            return Err(
                CliError::new(Exit::Auth, "an AccessKey secret was given but no ID").hint(
                    "pass --access-key-id too, or set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET",
                ),
            );
        }
        // Keys in the environment outrank the profile file: leave them to the chain (its first source).
        (None, None) if EnvProvider::with_env(env.clone()).load().is_ok() => None,
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
    let profile_addressing = match profile.addressing.as_deref() {
        Some(a) => Some(
            a.parse::<Addressing>()
                .map_err(|e| CliError::usage(format!("profile file: addressing: {e}")))?,
        ),
        None => profile
            .path_style
            .unwrap_or(false)
            .then_some(Addressing::Path),
    };
    Ok(Settings {
        creds,
        flags: Layer {
            endpoint: global.endpoint.clone(),
            region: global.region.clone(),
            addressing: global
                .addressing
                .or(global.path_style.then_some(Addressing::Path)),
            v1_signature: global.v1_signature,
        },
        profile: Layer {
            endpoint: profile.endpoint,
            region: profile.region,
            addressing: profile_addressing,
            v1_signature: profile.v1_signature.unwrap_or(false),
        },
        bucket: profile.bucket,
        chain_profile: global.profile.clone(),
        proxy: global.proxy.clone(),
        ca_bundle: global.ca_bundle.clone(),
        env,
    })
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

    fn no_env() -> Env {
        Env::from_pairs(std::iter::empty::<(String, String)>())
    }

    #[tokio::test]
    async fn flags_beat_profile() {
        let p = parse_profile(FILE, "default").unwrap();
        let s = resolve(
            &global(&[
                "--access-key-id",
                "flag-id",
                "--access-key-secret",
                "flag-secret",
            ]),
            p,
            no_env(),
        )
        .unwrap();
        let c = s.creds.as_ref().unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.access_key_secret.as_str()),
            ("flag-id", "flag-secret")
        );
        assert_eq!(s.bucket.as_deref(), Some("dflt"));
        let client = crate::client::build(&s, &[]).unwrap();
        assert_eq!(client.endpoint(), "https://oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(client.signing_region(), Some("cn-hangzhou"));
        let source = client.credentials_provider().source();
        assert_eq!(source.as_deref(), Some("static"));
    }

    #[tokio::test]
    async fn profile_fills_gaps_as_a_group_and_env_keys_outrank_it() {
        let p = parse_profile(FILE, "local").unwrap();
        let s = resolve(&global(&["--region", "cn-beijing"]), p.clone(), no_env()).unwrap();
        let c = s.creds.as_ref().unwrap();
        assert_eq!(c.access_key_id, "l-id");
        assert_eq!(c.session_token.as_deref(), Some("l-token"));
        let client = crate::client::build(&s, &[]).unwrap();
        assert_eq!(client.signing_region(), Some("cn-beijing"));
        assert_eq!(client.addressing(), Addressing::Path);
        assert!(!format!("{c:?}").contains("l-secret"));
        assert!(!format!("{c:?}").contains("l-token"));

        let env = Env::from_pairs([("OSS_ACCESS_KEY_ID", "e"), ("OSS_ACCESS_KEY_SECRET", "k")]);
        let s = resolve(&global(&[]), p, env).unwrap();
        assert!(s.creds.is_none(), "the chain reads the environment's keys");
    }

    #[tokio::test]
    async fn half_pairs_and_missing_things_are_errors() {
        let e = resolve(
            &global(&["--access-key-id", "x"]),
            Profile::default(),
            no_env(),
        )
        .unwrap_err();
        assert_eq!(e.exit(), Exit::Auth);
        let s = resolve(&global(&[]), Profile::default(), no_env()).unwrap();
        assert_eq!(
            crate::client::build(&s, &[]).unwrap_err().exit(),
            Exit::Usage
        );
        assert!(parse_profile(FILE, "nope").unwrap_err().contains("local"));
        assert!(parse_profile("[default]\nacces_key_id = 1", "default").is_err());
        assert!(parse_profile("not toml [", "default").is_err());
        assert!(parse_profile("", "default").is_ok());
    }

    #[tokio::test]
    async fn addressing_flags() {
        for (args, want) in [
            (&["--path-style"][..], Addressing::Path),
            (&["--addressing", "cname"][..], Addressing::Cname),
            (&["--addressing", "virtual"][..], Addressing::VirtualHost),
            (&[][..], Addressing::VirtualHost),
        ] {
            let mut all = vec![
                "--endpoint",
                "https://static.example.com",
                "--region",
                "cn-hangzhou",
            ];
            all.extend_from_slice(args);
            let s = resolve(&global(&all), Profile::default(), no_env()).unwrap();
            assert_eq!(
                crate::client::build(&s, &[]).unwrap().addressing(),
                want,
                "{args:?}"
            );
        }
        let both = [
            "ossmp",
            "--path-style",
            "--addressing",
            "cname",
            "uploads",
            "ls",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }

    /// One environment, one answer: `Client::from_env` (through `from_env_with`) and the CLI's resolution see
    /// the same variables and files and agree on endpoint, region, addressing and credential source.
    #[tokio::test]
    async fn one_environment_one_answer() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".alibabacloud")).unwrap();
        std::fs::write(
            h.join(".alibabacloud/credentials"),
            "[default]\ntype = access_key\naccess_key_id = ini\naccess_key_secret = s\n",
        )
        .unwrap();
        std::fs::create_dir_all(h.join(".aliyun")).unwrap();
        std::fs::write(
            h.join(".aliyun/config.json"),
            r#"{"profiles":[{"name":"p","mode":"AK","access_key_id":"cli","access_key_secret":"s"}]}"#,
        )
        .unwrap();
        let home_var = h.display().to_string();
        let ini = format!("profile {home_var}/.alibabacloud/credentials [default]");
        let cli = format!("aliyun CLI profile {home_var}/.aliyun/config.json [p]");
        let keys = [("OSS_ACCESS_KEY_ID", "k"), ("OSS_ACCESS_KEY_SECRET", "s")];
        // (variables, Some((endpoint, region, addressing, credential source)) or None for "both refuse")
        type Expected<'a> = Option<(&'a str, Option<&'a str>, Addressing, &'a str)>;
        let rows: Vec<(Vec<(&str, &str)>, Expected<'_>)> = vec![
            (
                [&[("OSS_REGION", "cn-beijing")][..], &keys].concat(),
                Some((
                    "https://oss-cn-beijing.aliyuncs.com",
                    Some("cn-beijing"),
                    Addressing::VirtualHost,
                    "env",
                )),
            ),
            (
                vec![
                    ("OSS_ENDPOINT", "http://localhost:9000"),
                    ("OSS_REGION", "cn-hangzhou"),
                    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "a"),
                    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "b"),
                ],
                Some((
                    "http://localhost:9000",
                    Some("cn-hangzhou"),
                    Addressing::Path,
                    "env",
                )),
            ),
            (
                vec![(
                    "ALIBABA_CLOUD_OSS_ENDPOINT",
                    "oss-cn-shanghai-internal.aliyuncs.com",
                )],
                Some((
                    "https://oss-cn-shanghai-internal.aliyuncs.com",
                    Some("cn-shanghai"),
                    Addressing::VirtualHost,
                    &ini,
                )),
            ),
            (
                vec![
                    ("OSS_ENDPOINT", "https://static.example.com"),
                    ("OSS_ADDRESSING", "cname"),
                    ("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou"),
                    ("ALIBABA_CLOUD_PROFILE", "p"),
                ],
                Some((
                    "https://static.example.com",
                    Some("cn-hangzhou"),
                    Addressing::Cname,
                    &cli,
                )),
            ),
            (
                [
                    &[
                        ("OSS_ENDPOINT", "http://127.0.0.1:9000"),
                        ("OSS_SIGNATURE_VERSION", "v1"),
                    ][..],
                    &keys,
                ]
                .concat(),
                Some(("http://127.0.0.1:9000", None, Addressing::Path, "env")),
            ),
            // Accelerate names no region: both refuse, asking for one.
            (
                [
                    &[("OSS_ENDPOINT", "https://oss-accelerate.aliyuncs.com")][..],
                    &keys,
                ]
                .concat(),
                None,
            ),
        ];
        for (vars, want) in rows {
            let mut pairs: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            pairs.push(("HOME".to_owned(), home_var.clone()));
            pairs.push((
                "ALIBABA_CLOUD_ECS_METADATA_DISABLED".to_owned(),
                "true".to_owned(),
            ));
            let env = Env::from_pairs(pairs.clone());
            let map: std::collections::HashMap<String, String> = pairs.into_iter().collect();
            let library =
                oss_multipart::ClientBuilder::from_env_with(move |n| map.get(n).cloned()).build();
            let settings = resolve(&global(&[]), Profile::default(), env).unwrap();
            let cli = crate::client::build(&settings, &[]);
            let Some((endpoint, region, addressing, source)) = want else {
                let lib_err = library.unwrap_err().to_string();
                assert!(lib_err.contains("OSS_REGION"), "{lib_err}");
                assert!(
                    cli.unwrap_err().to_string().contains("OSS_REGION"),
                    "{vars:?}"
                );
                continue;
            };
            for client in [library.unwrap(), cli.unwrap()] {
                assert_eq!(client.endpoint(), endpoint, "{vars:?}");
                assert_eq!(client.signing_region(), region, "{vars:?}");
                assert_eq!(client.addressing(), addressing, "{vars:?}");
                let provider = client.credentials_provider();
                provider.provide_credentials().await.unwrap();
                assert_eq!(provider.source().as_deref(), Some(source), "{vars:?}");
            }
        }
    }
}
