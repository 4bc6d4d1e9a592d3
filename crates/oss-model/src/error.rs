//! The model's error types: one per direction (encode a request, decode a body) plus the
//! combined [`ResponseError`] an [`Operation`](crate::Operation) returns.

use crate::ServiceError;

/// A value we were asked to send is not valid for OSS; nothing was produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A validated name (part number, key, bucket) was rejected.
    #[error("invalid input")]
    Invalid(#[source] ValidationError),
    /// A numeric parameter is outside the range OSS accepts.
    #[error("parameter `{name}` = {value} is outside {min}..={max}")]
    OutOfRange {
        /// Wire name of the parameter (e.g. `max-parts`).
        name: &'static str,
        /// The rejected value.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A header value contains bytes HTTP cannot carry (control characters, non-visible ASCII).
    #[error("value for header `{name}` cannot be sent as an HTTP header")]
    InvalidHeaderValue {
        /// The header name (the value is not repeated: it may be sensitive).
        name: String,
    },
    /// Two inputs contradict each other (e.g. `complete_all` with an explicit part list).
    #[error("conflicting inputs: {reason}")]
    Conflict {
        /// What conflicts.
        reason: &'static str,
    },
}

impl From<ValidationError> for EncodeError {
    fn from(err: ValidationError) -> Self {
        Self::Invalid(err)
    }
}

/// A name or number failed OSS's validation rules (see [`crate::limits`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Part numbers are 1..=10000.
    #[error("part number {value} is outside 1..=10000")]
    PartNumber {
        /// The rejected value.
        value: u64,
    },
    /// Object keys are 1..=1023 bytes of UTF-8 and do not start with `/` or `\`.
    #[error("invalid object key: {reason}")]
    ObjectKey {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// Bucket names are 3..=63 characters of `[a-z0-9-]`, not starting or ending with `-`.
    #[error("invalid bucket name: {reason}")]
    BucketName {
        /// Which rule was broken.
        reason: &'static str,
    },
}

/// A body or header from OSS (or, on a server, from a client) could not be decoded.
///
/// Every hostile input maps to one of these variants; decoding never panics and never reads
/// more than [`crate::limits::MAX_XML_BODY`] bytes or nests deeper than
/// [`crate::limits::MAX_XML_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is larger than the limit for its kind.
    #[error("body of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Length of the body.
        len: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// The body is not UTF-8.
    #[error("body is not valid UTF-8")]
    InvalidUtf8,
    /// The document declares a DTD; we refuse it (entity expansion attacks).
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// Elements nest deeper than any OSS document does.
    #[error("XML nesting deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// Not well-formed XML (truncated, mismatched tags, bad escapes, ...).
    #[error("malformed XML: {message}")]
    Malformed {
        /// What the XML reader reported.
        message: String,
    },
    /// The document's root element is not the expected one.
    #[error("expected root element <{expected}>, found <{found}>")]
    UnexpectedRoot {
        /// The root element this operation returns.
        expected: &'static str,
        /// The root element found.
        found: String,
    },
    /// A required element is absent.
    #[error("missing element <{name}>")]
    MissingElement {
        /// Element name.
        name: &'static str,
    },
    /// A singular element appears more than once (we never guess which one is meant).
    #[error("element <{name}> appears more than once")]
    DuplicateElement {
        /// Element name.
        name: &'static str,
    },
    /// An element or header value does not parse as its type.
    #[error("invalid value for {name}: {reason}")]
    InvalidValue {
        /// Element or header name.
        name: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A required response header is absent.
    #[error("missing response header `{name}`")]
    MissingHeader {
        /// Header name.
        name: &'static str,
    },
}

/// Why a response could not be turned into an operation's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// OSS answered with an error status (or, for Complete with a callback, 203).
    #[error("OSS returned an error")]
    Service(#[source] ServiceError),
    /// A success status came with a body or headers we could not decode.
    #[error("could not decode the OSS response")]
    Decode(#[source] DecodeError),
}

impl ResponseError {
    /// The service error, if this is one.
    pub fn as_service(&self) -> Option<&ServiceError> {
        match self {
            Self::Service(err) => Some(err),
            Self::Decode(_) => None,
        }
    }

    /// Whether retrying the same request may succeed: retryable service errors and 5xx.
    /// A decode error of a 2xx response is not retryable by default (the request succeeded).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service(err) => err.is_retryable(),
            Self::Decode(_) => false,
        }
    }
}

impl From<DecodeError> for ResponseError {
    fn from(err: DecodeError) -> Self {
        Self::Decode(err)
    }
}

impl From<ServiceError> for ResponseError {
    fn from(err: ServiceError) -> Self {
        Self::Service(err)
    }
}
