//! PutSymlink and GetSymlink, and how a symlink reads.
//!
//! A symlink is stored as an empty object whose attributes carry the target key under
//! [`TARGET`] (the header OSS uses on the wire). It has its own user metadata, ACL and tags;
//! HEAD and GET of it answer with the target's bytes, size and ETag under the symlink's
//! metadata, object type `Symlink`, as OSS does. The target is looked up at read time in the
//! same bucket; a missing target is `404 SymlinkTargetNotExist`. Symlinks to symlinks are
//! not followed (OSS refuses to read through more than one level too).

use std::sync::Arc;

use http::{Response, StatusCode};
use oss_model::url_encode_path;

use crate::attrs;
use crate::body::empty;
use crate::error::OssError;
use crate::ops_object::{http_date, store_err, user_meta};
use crate::service::{Ctx, OpResult, Req, blocking, forbid_overwrite, set_header};
use crate::store::{ObjectMeta, StagedBody};

/// The attribute (and wire header) naming a symlink's target.
pub(crate) const TARGET: &str = "x-oss-symlink-target";
/// ETag of the empty body a symlink stores.
const EMPTY_ETAG: &str = "\"D41D8CD98F00B204E9800998ECF8427E\"";

/// The target key of `meta` when it is a symlink.
pub(crate) fn target_of(meta: &ObjectMeta) -> Option<&str> {
    meta.attrs.header(TARGET)
}

/// What a read of `meta` serves: the object itself, or for a symlink the target's bytes
/// under the symlink's metadata.
pub(crate) fn resolve(ctx: &Ctx, bucket: &str, meta: ObjectMeta) -> Result<ObjectMeta, OssError> {
    let Some(target) = target_of(&meta) else {
        return Ok(meta);
    };
    let found = ctx
        .store
        .head(bucket, target)
        .ok()
        .filter(|t| target_of(t).is_none());
    let Some(mut resolved) = found else {
        return Err(OssError::new(
            StatusCode::NOT_FOUND,
            "SymlinkTargetNotExist",
            "The symlink target object does not exist.",
        )
        .with("SymlinkTarget", target));
    };
    resolved.key = meta.key;
    resolved.user_meta = meta.user_meta;
    resolved.attrs = meta.attrs;
    resolved.last_modified = meta.last_modified;
    Ok(resolved)
}

/// `PUT /key?symlink` with `x-oss-symlink-target` (URL-encoded target key).
pub(crate) async fn put_symlink(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let raw = req.h(TARGET).unwrap_or_default().to_owned();
    let target = percent_encoding::percent_decode_str(&raw)
        .decode_utf8()
        .map_err(|_| OssError::invalid_argument("The symlink target is not UTF-8.", TARGET, &raw))?
        .into_owned();
    if target.is_empty() {
        return Err(OssError::invalid_argument(
            "PutSymlink needs the x-oss-symlink-target header.",
            TARGET,
            &raw,
        )
        .into());
    }
    let mut attrs = attrs::from_request(req)?;
    attrs.headers.retain(|(name, _)| name != TARGET);
    attrs.headers.push((TARGET.to_owned(), target));
    let (content_type, meta) = user_meta(req);
    let object = ObjectMeta {
        key: req.key.clone(),
        size: 0,
        etag: EMPTY_ETAG.to_owned(),
        crc64: 0,
        multipart: false,
        content_type,
        user_meta: meta,
        last_modified: req.now,
        blob: String::new(),
        segments: Vec::new(),
        attrs,
        appendable: false,
    };
    let staged = StagedBody {
        temp: None,
        size: 0,
        etag: EMPTY_ETAG.to_owned(),
        crc64: 0,
    };
    let forbid = forbid_overwrite(req);
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    let result = blocking(move || store.put_object(&bucket, object, staged, forbid))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    if result.is_err() {
        return Err(OssError::file_already_exists("0026-00000201").into());
    }
    let mut response = Response::new(empty());
    set_header(&mut response, "etag", EMPTY_ETAG);
    Ok(response)
}

/// `GET /key?symlink`: the target in `x-oss-symlink-target`, URL-encoded.
pub(crate) async fn get_symlink(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = ctx
        .store
        .head(&req.bucket, &req.key)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let Some(target) = target_of(&meta) else {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "NotSymlink",
            "The specified object is not a symlink.",
        )
        .into());
    };
    let mut response = Response::new(empty());
    set_header(
        &mut response,
        TARGET,
        &url_encode_path(target).replace('/', "%2F"),
    );
    set_header(&mut response, "etag", &meta.etag);
    set_header(
        &mut response,
        "last-modified",
        &http_date(meta.last_modified),
    );
    for (name, value) in &meta.user_meta {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
