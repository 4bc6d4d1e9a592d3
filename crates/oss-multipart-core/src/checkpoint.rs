//! The resumable state of an upload, the only serde type of the crate.
//!
//! Persist it whenever [`Event::CheckpointChanged`](crate::Event::CheckpointChanged) arrives
//! (debounce freely: an older checkpoint only means more parts are re-verified or re-sent).
//! It holds what resume needs and nothing else: upload id, target, source identity, plan and the
//! journal of confirmed parts.

use serde::{Deserialize, Serialize};

use crate::copy::CopySource;
use crate::error::PlanError;
use crate::plan::Plan;
use crate::target::Target;

/// Format version written by this crate.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Identity of the local source, compared on resume to refuse a changed file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_structs,
    reason = "plain data the driver fills in; a new field is a deliberate breaking change"
)]
pub struct SourceIdentity {
    /// Size in bytes.
    pub size: u64,
    /// Modification time (the driver's choice of unit, e.g. Unix nanoseconds).
    pub mtime: Option<i128>,
    /// Optional hash of a few sampled ranges, the driver's choice.
    pub sample_hash: Option<u64>,
}

impl SourceIdentity {
    /// An identity from size alone.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            mtime: None,
            sample_hash: None,
        }
    }
}

/// One confirmed part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Part number.
    pub part_number: u32,
    /// Offset in the source.
    pub offset: u64,
    /// Length.
    pub len: u64,
    /// ETag OSS returned.
    pub etag: String,
    /// CRC-64 of the part bytes.
    pub crc64: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EntryV1 {
    n: u32,
    off: u64,
    len: u64,
    etag: String,
    crc: u64,
}

/// The source of a copy, in a checkpoint: the object and the ETag its parts were copied from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CopyV1 {
    bucket: String,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    etag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crc: Option<u64>,
}

/// Serialisable resume state. Build with [`Upload::checkpoint`](crate::Upload::checkpoint),
/// resume with [`Upload::from_checkpoint`](crate::Upload::from_checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    version: u32,
    upload_id: String,
    bucket: String,
    key: String,
    source_size: u64,
    source_mtime: Option<i128>,
    source_sample_hash: Option<u64>,
    part_size: u64,
    memory_budget: u64,
    parts: Vec<EntryV1>,
    /// Set for a server-side copy (absent in upload checkpoints, so they read as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    copy: Option<CopyV1>,
}

impl Checkpoint {
    pub(crate) fn build(
        upload_id: &str,
        target: &Target,
        source: &SourceIdentity,
        part_size: u64,
        memory_budget: u64,
        journal: impl Iterator<Item = JournalEntry>,
    ) -> Self {
        Self {
            version: CHECKPOINT_VERSION,
            upload_id: upload_id.to_owned(),
            bucket: target.bucket().to_owned(),
            key: target.key().to_owned(),
            source_size: source.size,
            source_mtime: source.mtime,
            source_sample_hash: source.sample_hash,
            part_size,
            memory_budget,
            parts: journal
                .map(|e| EntryV1 {
                    n: e.part_number,
                    off: e.offset,
                    len: e.len,
                    etag: e.etag,
                    crc: e.crc64,
                })
                .collect(),
            copy: None,
        }
    }

    /// Records the copy source the journaled parts were copied from.
    pub(crate) fn with_copy_source(mut self, source: Option<&CopySource>) -> Self {
        self.copy = source.map(|s| CopyV1 {
            bucket: s.bucket().to_owned(),
            key: s.key().to_owned(),
            version: s.version_id().map(str::to_owned),
            etag: s.etag().to_owned(),
            crc: s.crc64(),
        });
        self
    }

    /// For a copy's checkpoint, the source its parts were copied from (`None` for an upload).
    ///
    /// # Errors
    /// When the stored names are invalid (edited file).
    pub fn copy_source(&self) -> Result<Option<CopySource>, PlanError> {
        let Some(c) = &self.copy else {
            return Ok(None);
        };
        let source = CopySource::new(&c.bucket, &c.key, &c.etag, self.source_size)?
            .with_version_id(c.version.clone())
            .with_crc64(c.crc);
        Ok(Some(source))
    }

    /// Format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The multipart upload id.
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// Bucket and key.
    ///
    /// # Errors
    /// When the stored names are invalid (edited file).
    pub fn target(&self) -> Result<Target, PlanError> {
        Target::new(self.bucket.clone(), self.key.clone())
    }

    /// The source identity recorded.
    pub fn source(&self) -> SourceIdentity {
        SourceIdentity {
            size: self.source_size,
            mtime: self.source_mtime,
            sample_hash: self.source_sample_hash,
        }
    }

    /// Journal of confirmed parts.
    pub fn parts(&self) -> impl Iterator<Item = JournalEntry> + '_ {
        self.parts.iter().map(|e| JournalEntry {
            part_number: e.n,
            offset: e.off,
            len: e.len,
            etag: e.etag.clone(),
            crc64: e.crc,
        })
    }

    /// Checks version and consistency and rebuilds the plan.
    pub(crate) fn validate(&self) -> Result<(Target, Plan), PlanError> {
        if self.version != CHECKPOINT_VERSION {
            return Err(PlanError::CheckpointVersion {
                found: self.version,
                expected: CHECKPOINT_VERSION,
            });
        }
        if self.upload_id.is_empty() {
            return Err(PlanError::CheckpointInvalid {
                reason: "empty upload id",
            });
        }
        let target = self.target()?;
        let plan = Plan::fixed(self.source_size, self.part_size, self.memory_budget)?;
        let mut last = 0;
        for e in &self.parts {
            if e.n <= last {
                return Err(PlanError::CheckpointInvalid {
                    reason: "journal not ascending",
                });
            }
            last = e.n;
        }
        Ok((target, plan))
    }
}
