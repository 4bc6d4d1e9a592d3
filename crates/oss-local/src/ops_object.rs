//! Simple object operations: PutObject, GetObject, HeadObject, DeleteObject, ListObjects
//! (V1 and V2).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::{Response, StatusCode};
use oss_model::ops::{ListObjectsV1Output, ListObjectsV2Output, ObjectSummary};
use oss_model::{EncodingType, url_encode};

use crate::attrs::{self, SSE_HEADERS};
use crate::auth::iso_ms;
use crate::body::{Piece, StageError, StageOptions, empty, stage, stream_pieces};
use crate::callback;
use crate::conditions::{self, Family};
use crate::config::{EtagMode, StorageMode};
use crate::error::OssError;
use crate::ops_multipart::STORAGE_CLASS;
use crate::service::{
    Ctx, OpError, OpResult, Req, blocking, content_md5, forbid_overwrite, set_header, xml_ok,
};
use crate::store::{AppendReject, Attrs, ObjectMeta, StoreError};

/// Maps store errors for object requests.
pub(crate) fn store_err(
    err: StoreError,
    bucket: &str,
    key: &str,
    upload_ec: &'static str,
    upload_id: &str,
) -> OssError {
    match err {
        StoreError::NoSuchBucket => OssError::no_such_bucket(bucket),
        StoreError::BucketNotEmpty => OssError::bucket_not_empty(bucket),
        StoreError::NoSuchKey => OssError::no_such_key(key),
        StoreError::NoSuchUpload => OssError::no_such_upload(upload_id, upload_ec),
        StoreError::Io(e) => e.into(),
    }
}

