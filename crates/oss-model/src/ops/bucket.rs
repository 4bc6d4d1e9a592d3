//! Bucket operations: PutBucket (create) and ListObjectsV2.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::{bucket_request, check_range};
use crate::codec::{EncodingType, content_md5, maybe_decode, maybe_encode};
use crate::request::{check_status, header_string, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, Operation, OssRequest, ResponseError, header, limits,
    query,
};

/// Largest `CreateBucketConfiguration` body a server accepts.
const MAX_CREATE_BUCKET_BODY: usize = 16 * 1024;

/// The `<CreateBucketConfiguration>` body of PutBucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateBucketConfiguration {
    /// `StorageClass` (`Standard`, `IA`, `Archive`, ...).
    pub storage_class: Option<String>,
    /// `DataRedundancyType` (`LRS`, `ZRS`).
    pub data_redundancy_type: Option<String>,
}

impl CreateBucketConfiguration {
    /// Writes the body.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "CreateBucketConfiguration");
        write::opt_element(&mut out, "StorageClass", self.storage_class.as_deref());
        write::opt_element(
            &mut out,
            "DataRedundancyType",
            self.data_redundancy_type.as_deref(),
        );
        write::close(&mut out, "CreateBucketConfiguration");
        out
    }

    /// Parses the body (server side).
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "CreateBucketConfiguration", MAX_CREATE_BUCKET_BODY)?;
        Ok(Self {
            storage_class: root.opt_string("StorageClass")?,
            data_redundancy_type: root.opt_string("DataRedundancyType")?,
        })
    }
}

/// Creates a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutBucket {
    /// Bucket to create.
    pub bucket: BucketName,
    /// `x-oss-acl` (`private`, `public-read`, `public-read-write`).
    pub acl: Option<String>,
    /// Body; sent only when some field is set.
    pub configuration: CreateBucketConfiguration,
}

impl PutBucket {
    /// Creates `bucket` with defaults.
    pub fn new(bucket: BucketName) -> Self {
        Self {
            bucket,
            acl: None,
            configuration: CreateBucketConfiguration::default(),
        }
    }
}

impl Operation for PutBucket {
    type Output = PutBucketOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = bucket_request(Method::PUT, &self.bucket);
        req.set_opt_header(header::X_OSS_ACL, self.acl.as_deref())?;
        if self.configuration != CreateBucketConfiguration::default() {
            let body = self.configuration.to_xml();
            req.set_header(header::CONTENT_TYPE, "application/xml")?;
            req.set_header(header::CONTENT_MD5, &content_md5(body.as_bytes()))?;
            req.body = Bytes::from(body);
        }
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        Ok(PutBucketOutput {
            location: header_string(headers, "location"),
            request_id: request_id(headers),
        })
    }
}

/// PutBucket returns 200 and no body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutBucketOutput {
    /// `Location` header (`/<bucket>`), when sent.
    pub location: Option<String>,
    /// `x-oss-request-id`.
    pub request_id: String,
}

/// Lists objects (version 2 of the listing API), one page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV2 {
    /// Bucket.
    pub bucket: BucketName,
    /// `prefix`.
    pub prefix: Option<String>,
    /// `delimiter`.
    pub delimiter: Option<String>,
    /// `start-after`.
    pub start_after: Option<String>,
    /// `continuation-token` from the previous page.
    pub continuation_token: Option<String>,
    /// `max-keys`, 1..=1000.
    pub max_keys: Option<u32>,
    /// `fetch-owner=true`.
    pub fetch_owner: bool,
    /// `encoding-type`; `Some(Url)` by default.
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl ListObjectsV2 {
    /// The first page of `bucket`.
    pub fn new(bucket: BucketName) -> Self {
        Self {
            bucket,
            prefix: None,
            delimiter: None,
            start_after: None,
            continuation_token: None,
            max_keys: None,
            fetch_owner: false,
            encoding_type: Some(EncodingType::Url),
            request_payer: None,
        }
    }
}

