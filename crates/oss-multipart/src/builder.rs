//! [`ClientBuilder`]: consuming fluent setters, `from_env`, string-keyed `config`, fallible
//! `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use oss_auth::{Credentials, ProvideCredentials, Signer};
use oss_credentials::{ChainConfig, DefaultChain, Env, StaticProvider};

use crate::client::{Client, Inner};
use crate::config::{Addressing, ConfigKey, RetryConfig, SignatureVersion, parse_duration};
use crate::endpoint::{self, EndpointInput, Resolved};
use crate::error::{ConfigError, Error};
use crate::runtime::{Runtime, TokioRuntime};
use crate::skew::ClockSkew;
use crate::transport::{HttpClient, HyperClient};

/// Builds a [`Client`]. Setters consume and return the builder; errors (bad endpoint, bad
/// `config` value) surface in [`build`](Self::build).
///
/// There is no default endpoint or bucket (a region alone gives the standard endpoint). Without
/// credentials the client uses the Alibaba Cloud default chain
/// ([`DefaultChain`](oss_credentials::DefaultChain): environment, OIDC/RRSA, profile files,
/// ECS RAM role, credentials URI), walked at the first request.
#[derive(Default)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    session_token: Option<String>,
    provider: Option<Arc<dyn ProvideCredentials>>,
    chain: Option<ChainConfig>,
    addressing: Option<Addressing>,
    internal_endpoint: bool,
    signature_version: SignatureVersion,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    retry: RetryConfig,
    root_certs_pem: Vec<Vec<u8>>,
    ca_bundle: Option<std::path::PathBuf>,
    proxy: ProxyChoice,
    http: Option<Arc<dyn HttpClient>>,
    runtime: Option<Arc<dyn Runtime>>,
    error: Option<ConfigError>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("addressing", &self.addressing)
            .field("signature_version", &self.signature_version)
            .finish_non_exhaustive()
    }
}

/// Where requests connect through.
#[derive(Debug, Clone, Default)]
enum ProxyChoice {
    /// curl's `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY`, read at `build`.
    #[default]
    Env,
    /// This proxy URL, except for the `no_proxy` hosts (default: `NO_PROXY`).
    Url {
        url: String,
        no_proxy: Option<String>,
    },
    /// Direct connections whatever the environment says.
    Off,
}

/// Environment variables read by [`ClientBuilder::from_env`], first match wins.
const ENV: &[(ConfigKey, &[&str])] = &[
    (
        ConfigKey::Endpoint,
        &["OSS_ENDPOINT", "ALIBABA_CLOUD_OSS_ENDPOINT"],
    ),
    (
        ConfigKey::Region,
        &[
            "OSS_REGION",
            "ALIBABA_CLOUD_REGION_ID",
            "ALIBABA_CLOUD_REGION",
        ],
    ),
    (ConfigKey::Bucket, &["OSS_BUCKET"]),
    (ConfigKey::Addressing, &["OSS_ADDRESSING"]),
    (ConfigKey::SignatureVersion, &["OSS_SIGNATURE_VERSION"]),
];

/// A retry count (`max_retries`, `max_total_retries`); the error never repeats the value.
fn parse_count(key: ConfigKey, value: &str) -> Result<u32, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::invalid(key.as_str(), "not a non-negative integer"))
}

