//! The seven multipart operations.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::{Response, StatusCode};
use md5::{Digest, Md5};

use oss_model::ops::{
    CompleteMultipartUploadOutput, InitiateMultipartUploadOutput, ListMultipartUploadsOutput,
    ListPartsOutput, PartSummary, UploadPartCopyOutput, UploadSummary,
};
use oss_model::{EncodingType, PartNumber, url_encode_path};

use crate::addressing::valid_bucket;
use crate::attrs;
use crate::auth::iso_ms;
use crate::body::{fast_etag, quoted_hex, read_limited, stage};
use crate::conditions::{self, Family, etag_eq};
use crate::config::{EtagMode, StorageMode};
use crate::error::OssError;
use crate::ops_object::{
    echo_sse, list_limit, pieces, stage_err, stage_options, store_err, user_meta,
};
use crate::service::{
    Ctx, OpError, OpResult, Req, blocking, content_md5, forbid_overwrite, set_header, xml_ok,
};
use crate::store::{ObjectMeta, PartMeta, Segment, StagedBody, UploadMeta};

/// Largest part number.
const MAX_PART_NUMBER: u32 = 10_000;

/// The only storage class oss-local has.
pub(crate) const STORAGE_CLASS: &str = "Standard";

fn upload_id(req: &Req) -> String {
    req.q("uploadId").unwrap_or_default().to_owned()
}

pub(crate) async fn initiate(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    if forbid_overwrite(req) && ctx.store.object_exists(&req.bucket, &req.key) {
        return Err(OssError::file_already_exists("0042-00000214").into());
    }
    let (content_type, meta) = user_meta(req);
    let attrs = attrs::from_request(req)?;
    let upload = UploadMeta {
        id: String::new(),
        key: req.key.clone(),
        initiated: req.now,
        seq: 0,
        sequential: req.has_q("sequential"),
        content_type,
        user_meta: meta,
        attrs,
    };
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    let upload = blocking(move || store.initiate(&bucket, upload))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let mut out = InitiateMultipartUploadOutput::default();
    out.encoding_type = encoding(req);
    out.bucket = req.bucket.clone();
    out.key = req.key.clone();
    out.upload_id = upload.id;
    let mut response = xml_ok(out.to_xml());
    for (name, value) in echo_sse(&upload.attrs) {
        set_header(&mut response, name, &value);
    }
    Ok(response)
}

fn part_number(req: &Req) -> Result<u32, OssError> {
    let raw = req.q("partNumber").unwrap_or_default();
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_PART_NUMBER).contains(&n) => Ok(n),
        _ => Err(OssError::invalid_part_number(raw)),
    }
}

/// Looks the upload up and applies the sequential rule (a new part number may be at most one
/// more than the highest so far).
fn check_upload(ctx: &Ctx, req: &Req, number: u32) -> Result<UploadMeta, OssError> {
    let id = upload_id(req);
    let (meta, max) = ctx
        .store
        .upload(&req.bucket, &id)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "0017-00000244", &id))?;
    if meta.key != req.key {
        return Err(OssError::no_such_upload(&id, "0017-00000244"));
    }
    if meta.sequential && number > max.unwrap_or(0) + 1 {
        return Err(OssError::part_not_sequential());
    }
    Ok(meta)
}

fn part_response(part: &PartMeta, md5: Option<[u8; 16]>) -> Response<crate::body::RespBody> {
    let mut response = Response::new(crate::body::empty());
    set_header(&mut response, "etag", &part.etag);
    set_header(
        &mut response,
        "x-oss-hash-crc64ecma",
        &part.crc64.to_string(),
    );
    if let Some(md5) = md5 {
        set_header(&mut response, "content-md5", &B64.encode(md5));
    }
    response
}

async fn commit(
    ctx: &Arc<Ctx>,
    req: &Req,
    number: u32,
    staged: StagedBody,
) -> Result<PartMeta, OpError> {
    let store = ctx.store.clone();
    let (bucket, key, id, now) = (req.bucket.clone(), req.key.clone(), upload_id(req), req.now);
    let temp = staged.temp.clone();
    let result =
        blocking(move || store.commit_part(&bucket, &id, &key, number, staged, now)).await?;
    match result {
        Ok(part) => Ok(part),
        Err(e) => {
            if let Some(temp) = temp {
                let _ = std::fs::remove_file(temp);
            }
            Err(store_err(e, &req.bucket, &req.key, "0017-00000244", &upload_id(req)).into())
        }
    }
}

