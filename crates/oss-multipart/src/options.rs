//! [`ObjectOptions`]: every attribute and per-request option an upload can carry, validated
//! once, and the one table that says which header goes on which request
//! ([`ObjectOptions::headers`]).
//!
//! OSS takes the attributes of a multipart object on different requests: content headers,
//! metadata, tags, storage class and encryption on InitiateMultipartUpload; the ACL, the
//! callback and (again) forbid-overwrite on CompleteMultipartUpload; the traffic limit on
//! every UploadPart. A single PutObject or CopyObject takes them all at once. Keeping that
//! table here means every path (single PUT, multipart, presigned, copy) sends the same thing.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use http::header::{HeaderName, HeaderValue};
use oss_model::header;
use oss_model::ops::ServerSideEncryption;

/// Most tags on one object.
pub const MAX_TAGS: usize = 10;
/// Longest tag key, in characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// Smallest `x-oss-traffic-limit`, in bit/s (100 KiB/s).
pub const MIN_TRAFFIC_LIMIT: u64 = 819_200;
/// Largest `x-oss-traffic-limit`, in bit/s (100 MiB/s).
pub const MAX_TRAFFIC_LIMIT: u64 = 838_860_800;
/// Most bytes of user metadata (names plus values) on one object.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

const CONTENT_LANGUAGE: HeaderName = http::header::CONTENT_LANGUAGE;
const X_OSS_METADATA_DIRECTIVE: HeaderName = HeaderName::from_static("x-oss-metadata-directive");
const X_OSS_TAGGING_DIRECTIVE: HeaderName = HeaderName::from_static("x-oss-tagging-directive");

