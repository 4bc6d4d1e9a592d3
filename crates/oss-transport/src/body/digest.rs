//! Checksums computed while a body is produced, published through a shared handle once the body ends.
//!
//! CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones) and MD5 are plain checksums here: what a
//! server expects them for is the caller's business.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use md5::Digest as _;

/// Which checksums to compute while a body is streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Digests {
    /// CRC-64/XZ only (cheap: tens of GB/s).
    Crc64,
    /// MD5 only.
    Md5,
    /// Both CRC-64/XZ and MD5.
    Crc64AndMd5,
}

impl Digests {
    fn crc64(self) -> bool {
        matches!(self, Self::Crc64 | Self::Crc64AndMd5)
    }

    fn md5(self) -> bool {
        matches!(self, Self::Md5 | Self::Crc64AndMd5)
    }
}

/// The checksums of a body that was produced to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest {
    len: u64,
    crc64: Option<u64>,
    md5: Option<[u8; 16]>,
}

impl BodyDigest {
    /// Number of bytes covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// CRC-64/XZ of the bytes, if it was asked for.
    pub fn crc64(&self) -> Option<u64> {
        self.crc64
    }

    /// MD5 of the bytes, if it was asked for.
    pub fn md5(&self) -> Option<[u8; 16]> {
        self.md5
    }
}

/// A cheap, cloneable view of a body's progress and final checksums, kept by the caller after the body was
/// moved into a request.
#[derive(Debug, Clone)]
pub struct DigestHandle {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    produced: AtomicU64,
    result: OnceLock<BodyDigest>,
}

impl DigestHandle {
    /// The checksums, once the body has produced its last byte; `None` while it is still in flight or if it
    /// failed or was dropped early (a new body, hence a new handle, is made for each retry).
    pub fn result(&self) -> Option<BodyDigest> {
        self.shared.result.get().copied()
    }

    /// Bytes produced so far (handed to the connection, or waiting in the rate limiter). Useful for progress.
    pub fn bytes_produced(&self) -> u64 {
        self.shared.produced.load(Ordering::Relaxed)
    }
}

/// The running state; moved into a blocking reader thread for file bodies so hashing stays off the executor.
pub(crate) struct DigestState {
    crc: Option<oss_crc64::Crc64>,
    md5: Option<md5::Md5>,
    len: u64,
}

impl DigestState {
    pub(crate) fn new(which: Digests) -> Self {
        Self {
            crc: which.crc64().then(oss_crc64::Crc64::new),
            md5: which.md5().then(md5::Md5::new),
            len: 0,
        }
    }

    /// Whether hashing is cheap enough to run on a runtime worker (no MD5).
    pub(crate) fn is_cheap(&self) -> bool {
        self.md5.is_none()
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        if let Some(crc) = &mut self.crc {
            crc.update(data);
        }
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        self.len += data.len() as u64;
    }

    pub(crate) fn finish(self) -> BodyDigest {
        BodyDigest {
            len: self.len,
            crc64: self.crc.map(|c| c.finish()),
            md5: self.md5.map(|m| m.finalize().into()),
        }
    }
}

/// The body-side end: counts bytes, publishes the final digest.
pub(crate) struct DigestSink {
    shared: Arc<Shared>,
}

impl DigestSink {
    pub(crate) fn new() -> (Self, DigestHandle) {
        let shared = Arc::new(Shared::default());
        (
            Self {
                shared: shared.clone(),
            },
            DigestHandle { shared },
        )
    }

    pub(crate) fn produced(&self, n: usize) {
        self.shared.produced.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn publish(&self, state: DigestState) {
        // Set once: a body ends once.
        let _ = self.shared.result.set(state.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let mut s = DigestState::new(Digests::Crc64AndMd5);
        s.update(b"1234");
        s.update(b"56789");
        let d = s.finish();
        assert_eq!(d.crc64(), Some(0x995D_C9BB_DF19_39FA));
        // RFC 1321 test suite does not list "123456789"; this is md5sum's output for it.
        assert_eq!(
            d.md5().map(hex_of),
            Some("25f9e794323b453885f5181f1b624d0b".to_owned())
        );
        assert_eq!(d.len(), 9);
    }

    #[test]
    fn only_requested_digests() {
        let mut s = DigestState::new(Digests::Md5);
        s.update(b"");
        let d = s.finish();
        assert_eq!(d.crc64(), None);
        assert_eq!(
            d.md5().map(hex_of),
            Some("d41d8cd98f00b204e9800998ecf8427e".to_owned())
        );
        assert!(d.is_empty());
    }

    fn hex_of(b: [u8; 16]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
