//! Manual multipart operations (Initiate, UploadPart with a streaming body, Complete and
//! complete-all) and the single PutObject with [`ObjectOptions`], each returning a typed
//! output with the HTTP status and the request id. The callback reply of Complete and
//! PutObject is kept ([`CallbackReply`]); a `203 CallbackFailed` is a success carrying the
//! callback's error, because the object exists.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use oss_model::ops::{
    CompleteMultipartUpload, CompletedPart, InitiateMultipartUpload, PutObject, UploadPart,
};
use oss_model::{Operation, ServiceError};
use oss_transport::{Digests, FileRange};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use crate::client::{Client, RawResponse, encode_error, parse, send_collect};
use crate::error::{Error, IntegrityError};
use crate::names::{bucket_name, object_key, part_number};
use crate::options::{ObjectOptions, ObjectRequest};
use crate::transport::RequestBody;

/// What the callback server answered, passed on by OSS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackReply {
    /// The reply body, raw (OSS relays the callback server's answer; usually JSON). On a
    /// failed callback, OSS's error document.
    pub body: Bytes,
    /// `Some` when OSS answered `203 CallbackFailed`: the object was stored, but the callback
    /// server could not be reached or did not answer 200.
    pub error: Option<ServiceError>,
}

impl CallbackReply {
    /// The reply body decoded as JSON.
    ///
    /// # Errors
    /// When the body is not JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Whether the callback failed (the object exists nevertheless).
    pub fn is_failed(&self) -> bool {
        self.error.is_some()
    }

    /// Splits a successful (2xx) response of a request that carried a callback.
    pub(crate) fn from_raw(raw: &RawResponse) -> Self {
        let error = (raw.status == StatusCode::NON_AUTHORITATIVE_INFORMATION)
            .then(|| ServiceError::from_response(raw.status, &raw.headers, &raw.body));
        Self {
            body: raw.body.clone(),
            error,
        }
    }
}

/// What [`Client::initiate_upload`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitiateOutput {
    /// The new upload's id.
    pub upload_id: String,
    /// HTTP status.
    pub status: StatusCode,
    /// `x-oss-request-id`.
    pub request_id: String,
}

/// What [`Client::upload_part`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartOutput {
    /// Part number.
    pub part_number: u32,
    /// ETag, quoted, as Complete wants it.
    pub etag: String,
    /// Bytes sent.
    pub size: u64,
    /// CRC-64/XZ of the bytes sent, computed while sending and checked against OSS's.
    pub crc64: u64,
    /// HTTP status.
    pub status: StatusCode,
    /// `x-oss-request-id`.
    pub request_id: String,
}

/// What [`Client::complete_upload`] and [`Client::put_object_with`] return.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectOutput {
    /// The object's ETag (empty when a failed callback's reply did not carry it).
    pub etag: String,
    /// CRC-64 of the whole object as OSS reports it.
    pub crc64: Option<u64>,
    /// `x-oss-version-id` on versioned buckets.
    pub version_id: Option<String>,
    /// HTTP status (`203` when the callback failed).
    pub status: StatusCode,
    /// `x-oss-request-id`.
    pub request_id: String,
    /// The callback's reply, when a callback was requested.
    pub callback: Option<CallbackReply>,
}

impl ObjectOutput {
    /// Builds the output from the headers of a callback reply (its body is not XML).
    fn from_callback(raw: &RawResponse) -> Self {
        let header = |name: &str| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            etag: header("etag").unwrap_or_default(),
            crc64: header("x-oss-hash-crc64ecma").and_then(|v| v.parse().ok()),
            version_id: header("x-oss-version-id"),
            status: raw.status,
            request_id: header("x-oss-request-id").unwrap_or_default(),
            callback: Some(CallbackReply::from_raw(raw)),
        }
    }
}

/// The body of one part for [`Client::upload_part`].
#[non_exhaustive]
pub enum PartBody {
    /// Bytes in memory (resent as they are on a retry).
    Bytes(Bytes),
    /// `len` bytes of an open file from `offset`, streamed with positional reads (re-read on a
    /// retry; the file is never loaded whole).
    File {
        /// The file.
        file: Arc<std::fs::File>,
        /// First byte.
        offset: u64,
        /// Number of bytes.
        len: u64,
    },
    /// Exactly `len` bytes from a reader. A reader cannot be rewound, so this part is sent
    /// once, without retries.
    Reader {
        /// The source.
        reader: Box<dyn AsyncRead + Send + Unpin>,
        /// Number of bytes it must yield.
        len: u64,
    },
}

impl std::fmt::Debug for PartBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            Self::File { offset, len, .. } => f
                .debug_struct("File")
                .field("offset", offset)
                .field("len", len)
                .finish_non_exhaustive(),
            Self::Reader { len, .. } => f
                .debug_struct("Reader")
                .field("len", len)
                .finish_non_exhaustive(),
        }
    }
}

