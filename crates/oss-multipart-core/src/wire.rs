//! Adapter to `oss-model`: builds each intent's `OssRequest` and reads answers through the
//! operation types, mapping their errors to [`UploadError`].

use http::{HeaderMap, StatusCode};
use oss_model::ops::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletedPart, HeadObject,
    InitiateMultipartUpload, ListParts, PutObject, UploadPart,
};
use oss_model::{EncodeError, Operation, OssRequest, PartNumber, ResponseError};

use crate::error::UploadError;
use crate::request::{Op, OpKind, Request};
use crate::target::Target;

/// One part listed by ListParts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedPart {
    pub(crate) part_number: u32,
    pub(crate) etag: String,
    pub(crate) size: u64,
    pub(crate) crc64: Option<u64>,
}

/// One ListParts page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListPage {
    pub(crate) parts: Vec<ListedPart>,
    pub(crate) truncated: bool,
    pub(crate) next_marker: u32,
}

fn map_err(op: OpKind, e: ResponseError) -> UploadError {
    match e {
        ResponseError::Service(error) => UploadError::Service { op, error },
        // A 2xx we cannot read: treated as transient (proxies truncate bodies).
        _ => UploadError::InvalidResponse {
            op,
            reason: "undecodable success response",
        },
    }
}

fn part_number(n: u32) -> Result<PartNumber, EncodeError> {
    PartNumber::new(n).map_err(|_| EncodeError::Conflict {
        reason: "part number out of range",
    })
}

fn initiate(req: &Request) -> InitiateMultipartUpload {
    let t = &req.target;
    let mut op = InitiateMultipartUpload::new(t.bucket_name().clone(), t.object_key().clone());
    op.attributes.content_type = Some(req.object.content_type.clone());
    op.sequential = req.object.sequential;
    op
}

fn head(t: &Target) -> HeadObject {
    HeadObject::new(t.bucket_name().clone(), t.object_key().clone())
}

/// The `OssRequest` of an intent (`None` for local work).
pub(crate) fn to_request(req: &Request) -> Result<Option<OssRequest>, EncodeError> {
    let t = &req.target;
    let (b, k) = (t.bucket_name().clone(), t.object_key().clone());
    let built = match &req.op {
        Op::Initiate => initiate(req).to_request()?,
        Op::UploadPart {
            part_number: n,
            upload_id,
            ..
        } => UploadPart::new(b, k, upload_id.clone(), part_number(*n)?).to_request()?,
        Op::PutObject { .. } => {
            let mut op = PutObject::new(b, k);
            op.attributes.content_type = Some(req.object.content_type.clone());
            op.to_request()?
        }
        Op::ListParts { upload_id, marker } => {
            let mut op = ListParts::new(b, k, upload_id.clone());
            op.max_parts = Some(crate::limits::MAX_LIST_PARTS);
            op.part_number_marker = (*marker > 0).then_some(*marker);
            op.to_request()?
        }
        Op::Complete { upload_id, parts } => {
            let parts = parts
                .iter()
                .map(|p| {
                    Ok(CompletedPart::new(
                        part_number(p.part_number)?,
                        p.etag.clone(),
                    ))
                })
                .collect::<Result<Vec<_>, EncodeError>>()?;
            CompleteMultipartUpload::new(b, k, upload_id.clone(), parts).to_request()?
        }
        Op::Abort { upload_id } => {
            AbortMultipartUpload::new(b, k, upload_id.clone()).to_request()?
        }
        Op::HeadObject => head(t).to_request()?,
        Op::HashRange { .. } | Op::CheckSource => return Ok(None),
    };
    let mut built = built;
    for (name, value) in req.object.extra.for_kind(req.op.kind()) {
        built.headers.insert(name.clone(), value.clone());
    }
    Ok(Some(built))
}

pub(crate) struct Response<'a> {
    pub(crate) status: StatusCode,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
}

pub(crate) fn parse_initiate(r: &Response<'_>) -> Result<String, UploadError> {
    let out = InitiateMultipartUpload::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::Initiate, e))?;
    if out.upload_id.is_empty() {
        return Err(UploadError::InvalidResponse {
            op: OpKind::Initiate,
            reason: "empty UploadId",
        });
    }
    Ok(out.upload_id)
}

