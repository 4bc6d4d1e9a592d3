//! The in-flight table: which request ids are outstanding, for what, and how many body bytes
//! they hold against the memory budget.

use std::collections::BTreeMap;
use std::time::Instant;

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
    /// When it was issued.
    pub(crate) sent: Instant,
    /// A hedge of a straggling attempt of the same part (holds no memory of its own: the
    /// bytes are the source's, or the stream buffer's already counted).
    pub(crate) hedge: bool,
    /// A hedge of this attempt was sent.
    pub(crate) hedged: bool,
    /// Attempts sent after this one that completed first.
    pub(crate) overtaken: u32,
}

#[derive(Debug, Default)]
pub(crate) struct InFlight {
    map: BTreeMap<RequestId, Flight>,
    bytes: u64,
}

impl InFlight {
    pub(crate) fn insert(&mut self, id: RequestId, job: Job, bytes: u64, sent: Instant) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.map.insert(
            id,
            Flight {
                job,
                bytes,
                read: None,
                sent,
                hedge: false,
                hedged: false,
                overtaken: 0,
            },
        );
    }

    /// A hedge of the attempt `of`: same job, no bytes of its own against the budget.
    pub(crate) fn insert_hedge(&mut self, id: RequestId, of: RequestId, sent: Instant) {
        let Some(original) = self.map.get_mut(&of) else {
            return;
        };
        original.hedged = true;
        let job = original.job;
        self.map.insert(
            id,
            Flight {
                job,
                bytes: 0,
                read: None,
                sent,
                hedge: true,
                hedged: false,
                overtaken: 0,
            },
        );
    }

    pub(crate) fn get(&self, id: RequestId) -> Option<&Flight> {
        self.map.get(&id)
    }

    /// Every request in flight.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RequestId, &Flight)> {
        self.map.iter().map(|(id, f)| (*id, f))
    }

    /// The requests in flight for `job`.
    pub(crate) fn ids_of(&self, job: Job) -> Vec<RequestId> {
        self.iter()
            .filter(|(_, f)| f.job == job)
            .map(|(id, _)| id)
            .collect()
    }

    /// Requests the concurrency limit counts (hedges come on top).
    pub(crate) fn primaries(&self) -> usize {
        self.map.values().filter(|f| !f.hedge).count()
    }

    /// An attempt sent at `sent` completed: those sent before it were overtaken.
    pub(crate) fn overtake(&mut self, sent: Instant) {
        for f in self.map.values_mut() {
            if f.sent < sent {
                f.overtaken = f.overtaken.saturating_add(1);
            }
        }
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