pub(crate) async fn upload_part(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let number = part_number(req)?;
    let upload = check_upload(ctx, req, number)?;
    let md5 = content_md5(req)?;
    let opts = stage_options(ctx, req, md5)?;
    let body = req
        .take_body()
        .ok_or_else(|| OssError::internal("body taken"))?;
    let staged = stage(body, opts).await.map_err(stage_err)?;
    let reply_md5 = match ctx.config.etag {
        EtagMode::Md5 => hex_md5(&staged.etag),
        _ => md5,
    };
    let part = commit(ctx, req, number, staged).await?;
    let mut response = part_response(&part, reply_md5);
    for (name, value) in echo_sse(&upload.attrs) {
        set_header(&mut response, name, &value);
    }
    Ok(response)
}

fn hex_md5(etag: &str) -> Option<[u8; 16]> {
    let bytes = hex::decode(etag.trim_matches('"')).ok()?;
    <[u8; 16]>::try_from(bytes.as_slice()).ok()
}

/// `x-oss-copy-source: /bucket/url-encoded-key[?versionId=..]`.
pub(crate) fn copy_source(value: &str) -> Result<(String, String), OssError> {
    let invalid = || {
        OssError::invalid_argument(
            "Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
            "x-oss-copy-source",
            value,
        )
    };
    let path = value.split_once('?').map_or(value, |(p, _)| p);
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = path.split_once('/').ok_or_else(invalid)?;
    let key = crate::addressing::decode_key(key)?;
    if !valid_bucket(bucket) || key.is_empty() {
        return Err(invalid());
    }
    Ok((bucket.to_owned(), key))
}

