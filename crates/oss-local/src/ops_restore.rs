//! RestoreObject: `POST /key?restore`, with an optional `RestoreRequest` body.
//!
//! oss-local keeps every object readable at once, whatever its storage class, so a restore
//! has nothing to wait for. What it does keep is OSS's bookkeeping, which clients read back:
//! only Archive, ColdArchive and DeepColdArchive objects can be restored (`400
//! OperationNotSupported` otherwise); the first request answers `202` and a repeated one `409
//! RestoreAlreadyInProgress`; `JobParameters/Tier` (Expedited, Standard, Bulk) applies to the
//! cold classes only (`MalformedXML` for Archive, `InvalidArgument` for an unknown tier) and
//! is echoed in `x-oss-object-restore-priority`. The restore state is stored with the object
//! and returned as `x-oss-restore` by HEAD/GET and as `RestoreInfo` in listings.

use std::sync::Arc;

use http::{Response, StatusCode};

use crate::body::{empty, read_limited};
use crate::error::OssError;
use crate::ops_object::store_err;
use crate::service::{Ctx, OpResult, Req, blocking, set_header};

/// The attribute (and HEAD/GET header) holding the restore state.
pub(crate) const RESTORE: &str = "x-oss-restore";
const ONGOING: &str = "ongoing-request=\"true\"";
const TIERS: [&str; 3] = ["Expedited", "Standard", "Bulk"];

/// `Some(tier)` for a body asking for one, `None` without a body or job parameters.
fn requested_tier(body: &[u8]) -> Result<Option<String>, OssError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = oss_model::xml_read::parse_root(body, "RestoreRequest", body.len())
        .map_err(|_| OssError::malformed_xml())?;
    if let Some(days) = root
        .opt_text("Days")
        .map_err(|_| OssError::malformed_xml())?
        && !days.parse::<u32>().is_ok_and(|d| (1..=365).contains(&d))
    {
        return Err(OssError::invalid_argument(
            "Days must be an integer from 1 to 365.",
            "Days",
            days,
        ));
    }
    let Some(job) = root
        .child("JobParameters")
        .map_err(|_| OssError::malformed_xml())?
    else {
        return Ok(None);
    };
    let tier = job
        .string_or_empty("Tier")
        .map_err(|_| OssError::malformed_xml())?;
    if !TIERS.contains(&tier.as_str()) {
        return Err(OssError::invalid_argument(
            "Tier must be Expedited, Standard or Bulk.",
            "Tier",
            &tier,
        ));
    }
    Ok(Some(tier))
}

pub(crate) async fn restore_object(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = ctx
        .store
        .head(&req.bucket, &req.key)
        .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let class = meta
        .attrs
        .header("x-oss-storage-class")
        .unwrap_or("Standard");
    let cold = matches!(class, "ColdArchive" | "DeepColdArchive");
    if class != "Archive" && !cold {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "OperationNotSupported",
            "The operation is not supported for this resource.",
        )
        .into());
    }
    let body = match req.take_body() {
        Some(body) => read_limited(body, ctx.config.limits.max_xml_body).await?,
        None => bytes::Bytes::new(),
    };
    let tier = requested_tier(&body)?;
    if tier.is_some() && !cold {
        // Job parameters belong to the cold classes; OSS refuses them for Archive.
        return Err(OssError::malformed_xml().into());
    }
    if meta.attrs.header(RESTORE).is_some() {
        return Err(OssError::new(
            StatusCode::CONFLICT,
            "RestoreAlreadyInProgress",
            "The restore operation is in progress.",
        )
        .into());
    }
    let store = ctx.store.clone();
    let (bucket, key) = (req.bucket.clone(), req.key.clone());
    blocking(move || {
        store.update_attrs(&bucket, &key, |attrs| {
            attrs.headers.retain(|(name, _)| name != RESTORE);
            attrs.headers.push((RESTORE.to_owned(), ONGOING.to_owned()));
        })
    })
    .await?
    .map_err(|e| store_err(e, &req.bucket, &req.key, "", ""))?;
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    if cold {
        let tier = tier.unwrap_or_else(|| "Standard".to_owned());
        set_header(&mut response, "x-oss-object-restore-priority", &tier);
    }
    Ok(response)
}
