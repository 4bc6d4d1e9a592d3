//! The two profile files of the Alibaba Cloud tools, read into a [`Spec`] the chain builds a
//! provider from:
//!
//! * `~/.alibabacloud/credentials` (`ALIBABA_CLOUD_CREDENTIALS_FILE`): INI, one section per
//!   profile, `type = access_key | ecs_ram_role | ram_role_arn | oidc_role_arn`.
//! * `~/.aliyun/config.json` (`ALIBABA_CLOUD_CONFIG_FILE`), the aliyun CLI's file:
//!   `{"current": NAME, "profiles": [{"name", "mode", ...}]}` with modes `AK`, `StsToken`,
//!   `RamRoleArn`, `EcsRamRole` and `OIDC`.
//!
//! Errors name the file, the line (INI; line and column for malformed JSON) and the key.

use std::path::Path;
use std::time::Duration;

use oss_auth::{Credentials, CredentialsError};
use serde::Deserialize;

/// What a profile asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spec {
    Static(Credentials),
    RamRoleArn(RoleSpec),
    EcsRamRole { role_name: Option<String> },
    Oidc(OidcSpec),
}

/// `AssumeRole` with long-term keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleSpec {
    pub(crate) caller: Credentials,
    pub(crate) role_arn: String,
    pub(crate) session_name: Option<String>,
    pub(crate) duration: Option<Duration>,
    pub(crate) policy: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) sts_region: Option<String>,
    pub(crate) vpc: bool,
}

/// `AssumeRoleWithOIDC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OidcSpec {
    pub(crate) role_arn: String,
    pub(crate) provider_arn: String,
    pub(crate) token_file: String,
    pub(crate) session_name: Option<String>,
    pub(crate) duration: Option<Duration>,
    pub(crate) policy: Option<String>,
    pub(crate) sts_region: Option<String>,
    pub(crate) vpc: bool,
}

/// Reads a profile file: `Ok(None)` when the file does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<String>, CredentialsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CredentialsError::provider(format!(
            "{}: cannot be read: {e}",
            path.display()
        ))),
    }
}

/// The 1-based line of `key` in `[section]`, for error messages (0 when not found).
fn line_of(text: &str, section: &str, key: &str) -> usize {
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            in_section = name.trim() == section;
            if in_section && key.is_empty() {
                return i + 1;
            }
        } else if in_section && t.split(['=', ':']).next().is_some_and(|k| k.trim() == key) {
            return i + 1;
        }
    }
    0
}

/// Parses the INI credentials file and picks `profile`. `Ok(None)`: no such section.
pub(crate) fn parse_ini(
    path: &Path,
    text: &str,
    profile: &str,
) -> Result<Option<Spec>, CredentialsError> {
    let file = path.display();
    let ini = ini::Ini::load_from_str(text).map_err(|e| {
        CredentialsError::provider(format!(
            "{file}:{}:{}: malformed INI: {}",
            e.line, e.col, e.msg
        ))
    })?;
    let Some(section) = ini.section(Some(profile)) else {
        return Ok(None);
    };
    let at = |key: &str| format!("{file}:{}: [{profile}] {key}", line_of(text, profile, key));
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let need = |key: &str| {
        get(key).map(str::to_owned).ok_or_else(|| {
            let line = line_of(text, profile, key);
            let line = if line == 0 {
                line_of(text, profile, "")
            } else {
                line
            };
            CredentialsError::provider(format!(
                "{file}:{line}: [{profile}] {key}: missing or empty"
            ))
        })
    };
    let kind = need("type")?;
    let spec = match kind.as_str() {
        "access_key" => Spec::Static(Credentials::new(
            need("access_key_id")?,
            need("access_key_secret")?,
        )),
        "ecs_ram_role" => Spec::EcsRamRole {
            role_name: get("role_name").map(str::to_owned),
        },
        "ram_role_arn" => Spec::RamRoleArn(RoleSpec {
            caller: Credentials::new(need("access_key_id")?, need("access_key_secret")?),
            role_arn: need("role_arn")?,
            session_name: get("role_session_name").map(str::to_owned),
            duration: None,
            policy: get("policy").map(str::to_owned),
            external_id: get("external_id").map(str::to_owned),
            sts_region: get("sts_region").map(str::to_owned),
            vpc: get("enable_vpc").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }),
        "oidc_role_arn" => Spec::Oidc(OidcSpec {
            role_arn: need("role_arn")?,
            provider_arn: need("oidc_provider_arn")?,
            token_file: need("oidc_token_file_path")?,
            session_name: get("role_session_name").map(str::to_owned),
            duration: None,
            policy: get("policy").map(str::to_owned),
            sts_region: get("sts_region").map(str::to_owned),
            vpc: get("enable_vpc").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }),
        other => {
            return Err(CredentialsError::provider(format!(
                "{}: unsupported credential type `{}` (supported: access_key, ecs_ram_role, \
                 ram_role_arn, oidc_role_arn)",
                at("type"),
                other.escape_debug()
            )));
        }
    };
    Ok(Some(spec))
}