impl PartBody {
    /// A file range, opening `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened.
    pub fn file_range(path: impl AsRef<Path>, offset: u64, len: u64) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io("could not open the part's file", Some(path), e))?;
        Ok(Self::File {
            file: Arc::new(file),
            offset,
            len,
        })
    }

    fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::File { len, .. } | Self::Reader { len, .. } => *len,
        }
    }
}

impl Client {
    /// Starts a multipart upload with `options` (its object attributes, and `sequential`),
    /// returning the upload id.
    ///
    /// # Errors
    /// [`Error::is_usage`] for invalid options; service and transport errors.
    pub async fn initiate_upload(
        &self,
        bucket: &str,
        key: &str,
        options: &ObjectOptions,
    ) -> Result<InitiateOutput, Error> {
        let op = InitiateMultipartUpload::new(bucket_name(bucket)?, object_key(key)?);
        let mut req = op
            .to_request()
            .map_err(encode_error::<InitiateMultipartUpload>)?;
        options.apply(ObjectRequest::Initiate, &mut req)?;
        let raw = self
            .execute("InitiateMultipartUpload", &req, RequestBody::empty)
            .await?;
        let out = parse::<InitiateMultipartUpload>("InitiateMultipartUpload", &raw)?;
        Ok(InitiateOutput {
            upload_id: out.upload_id,
            status: raw.status,
            request_id: out.request_id,
        })
    }

