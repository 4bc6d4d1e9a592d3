//! The in-flight table: which request ids are outstanding, for what, and how many body bytes
//! they hold against the memory budget.

use std::collections::BTreeMap;

use crate::request::RequestId;

/// A body read reported by the driver for an UploadPart/PutObject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "plain input the driver builds; a new field is a deliberate breaking change"
)]
pub struct BodyRead {
    /// Bytes read from the source (and sent).
    pub len: u64,
    /// CRC-64 of exactly those bytes.
    pub crc64: u64,
    /// Streams: true when the source ended with these bytes (the driver peeked past them and found
    /// nothing). Ignored for known sizes.
    pub end_of_stream: bool,
}

/// What a job is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Job {
    Initiate,
    List,
    Part(u32),
    Hash(u32),
    Put,
    Complete,
    Head,
    Abort,
    CheckSource,
}

#[derive(Debug, Clone)]
pub(crate) struct Flight {
    pub(crate) job: Job,
    pub(crate) bytes: u64,
    pub(crate) read: Option<BodyRead>,
}

#[derive(Debug, Default)]
pub(crate) struct InFlight {
    map: BTreeMap<RequestId, Flight>,
    bytes: u64,
}

impl InFlight {
    pub(crate) fn insert(&mut self, id: RequestId, job: Job, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.map.insert(
            id,
            Flight {
                job,
                bytes,
                read: None,
            },
        );
    }

    pub(crate) fn remove(&mut self, id: RequestId) -> Option<Flight> {
        let f = self.map.remove(&id)?;
        self.bytes = self.bytes.saturating_sub(f.bytes);
        Some(f)
    }

    pub(crate) fn get_mut(&mut self, id: RequestId) -> Option<&mut Flight> {
        self.map.get_mut(&id)
    }

    /// Forgets every request except those matching `keep` (their answers will be ignored).
    pub(crate) fn retain(&mut self, keep: impl Fn(Job) -> bool) {
        self.map.retain(|_, f| keep(f.job));
        self.bytes = self.map.values().map(|f| f.bytes).sum();
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn has(&self, job: Job) -> bool {
        self.map.values().any(|f| f.job == job)
    }
}