impl ListObjectsV2 {
    /// The request for the page after `page`, or `None` when `page` was the last one.
    pub fn next_page(&self, page: &ListObjectsV2Output) -> Option<Self> {
        page.is_truncated.then(|| Self {
            continuation_token: Some(page.next_continuation_token.clone()),
            start_after: None,
            ..self.clone()
        })
    }
}

impl Operation for ListObjectsV2 {
    type Output = ListObjectsV2Output;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        check_range("max-keys", self.max_keys, 1, limits::MAX_LIST_KEYS)?;
        let mut req = bucket_request(Method::GET, &self.bucket);
        req.push_query(query::LIST_TYPE, "2");
        req.push_opt_query(query::PREFIX, self.prefix.as_deref());
        req.push_opt_query(query::DELIMITER, self.delimiter.as_deref());
        req.push_opt_query(query::START_AFTER, self.start_after.as_deref());
        req.push_opt_query(
            query::CONTINUATION_TOKEN,
            self.continuation_token.as_deref(),
        );
        req.push_opt_query(query::MAX_KEYS, self.max_keys);
        if self.fetch_owner {
            req.push_query(query::FETCH_OWNER, "true");
        }
        req.push_opt_query(
            query::ENCODING_TYPE,
            self.encoding_type.map(EncodingType::as_str),
        );
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = ListObjectsV2Output::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// One `<Contents>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectSummary {
    /// Key (decoded).
    pub key: String,
    /// `LastModified` (ISO 8601 as sent).
    pub last_modified: String,
    /// ETag (quoted).
    pub etag: String,
    /// `Type`: `Normal`, `Multipart`, `Appendable`.
    pub object_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Storage class.
    pub storage_class: String,
}

impl ObjectSummary {
    /// An entry with the given key, ETag and size.
    pub fn new(key: impl Into<String>, etag: impl Into<String>, size: u64) -> Self {
        Self {
            key: key.into(),
            etag: etag.into(),
            size,
            ..Self::default()
        }
    }
}

