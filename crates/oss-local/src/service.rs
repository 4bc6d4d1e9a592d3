//! The request pipeline: addressing, authentication, fault injection, dispatch, and turning
//! every outcome into an OSS-shaped response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::addressing::{self, HostRules, parse_query};
use crate::auth::{SignedRequest, Verifier};
use crate::body::{RespBody, empty, full};
use crate::config::{Config, FaultOp};
use crate::error::OssError;
use crate::fault::{ConnShape, Fault, Faults};
use crate::route::{self, Level, Op};
use crate::store::Store;
use crate::{ops_attrs, ops_bucket, ops_multipart, ops_object};

/// Shared state of a running server.
pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) store: Arc<Store>,
    pub(crate) verifier: Verifier,
    pub(crate) faults: Faults,
    host_rules: HostRules,
    request_counter: AtomicU64,
    request_nonce: u32,
}

impl Ctx {
    pub(crate) fn new(config: Config, store: Arc<Store>) -> Self {
        let verifier = Verifier::new(&config);
        let faults = Faults::new(config.faults.clone());
        let host_rules = HostRules {
            suffix: config.virtual_host_suffix.clone(),
            cnames: config
                .cnames
                .iter()
                .map(|c| (c.host.to_ascii_lowercase(), c.bucket.clone()))
                .collect(),
        };
        Self {
            config,
            host_rules,
            store,
            verifier,
            faults,
            request_counter: AtomicU64::new(0),
            request_nonce: rand::random(),
        }
    }

    /// 24 upper-hex characters, unique per server run, like OSS request ids.
    fn request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:08X}{:016X}", self.request_nonce, n)
    }
}

/// The connection must be closed without an answer (fault injection or a vanished client).
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for Dropped {}

/// Outcome of an operation.
pub(crate) enum OpError {
    Oss(OssError),
    Drop,
}

impl From<OssError> for OpError {
    fn from(err: OssError) -> Self {
        Self::Oss(err)
    }
}

impl From<std::io::Error> for OpError {
    fn from(err: std::io::Error) -> Self {
        Self::Oss(err.into())
    }
}

pub(crate) type OpResult = Result<Response<RespBody>, OpError>;

/// One parsed, authenticated request handed to an operation.
pub(crate) struct Req {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Incoming>,
    pub(crate) fault: Fault,
    pub(crate) now: i64,
    pub(crate) host: String,
    pub(crate) virtual_host: bool,
    /// The body bandwidth cap of this request's connection (`--bandwidth`, slowed down on a
    /// slow connection).
    pub(crate) bandwidth: Option<u64>,
}

impl Req {
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn has_q(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }

    /// A header as text; UTF-8 values (`x-oss-meta-*: 测试`) included.
    pub(crate) fn h(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    }

    pub(crate) fn take_body(&mut self) -> Option<Incoming> {
        self.body.take()
    }

    /// `encoding-type=url` requested.
    pub(crate) fn url_encoding(&self) -> bool {
        self.q("encoding-type")
            .is_some_and(|v| v.eq_ignore_ascii_case("url"))
    }

    /// Bytes after which a DropMidBody fault cuts the connection.
    pub(crate) fn cut_after(&self) -> Option<u64> {
        (self.fault == Fault::DropMidBody).then(|| {
            let len = self
                .h("content-length")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(2);
            (len / 2).max(1)
        })
    }
}

impl Op {
    fn fault_op(self) -> Option<FaultOp> {
        Some(match self {
            Self::Initiate => FaultOp::Initiate,
            Self::UploadPart | Self::UploadPartCopy => FaultOp::UploadPart,
            Self::Complete => FaultOp::Complete,
            Self::Abort => FaultOp::Abort,
            Self::ListParts => FaultOp::ListParts,
            Self::ListUploads => FaultOp::ListUploads,
            Self::PutObject | Self::CopyObject | Self::AppendObject => FaultOp::PutObject,
            Self::GetObject => FaultOp::GetObject,
            Self::HeadObject => FaultOp::HeadObject,
            Self::DeleteObject => FaultOp::DeleteObject,
            Self::ListBuckets
            | Self::PutBucket
            | Self::DeleteBucket
            | Self::GetBucketInfo
            | Self::GetBucketLocation
            | Self::GetBucketAcl
            | Self::PutBucketAcl
            | Self::ListLiveChannels
            | Self::DeleteMultiple
            | Self::GetObjectAcl
            | Self::PutObjectAcl
            | Self::GetObjectTagging
            | Self::PutObjectTagging
            | Self::DeleteObjectTagging
            | Self::GetObjectMeta
            | Self::PutSymlink
            | Self::GetSymlink
            | Self::RestoreObject
            | Self::ListObjects => return None,
        })
    }

    fn has_body(self) -> bool {
        matches!(
            self,
            Self::UploadPart | Self::PutObject | Self::Complete | Self::AppendObject
        )
    }
}

