//! Simple object and bucket operations (for verification and small objects), plus the
//! multipart primitives the upload and presign flows share.

use oss_model::ops::{
    AbortMultipartUpload, DeleteObject, GetObject, GetObjectTagging, HeadObject, HeadObjectOutput,
    PutBucket,
};
use oss_model::{Operation, ServiceError};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::client::{Client, encode_error, is_idempotent};
use crate::error::{Error, IntegrityError};
use crate::names::{bucket_name, object_key};
use crate::transport::RequestBody;

impl Client {
    /// Aborts multipart upload `upload_id` of `bucket`/`key`, deleting its parts.
    ///
    /// # Errors
    /// `NoSuchUpload` (as [`Error::Service`]) when the upload does not exist (any more).
    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), Error> {
        let op = AbortMultipartUpload::new(bucket_name(bucket)?, object_key(key)?, upload_id);
        self.send(op).await.map(|_| ())
    }

    /// The object's metadata (size, ETag, CRC-64...).
    ///
    /// # Errors
    /// `NoSuchKey` (HTTP 404) as [`Error::Service`] when absent.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<HeadObjectOutput, Error> {
        self.send(HeadObject::new(bucket_name(bucket)?, object_key(key)?))
            .await
    }

    /// The object's tags (GetObjectTagging), in the order OSS lists them.
    ///
    /// # Errors
    /// `NoSuchKey` (HTTP 404) as [`Error::Service`] when absent.
    pub async fn get_object_tagging(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<(String, String)>, Error> {
        let op = GetObjectTagging::new(bucket_name(bucket)?, object_key(key)?);
        Ok(self.send(op).await?.tags)
    }

    /// Deletes an object (deleting an absent object succeeds, as in OSS).
    ///
    /// # Errors
    /// Service and transport errors.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), Error> {
        self.send(DeleteObject::new(bucket_name(bucket)?, object_key(key)?))
            .await
            .map(|_| ())
    }

    /// Creates a bucket.
    ///
    /// # Errors
    /// `BucketAlreadyExists` and other service errors.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        self.send(PutBucket::new(bucket_name(bucket)?))
            .await
            .map(|_| ())
    }

    /// Downloads a whole object into memory. For large objects use
    /// [`get_object_to`](Self::get_object_to).
    ///
    /// # Errors
    /// Service and transport errors; [`IntegrityError::Length`] when the body is shorter or
    /// longer than announced.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.get_object_to(bucket, key, &mut out).await?;
        Ok(out)
    }

    /// Streams a whole object into `writer` (memory stays bounded by one network chunk).
    /// Returns the number of bytes written. Not retried (bytes may already have been written).
    ///
    /// # Errors
    /// Service and transport errors, writer errors ([`Error::Io`]), and
    /// [`IntegrityError::Length`] on a length mismatch.
    pub async fn get_object_to<W: AsyncWrite + Unpin + Send>(
        &self,
        bucket: &str,
        key: &str,
        writer: &mut W,
    ) -> Result<u64, Error> {
        const NAME: &str = "GetObject";
        let op = GetObject::new(bucket_name(bucket)?, object_key(key)?);
        let req = op.to_request().map_err(encode_error::<GetObject>)?;
        debug_assert!(is_idempotent(&req.method));
        let creds = self.credentials().await?;
        let time = self.signing_time();
        let request = self
            .sign_request(&req, &creds, time, None)?
            .body(RequestBody::empty())
            .map_err(|_| Error::config("request", "could not build the HTTP request"))?;
        let resp = self
            .inner
            .http
            .send(request)
            .await
            .map_err(|e| Error::transport(NAME, e, 1))?;
        let (parts, mut body) = resp.into_parts();
        if !parts.status.is_success() {
            let bytes = body
                .collect_bounded(crate::client::MAX_XML_RESPONSE)
                .await
                .map_err(|e| Error::transport(NAME, e, 1))?;
            return Err(Error::service(
                NAME,
                ServiceError::from_response(parts.status, &parts.headers, &bytes),
            ));
        }
        let expected = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut written = 0u64;
        while let Some(chunk) = body
            .chunk()
            .await
            .map_err(|e| Error::transport(NAME, e, 1))?
        {
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| Error::io("could not write the downloaded object", None, e))?;
            written += chunk.len() as u64;
        }
        writer
            .flush()
            .await
            .map_err(|e| Error::io("could not write the downloaded object", None, e))?;
        if let Some(expected) = expected.filter(|e| *e != written) {
            return Err(Error::Integrity(IntegrityError::Length {
                expected,
                actual: written,
            }));
        }
        Ok(written)
    }

    /// The object's ACL grant (GetObjectAcl): `default` (the bucket's applies), `private`,
    /// `public-read` or `public-read-write`.
    ///
    /// # Errors
    /// `NoSuchKey` (HTTP 404) as [`Error::Service`] when absent.
    pub async fn get_object_acl(&self, bucket: &str, key: &str) -> Result<String, Error> {
        let op = oss_model::ops::GetObjectAcl::new(bucket_name(bucket)?, object_key(key)?);
        Ok(self.send(op).await?.grant)
    }
}