/// `ListBucketResult` of ListObjectsV2, with keys and prefixes decoded. Continuation tokens
/// are opaque and kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV2Output {
    /// Bucket (`Name`).
    pub name: String,
    /// Prefix that applied (decoded).
    pub prefix: String,
    /// Delimiter that applied (decoded).
    pub delimiter: String,
    /// `StartAfter` (decoded).
    pub start_after: String,
    /// The token this page was requested with.
    pub continuation_token: String,
    /// Token for the next page, when truncated.
    pub next_continuation_token: String,
    /// Page size that applied.
    pub max_keys: u32,
    /// Entries plus common prefixes on this page.
    pub key_count: u32,
    /// Whether more entries follow.
    pub is_truncated: bool,
    /// Objects.
    pub contents: Vec<ObjectSummary>,
    /// `CommonPrefixes/Prefix` values (decoded).
    pub common_prefixes: Vec<String>,
    /// The encoding the reply used (fields above already decoded).
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl ListObjectsV2Output {
    /// Parses the XML body.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "ListBucketResult", limits::MAX_XML_BODY)?;
        let enc = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        let decoded = |name: &'static str| -> Result<String, DecodeError> {
            maybe_decode(enc, name, root.string_or_empty(name)?)
        };
        let (contents, common_prefixes) = read_entries(&root, enc)?;
        Ok(Self {
            name: root.string_or_empty("Name")?,
            prefix: decoded("Prefix")?,
            delimiter: decoded("Delimiter")?,
            start_after: decoded("StartAfter")?,
            continuation_token: root.string_or_empty("ContinuationToken")?,
            next_continuation_token: root.string_or_empty("NextContinuationToken")?,
            max_keys: root.u32_or_zero("MaxKeys")?,
            key_count: root.u32_or_zero("KeyCount")?,
            is_truncated: root.bool_or_false("IsTruncated")?,
            contents,
            common_prefixes,
            encoding_type: enc,
            request_id: String::new(),
        })
    }

    /// Writes the XML body (keys and prefixes encoded when `encoding_type` says so).
    ///
    /// Element order follows OSS; `ContinuationToken`, `StartAfter` and
    /// `NextContinuationToken` are left out when empty, as OSS does when they do not apply.
    pub fn to_xml(&self) -> String {
        let enc = self.encoding_type;
        let mut out = String::with_capacity(512 + self.contents.len() * 256);
        out.push_str(write::DECLARATION);
        write::open(&mut out, "ListBucketResult");
        write::element(&mut out, "Name", &self.name);
        write::element(&mut out, "Prefix", &maybe_encode(enc, &self.prefix));
        write::opt_element(
            &mut out,
            "ContinuationToken",
            non_empty(&self.continuation_token),
        );
        write::opt_element(
            &mut out,
            "StartAfter",
            non_empty(&self.start_after)
                .map(|s| maybe_encode(enc, s))
                .as_deref(),
        );
        write::element(&mut out, "MaxKeys", &self.max_keys.to_string());
        write::element(&mut out, "Delimiter", &maybe_encode(enc, &self.delimiter));
        write::opt_element(&mut out, "EncodingType", enc.map(EncodingType::as_str));
        write::element(&mut out, "IsTruncated", super::bool_str(self.is_truncated));
        write::opt_element(
            &mut out,
            "NextContinuationToken",
            non_empty(&self.next_continuation_token),
        );
        write::element(&mut out, "KeyCount", &self.key_count.to_string());
        write_entries(&mut out, enc, &self.contents, &self.common_prefixes);
        write::close(&mut out, "ListBucketResult");
        out
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Reads the `<Contents>` and `<CommonPrefixes>` of either listing version.
pub(super) fn read_entries(
    root: &read::Element,
    enc: Option<EncodingType>,
) -> Result<(Vec<ObjectSummary>, Vec<String>), DecodeError> {
    let mut contents = Vec::new();
    for entry in root.children("Contents") {
        contents.push(ObjectSummary {
            key: maybe_decode(enc, "Key", entry.text("Key")?.to_owned())?,
            last_modified: entry.string_or_empty("LastModified")?,
            etag: entry.string_or_empty("ETag")?,
            object_type: entry.string_or_empty("Type")?,
            size: entry.opt_u64("Size")?.unwrap_or(0),
            storage_class: entry.string_or_empty("StorageClass")?,
        });
    }
    Ok((contents, read_common_prefixes(root, enc)?))
}

/// Reads the `<CommonPrefixes><Prefix>` values of any listing (objects or uploads), decoded.
pub(super) fn read_common_prefixes(
    root: &read::Element,
    enc: Option<EncodingType>,
) -> Result<Vec<String>, DecodeError> {
    root.children("CommonPrefixes")
        .map(|prefix| maybe_decode(enc, "Prefix", prefix.text("Prefix")?.to_owned()))
        .collect()
}

/// Writes the `<Contents>` and `<CommonPrefixes>` of either listing version.
pub(super) fn write_entries(
    out: &mut String,
    enc: Option<EncodingType>,
    contents: &[ObjectSummary],
    common_prefixes: &[String],
) {
    for entry in contents {
        write::open(out, "Contents");
        write::element(out, "Key", &maybe_encode(enc, &entry.key));
        write::element(out, "LastModified", &entry.last_modified);
        write::element(out, "ETag", &entry.etag);
        write::element(out, "Type", &entry.object_type);
        write::element(out, "Size", &entry.size.to_string());
        write::element(out, "StorageClass", &entry.storage_class);
        write::close(out, "Contents");
    }
    for prefix in common_prefixes {
        write::open(out, "CommonPrefixes");
        write::element(out, "Prefix", &maybe_encode(enc, prefix));
        write::close(out, "CommonPrefixes");
    }
}
