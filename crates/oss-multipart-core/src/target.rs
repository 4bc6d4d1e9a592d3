//! The destination of an upload.

use crate::error::PlanError;

/// Bucket and object key, validated against OSS naming rules (WIRE.md §1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    bucket: String,
    key: String,
}

impl Target {
    /// Validates and builds a target.
    ///
    /// # Errors
    /// [`PlanError::InvalidTarget`] for a bucket outside `[a-z0-9-]{3,63}` (no leading/trailing
    /// `-`) or a key that is empty, longer than 1023 bytes, or starts with `/` or `\`.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Result<Self, PlanError> {
        let bucket = bucket.into();
        let key = key.into();
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !bucket.starts_with('-')
            && !bucket.ends_with('-');
        if !bucket_ok {
            return Err(PlanError::InvalidTarget {
                what: "bucket name",
            });
        }
        if key.is_empty() || key.len() > 1023 || key.starts_with('/') || key.starts_with('\\') {
            return Err(PlanError::InvalidTarget { what: "object key" });
        }
        Ok(Self { bucket, key })
    }

    /// Bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Object key (decoded).
    pub fn key(&self) -> &str {
        &self.key
    }
}
