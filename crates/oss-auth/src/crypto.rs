//! The three primitives signing needs (SHA-256, HMAC-SHA256, HMAC-SHA1), behind one small
//! interface so the backend is a build choice.
//!
//! * `aws-lc-rs` (default): AWS-LC's assembly, which picks AVX2/SHA-NI at run time. Hashing
//!   is most of a V4 signature (about nine SHA-256 blocks), and this backend is roughly
//!   twice as fast as the portable Rust code on CPUs without SHA extensions. The façade's
//!   TLS stack already links it, so it costs nothing extra there.
//! * `rust-crypto`: the RustCrypto `sha2`/`hmac`/`sha1` crates, pure Rust, for builds
//!   without a C toolchain (`default-features = false, features = ["rust-crypto"]`).
//!
//! With both enabled, `aws-lc-rs` wins. Both are tested against the same official vectors.

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("oss-auth needs a crypto backend: enable the `aws-lc-rs` or `rust-crypto` feature");

/// Length of a SHA-256 digest.
pub(crate) const SHA256_LEN: usize = 32;

#[cfg(feature = "aws-lc-rs")]
mod backend {
    use aws_lc_rs::{digest, hmac};

    pub(crate) fn sha256(data: &[u8]) -> [u8; super::SHA256_LEN] {
        let d = digest::digest(&digest::SHA256, data);
        let mut out = [0; super::SHA256_LEN];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// An HMAC-SHA256 key with its inner and outer pad states already hashed.
    #[derive(Clone)]
    pub(crate) struct HmacSha256Key(hmac::Key);

    impl HmacSha256Key {
        pub(crate) fn new(key: &[u8]) -> Self {
            Self(hmac::Key::new(hmac::HMAC_SHA256, key))
        }

        pub(crate) fn start(&self) -> HmacSha256State {
            HmacSha256State(hmac::Context::with_key(&self.0))
        }
    }

    /// An HMAC-SHA256 computation in progress; cloning it forks the computation.
    #[derive(Clone)]
    pub(crate) struct HmacSha256State(hmac::Context);

    impl HmacSha256State {
        pub(crate) fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }

        pub(crate) fn finish(self) -> [u8; super::SHA256_LEN] {
            let tag = self.0.sign();
            let mut out = [0; super::SHA256_LEN];
            out.copy_from_slice(tag.as_ref());
            out
        }
    }

    pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key),
            data,
        );
        let mut out = [0; 20];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod backend {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    pub(crate) fn sha256(data: &[u8]) -> [u8; super::SHA256_LEN] {
        Sha256::digest(data).into()
    }

    /// An HMAC-SHA256 key with its inner and outer pad states already hashed.
    #[derive(Clone)]
    pub(crate) struct HmacSha256Key(Hmac<Sha256>);

    impl HmacSha256Key {
        pub(crate) fn new(key: &[u8]) -> Self {
            let Ok(mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
                unreachable!("HMAC accepts keys of any length")
            };
            Self(mac)
        }

        pub(crate) fn start(&self) -> HmacSha256State {
            HmacSha256State(self.0.clone())
        }
    }

    /// An HMAC-SHA256 computation in progress; cloning it forks the computation.
    #[derive(Clone)]
    pub(crate) struct HmacSha256State(Hmac<Sha256>);

    impl HmacSha256State {
        pub(crate) fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }

        pub(crate) fn finish(self) -> [u8; super::SHA256_LEN] {
            self.0.finalize().into_bytes().into()
        }
    }

    pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
        let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

pub(crate) use backend::{HmacSha256Key, HmacSha256State, hmac_sha1, sha256};

/// SHA-256 block size: an HMAC state that has absorbed exactly this many bytes holds no
/// buffered input, so forking it saves a whole compression.
pub(crate) const SHA256_BLOCK: usize = 64;

impl HmacSha256Key {
    /// HMAC of the concatenation of `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        let mut state = self.start();
        for part in parts {
            state.update(part);
        }
        state.finish()
    }
}

/// One-shot HMAC-SHA256 (key derivation).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; SHA256_LEN] {
    HmacSha256Key::new(key).sign(&[data])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // FIPS 180-2 and RFC 4231 / RFC 2202 test cases: checks whichever backend is built.
    #[test]
    fn known_answers() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = HmacSha256Key::new(b"Jefe");
        assert_eq!(
            key.sign(&[b"what do ya ", b"want for nothing?"]),
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "multi-part update equals one-shot"
        );
        let mut forked = key.start();
        forked.update(b"what do ya ");
        let mut other = forked.clone();
        forked.update(b"want for nothing?");
        other.update(b"want for something?");
        assert_eq!(
            forked.finish(),
            hmac_sha256(b"Jefe", b"what do ya want for nothing?")
        );
        assert_eq!(
            other.finish(),
            hmac_sha256(b"Jefe", b"what do ya want for something?")
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