/// Handles one HTTP request that arrived on a connection shaped `conn`.
pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    conn: ConnShape,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Dropped> {
    let request_id = ctx.request_id();
    let latency = conn.latency(ctx.config.faults.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let is_head = req.method() == Method::HEAD;
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
        .to_owned();
    let result = process(&ctx, conn, req, host.clone()).await;
    let mut response = match result {
        Ok(response) => response,
        Err(OpError::Drop) => return Err(Dropped),
        Err(OpError::Oss(err)) => error_response(&err, &request_id, &host, is_head),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-oss-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.insert(http::header::DATE, value);
    }
    headers.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
    Ok(response)
}

fn unix_seconds(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

async fn process(
    ctx: &Arc<Ctx>,
    conn: ConnShape,
    req: Request<Incoming>,
    host: String,
) -> OpResult {
    let (parts, body) = req.into_parts();
    // GET and HEAD carry no body in OSS: one a client declares anyway (`Content-Length: 9` on a
    // presigned GET) is never waited for, or the answer would hang until it came.
    let bodiless = parts.method == Method::GET || parts.method == Method::HEAD;
    let mut body = Some(body);
    let result = dispatch(ctx, conn, parts, &mut body, host).await;
    if let (Some(body), Ok(_) | Err(OpError::Oss(_))) = (body, &result) {
        // The operation answered without reading the body (an early error). Read and discard
        // a bounded amount, for a bounded time, so the client can reuse the connection; past
        // that, close it.
        let drained = if bodiless {
            hyper::body::Body::is_end_stream(&body)
        } else {
            tokio::time::timeout(DRAIN_TIME, drain(body, DRAIN_LIMIT))
                .await
                .is_ok_and(|r| r.is_ok())
        };
        if !drained {
            return result.map(close_after).map_err(|e| match e {
                OpError::Oss(err) => OpError::Oss(err.closing()),
                OpError::Drop => OpError::Drop,
            });
        }
    }
    result
}

/// Unread request bodies up to this size are discarded to keep the connection alive.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// ... and for at most this long.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

async fn drain(mut body: Incoming, limit: u64) -> Result<(), ()> {
    use http_body_util::BodyExt;
    let mut read = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ())?;
        if let Ok(data) = frame.into_data() {
            read += data.len() as u64;
            if read > limit {
                return Err(());
            }
        }
    }
    Ok(())
}

