//! [`Client`]: signs [`OssRequest`]s, sends them through the transport seam, retries idempotent
//! single requests, and decodes responses with the operation's own parser.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use oss_auth::{Credentials, ProvideCredentials, SignableRequest, Signer, V4Params};
use oss_model::{Operation, OssRequest, ResponseError};
use oss_multipart_core::{Backoff, FailedAttempt, FailureKind, classify};
use oss_transport::TransportError;
use tracing::Instrument as _;

use crate::builder::ClientBuilder;
use crate::config::{Addressing, RetryConfig, SignatureVersion};
use crate::error::{CredentialsFailure, Error, ResponseFailure};
use crate::runtime::Runtime;
use crate::skew::ClockSkew;
use crate::transport::{HttpClient, RequestBody};
use crate::url::Endpoint;

/// Largest XML/error body we buffer (ListParts with 1000 parts is ~250 KiB).
pub(crate) const MAX_XML_RESPONSE: usize = 8 * 1024 * 1024;

/// A cheap-to-clone handle to an OSS endpoint: credentials, signing, connection pool and retry
/// policy. `Client` is `Clone + Send + Sync`; share one across tasks.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oss_multipart::Error> {
/// use oss_multipart::{Addressing, Client, Credentials};
///
/// let client = Client::builder()
///     .endpoint("http://127.0.0.1:9000")
///     .region("cn-hangzhou")
///     .credentials(Credentials::new("AKID", "SECRET"))
///     .addressing(Addressing::Path)
///     .build()?;
/// let url = client.presign(http::Method::GET, "bucket", "a/key.bin", std::time::Duration::from_secs(60))?;
/// assert!(url.starts_with("http://127.0.0.1:9000/bucket/a/key.bin?"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) endpoint: Endpoint,
    pub(crate) region: Option<String>,
    pub(crate) default_bucket: Option<String>,
    pub(crate) addressing: Addressing,
    pub(crate) signature_version: SignatureVersion,
    pub(crate) credentials: Arc<dyn ProvideCredentials>,
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) retry: RetryConfig,
    pub(crate) signer: Signer,
    pub(crate) skew: ClockSkew,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials are a provider; even its Debug is left out to be safe.
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("region", &self.inner.region)
            .field("default_bucket", &self.inner.default_bucket)
            .field("addressing", &self.inner.addressing)
            .field("signature_version", &self.inner.signature_version)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// A response with its body collected (bounded).
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Whether a request may be repeated without a second effect when its outcome is unknown.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Short operation name from a type name (`oss_model::ops::UploadPart` → `UploadPart`).
pub(crate) fn op_name<O>() -> &'static str {
    let full = std::any::type_name::<O>();
    let no_generics = full.split('<').next().unwrap_or(full);
    no_generics.rsplit("::").next().unwrap_or(no_generics)
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment: `OSS_ENDPOINT`, `OSS_REGION`, `OSS_BUCKET`,
    /// `OSS_ACCESS_KEY_ID`/`OSS_ACCESS_KEY_SECRET`/`OSS_SESSION_TOKEN` (or the
    /// `ALIBABA_CLOUD_*` equivalents). See [`ClientBuilder::from_env`].
    ///
    /// # Errors
    /// [`Error::is_usage`] when the endpoint is missing or invalid.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }

    /// The endpoint requests go to (`scheme://host[:port]`), after resolution: derived from the
    /// region when only a region was configured.
    pub fn endpoint(&self) -> String {
        self.inner.endpoint.to_string()
    }

    /// The region V4 signatures are scoped to: configured, or read from a standard
    /// `oss-<region>.aliyuncs.com` endpoint. `None` only with signature V1.
    pub fn signing_region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The addressing style in use, after resolution (IP and `localhost` endpoints use path style).
    pub fn addressing(&self) -> Addressing {
        self.inner.addressing
    }

    /// The credentials provider (the default chain unless one was set); its
    /// [`source`](ProvideCredentials::source) names where the credentials came from.
    pub fn credentials_provider(&self) -> Arc<dyn ProvideCredentials> {
        Arc::clone(&self.inner.credentials)
    }

    /// The default bucket, if configured.
    pub fn default_bucket(&self) -> Option<&str> {
        self.inner.default_bucket.as_deref()
    }

    /// The request URL for a bucket/key/query, as sent on the wire.
    pub(crate) fn url(
        &self,
        bucket: Option<&str>,
        key: Option<&str>,
        query: &[(String, String)],
    ) -> String {
        self.inner
            .endpoint
            .url(self.inner.addressing, bucket, key, query)
    }

    pub(crate) async fn credentials(&self) -> Result<Credentials, Error> {
        let creds = self
            .inner
            .credentials
            .provide_credentials()
            .await
            .map_err(|source| Error::Credentials(CredentialsFailure::provider(source)))?;
        // A refreshing source never returns expired credentials; fixed ones may be stale.
        if let Some(expired) = creds
            .expiration()
            .filter(|_| creds.is_expired(self.signing_time()))
        {
            let source = self
                .inner
                .credentials
                .source()
                .unwrap_or_else(|| "the provider".to_owned());
            let message = format!(
                "the temporary credentials of access key id {} (from {source}) expired at {}; \
                 get a new STS token",
                creds.access_key_id(),
                httpdate::fmt_http_date(expired)
            );
            return Err(Error::Credentials(CredentialsFailure::provider(
                oss_auth::CredentialsError::provider(message),
            )));
        }
        Ok(creds)
    }

    /// The time to sign with: the wall clock corrected by the offset learned from a
    /// `RequestTimeTooSkewed` answer (none until then).
    pub(crate) fn signing_time(&self) -> SystemTime {
        self.inner.skew.correct(self.inner.runtime.system_time())
    }

    /// Learns the server's clock from a `RequestTimeTooSkewed` answer (see [`ClockSkew`]).
    pub(crate) fn observe_skew(&self, raw: &RawResponse) -> bool {
        self.inner.skew.observe(
            raw.status,
            &raw.headers,
            &raw.body,
            self.inner.runtime.system_time(),
        )
    }

    pub(crate) fn region(&self) -> Result<&str, Error> {
        self.inner.region.as_deref().ok_or_else(|| {
            Error::config(
                "region",
                "signature V4 needs a region (builder `.region(..)` or OSS_REGION)",
            )
        })
    }

    /// Builds the signed `http::Request` head for `req` at wall-clock `time`.
    pub(crate) fn sign_request(
        &self,
        req: &OssRequest,
        creds: &Credentials,
        time: SystemTime,
        body_len: Option<u64>,
    ) -> Result<http::request::Builder, Error> {
        let url = self.url(req.bucket.as_deref(), req.key.as_deref(), &req.query);
        let mut header_pairs: Vec<(String, String)> = Vec::with_capacity(req.headers.len() + 1);
        for (name, value) in &req.headers {
            let v = value.to_str().map_err(|_| {
                Error::config(
                    name.as_str().to_owned(),
                    "header value is not visible ASCII",
                )
            })?;
            header_pairs.push((name.as_str().to_owned(), v.to_owned()));
        }
        let headers: Vec<(&str, &str)> = header_pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let query: Vec<(&str, &str)> = req
            .query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let signable = SignableRequest::new(
            req.method.as_str(),
            req.bucket.as_deref(),
            req.key.as_deref(),
        )
        .with_query(&query)
        .with_headers(&headers);
        let signed = match self.inner.signature_version {
            SignatureVersion::V4 => {
                let params = V4Params::new(self.region()?, time);
                self.inner.signer.sign_v4_header(&signable, creds, &params)
            }
            SignatureVersion::V1 => self
                .inner
                .signer
                .sign_v1_header(&signable, creds, time, &[]),
        }
        .map_err(|e| Error::Credentials(CredentialsFailure::sign(e)))?;
        let mut builder = http::Request::builder().method(req.method.clone()).uri(url);
        let mut all = req.headers.clone();
        for (name, value) in &signed.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config("header", "signer produced an invalid header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::config("header", "signer produced an invalid header value"))?;
            all.insert(name, value);
        }
        if let Some(len) = body_len {
            all.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        if let Some(h) = builder.headers_mut() {
            *h = all;
        }
        Ok(builder)
    }

    /// Executes `req` with retries, collecting the (bounded) body.
    ///
    /// `body` makes a fresh body for each attempt (bodies are consumed by a send). What is
    /// retried is [`classify`]'s decision (the generated error table for OSS errors, the
    /// failure kind for transport errors), how often and how long to wait is the core's
    /// [`Backoff`] under this client's [`RetryConfig`]. A transport failure is retried only
    /// when repeating it is safe: the method is idempotent or the body never fully left (the
    /// server cannot have acted on it).
    pub(crate) async fn execute(
        &self,
        operation: &'static str,
        req: &OssRequest,
        mut body: impl FnMut() -> RequestBody,
    ) -> Result<RawResponse, Error> {
        let span = tracing::debug_span!(
            "oss_request",
            op = operation,
            method = %req.method,
            bucket = req.bucket.as_deref().unwrap_or(""),
            key = req.key.as_deref().unwrap_or(""),
        );
        async move {
            let rt = &self.inner.runtime;
            let first_attempt = rt.now();
            let mut backoff = Backoff::new(self.inner.retry.policy(), seed(rt.system_time()));
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                let sent = rt.now();
                let outcome = self.attempt(req, body()).await?;
                log_attempt(&outcome, attempt, rt.now().saturating_duration_since(sent));
                let retry = match &outcome {
                    Ok(raw) if raw.status.is_success() => None,
                    Ok(raw) => {
                        let err = oss_model::ServiceError::from_response(
                            raw.status,
                            &raw.headers,
                            &raw.body,
                        );
                        classify(FailedAttempt::Service(&err))
                            .is_retryable()
                            .then(|| format!("{} {}", raw.status.as_u16(), err.code()))
                    }
                    Err(e) => {
                        let safe = is_idempotent(&req.method) || !e.body_fully_sent();
                        let kind = failure_kind(e);
                        (safe && classify(FailedAttempt::Transport(kind)).is_retryable())
                            .then(|| e.to_string())
                    }
                };
                let delay = match retry {
                    Some(_) => backoff.next_delay(attempt, first_attempt, rt.now()),
                    None => None,
                };
                let Some(delay) = delay else {
                    // Hand an error answer to the operation's parser, which owns error decoding.
                    return outcome.map_err(|e| Error::transport(operation, e, attempt));
                };
                tracing::debug!(attempt, ?delay, reason = retry.as_deref(), "retrying");
                rt.sleep_until(rt.now() + delay).await;
            }
        }
        .instrument(span)
        .await
    }

    /// Signs and sends one attempt, collecting the (bounded) answer. The outer error is ours
    /// (credentials, signing: not retried), the inner one the transport's.
    async fn attempt(
        &self,
        req: &OssRequest,
        body: RequestBody,
    ) -> Result<Result<RawResponse, TransportError>, Error> {
        let request = self.signed(req, body).await?;
        let raw = send_collect(&*self.inner.http, request).await;
        // A skewed clock is corrected here, so that a retry signs with the right time.
        if let Ok(raw) = &raw {
            self.observe_skew(raw);
        }
        Ok(raw)
    }

    /// `req` with `body`, signed with the current credentials at the runtime's wall-clock
    /// time: what every request sent by this crate goes through.
    pub(crate) async fn signed(
        &self,
        req: &OssRequest,
        body: RequestBody,
    ) -> Result<http::Request<RequestBody>, Error> {
        let creds = self.credentials().await?;
        let time = self.signing_time();
        self.sign_request(req, &creds, time, body.len())?
            .body(body)
            .map_err(|_| Error::config("request", "could not build the HTTP request"))
    }

    /// Sends one operation and decodes its output: each of the multipart operations (and the
    /// simple object operations) of [`oss_model::ops`] can be called this way.
    ///
    /// Bodies: the operation's own body (Complete's XML) is sent; operations whose payload is
    /// streamed (`UploadPart`, `PutObject`) get an empty body here, use
    /// [`send_with_body`](Self::send_with_body) for them.
    ///
    /// Retries follow the client's [`RetryConfig`]; see [`Error::is_retryable`].
    ///
    /// # Errors
    /// [`Error::Service`] with the OSS error document, [`Error::Transport`],
    /// [`Error::Response`] for undecodable answers, [`Error::Config`] for invalid input.
    pub async fn send<O: Operation>(&self, op: O) -> Result<O::Output, Error> {
        let req = op.to_request().map_err(|e| encode_error::<O>(e))?;
        let body = req.body.clone();
        self.send_prepared::<O>(&req, move || RequestBody::from_bytes(body.clone()))
            .await
    }

    /// Like [`send`](Self::send) with an explicit payload (`UploadPart`, `PutObject`), taken
    /// from `body` (a `Bytes` clone per attempt, so retries resend it).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_with_body<O: Operation>(
        &self,
        op: O,
        body: Bytes,
    ) -> Result<O::Output, Error> {
        let req = op.to_request().map_err(|e| encode_error::<O>(e))?;
        self.send_prepared::<O>(&req, move || RequestBody::from_bytes(body.clone()))
            .await
    }

    /// Sends `req` (built by an `O`, then adjusted) and reads the answer with `O`'s parser.
    pub(crate) async fn send_prepared<O: Operation>(
        &self,
        req: &OssRequest,
        body: impl FnMut() -> RequestBody,
    ) -> Result<O::Output, Error> {
        let name = op_name::<O>();
        let raw = self.execute(name, req, body).await?;
        parse::<O>(name, &raw)
    }
}