    /// Uploads part `part_number` (1 ..= 10,000) of `upload_id` from `body`, computing its
    /// CRC-64 while sending and checking it against the one OSS reports. `options` adds the
    /// traffic limit (and `Content-MD5` when asked for, on in-memory bodies only: a streamed
    /// body would have to be read twice).
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// use oss_multipart::{ObjectOptions, PartBody};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("big.bin");
    /// std::fs::write(&path, vec![7u8; 300_000])?;
    ///
    /// let options = ObjectOptions::new().with_cache_control("no-cache");
    /// let id = client.initiate_upload("docs", "manual.bin", &options).await?.upload_id;
    /// let mut parts = Vec::new();
    /// for (n, offset) in [(1, 0), (2, 150_000)] {
    ///     let body = PartBody::file_range(&path, offset, 150_000)?;
    ///     let part = client.upload_part("docs", "manual.bin", &id, n, body, &options).await?;
    ///     parts.push((n, part.etag));
    /// }
    /// let done = client.complete_upload("docs", "manual.bin", &id, &parts, &options).await?;
    /// assert_eq!(done.status, 200);
    /// assert_eq!(client.head_object("docs", "manual.bin").await?.content_length, 300_000);
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::is_usage`] for a bad part number or options; [`IntegrityError::Crc64Mismatch`]
    /// when OSS received other bytes; service and transport errors.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
        body: PartBody,
        options: &ObjectOptions,
    ) -> Result<PartOutput, Error> {
        const NAME: &str = "UploadPart";
        let op = UploadPart::new(
            bucket_name(bucket)?,
            object_key(key)?,
            upload_id,
            part_number(part)?,
        );
        let mut req = op.to_request().map_err(encode_error::<UploadPart>)?;
        options.apply(ObjectRequest::UploadPart, &mut req)?;
        let size = body.len();
        // Each attempt computes its own digest; the one of the attempt that succeeded counts.
        let digest = std::sync::Mutex::new(None);
        let raw = match body {
            PartBody::Bytes(bytes) => {
                if options.content_md5_on(ObjectRequest::UploadPart) {
                    set_content_md5(&mut req, &bytes)?;
                }
                self.execute(NAME, &req, || {
                    digested(RequestBody::from_bytes(bytes.clone()), &digest)
                })
                .await?
            }
            PartBody::File { file, offset, len } => {
                self.execute(NAME, &req, || {
                    let range = FileRange::new(file.clone(), offset, len);
                    digested(RequestBody::file_range(range), &digest)
                })
                .await?
            }
            PartBody::Reader { reader, len } => {
                let body = RequestBody::from_stream(reader_stream(reader), Some(len));
                self.execute_once(NAME, &req, digested(body, &digest))
                    .await?
            }
        };
        let out = parse::<UploadPart>(NAME, &raw)?;
        let local = digest
            .lock()
            .ok()
            .and_then(|mut d| d.take())
            .and_then(|h: oss_transport::DigestHandle| h.result())
            .and_then(|d| d.crc64());
        let Some(local) = local else {
            return Err(Error::Integrity(IntegrityError::Length {
                expected: size,
                actual: 0,
            }));
        };
        if let Some(server) = out.crc64.filter(|s| *s != local) {
            return Err(Error::Integrity(IntegrityError::Crc64Mismatch {
                what: format!("part {part}"),
                local,
                server,
            }));
        }
        Ok(PartOutput {
            part_number: part,
            etag: out.etag,
            size,
            crc64: local,
            status: raw.status,
            request_id: out.request_id,
        })
    }

    /// Completes `upload_id` from `parts` (`(part number, ETag)`, sorted here), with the
    /// options Complete takes (ACL, forbid-overwrite, callback).
    ///
    /// # Errors
    /// [`Error::is_usage`] for bad part numbers or options; service and transport errors. A
    /// failed callback is not an error: see [`ObjectOutput::callback`].
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        let mut list = parts
            .iter()
            .map(|(n, etag)| Ok(CompletedPart::new(part_number(*n)?, etag.clone())))
            .collect::<Result<Vec<_>, Error>>()?;
        list.sort_by_key(|p| p.part_number);
        self.complete(bucket, key, upload_id, list, false, options)
            .await
    }

    /// Completes `upload_id` from every part OSS holds, in part-number order
    /// (`x-oss-complete-all: yes`): the recovery path when the local part list is lost.
    ///
    /// # Errors
    /// As [`complete_upload`](Self::complete_upload).
    pub async fn complete_upload_all(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        self.complete(bucket, key, upload_id, Vec::new(), true, options)
            .await
    }

    async fn complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        complete_all: bool,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        const NAME: &str = "CompleteMultipartUpload";
        let mut op =
            CompleteMultipartUpload::new(bucket_name(bucket)?, object_key(key)?, upload_id, parts);
        op.complete_all = complete_all;
        let mut req = op
            .to_request()
            .map_err(encode_error::<CompleteMultipartUpload>)?;
        options.apply(ObjectRequest::Complete, &mut req)?;
        let body = req.body.clone();
        let raw = self
            .execute(NAME, &req, || RequestBody::from_bytes(body.clone()))
            .await?;
        if options.has_callback() && raw.status.is_success() {
            return Ok(ObjectOutput::from_callback(&raw));
        }
        let out = parse::<CompleteMultipartUpload>(NAME, &raw)?;
        Ok(ObjectOutput {
            etag: out.etag,
            crc64: out.crc64,
            version_id: out.version_id,
            status: raw.status,
            request_id: out.request_id,
            callback: None,
        })
    }

    /// Uploads `body` as one object with a single PutObject (see
    /// [`put_object_with`](Self::put_object_with)).
    ///
    /// # Errors
    /// As [`put_object_with`](Self::put_object_with).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
    ) -> Result<ObjectOutput, Error> {
        self.put_object_with(bucket, key, body, &ObjectOptions::new())
            .await
    }

    /// Uploads `body` as one object with a single PutObject carrying `options`, and checks the
    /// CRC-64 OSS reports against the body's.
    ///
    /// # Errors
    /// [`Error::is_usage`] for invalid options; [`IntegrityError::Crc64Mismatch`]; service and
    /// transport errors. A failed callback is not an error: see [`ObjectOutput::callback`].
    pub async fn put_object_with(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        const NAME: &str = "PutObject";
        let body = body.into();
        let op = PutObject::new(bucket_name(bucket)?, object_key(key)?);
        let mut req = op.to_request().map_err(encode_error::<PutObject>)?;
        options.apply(ObjectRequest::PutObject, &mut req)?;
        if options.content_md5_on(ObjectRequest::PutObject) {
            set_content_md5(&mut req, &body)?;
        }
        let raw = self
            .execute(NAME, &req, || RequestBody::from_bytes(body.clone()))
            .await?;
        let out = if options.has_callback() && raw.status.is_success() {
            ObjectOutput::from_callback(&raw)
        } else {
            let out = parse::<PutObject>(NAME, &raw)?;
            ObjectOutput {
                etag: out.etag,
                crc64: out.crc64,
                version_id: out.version_id,
                status: raw.status,
                request_id: out.request_id,
                callback: None,
            }
        };
        let local = oss_multipart_core::crc64(&body);
        if let Some(server) = out.crc64.filter(|s| *s != local) {
            return Err(Error::Integrity(IntegrityError::Crc64Mismatch {
                what: "object".to_owned(),
                local,
                server,
            }));
        }
        Ok(out)
    }

    /// One attempt of `req`, for a body that cannot be produced twice.
    async fn execute_once(
        &self,
        operation: &'static str,
        req: &oss_model::OssRequest,
        body: RequestBody,
    ) -> Result<RawResponse, Error> {
        let request = self.signed(req, body).await?;
        send_collect(&*self.inner.http, request)
            .await
            .map_err(|e| Error::transport(operation, e, 1))
    }
}

/// The bytes of `reader` as a stream of chunks.
fn reader_stream(
    reader: Box<dyn AsyncRead + Send + Unpin>,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
        match reader.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(reader))),
            // Stop after an error: the transport reports it, nothing more is read.
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Wraps `body` so its CRC-64 is computed while it is sent, keeping the handle in `slot`.
fn digested(
    body: RequestBody,
    slot: &std::sync::Mutex<Option<oss_transport::DigestHandle>>,
) -> RequestBody {
    let (body, handle) = body.digested(Digests::Crc64);
    if let Ok(mut s) = slot.lock() {
        *s = Some(handle);
    }
    body
}

fn set_content_md5(req: &mut oss_model::OssRequest, body: &[u8]) -> Result<(), Error> {
    let value = http::HeaderValue::from_str(&oss_model::content_md5(body))
        .map_err(|_| Error::config("content-md5", "could not encode Content-MD5"))?;
    req.headers.insert(oss_model::header::CONTENT_MD5, value);
    Ok(())
}
