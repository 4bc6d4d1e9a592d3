//! An in-memory OSS that implements the operations the machine uses, with OSS error codes.

mod copy;

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::limits::{MAX_LIST_PARTS, MAX_PART_COUNT, MIN_PART_SIZE};
use oss_model::OssRequest;
use oss_model::crc64::{crc64, crc64_combine};
use oss_model::ops::CompleteMultipartUploadBody;

use self::copy::Content;
use crate::wire;

/// A response of the fake server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers (`ETag`, `x-oss-hash-crc64ecma`, `x-oss-request-id`, `Content-Length` for HEAD).
    pub headers: HeaderMap,
    /// Body (XML or empty).
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct StoredPart {
    data: Content,
    etag: String,
    crc: u64,
}

#[derive(Debug, Clone)]
struct MpUpload {
    bucket: String,
    key: String,
    parts: BTreeMap<u32, StoredPart>,
}

#[derive(Debug, Clone)]
struct Object {
    data: Content,
    etag: String,
    crc: u64,
}

/// In-memory OSS: InitiateMultipartUpload, UploadPart, ListParts (paged), CompleteMultipartUpload
/// (order, ETag and minimum-size checks), AbortMultipartUpload, PutObject and HeadObject. Any
/// bucket exists. ETags are content-derived but opaque, like OSS's.
#[derive(Debug, Clone, Default)]
pub struct FakeOss {
    uploads: BTreeMap<String, MpUpload>,
    objects: BTreeMap<(String, String), Object>,
    next_upload: u64,
    next_request: u64,
    list_page: Option<u32>,
    /// Requests handled, by method (for assertions).
    pub requests_handled: u64,
    /// Bytes copied server-side (UploadPartCopy, CopyObject).
    copied: u64,
    /// CRC-64 of runs of zero bytes, by length.
    zero_crcs: std::collections::HashMap<u64, u64>,
}

fn etag_of(data: &[u8]) -> String {
    etag_from(crc64(data), data.len() as u64)
}

/// Opaque and content-derived; real OSS uses the MD5.
fn etag_from(crc: u64, len: u64) -> String {
    format!("\"{:016X}{:016X}\"", crc, len ^ 0x5A5A_5A5A)
}

impl FakeOss {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve at most `n` parts per ListParts page (OSS serves up to 1000), to exercise paging.
    pub fn set_list_page_limit(&mut self, n: u32) {
        self.list_page = Some(n.clamp(1, MAX_LIST_PARTS));
    }

    /// The bytes of an object, if it exists and holds real bytes (see
    /// [`object_info`](Self::object_info) for objects of zeros).
    pub fn object(&self, bucket: &str, key: &str) -> Option<&[u8]> {
        self.objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .and_then(|o| o.data.as_bytes())
    }

    /// Number of multipart uploads in progress (not completed or aborted).
    pub fn upload_count(&self) -> usize {
        self.uploads.len()
    }