fn close_after(mut response: Response<RespBody>) -> Response<RespBody> {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn dispatch(
    ctx: &Arc<Ctx>,
    conn: ConnShape,
    parts: http::request::Parts,
    body: &mut Option<Incoming>,
    host: String,
) -> OpResult {
    let target = addressing::resolve(Some(&host), parts.uri.path(), &ctx.host_rules)?;
    let query = parse_query(parts.uri.query());
    let level = match (&target.bucket, target.key.is_empty()) {
        (None, _) => Level::Service,
        (Some(_), true) => Level::Bucket,
        (Some(_), false) => Level::Object,
    };
    let route = route::route_of(
        parts.method.as_str(),
        level,
        query.iter().map(|(n, _)| n.as_str()),
        |name| parts.headers.contains_key(name),
    );
    // OSS answers a missing bucket before it looks at credentials.
    let creates_bucket = route.as_ref().is_ok_and(|r| r.op == Op::PutBucket);
    if let Some(bucket) = &target.bucket
        && !creates_bucket
        && !ctx.store.bucket_exists(bucket)
    {
        return Err(OssError::no_such_bucket(bucket).into());
    }
    let system_now = SystemTime::now();
    let now = unix_seconds(system_now);
    let verified = ctx.verifier.verify(
        &SignedRequest {
            method: parts.method.as_str(),
            bucket: target.bucket.as_deref(),
            key: &target.key,
            raw_query: parts.uri.query().unwrap_or_default(),
            headers: &parts.headers,
            raw_path: parts.uri.path(),
        },
        system_now,
    );
    if let Err(refused) = verified {
        // An unsigned request goes through only where an ACL makes the resource public.
        let granted = crate::acl::is_anonymous(&parts.headers, &query)
            && match (&route, &target.bucket) {
                (Ok(route), Some(bucket)) => {
                    crate::acl::anonymous_allowed(ctx, route.op, bucket, &target.key)
                }
                _ => false,
            };
        if !granted {
            return Err(refused.into());
        }
    }
    // Refused before any state changes.
    let op = route?.op;
    // Only ListBuckets routes at the service level; it has no bucket.
    let bucket = target.bucket.unwrap_or_default();
    let fault = op
        .fault_op()
        .map_or(Fault::None, |f| ctx.faults.draw(f, op.has_body()));
    if let Fault::FailBefore { internal } = fault {
        return Err(injected(internal).into());
    }
    let virtual_host = target.virtual_host;
    let mut req = Req {
        bucket,
        key: target.key,
        query,
        headers: parts.headers,
        body: body.take(),
        fault,
        now,
        host,
        virtual_host,
        bandwidth: conn.bandwidth(ctx.config.faults.bandwidth),
    };
    let result = match op {
        Op::ListBuckets => ops_bucket::list_buckets(ctx, &mut req).await,
        Op::PutBucket => ops_bucket::put_bucket(ctx, &mut req).await,
        Op::DeleteBucket => ops_bucket::delete_bucket(ctx, &mut req).await,
        Op::GetBucketInfo => ops_bucket::get_bucket_info(ctx, &mut req).await,
        Op::GetBucketLocation => ops_bucket::get_bucket_location(ctx, &mut req).await,
        Op::GetBucketAcl => crate::acl::get_bucket_acl(ctx, &mut req).await,
        Op::PutBucketAcl => crate::acl::put_bucket_acl(ctx, &mut req).await,
        Op::ListLiveChannels => ops_attrs::list_live_channels(ctx, &mut req).await,
        Op::DeleteMultiple => ops_object::delete_multiple(ctx, &mut req).await,
        Op::GetObjectAcl => ops_attrs::get_acl(ctx, &mut req).await,
        Op::PutObjectAcl => ops_attrs::put_acl(ctx, &mut req).await,
        Op::PutSymlink => crate::ops_symlink::put_symlink(ctx, &mut req).await,
        Op::GetSymlink => crate::ops_symlink::get_symlink(ctx, &mut req).await,
        Op::RestoreObject => crate::ops_restore::restore_object(ctx, &mut req).await,
        Op::GetObjectTagging => ops_attrs::get_tagging(ctx, &mut req).await,
        Op::PutObjectTagging => ops_attrs::put_tagging(ctx, &mut req).await,
        Op::DeleteObjectTagging => ops_attrs::delete_tagging(ctx, &mut req).await,
        Op::GetObjectMeta => ops_attrs::get_meta(ctx, &mut req).await,
        Op::CopyObject => ops_object::copy_object(ctx, &mut req).await,
        Op::AppendObject => ops_object::append_object(ctx, &mut req).await,
        Op::ListObjects => ops_object::list_objects(ctx, &mut req).await,
        Op::PutObject => ops_object::put_object(ctx, &mut req).await,
        Op::GetObject => ops_object::get_object(ctx, &mut req, false).await,
        Op::HeadObject => ops_object::get_object(ctx, &mut req, true).await,
        Op::DeleteObject => ops_object::delete_object(ctx, &mut req).await,
        Op::Initiate => ops_multipart::initiate(ctx, &mut req).await,
        Op::UploadPart => ops_multipart::upload_part(ctx, &mut req).await,
        Op::UploadPartCopy => ops_multipart::upload_part_copy(ctx, &mut req).await,
        Op::Complete => ops_multipart::complete(ctx, &mut req).await,
        Op::Abort => ops_multipart::abort(ctx, &mut req).await,
        Op::ListParts => ops_multipart::list_parts(ctx, &mut req).await,
        Op::ListUploads => ops_multipart::list_uploads(ctx, &mut req).await,
    };
    *body = req.body.take();
    let response = result?;
    match fault {
        Fault::FailAfter { internal } => Err(injected(internal).into()),
        Fault::DropBeforeResponse | Fault::DropMidBody => Err(OpError::Drop),
        Fault::None | Fault::FailBefore { .. } => Ok(response),
    }
}

fn injected(internal: bool) -> OssError {
    if internal {
        OssError::internal("We encountered an internal error. Please try again.")
    } else {
        OssError::service_unavailable()
    }
}

/// The OSS error response: XML body (or base64 `x-oss-err` header for HEAD), `x-oss-ec`.
pub(crate) fn error_response(
    err: &OssError,
    request_id: &str,
    host: &str,
    is_head: bool,
) -> Response<RespBody> {
    let doc = err.document(request_id, host);
    let mut builder = Response::builder()
        .status(err.status())
        .header(http::header::CONTENT_TYPE, "application/xml");
    if err.close_connection {
        builder = builder.header(http::header::CONNECTION, "close");
    }
    if let Some(ec) = err.ec_value() {
        builder = builder.header("x-oss-ec", ec);
    }
    for (name, value) in &err.headers {
        builder = builder.header(*name, value.as_str());
    }
    let response = if is_head {
        builder
            .header("x-oss-err", doc.to_header_value())
            .body(empty())
    } else {
        builder.body(full(doc.to_xml()))
    };
    response.unwrap_or_else(|_| {
        let mut fallback = Response::new(empty());
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// A 200 XML response.
pub(crate) fn xml_ok(xml: String) -> Response<RespBody> {
    let mut response = Response::new(full(xml));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// Sets a header from a string, skipping values that are not valid header text.
pub(crate) fn set_header(response: &mut Response<RespBody>, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OssError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| OssError::internal("storage task failed"))
}

/// Decodes a Content-MD5 header (InvalidDigest when malformed).
pub(crate) fn content_md5(req: &Req) -> Result<Option<[u8; 16]>, OssError> {
    let Some(value) = req.h("content-md5") else {
        return Ok(None);
    };
    let bytes = B64
        .decode(value.trim())
        .map_err(|_| OssError::invalid_digest(true))?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map(Some)
        .map_err(|_| OssError::invalid_digest(true))
}

/// `x-oss-forbid-overwrite: true`.
pub(crate) fn forbid_overwrite(req: &Req) -> bool {
    req.h("x-oss-forbid-overwrite")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}
