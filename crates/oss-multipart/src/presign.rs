//! Presigned URLs and the presigned multipart flow: the client (with credentials) initiates an
//! upload and hands out a manifest of presigned UploadPart URLs plus a presigned Complete, so
//! another machine or a browser can upload without credentials.

use std::time::{Duration, UNIX_EPOCH};

use futures::FutureExt as _;
use http::Method;
use oss_auth::{Credentials, SignableRequest, V4Params};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::config::SignatureVersion;
use crate::error::{CredentialsFailure, Error};
use crate::options::{ObjectOptions, ObjectRequest};

/// One presigned HTTP request: send `method` to `url` with exactly `headers` (they are part of
/// the signature) and the documented body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PresignedRequest {
    /// HTTP method.
    pub method: String,
    /// The full URL, signature included.
    pub url: String,
    /// Headers the sender must add (signed).
    pub headers: Vec<(String, String)>,
}

/// A presigned UploadPart: `PUT` bytes `offset..offset+len` of the source to `url`, keep the
/// `ETag` response header for the Complete body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PresignedPart {
    /// Part number (1-based).
    pub part_number: u32,
    /// First byte of the part in the source.
    pub offset: u64,
    /// Length of the part.
    pub len: u64,
    /// The presigned `PUT` URL.
    pub url: String,
    /// Headers the sender must add (signed), e.g. `x-oss-traffic-limit`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// A manifest for uploading one object without credentials (see
/// [`Client::presign_upload`]). Serialise it (serde) and send it to the uploader.
///
/// The uploader:
/// 1. `PUT`s each part's byte range to its URL (any order, in parallel), keeping the `ETag`
///    response header of each;
/// 2. `POST`s [`complete_body`](Self::complete_body) (the part numbers and ETags) to
///    [`complete`](Self::complete)`.url`;
/// 3. or, to give up, sends [`abort`](Self::abort).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PresignedUpload {
    /// Bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// The multipart upload id (already initiated).
    pub upload_id: String,
    /// Total size in bytes.
    pub size: u64,
    /// Part size (the last part may be shorter).
    pub part_size: u64,
    /// When every URL stops working, Unix seconds.
    pub expires_at: u64,
    /// One presigned URL per part, in part order.
    pub parts: Vec<PresignedPart>,
    /// Presigned CompleteMultipartUpload (`POST`, XML body listing the parts).
    pub complete: PresignedRequest,
    /// Presigned AbortMultipartUpload (`DELETE`, no body).
    pub abort: PresignedRequest,
}

