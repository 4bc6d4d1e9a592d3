//! Object attribute operations: Put/GetObjectAcl, Put/Get/DeleteObjectTagging,
//! GetObjectMeta; and ListLiveChannel, which is always empty (oss-local has no live
//! channels: creating one is refused).

use std::sync::Arc;

use http::{Response, StatusCode};
use oss_model::xml_write::{DECLARATION, close, element, open};

use crate::attrs::{acl_header, acl_xml, parse_tagging_body, tagging_xml};
use crate::body::{empty, read_limited};
use crate::error::OssError;
use crate::ops_object::{http_date, store_err};
use crate::service::{Ctx, OpResult, Req, blocking, set_header, xml_ok};
use crate::store::{Attrs, ObjectMeta};

/// The owner every object reports: oss-local has one account.
pub(crate) const OWNER_ID: &str = "oss-local";

fn head(ctx: &Ctx, req: &Req) -> Result<ObjectMeta, OssError> {
    ctx.store
        .head(&req.bucket, &req.key)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))
}

async fn update(
    ctx: &Arc<Ctx>,
    req: &Req,
    change: impl FnOnce(&mut Attrs) + Send + 'static,
) -> Result<(), OssError> {
    let store = ctx.store.clone();
    let (bucket, key) = (req.bucket.clone(), req.key.clone());
    blocking(move || store.update_attrs(&bucket, &key, change))
        .await?
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))
}

pub(crate) async fn get_acl(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = head(ctx, req)?;
    Ok(xml_ok(acl_xml(meta.attrs.acl.as_deref(), OWNER_ID)))
}

pub(crate) async fn put_acl(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    if req.h("x-oss-object-acl").is_none() {
        return Err(OssError::invalid_argument(
            "PutObjectAcl needs the x-oss-object-acl header.",
            "x-oss-object-acl",
            "",
        )
        .into());
    }
    let acl = acl_header(req)?;
    update(ctx, req, move |attrs| attrs.acl = acl).await?;
    Ok(Response::new(empty()))
}

pub(crate) async fn get_tagging(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = head(ctx, req)?;
    Ok(xml_ok(tagging_xml(&meta.attrs.tags)))
}

pub(crate) async fn put_tagging(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    // Look the object up first: a missing key is NoSuchKey whatever the body says.
    head(ctx, req)?;
    let body = match req.take_body() {
        Some(body) => read_limited(body, ctx.config.limits.max_xml_body).await?,
        None => bytes::Bytes::new(),
    };
    let tags = parse_tagging_body(&body)?;
    update(ctx, req, move |attrs| attrs.tags = tags).await?;
    Ok(Response::new(empty()))
}

pub(crate) async fn delete_tagging(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    update(ctx, req, |attrs| attrs.tags.clear()).await?;
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// GetObjectMeta: the object's basic metadata as headers, no body.
pub(crate) async fn get_meta(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = head(ctx, req)?;
    let mut response = Response::new(empty());
    set_header(&mut response, "etag", &meta.etag);
    set_header(&mut response, "content-length", &meta.size.to_string());
    set_header(
        &mut response,
        "x-oss-hash-crc64ecma",
        &meta.crc64.to_string(),
    );
    set_header(
        &mut response,
        "last-modified",
        &http_date(meta.last_modified),
    );
    Ok(response)
}

/// ListLiveChannel: always empty, truthfully (PutLiveChannel is refused).
pub(crate) async fn list_live_channels(_ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let mut out = String::from(DECLARATION);
    open(&mut out, "ListLiveChannelResult");
    element(&mut out, "Prefix", req.q("prefix").unwrap_or_default());
    element(&mut out, "Marker", req.q("marker").unwrap_or_default());
    element(&mut out, "MaxKeys", req.q("max-keys").unwrap_or("100"));
    element(&mut out, "IsTruncated", "false");
    element(&mut out, "NextMarker", "");
    close(&mut out, "ListLiveChannelResult");
    Ok(xml_ok(out))
}
