//! Paginated listings as streams: every page is fetched lazily, as the stream is polled.

use futures::Stream;
use oss_model::ops::{ListMultipartUploads, ListParts, PartSummary, UploadSummary};

use crate::client::Client;
use crate::error::Error;
use crate::names::{bucket_name, object_key};

/// Paging state of `list_uploads`.
struct UploadsPager {
    client: Client,
    bucket: String,
    prefix: Option<String>,
    key_marker: Option<String>,
    upload_id_marker: Option<String>,
    buffer: std::vec::IntoIter<UploadSummary>,
    done: bool,
}

/// Paging state of `list_parts`.
struct PartsPager {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    marker: Option<u32>,
    buffer: std::vec::IntoIter<PartSummary>,
    done: bool,
}

impl Client {
    /// Every in-progress multipart upload in `bucket` (optionally under `prefix`), across all
    /// pages (ListMultipartUploads with key/upload-id markers). Pages are requested lazily.
    pub fn list_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
    ) -> impl Stream<Item = Result<UploadSummary, Error>> + Send + 'static {
        let state = UploadsPager {
            client: self.clone(),
            bucket: bucket.to_owned(),
            prefix: prefix.filter(|p| !p.is_empty()).map(str::to_owned),
            key_marker: None,
            upload_id_marker: None,
            buffer: Vec::new().into_iter(),
            done: false,
        };
        futures::stream::try_unfold(state, |mut s| async move {
            loop {
                if let Some(item) = s.buffer.next() {
                    return Ok(Some((item, s)));
                }
                if s.done {
                    return Ok(None);
                }
                let mut op = ListMultipartUploads::new(bucket_name(&s.bucket)?);
                op.prefix = s.prefix.clone();
                op.key_marker = s.key_marker.take();
                op.upload_id_marker = s.upload_id_marker.take();
                let out = s.client.send(op).await?;
                // A truncated page without a marker to continue from would loop forever.
                s.done = !out.is_truncated
                    || (out.next_key_marker.is_empty() && out.next_upload_id_marker.is_empty());
                s.key_marker = Some(out.next_key_marker).filter(|m| !m.is_empty());
                s.upload_id_marker = Some(out.next_upload_id_marker).filter(|m| !m.is_empty());
                s.buffer = out.uploads.into_iter();
            }
        })
    }

    /// Every part uploaded so far to `upload_id`, across all pages (ListParts with
    /// part-number markers), ascending.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Stream<Item = Result<PartSummary, Error>> + Send + 'static {
        let state = PartsPager {
            client: self.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
            marker: None,
            buffer: Vec::new().into_iter(),
            done: false,
        };
        futures::stream::try_unfold(state, |mut s| async move {
            loop {
                if let Some(item) = s.buffer.next() {
                    return Ok(Some((item, s)));
                }
                if s.done {
                    return Ok(None);
                }
                let mut op = ListParts::new(
                    bucket_name(&s.bucket)?,
                    object_key(&s.key)?,
                    s.upload_id.clone(),
                );
                op.part_number_marker = s.marker;
                let out = s.client.send(op).await?;
                let next = out.next_part_number_marker;
                // Stop on a marker that does not advance (a misbehaving server must not make
                // us loop).
                s.done = !out.is_truncated || next == 0 || s.marker.is_some_and(|m| next <= m);
                s.marker = Some(next);
                s.buffer = out.parts.into_iter();
            }
        })
    }
}
