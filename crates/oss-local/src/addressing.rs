//! Turning a request line and Host header into (bucket, key, query), as OSS does.

use percent_encoding::percent_decode;

use crate::error::OssError;

/// Longest key in bytes (OSS).
pub(crate) const MAX_KEY_LEN: usize = 1023;

/// What a request addresses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// `None` for service-level requests (`GET /`).
    pub(crate) bucket: Option<String>,
    /// Decoded key; empty for bucket-level requests.
    pub(crate) key: String,
    /// The bucket came from the Host header (virtual-hosted style or a custom domain).
    pub(crate) virtual_host: bool,
}

/// How Host headers name buckets.
#[derive(Debug, Default)]
pub(crate) struct HostRules {
    /// `Host: <bucket>.<suffix>` is virtual-hosted.
    pub(crate) suffix: Option<String>,
    /// Custom domains (lower-case host without port → bucket).
    pub(crate) cnames: Vec<(String, String)>,
}

impl HostRules {
    /// The bucket a Host header names, if it is virtual-hosted: a custom domain, a host under
    /// the configured suffix, or an OSS public name `<bucket>.oss-<region>[-internal].aliyuncs.com`
    /// / `<bucket>.oss-accelerate[-overseas].aliyuncs.com` (what official SDKs send to an IP
    /// endpoint, so it works without flags).
    fn bucket_of(&self, host: &str) -> Option<String> {
        let host = strip_port(host).to_ascii_lowercase();
        if let Some((_, bucket)) = self.cnames.iter().find(|(h, _)| *h == host) {
            return Some(bucket.clone());
        }
        let under = |suffix: &str| {
            host.strip_suffix(suffix)
                .and_then(|rest| rest.strip_suffix('.'))
                .filter(|b| !b.is_empty() && !b.contains('.'))
                .map(str::to_owned)
        };
        if let Some(bucket) = self
            .suffix
            .as_deref()
            .and_then(|s| under(s.trim_start_matches('.')))
        {
            return Some(bucket);
        }
        let (bucket, endpoint) = host.split_once('.')?;
        let region_host = endpoint.strip_suffix(".aliyuncs.com")?;
        (!bucket.is_empty() && region_host.starts_with("oss-") && !region_host.contains('.'))
            .then(|| bucket.to_owned())
    }
}

/// Resolves bucket and key from the Host header (see [`HostRules`]) or the first path
/// segment. The rest of the path is percent-decoded as a whole, so `%2F` and `/` both separate
/// "directories" of a key, exactly like the official SDKs expect.
pub(crate) fn resolve(
    host: Option<&str>,
    raw_path: &str,
    rules: &HostRules,
) -> Result<Target, OssError> {
    let host_bucket = host.and_then(|h| rules.bucket_of(h));
    let virtual_host = host_bucket.is_some();
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let (bucket, raw_key) = match host_bucket {
        Some(bucket) => (Some(bucket), path),
        None => {
            if path.is_empty() {
                (None, "")
            } else {
                let (first, rest) = path.split_once('/').unwrap_or((path, ""));
                let bucket =
                    decode_utf8(first).ok_or_else(|| OssError::invalid_bucket_name(first))?;
                (Some(bucket), rest)
            }
        }
    };
    if let Some(bucket) = &bucket
        && !valid_bucket(bucket)
    {
        return Err(OssError::invalid_bucket_name(bucket));
    }
    let key = decode_key(raw_key)?;
    Ok(Target {
        bucket,
        key,
        virtual_host,
    })
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

fn decode_utf8(raw: &str) -> Option<String> {
    percent_decode(raw.as_bytes())
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Decodes and validates an object key (empty = bucket level).
pub(crate) fn decode_key(raw: &str) -> Result<String, OssError> {
    let key = decode_utf8(raw).ok_or_else(|| OssError::invalid_object_name("0016-00000001"))?;
    validate_key(&key)?;
    Ok(key)
}

/// OSS key rules: at most 1023 bytes, no leading `/` or `\`.
pub(crate) fn validate_key(key: &str) -> Result<(), OssError> {
    if key.len() > MAX_KEY_LEN {
        return Err(OssError::invalid_object_name("0016-00000002"));
    }
    if key.starts_with('/') || key.starts_with('\\') {
        return Err(OssError::invalid_object_name("0016-00000005"));
    }
    Ok(())
}

/// Bucket names: 3–63 of `[a-z0-9-]`, not starting or ending with `-`.
pub(crate) fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Decoded query pairs in wire order. `+` means space (Go's encoder), `%2B` a plus.
pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    raw.split('&')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            (decode_component(name), decode_component(value))
        })
        .collect()
}

