//! The default chain: the first source that is configured supplies the credentials.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use oss_auth::{CredentialsError, CredentialsFuture, ProvideCredentials};

use crate::ecs::{DEFAULT_METADATA_ENDPOINT, EcsRamRole};
use crate::env::Env;
use crate::profile::{self, OidcSpec, RoleSpec, Spec};
use crate::refresh::{Fetch, RefreshPolicy, Refreshing};
use crate::static_env::{EnvProvider, StaticProvider};
use crate::sts::{AssumeRole, AssumeRoleWithOidc, sts_endpoint};
use crate::uri::CredentialsUri;

/// The Alibaba Cloud default credential chain, in the order of the official Credentials tools:
///
/// 1. **Environment**: `OSS_ACCESS_KEY_ID`/`OSS_ACCESS_KEY_SECRET`/`OSS_SESSION_TOKEN`, then
///    `ALIBABA_CLOUD_ACCESS_KEY_ID`/`ALIBABA_CLOUD_ACCESS_KEY_SECRET`/`ALIBABA_CLOUD_SECURITY_TOKEN`.
/// 2. **OIDC role ARN** (RRSA on ACK): `ALIBABA_CLOUD_ROLE_ARN`,
///    `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`, `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (optional
///    `ALIBABA_CLOUD_ROLE_SESSION_NAME`) → STS `AssumeRoleWithOIDC`.
/// 3. **aliyun CLI profile** `~/.aliyun/config.json` (`ALIBABA_CLOUD_CONFIG_FILE`; skipped with
///    `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`).
/// 4. **Credentials file** `~/.alibabacloud/credentials` (`ALIBABA_CLOUD_CREDENTIALS_FILE`).
/// 5. **ECS RAM role** from the instance metadata service (role `ALIBABA_CLOUD_ECS_METADATA` or
///    discovered; skipped with `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`; IMDSv2 token, with
///    a fallback to IMDSv1 unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`).
/// 6. **Credentials URI** `ALIBABA_CLOUD_CREDENTIALS_URI`.
///
/// The profile is `ALIBABA_CLOUD_PROFILE` (else the CLI file's `current`, else `default`). STS
/// is `https://sts[-vpc].<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com` (`-vpc` with
/// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`), else `https://sts.aliyuncs.com`.
///
/// The chain is walked once, on first use; the source found is then kept (temporary
/// credentials are cached and refreshed, see [`Refreshing`]). A source that is configured
/// but broken (a malformed profile file, an unreadable token file, an STS error) stops the
/// chain with its error instead of silently falling through. When nothing is found, the error
/// lists every source and why it gave nothing.
pub struct DefaultChain {
    config: ChainConfig,
    found: tokio::sync::OnceCell<Arc<dyn ProvideCredentials>>,
    source: Mutex<Option<String>>,
}

/// Options of [`DefaultChain`]: where it reads and which endpoints it calls.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChainConfig {
    /// Variables and home directory.
    pub env: Env,
    /// Profile name, overriding `ALIBABA_CLOUD_PROFILE`.
    pub profile: Option<String>,
    /// Instance metadata service URL (default `http://100.100.100.200`).
    pub metadata_endpoint: String,
    /// STS URL, overriding the region/VPC rule (for tests and private endpoints).
    pub sts_endpoint: Option<String>,
    /// Cache and refresh timing of temporary credentials.
    pub refresh: RefreshPolicy,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            env: Env::process(),
            profile: None,
            metadata_endpoint: DEFAULT_METADATA_ENDPOINT.to_owned(),
            sts_endpoint: None,
            refresh: RefreshPolicy::default(),
        }
    }
}

impl ChainConfig {
    /// Reads this environment instead of the process's.
    #[must_use]
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Uses this profile (both files) instead of `ALIBABA_CLOUD_PROFILE`.
    #[must_use]
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Talks to this instance metadata service instead of `http://100.100.100.200`.
    #[must_use]
    pub fn metadata_endpoint(mut self, url: impl Into<String>) -> Self {
        self.metadata_endpoint = url.into();
        self
    }

    /// Sends STS requests to this URL.
    #[must_use]
    pub fn sts_endpoint(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint = Some(url.into());
        self
    }

    /// Refresh timing of temporary credentials.
    #[must_use]
    pub fn refresh(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }
}

