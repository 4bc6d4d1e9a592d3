//! CRC-64/XZ, the checksum OSS returns as `x-oss-hash-crc64ecma` and `<HashCrc64ecma>`.
//!
//! The workspace's one CRC-64 entry point: every crate that hashes bytes (the wire models, the
//! sans-IO core, the HTTP transport hashing bodies while it sends them, the server, the CLI)
//! goes through this crate, so the algorithm is chosen in one place. It is a leaf of its own
//! because `oss-transport` knows nothing of OSS and must not depend on `oss-model`.
//! It does not parse or format the header value (that is `oss-model`'s `crc64_from_wire`).
//!
//! ```
//! use oss_crc64::{Crc64, crc64, crc64_combine};
//!
//! let mut streaming = Crc64::new();
//! streaming.update(b"12345");
//! streaming.update(b"6789");
//! assert_eq!(streaming.finish(), crc64(b"123456789"));
//! // The whole object's checksum from its parts' checksums and lengths.
//! assert_eq!(crc64_combine(crc64(b"12345"), crc64(b"6789"), 4), crc64(b"123456789"));
//! ```
//!
//! Three jobs, one implementation for the whole workspace:
//! - [`crc64`] and [`Crc64`]: the checksum of bytes, in one call or while streaming (the
//!   hashing itself is `crc-fast`'s SIMD code);
//! - [`crc64_combine`]: the checksum of `a ‖ b` from the checksums of `a` and `b`, which is how
//!   a client checks the whole-object CRC that Complete returns, and how a server computes it;
//! - [`Crc64Combiner`]: the same fold over many parts, faster when parts share a size.
//!
//! Combining works in GF(2)\[x\] modulo the CRC polynomial (zlib's method): appending `n` bytes
//! multiplies the CRC by `x^(8n)`. The operator `x^(8n) mod P` is assembled from a const table
//! of `x^(2^k) mod P`, so one combine costs a handful of 64-step multiplications instead of the
//! matrix method's ~1 ms (`crc_fast::checksum_combine` rebuilds its operator on every call).

#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

use crc_fast::CrcAlgorithm;

/// Incremental CRC-64/XZ hasher (the OSS "crc64ecma"), for code that hashes while streaming.
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

/// Reflected CRC-64/XZ polynomial; in this bit order the MSB is `x^0`.
const POLY: u64 = 0xC96C_5795_D787_0F42;
/// `x^0` (the polynomial 1) in the reflected representation.
const X0: u64 = 1 << 63;

/// `a(x) · b(x) mod P(x)` in the reflected representation (zlib's `multmodp`). Stops at the
/// last set bit of `a`, which makes small operators cheap.
const fn multmodp(a: u64, mut b: u64) -> u64 {
    let mut m = X0;
    let mut p = 0;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// `X2N[k] = x^(2^k) mod P`, computed at compile time. A `u64` byte length has bits 0..=63,
/// i.e. bit powers 2^3..=2^66, so 67 entries cover every length without wrapping the index.
const X2N: [u64; 67] = {
    let mut t = [0u64; 67];
    let mut p = X0 >> 1; // x^1
    let mut k = 0;
    while k < 67 {
        t[k] = p;
        p = multmodp(p, p);
        k += 1;
    }
    t
};

/// `x^(8·len) mod P`: the operator that shifts a CRC over `len` zero bytes.
fn x8nmodp(mut len: u64) -> u64 {
    let mut p = X0;
    // Bit i of `len` stands for 2^i bytes = 2^(i+3) bits (8 = 2^3 bits per byte).
    for &x2n in &X2N[3..] {
        if len == 0 {
            break;
        }
        if len & 1 != 0 {
            p = multmodp(x2n, p);
        }
        len >>= 1;
    }
    p
}

/// The CRC of `a ‖ b` from `crc(a)`, `crc(b)` and `len(b)`.
///
/// `crc64_combine(0, c, n) == c`, so folding parts in order from 0 gives the whole-object CRC.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    if len_b == 0 {
        return crc_a;
    }
    multmodp(x8nmodp(len_b), crc_a) ^ crc_b
}

/// Folds `(crc, len)` of consecutive pieces, in order, into the CRC of their concatenation.
///
/// Same result as repeated [`crc64_combine`] starting from 0, but the shift operator of the
/// last length is kept, so a run of equal-size parts (the usual multipart upload) costs one
/// multiplication per part.
#[derive(Debug, Clone, Default)]
pub struct Crc64Combiner {
    crc: u64,
    /// `(len, x^(8·len) mod P)` of the last non-empty piece.
    cached: Option<(u64, u64)>,
}

impl Crc64Combiner {
    /// An empty fold (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a piece of `len` bytes whose CRC is `crc`.
    pub fn push(&mut self, crc: u64, len: u64) {
        if len == 0 {
            // An empty piece has CRC 0 and leaves the fold unchanged; a non-zero `crc` for no
            // bytes is the caller's inconsistency, kept out of the result as combine does.
            return;
        }
        let op = match self.cached {
            Some((cached_len, op)) if cached_len == len => op,
            _ => {
                let op = x8nmodp(len);
                self.cached = Some((len, op));
                op
            }
        };
        self.crc = multmodp(op, self.crc) ^ crc;
    }

    /// The CRC of everything pushed so far.
    pub fn finish(&self) -> u64 {
        self.crc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_streaming() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
        let mut h = Crc64::new();
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.finish(), 0x995D_C9BB_DF19_39FA);
        assert!(format!("{h:?}").contains("11051210869376104954"));
    }

    #[test]
    fn combine_matches_concatenation_at_every_kind_of_split() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
        for split in [0, 1, 7, 64, 1000, 4999, 5000] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                crc64_combine(crc64(a), crc64(b), b.len() as u64),
                crc64(&data),
                "split {split}"
            );
        }
        // Against crc-fast's own (slow, generic) combine for a length with many set bits.
        let generic = crc_fast::checksum_combine(CrcAlgorithm::Crc64Xz, 12345, 67890, 0x7FFF_FFFF);
        assert_eq!(crc64_combine(12345, 67890, 0x7FFF_FFFF), generic);
        // The largest lengths use the last table entries (bit 63 of the length is x^(2^66)).
        let generic = crc_fast::checksum_combine(CrcAlgorithm::Crc64Xz, 1, 2, u64::MAX);
        assert_eq!(crc64_combine(1, 2, u64::MAX), generic);
    }

    #[test]
    fn combine_with_zero_is_identity() {
        let c = crc64(b"upload part 1");
        assert_eq!(crc64_combine(0, c, 13), c);
        assert_eq!(crc64_combine(c, 0, 0), c);
    }

    #[test]
    fn combiner_equals_repeated_combine_with_mixed_sizes() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + 3) as u8).collect();
        // Equal sizes (cache hits), then a change of size, an empty piece and a short tail.
        let sizes = [4096, 4096, 4096, 1000, 0, 1000, 5000, 712];
        let mut combiner = Crc64Combiner::new();
        let mut folded = 0;
        let mut off = 0;
        for len in sizes {
            let piece = &data[off..off + len];
            combiner.push(crc64(piece), len as u64);
            folded = crc64_combine(folded, crc64(piece), len as u64);
            off += len;
            assert_eq!(combiner.finish(), crc64(&data[..off]), "after {off} bytes");
        }
        assert_eq!(off, data.len());
        assert_eq!(combiner.finish(), folded);
        assert_eq!(Crc64Combiner::default().finish(), 0);
    }
}
