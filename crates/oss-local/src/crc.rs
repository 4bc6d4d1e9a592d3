//! Combining CRC-64/XZ values of consecutive parts into the CRC of the whole object.
//!
//! `crc_fast::checksum_combine` rebuilds its GF(2) operator on every call; Complete of 10,000
//! parts calls it 10,000 times, which costs seconds in unoptimised builds. Here the operator
//! for a length (`x^(8·len) mod P`) is computed once per distinct part size (parts are nearly
//! all the same size) and applied with one 64-step multiplication per part.

/// CRC-64/XZ polynomial, bit-reflected.
const POLY: u64 = 0xC96C_5795_D787_0F42;
/// `x^0` in the reflected representation.
const ONE: u64 = 1 << 63;

/// `a(x) · b(x) mod P` in the reflected representation.
fn mul_mod(a: u64, mut b: u64) -> u64 {
    let mut m = ONE;
    let mut product = 0u64;
    while m != 0 {
        if a & m != 0 {
            product ^= b;
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    product
}

/// `x^(8·len) mod P`: the operator that appends `len` zero bytes.
fn shift_operator(len: u64) -> u64 {
    let mut result = ONE;
    // square = x^(8·2^k), starting at x^8.
    let mut square = {
        let mut x = ONE >> 1; // x^1
        for _ in 0..3 {
            x = mul_mod(x, x);
        }
        x
    };
    let mut n = len;
    while n != 0 {
        if n & 1 != 0 {
            result = mul_mod(square, result);
        }
        square = mul_mod(square, square);
        n >>= 1;
    }
    result
}

/// Folds `(crc, len)` of consecutive pieces into the CRC of their concatenation.
#[derive(Default)]
pub(crate) struct Combiner {
    crc: u64,
    cached: Option<(u64, u64)>,
}

impl Combiner {
    pub(crate) fn push(&mut self, crc: u64, len: u64) {
        let op = match self.cached {
            Some((cached_len, op)) if cached_len == len => op,
            _ => {
                let op = shift_operator(len);
                self.cached = Some((len, op));
                op
            }
        };
        self.crc = mul_mod(op, self.crc) ^ crc;
    }

    pub(crate) fn finish(&self) -> u64 {
        self.crc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(data: &[u8]) -> u64 {
        crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, data)
    }

    #[test]
    fn matches_direct_crc_for_every_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 7, 150, 299, 300] {
            let mut c = Combiner::default();
            c.push(crc(&data[..split]), split as u64);
            c.push(crc(&data[split..]), (data.len() - split) as u64);
            assert_eq!(c.finish(), crc(&data), "split {split}");
        }
        let mut c = Combiner::default();
        for chunk in data.chunks(13) {
            c.push(crc(chunk), chunk.len() as u64);
        }
        assert_eq!(c.finish(), crc(&data));
        assert_eq!(Combiner::default().finish(), 0);
    }

    #[test]
    fn official_combine_vectors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crc64.json");
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let hex = |v: &serde_json::Value| {
            u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        let mut checked = 0;
        for v in doc["vectors"].as_array().unwrap() {
            if v["kind"] == "combine" {
                let mut c = Combiner::default();
                c.push(
                    hex(&v["crc1"]),
                    v["part1_utf8"].as_str().map_or(0, |s| s.len() as u64),
                );
                c.push(hex(&v["crc2"]), v["len2"].as_u64().unwrap());
                assert_eq!(c.finish(), hex(&v["combined"]), "{}", v["id"]);
                checked += 1;
            }
        }
        assert!(checked > 0);
    }
}