/// Headers stored with an object: Content-Type and `x-oss-meta-*`.
pub(crate) fn user_meta(req: &Req) -> (String, Vec<(String, String)>) {
    let content_type = req
        .h("content-type")
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let meta = req
        .headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-oss-meta-"))
        .filter_map(|(name, value)| {
            let value = std::str::from_utf8(value.as_bytes()).ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    (content_type, meta)
}

pub(crate) fn stage_options(
    ctx: &Ctx,
    req: &Req,
    md5: Option<[u8; 16]>,
) -> Result<StageOptions, OssError> {
    Ok(StageOptions {
        temp: match ctx.config.storage {
            StorageMode::Disk => Some(ctx.store.temp_path()),
            _ => None,
        },
        etag: ctx.config.etag,
        content_md5: md5,
        fsync: ctx.config.fsync,
        bandwidth: min_rate(req.bandwidth, traffic_limit(req)?),
        max_body: ctx.config.limits.max_body,
        cut_after: req.cut_after(),
    })
}

pub(crate) fn stage_err(err: StageError) -> OpError {
    match err {
        StageError::Oss(e) => OpError::Oss(e),
        StageError::Gone => OpError::Drop,
    }
}

fn check_length(req: &Req, max: u64) -> Result<(), OssError> {
    match req.h("content-length") {
        Some(len) => match len.parse::<u64>() {
            Ok(len) if len > max => Err(OssError::entity_too_large(max)),
            Ok(_) => Ok(()),
            Err(_) => Err(OssError::missing_content_length()),
        },
        None if req.headers.contains_key(http::header::TRANSFER_ENCODING) => Ok(()),
        None => Err(OssError::missing_content_length()),
    }
}

pub(crate) async fn put_object(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    check_length(req, ctx.config.limits.max_body)?;
    let md5 = content_md5(req)?;
    let attrs = attrs::from_request(req)?;
    let callback = callback::from_request(req, &ctx.config)?;
    let forbid = forbid_overwrite(req);
    if forbid && ctx.store.object_exists(&req.bucket, &req.key) {
        return Err(OssError::file_already_exists("0026-00000201").into());
    }
    let opts = stage_options(ctx, req, md5)?;
    let body = req
        .take_body()
        .ok_or_else(|| OssError::internal("body taken"))?;
    let staged = stage(body, opts).await.map_err(stage_err)?;
    let (content_type, meta) = user_meta(req);
    let facts = callback::Facts {
        bucket: req.bucket.clone(),
        object: req.key.clone(),
        etag: staged.etag.trim_matches('"').to_owned(),
        size: staged.size,
        mime_type: content_type.clone(),
        crc64: staged.crc64,
        content_md5: md5.map(|m| B64.encode(m)).or_else(|| {
            let digest = (ctx.config.etag == EtagMode::Md5)
                .then(|| hex::decode(staged.etag.trim_matches('"')).ok())??;
            Some(B64.encode(digest))
        }),
        operation: "PutObject",
    };
    let object = ObjectMeta {
        key: req.key.clone(),
        size: staged.size,
        etag: staged.etag.clone(),
        crc64: staged.crc64,
        multipart: false,
        content_type,
        user_meta: meta,
        last_modified: req.now,
        blob: String::new(),
        segments: Vec::new(),
        attrs,
        appendable: false,
    };
    let sse = echo_sse(&object.attrs);
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    let etag = staged.etag.clone();
    let crc = staged.crc64;
    let result = blocking(move || store.put_object(&bucket, object, staged, forbid))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    if result.is_err() {
        return Err(OssError::file_already_exists("0026-00000201").into());
    }
    let mut response = Response::new(empty());
    set_header(&mut response, "etag", &etag);
    set_header(&mut response, "x-oss-hash-crc64ecma", &crc.to_string());
    if let Some(md5) = md5 {
        set_header(&mut response, "content-md5", &B64.encode(md5));
    }
    for (name, value) in sse {
        set_header(&mut response, name, &value);
    }
    callback::finish(&ctx.config, callback, &facts, response).await
}

/// The server-side encryption headers to echo on a write of an object with `attrs`.
pub(crate) fn echo_sse(attrs: &Attrs) -> Vec<(&'static str, String)> {
    SSE_HEADERS
        .iter()
        .filter_map(|name| Some((*name, attrs.header(name)?.to_owned())))
        .collect()
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`. `Ok(None)` = no (or ignorable) range, like OSS,
/// which serves the whole object when the header is syntactically invalid.
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, OssError> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            let Ok(n) = last.parse::<u64>() else {
                return Ok(None);
            };
            if n == 0 || size == 0 {
                return Err(OssError::invalid_range());
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let Ok(a) = first.parse::<u64>() else {
                return Ok(None);
            };
            let b = if last.is_empty() {
                size.saturating_sub(1)
            } else {
                match last.parse::<u64>() {
                    Ok(b) if b >= a => b.min(size.saturating_sub(1)),
                    _ => return Ok(None),
                }
            };
            if a >= size {
                return Err(OssError::invalid_range());
            }
            (a, b)
        }
    };
    Ok(Some(range))
}

/// Splits `[first, last]` of an object over its segments.
pub(crate) fn pieces(
    ctx: &Ctx,
    bucket: &str,
    meta: &ObjectMeta,
    first: u64,
    last: u64,
) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for segment in &meta.segments {
        let seg_start = offset;
        let seg_end = offset + segment.size; // exclusive
        offset = seg_end;
        if segment.size == 0 || seg_end <= first || seg_start > last {
            continue;
        }
        let from = first.max(seg_start) - seg_start;
        let to = (last + 1).min(seg_end) - seg_start;
        out.push(Piece {
            path: segment
                .file
                .as_deref()
                .map(|f| ctx.store.segment_path(bucket, meta, f)),
            offset: from,
            len: to - from,
        });
    }
    out
}

pub(crate) fn object_headers(response: &mut Response<crate::body::RespBody>, meta: &ObjectMeta) {
    set_header(response, "etag", &meta.etag);
    set_header(response, "x-oss-hash-crc64ecma", &meta.crc64.to_string());
    set_header(response, "x-oss-object-type", meta.object_type());
    set_header(
        response,
        "x-oss-storage-class",
        meta.attrs
            .header("x-oss-storage-class")
            .unwrap_or(STORAGE_CLASS),
    );
    for (name, value) in &meta.attrs.headers {
        if name == crate::ops_symlink::TARGET {
            // Only GetSymlink tells the target, URL-encoded.
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    if !meta.attrs.tags.is_empty() {
        set_header(
            response,
            "x-oss-tagging-count",
            &meta.attrs.tags.len().to_string(),
        );
    }
    set_header(response, "content-type", &meta.content_type);
    set_header(response, "accept-ranges", "bytes");
    set_header(response, "last-modified", &http_date(meta.last_modified));
    for (name, value) in &meta.user_meta {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
}

/// Unix seconds as an HTTP date.
pub(crate) fn http_date(unix: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    httpdate::fmt_http_date(t)
}

/// The GetObject query parameters that override a response header.
const RESPONSE_OVERRIDES: [(&str, &str); 6] = [
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

/// Smallest and largest `x-oss-traffic-limit`, in bit/s (100 KiB/s and 100 MiB/s).
const TRAFFIC_LIMIT: std::ops::RangeInclusive<u64> = 819_200..=838_860_800;

/// `x-oss-traffic-limit` (header, or query of a presigned URL) in bytes per second.
pub(crate) fn traffic_limit(req: &Req) -> Result<Option<u64>, OssError> {
    let Some(raw) = req
        .h("x-oss-traffic-limit")
        .or(req.q("x-oss-traffic-limit"))
    else {
        return Ok(None);
    };
    match raw.trim().parse::<u64>() {
        Ok(bits) if TRAFFIC_LIMIT.contains(&bits) => Ok(Some(bits / 8)),
        _ => Err(OssError::invalid_argument(
            "x-oss-traffic-limit must be between 819200 and 838860800 bit/s.",
            "x-oss-traffic-limit",
            raw,
        )),
    }
}

/// The tighter of two optional rates.
pub(crate) fn min_rate(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

pub(crate) async fn get_object(ctx: &Arc<Ctx>, req: &mut Req, head: bool) -> OpResult {
    let meta = ctx
        .store
        .head(&req.bucket, &req.key)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let meta = crate::ops_symlink::resolve(ctx, &req.bucket, meta)?;
    let limit = traffic_limit(req)?;
    if !conditions::evaluate(req, &meta, Family::Plain)? {
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        set_header(&mut response, "etag", &meta.etag);
        set_header(
            &mut response,
            "last-modified",
            &http_date(meta.last_modified),
        );
        return Ok(response);
    }
    let range = match (head, req.h("range")) {
        (false, Some(value)) => parse_range(value, meta.size)?,
        _ => None,
    };
    let (first, last, status) = match range {
        Some((a, b)) => (a, b, StatusCode::PARTIAL_CONTENT),
        None => (0, meta.size.saturating_sub(1), StatusCode::OK),
    };
    let len = if meta.size == 0 { 0 } else { last - first + 1 };
    let body = if head || len == 0 {
        empty()
    } else {
        stream_pieces(
            pieces(ctx, &req.bucket, &meta, first, last),
            min_rate(req.bandwidth, limit),
        )
    };
    let gzip = !head
        && range.is_none()
        && crate::gzip::wanted(req.h("accept-encoding"), &meta.content_type, meta.size);
    let body = if gzip {
        crate::gzip::compress(body)
    } else {
        body
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    object_headers(&mut response, &meta);
    if gzip {
        // Sent chunked: the compressed length is known only at the end.
        set_header(&mut response, "content-encoding", "gzip");
    } else {
        set_header(&mut response, "content-length", &len.to_string());
    }
    if head {
        set_header(&mut response, "content-length", &meta.size.to_string());
    }
    if range.is_some() {
        set_header(
            &mut response,
            "content-range",
            &format!("bytes {first}-{last}/{}", meta.size),
        );
    }
    if !head {
        for (param, header) in RESPONSE_OVERRIDES {
            if let Some(value) = req.q(param) {
                set_header(&mut response, header, value);
            }
        }
    }
    Ok(response)
}

pub(crate) async fn delete_object(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let store = ctx.store.clone();
    let (bucket, key) = (req.bucket.clone(), req.key.clone());
    blocking(move || store.delete_object(&bucket, &key))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// AppendObject: `POST /key?append&position=N`. The first append (position 0) creates an
/// Appendable object with the request's metadata; later ones must start at its length.
pub(crate) async fn append_object(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    check_length(req, ctx.config.limits.max_body)?;
    let raw = req.q("position").unwrap_or_default().to_owned();
    let position: u64 = raw.parse().map_err(|_| {
        OssError::invalid_argument("position must be a non-negative integer.", "position", &raw)
    })?;
    let md5 = content_md5(req)?;
    // Only the append that creates the object takes its attributes; later ones ignore them.
    let attrs = if position == 0 {
        attrs::from_request(req)?
    } else {
        Attrs::default()
    };
    let opts = stage_options(ctx, req, md5)?;
    let body = req
        .take_body()
        .ok_or_else(|| OssError::internal("body taken"))?;
    let staged = stage(body, opts).await.map_err(stage_err)?;
    let (content_type, user_meta) = user_meta(req);
    let first = ObjectMeta {
        key: req.key.clone(),
        size: 0,
        etag: String::new(),
        crc64: 0,
        multipart: false,
        content_type,
        user_meta,
        last_modified: req.now,
        blob: String::new(),
        segments: Vec::new(),
        attrs,
        appendable: true,
    };
    let store = ctx.store.clone();
    let (bucket, key, now) = (req.bucket.clone(), req.key.clone(), req.now);
    let result = blocking(move || store.append(&bucket, &key, position, staged, first, now))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let meta = match result {
        Ok(meta) => meta,
        Err(AppendReject::NotAppendable) => {
            return Err(OssError::object_not_appendable().into());
        }
        Err(AppendReject::Position(length)) => {
            return Err(OssError::position_not_equal_to_length(length).into());
        }
    };
    let mut response = Response::new(empty());
    set_header(&mut response, "etag", &meta.etag);
    set_header(
        &mut response,
        "x-oss-next-append-position",
        &meta.size.to_string(),
    );
    set_header(
        &mut response,
        "x-oss-hash-crc64ecma",
        &meta.crc64.to_string(),
    );
    for (name, value) in echo_sse(&meta.attrs) {
        set_header(&mut response, name, &value);
    }
    Ok(response)
}

/// Largest source CopyObject copies (OSS: 1 GB; larger objects are copied part by part
/// with UploadPartCopy).
const MAX_COPY_OBJECT: u64 = 1024 * 1024 * 1024;

/// Whether a `x-oss-*-directive` header asks for REPLACE (default COPY).
fn replace_directive(req: &Req, name: &'static str) -> Result<bool, OssError> {
    match req.h(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("COPY") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("REPLACE") => Ok(true),
        Some(v) => Err(OssError::invalid_argument(
            "A directive must be COPY or REPLACE.",
            name,
            v,
        )),
    }
}

/// CopyObject: a whole object of at most 1 GB, metadata and tags copied or replaced.
pub(crate) async fn copy_object(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let (src_bucket, src_key) =
        crate::ops_multipart::copy_source(req.h("x-oss-copy-source").unwrap_or_default())?;
    let replace_meta = replace_directive(req, "x-oss-metadata-directive")?;
    let replace_tags = replace_directive(req, "x-oss-tagging-directive")?;
    let requested = attrs::from_request(req)?;
    let src = ctx
        .store
        .head(&src_bucket, &src_key)
        .map_err(|e| store_err(e, &src_bucket, &src_key, "", ""))?;
    if !conditions::evaluate(req, &src, Family::CopySource)? {
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    if src.size > MAX_COPY_OBJECT {
        return Err(OssError::invalid_argument(
            "CopyObject copies objects of at most 1 GB: copy larger ones with UploadPartCopy.",
            "x-oss-copy-source",
            &src_key,
        )
        .into());
    }
    let forbid = forbid_overwrite(req);
    if forbid && ctx.store.object_exists(&req.bucket, &req.key) {
        return Err(OssError::file_already_exists("0026-00000201").into());
    }
    let pieces = if src.size == 0 {
        Vec::new()
    } else {
        pieces(ctx, &src_bucket, &src, 0, src.size - 1)
    };
    let temp = match ctx.config.storage {
        StorageMode::Disk => Some(ctx.store.temp_path()),
        StorageMode::Discard => None,
    };
    let (etag_mode, fsync) = (ctx.config.etag, ctx.config.fsync);
    let staged =
        blocking(move || crate::ops_multipart::copy_pieces(&pieces, temp, etag_mode, fsync))
            .await??;
    let (content_type, user_meta, mut attrs) = if replace_meta {
        let (content_type, meta) = user_meta(req);
        (content_type, meta, requested.clone())
    } else {
        (
            src.content_type.clone(),
            src.user_meta.clone(),
            src.attrs.clone(),
        )
    };
    attrs.tags = if replace_tags {
        requested.tags
    } else {
        src.attrs.tags.clone()
    };
    if req.h("x-oss-object-acl").is_some() {
        attrs.acl = requested.acl;
    }
    let object = ObjectMeta {
        key: req.key.clone(),
        size: staged.size,
        // A copy keeps the source's ETag, multipart or not, as OSS does.
        etag: src.etag.clone(),
        crc64: staged.crc64,
        multipart: src.multipart,
        content_type,
        user_meta,
        last_modified: req.now,
        blob: String::new(),
        segments: Vec::new(),
        attrs,
        appendable: false,
    };
    let sse = echo_sse(&object.attrs);
    let (etag, crc, modified) = (object.etag.clone(), staged.crc64, object.last_modified);
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    let result = blocking(move || store.put_object(&bucket, object, staged, forbid))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    if result.is_err() {
        return Err(OssError::file_already_exists("0026-00000201").into());
    }
    let mut out = String::from(oss_model::xml_write::DECLARATION);
    oss_model::xml_write::open(&mut out, "CopyObjectResult");
    oss_model::xml_write::element(&mut out, "ETag", &etag);
    oss_model::xml_write::element(&mut out, "LastModified", &iso_ms(modified));
    oss_model::xml_write::close(&mut out, "CopyObjectResult");
    let mut response = xml_ok(out);
    set_header(&mut response, "etag", &etag);
    set_header(&mut response, "x-oss-hash-crc64ecma", &crc.to_string());
    for (name, value) in sse {
        set_header(&mut response, name, &value);
    }
    Ok(response)
}

/// Most keys one DeleteMultipleObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

/// DeleteMultipleObjects: `<Delete><Quiet>..</Quiet><Object><Key>..</Key></Object>..</Delete>`.
/// Keys that do not exist count as deleted, as on OSS.
pub(crate) async fn delete_multiple(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let md5 = content_md5(req)?;
    let body = match req.take_body() {
        Some(body) => crate::body::read_limited(body, ctx.config.limits.max_xml_body).await?,
        None => bytes::Bytes::new(),
    };
    if let Some(expected) = md5 {
        use md5::Digest;
        if <[u8; 16]>::from(md5::Md5::digest(&body)) != expected {
            return Err(OssError::invalid_digest(false).into());
        }
    }
    let root = oss_model::xml_read::parse_root(&body, "Delete", ctx.config.limits.max_xml_body)
        .map_err(|_| OssError::malformed_xml())?;
    let quiet = root
        .bool_or_false("Quiet")
        .map_err(|_| OssError::malformed_xml())?;
    let encoded = req.url_encoding();
    let mut keys = Vec::new();
    for object in root.children("Object") {
        let raw = object.text("Key").map_err(|_| OssError::malformed_xml())?;
        let key = if encoded {
            oss_model::url_decode("Key", raw).map_err(|_| OssError::malformed_xml())?
        } else {
            raw.to_owned()
        };
        crate::addressing::validate_key(&key)?;
        if key.is_empty() {
            return Err(OssError::malformed_xml().into());
        }
        keys.push(key);
    }
    if keys.is_empty() || keys.len() > MAX_DELETE_KEYS {
        return Err(OssError::malformed_xml().into());
    }
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    let deleted = keys.clone();
    blocking(move || {
        deleted
            .iter()
            .try_for_each(|key| store.delete_object(&bucket, key))
    })
    .await?
    .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    let mut out = String::from(oss_model::xml_write::DECLARATION);
    oss_model::xml_write::open(&mut out, "DeleteResult");
    if encoded {
        oss_model::xml_write::element(&mut out, "EncodingType", "url");
    }
    if !quiet {
        for key in &keys {
            oss_model::xml_write::open(&mut out, "Deleted");
            let key = if encoded {
                url_encode(key)
            } else {
                key.clone()
            };
            oss_model::xml_write::element(&mut out, "Key", &key);
            oss_model::xml_write::close(&mut out, "Deleted");
        }
    }
    oss_model::xml_write::close(&mut out, "DeleteResult");
    Ok(xml_ok(out))
}

/// Parses a list size parameter (`max-keys`, `max-parts`, `max-uploads`): 1..=1000.
pub(crate) fn list_limit(req: &Req, name: &'static str, default: usize) -> Result<usize, OssError> {
    match req.q(name) {
        None | Some("") => Ok(default),
        Some(value) => match value.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(OssError::invalid_argument(
                format!("Argument {name} must be an integer between 1 and 1000."),
                name,
                value,
            )),
        },
    }
}

pub(crate) async fn list_objects(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let v2 = req.q("list-type") == Some("2");
    let encode = req.url_encoding();
    let prefix = req.q("prefix").unwrap_or_default().to_owned();
    let delimiter = req.q("delimiter").unwrap_or_default().to_owned();
    let max = list_limit(req, "max-keys", 100)?;
    let marker = if v2 {
        req.q("continuation-token")
            .filter(|t| !t.is_empty())
            .or(req.q("start-after"))
            .unwrap_or_default()
            .to_owned()
    } else {
        req.q("marker").unwrap_or_default().to_owned()
    };
    let all = ctx
        .store
        .list_objects(&req.bucket, &prefix, &marker, usize::MAX - 1)
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    // Resuming after a common prefix skips everything under it.
    let skip_under =
        (!delimiter.is_empty() && marker.ends_with(&delimiter) && marker.starts_with(&prefix))
            .then(|| marker.clone());
    let mut contents: Vec<&ObjectMeta> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = String::new();
    for meta in &all {
        if skip_under
            .as_deref()
            .is_some_and(|p| meta.key.starts_with(p))
        {
            continue;
        }
        let common = if delimiter.is_empty() {
            None
        } else {
            meta.key[prefix.len()..]
                .find(&delimiter)
                .map(|i| meta.key[..prefix.len() + i + delimiter.len()].to_owned())
        };
        if let Some(common) = &common
            && prefixes.last() == Some(common)
        {
            continue;
        }
        if contents.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        match common {
            Some(common) => {
                last = common.clone();
                prefixes.push(common);
            }
            None => {
                last = meta.key.clone();
                contents.push(meta);
            }
        }
    }
    let encoding_type = encode.then_some(EncodingType::Url);
    let max_keys = u32::try_from(max).unwrap_or(u32::MAX);
    let contents: Vec<ObjectSummary> = contents
        .into_iter()
        .map(|meta| {
            let mut entry = ObjectSummary::new(meta.key.clone(), meta.etag.clone(), meta.size);
            entry.last_modified = iso_ms(meta.last_modified);
            entry.object_type = meta.object_type().to_owned();
            entry.storage_class = meta
                .attrs
                .header("x-oss-storage-class")
                .unwrap_or(STORAGE_CLASS)
                .to_owned();
            entry.restore_info = meta
                .attrs
                .header(crate::ops_restore::RESTORE)
                .map(str::to_owned);
            entry
        })
        .collect();
    let xml = if v2 {
        let mut out = ListObjectsV2Output::default();
        out.name = req.bucket.clone();
        out.prefix = prefix;
        out.continuation_token = req.q("continuation-token").unwrap_or_default().to_owned();
        out.start_after = req.q("start-after").unwrap_or_default().to_owned();
        out.max_keys = max_keys;
        out.delimiter = delimiter;
        out.encoding_type = encoding_type;
        out.is_truncated = truncated;
        if truncated {
            out.next_continuation_token = last;
        }
        out.key_count = u32::try_from(contents.len() + prefixes.len()).unwrap_or(u32::MAX);
        out.contents = contents;
        out.common_prefixes = prefixes;
        out.to_xml()
    } else {
        let mut out = ListObjectsV1Output::default();
        out.name = req.bucket.clone();
        out.prefix = prefix;
        out.marker = marker;
        out.max_keys = max_keys;
        out.delimiter = delimiter;
        out.encoding_type = encoding_type;
        out.is_truncated = truncated;
        if truncated {
            out.next_marker = last;
        }
        out.contents = contents;
        out.common_prefixes = prefixes;
        out.to_xml()
    };
    Ok(xml_ok(xml))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), Some((50, 99)));
        assert_eq!(parse_range("bytes=9-1", 100).unwrap(), None);
        assert_eq!(parse_range("junk", 100).unwrap(), None);
        assert!(parse_range("bytes=100-", 100).is_err());
    }
}
