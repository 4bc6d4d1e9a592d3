//! CRC-64/XZ, the checksum OSS returns as `x-oss-hash-crc64ecma`.
//!
//! The driver hashes part bytes while it streams them ([`Crc64`]); the core folds part checksums
//! into the whole-object checksum with [`crc64_combine`] in part order, starting from 0.

use crc_fast::CrcAlgorithm;

/// Incremental CRC-64/XZ hasher (the OSS "crc64ecma"), for drivers that hash while streaming.
#[derive(Clone)]
pub struct Crc64 {
    digest: crc_fast::Digest,
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc64")
            .field("value", &self.finish())
            .finish()
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64 {
    /// A hasher over zero bytes (value 0).
    pub fn new() -> Self {
        Self {
            digest: crc_fast::Digest::new(CrcAlgorithm::Crc64Xz),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
    }

    /// The checksum of everything fed so far (the hasher stays usable).
    pub fn finish(&self) -> u64 {
        self.digest.finalize()
    }
}

/// CRC-64/XZ of `bytes` in one call.
pub fn crc64(bytes: &[u8]) -> u64 {
    crc_fast::checksum(CrcAlgorithm::Crc64Xz, bytes)
}

/// The CRC of `a ‖ b` from `crc(a)`, `crc(b)` and `len(b)`. `crc64_combine(0, c, n) == c`.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    if len_b == 0 {
        return crc_a;
    }
    crc_fast::checksum_combine(CrcAlgorithm::Crc64Xz, crc_a, crc_b, len_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_empty() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
        let mut h = Crc64::new();
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.finish(), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn combine_with_zero_start_is_identity() {
        let c = crc64(b"upload part 1");
        assert_eq!(crc64_combine(0, c, 13), c);
        assert_eq!(crc64_combine(c, 0, 0), c);
    }
}