/// Sends `request` and collects its answer (bounded by [`MAX_XML_RESPONSE`]).
pub(crate) async fn send_collect(
    http: &dyn HttpClient,
    request: http::Request<RequestBody>,
) -> Result<RawResponse, TransportError> {
    let (parts, body) = http.send(request).await?.into_parts();
    let body = body.collect_bounded(MAX_XML_RESPONSE).await?;
    Ok(RawResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Decodes `raw` with the parser of operation `O`, mapping errors to ours.
pub(crate) fn parse<O: Operation>(
    name: &'static str,
    raw: &RawResponse,
) -> Result<O::Output, Error> {
    O::parse_response(raw.status, &raw.headers, &raw.body).map_err(|e| match e {
        ResponseError::Service(s) => Error::service(name, s),
        ResponseError::Decode(d) => Error::Response(ResponseFailure {
            operation: name,
            what: "could not decode the response",
            source: Some(Box::new(d)),
        }),
        other => Error::Response(ResponseFailure {
            operation: name,
            what: "unexpected response",
            source: Some(Box::new(other)),
        }),
    })
}

pub(crate) fn encode_error<O>(e: oss_model::EncodeError) -> Error {
    Error::Config(crate::error::ConfigError::invalid(
        op_name::<O>(),
        e.to_string(),
    ))
}

/// The jitter seed of one request or upload: the wall clock (injected through the runtime)
/// and the process id, enough to decorrelate clients retrying together. Not security sensitive.
pub(crate) fn seed(now: SystemTime) -> u64 {
    let n = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (n as u64) ^ ((n >> 64) as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// How a transport error counts for [`classify`]: the one mapping from the transport's
/// predicates to the core's [`FailureKind`].
pub(crate) fn failure_kind(e: &TransportError) -> FailureKind {
    if e.is_body() {
        FailureKind::SourceRead
    } else if e.is_connect() {
        FailureKind::Connect
    } else if e.is_timeout() {
        FailureKind::Timeout
    } else if e.is_io() {
        FailureKind::ConnectionReset
    } else {
        FailureKind::Other
    }
}

/// One debug event per attempt, inside the request's span (operation, method, bucket, key;
/// the upload driver numbers its own attempts, so it passes 1):
/// status, request id and time, or the transport failure. Headers and signatures are never
/// logged, so no secret reaches the log.
pub(crate) fn log_attempt(
    outcome: &Result<RawResponse, TransportError>,
    attempt: u32,
    elapsed: std::time::Duration,
) {
    let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(raw) => {
            let request_id = raw
                .headers
                .get("x-oss-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::debug!(
                status = raw.status.as_u16(),
                request_id,
                millis,
                attempt,
                "response"
            );
        }
        Err(e) => tracing::debug!(error = %e, millis, attempt, "transport failure"),
    }
}