#[derive(Deserialize)]
struct CliConfig {
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<CliProfile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CliProfile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    ram_role_arn: String,
    ram_session_name: String,
    expired_seconds: u64,
    sts_region: String,
    enable_vpc: bool,
    ram_role_name: String,
    oidc_token_file: String,
    oidc_provider_arn: String,
    policy: String,
    external_id: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Parses the aliyun CLI's `config.json` and picks `profile` (else its `current`, else
/// `default`). `Ok(None)`: no such profile.
pub(crate) fn parse_cli_json(
    path: &Path,
    text: &str,
    profile: Option<&str>,
) -> Result<Option<Spec>, CredentialsError> {
    let file = path.display();
    let config: CliConfig = serde_json::from_str(text).map_err(|e| {
        CredentialsError::provider(format!(
            "{file}:{}:{}: malformed JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let name = profile
        .map(str::to_owned)
        .or(config.current.filter(|c| !c.is_empty()))
        .unwrap_or_else(|| "default".to_owned());
    let Some(p) = config.profiles.into_iter().find(|p| p.name == name) else {
        return Ok(None);
    };
    let need = |key: &str, value: &str| {
        some(value).ok_or_else(|| {
            CredentialsError::provider(format!(
                "{file}: profile `{name}` (mode {}): {key} missing or empty",
                p.mode
            ))
        })
    };
    let duration = (p.expired_seconds > 0).then(|| Duration::from_secs(p.expired_seconds));
    let spec = match p.mode.as_str() {
        "AK" => Spec::Static(Credentials::new(
            need("access_key_id", &p.access_key_id)?,
            need("access_key_secret", &p.access_key_secret)?,
        )),
        "StsToken" => Spec::Static(
            Credentials::new(
                need("access_key_id", &p.access_key_id)?,
                need("access_key_secret", &p.access_key_secret)?,
            )
            .with_security_token(need("sts_token", &p.sts_token)?),
        ),
        "RamRoleArn" => Spec::RamRoleArn(RoleSpec {
            caller: Credentials::new(
                need("access_key_id", &p.access_key_id)?,
                need("access_key_secret", &p.access_key_secret)?,
            ),
            role_arn: need("ram_role_arn", &p.ram_role_arn)?,
            session_name: some(&p.ram_session_name),
            duration,
            policy: some(&p.policy),
            external_id: some(&p.external_id),
            sts_region: some(&p.sts_region),
            vpc: p.enable_vpc,
        }),
        "EcsRamRole" => Spec::EcsRamRole {
            role_name: some(&p.ram_role_name),
        },
        "OIDC" => Spec::Oidc(OidcSpec {
            role_arn: need("ram_role_arn", &p.ram_role_arn)?,
            provider_arn: need("oidc_provider_arn", &p.oidc_provider_arn)?,
            token_file: need("oidc_token_file", &p.oidc_token_file)?,
            session_name: some(&p.ram_session_name),
            duration,
            policy: some(&p.policy),
            sts_region: some(&p.sts_region),
            vpc: p.enable_vpc,
        }),
        other => {
            return Err(CredentialsError::provider(format!(
                "{file}: profile `{name}`: mode `{}` is not supported (supported: AK, StsToken, \
                 RamRoleArn, EcsRamRole, OIDC)",
                other.escape_debug()
            )));
        }
    };
    Ok(Some(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "\
[default]
type = access_key
access_key_id = foo
access_key_secret = bar

[ecs]
type = ecs_ram_role
role_name = EcsRole

[ram]
type = ram_role_arn
access_key_id = foo
access_key_secret = bar
role_arn = acs:ram::1:role/r
role_session_name = s

[bad]
type = access_key
access_key_id =
access_key_secret = bar

[weird]
type = rsa_key_pair
";

    fn ini(profile: &str) -> Result<Option<Spec>, CredentialsError> {
        parse_ini(Path::new("/h/.alibabacloud/credentials"), INI, profile)
    }

    #[test]
    fn ini_types() {
        assert_eq!(
            ini("default").unwrap(),
            Some(Spec::Static(Credentials::new("foo", "bar")))
        );
        assert_eq!(
            ini("ecs").unwrap(),
            Some(Spec::EcsRamRole {
                role_name: Some("EcsRole".into())
            })
        );
        let Some(Spec::RamRoleArn(r)) = ini("ram").unwrap() else {
            panic!("not a role");
        };
        assert_eq!(r.role_arn, "acs:ram::1:role/r");
        assert_eq!(r.session_name.as_deref(), Some("s"));
        assert_eq!(ini("absent").unwrap(), None);
    }

    #[test]
    fn ini_errors_name_file_line_and_key() {
        let e = ini("bad").unwrap_err().to_string();
        assert_eq!(
            e,
            "/h/.alibabacloud/credentials:19: [bad] access_key_id: missing or empty"
        );
        let e = ini("weird").unwrap_err().to_string();
        assert!(
            e.starts_with("/h/.alibabacloud/credentials:23: [weird] type"),
            "{e}"
        );
        let e = parse_ini(Path::new("/f"), "[a]\nb = 1\n[c", "a")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/f:3:"), "{e}");
    }

    const JSON: &str = r#"{
  "current": "sts",
  "profiles": [
    {"name": "default", "mode": "AK", "access_key_id": "a", "access_key_secret": "b"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "a", "access_key_secret": "b", "sts_token": "t"},
    {"name": "role", "mode": "RamRoleArn", "access_key_id": "a", "access_key_secret": "b",
     "ram_role_arn": "acs:ram::1:role/r", "expired_seconds": 900, "sts_region": "cn-beijing"},
    {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "R"},
    {"name": "oidc", "mode": "OIDC", "ram_role_arn": "arn", "oidc_provider_arn": "p",
     "oidc_token_file": "/t"},
    {"name": "half", "mode": "AK", "access_key_id": "a"},
    {"name": "sso", "mode": "CloudSSO"}
  ]
}"#;

    fn json(profile: Option<&str>) -> Result<Option<Spec>, CredentialsError> {
        parse_cli_json(Path::new("/h/.aliyun/config.json"), JSON, profile)
    }

    #[test]
    fn cli_json_modes_and_current() {
        assert_eq!(
            json(None).unwrap(),
            Some(Spec::Static(
                Credentials::new("a", "b").with_security_token("t")
            ))
        );
        let Some(Spec::RamRoleArn(r)) = json(Some("role")).unwrap() else {
            panic!("not a role");
        };
        assert_eq!(r.duration, Some(Duration::from_secs(900)));
        assert_eq!(r.sts_region.as_deref(), Some("cn-beijing"));
        assert_eq!(
            json(Some("ecs")).unwrap(),
            Some(Spec::EcsRamRole {
                role_name: Some("R".into())
            })
        );
        assert!(matches!(json(Some("oidc")).unwrap(), Some(Spec::Oidc(_))));
        assert_eq!(json(Some("nope")).unwrap(), None);
    }

    #[test]
    fn cli_json_errors_name_file_profile_and_key() {
        let e = json(Some("half")).unwrap_err().to_string();
        assert_eq!(
            e,
            "/h/.aliyun/config.json: profile `half` (mode AK): access_key_secret missing or empty"
        );
        assert!(
            json(Some("sso"))
                .unwrap_err()
                .to_string()
                .contains("CloudSSO")
        );
        let e = parse_cli_json(Path::new("/c.json"), "{\n \"profiles\": [,]\n}", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/c.json:2:"), "{e}");
    }
}