/// An invalid [`ObjectOptions`] value, found before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// More than [`MAX_TAGS`] tags.
    #[error("{count} tags given, OSS allows at most 10 per object")]
    TooManyTags {
        /// Tags given.
        count: usize,
    },
    /// A tag key that is empty, longer than 128 characters, repeated, or holds control
    /// characters.
    #[error("invalid tag key {key:?}: {reason}")]
    InvalidTagKey {
        /// The key (tags are not secret).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag value longer than 256 characters or holding control characters.
    #[error("invalid value for tag {key:?}: {reason}")]
    InvalidTagValue {
        /// The tag's key.
        key: String,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// A `k=v&k2=v2` tagging string that does not parse.
    #[error("invalid tagging string: {reason} (expected k1=v1&k2=v2, URL-encoded)")]
    InvalidTagging {
        /// What is wrong.
        reason: &'static str,
    },
    /// `x-oss-traffic-limit` outside 819,200 ..= 838,860,800 bit/s.
    #[error(
        "traffic limit {value} bit/s is outside 819200..=838860800 bit/s (100 KiB/s to 100 MiB/s)"
    )]
    TrafficLimit {
        /// The rejected value.
        value: u64,
    },
    /// A metadata name that cannot be an HTTP header name, or metadata over 8 KiB.
    #[error("invalid metadata {name:?}: {reason}")]
    InvalidMetadata {
        /// The metadata name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value HTTP cannot carry in a header (non-ASCII or control characters).
    #[error("{option} is not a valid header value (use visible ASCII; URL-encode anything else)")]
    InvalidHeaderValue {
        /// The option.
        option: &'static str,
    },
    /// A KMS key id or a data encryption algorithm without `KMS` encryption.
    #[error("{option} needs server-side encryption KMS")]
    NeedsKms {
        /// The option.
        option: &'static str,
    },
    /// A data encryption algorithm other than `SM4`.
    #[error("server-side data encryption must be SM4, got {value:?}")]
    DataEncryption {
        /// The rejected value.
        value: String,
    },
    /// A callback or callback-var that is not the JSON OSS expects.
    #[error("invalid {option}: {reason}")]
    InvalidCallback {
        /// `callback` or `callback-var`.
        option: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A callback-var without a callback.
    #[error("callback-var needs a callback")]
    CallbackVarWithoutCallback,
    /// An unknown ACL, storage class or encryption name.
    #[error("unknown {option} {value:?}; expected one of {expected}")]
    UnknownValue {
        /// The option.
        option: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
}

impl OptionsError {
    /// The option at fault, as the CLI flag names it (`tagging`, `traffic-limit`...).
    pub fn option(&self) -> &'static str {
        match self {
            Self::TooManyTags { .. }
            | Self::InvalidTagKey { .. }
            | Self::InvalidTagValue { .. }
            | Self::InvalidTagging { .. } => "tagging",
            Self::TrafficLimit { .. } => "traffic-limit",
            Self::InvalidMetadata { .. } => "meta",
            Self::InvalidHeaderValue { option }
            | Self::NeedsKms { option }
            | Self::InvalidCallback { option, .. }
            | Self::UnknownValue { option, .. } => option,
            Self::DataEncryption { .. } => "sse-data",
            Self::CallbackVarWithoutCallback => "callback-var",
        }
    }
}

impl From<OptionsError> for crate::Error {
    fn from(e: OptionsError) -> Self {
        Self::config(e.option(), e.to_string())
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $option:literal, { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// The wire value.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = OptionsError;

            /// Parses the wire value, ignoring ASCII case.
            fn from_str(s: &str) -> Result<Self, OptionsError> {
                $(if s.trim().eq_ignore_ascii_case($wire) {
                    return Ok(Self::$variant);
                })+
                Err(OptionsError::UnknownValue {
                    option: $option,
                    value: s.to_owned(),
                    expected: concat!($($wire, " "),+),
                })
            }
        }
    };
}

wire_enum!(
    /// `x-oss-object-acl`.
    ObjectAcl, "acl", {
        /// Only the owner and authorised users.
        Private = "private",
        /// Anyone may read.
        PublicRead = "public-read",
        /// Anyone may read and write.
        PublicReadWrite = "public-read-write",
        /// Follow the bucket's ACL.
        Default = "default",
    }
);

wire_enum!(
    /// `x-oss-storage-class`.
    StorageClass, "storage-class", {
        /// Standard.
        Standard = "Standard",
        /// Infrequent access.
        InfrequentAccess = "IA",
        /// Archive.
        Archive = "Archive",
        /// Cold archive.
        ColdArchive = "ColdArchive",
        /// Deep cold archive.
        DeepColdArchive = "DeepColdArchive",
    }
);

/// Parses an SSE algorithm name (`AES256`, `KMS`, `SM4`, any case).
///
/// # Errors
/// [`OptionsError::UnknownValue`] for anything else.
pub fn parse_sse(value: &str) -> Result<ServerSideEncryption, OptionsError> {
    [
        ServerSideEncryption::Aes256,
        ServerSideEncryption::Kms,
        ServerSideEncryption::Sm4,
    ]
    .into_iter()
    .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
    .ok_or_else(|| OptionsError::UnknownValue {
        option: "sse",
        value: value.to_owned(),
        expected: "AES256 KMS SM4",
    })
}

/// Parses `k1=v1&k2=v2` (each side URL-encoded, as `x-oss-tagging` carries it) into pairs.
/// An empty string is no tags. Limits are checked by [`ObjectOptions::validate`].
///
/// # Errors
/// [`OptionsError::InvalidTagging`] for a pair without a key or invalid percent-encoding.
pub fn parse_tagging(value: &str) -> Result<Vec<(String, String)>, OptionsError> {
    let decode = |s: &str| {
        oss_model::url_decode("tag", s).map_err(|_| OptionsError::InvalidTagging {
            reason: "percent-encoding does not decode to UTF-8",
        })
    };
    value
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k.is_empty() {
                return Err(OptionsError::InvalidTagging {
                    reason: "a tag has no key",
                });
            }
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The request an option set is mapped onto (see [`ObjectOptions::headers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectRequest {
    /// A single PutObject carrying the whole object.
    PutObject,
    /// InitiateMultipartUpload.
    Initiate,
    /// Every UploadPart.
    UploadPart,
    /// CompleteMultipartUpload.
    Complete,
    /// A single CopyObject (the options replace the source's).
    CopyObject,
    /// Every UploadPartCopy.
    UploadPartCopy,
}

/// Everything an upload may set on the object it creates and on the requests that create it.
/// Build it with the `with_*` setters (or set the public fields), then hand it to
/// [`Client::put_object_with`](crate::Client::put_object_with),
/// [`Client::presign_upload_with`](crate::Client::presign_upload_with) or
/// [`Client::initiate_upload`](crate::Client::initiate_upload).
///
/// Nothing is checked until [`validate`](Self::validate) (every consumer calls it before its
/// first request), so a chain of setters never fails half-way.
///
/// ```
/// use oss_multipart::{ObjectAcl, ObjectOptions, ObjectRequest};
///
/// let options = ObjectOptions::new()
///     .with_cache_control("max-age=3600")
///     .with_acl(ObjectAcl::PublicRead)
///     .with_tagging_str("team=storage&env=prod")?
///     .with_metadata("origin", "camera-7")
///     .with_traffic_limit(8 * 1024 * 1024);
/// options.validate()?;
/// let initiate = options.headers(ObjectRequest::Initiate)?;
/// assert!(initiate.iter().any(|(n, _)| n == "x-oss-tagging"));
/// // The ACL goes on Complete, the traffic limit on every part.
/// assert!(!initiate.iter().any(|(n, _)| n == "x-oss-object-acl"));
/// let part = options.headers(ObjectRequest::UploadPart)?;
/// assert_eq!(part.len(), 1);
/// # Ok::<(), oss_multipart::OptionsError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectOptions {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding` (stored as given; the body is not encoded for you).
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires` (an HTTP date).
    pub expires: Option<String>,
    /// `x-oss-object-acl`.
    pub acl: Option<ObjectAcl>,
    /// Object tags (`x-oss-tagging`), at most 10.
    pub tags: Vec<(String, String)>,
    /// `x-oss-storage-class`.
    pub storage_class: Option<StorageClass>,
    /// User metadata, `x-oss-meta-<name>` (names are lower-cased on the wire).
    pub metadata: Vec<(String, String)>,
    /// `x-oss-forbid-overwrite: true`: fail with `FileAlreadyExists` instead of replacing.
    pub forbid_overwrite: bool,
    /// `x-oss-server-side-encryption`.
    pub sse: Option<ServerSideEncryption>,
    /// `x-oss-server-side-encryption-key-id` (KMS only).
    pub sse_key_id: Option<String>,
    /// `x-oss-server-side-data-encryption` (`SM4`, KMS only).
    pub sse_data_encryption: Option<String>,
    /// `x-oss-traffic-limit` in bit/s, applied to each request that carries object bytes.
    pub traffic_limit: Option<u64>,
    /// Send `Content-MD5` with every body (parts and single PUT). Off by default: CRC-64
    /// already checks every byte end to end.
    pub content_md5: bool,
    /// Callback description, JSON (`callbackUrl`, `callbackBody`, ...); sent base64-encoded
    /// as `x-oss-callback` on Complete or the single PUT.
    pub callback: Option<String>,
    /// Callback variables, a JSON object of `x:` names to strings (`x-oss-callback-var`).
    pub callback_var: Option<String>,
    /// The `sequential` sub-resource on Initiate: OSS then requires parts in order.
    pub sequential: bool,
}

impl fmt::Debug for ObjectOptions {
    // The callback may carry a token in its URL or body: show only whether it is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectOptions")
            .field("content_type", &self.content_type)
            .field("cache_control", &self.cache_control)
            .field("content_disposition", &self.content_disposition)
            .field("content_encoding", &self.content_encoding)
            .field("content_language", &self.content_language)
            .field("expires", &self.expires)
            .field("acl", &self.acl)
            .field("tags", &self.tags)
            .field("storage_class", &self.storage_class)
            .field("metadata", &self.metadata)
            .field("forbid_overwrite", &self.forbid_overwrite)
            .field("sse", &self.sse)
            .field("sse_key_id", &self.sse_key_id.as_ref().map(|_| "<set>"))
            .field("sse_data_encryption", &self.sse_data_encryption)
            .field("traffic_limit", &self.traffic_limit)
            .field("content_md5", &self.content_md5)
            .field("callback", &self.callback.as_ref().map(|_| "<set>"))
            .field("callback_var", &self.callback_var.as_ref().map(|_| "<set>"))
            .field("sequential", &self.sequential)
            .finish()
    }
}

impl ObjectOptions {
    /// No options: OSS defaults everywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `Content-Type`.
    pub fn with_content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = Some(value.into());
        self
    }

    /// Sets `Cache-Control`.
    pub fn with_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Sets `Content-Disposition`.
    pub fn with_content_disposition(mut self, value: impl Into<String>) -> Self {
        self.content_disposition = Some(value.into());
        self
    }

    /// Sets `Content-Encoding`.
    pub fn with_content_encoding(mut self, value: impl Into<String>) -> Self {
        self.content_encoding = Some(value.into());
        self
    }

    /// Sets `Content-Language`.
    pub fn with_content_language(mut self, value: impl Into<String>) -> Self {
        self.content_language = Some(value.into());
        self
    }

    /// Sets `Expires` (an HTTP date such as `Wed, 21 Oct 2026 07:28:00 GMT`).
    pub fn with_expires(mut self, value: impl Into<String>) -> Self {
        self.expires = Some(value.into());
        self
    }

    /// Sets the object ACL.
    pub fn with_acl(mut self, acl: ObjectAcl) -> Self {
        self.acl = Some(acl);
        self
    }

    /// Adds one tag.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Adds tags from any map or list of pairs.
    pub fn with_tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds tags from a `k1=v1&k2=v2` string (URL-encoded, as in `x-oss-tagging`).
    ///
    /// # Errors
    /// [`OptionsError::InvalidTagging`] when the string does not parse.
    pub fn with_tagging_str(self, tagging: &str) -> Result<Self, OptionsError> {
        Ok(self.with_tags(parse_tagging(tagging)?))
    }

    /// Sets the storage class.
    pub fn with_storage_class(mut self, class: StorageClass) -> Self {
        self.storage_class = Some(class);
        self
    }

    /// Adds user metadata (`x-oss-meta-<name>`).
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((name.into(), value.into()));
        self
    }

    /// Refuses to replace an existing object (`x-oss-forbid-overwrite: true`).
    pub fn with_forbid_overwrite(mut self, yes: bool) -> Self {
        self.forbid_overwrite = yes;
        self
    }

    /// Sets server-side encryption.
    pub fn with_sse(mut self, sse: ServerSideEncryption) -> Self {
        self.sse = Some(sse);
        self
    }

    /// Sets the KMS key id (needs [`ServerSideEncryption::Kms`]).
    pub fn with_sse_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.sse_key_id = Some(key_id.into());
        self
    }

    /// Sets the data encryption algorithm under KMS (`SM4`).
    pub fn with_sse_data_encryption(mut self, algorithm: impl Into<String>) -> Self {
        self.sse_data_encryption = Some(algorithm.into());
        self
    }

    /// Limits each request's bandwidth on the server side, in bit/s
    /// (819,200 ..= 838,860,800).
    pub fn with_traffic_limit(mut self, bits_per_second: u64) -> Self {
        self.traffic_limit = Some(bits_per_second);
        self
    }

    /// Sends `Content-MD5` with every body.
    pub fn with_content_md5(mut self, yes: bool) -> Self {
        self.content_md5 = yes;
        self
    }

    /// Sets the upload callback (JSON with at least `callbackUrl` and `callbackBody`).
    pub fn with_callback(mut self, json: impl Into<String>) -> Self {
        self.callback = Some(json.into());
        self
    }

    /// Sets the callback variables (a JSON object of `x:`-prefixed names to strings).
    pub fn with_callback_var(mut self, json: impl Into<String>) -> Self {
        self.callback_var = Some(json.into());
        self
    }

    /// Asks OSS to enforce part order (the `sequential` sub-resource on Initiate).
    pub fn with_sequential(mut self, yes: bool) -> Self {
        self.sequential = yes;
        self
    }

    /// Checks every option against OSS's rules.
    ///
    /// # Errors
    /// The first [`OptionsError`] found.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let text = [
            ("content-type", &self.content_type),
            ("cache-control", &self.cache_control),
            ("content-disposition", &self.content_disposition),
            ("content-encoding", &self.content_encoding),
            ("content-language", &self.content_language),
            ("expires", &self.expires),
            ("sse-key-id", &self.sse_key_id),
        ];
        for (option, value) in text {
            if let Some(v) = value {
                header_value(option, v)?;
            }
        }
        self.validate_tags()?;
        self.validate_metadata()?;
        let kms = self.sse == Some(ServerSideEncryption::Kms);
        if self.sse_key_id.is_some() && !kms {
            return Err(OptionsError::NeedsKms {
                option: "sse-key-id",
            });
        }
        if let Some(data) = &self.sse_data_encryption {
            if !kms {
                return Err(OptionsError::NeedsKms { option: "sse-data" });
            }
            if data != "SM4" {
                return Err(OptionsError::DataEncryption {
                    value: data.clone(),
                });
            }
        }
        if let Some(value) = self
            .traffic_limit
            .filter(|v| !(MIN_TRAFFIC_LIMIT..=MAX_TRAFFIC_LIMIT).contains(v))
        {
            return Err(OptionsError::TrafficLimit { value });
        }
        self.validate_callback()
    }

    fn validate_tags(&self) -> Result<(), OptionsError> {
        if self.tags.len() > MAX_TAGS {
            return Err(OptionsError::TooManyTags {
                count: self.tags.len(),
            });
        }
        for (i, (key, value)) in self.tags.iter().enumerate() {
            let bad_key = |reason| OptionsError::InvalidTagKey {
                key: key.clone(),
                reason,
            };
            if key.is_empty() {
                return Err(bad_key("empty"));
            }
            if key.chars().count() > MAX_TAG_KEY_CHARS {
                return Err(bad_key("longer than 128 characters"));
            }
            if key.chars().any(char::is_control) {
                return Err(bad_key("holds control characters"));
            }
            if self.tags[..i].iter().any(|(k, _)| k == key) {
                return Err(bad_key("given twice"));
            }
            let bad_value = |reason| OptionsError::InvalidTagValue {
                key: key.clone(),
                reason,
            };
            if value.chars().count() > MAX_TAG_VALUE_CHARS {
                return Err(bad_value("longer than 256 characters"));
            }
            if value.chars().any(char::is_control) {
                return Err(bad_value("holds control characters"));
            }
        }
        Ok(())
    }

    fn validate_metadata(&self) -> Result<(), OptionsError> {
        let mut total = 0;
        for (name, value) in &self.metadata {
            let bad = |reason| OptionsError::InvalidMetadata {
                name: name.clone(),
                reason,
            };
            if name.is_empty() {
                return Err(bad("empty name"));
            }
            meta_header_name(name).ok_or_else(|| bad("not a valid HTTP header name"))?;
            if HeaderValue::from_str(value).is_err() {
                return Err(bad(
                    "value is not a valid header value (use visible ASCII; URL-encode the rest)",
                ));
            }
            total += name.len() + value.len();
        }
        if total > MAX_METADATA_BYTES {
            return Err(OptionsError::InvalidMetadata {
                name: String::new(),
                reason: "user metadata exceeds 8 KiB in total",
            });
        }
        Ok(())
    }

    fn validate_callback(&self) -> Result<(), OptionsError> {
        let object =
            |option, json: &str| -> Result<serde_json::Map<String, serde_json::Value>, _> {
                match serde_json::from_str::<serde_json::Value>(json) {
                    Ok(serde_json::Value::Object(map)) => Ok(map),
                    _ => Err(OptionsError::InvalidCallback {
                        option,
                        reason: "not a JSON object",
                    }),
                }
            };
        match (&self.callback, &self.callback_var) {
            (None, Some(_)) => return Err(OptionsError::CallbackVarWithoutCallback),
            (None, None) => return Ok(()),
            (Some(callback), vars) => {
                let map = object("callback", callback)?;
                for field in ["callbackUrl", "callbackBody"] {
                    if map
                        .get(field)
                        .and_then(serde_json::Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return Err(OptionsError::InvalidCallback {
                            option: "callback",
                            reason: "callbackUrl and callbackBody must be non-empty strings",
                        });
                    }
                }
                if let Some(vars) = vars {
                    for (name, value) in object("callback-var", vars)? {
                        if !name.starts_with("x:") || !value.is_string() {
                            return Err(OptionsError::InvalidCallback {
                                option: "callback-var",
                                reason: "every variable must be named x:<name> and be a string",
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The headers these options put on `request`, after [`validate`](Self::validate).
    /// `Content-MD5` is not among them (it depends on the body: see
    /// [`content_md5_on`](Self::content_md5_on)); nor is `sequential`, a query parameter
    /// (see [`query`](Self::query)).
    ///
    /// | option | PutObject | Initiate | UploadPart | Complete | CopyObject | UploadPartCopy |
    /// |---|---|---|---|---|---|---|
    /// | content headers, metadata, tags, storage class, encryption | ✓ | ✓ | | | ✓ (replaces the source's) | |
    /// | ACL, callback | ✓ | | | ✓ | ACL only | |
    /// | forbid-overwrite | ✓ | ✓ | | ✓ | ✓ | |
    /// | traffic limit | ✓ | | ✓ | | ✓ | ✓ |
    ///
    /// # Errors
    /// The [`OptionsError`] of [`validate`](Self::validate).
    pub fn headers(
        &self,
        request: ObjectRequest,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, OptionsError> {
        use ObjectRequest as R;
        self.validate()?;
        let mut out = Headers::default();
        let object_attributes = matches!(request, R::PutObject | R::Initiate | R::CopyObject);
        if object_attributes {
            out.opt("content-type", header::CONTENT_TYPE, &self.content_type)?;
            out.opt("cache-control", header::CACHE_CONTROL, &self.cache_control)?;
            out.opt(
                "content-disposition",
                header::CONTENT_DISPOSITION,
                &self.content_disposition,
            )?;
            out.opt(
                "content-encoding",
                header::CONTENT_ENCODING,
                &self.content_encoding,
            )?;
            out.opt("content-language", CONTENT_LANGUAGE, &self.content_language)?;
            out.opt("expires", header::EXPIRES, &self.expires)?;
            for (name, value) in &self.metadata {
                if let Some(name) = meta_header_name(name) {
                    out.push("meta", name, value)?;
                }
            }
            if !self.tags.is_empty() {
                out.push(
                    "tagging",
                    header::X_OSS_TAGGING,
                    &tagging_header(&self.tags),
                )?;
            }
            if let Some(class) = self.storage_class {
                out.push("storage-class", header::X_OSS_STORAGE_CLASS, class.as_str())?;
            }
            if let Some(sse) = self.sse {
                out.push("sse", header::X_OSS_SERVER_SIDE_ENCRYPTION, sse.as_str())?;
            }
            out.opt(
                "sse-key-id",
                header::X_OSS_SERVER_SIDE_ENCRYPTION_KEY_ID,
                &self.sse_key_id,
            )?;
            out.opt(
                "sse-data",
                header::X_OSS_SERVER_SIDE_DATA_ENCRYPTION,
                &self.sse_data_encryption,
            )?;
        }
        if request == R::CopyObject {
            if self.replaces_metadata() {
                out.push("metadata-directive", X_OSS_METADATA_DIRECTIVE, "REPLACE")?;
            }
            if !self.tags.is_empty() {
                out.push("tagging-directive", X_OSS_TAGGING_DIRECTIVE, "Replace")?;
            }
        }
        if matches!(request, R::PutObject | R::Complete | R::CopyObject)
            && let Some(acl) = self.acl
        {
            out.push("acl", header::X_OSS_OBJECT_ACL, acl.as_str())?;
        }
        if self.forbid_overwrite
            && matches!(
                request,
                R::PutObject | R::Initiate | R::Complete | R::CopyObject
            )
        {
            out.push("forbid-overwrite", header::X_OSS_FORBID_OVERWRITE, "true")?;
        }
        if matches!(request, R::PutObject | R::Complete) {
            let b64 = |s: &String| base64::engine::general_purpose::STANDARD.encode(s);
            if let Some(callback) = &self.callback {
                out.push("callback", header::X_OSS_CALLBACK, &b64(callback))?;
            }
            if let Some(vars) = &self.callback_var {
                out.push("callback-var", header::X_OSS_CALLBACK_VAR, &b64(vars))?;
            }
        }
        if let Some(limit) = self.traffic_limit.filter(|_| {
            matches!(
                request,
                R::PutObject | R::UploadPart | R::CopyObject | R::UploadPartCopy
            )
        }) {
            out.push(
                "traffic-limit",
                header::X_OSS_TRAFFIC_LIMIT,
                &limit.to_string(),
            )?;
        }
        Ok(out.0)
    }

    /// Decoded query parameters these options add to `request`: `sequential` on Initiate.
    pub fn query(&self, request: ObjectRequest) -> Vec<(String, String)> {
        if self.sequential && request == ObjectRequest::Initiate {
            vec![(oss_model::query::SEQUENTIAL.to_owned(), String::new())]
        } else {
            Vec::new()
        }
    }

    /// Whether `request` should carry a `Content-MD5` of its body.
    pub fn content_md5_on(&self, request: ObjectRequest) -> bool {
        self.content_md5
            && matches!(
                request,
                ObjectRequest::PutObject | ObjectRequest::UploadPart
            )
    }

    /// Whether a callback is set (Complete's or PutObject's body is then the callback reply).
    pub fn has_callback(&self) -> bool {
        self.callback.is_some()
    }

    /// Whether a CopyObject must replace the source's metadata rather than copy it.
    pub(crate) fn replaces_metadata(&self) -> bool {
        self.content_type.is_some()
            || self.cache_control.is_some()
            || self.content_disposition.is_some()
            || self.content_encoding.is_some()
            || self.content_language.is_some()
            || self.expires.is_some()
            || !self.metadata.is_empty()
    }

    /// Adds these options' headers and query parameters to `req`.
    pub(crate) fn apply(
        &self,
        request: ObjectRequest,
        req: &mut oss_model::OssRequest,
    ) -> Result<(), OptionsError> {
        for (name, value) in self.headers(request)? {
            req.headers.insert(name, value);
        }
        req.query.extend(self.query(request));
        Ok(())
    }
}

/// Header list under construction; each value checked as it is added.
#[derive(Default)]
struct Headers(Vec<(HeaderName, HeaderValue)>);

impl Headers {
    fn push(
        &mut self,
        option: &'static str,
        name: HeaderName,
        value: &str,
    ) -> Result<(), OptionsError> {
        self.0.push((name, header_value(option, value)?));
        Ok(())
    }

    fn opt(
        &mut self,
        option: &'static str,
        name: HeaderName,
        value: &Option<String>,
    ) -> Result<(), OptionsError> {
        match value {
            Some(v) => self.push(option, name, v),
            None => Ok(()),
        }
    }
}

fn header_value(option: &'static str, value: &str) -> Result<HeaderValue, OptionsError> {
    HeaderValue::from_str(value).map_err(|_| OptionsError::InvalidHeaderValue { option })
}

fn meta_header_name(name: &str) -> Option<HeaderName> {
    let full = format!("{}{}", header::X_OSS_META_PREFIX, name.to_ascii_lowercase());
    HeaderName::from_bytes(full.as_bytes()).ok()
}

/// `k1=v1&k2=v2`, each side URL-encoded.
fn tagging_header(tags: &[(String, String)]) -> String {
    tags.iter()
        .map(|(k, v)| format!("{}={}", oss_model::url_encode(k), oss_model::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(headers: &[(HeaderName, HeaderValue)]) -> Vec<&str> {
        headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn value<'a>(headers: &'a [(HeaderName, HeaderValue)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str().ok())
    }

    fn everything() -> ObjectOptions {
        ObjectOptions::new()
            .with_content_type("text/plain")
            .with_cache_control("no-cache")
            .with_content_disposition("attachment; filename=\"a.txt\"")
            .with_content_encoding("gzip")
            .with_content_language("en-GB")
            .with_expires("Wed, 21 Oct 2026 07:28:00 GMT")
            .with_acl(ObjectAcl::PublicRead)
            .with_tag("team", "a b&c")
            .with_storage_class(StorageClass::InfrequentAccess)
            .with_metadata("Origin", "cam")
            .with_forbid_overwrite(true)
            .with_sse(ServerSideEncryption::Kms)
            .with_sse_key_id("key-1")
            .with_sse_data_encryption("SM4")
            .with_traffic_limit(MIN_TRAFFIC_LIMIT)
            .with_content_md5(true)
            .with_callback(
                r#"{"callbackUrl":"http://127.0.0.1:1/cb","callbackBody":"k=${object}"}"#,
            )
            .with_callback_var(r#"{"x:user":"alice"}"#)
            .with_sequential(true)
    }

    #[test]
    fn each_option_goes_on_the_documented_requests() {
        let o = everything();
        let initiate = o.headers(ObjectRequest::Initiate).unwrap();
        assert_eq!(
            names(&initiate),
            [
                "content-type",
                "cache-control",
                "content-disposition",
                "content-encoding",
                "content-language",
                "expires",
                "x-oss-meta-origin",
                "x-oss-tagging",
                "x-oss-storage-class",
                "x-oss-server-side-encryption",
                "x-oss-server-side-encryption-key-id",
                "x-oss-server-side-data-encryption",
                "x-oss-forbid-overwrite",
            ]
        );
        assert_eq!(value(&initiate, "x-oss-tagging"), Some("team=a%20b%26c"));
        assert_eq!(value(&initiate, "x-oss-storage-class"), Some("IA"));
        assert_eq!(
            o.query(ObjectRequest::Initiate),
            [("sequential".to_owned(), String::new())]
        );
        assert!(o.query(ObjectRequest::Complete).is_empty());

        let part = o.headers(ObjectRequest::UploadPart).unwrap();
        assert_eq!(names(&part), ["x-oss-traffic-limit"]);
        assert_eq!(value(&part, "x-oss-traffic-limit"), Some("819200"));
        assert!(o.content_md5_on(ObjectRequest::UploadPart));
        assert!(!o.content_md5_on(ObjectRequest::Complete));

        let complete = o.headers(ObjectRequest::Complete).unwrap();
        assert_eq!(
            names(&complete),
            [
                "x-oss-object-acl",
                "x-oss-forbid-overwrite",
                "x-oss-callback",
                "x-oss-callback-var"
            ]
        );
        let cb = base64::engine::general_purpose::STANDARD
            .decode(value(&complete, "x-oss-callback-var").unwrap())
            .unwrap();
        assert_eq!(cb, br#"{"x:user":"alice"}"#);

        let put = o.headers(ObjectRequest::PutObject).unwrap();
        for name in names(&initiate)
            .into_iter()
            .chain(names(&complete))
            .chain(["x-oss-traffic-limit"])
        {
            assert!(names(&put).contains(&name), "PutObject lacks {name}");
        }

        let copy = o.headers(ObjectRequest::CopyObject).unwrap();
        assert_eq!(value(&copy, "x-oss-metadata-directive"), Some("REPLACE"));
        assert_eq!(value(&copy, "x-oss-tagging-directive"), Some("Replace"));
        assert!(!names(&copy).contains(&"x-oss-callback"));
        let part_copy = o.headers(ObjectRequest::UploadPartCopy).unwrap();
        assert_eq!(names(&part_copy), ["x-oss-traffic-limit"]);
    }

    #[test]
    fn defaults_send_nothing() {
        let o = ObjectOptions::new();
        for r in [
            ObjectRequest::PutObject,
            ObjectRequest::Initiate,
            ObjectRequest::UploadPart,
            ObjectRequest::Complete,
            ObjectRequest::CopyObject,
            ObjectRequest::UploadPartCopy,
        ] {
            assert!(o.headers(r).unwrap().is_empty(), "{r:?}");
            assert!(o.query(r).is_empty());
            assert!(!o.content_md5_on(r));
        }
    }

    #[test]
    fn tags_are_validated_as_oss_does() {
        let ten: Vec<_> = (0..10).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(
            ObjectOptions::new()
                .with_tags(ten.clone())
                .validate()
                .is_ok()
        );
        let eleven = ObjectOptions::new().with_tags(ten).with_tag("k10", "v");
        assert_eq!(
            eleven.validate(),
            Err(OptionsError::TooManyTags { count: 11 })
        );
        let long_key = "k".repeat(129);
        assert!(matches!(
            ObjectOptions::new().with_tag(long_key, "v").validate(),
            Err(OptionsError::InvalidTagKey { .. })
        ));
        assert!(
            ObjectOptions::new()
                .with_tag("k".repeat(128), "v".repeat(256))
                .validate()
                .is_ok()
        );
        assert!(matches!(
            ObjectOptions::new()
                .with_tag("k", "v".repeat(257))
                .validate(),
            Err(OptionsError::InvalidTagValue { .. })
        ));
        assert!(matches!(
            ObjectOptions::new().with_tag("", "v").validate(),
            Err(OptionsError::InvalidTagKey {
                reason: "empty",
                ..
            })
        ));
        assert!(matches!(
            ObjectOptions::new()
                .with_tag("a", "1")
                .with_tag("a", "2")
                .validate(),
            Err(OptionsError::InvalidTagKey {
                reason: "given twice",
                ..
            })
        ));
        // Multi-byte characters count once each.
        assert!(
            ObjectOptions::new()
                .with_tag("é".repeat(128), "v")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn tagging_strings_parse_and_round_trip() {
        let tags = parse_tagging("a=1&b%20c=d%26e&empty=&bare").unwrap();
        assert_eq!(
            tags,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b c".to_owned(), "d&e".to_owned()),
                ("empty".to_owned(), String::new()),
                ("bare".to_owned(), String::new()),
            ]
        );
        assert_eq!(parse_tagging(&tagging_header(&tags)).unwrap(), tags);
        assert!(parse_tagging("").unwrap().is_empty());
        assert!(matches!(
            parse_tagging("=v"),
            Err(OptionsError::InvalidTagging { .. })
        ));
        assert!(matches!(
            parse_tagging("a=%FF"),
            Err(OptionsError::InvalidTagging { .. })
        ));
    }

    #[test]
    fn traffic_limit_bounds() {
        let with = |v| ObjectOptions::new().with_traffic_limit(v).validate();
        assert!(with(MIN_TRAFFIC_LIMIT).is_ok());
        assert!(with(MAX_TRAFFIC_LIMIT).is_ok());
        assert_eq!(
            with(MIN_TRAFFIC_LIMIT - 1),
            Err(OptionsError::TrafficLimit { value: 819_199 })
        );
        assert!(with(MAX_TRAFFIC_LIMIT + 1).is_err());
    }

    #[test]
    fn encryption_rules() {
        let kms = ObjectOptions::new().with_sse(ServerSideEncryption::Kms);
        assert!(
            kms.clone()
                .with_sse_key_id("k")
                .with_sse_data_encryption("SM4")
                .validate()
                .is_ok()
        );
        assert_eq!(
            ObjectOptions::new()
                .with_sse(ServerSideEncryption::Aes256)
                .with_sse_key_id("k")
                .validate(),
            Err(OptionsError::NeedsKms {
                option: "sse-key-id"
            })
        );
        assert_eq!(
            ObjectOptions::new()
                .with_sse_data_encryption("SM4")
                .validate(),
            Err(OptionsError::NeedsKms { option: "sse-data" })
        );
        assert!(matches!(
            kms.with_sse_data_encryption("AES256").validate(),
            Err(OptionsError::DataEncryption { .. })
        ));
        assert_eq!(parse_sse("sm4"), Ok(ServerSideEncryption::Sm4));
        assert!(parse_sse("DES").is_err());
    }

    #[test]
    fn header_values_and_metadata_are_checked() {
        assert_eq!(
            ObjectOptions::new().with_cache_control("a\nb").validate(),
            Err(OptionsError::InvalidHeaderValue {
                option: "cache-control"
            })
        );
        assert!(matches!(
            ObjectOptions::new()
                .with_metadata("bad name", "v")
                .validate(),
            Err(OptionsError::InvalidMetadata { .. })
        ));
        assert!(matches!(
            ObjectOptions::new()
                .with_metadata("n", "line\r\nbreak")
                .validate(),
            Err(OptionsError::InvalidMetadata { .. })
        ));
        assert!(matches!(
            ObjectOptions::new()
                .with_metadata("big", "x".repeat(MAX_METADATA_BYTES))
                .validate(),
            Err(OptionsError::InvalidMetadata { .. })
        ));
        let e = ObjectOptions::new()
            .with_metadata("", "v")
            .validate()
            .unwrap_err();
        assert_eq!(e.option(), "meta");
    }

    #[test]
    fn callbacks_must_be_the_json_oss_expects() {
        let ok = r#"{"callbackUrl":"http://h/","callbackBody":"b"}"#;
        assert!(ObjectOptions::new().with_callback(ok).validate().is_ok());
        for bad in [
            "not json",
            "[]",
            r#"{"callbackUrl":"http://h/"}"#,
            r#"{"callbackUrl":"","callbackBody":"b"}"#,
        ] {
            assert!(
                matches!(
                    ObjectOptions::new().with_callback(bad).validate(),
                    Err(OptionsError::InvalidCallback {
                        option: "callback",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            ObjectOptions::new()
                .with_callback_var(r#"{"x:a":"1"}"#)
                .validate(),
            Err(OptionsError::CallbackVarWithoutCallback)
        );
        for bad in [r#"{"a":"1"}"#, r#"{"x:a":1}"#] {
            assert!(matches!(
                ObjectOptions::new()
                    .with_callback(ok)
                    .with_callback_var(bad)
                    .validate(),
                Err(OptionsError::InvalidCallback {
                    option: "callback-var",
                    ..
                })
            ));
        }
    }

    #[test]
    fn enums_parse_any_case_and_debug_hides_secrets() {
        assert_eq!("PUBLIC-READ".parse(), Ok(ObjectAcl::PublicRead));
        assert_eq!("ia".parse(), Ok(StorageClass::InfrequentAccess));
        let e = "gold".parse::<StorageClass>().unwrap_err();
        assert_eq!(e.option(), "storage-class");
        assert!(e.to_string().contains("ColdArchive"));
        let debug = format!(
            "{:?}",
            everything()
                .with_callback(r#"{"callbackUrl":"http://h/?token=s3cr3t","callbackBody":"b"}"#)
        );
        assert!(!debug.contains("s3cr3t"));
        assert!(!debug.contains("key-1"));
    }
}