fn decode_component(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> HostRules {
        HostRules::default()
    }

    #[test]
    fn path_style_and_escapes() {
        let t = resolve(Some("127.0.0.1:9000"), "/bucket/a%2Fb/c%20d", &none()).unwrap();
        assert_eq!(t.bucket.as_deref(), Some("bucket"));
        assert_eq!(t.key, "a/b/c d");
        let t = resolve(None, "/bucket/", &none()).unwrap();
        assert_eq!(t.key, "");
        let t = resolve(None, "/", &none()).unwrap();
        assert_eq!(t.bucket, None);
        let t = resolve(None, "/bucket/../../etc/passwd", &none()).unwrap();
        assert_eq!(t.key, "../../etc/passwd");
        assert_eq!(
            resolve(None, "/bucket//x", &none()).unwrap_err().code(),
            "InvalidObjectName"
        );
        assert_eq!(
            resolve(None, "/bucket/%FF", &none()).unwrap_err().code(),
            "InvalidObjectName"
        );
        let long = "k".repeat(1024);
        assert_eq!(
            resolve(None, &format!("/bucket/{long}"), &none())
                .unwrap_err()
                .code(),
            "InvalidObjectName"
        );
        assert_eq!(
            resolve(None, "/Bad_Bucket/x", &none()).unwrap_err().code(),
            "InvalidBucketName"
        );
    }

    #[test]
    fn virtual_host_style() {
        let rules = HostRules {
            suffix: Some("oss.localhost".into()),
            cnames: vec![("static.example.com".into(), "site".into())],
        };
        let t = resolve(Some("bkt.oss.localhost:8080"), "/a/b", &rules).unwrap();
        assert_eq!(t.bucket.as_deref(), Some("bkt"));
        assert_eq!(t.key, "a/b");
        assert!(t.virtual_host);
        let t = resolve(Some("oss.localhost"), "/bkt/a", &rules).unwrap();
        assert_eq!(t.bucket.as_deref(), Some("bkt"));
        assert_eq!(t.key, "a");
        assert!(!t.virtual_host);
        // OSS public names are virtual-hosted without any configuration.
        for host in [
            "bkt.oss-cn-hangzhou.aliyuncs.com",
            "bkt.oss-cn-hangzhou-internal.aliyuncs.com:80",
            "BKT.oss-accelerate.aliyuncs.com",
        ] {
            let t = resolve(Some(host), "/a", &none()).unwrap();
            assert_eq!(
                (t.bucket.as_deref(), t.key.as_str()),
                (Some("bkt"), "a"),
                "{host}"
            );
        }
        // The service endpoint itself and other domains stay path-style.
        for host in [
            "oss-cn-hangzhou.aliyuncs.com",
            "bkt.example.com",
            "a.b.oss-cn-x.aliyuncs.com",
        ] {
            let t = resolve(Some(host), "/other/a", &none()).unwrap();
            assert_eq!(t.bucket.as_deref(), Some("other"), "{host}");
        }
        // A custom domain, matched without its port and case-insensitively.
        let t = resolve(Some("Static.Example.com:8080"), "/index.html", &rules).unwrap();
        assert_eq!(
            (t.bucket.as_deref(), t.key.as_str()),
            (Some("site"), "index.html")
        );
    }

    #[test]
    fn query_decoding() {
        let q = parse_query(Some("uploads&uploadId=AB&x=%2B1+2&partNumber="));
        assert_eq!(q[0], ("uploads".into(), String::new()));
        assert_eq!(q[2], ("x".into(), "+1 2".into()));
        assert_eq!(q[3], ("partNumber".into(), String::new()));
    }
}
