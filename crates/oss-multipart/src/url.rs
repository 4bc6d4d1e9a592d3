//! Request URL building for the three addressing styles.
//!
//! The object key is percent-encoded byte-wise keeping `/` (so `a/b c` becomes `a/b%20c`) and
//! query names and values are encoded strictly. The signers receive the *decoded* bucket, key
//! and query pairs, never this URL, which is why the addressing style cannot affect signatures.

use crate::config::Addressing;
use crate::error::ConfigError;

/// A validated service endpoint: scheme plus authority, no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    scheme: String,
    /// Host (without port), lower-cased.
    host: String,
    port: Option<u16>,
}

impl Endpoint {
    /// Parses `https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000` or a bare host
    /// (then `https`). A path other than `/` is refused: it would silently change every key.
    pub(crate) fn parse(input: &str) -> Result<Self, ConfigError> {
        let input = input.trim();
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("https://{input}")
        };
        let uri: http::Uri = with_scheme
            .parse()
            .map_err(|_| ConfigError::invalid("endpoint", "not a valid URL"))?;
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(ConfigError::invalid(
                "endpoint",
                "scheme must be http or https",
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| ConfigError::invalid("endpoint", "missing host"))?;
        if authority.as_str().contains('@') {
            return Err(ConfigError::invalid(
                "endpoint",
                "user info is not allowed in the endpoint",
            ));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(ConfigError::invalid(
                "endpoint",
                "the endpoint must not have a path or query",
            ));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(ConfigError::invalid("endpoint", "missing host"));
        }
        Ok(Self {
            scheme,
            host,
            port: authority.port_u16(),
        })
    }

    /// Whether the host is an IP literal or `localhost` (bucket sub-domains cannot resolve there).
    pub(crate) fn is_ip_or_localhost(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok()
    }

    /// The host, lower-cased, without port.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    #[cfg(test)]
    pub(crate) fn scheme(&self) -> &str {
        &self.scheme
    }

    fn authority(&self, prefix: Option<&str>) -> String {
        let mut s = String::new();
        if let Some(p) = prefix {
            s.push_str(p);
            s.push('.');
        }
        s.push_str(&self.host);
        if let Some(port) = self.port {
            s.push(':');
            s.push_str(&port.to_string());
        }
        s
    }

    /// The full request URL for `bucket`/`key` with the given decoded query pairs (an empty
    /// value is emitted as a bare name, e.g. `?uploads`).
    pub(crate) fn url(
        &self,
        addressing: Addressing,
        bucket: Option<&str>,
        key: Option<&str>,
        query: &[(String, String)],
    ) -> String {
        // The resolver (`crate::endpoint`) already turned virtual-host into path style where
        // bucket sub-domains cannot resolve; a CNAME host stands for its bucket.
        let (authority, mut path) = match bucket {
            Some(b) if addressing == Addressing::VirtualHost => {
                (self.authority(Some(b)), String::from("/"))
            }
            Some(_) if addressing == Addressing::Cname => (self.authority(None), String::from("/")),
            Some(b) => (
                self.authority(None),
                format!("/{}/", oss_model::url_encode_path(b)),
            ),
            None => (self.authority(None), String::from("/")),
        };
        if let Some(k) = key {
            path.push_str(&encode_key(k));
        }
        let mut url = format!("{}://{authority}{path}", self.scheme);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&oss_model::encode_query(query));
        }
        url
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority(None))
    }
}

/// Percent-encodes an object key for the URL path, keeping `/`.
pub(crate) fn encode_key(key: &str) -> String {
    oss_model::url_encode_path(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn virtual_host_and_path_styles() {
        let ep = Endpoint::parse("https://oss-cn-hangzhou.aliyuncs.com").unwrap();
        assert_eq!(
            ep.url(
                Addressing::VirtualHost,
                Some("bkt"),
                Some("a/b c+%.txt"),
                &q(&[("uploads", "")])
            ),
            "https://bkt.oss-cn-hangzhou.aliyuncs.com/a/b%20c%2B%25.txt?uploads"
        );
        assert_eq!(
            ep.url(
                Addressing::Path,
                Some("bkt"),
                Some("k"),
                &q(&[("partNumber", "1"), ("uploadId", "a/b=")])
            ),
            "https://oss-cn-hangzhou.aliyuncs.com/bkt/k?partNumber=1&uploadId=a%2Fb%3D"
        );
        assert_eq!(
            ep.url(Addressing::Path, Some("bkt"), None, &[]),
            "https://oss-cn-hangzhou.aliyuncs.com/bkt/"
        );
        assert_eq!(
            ep.url(Addressing::Path, None, None, &[]),
            "https://oss-cn-hangzhou.aliyuncs.com/"
        );
    }

    #[test]
    fn cname_urls_carry_no_bucket() {
        let ep = Endpoint::parse("https://static.example.com").unwrap();
        assert!(!ep.is_ip_or_localhost());
        assert_eq!(
            ep.url(
                Addressing::Cname,
                Some("b"),
                Some("a/k"),
                &q(&[("uploads", "")])
            ),
            "https://static.example.com/a/k?uploads"
        );
        assert_eq!(
            ep.url(Addressing::Cname, Some("b"), None, &[]),
            "https://static.example.com/"
        );
        assert!(
            Endpoint::parse("http://127.0.0.1:9000")
                .unwrap()
                .is_ip_or_localhost()
        );
        assert!(
            Endpoint::parse("http://LOCALHOST:9000")
                .unwrap()
                .is_ip_or_localhost()
        );
    }

    #[test]
    fn endpoint_validation() {
        assert_eq!(
            Endpoint::parse("oss-cn-beijing.aliyuncs.com")
                .unwrap()
                .scheme(),
            "https"
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("https://h/prefix").is_err());
        assert!(Endpoint::parse("https://u:p@h").is_err());
        assert!(Endpoint::parse("").is_err());
    }

    #[test]
    fn unicode_keys_are_utf8_percent_encoded() {
        assert_eq!(
            encode_key("目录/文件 1"),
            "%E7%9B%AE%E5%BD%95/%E6%96%87%E4%BB%B6%201"
        );
    }
}
