//! The resumable state of a download (serde, versioned).
//!
//! Persist it whenever [`DownloadEvent::CheckpointChanged`](crate::DownloadEvent::CheckpointChanged)
//! arrives (debounce freely: an older checkpoint only means more ranges are fetched again).
//! It holds the object identity (ETag, size, CRC-64), the identity of the local copy (a string
//! of the driver's choice, e.g. the temp file's name) and the journal of complete ranges. On
//! resume, HEAD re-checks the object and every journaled range is re-hashed from the local copy
//! before it is trusted, so a range lost by a crash before it reached the disk is fetched again.

use serde::{Deserialize, Serialize};

use super::event::ObjectInfo;
use crate::error::PlanError;
use crate::target::Target;

/// Format version written by this crate.
pub const DOWNLOAD_CHECKPOINT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RangeV1 {
    pub(super) i: u64,
    pub(super) len: u64,
    pub(super) crc: u64,
}

/// Serialisable resume state of a download. Build with
/// [`Download::checkpoint`](crate::Download::checkpoint), resume with
/// [`Download::from_checkpoint`](crate::Download::from_checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadCheckpoint {
    version: u32,
    bucket: String,
    key: String,
    start: u64,
    end: u64,
    size: u64,
    etag: String,
    crc64: Option<u64>,
    last_modified: Option<String>,
    part_size: u64,
    local: String,
    ranges: Vec<RangeV1>,
}

impl DownloadCheckpoint {
    pub(super) fn build(
        target: &Target,
        span: &std::ops::Range<u64>,
        object: &ObjectInfo,
        part_size: u64,
        local: &str,
        ranges: Vec<RangeV1>,
    ) -> Self {
        Self {
            version: DOWNLOAD_CHECKPOINT_VERSION,
            bucket: target.bucket().to_owned(),
            key: target.key().to_owned(),
            start: span.start,
            end: span.end,
            size: object.size,
            etag: object.etag.clone(),
            crc64: object.crc64,
            last_modified: object.last_modified.clone(),
            part_size,
            local: local.to_owned(),
            ranges,
        }
    }

    /// Format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bucket and key.
    ///
    /// # Errors
    /// When the stored names are invalid (edited file).
    pub fn target(&self) -> Result<Target, PlanError> {
        Target::new(self.bucket.clone(), self.key.clone())
    }

    /// The identity of the local copy, as the driver gave it.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The object as it was when the download started.
    pub fn object(&self) -> ObjectInfo {
        ObjectInfo {
            size: self.size,
            etag: self.etag.clone(),
            crc64: self.crc64,
            // Not journaled: HEAD on resume brings it again.
            content_md5: None,
            last_modified: self.last_modified.clone(),
            object_type: None,
        }
    }

    /// The byte span downloaded.
    pub fn span(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }

    /// Bytes per range.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// Number of journaled ranges.
    pub fn ranges_done(&self) -> usize {
        self.ranges.len()
    }

    /// Checks version and consistency; returns the target and the journal.
    pub(super) fn validate(&self) -> Result<(Target, &[RangeV1]), PlanError> {
        if self.version != DOWNLOAD_CHECKPOINT_VERSION {
            return Err(PlanError::CheckpointVersion {
                found: self.version,
                expected: DOWNLOAD_CHECKPOINT_VERSION,
            });
        }
        let invalid = |reason| Err(PlanError::CheckpointInvalid { reason });
        if self.part_size == 0 {
            return invalid("zero part size");
        }
        if self.start > self.end || self.end > self.size {
            return invalid("span outside the object");
        }
        if self.etag.is_empty() {
            return invalid("empty ETag");
        }
        let count = (self.end - self.start).div_ceil(self.part_size);
        let mut last = None;
        for r in &self.ranges {
            if last.is_some_and(|l| r.i <= l) || r.i >= count {
                return invalid("journal not ascending or out of range");
            }
            let start = self.start + r.i * self.part_size;
            if r.len != self.part_size.min(self.end - start) {
                return invalid("journal range length");
            }
            last = Some(r.i);
        }
        Ok((self.target()?, &self.ranges))
    }
}
