//! `oss://BUCKET/KEY` locations.

use std::fmt;
use std::str::FromStr;

/// A parsed `oss://BUCKET[/KEY]` location. `key` is empty for a bare bucket (or a bucket-wide prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssUrl {
    /// Bucket name (validated: 3–63 characters of `a-z`, `0-9`, `-`, not starting or ending with `-`).
    pub bucket: String,
    /// Object key or prefix, exactly as typed after the first `/` (may be empty).
    pub key: String,
}

/// Why an `oss://` location was rejected; the message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not of the form `oss://...`.
    #[error("`{0}` is not an OSS location: write it as oss://BUCKET/KEY")]
    Scheme(String),
    /// The bucket name breaks the OSS naming rules.
    #[error(
        "`{0}` is not a valid bucket name: use 3-63 characters of a-z, 0-9 and `-`, not starting or ending with `-`"
    )]
    Bucket(String),
    /// The location needs an object key but has none.
    #[error("`{0}` names a bucket but no object: write it as oss://BUCKET/KEY")]
    MissingKey(String),
    /// The object key breaks the OSS naming rules.
    #[error("invalid object key in `{input}`: {reason}")]
    Key {
        /// The whole input.
        input: String,
        /// What is wrong with the key.
        reason: &'static str,
    },
}

/// Longest object key OSS accepts, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 1023;

impl OssUrl {
    /// Parses a location that must name an object (non-empty key).
    ///
    /// ```
    /// let url = ossmp::location::OssUrl::parse_object("oss://my-bucket/dir/file.bin").unwrap();
    /// assert_eq!((url.bucket.as_str(), url.key.as_str()), ("my-bucket", "dir/file.bin"));
    /// assert!(ossmp::location::OssUrl::parse_object("oss://my-bucket/").is_err());
    /// ```
    pub fn parse_object(input: &str) -> Result<Self, UrlError> {
        let url: Self = input.parse()?;
        if url.key.is_empty() {
            return Err(UrlError::MissingKey(input.to_owned()));
        }
        Ok(url)
    }
}

impl OssUrl {
    /// Whether this names a prefix ("into this directory"): an empty key or one ending in `/`.
    pub fn is_prefix(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }

    /// The location of a file called `file_name` copied here: the prefix plus the name when
    /// this [is a prefix](Self::is_prefix) (as `ossutil cp` and `aws s3 cp` do), else itself.
    ///
    /// ```
    /// let dir = ossmp::location::OssUrl::parse_object("oss://my-bucket/photos/").unwrap();
    /// assert_eq!(dir.for_file("pic.jpg").key, "photos/pic.jpg");
    /// let exact = ossmp::location::OssUrl::parse_object("oss://my-bucket/photos/a.jpg").unwrap();
    /// assert_eq!(exact.for_file("pic.jpg").key, "photos/a.jpg");
    /// ```
    #[must_use]
    pub fn for_file(&self, file_name: &str) -> Self {
        let mut url = self.clone();
        if self.is_prefix() {
            url.key.push_str(file_name);
        }
        url
    }
}

impl FromStr for OssUrl {
    type Err = UrlError;

    /// Parses `oss://BUCKET`, `oss://BUCKET/` or `oss://BUCKET/KEY-OR-PREFIX`.
    fn from_str(input: &str) -> Result<Self, UrlError> {
        let rest = input
            .strip_prefix("oss://")
            .or_else(|| input.strip_prefix("OSS://"))
            .ok_or_else(|| UrlError::Scheme(input.to_owned()))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket(bucket) {
            return Err(UrlError::Bucket(bucket.to_owned()));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(UrlError::Key {
                input: input.to_owned(),
                reason: "longer than 1023 bytes",
            });
        }
        // `oss://b//k` would produce a key starting with `/`, which OSS rejects; say so here, not after a round trip.
        if key.starts_with('/') || key.starts_with('\\') {
            return Err(UrlError::Key {
                input: input.to_owned(),
                reason: "it must not start with `/` or `\\`",
            });
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for OssUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oss://{}/{}", self.bucket, self.key)
    }
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects_and_prefixes() {
        let u: OssUrl = "oss://bucket-1/a/b c.txt".parse().unwrap();
        assert_eq!(
            u,
            OssUrl {
                bucket: "bucket-1".into(),
                key: "a/b c.txt".into()
            }
        );
        assert_eq!(u.to_string(), "oss://bucket-1/a/b c.txt");
        let u: OssUrl = "oss://abc".parse().unwrap();
        assert_eq!(u.key, "");
        let u: OssUrl = "oss://abc/".parse().unwrap();
        assert_eq!(u.key, "");
        let u: OssUrl = "oss://abc/pre/".parse().unwrap();
        assert_eq!(u.key, "pre/");
    }

    #[test]
    fn rejects_bad_locations() {
        assert!(matches!(
            "s3://b/k".parse::<OssUrl>(),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            "bucket/key".parse::<OssUrl>(),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            "oss://Bucket/k".parse::<OssUrl>(),
            Err(UrlError::Bucket(_))
        ));
        assert!(matches!(
            "oss://ab/k".parse::<OssUrl>(),
            Err(UrlError::Bucket(_))
        ));
        assert!(matches!(
            "oss://-ab/k".parse::<OssUrl>(),
            Err(UrlError::Bucket(_))
        ));
        assert!(matches!(
            "oss:///k".parse::<OssUrl>(),
            Err(UrlError::Bucket(_))
        ));
        assert!(matches!(
            "oss://abc//k".parse::<OssUrl>(),
            Err(UrlError::Key { .. })
        ));
        let long = format!("oss://abc/{}", "x".repeat(1024));
        assert!(matches!(long.parse::<OssUrl>(), Err(UrlError::Key { .. })));
        assert!(matches!(
            OssUrl::parse_object("oss://abc"),
            Err(UrlError::MissingKey(_))
        ));
        assert!(OssUrl::parse_object(&format!("oss://abc/{}", "é".repeat(511))).is_ok());
    }

    #[test]
    fn messages_say_what_to_write() {
        let msg = "bucket/key".parse::<OssUrl>().unwrap_err().to_string();
        assert!(msg.contains("oss://BUCKET/KEY"), "{msg}");
    }
}
