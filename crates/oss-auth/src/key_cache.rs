//! A small signing-key cache: deriving a V4 key costs four HMACs, and a client signs
//! thousands of requests per (secret, day, region, product).
//!
//! Each entry also keeps the HMAC state after the first block of the last string to sign.
//! That block is `OSS4-HMAC-SHA256\n`, the timestamp and the start of the scope, so every
//! request signed in the same second shares it: one SHA-256 compression fewer of the nine a
//! signature costs.

use std::fmt;
use std::sync::Mutex;

use crate::canon::V4_TERMINATOR;
use crate::crypto::{HmacSha256Key, HmacSha256State, SHA256_BLOCK, SHA256_LEN, hmac_sha256};

/// Few entries are enough: one per credential rotation / region in use.
const CAPACITY: usize = 8;

struct Entry {
    secret: String,
    date8: String,
    region: String,
    product: String,
    // Keyed HMAC state (inner/outer pads already hashed): saves two SHA-256 blocks per
    // signature over re-keying from the raw 32-byte key.
    key: HmacSha256Key,
    // The state after absorbing exactly these first bytes of a string to sign.
    first_block: Option<([u8; SHA256_BLOCK], HmacSha256State)>,
}

/// Thread-safe cache of derived V4 signing keys.
#[derive(Default)]
pub(crate) struct KeyCache {
    // Most recently used last; a linear scan over <= 8 entries beats hashing here.
    entries: Mutex<Vec<Entry>>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("KeyCache").field("entries", &n).finish()
    }
}

/// Derives the V4 signing key (HMAC chain over date, region, `oss`, `aliyun_v4_request`) without caching.
pub(crate) fn derive_key(secret: &str, date8: &str, region: &str, product: &str) -> [u8; 32] {
    let mut k = Vec::with_capacity(9 + secret.len());
    k.extend_from_slice(b"aliyun_v4");
    k.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k, date8.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_product = hmac_sha256(&k_region, product.as_bytes());
    hmac_sha256(&k_product, V4_TERMINATOR.as_bytes())
}

impl KeyCache {
    /// HMAC-SHA256 of `data` with the signing key of this (secret, date, region, product).
    pub(crate) fn sign(
        &self,
        secret: &str,
        date8: &str,
        region: &str,
        product: &str,
        data: &[u8],
    ) -> [u8; SHA256_LEN] {
        let (first, rest) = match data.split_first_chunk::<SHA256_BLOCK>() {
            Some((first, rest)) => (Some(first), rest),
            None => (None, data),
        };
        // The state is large (three SHA-256 contexts in AWS-LC): built once, in place.
        let mut state = {
            // A poisoned lock only means another thread panicked mid-update; the data is
            // still a valid list, so keep using it.
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = Self::entry(&mut entries, secret, date8, region, product);
            match (first, &entry.first_block) {
                (Some(first), Some((cached, state))) if cached == first => state.clone(),
                (Some(first), _) => {
                    let mut state = entry.key.start();
                    state.update(first);
                    entry.first_block = Some((*first, state.clone()));
                    state
                }
                (None, _) => entry.key.start(),
            }
        };
        state.update(rest);
        state.finish()
    }

    /// The entry for this key, created if missing, moved to the most-recently-used end.
    fn entry<'e>(
        entries: &'e mut Vec<Entry>,
        secret: &str,
        date8: &str,
        region: &str,
        product: &str,
    ) -> &'e mut Entry {
        let found = entries.iter().position(|e| {
            e.date8 == date8 && e.region == region && e.product == product && e.secret == secret
        });
        match found {
            Some(pos) if pos + 1 != entries.len() => {
                let e = entries.remove(pos);
                entries.push(e);
            }
            Some(_) => {}
            None => {
                if entries.len() >= CAPACITY {
                    entries.remove(0);
                }
                entries.push(Entry {
                    secret: secret.to_owned(),
                    date8: date8.to_owned(),
                    region: region.to_owned(),
                    product: product.to_owned(),
                    key: HmacSha256Key::new(&derive_key(secret, date8, region, product)),
                    first_block: None,
                });
            }
        }
        let last = entries.len() - 1;
        &mut entries[last]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cached first blocks must never change a result: same, different and short inputs,
    /// interleaved across keys, against the uncached HMAC.
    #[test]
    fn cached_first_block_gives_the_plain_hmac() {
        let cache = KeyCache::default();
        let long_a = [b'a'; 100];
        let mut long_b = long_a;
        long_b[63] = b'b';
        let mut long_c = long_a;
        long_c[64] = b'c';
        for (secret, data) in [
            ("s1", &long_a[..]),
            ("s1", &long_a[..]),
            ("s1", &long_b[..]),
            ("s2", &long_a[..]),
            ("s1", &long_c[..]),
            ("s1", &long_a[..64]),
            ("s1", &long_a[..10]),
            ("s1", &long_a[..]),
        ] {
            let key = derive_key(secret, "20250101", "cn-hangzhou", "oss");
            assert_eq!(
                cache.sign(secret, "20250101", "cn-hangzhou", "oss", data),
                hmac_sha256(&key, data)
            );
        }
    }
}
