//! Server-side copies in the fake OSS: UploadPartCopy and CopyObject, pinned by
//! `x-oss-copy-source-if-match`, and the [`Content`] that lets an object be larger than
//! memory (all zero bytes, never materialised) so a copy of terabytes can be simulated.

use http::StatusCode;
use oss_model::OssRequest;
use oss_model::crc64::{crc64, crc64_combine};

use super::{FakeOss, Object, SimResponse, StoredPart, bucket, etag_from, key, put_etag_crc};
use crate::wire;

/// The bytes of a stored part or object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Content {
    /// Real bytes.
    Bytes(Vec<u8>),
    /// This many zero bytes, never held in memory.
    Zeros(u64),
}

/// CRC-64 of `n` zero bytes in O(log n), by combining doubling blocks.
fn crc64_of_zeros(n: u64) -> u64 {
    let (mut crc, mut block, mut block_len, mut left) = (0, crc64(&[0]), 1u64, n);
    while left > 0 {
        if left & 1 == 1 {
            crc = crc64_combine(crc, block, block_len);
        }
        left >>= 1;
        if left > 0 {
            block = crc64_combine(block, block, block_len);
            block_len <<= 1;
        }
    }
    crc
}

impl Content {
    pub(super) fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Zeros(n) => *n,
        }
    }

    /// CRC-64 of the content; `zeros` remembers the CRC of runs of zeros by length (a copy
    /// of terabytes has a few distinct part lengths and ten thousand parts).
    pub(super) fn crc(&self, zeros: &mut std::collections::HashMap<u64, u64>) -> u64 {
        match self {
            Self::Bytes(b) => crc64(b),
            Self::Zeros(n) => *zeros.entry(*n).or_insert_with(|| crc64_of_zeros(*n)),
        }
    }

    pub(super) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            Self::Zeros(_) => None,
        }
    }

    /// Bytes `first..=last` (checked by the caller).
    fn range(&self, first: u64, last: u64) -> Self {
        match self {
            Self::Bytes(b) => Self::Bytes(b[first as usize..=last as usize].to_vec()),
            Self::Zeros(_) => Self::Zeros(last - first + 1),
        }
    }

    /// `self` followed by `next`; zeros stay virtual while every piece is zeros.
    pub(super) fn append(self, next: &Self) -> Self {
        match (self, next) {
            (Self::Zeros(a), Self::Zeros(b)) => Self::Zeros(a + b),
            (Self::Bytes(mut a), Self::Bytes(b)) => {
                a.extend_from_slice(b);
                Self::Bytes(a)
            }
            (Self::Zeros(a), Self::Bytes(b)) => {
                let mut out = vec![0; a as usize];
                out.extend_from_slice(b);
                Self::Bytes(out)
            }
            (Self::Bytes(mut a), Self::Zeros(b)) => {
                a.resize(a.len() + *b as usize, 0);
                Self::Bytes(a)
            }
        }
    }
}

impl FakeOss {
    /// Stores an object of `len` zero bytes without holding them: a copy source of any size.
    pub fn put_zeros_object(&mut self, bucket: &str, key: &str, len: u64) {
        let data = Content::Zeros(len);
        let crc = data.crc(&mut self.zero_crcs);
        let etag = etag_from(crc, len);
        self.objects.insert(
            (bucket.to_owned(), key.to_owned()),
            Object { data, etag, crc },
        );
    }

    /// Stores an object (a copy source; replacing one mid-copy changes its ETag).
    pub fn put_object_bytes(&mut self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let data = Content::Bytes(bytes);
        let crc = data.crc(&mut self.zero_crcs);
        let etag = etag_from(crc, data.len());
        self.objects.insert(
            (bucket.to_owned(), key.to_owned()),
            Object { data, etag, crc },
        );
    }

    /// Size, ETag and CRC-64 of an object, if it exists (whatever its content).
    pub fn object_info(&self, bucket: &str, key: &str) -> Option<(u64, String, u64)> {
        self.objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|o| (o.data.len(), o.etag.clone(), o.crc))
    }

    /// Bytes moved by UploadPartCopy and CopyObject so far (server-side: none of them
    /// pass through the driver).
    pub fn bytes_copied(&self) -> u64 {
        self.copied
    }

    /// The source of `x-oss-copy-source`, checked against `x-oss-copy-source-if-match`.
    fn copy_source(&mut self, req: &OssRequest) -> Result<Object, Box<SimResponse>> {
        let value = req
            .headers
            .get("x-oss-copy-source")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let path = value.split_once('?').map_or(value, |(p, _)| p);
        let parsed = path.strip_prefix('/').and_then(|p| p.split_once('/'));
        let Some((b, k)) = parsed else {
            return Err(Box::new(self.error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "bad copy source",
            )));
        };
        let k = oss_model::url_decode("x-oss-copy-source", k).unwrap_or_else(|_| k.to_owned());
        let Some(src) = self.objects.get(&(b.to_owned(), k)).cloned() else {
            return Err(Box::new(self.error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "no copy source",
            )));
        };
        let pin = req
            .headers
            .get("x-oss-copy-source-if-match")
            .and_then(|v| v.to_str().ok());
        if pin.is_some_and(|etag| !wire::etag_eq(etag, &src.etag)) {
            return Err(Box::new(self.error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold.",
            )));
        }
        Ok(src)
    }

    /// UploadPartCopy: `x-oss-copy-source-range` of the source into part `n` of upload `id`.
    pub(super) fn upload_part_copy(&mut self, req: &OssRequest, id: &str, n: u32) -> SimResponse {
        let src = match self.copy_source(req) {
            Ok(src) => src,
            Err(r) => return *r,
        };
        let size = src.data.len();
        let range = req
            .headers
            .get("x-oss-copy-source-range")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
        let data = match range {
            Some((first, last)) if first <= last && last < size => src.data.range(first, last),
            Some(_) => {
                return self.error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                );
            }
            None => src.data.clone(),
        };
        self.copied += data.len();
        let crc = data.crc(&mut self.zero_crcs);
        let part = StoredPart {
            etag: etag_from(crc, data.len()),
            crc,
            data,
        };
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &part.etag, part.crc);
        r.body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>{}</ETag></CopyPartResult>",
            part.etag.replace('"', "&quot;")
        )
        .into_bytes();
        if let Some(u) = self.uploads.get_mut(id) {
            u.parts.insert(n, part);
        }
        r
    }

    /// CopyObject: the whole source to the request's key (the copy keeps the source's ETag,
    /// as OSS does).
    pub(super) fn copy_object(&mut self, req: &OssRequest) -> SimResponse {
        let src = match self.copy_source(req) {
            Ok(src) => src,
            Err(r) => return *r,
        };
        self.copied += src.data.len();
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &src.etag, src.crc);
        r.body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>{}</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>",
            src.etag.replace('"', "&quot;")
        )
        .into_bytes();
        self.objects.insert((bucket(req), key(req)), src);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_hash_like_real_zeros() {
        for n in [0u64, 1, 2, 3, 7, 64, 1000, 4097] {
            assert_eq!(crc64_of_zeros(n), crc64(&vec![0; n as usize]), "{n}");
        }
        let joined = Content::Zeros(5).append(&Content::Bytes(vec![1, 2]));
        assert_eq!(joined, Content::Bytes(vec![0, 0, 0, 0, 0, 1, 2]));
    }
}
