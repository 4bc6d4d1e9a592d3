//! The source of a server-side copy: the object the machine copies from, pinned to the ETag
//! it had when the copy was planned.

use oss_model::{BucketName, ObjectKey};

use crate::error::PlanError;

/// An object to copy from (in the destination's region), as a HeadObject described it.
///
/// With a copy source, the [`Upload`](crate::Upload) machine moves no bytes of its own: every
/// part is an [`Op::UploadPartCopy`](crate::Op::UploadPartCopy) of a range of this object (or,
/// below the plan's single-request threshold, one [`Op::CopyObject`](crate::Op::CopyObject)),
/// each pinned with `x-oss-copy-source-if-match` to [`etag`](Self::etag). A source replaced
/// mid-copy then fails the copy with
/// [`UploadError::CopySourceChanged`](crate::UploadError::CopySourceChanged) instead of
/// assembling an object from two versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopySource {
    bucket: BucketName,
    key: ObjectKey,
    version_id: Option<String>,
    etag: String,
    size: u64,
    crc64: Option<u64>,
}

impl CopySource {
    /// The object `bucket/key` of `size` bytes whose ETag is `etag` (as HeadObject returned it).
    ///
    /// # Errors
    /// [`PlanError::InvalidTarget`] for an invalid bucket name or key, or an empty ETag
    /// (nothing to pin the copy to).
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        etag: impl Into<String>,
        size: u64,
    ) -> Result<Self, PlanError> {
        let bucket = BucketName::new(bucket).map_err(|_| PlanError::InvalidTarget {
            what: "copy source bucket name",
        })?;
        let key = ObjectKey::new(key).map_err(|_| PlanError::InvalidTarget {
            what: "copy source key",
        })?;
        let etag = etag.into();
        if etag.trim().trim_matches('"').is_empty() || http::HeaderValue::from_str(&etag).is_err() {
            return Err(PlanError::InvalidTarget {
                what: "copy source ETag",
            });
        }
        Ok(Self {
            bucket,
            key,
            version_id: None,
            etag,
            size,
            crc64: None,
        })
    }

    /// Copies this version of the source (`?versionId=` of `x-oss-copy-source`).
    #[must_use]
    pub fn with_version_id(mut self, version_id: Option<String>) -> Self {
        self.version_id = version_id.filter(|v| !v.is_empty());
        self
    }

    /// The source's whole-object CRC-64 (`x-oss-hash-crc64ecma` of HeadObject), when known:
    /// the copy's CRC-64 is checked against it.
    #[must_use]
    pub fn with_crc64(mut self, crc64: Option<u64>) -> Self {
        self.crc64 = crc64;
        self
    }

    /// Source bucket.
    pub fn bucket(&self) -> &str {
        self.bucket.as_str()
    }

    /// Source key.
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    /// Source version, if one was named.
    pub fn version_id(&self) -> Option<&str> {
        self.version_id.as_deref()
    }

    /// The ETag every request of the copy is pinned to.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// Source size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Source CRC-64, when known.
    pub fn crc64(&self) -> Option<u64> {
        self.crc64
    }

    pub(crate) fn bucket_name(&self) -> &BucketName {
        &self.bucket
    }

    pub(crate) fn object_key(&self) -> &ObjectKey {
        &self.key
    }

    /// Whether `other` names the same object version with the same ETag (the CRC-64 may
    /// have been learnt later).
    pub(crate) fn same_object(&self, other: &Self) -> bool {
        self.bucket == other.bucket
            && self.key == other.key
            && self.version_id == other.version_id
            && self.size == other.size
            && crate::wire::etag_eq(&self.etag, &other.etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_the_pin() {
        let s = CopySource::new("src-bucket", "a/b", "\"E1\"", 10).unwrap();
        assert_eq!(
            (s.bucket(), s.key(), s.etag(), s.size()),
            ("src-bucket", "a/b", "\"E1\"", 10)
        );
        assert!(CopySource::new("Bad_Bucket", "k", "\"E\"", 1).is_err());
        assert!(CopySource::new("bucket", "", "\"E\"", 1).is_err());
        assert!(CopySource::new("bucket", "k", "\"\"", 1).is_err());
        assert!(CopySource::new("bucket", "k", "a\nb", 1).is_err());
        let v = s.clone().with_version_id(Some(String::new()));
        assert_eq!(v.version_id(), None);
        let other = CopySource::new("src-bucket", "a/b", "e1", 10)
            .unwrap()
            .with_crc64(Some(3));
        assert!(
            s.same_object(&other),
            "ETags compare loosely; the CRC is not identity"
        );
        assert!(!s.same_object(&other.clone().with_version_id(Some("v".into()))));
    }
}