    /// Part numbers stored for an upload.
    pub fn part_numbers(&self, upload_id: &str) -> Vec<u32> {
        self.uploads
            .get(upload_id)
            .map(|u| u.parts.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets every multipart upload, as if OSS expired them (NoSuchUpload afterwards).
    pub fn forget_uploads(&mut self) {
        self.uploads.clear();
    }

    /// Replaces the bytes of a stored part (simulates a part that no longer matches the journal).
    pub fn tamper_part(&mut self, upload_id: &str, part_number: u32, data: Vec<u8>) {
        if let Some(p) = self
            .uploads
            .get_mut(upload_id)
            .and_then(|u| u.parts.get_mut(&part_number))
        {
            p.crc = crc64(&data);
            p.etag = etag_of(&data);
            p.data = Content::Bytes(data);
        }
    }

    fn base(&mut self, status: StatusCode) -> SimResponse {
        self.next_request += 1;
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("{:024X}", self.next_request)) {
            headers.insert("x-oss-request-id", v);
        }
        SimResponse {
            status,
            headers,
            body: Vec::new(),
        }
    }

    /// An OSS error response (XML document, or headers only for HEAD).
    pub fn error(&mut self, status: StatusCode, code: &str, message: &str) -> SimResponse {
        let mut r = self.base(status);
        let rid = r
            .headers
            .get("x-oss-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        r.body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId><HostId>sim.oss</HostId></Error>"
        )
        .into_bytes();
        r
    }

    fn query<'a>(req: &'a OssRequest, name: &str) -> Option<&'a str> {
        req.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Handles one request; `body` is the payload for PUTs (the driver's bytes) and ignored
    /// otherwise (Complete's XML travels in `req.body`).
    pub fn handle(&mut self, req: &OssRequest, body: &[u8]) -> SimResponse {
        self.requests_handled += 1;
        let upload_id = Self::query(req, "uploadId").map(str::to_owned);
        let (m, id) = (&req.method, upload_id.as_deref());
        match (m, id) {
            (m, None) if *m == Method::POST && Self::query(req, "uploads").is_some() => {
                self.initiate(req)
            }
            (m, Some(id)) if *m == Method::PUT => self.upload_part(req, id, body),
            (m, None) if *m == Method::PUT && req.headers.contains_key("x-oss-copy-source") => {
                self.copy_object(req)
            }
            (m, None) if *m == Method::PUT => self.put_object(req, body),
            (m, Some(id)) if *m == Method::GET => self.list_parts(req, id),
            (m, Some(id)) if *m == Method::POST => self.complete(req, id),
            (m, Some(id)) if *m == Method::DELETE => self.abort(req, id),
            (m, None) if *m == Method::HEAD => self.head(req),
            _ => self.error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "unsupported request",
            ),
        }
    }

    fn initiate(&mut self, req: &OssRequest) -> SimResponse {
        self.next_upload += 1;
        let id = format!(
            "{:032X}",
            self.next_upload.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        self.uploads.insert(
            id.clone(),
            MpUpload {
                bucket: bucket(req),
                key: key(req),
                parts: BTreeMap::new(),
            },
        );
        let mut r = self.base(StatusCode::OK);
        r.body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>",
            bucket(req),
            key(req)
        )
        .into_bytes();
        r
    }

    fn upload_of(&self, req: &OssRequest, id: &str) -> bool {
        self.uploads
            .get(id)
            .is_some_and(|u| u.bucket == bucket(req) && u.key == key(req))
    }