impl ClientBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder preloaded from the process environment (see [`from_env_with`](Self::from_env_with)).
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// A builder preloaded from `lookup(variable)`; see [`with_env`](Self::with_env).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::new().with_env(Env::from_fn(lookup))
    }

    /// Applies the settings found in `env` over those already set, and gives the default
    /// credential chain this environment: `OSS_ENDPOINT` (or `ALIBABA_CLOUD_OSS_ENDPOINT`),
    /// `OSS_REGION` (or `ALIBABA_CLOUD_REGION_ID`, `ALIBABA_CLOUD_REGION`), `OSS_BUCKET`,
    /// `OSS_ADDRESSING`, `OSS_SIGNATURE_VERSION`; the chain reads `OSS_ACCESS_KEY_ID`,
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ROLE_ARN`... (see
    /// [`DefaultChain`](oss_credentials::DefaultChain)). Empty values count as unset; later
    /// setters override. The CLI layers its flags over this, so both read an environment the
    /// same way.
    pub fn with_env(self, env: Env) -> Self {
        let mut b = self.credentials_chain(ChainConfig::default().env(env.clone()));
        if let Some(file) = env.var("SSL_CERT_FILE") {
            b = b.ca_bundle(file);
        }
        for (key, names) in ENV {
            if let Some(v) = names.iter().find_map(|n| env.var(n)) {
                b = b.config(*key, &v);
            }
        }
        b
    }

    /// Service endpoint, e.g. `https://oss-cn-hangzhou.aliyuncs.com` or `http://127.0.0.1:9000`
    /// (a bare host means `https`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Region id (`cn-hangzhou`), required for signature V4.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Default bucket (used by callers such as the CLI; every method takes a bucket explicitly).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// Fixed credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.provider = Some(Arc::new(StaticProvider::new(credentials)));
        self
    }

    /// A credentials provider, asked before each request (it may cache and refresh).
    pub fn credentials_provider(mut self, provider: Arc<dyn ProvideCredentials>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Options of the default credential chain used when no credentials or provider are set
    /// (its environment, profile name, metadata and STS endpoints, refresh timing).
    pub fn credentials_chain(mut self, config: ChainConfig) -> Self {
        self.chain = Some(config);
        self
    }

    /// Virtual-host (default), path-style or custom-domain ([`Addressing::Cname`]) URLs. IP and
    /// `localhost` endpoints use path style unless `Cname` is asked for.
    pub fn addressing(mut self, addressing: Addressing) -> Self {
        self.addressing = Some(addressing);
        self
    }

    /// With only a region configured, use the VPC-internal endpoint
    /// `https://oss-<region>-internal.aliyuncs.com` instead of the public one (default `false`).
    pub fn internal_endpoint(mut self, internal: bool) -> Self {
        self.internal_endpoint = internal;
        self
    }

    /// V4 (default) or V1 signatures.
    pub fn signature_version(mut self, version: SignatureVersion) -> Self {
        self.signature_version = version;
        self
    }

    /// Bound on DNS + TCP + TLS setup (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Longest time without progress sending or receiving (default 30 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Overall limit for one request attempt (default none: a large part may take long).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Retry policy (see [`RetryConfig`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sends requests through this HTTP proxy (`http://[user:pass@]host:port`; HTTPS is tunnelled
    /// with `CONNECT`). Hosts listed in `NO_PROXY` still connect directly. Without this, the
    /// client follows curl's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper or
    /// lower case). Credential services (instance metadata, STS) never use it.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Url {
            url: url.into(),
            no_proxy: None,
        };
        self
    }

    /// With [`proxy`](Self::proxy): the hosts that connect directly, in `NO_PROXY` syntax
    /// (`example.com, 10.0.0.0/8, localhost`; a name matches its sub-domains; `*` for all),
    /// replacing the environment's `NO_PROXY`.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        if let ProxyChoice::Url { no_proxy, .. } = &mut self.proxy {
            *no_proxy = Some(hosts.into());
        }
        self
    }

    /// Connects directly, ignoring the proxy variables of the environment.
    pub fn direct(mut self) -> Self {
        self.proxy = ProxyChoice::Off;
        self
    }

    /// Trusts the certificates of this PEM file too (a private CA, a TLS-inspecting proxy), in
    /// addition to the built-in roots; read at [`build`](Self::build). `SSL_CERT_FILE` sets it
    /// through [`with_env`](Self::with_env).
    pub fn ca_bundle(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Trusts an extra root certificate (PEM; may hold several), e.g. a local test CA.
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certs_pem.push(pem.as_ref().to_vec());
        self
    }

    /// Replaces the transport (an [`FnTransport`](crate::transport::FnTransport) in tests, or a
    /// custom [`HttpClient`]). Timeouts and certificates set here are then not used.
    pub fn http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// Replaces the clock/timer runtime (default [`TokioRuntime`]).
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Sets an option by [`ConfigKey`] from a string (CLI `--config key=value`, config files).
    /// An invalid value is reported by [`build`](Self::build), naming the key but never the
    /// value (it may be a secret).
    pub fn config(mut self, key: ConfigKey, value: &str) -> Self {
        if let Err(e) = self.apply(key, value) {
            self.error.get_or_insert(e);
        }
        self
    }

    fn apply(&mut self, key: ConfigKey, value: &str) -> Result<(), ConfigError> {
        let v = value.trim();
        match key {
            ConfigKey::Endpoint => self.endpoint = Some(v.to_owned()),
            ConfigKey::Region => self.region = Some(v.to_owned()),
            ConfigKey::Bucket => self.bucket = Some(v.to_owned()),
            ConfigKey::AccessKeyId => self.access_key_id = Some(v.to_owned()),
            ConfigKey::AccessKeySecret => self.access_key_secret = Some(value.to_owned()),
            ConfigKey::SessionToken => self.session_token = Some(value.to_owned()),
            ConfigKey::Addressing => self.addressing = Some(v.parse()?),
            ConfigKey::SignatureVersion => self.signature_version = v.parse()?,
            ConfigKey::ConnectTimeout => self.connect_timeout = Some(parse_duration(key, v)?),
            ConfigKey::ReadTimeout => self.read_timeout = Some(parse_duration(key, v)?),
            ConfigKey::RequestTimeout => self.request_timeout = Some(parse_duration(key, v)?),
            ConfigKey::MaxRetries => self.retry.max_retries = parse_count(key, v)?,
            ConfigKey::MaxTotalRetries => self.retry.max_total_retries = parse_count(key, v)?,
            ConfigKey::RetryBackoffBase => {
                self.retry.backoff_base = v
                    .parse::<f64>()
                    .ok()
                    .filter(|b| b.is_finite() && *b >= 1.0)
                    .ok_or_else(|| ConfigError::invalid(key.as_str(), "not a number ≥ 1"))?;
            }
            ConfigKey::RetryInitialBackoff => self.retry.initial_backoff = parse_duration(key, v)?,
            ConfigKey::RetryMaxBackoff => self.retry.max_backoff = parse_duration(key, v)?,
            ConfigKey::RetryTimeout => self.retry.retry_timeout = parse_duration(key, v)?,
        }
        Ok(())
    }

    /// Validates and builds the client. Must be called inside a tokio runtime only if the
    /// default transport is used (it is created here, lazily connecting).
    ///
    /// # Errors
    /// [`Error::Config`]: missing or invalid endpoint, V4 without region, invalid `config`
    /// value, half-specified access key, unreadable certificate.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(Error::Config(e));
        }
        let Resolved {
            endpoint,
            region,
            addressing,
        } = endpoint::resolve(EndpointInput {
            endpoint: self.endpoint.as_deref(),
            region: self.region.as_deref(),
            addressing: self.addressing,
            internal: self.internal_endpoint,
            signature_version: self.signature_version,
        })?;
        let provider: Arc<dyn ProvideCredentials> =
            match (self.provider, self.access_key_id, self.access_key_secret) {
                (Some(p), _, _) => p,
                (None, Some(id), Some(secret)) => {
                    let mut c = Credentials::new(id, secret);
                    if let Some(t) = self.session_token {
                        c = c.with_security_token(t);
                    }
                    Arc::new(StaticProvider::new(c))
                }
                (None, Some(_), None) | (None, None, Some(_)) => {
                    return Err(Error::config(
                        "access_key_id",
                        "access key id and secret must be given together",
                    ));
                }
                (None, None, None) => Arc::new(DefaultChain::new(self.chain.unwrap_or_default())),
            };
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => {
                let mut b = oss_transport::Client::builder()
                    .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)))
                    .read_timeout(self.read_timeout.unwrap_or(Duration::from_secs(30)))
                    .request_timeout(self.request_timeout);
                for pem in &self.root_certs_pem {
                    b = b.add_root_certificates_pem(pem).map_err(|_| {
                        Error::config("root_certificate", "not a valid PEM certificate")
                    })?;
                }
                if let Some(path) = &self.ca_bundle {
                    let pem = std::fs::read(path).map_err(|e| {
                        Error::config("ca_bundle", format!("cannot read {}: {e}", path.display()))
                    })?;
                    b = b.add_root_certificates_pem(&pem).map_err(|_| {
                        Error::config(
                            "ca_bundle",
                            format!("{} holds no valid PEM certificate", path.display()),
                        )
                    })?;
                }
                let proxy = match &self.proxy {
                    ProxyChoice::Env => Some(oss_transport::Proxy::from_env()),
                    ProxyChoice::Url { url, no_proxy } => {
                        let no_proxy = no_proxy.clone().unwrap_or_else(|| {
                            ["NO_PROXY", "no_proxy"]
                                .iter()
                                .find_map(|n| std::env::var(n).ok())
                                .unwrap_or_default()
                        });
                        Some(
                            oss_transport::Proxy::all_except(url, &no_proxy)
                                .map_err(|e| Error::config("proxy", e.to_string()))?,
                        )
                    }
                    ProxyChoice::Off => None,
                };
                b = b.proxy(proxy);
                // The `native-roots` feature trusts the operating system's store as well.
                #[cfg(feature = "native-roots")]
                {
                    b = b.native_roots(true);
                }
                let client = b
                    .build()
                    .map_err(|e| Error::config("transport", e.to_string()))?;
                Arc::new(HyperClient::new(client))
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint,
                region,
                default_bucket: self.bucket,
                addressing,
                signature_version: self.signature_version,
                credentials: provider,
                http,
                runtime: self.runtime.unwrap_or_else(|| Arc::new(TokioRuntime)),
                retry: self.retry,
                signer: Signer::new(),
                skew: ClockSkew::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_reads_both_families_and_reports_bad_values_without_echoing() {
        let env = |n: &str| match n {
            "OSS_ENDPOINT" => Some("http://127.0.0.1:1".to_owned()),
            "ALIBABA_CLOUD_REGION_ID" => Some("cn-beijing".to_owned()),
            "ALIBABA_CLOUD_ACCESS_KEY_ID" => Some("id".to_owned()),
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET" => Some("s3cr3t".to_owned()),
            _ => None,
        };
        let b = ClientBuilder::from_env_with(env);
        assert_eq!(b.region.as_deref(), Some("cn-beijing"));
        // Keys are the chain's to read (so the source is reported as `env`), not the builder's.
        assert_eq!(b.access_key_id, None);
        let err = ClientBuilder::from_env_with(env)
            .config(ConfigKey::ReadTimeout, "s3cr3t")
            .build()
            .unwrap_err();
        assert!(err.is_usage());
        assert!(!err.to_string().contains("s3cr3t"));
        assert!(!format!("{b:?}").contains("s3cr3t"));
    }

    /// Every field of `RetryConfig` can be set by name (as `--config` and files do).
    #[test]
    fn every_retry_field_has_a_config_key() {
        let b = [
            (ConfigKey::MaxRetries, "7"),
            (ConfigKey::RetryInitialBackoff, "50ms"),
            (ConfigKey::RetryMaxBackoff, "9s"),
            (ConfigKey::RetryBackoffBase, "1.5"),
            (ConfigKey::RetryTimeout, "2m"),
            (ConfigKey::MaxTotalRetries, "42"),
        ]
        .into_iter()
        .fold(ClientBuilder::new(), |b, (k, v)| b.config(k, v));
        assert!(b.error.is_none());
        let RetryConfig {
            max_retries,
            initial_backoff,
            max_backoff,
            backoff_base,
            retry_timeout,
            max_total_retries,
        } = b.retry.clone();
        assert_eq!(max_retries, 7);
        assert_eq!(initial_backoff, Duration::from_millis(50));
        assert_eq!(max_backoff, Duration::from_secs(9));
        assert!((backoff_base - 1.5).abs() < f64::EPSILON);
        assert_eq!(retry_timeout, Duration::from_secs(120));
        assert_eq!(max_total_retries, 42);
        for (key, bad) in [
            (ConfigKey::RetryBackoffBase, "0.5"),
            (ConfigKey::RetryBackoffBase, "inf"),
            (ConfigKey::MaxTotalRetries, "-1"),
        ] {
            let b = ClientBuilder::new().config(key, bad);
            assert!(b.error.is_some(), "{key}={bad} accepted");
        }
        assert_eq!(
            "backoff-base".parse::<ConfigKey>().unwrap(),
            ConfigKey::RetryBackoffBase
        );
    }

    #[test]
    fn build_validates() {
        assert!(ClientBuilder::new().build().unwrap_err().is_usage());
        let no_region = ClientBuilder::new().endpoint("http://127.0.0.1:1").build();
        assert!(no_region.unwrap_err().is_usage());
        let v1 = ClientBuilder::new()
            .endpoint("http://127.0.0.1:1")
            .signature_version(SignatureVersion::V1)
            .http_client(Arc::new(crate::transport::FnTransport::new(|_| async {
                http::Response::new(bytes::Bytes::new())
            })))
            .build();
        assert!(v1.is_ok());
        let half = ClientBuilder::new()
            .endpoint("http://127.0.0.1:1")
            .region("r")
            .config(ConfigKey::AccessKeyId, "x")
            .build();
        assert!(half.unwrap_err().is_usage());
    }
}
