//! Client configuration values: addressing style, signature version, retry policy, and the
//! [`ConfigKey`] enum shared with the CLI's `--config key=value`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use oss_multipart_core::RetryPolicy;

use crate::error::ConfigError;

/// How the bucket name is placed in request URLs.
///
/// The signature never depends on this choice: V1 and V4 sign the decoded `/bucket/key` in
/// every style (for a custom domain too, which is what OSS expects), so the style only changes
/// the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Addressing {
    /// `https://<bucket>.<endpoint host>/<key>`: what OSS expects by default.
    #[default]
    VirtualHost,
    /// `https://<endpoint host>/<bucket>/<key>`: for local servers, IP endpoints and proxies.
    /// IP and `localhost` endpoints always use it.
    Path,
    /// `https://<custom domain>/<key>`: the endpoint is a custom domain (CNAME) bound to the
    /// bucket, so the URL names no bucket. Needs an explicit region for V4.
    Cname,
}

impl FromStr for Addressing {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "virtual" | "virtual-host" | "virtual_host" | "virtualhost" | "vhost" => {
                Ok(Self::VirtualHost)
            }
            "path" | "path-style" | "path_style" => Ok(Self::Path),
            "cname" | "custom-domain" | "custom_domain" => Ok(Self::Cname),
            _ => Err(ConfigError::invalid(
                "addressing",
                "expected `virtual`, `path` or `cname`",
            )),
        }
    }
}

/// Which OSS signature algorithm signs requests and presigned URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// `OSS4-HMAC-SHA256`, region-scoped (needs a region). The default.
    #[default]
    V4,
    /// The legacy `OSS AK:Signature` HMAC-SHA1 scheme.
    V1,
}

impl FromStr for SignatureVersion {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v4" | "4" | "oss4-hmac-sha256" => Ok(Self::V4),
            "v1" | "1" => Ok(Self::V1),
            _ => Err(ConfigError::invalid(
                "signature_version",
                "expected `v4` or `v1`",
            )),
        }
    }
}

/// Retry policy, for single requests sent by [`Client`](crate::Client) and for every request
/// of an upload (the upload state machine applies it; the driver does not retry on its own).
///
/// It maps field for field onto the core's `oss_multipart_core::RetryPolicy`, the one backoff
/// engine of the workspace: the delay before retry `n` (1-based) is drawn uniformly ("full
/// jitter") from `0..=min(max_backoff, initial_backoff × backoff_base^(n-1))`; no retry of a
/// request starts once `retry_timeout` has elapsed since its first attempt. Which failures are
/// retried is not configurable: see [`Error::is_retryable`](crate::Error::is_retryable).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries of one request after its first attempt (0 disables retrying). Default 3.
    pub max_retries: u32,
    /// Ceiling of the first delay. Default 200 ms.
    pub initial_backoff: Duration,
    /// Ceiling of any single delay. Default 20 s.
    pub max_backoff: Duration,
    /// Growth factor of the ceiling between retries. Default 2.0; values below 1 (or not
    /// finite) count as 1.
    pub backoff_base: f64,
    /// No retry of a request starts later than this after its first attempt. Default 3 min.
    pub retry_timeout: Duration,
    /// Retries across all the requests of one upload. Default 1000.
    pub max_total_retries: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            backoff_base: 2.0,
            retry_timeout: Duration::from_secs(180),
            max_total_retries: 1000,
        }
    }
}

impl RetryConfig {
    /// A policy that never retries.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The largest delay before retry number `attempt` (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.policy().ceiling(attempt)
    }

    /// The core policy, field for field (the destructuring makes a new field a compile error
    /// until it is mapped).
    pub(crate) fn policy(&self) -> RetryPolicy {
        let Self {
            max_retries,
            initial_backoff,
            max_backoff,
            backoff_base,
            retry_timeout,
            max_total_retries,
        } = *self;
        let mut policy = RetryPolicy::default();
        policy.max_retries = max_retries;
        policy.initial_backoff = initial_backoff;
        policy.max_backoff = max_backoff;
        policy.backoff_base = backoff_base;
        policy.retry_timeout = retry_timeout;
        policy.max_total_retries = max_total_retries;
        policy
    }
}

/// A configuration option by name, for string-keyed configuration (`--config key=value`, files,
/// environment). Parse with [`FromStr`]; apply with
/// [`ClientBuilder::config`](crate::ClientBuilder::config).
///
/// Accepted names (case-insensitive, `-` and `_` interchangeable, an `oss_` prefix allowed):
/// `endpoint`, `region`, `bucket`, `access_key_id`, `access_key_secret`, `session_token`,
/// `addressing` (`virtual`/`path`/`cname`), `signature_version` (`v4`/`v1`), `connect_timeout`,
/// `read_timeout`, `request_timeout`, `max_retries`, `retry_initial_backoff`,
/// `retry_max_backoff`, `retry_backoff_base`, `retry_timeout`, `max_total_retries`. Durations
/// accept `250ms`, `30s`, `5m` or plain seconds; `retry_backoff_base` is a number ≥ 1 (`1.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigKey {
    /// Service endpoint URL (`https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`).
    Endpoint,
    /// Region id (`cn-hangzhou`), part of the V4 signing scope.
    Region,
    /// Default bucket.
    Bucket,
    /// Access key id.
    AccessKeyId,
    /// Access key secret (never logged).
    AccessKeySecret,
    /// STS security token (never logged).
    SessionToken,
    /// [`Addressing`] style.
    Addressing,
    /// [`SignatureVersion`].
    SignatureVersion,
    /// TCP (+TLS) connect timeout.
    ConnectTimeout,
    /// Maximum time without receiving response bytes.
    ReadTimeout,
    /// Overall time limit of one request attempt.
    RequestTimeout,
    /// [`RetryConfig::max_retries`].
    MaxRetries,
    /// [`RetryConfig::initial_backoff`].
    RetryInitialBackoff,
    /// [`RetryConfig::max_backoff`].
    RetryMaxBackoff,
    /// [`RetryConfig::retry_timeout`].
    RetryTimeout,
    /// [`RetryConfig::backoff_base`].
    RetryBackoffBase,
    /// [`RetryConfig::max_total_retries`].
    MaxTotalRetries,
}

