//! The destination of an upload.

use oss_model::{BucketName, ObjectKey};

use crate::error::PlanError;

/// Bucket and object key, validated by `oss-model`'s naming rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    bucket: BucketName,
    key: ObjectKey,
}

impl Target {
    /// Validates and builds a target.
    ///
    /// # Errors
    /// [`PlanError::InvalidTarget`] for a bucket outside `[a-z0-9-]{3,63}` (no leading/trailing
    /// `-`) or a key that is empty, longer than 1023 bytes, or starts with `/` or `\`.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Result<Self, PlanError> {
        let bucket = BucketName::new(bucket).map_err(|_| PlanError::InvalidTarget {
            what: "bucket name",
        })?;
        let key =
            ObjectKey::new(key).map_err(|_| PlanError::InvalidTarget { what: "object key" })?;
        Ok(Self { bucket, key })
    }

    /// From already validated names.
    pub fn from_names(bucket: BucketName, key: ObjectKey) -> Self {
        Self { bucket, key }
    }

    /// Bucket name.
    pub fn bucket(&self) -> &str {
        self.bucket.as_str()
    }

    /// Object key (decoded).
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    pub(crate) fn bucket_name(&self) -> &BucketName {
        &self.bucket
    }

    pub(crate) fn object_key(&self) -> &ObjectKey {
        &self.key
    }
}