impl PresignedUpload {
    /// The CompleteMultipartUpload XML body for `(part_number, etag)` pairs (ETags as the part
    /// responses returned them, quotes included). Pairs are sorted by part number here.
    pub fn complete_body(parts: &[(u32, String)]) -> String {
        let mut parts = parts.to_vec();
        parts.sort_by_key(|(n, _)| *n);
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (n, etag) in parts {
            xml.push_str("<Part><PartNumber>");
            xml.push_str(&n.to_string());
            xml.push_str("</PartNumber><ETag>");
            xml.push_str(&xml_escape(&etag));
            xml.push_str("</ETag></Part>");
        }
        xml.push_str("</CompleteMultipartUpload>");
        xml
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl Client {
    /// A presigned URL for `method` on `bucket`/`key`, valid for `expires` (V4: 1 s ..= 7 days),
    /// signed at the runtime's current wall-clock time.
    ///
    /// Synchronous: works with credentials that are immediately available (fixed credentials,
    /// environment). With an asynchronous provider that must fetch first, use
    /// [`presign_async`](Self::presign_async).
    ///
    /// # Errors
    /// [`Error::is_usage`] for an out-of-range expiry; [`Error::Credentials`] when no
    /// credentials are ready.
    pub fn presign(
        &self,
        method: Method,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, Error> {
        let creds = self.ready_credentials()?;
        self.presign_with(&creds, &method, bucket, Some(key), &[], &[], expires)
    }

    /// Presigns any operation of [`oss_model::ops`] (e.g. an `UploadPart`, or a
    /// `CompleteMultipartUpload` with `complete_all`): the URL carries the operation's query,
    /// and [`PresignedRequest::headers`] lists the operation's headers, which are signed and
    /// must be sent by whoever uses the URL. Credentials must be ready at once, as for
    /// [`presign`](Self::presign).
    ///
    /// # Errors
    /// As [`presign`](Self::presign); [`Error::is_usage`] when the operation cannot be encoded.
    pub fn presign_op<O: oss_model::Operation>(
        &self,
        op: &O,
        expires: Duration,
    ) -> Result<PresignedRequest, Error> {
        let req = op.to_request().map_err(crate::client::encode_error::<O>)?;
        let creds = self.ready_credentials()?;
        let mut headers = Vec::with_capacity(req.headers.len());
        for (name, value) in &req.headers {
            let v = value.to_str().map_err(|_| {
                Error::config(
                    name.as_str().to_owned(),
                    "header value is not visible ASCII",
                )
            })?;
            headers.push((name.as_str().to_owned(), v.to_owned()));
        }
        let bucket = req.bucket.as_deref().ok_or_else(|| {
            Error::config("bucket", "service-level requests cannot be presigned here")
        })?;
        let url = self.presign_with(
            &creds,
            &req.method,
            bucket,
            req.key.as_deref(),
            &req.query,
            &headers,
            expires,
        )?;
        Ok(PresignedRequest {
            method: req.method.as_str().to_owned(),
            url,
            headers,
        })
    }

    fn ready_credentials(&self) -> Result<Credentials, Error> {
        self.inner
            .credentials
            .provide_credentials()
            .now_or_never()
            .ok_or_else(|| {
                Error::config(
                    "credentials",
                    "the credentials provider is asynchronous: use presign_async",
                )
            })?
            .map_err(|e| Error::Credentials(CredentialsFailure::provider(e)))
    }

    /// [`presign`](Self::presign) for asynchronous credential providers.
    ///
    /// # Errors
    /// As [`presign`](Self::presign).
    pub async fn presign_async(
        &self,
        method: Method,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, Error> {
        let creds = self.credentials().await?;
        self.presign_with(&creds, &method, bucket, Some(key), &[], &[], expires)
    }

    /// Presigns any request: decoded `query` pairs (kept in the URL and signed) and `headers`
    /// the user of the URL must send.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn presign_with(
        &self,
        creds: &Credentials,
        method: &Method,
        bucket: &str,
        key: Option<&str>,
        query: &[(String, String)],
        headers: &[(String, String)],
        expires: Duration,
    ) -> Result<String, Error> {
        let q: Vec<(&str, &str)> = query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = SignableRequest::new(method.as_str(), Some(bucket), key)
            .with_query(&q)
            .with_headers(&h);
        let time = self.signing_time();
        let signed = match self.inner.signature_version {
            SignatureVersion::V4 => {
                let params = V4Params::new(self.region()?, time);
                self.inner.signer.presign_v4(&req, creds, &params, expires)
            }
            SignatureVersion::V1 => {
                let at = time.checked_add(expires).unwrap_or(time);
                self.inner.signer.presign_v1(&req, creds, at, &[])
            }
        }
        .map_err(|e| match e {
            oss_auth::SignError::InvalidExpiry { .. } => {
                Error::config("expires", "presign expiry must be between 1 s and 7 days")
            }
            other => Error::Credentials(CredentialsFailure::sign(other)),
        })?;
        let mut url = self.url(Some(bucket), key, query);
        url.push(if query.is_empty() { '?' } else { '&' });
        url.push_str(&signed.to_query_string());
        Ok(url)
    }

    /// Initiates a multipart upload of `size` bytes to `bucket`/`key` and presigns everything
    /// a credential-less uploader needs: one `PUT` URL per `part_size` slice, the Complete and
    /// the Abort. All URLs expire after `expires` (V4: at most 7 days).
    ///
    /// The uploader needs nothing but an HTTP client:
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt as _, Full};
    /// use oss_multipart::PresignedUpload;
    ///
    /// let data = Bytes::from(vec![42u8; 250_000]);
    /// // With credentials: initiate and presign (the manifest is serde-serialisable).
    /// let manifest = client
    ///     .presign_upload("docs", "from-browser.bin", 250_000, 102_400, std::time::Duration::from_secs(900))
    ///     .await?;
    ///
    /// // Without credentials: a plain HTTP client PUTs each range, then POSTs the part list.
    /// let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
    ///     .build_http::<Full<Bytes>>();
    /// let mut etags = Vec::new();
    /// for part in &manifest.parts {
    ///     let range = part.offset as usize..(part.offset + part.len) as usize;
    ///     let req = http::Request::put(&part.url).body(Full::new(data.slice(range)))?;
    ///     let resp = http.request(req).await?;
    ///     assert_eq!(resp.status(), 200);
    ///     etags.push((part.part_number, resp.headers()["etag"].to_str()?.to_owned()));
    /// }
    /// let body = PresignedUpload::complete_body(&etags);
    /// let req = http::Request::post(&manifest.complete.url).body(Full::new(Bytes::from(body)))?;
    /// let resp = http.request(req).await?;
    /// assert_eq!(resp.status(), 200);
    /// let _ = resp.into_body().collect().await?;
    ///
    /// assert_eq!(client.get_object("docs", "from-browser.bin").await?, data);
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::is_usage`] for a part size or count outside OSS limits (100 KiB ..= 5 GiB,
    /// at most 10,000 parts) or an invalid expiry; errors of InitiateMultipartUpload.
    pub async fn presign_upload(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        part_size: u64,
        expires: Duration,
    ) -> Result<PresignedUpload, Error> {
        self.presign_upload_with(bucket, key, size, part_size, expires, &ObjectOptions::new())
            .await
    }

    /// [`presign_upload`](Self::presign_upload) with object options: the Initiate carries the
    /// object's attributes (content headers, metadata, tags, storage class, encryption,
    /// `sequential`); each part URL and the Complete are signed with the headers OSS takes
    /// there (traffic limit; ACL, forbid-overwrite, callback), listed in the manifest for the
    /// uploader to send.
    ///
    /// # Errors
    /// As [`presign_upload`](Self::presign_upload), and [`Error::is_usage`] for invalid
    /// options (including `content_md5`, which a manifest cannot carry: the uploader computes
    /// it).
    pub async fn presign_upload_with(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        part_size: u64,
        expires: Duration,
        options: &ObjectOptions,
    ) -> Result<PresignedUpload, Error> {
        let ranges = plan_ranges(size, part_size)?;
        options.validate()?;
        if options.content_md5 {
            return Err(Error::config(
                "content-md5",
                "a presigned manifest cannot carry Content-MD5: the uploader must compute it",
            ));
        }
        let part_headers = header_strings(options.headers(ObjectRequest::UploadPart)?);
        let complete_headers = header_strings(options.headers(ObjectRequest::Complete)?);
        if expires.is_zero() || expires > oss_auth::MAX_PRESIGN_EXPIRY {
            return Err(Error::config(
                "expires",
                "presign expiry must be between 1 s and 7 days",
            ));
        }
        let upload_id = self.initiate_upload(bucket, key, options).await?.upload_id;
        let creds = self.credentials().await?;
        let id_q = ("uploadId".to_owned(), upload_id.clone());
        let mut parts = Vec::with_capacity(ranges.len());
        for (i, (offset, len)) in ranges.into_iter().enumerate() {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let q = vec![("partNumber".to_owned(), n.to_string()), id_q.clone()];
            let url = self.presign_with(
                &creds,
                &Method::PUT,
                bucket,
                Some(key),
                &q,
                &part_headers,
                expires,
            )?;
            parts.push(PresignedPart {
                part_number: n,
                offset,
                len,
                url,
                headers: part_headers.clone(),
            });
        }
        let q = vec![id_q];
        let complete_url = self.presign_with(
            &creds,
            &Method::POST,
            bucket,
            Some(key),
            &q,
            &complete_headers,
            expires,
        )?;
        let abort_url =
            self.presign_with(&creds, &Method::DELETE, bucket, Some(key), &q, &[], expires)?;
        let now = self
            .signing_time()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Ok(PresignedUpload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id,
            size,
            part_size,
            expires_at: (now + expires).as_secs(),
            parts,
            complete: PresignedRequest {
                method: "POST".to_owned(),
                url: complete_url,
                headers: complete_headers,
            },
            abort: PresignedRequest {
                method: "DELETE".to_owned(),
                url: abort_url,
                headers: Vec::new(),
            },
        })
    }
}

/// Header pairs as the strings a manifest carries (values are visible ASCII once validated).
fn header_strings(headers: Vec<(http::HeaderName, http::HeaderValue)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `(offset, len)` of each part of a `size`-byte object cut in `part_size` slices, validated
/// against OSS limits. An empty object is one empty part.
pub(crate) fn plan_ranges(size: u64, part_size: u64) -> Result<Vec<(u64, u64)>, Error> {
    if !(oss_model::limits::MIN_PART_SIZE..=oss_model::limits::MAX_PART_SIZE).contains(&part_size) {
        return Err(Error::config(
            "part_size",
            "part size must be between 100 KiB (102400 B) and 5 GiB",
        ));
    }
    let count = size.div_ceil(part_size).max(1);
    if count > u64::from(oss_model::limits::MAX_PART_COUNT) {
        return Err(Error::config(
            "part_size",
            "too many parts (more than 10000): increase the part size",
        ));
    }
    Ok((0..count)
        .map(|i| {
            let off = i * part_size;
            (off, part_size.min(size - off))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_object() {
        let r = plan_ranges(250_000, 102_400).unwrap();
        assert_eq!(r, vec![(0, 102_400), (102_400, 102_400), (204_800, 45_200)]);
        assert_eq!(plan_ranges(0, 102_400).unwrap(), vec![(0, 0)]);
        assert!(plan_ranges(10, 1).is_err());
        assert!(plan_ranges(102_400 * 10_001, 102_400).is_err());
    }

    #[test]
    fn complete_body_sorts_and_escapes() {
        let xml = PresignedUpload::complete_body(&[(2, "\"B\"".into()), (1, "\"A\"".into())]);
        assert_eq!(
            xml,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;A&quot;</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&quot;B&quot;</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