impl fmt::Debug for DefaultChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultChain")
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

impl Default for DefaultChain {
    fn default() -> Self {
        Self::new(ChainConfig::default())
    }
}

/// What one source said: found a provider, or why not.
enum Step {
    Found(Arc<dyn ProvideCredentials>, String),
    Skip(String),
}

impl DefaultChain {
    /// A chain with these options.
    pub fn new(config: ChainConfig) -> Self {
        Self {
            config,
            found: tokio::sync::OnceCell::new(),
            source: Mutex::new(None),
        }
    }

    fn cached<F: Fetch + 'static>(&self, fetch: F) -> Arc<dyn ProvideCredentials> {
        Arc::new(Refreshing::with_policy(fetch, self.config.refresh))
    }

    fn sts(&self, region: Option<&str>, vpc: bool) -> String {
        let env = &self.config.env;
        let region = region
            .map(str::to_owned)
            .or_else(|| env.var("ALIBABA_CLOUD_STS_REGION"));
        let vpc = vpc || env.flag("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
        sts_endpoint(self.config.sts_endpoint.as_deref(), region.as_deref(), vpc)
    }

    fn profile_name(&self) -> Option<String> {
        self.config
            .profile
            .clone()
            .or_else(|| self.config.env.var("ALIBABA_CLOUD_PROFILE"))
    }

    fn ecs(&self, role_name: Option<String>) -> Result<EcsRamRole, CredentialsError> {
        let env = &self.config.env;
        let mut ecs = EcsRamRole::new(self.config.metadata_endpoint.clone())?
            .allow_imdsv1(!env.flag("ALIBABA_CLOUD_IMDSV1_DISABLED"));
        if let Some(role) = role_name.or_else(|| env.var("ALIBABA_CLOUD_ECS_METADATA")) {
            ecs = ecs.role_name(role);
        }
        Ok(ecs)
    }

    fn oidc(&self, spec: OidcSpec) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        let mut p = AssumeRoleWithOidc::new(
            spec.role_arn,
            spec.provider_arn,
            spec.token_file,
            self.sts(spec.sts_region.as_deref(), spec.vpc),
        )?;
        if let Some(n) = spec.session_name {
            p = p.session_name(n);
        }
        if let Some(d) = spec.duration {
            p = p.duration(d);
        }
        if let Some(pol) = spec.policy {
            p = p.policy(pol);
        }
        Ok(self.cached(p))
    }

    fn role(&self, spec: RoleSpec) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        let mut p = AssumeRole::new(
            Arc::new(StaticProvider::new(spec.caller)),
            spec.role_arn,
            self.sts(spec.sts_region.as_deref(), spec.vpc),
        )?;
        if let Some(n) = spec.session_name {
            p = p.session_name(n);
        }
        if let Some(d) = spec.duration {
            p = p.duration(d);
        }
        if let Some(pol) = spec.policy {
            p = p.policy(pol);
        }
        if let Some(id) = spec.external_id {
            p = p.external_id(id);
        }
        Ok(self.cached(p))
    }

    fn build(&self, spec: Spec) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        match spec {
            Spec::Static(c) => Ok(Arc::new(StaticProvider::new(c))),
            Spec::RamRoleArn(r) => self.role(r),
            Spec::EcsRamRole { role_name } => Ok(self.cached(self.ecs(role_name)?)),
            Spec::Oidc(o) => self.oidc(o),
        }
    }

    fn env_step(&self) -> Step {
        match EnvProvider::with_env(self.config.env.clone()).load() {
            Ok(c) => Step::Found(Arc::new(StaticProvider::new(c)), "env".to_owned()),
            Err(_) => Step::Skip(
                "env: OSS_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_ID unset".to_owned(),
            ),
        }
    }

    fn oidc_step(&self) -> Result<Step, CredentialsError> {
        let env = &self.config.env;
        let names = [
            "ALIBABA_CLOUD_ROLE_ARN",
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        ];
        let values: Vec<Option<String>> = names.iter().map(|n| env.var(n)).collect();
        let unset: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        let [Some(role_arn), Some(provider_arn), Some(token_file)] =
            <[Option<String>; 3]>::try_from(values).unwrap_or_default()
        else {
            return Ok(Step::Skip(format!("OIDC: {} unset", unset.join(", "))));
        };
        let provider = self.oidc(OidcSpec {
            role_arn,
            provider_arn,
            token_file,
            session_name: env.var("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
            duration: None,
            policy: None,
            sts_region: None,
            vpc: false,
        })?;
        Ok(Step::Found(provider, "oidc_role_arn".to_owned()))
    }

    fn file_step(
        &self,
        label: &str,
        path: Option<PathBuf>,
        parse: impl FnOnce(
            &std::path::Path,
            &str,
            Option<&str>,
        ) -> Result<Option<Spec>, CredentialsError>,
    ) -> Result<Step, CredentialsError> {
        let Some(path) = path else {
            return Ok(Step::Skip(format!("{label}: no home directory")));
        };
        let Some(text) = profile::read(&path)? else {
            return Ok(Step::Skip(format!("{}: absent", path.display())));
        };
        let name = self.profile_name();
        match parse(&path, &text, name.as_deref())? {
            Some(spec) => {
                let shown = name.unwrap_or_else(|| "default".to_owned());
                Ok(Step::Found(
                    self.build(spec)?,
                    format!("{label} {} [{shown}]", path.display()),
                ))
            }
            None => Ok(Step::Skip(format!(
                "{}: no profile `{}`",
                path.display(),
                name.as_deref().unwrap_or("default")
            ))),
        }
    }

    fn cli_profile_step(&self) -> Result<Step, CredentialsError> {
        let env = &self.config.env;
        if env.flag("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") {
            return Ok(Step::Skip(
                "~/.aliyun/config.json: disabled by ALIBABA_CLOUD_CLI_PROFILE_DISABLED".to_owned(),
            ));
        }
        let path = env
            .var("ALIBABA_CLOUD_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| env.home().map(|h| h.join(".aliyun").join("config.json")));
        self.file_step("aliyun CLI profile", path, profile::parse_cli_json)
    }

    fn credentials_file_step(&self) -> Result<Step, CredentialsError> {
        let env = &self.config.env;
        let path = env
            .var("ALIBABA_CLOUD_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| {
                env.home()
                    .map(|h| h.join(".alibabacloud").join("credentials"))
            });
        self.file_step("profile", path, |p, t, name| {
            profile::parse_ini(p, t, name.unwrap_or("default"))
        })
    }

    fn ecs_step(&self) -> Result<Step, CredentialsError> {
        if self.config.env.flag("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
            return Ok(Step::Skip(
                "ECS metadata: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED".to_owned(),
            ));
        }
        Ok(Step::Found(
            self.cached(self.ecs(None)?),
            "ecs_ram_role".to_owned(),
        ))
    }

    fn uri_step(&self) -> Result<Step, CredentialsError> {
        match self.config.env.var("ALIBABA_CLOUD_CREDENTIALS_URI") {
            Some(url) => Ok(Step::Found(
                self.cached(CredentialsUri::new(url)?),
                "credentials_uri".to_owned(),
            )),
            None => Ok(Step::Skip(
                "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI unset".to_owned(),
            )),
        }
    }

    async fn resolve(&self) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        let mut tried = Vec::new();
        for index in 0..6 {
            let step = match index {
                0 => Ok(self.env_step()),
                1 => self.oidc_step(),
                2 => self.cli_profile_step(),
                3 => self.credentials_file_step(),
                4 => self.ecs_step(),
                _ => self.uri_step(),
            };
            match step? {
                Step::Skip(why) => tried.push(why),
                Step::Found(provider, name) => match provider.provide_credentials().await {
                    Ok(_) => {
                        *self
                            .source
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(name);
                        return Ok(provider);
                    }
                    // Only "the service is not there" moves on (an absent metadata service).
                    Err(e) if e.is_not_found() => tried.push(e.to_string()),
                    Err(e) => return Err(e),
                },
            }
        }
        Err(CredentialsError::not_found(format!(
            "no credentials found; tried {}",
            tried.join(" · ")
        )))
    }

    async fn get(&self) -> Result<oss_auth::Credentials, CredentialsError> {
        let provider = self.found.get_or_try_init(|| self.resolve()).await?;
        provider.provide_credentials().await
    }
}

impl ProvideCredentials for DefaultChain {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.get())
    }

    fn source(&self) -> Option<String> {
        self.source
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