pub(crate) async fn upload_part_copy(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let number = part_number(req)?;
    let (src_bucket, src_key) = copy_source(req.h("x-oss-copy-source").unwrap_or_default())?;
    check_upload(ctx, req, number)?;
    let src = ctx
        .store
        .head(&src_bucket, &src_key)
        .map_err(|e| store_err(e, &src_bucket, &src_key, "", ""))?;
    if !conditions::evaluate(req, &src, Family::CopySource)? {
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    let (first, last) = match req.h("x-oss-copy-source-range") {
        Some(range) => parse_copy_range(range, src.size)?,
        None => (0, src.size.saturating_sub(1)),
    };
    let len = if src.size == 0 { 0 } else { last - first + 1 };
    let pieces = if len == 0 {
        Vec::new()
    } else {
        pieces(ctx, &src_bucket, &src, first, last)
    };
    let temp = match ctx.config.storage {
        StorageMode::Disk => Some(ctx.store.temp_path()),
        _ => None,
    };
    let (etag_mode, fsync) = (ctx.config.etag, ctx.config.fsync);
    let staged = blocking(move || copy_pieces(&pieces, temp, etag_mode, fsync)).await??;
    let crc = staged.crc64;
    let part = commit(ctx, req, number, staged).await?;
    let mut out = UploadPartCopyOutput::default();
    out.last_modified = iso_ms(part.last_modified);
    out.etag = part.etag.clone();
    let mut response = xml_ok(out.to_xml());
    set_header(&mut response, "etag", &part.etag);
    set_header(&mut response, "x-oss-hash-crc64ecma", &crc.to_string());
    if len > 0 {
        set_header(
            &mut response,
            "content-range",
            &format!("bytes {first}-{last}/{}", src.size),
        );
    }
    Ok(response)
}

fn parse_copy_range(value: &str, size: u64) -> Result<(u64, u64), OssError> {
    let invalid = || OssError::invalid_range().with("ArgumentValue", value);
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
    let a: u64 = a.trim().parse().map_err(|_| invalid())?;
    let b: u64 = if b.trim().is_empty() {
        size.saturating_sub(1)
    } else {
        b.trim().parse().map_err(|_| invalid())?
    };
    if a > b || b >= size {
        return Err(invalid());
    }
    Ok((a, b))
}

/// Copies byte ranges into a new temp file, checksumming as it goes (blocking).
pub(crate) fn copy_pieces(
    pieces: &[crate::body::Piece],
    temp: Option<std::path::PathBuf>,
    etag_mode: EtagMode,
    fsync: bool,
) -> std::io::Result<StagedBody> {
    let mut out = match &temp {
        Some(path) => Some(std::fs::File::create(path)?),
        None => None,
    };
    let mut md5 = Md5::new();
    let mut crc = oss_model::crc64::Crc64::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    for piece in pieces {
        let mut file = match &piece.path {
            Some(path) => {
                let mut f = std::fs::File::open(path)?;
                f.seek(SeekFrom::Start(piece.offset))?;
                Some(f)
            }
            None => None,
        };
        let mut left = piece.len;
        while left > 0 {
            let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = &mut buf[..n];
            match file.as_mut() {
                Some(f) => f.read_exact(chunk)?,
                None => chunk.fill(0),
            }
            crc.update(chunk);
            if etag_mode == EtagMode::Md5 {
                md5.update(&*chunk);
            }
            if let Some(out) = out.as_mut() {
                out.write_all(chunk)?;
            }
            left -= n as u64;
            size += n as u64;
        }
    }
    if let Some(out) = out.as_mut() {
        out.flush()?;
        if fsync {
            out.sync_all()?;
        }
    }
    let crc64 = crc.finish();
    let etag = match etag_mode {
        EtagMode::Md5 => quoted_hex(&md5.finalize()),
        _ => fast_etag(crc64, size),
    };
    Ok(StagedBody {
        temp,
        size,
        etag,
        crc64,
    })
}

/// Why Complete rejected the part list (decided under the store lock).
enum Reject {
    Oss(OssError),
}

pub(crate) async fn complete(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let id = upload_id(req);
    let complete_all = req
        .h("x-oss-complete-all")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"));
    let md5 = content_md5(req)?;
    let body = match req.take_body() {
        Some(body) => read_limited(body, ctx.config.limits.max_xml_body).await?,
        None => bytes::Bytes::new(),
    };
    if let Some(expected) = md5
        && <[u8; 16]>::from(Md5::digest(&body)) != expected
    {
        return Err(OssError::invalid_digest(false).into());
    }
    let listed: Option<Vec<(u32, String)>> = if complete_all {
        if !body.iter().all(u8::is_ascii_whitespace) {
            return Err(OssError::invalid_argument(
                "Should not speficy both complete all header and http body.",
                "x-oss-complete-all",
                "yes",
            )
            .ec("0042-00000216")
            .into());
        }
        None
    } else {
        // `oss-model` reads the body (size- and depth-bounded); a part number outside
        // 1..=10000 or a missing element makes the document invalid for OSS too.
        let parsed = oss_model::ops::CompleteMultipartUploadBody::from_xml(&body)
            .map_err(|_| OssError::malformed_xml())?;
        if parsed.parts.is_empty() {
            return Err(OssError::malformed_xml().into());
        }
        let out: Vec<(u32, String)> = parsed
            .parts
            .into_iter()
            .map(|part| (part.part_number.get(), part.etag))
            .collect();
        if out.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(OssError::invalid_part_order(&id).into());
        }
        Some(out)
    };
    let forbid = forbid_overwrite(req);
    let acl = attrs::acl_header(req)?;
    let (content_type_hdr, _) = user_meta(req);
    let explicit_type = req
        .h("content-type")
        .is_some_and(|t| t != "application/xml");
    let store = ctx.store.clone();
    let (bucket, key, now) = (req.bucket.clone(), req.key.clone(), req.now);
    let id2 = id.clone();
    let min_part = ctx.config.limits.min_part_size;
    let result = blocking(move || {
        store.complete(&bucket, &id2, &key, |upload, parts, existing| {
            select_parts(
                upload,
                parts,
                existing,
                listed.as_deref(),
                forbid,
                now,
                &id2,
                min_part,
            )
            .map(|mut meta| {
                if explicit_type {
                    meta.content_type = content_type_hdr;
                }
                if acl.is_some() {
                    meta.attrs.acl = acl;
                }
                meta
            })
        })
    })
    .await?
    .map_err(|e| store_err(e, &req.bucket, &req.key, "0042-00000002", &id))?;
    let meta = match result {
        Ok(meta) => meta,
        Err(Reject::Oss(err)) => return Err(err.into()),
    };
    let location = if req.virtual_host {
        format!("http://{}/{}", req.host, url_encode_path(&req.key))
    } else {
        format!(
            "http://{}/{}/{}",
            req.host,
            req.bucket,
            url_encode_path(&req.key)
        )
    };
    let mut out = CompleteMultipartUploadOutput::default();
    out.encoding_type = encoding(req);
    out.location = location;
    out.bucket = req.bucket.clone();
    out.key = req.key.clone();
    out.etag = meta.etag.clone();
    let mut response = xml_ok(out.to_xml());
    set_header(&mut response, "etag", &meta.etag);
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

/// `Some(Url)` when the request asked for `encoding-type=url`.
fn encoding(req: &Req) -> Option<EncodingType> {
    req.url_encoding().then_some(EncodingType::Url)
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
/// Applies every Complete rule to the stored parts and builds the object.
fn select_parts(
    upload: &UploadMeta,
    parts: &BTreeMap<u32, PartMeta>,
    existing: Option<&ObjectMeta>,
    listed: Option<&[(u32, String)]>,
    forbid: bool,
    now: i64,
    id: &str,
    min_part: u64,
) -> Result<ObjectMeta, Reject> {
    let chosen: Vec<&PartMeta> = match listed {
        None => parts.values().collect(),
        Some(listed) => {
            let mut chosen = Vec::with_capacity(listed.len());
            for (number, etag) in listed {
                match parts.get(number) {
                    Some(part) if etag_eq(etag, &part.etag) => chosen.push(part),
                    _ => return Err(Reject::Oss(OssError::invalid_part(id, *number, etag))),
                }
            }
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(Reject::Oss(OssError::invalid_part(id, 0, "")));
    }
    if upload.sequential
        && chosen
            .iter()
            .enumerate()
            .any(|(i, p)| p.number as usize != i + 1)
    {
        return Err(Reject::Oss(OssError::part_not_sequential()));
    }
    if let Some((_, init)) = chosen.split_last()
        && init.iter().any(|p| p.size < min_part)
    {
        return Err(Reject::Oss(OssError::entity_too_small()));
    }
    if forbid && existing.is_some() {
        return Err(Reject::Oss(OssError::file_already_exists("0042-00000214")));
    }
    let mut crc = oss_model::crc64::Crc64Combiner::new();
    let mut size = 0u64;
    let mut md5 = Md5::new();
    let mut segments = Vec::with_capacity(chosen.len());
    for part in &chosen {
        crc.push(part.crc64, part.size);
        size += part.size;
        match hex::decode(part.etag.trim_matches('"')) {
            Ok(bytes) => md5.update(&bytes),
            Err(_) => md5.update(part.etag.as_bytes()),
        }
        segments.push(Segment {
            file: part.file.clone(),
            size: part.size,
        });
    }
    let etag = format!("\"{}-{}\"", hex::encode_upper(md5.finalize()), chosen.len());
    Ok(ObjectMeta {
        key: upload.key.clone(),
        size,
        etag,
        crc64: crc.finish(),
        multipart: true,
        content_type: upload.content_type.clone(),
        user_meta: upload.user_meta.clone(),
        attrs: upload.attrs.clone(),
        appendable: false,
        last_modified: now,
        blob: String::new(),
        segments,
    })
}

pub(crate) async fn abort(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let id = upload_id(req);
    let store = ctx.store.clone();
    let (bucket, key, id2) = (req.bucket.clone(), req.key.clone(), id.clone());
    blocking(move || store.abort(&bucket, &id2, &key))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "0042-00000002", &id))?;
    let mut response = Response::new(crate::body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

pub(crate) async fn list_parts(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let id = upload_id(req);
    let max = list_limit(req, "max-parts", 1000)?;
    let marker = match req.q("part-number-marker") {
        None | Some("") => 0,
        Some(raw) => raw.parse::<u32>().map_err(|_| {
            OssError::invalid_argument(
                "Argument part-number-marker must be an integer.",
                "part-number-marker",
                raw,
            )
        })?,
    };
    let (upload, mut parts) = ctx
        .store
        .list_parts(&req.bucket, &id, &req.key, marker, max)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "0042-00000002", &id))?;
    let truncated = parts.len() > max;
    parts.truncate(max);
    let mut out = ListPartsOutput::default();
    out.encoding_type = encoding(req);
    out.bucket = req.bucket.clone();
    out.key = upload.key;
    out.upload_id = id;
    out.storage_class = STORAGE_CLASS.to_owned();
    out.part_number_marker = marker;
    out.next_part_number_marker = parts.last().map_or(marker, |p| p.number);
    out.max_parts = u32::try_from(max).unwrap_or(u32::MAX);
    out.is_truncated = truncated;
    for part in &parts {
        // Stored part numbers were validated on upload; a bad one is skipped, not invented.
        let Ok(number) = PartNumber::new(part.number) else {
            continue;
        };
        let mut summary = PartSummary::new(number, part.etag.clone(), part.size);
        summary.crc64 = Some(part.crc64);
        summary.last_modified = iso_ms(part.last_modified);
        out.parts.push(summary);
    }
    Ok(xml_ok(out.to_xml()))
}

pub(crate) async fn list_uploads(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let max = list_limit(req, "max-uploads", 1000)?;
    let prefix = req.q("prefix").unwrap_or_default().to_owned();
    let delimiter = req.q("delimiter").unwrap_or_default().to_owned();
    let key_marker = req.q("key-marker").unwrap_or_default().to_owned();
    let id_marker = req.q("upload-id-marker").unwrap_or_default().to_owned();
    let all = ctx
        .store
        .list_uploads(&req.bucket)
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    // Position just after (key-marker, upload-id-marker) in (key, initiation) order.
    let marker_seq = all
        .iter()
        .find(|u| u.key == key_marker && u.id == id_marker)
        .map(|u| u.seq);
    let after_marker = |u: &UploadMeta| -> bool {
        if key_marker.is_empty() && id_marker.is_empty() {
            return true;
        }
        if u.key != key_marker {
            return u.key > key_marker;
        }
        if id_marker.is_empty() {
            return false;
        }
        match marker_seq {
            Some(seq) => u.seq > seq,
            None => u.id > id_marker,
        }
    };
    let skip_under =
        (!delimiter.is_empty() && key_marker.ends_with(&delimiter)).then(|| key_marker.clone());
    let mut uploads: Vec<&UploadMeta> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut next_key = String::new();
    let mut next_id = String::new();
    for upload in all
        .iter()
        .filter(|u| u.key.starts_with(&prefix) && after_marker(u))
    {
        if skip_under
            .as_deref()
            .is_some_and(|p| upload.key.starts_with(p))
        {
            continue;
        }
        let common = if delimiter.is_empty() {
            None
        } else {
            upload.key[prefix.len()..]
                .find(&delimiter)
                .map(|i| upload.key[..prefix.len() + i + delimiter.len()].to_owned())
        };
        if let Some(common) = &common
            && prefixes.last() == Some(common)
        {
            continue;
        }
        if uploads.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        match common {
            Some(common) => {
                next_key = common.clone();
                next_id.clear();
                prefixes.push(common);
            }
            None => {
                next_key = upload.key.clone();
                next_id = upload.id.clone();
                uploads.push(upload);
            }
        }
    }
    let mut out = ListMultipartUploadsOutput::default();
    out.encoding_type = encoding(req);
    out.bucket = req.bucket.clone();
    // The last listed entry, truncated or not, as OSS answers.
    out.next_key_marker = next_key;
    out.next_upload_id_marker = next_id;
    out.key_marker = key_marker;
    out.upload_id_marker = id_marker;
    out.delimiter = delimiter;
    out.prefix = prefix;
    out.max_uploads = u32::try_from(max).unwrap_or(u32::MAX);
    out.is_truncated = truncated;
    out.uploads = uploads
        .into_iter()
        .map(|upload| {
            let mut summary = UploadSummary::new(upload.key.clone(), upload.id.clone());
            summary.storage_class = STORAGE_CLASS.to_owned();
            summary.initiated = iso_ms(upload.initiated);
            summary
        })
        .collect();
    out.common_prefixes = prefixes;
    Ok(xml_ok(out.to_xml()))
}
