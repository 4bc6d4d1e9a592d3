//! Upload configuration: concurrency, retries, integrity options and failure policy.

use http::{HeaderName, HeaderValue};

use crate::error::PlanError;
use crate::request::OpKind;
use crate::retry::RetryPolicy;

/// What to do with uploaded parts when the upload fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Send AbortMultipartUpload so no storage is left behind (default).
    #[default]
    Abort,
    /// Keep the parts so the upload can be resumed. Forced when checkpointing or resuming.
    Keep,
}

/// Upload configuration. Fields are public; [`Config::validate`] runs when an upload is built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Requests in flight at once (parts, hashes), 1..=1000 (default 4). Also bounded by the
    /// plan's memory budget.
    pub max_in_flight: usize,
    /// One part at a time, in part order (overrides `max_in_flight`).
    pub sequential: bool,
    /// Retry policy of every request of the upload.
    pub retry: RetryPolicy,
    /// Ask the driver to send `Content-MD5` with each part / PUT ([`Op::UploadPart::content_md5`](crate::Op)).
    pub content_md5: bool,
    /// Policy on final failure. Forced to [`FailurePolicy::Keep`] when a checkpoint is used.
    pub on_failure: FailurePolicy,
    /// `Content-Type` sent with Initiate / PutObject (default `application/octet-stream`).
    pub content_type: String,
    /// Ask the driver, with [`Op::CheckSource`](crate::Op::CheckSource), whether the source
    /// is unchanged before its parts are combined (sources that can change, such as files).
    pub check_source: bool,
    /// Headers added to each kind of request (they win over `content_type` on a clash): what
    /// the object carries (metadata, storage class, encryption, tagging, ACL, overwrite
    /// protection, callback). The façade maps its object options here, so one table decides
    /// which header goes where.
    pub extra_headers: ExtraHeaders,
}

/// Headers added to every request of one kind (see [`Config::extra_headers`]). A
/// `x-oss-callback` among the Complete or PutObject headers makes that request's reply the
/// callback's: its body is not read as XML, and `203 CallbackFailed` counts as success (the
/// object exists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtraHeaders {
    /// On InitiateMultipartUpload.
    pub initiate: Vec<(HeaderName, HeaderValue)>,
    /// On every UploadPart.
    pub upload_part: Vec<(HeaderName, HeaderValue)>,
    /// On the single PutObject.
    pub put_object: Vec<(HeaderName, HeaderValue)>,
    /// On CompleteMultipartUpload.
    pub complete: Vec<(HeaderName, HeaderValue)>,
}

impl ExtraHeaders {
    /// The headers for requests of `kind` (none for kinds not listed above).
    pub fn for_kind(&self, kind: OpKind) -> &[(HeaderName, HeaderValue)] {
        match kind {
            OpKind::Initiate => &self.initiate,
            OpKind::UploadPart => &self.upload_part,
            OpKind::PutObject => &self.put_object,
            OpKind::Complete => &self.complete,
            _ => &[],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_in_flight: 4,
            sequential: false,
            retry: RetryPolicy::default(),
            content_md5: false,
            on_failure: FailurePolicy::Abort,
            content_type: "application/octet-stream".to_owned(),
            check_source: false,
            extra_headers: ExtraHeaders::default(),
        }
    }
}

impl Config {
    /// Checks bounds.
    ///
    /// # Errors
    /// [`PlanError::ConfigOutOfBounds`] naming the field.
    pub fn validate(&self) -> Result<(), PlanError> {
        if !(1..=1000).contains(&self.max_in_flight) {
            return Err(PlanError::ConfigOutOfBounds {
                name: "max_in_flight",
            });
        }
        if self.content_type.is_empty() || HeaderValue::from_str(&self.content_type).is_err() {
            return Err(PlanError::ConfigOutOfBounds {
                name: "content_type",
            });
        }
        Ok(())
    }

    pub(crate) fn slots(&self) -> usize {
        if self.sequential {
            1
        } else {
            self.max_in_flight
        }
    }
}
