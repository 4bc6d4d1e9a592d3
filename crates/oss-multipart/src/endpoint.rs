//! The one rule that turns "endpoint, region, addressing" as configured into what the client uses.
//!
//! The builder and the CLI both call [`resolve`], so one environment always gives one answer:
//!
//! * An endpoint without a scheme means `https`. With only a region, the endpoint is the public
//!   `https://oss-<region>.aliyuncs.com` (or `-internal`, when asked for).
//! * The region is taken as given (a leading `oss-` is dropped), else read from a *standard*
//!   endpoint host `oss-<region>[-internal].aliyuncs.com`. Accelerate, dual-stack, custom
//!   domains and other hosts carry no trustworthy region, so V4 then needs it set explicitly.
//! * Addressing defaults to virtual-host, except for IP literals and `localhost`, where bucket
//!   sub-domains cannot resolve: those use path style even when virtual-host is asked for.
//!   `cname` is never changed: the endpoint host *is* the bucket.

use crate::config::{Addressing, SignatureVersion};
use crate::error::ConfigError;
use crate::url::Endpoint;

/// Configured values, before resolution (all optional).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EndpointInput<'a> {
    pub(crate) endpoint: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    pub(crate) addressing: Option<Addressing>,
    pub(crate) internal: bool,
    pub(crate) signature_version: SignatureVersion,
}

/// What the client uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) endpoint: Endpoint,
    pub(crate) region: Option<String>,
    pub(crate) addressing: Addressing,
}

const SUFFIX: &str = ".aliyuncs.com";

/// Applies the rule; errors name the setting to fix and how to set it.
pub(crate) fn resolve(input: EndpointInput<'_>) -> Result<Resolved, ConfigError> {
    let region = input
        .region
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.strip_prefix("oss-").unwrap_or(r).to_owned());
    let endpoint = match (
        input.endpoint.map(str::trim).filter(|e| !e.is_empty()),
        &region,
    ) {
        (Some(e), _) => Endpoint::parse(e)?,
        (None, Some(r)) => {
            let internal = if input.internal { "-internal" } else { "" };
            Endpoint::parse(&format!("https://oss-{r}{internal}{SUFFIX}"))?
        }
        (None, None) => {
            return Err(ConfigError::invalid(
                "endpoint",
                "no endpoint or region configured: set OSS_ENDPOINT or OSS_REGION \
                 (builder `.endpoint(..)`/`.region(..)`, CLI --endpoint/--region)",
            ));
        }
    };
    let region = match region {
        Some(r) => Some(r),
        None => region_of_standard_host(endpoint.host()).map(str::to_owned),
    };
    if region.is_none() && input.signature_version == SignatureVersion::V4 {
        return Err(ConfigError::invalid(
            "region",
            format!(
                "signature V4 needs a region, and `{}` is not a standard \
                 oss-<region>.aliyuncs.com endpoint to read it from: set OSS_REGION \
                 (builder `.region(..)`, CLI --region), e.g. cn-hangzhou",
                endpoint.host()
            ),
        ));
    }
    let addressing = match input.addressing.unwrap_or_default() {
        Addressing::VirtualHost if endpoint.is_ip_or_localhost() => Addressing::Path,
        other => other,
    };
    Ok(Resolved {
        endpoint,
        region,
        addressing,
    })
}

/// `cn-hangzhou` from `oss-cn-hangzhou.aliyuncs.com` or `oss-cn-hangzhou-internal.aliyuncs.com`;
/// `None` for every other host (accelerate, dual-stack `cn-hangzhou.oss.aliyuncs.com`, custom
/// domains, IPs), whose names do not say which region signs.
pub(crate) fn region_of_standard_host(host: &str) -> Option<&str> {
    let label = host.strip_suffix(SUFFIX)?;
    if label.contains('.') {
        return None;
    }
    let region = label.strip_prefix("oss-")?;
    let region = region.strip_suffix("-internal").unwrap_or(region);
    let special = region.starts_with("accelerate") || region.is_empty();
    (!special).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(endpoint: Option<&'a str>, region: Option<&'a str>) -> EndpointInput<'a> {
        EndpointInput {
            endpoint,
            region,
            ..EndpointInput::default()
        }
    }

    #[test]
    fn region_comes_only_from_standard_hosts() {
        for (host, want) in [
            ("oss-cn-hangzhou.aliyuncs.com", Some("cn-hangzhou")),
            ("oss-cn-shanghai-internal.aliyuncs.com", Some("cn-shanghai")),
            ("oss-accelerate.aliyuncs.com", None),
            ("oss-accelerate-overseas.aliyuncs.com", None),
            ("cn-hangzhou.oss.aliyuncs.com", None),
            ("bucket.oss-cn-hangzhou.aliyuncs.com", None),
            ("static.example.com", None),
            ("oss-.aliyuncs.com", None),
            ("127.0.0.1", None),
        ] {
            assert_eq!(region_of_standard_host(host), want, "{host}");
        }
    }

    #[test]
    fn region_alone_gives_the_public_or_internal_endpoint() {
        let r = resolve(input(None, Some("oss-cn-beijing"))).unwrap();
        assert_eq!(
            r.endpoint.to_string(),
            "https://oss-cn-beijing.aliyuncs.com"
        );
        assert_eq!(r.region.as_deref(), Some("cn-beijing"));
        let r = resolve(EndpointInput {
            internal: true,
            ..input(None, Some("cn-beijing"))
        })
        .unwrap();
        assert_eq!(
            r.endpoint.to_string(),
            "https://oss-cn-beijing-internal.aliyuncs.com"
        );
    }

    #[test]
    fn non_standard_hosts_need_a_region_for_v4_and_say_how() {
        let err = resolve(input(Some("https://oss-accelerate.aliyuncs.com"), None)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("OSS_REGION") && msg.contains("oss-accelerate"),
            "{msg}"
        );
        let v1 = resolve(EndpointInput {
            signature_version: SignatureVersion::V1,
            ..input(Some("https://static.example.com"), None)
        })
        .unwrap();
        assert_eq!(v1.region, None);
        assert!(resolve(input(None, None)).is_err());
    }

    #[test]
    fn ip_and_localhost_use_path_style_but_cname_stays() {
        for ep in [
            "http://127.0.0.1:9000",
            "http://localhost:9000",
            "http://[::1]:1",
        ] {
            let r = resolve(input(Some(ep), Some("r"))).unwrap();
            assert_eq!(r.addressing, Addressing::Path, "{ep}");
        }
        let r = resolve(EndpointInput {
            addressing: Some(Addressing::Cname),
            ..input(Some("http://localhost:9000"), Some("r"))
        })
        .unwrap();
        assert_eq!(r.addressing, Addressing::Cname);
        let r = resolve(input(Some("oss-cn-hangzhou.aliyuncs.com"), None)).unwrap();
        assert_eq!(r.addressing, Addressing::VirtualHost);
    }
}