/// ETag and CRC of an UploadPart answer.
pub(crate) fn parse_part(r: &Response<'_>) -> Result<(String, Option<u64>), UploadError> {
    let out = UploadPart::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::UploadPart, e))?;
    if out.etag.is_empty() {
        return Err(UploadError::InvalidResponse {
            op: OpKind::UploadPart,
            reason: "no ETag",
        });
    }
    Ok((out.etag, out.crc64))
}

pub(crate) fn parse_put(r: &Response<'_>) -> Result<(String, Option<u64>), UploadError> {
    let out = PutObject::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::PutObject, e))?;
    Ok((out.etag, out.crc64))
}

pub(crate) fn parse_list(r: &Response<'_>) -> Result<ListPage, UploadError> {
    let out = ListParts::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::ListParts, e))?;
    let parts = out
        .parts
        .into_iter()
        .map(|p| ListedPart {
            part_number: p.part_number.get(),
            etag: p.etag,
            size: p.size,
            crc64: p.crc64,
        })
        .collect::<Vec<_>>();
    let next_marker = if out.next_part_number_marker > 0 {
        out.next_part_number_marker
    } else {
        parts.last().map_or(0, |p| p.part_number)
    };
    Ok(ListPage {
        parts,
        truncated: out.is_truncated,
        next_marker,
    })
}

pub(crate) fn parse_complete(
    r: &Response<'_>,
    callback: bool,
) -> Result<(String, Option<u64>), UploadError> {
    if callback && r.status.is_success() {
        // The body is the callback's reply (or, with 203, its failure): the object exists
        // either way, and its ETag and CRC-64 come in headers.
        let etag = r
            .headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let crc = match r.headers.get("x-oss-hash-crc64ecma") {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|v| oss_model::crc64_from_wire(v).ok())
                    .ok_or(UploadError::InvalidResponse {
                        op: OpKind::Complete,
                        reason: "unreadable x-oss-hash-crc64ecma",
                    })?,
            ),
            None => None,
        };
        return Ok((etag, crc));
    }
    let out = CompleteMultipartUpload::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::Complete, e))?;
    Ok((out.etag, out.crc64))
}

/// Size, CRC and ETag of the object.
pub(crate) fn parse_head(r: &Response<'_>) -> Result<(u64, Option<u64>, String), UploadError> {
    let out = HeadObject::parse_response(r.status, r.headers, r.body)
        .map_err(|e| map_err(OpKind::HeadObject, e))?;
    Ok((out.content_length, out.crc64, out.etag))
}

pub(crate) fn parse_abort(r: &Response<'_>) -> Result<(), UploadError> {
    AbortMultipartUpload::parse_response(r.status, r.headers, r.body)
        .map(|_| ())
        .map_err(|e| map_err(OpKind::Abort, e))
}

/// ETags compare without quotes and case (OSS returns upper-hex, some proxies lower-case).
pub(crate) fn etag_eq(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &[u8]) -> Response<'_> {
        static EMPTY: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
        Response {
            status: StatusCode::OK,
            headers: EMPTY.get_or_init(HeaderMap::new),
            body,
        }
    }

    #[test]
    fn vectors_parse() {
        let page = parse_list(&ok(&oss_test_vectors::bytes("xml/ListPartsResult.xml"))).unwrap();
        assert_eq!(page.parts.len(), 2);
        assert!(page.truncated);
        assert_eq!(page.next_marker, 5);
        assert_eq!(page.parts[1].crc64, Some(6_571_598_172_666_981_661));
        assert!(
            parse_initiate(&ok(&oss_test_vectors::bytes(
                "xml/InitiateMultipartUploadResult.xml"
            )))
            .is_ok()
        );
        let err = |status: u16, body: &[u8]| {
            let r = Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: ok(b"").headers,
                body,
            };
            parse_abort(&r).unwrap_err()
        };
        let nsu = err(404, &oss_test_vectors::bytes("xml/Error-NoSuchUpload.xml"));
        assert!(nsu.is_no_such_upload() && !nsu.is_retryable());
        assert!(
            err(
                403,
                &oss_test_vectors::bytes("xml/Error-RequestTimeTooSkewed.xml")
            )
            .is_retryable()
        );
        assert!(!err(403, &oss_test_vectors::bytes("xml/Error-AccessDenied.xml")).is_retryable());
        assert!(err(503, b"").is_retryable());
        assert!(err(408, b"").is_retryable());
        assert!(err(429, b"").is_retryable());
    }

    #[test]
    fn etags_compare_loosely() {
        assert!(etag_eq("\"ab\"", "AB"));
        assert!(!etag_eq("\"ab\"", "\"abc\""));
    }
}
