//! A small signing-key cache: deriving a V4 key costs four HMACs, and a client signs
//! thousands of requests per (secret, day, region, product).

use std::fmt;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::canon::{V4_TERMINATOR, hmac_sha256};

/// Few entries are enough: one per credential rotation / region in use.
const CAPACITY: usize = 8;

struct Entry {
    secret: String,
    date8: String,
    region: String,
    product: String,
    // Keyed HMAC state (inner/outer pads already hashed): saves two SHA-256 blocks per
    // signature over re-keying from the raw 32-byte key.
    mac: Hmac<Sha256>,
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

/// Derives the V4 signing key (WIRE.md §2.4) without caching.
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
    /// A keyed HMAC for this (secret, date, region, product), cached; clone-and-use.
    pub(crate) fn signing_mac(
        &self,
        secret: &str,
        date8: &str,
        region: &str,
        product: &str,
    ) -> Hmac<Sha256> {
        // A poisoned lock only means another thread panicked mid-update; the data is
        // still a valid list, so keep using it.
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pos) = entries.iter().position(|e| {
            e.date8 == date8 && e.region == region && e.product == product && e.secret == secret
        }) {
            let mac = entries[pos].mac.clone();
            if pos + 1 != entries.len() {
                let e = entries.remove(pos);
                entries.push(e);
            }
            return mac;
        }
        let key = derive_key(secret, date8, region, product);
        let Ok(mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
            unreachable!("HMAC accepts keys of any length")
        };
        if entries.len() >= CAPACITY {
            entries.remove(0);
        }
        entries.push(Entry {
            secret: secret.to_owned(),
            date8: date8.to_owned(),
            region: region.to_owned(),
            product: product.to_owned(),
            mac: mac.clone(),
        });
        mac
    }
}

/// Lower-hex HMAC of `data` with a cached keyed state.
pub(crate) fn sign_hex(mut mac: Hmac<Sha256>, data: &[u8]) -> String {
    mac.update(data);
    crate::canon::hex_lower(&mac.finalize().into_bytes())
}
