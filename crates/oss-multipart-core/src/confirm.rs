//! The one rule that decides whether a Complete whose answer was lost took effect: the object
//! HeadObject describes is the one these parts make when it has their total size and their
//! combined CRC-64. The upload machine applies it while confirming its own Complete; the
//! façade's manual `complete_upload` applies it when a retried Complete meets `NoSuchUpload`.

use crate::crc64_combine;

/// The object a Complete of known parts creates: total size and combined CRC-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpectedObject {
    /// Total size in bytes.
    pub size: u64,
    /// CRC-64/XZ of the whole object.
    pub crc64: u64,
}

impl ExpectedObject {
    /// The object made of `parts` (`(size, crc64)` of each part, in part-number order).
    pub fn from_parts(parts: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let (crc64, size) = parts
            .into_iter()
            .fold((0, 0), |(crc, size), (len, part_crc)| {
                (crc64_combine(crc, part_crc, len), size + len)
            });
        Self { size, crc64 }
    }

    /// Whether an object of `size` bytes whose CRC-64 OSS reports as `crc64` is this one. An
    /// object without a reported CRC-64 cannot be confirmed: size alone could be another
    /// writer's object.
    pub fn is_confirmed_by(&self, size: u64, crc64: Option<u64>) -> bool {
        size == self.size && crc64 == Some(self.crc64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc64;

    #[test]
    fn the_combined_crc_is_the_whole_objects() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (a, b, c) = (&data[..3000], &data[3000..3001], &data[3001..]);
        let expected = ExpectedObject::from_parts([a, b, c].map(|p| (p.len() as u64, crc64(p))));
        assert_eq!(
            expected,
            ExpectedObject {
                size: 10_000,
                crc64: crc64(&data)
            }
        );
        assert!(expected.is_confirmed_by(10_000, Some(crc64(&data))));
        assert!(!expected.is_confirmed_by(10_000, None));
        assert!(!expected.is_confirmed_by(9_999, Some(crc64(&data))));
        assert!(!expected.is_confirmed_by(10_000, Some(crc64(&data) ^ 1)));
        assert_eq!(
            ExpectedObject::from_parts([]),
            ExpectedObject { size: 0, crc64: 0 }
        );
    }
}