    fn upload_part(&mut self, req: &OssRequest, id: &str, body: &[u8]) -> SimResponse {
        let n = Self::query(req, "partNumber").and_then(|v| v.parse::<u32>().ok());
        let Some(n) = n.filter(|n| (1..=MAX_PART_COUNT).contains(n)) else {
            return self.error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
            );
        };
        if !self.upload_of(req, id) {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        }
        if req.headers.contains_key("x-oss-copy-source") {
            return self.upload_part_copy(req, id, n);
        }
        let part = StoredPart {
            data: Content::Bytes(body.to_vec()),
            etag: etag_of(body),
            crc: crc64(body),
        };
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &part.etag, part.crc);
        if let Some(u) = self.uploads.get_mut(id) {
            u.parts.insert(n, part);
        }
        r
    }

    fn put_object(&mut self, req: &OssRequest, body: &[u8]) -> SimResponse {
        let obj = Object {
            data: Content::Bytes(body.to_vec()),
            etag: etag_of(body),
            crc: crc64(body),
        };
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &obj.etag, obj.crc);
        self.objects.insert((bucket(req), key(req)), obj);
        r
    }

    fn list_parts(&mut self, req: &OssRequest, id: &str) -> SimResponse {
        if !self.upload_of(req, id) {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        }
        let marker = Self::query(req, "part-number-marker")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        let max = Self::query(req, "max-parts")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(MAX_LIST_PARTS);
        let max = max
            .clamp(1, MAX_LIST_PARTS)
            .min(self.list_page.unwrap_or(MAX_LIST_PARTS)) as usize;
        let Some(u) = self.uploads.get(id) else {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        };
        let after: Vec<_> = u.parts.range(marker.saturating_add(1)..).collect();
        let truncated = after.len() > max;
        let page = &after[..after.len().min(max)];
        let next = page.last().map_or(marker, |(n, _)| **n);
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult><Bucket>{}</Bucket><Key>{}</Key><UploadId>{id}</UploadId><PartNumberMarker>{marker}</PartNumberMarker><NextPartNumberMarker>{next}</NextPartNumberMarker><MaxParts>{max}</MaxParts><IsTruncated>{truncated}</IsTruncated>",
            u.bucket, u.key
        );
        for (n, p) in page {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>{}</ETag><HashCrc64ecma>{}</HashCrc64ecma><Size>{}</Size></Part>",
                p.etag.replace('"', "&quot;"),
                p.crc,
                p.data.len()
            ));
        }
        xml.push_str("</ListPartsResult>");
        let mut r = self.base(StatusCode::OK);
        r.body = xml.into_bytes();
        r
    }

    fn complete(&mut self, req: &OssRequest, id: &str) -> SimResponse {
        if !self.upload_of(req, id) {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        }
        let Ok(parsed) = CompleteMultipartUploadBody::from_xml(&req.body) else {
            return self.error(StatusCode::BAD_REQUEST, "MalformedXML", "bad body");
        };
        let listed: Vec<(u32, String)> = parsed
            .parts
            .into_iter()
            .map(|p| (p.part_number.get(), p.etag))
            .collect();
        if listed.is_empty() {
            return self.error(StatusCode::BAD_REQUEST, "MalformedXML", "no parts");
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return self.error(
                StatusCode::BAD_REQUEST,
                "InvalidPartOrder",
                "parts not ascending",
            );
        }
        let Some(u) = self.uploads.get(id) else {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        };
        let mut data = Content::Bytes(Vec::new());
        let mut crc = 0;
        for (i, (n, etag)) in listed.iter().enumerate() {
            let Some(p) = u.parts.get(n).filter(|p| wire::etag_eq(&p.etag, etag)) else {
                return self.error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPart",
                    "part missing or ETag mismatch",
                );
            };
            if i + 1 < listed.len() && p.data.len() < MIN_PART_SIZE {
                return self.error(StatusCode::BAD_REQUEST, "EntityTooSmall", "part too small");
            }
            crc = crc64_combine(crc, p.crc, p.data.len());
            data = if i == 0 {
                p.data.clone()
            } else {
                data.append(&p.data)
            };
        }
        let etag = format!("\"{:016X}{:016X}-{}\"", crc, data.len(), listed.len());
        let key = (u.bucket.clone(), u.key.clone());
        self.uploads.remove(id);
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &etag, crc);
        r.body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Location>http://{}.sim/{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
            key.0, key.1, key.0, key.1, etag.replace('"', "&quot;")
        )
        .into_bytes();
        self.objects.insert(key, Object { data, etag, crc });
        r
    }

    fn abort(&mut self, req: &OssRequest, id: &str) -> SimResponse {
        if !self.upload_of(req, id) {
            return self.error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        }
        self.uploads.remove(id);
        self.base(StatusCode::NO_CONTENT)
    }

    fn head(&mut self, req: &OssRequest) -> SimResponse {
        let Some(o) = self.objects.get(&(bucket(req), key(req))).cloned() else {
            let mut r = self.base(StatusCode::NOT_FOUND);
            r.body.clear();
            return r;
        };
        let mut r = self.base(StatusCode::OK);
        put_etag_crc(&mut r.headers, &o.etag, o.crc);
        r.headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(o.data.len()),
        );
        r
    }
}

fn bucket(req: &OssRequest) -> String {
    req.bucket.clone().unwrap_or_default()
}

fn key(req: &OssRequest) -> String {
    req.key.clone().unwrap_or_default()
}

fn put_etag_crc(headers: &mut HeaderMap, etag: &str, crc: u64) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(http::header::ETAG, v);
    }
    headers.insert("x-oss-hash-crc64ecma", HeaderValue::from(crc));
}