impl ConfigKey {
    /// Every key, in documentation order.
    pub const ALL: &'static [Self] = &[
        Self::Endpoint,
        Self::Region,
        Self::Bucket,
        Self::AccessKeyId,
        Self::AccessKeySecret,
        Self::SessionToken,
        Self::Addressing,
        Self::SignatureVersion,
        Self::ConnectTimeout,
        Self::ReadTimeout,
        Self::RequestTimeout,
        Self::MaxRetries,
        Self::RetryInitialBackoff,
        Self::RetryMaxBackoff,
        Self::RetryBackoffBase,
        Self::RetryTimeout,
        Self::MaxTotalRetries,
    ];

    /// Canonical name (`snake_case`), as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::Region => "region",
            Self::Bucket => "bucket",
            Self::AccessKeyId => "access_key_id",
            Self::AccessKeySecret => "access_key_secret",
            Self::SessionToken => "session_token",
            Self::Addressing => "addressing",
            Self::SignatureVersion => "signature_version",
            Self::ConnectTimeout => "connect_timeout",
            Self::ReadTimeout => "read_timeout",
            Self::RequestTimeout => "request_timeout",
            Self::MaxRetries => "max_retries",
            Self::RetryInitialBackoff => "retry_initial_backoff",
            Self::RetryMaxBackoff => "retry_max_backoff",
            Self::RetryTimeout => "retry_timeout",
            Self::RetryBackoffBase => "retry_backoff_base",
            Self::MaxTotalRetries => "max_total_retries",
        }
    }

    /// Whether values of this key are secrets (callers must not echo them).
    pub fn is_secret(self) -> bool {
        matches!(self, Self::AccessKeySecret | Self::SessionToken)
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConfigKey {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        let norm = norm.strip_prefix("oss_").unwrap_or(&norm);
        let key = match norm {
            "endpoint" => Self::Endpoint,
            "region" => Self::Region,
            "bucket" => Self::Bucket,
            "access_key_id" | "accesskeyid" => Self::AccessKeyId,
            "access_key_secret" | "accesskeysecret" | "secret_access_key" => Self::AccessKeySecret,
            "session_token" | "security_token" | "sts_token" => Self::SessionToken,
            "addressing" | "addressing_style" => Self::Addressing,
            "signature_version" | "sign_version" => Self::SignatureVersion,
            "connect_timeout" => Self::ConnectTimeout,
            "read_timeout" => Self::ReadTimeout,
            "request_timeout" | "timeout" => Self::RequestTimeout,
            "max_retries" | "retries" => Self::MaxRetries,
            "retry_initial_backoff" => Self::RetryInitialBackoff,
            "retry_max_backoff" => Self::RetryMaxBackoff,
            "retry_timeout" => Self::RetryTimeout,
            "retry_backoff_base" | "backoff_base" => Self::RetryBackoffBase,
            "max_total_retries" | "retry_max_total" => Self::MaxTotalRetries,
            _ => return Err(ConfigError::unknown_key(s)),
        };
        Ok(key)
    }
}

/// Parses a duration value with [`units::parse_duration`](crate::units::parse_duration)
/// (`250ms`, `30s`, `5m`, `1h`, a plain number of seconds; fractions allowed), at most 10^9 s.
/// The error never repeats the value: configuration values may be secrets put in the wrong key.
pub(crate) fn parse_duration(key: ConfigKey, value: &str) -> Result<Duration, ConfigError> {
    use crate::units::UnitError;
    let duration = crate::units::parse_duration(value).map_err(|err| {
        let reason = match err {
            UnitError::Empty => "empty duration",
            UnitError::NotANumber(_) => "not a duration",
            UnitError::UnknownUnit { .. } => "unknown duration unit (use ms, s, m, h, d or w)",
            UnitError::Overflow(_) => "duration out of range",
        };
        ConfigError::invalid(key.as_str(), reason)
    })?;
    if duration > Duration::from_secs(1_000_000_000) {
        return Err(ConfigError::invalid(key.as_str(), "duration out of range"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_names() {
        for key in ConfigKey::ALL {
            assert_eq!(key.as_str().parse::<ConfigKey>().unwrap(), *key);
        }
        assert_eq!(
            "OSS-ACCESS-KEY-ID".parse::<ConfigKey>().unwrap(),
            ConfigKey::AccessKeyId
        );
        assert!("nope".parse::<ConfigKey>().is_err());
    }

    #[test]
    fn durations_parse_units() {
        let k = ConfigKey::ReadTimeout;
        assert_eq!(
            parse_duration(k, "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_duration(k, "30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration(k, "2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration(k, "-1s").is_err());
        assert!(parse_duration(k, "3 parsecs").is_err());
        assert!(parse_duration(k, "NaN").is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = RetryConfig::default();
        assert_eq!(r.backoff(1), Duration::from_millis(200));
        assert_eq!(r.backoff(2), Duration::from_millis(400));
        assert_eq!(r.backoff(1000), r.max_backoff);
    }
}
