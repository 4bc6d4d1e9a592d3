//! The one error type of this crate, opaque in the hyper style: callers ask questions (`is_timeout()`, ...)
//! instead of matching on variants, so the classification can get finer without breaking anyone.

use std::error::Error as StdError;
use std::fmt;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why an HTTP exchange failed.
///
/// Opaque on purpose: use the `is_*` predicates. Several can be true at once (a connect timeout is both
/// [`is_connect`](Self::is_connect) and [`is_timeout`](Self::is_timeout)). [`body_fully_sent`](Self::body_fully_sent)
/// tells whether the server may have received a complete request, which matters before retrying a
/// non-idempotent request.
///
/// `Display` describes this level only; the underlying cause (I/O, TLS, hyper) is available through
/// [`std::error::Error::source`].
pub struct TransportError {
    kind: Kind,
    body_fully_sent: bool,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// TCP connection could not be established (refused, unreachable, DNS).
    Connect,
    /// TCP connection was made but the TLS handshake failed.
    Tls,
    /// Connecting (TCP + TLS) took longer than the connect timeout.
    ConnectTimeout,
    /// No progress (no request body chunk taken, no response byte received) for the read timeout.
    ReadTimeout,
    /// The whole exchange exceeded the request timeout.
    RequestTimeout,
    /// The request body source failed (file read error, stream error, length mismatch).
    Body,
    /// Network I/O or protocol failure after the connection was up (reset, early close, bad HTTP).
    Io,
    /// The response body exceeded the caller's bound.
    ResponseTooLarge { limit: usize },
    /// The request could not be sent as given (bad URI, unsupported scheme).
    InvalidRequest,
}

impl TransportError {
    pub(crate) fn new(kind: Kind) -> Self {
        Self {
            kind,
            body_fully_sent: false,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn with_body_fully_sent(mut self, sent: bool) -> Self {
        self.body_fully_sent = sent;
        self
    }

    /// Some deadline passed: connect, read (idle) or the overall request timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            Kind::ConnectTimeout | Kind::ReadTimeout | Kind::RequestTimeout
        )
    }

    /// No connection could be established (refused, DNS, TLS handshake, connect timeout). Nothing reached the
    /// server's HTTP layer, so retrying is always safe.
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::Tls | Kind::ConnectTimeout)
    }

    /// The TLS handshake failed (untrusted certificate, name mismatch, protocol error). Also [`is_connect`](Self::is_connect).
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// The request body source failed locally (file read error, caller stream error, length mismatch). The
    /// server never got a complete request.
    pub fn is_body(&self) -> bool {
        self.kind == Kind::Body
    }

    /// The connection failed after it was established: reset, closed early, or malformed HTTP from the peer,
    /// while sending the request or reading the response.
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// The response body was larger than the bound given to [`Client::send_collect`](crate::Client::send_collect)
    /// or [`ResponseBody::collect_bounded`](crate::ResponseBody::collect_bounded).
    pub fn is_response_too_large(&self) -> bool {
        matches!(self.kind, Kind::ResponseTooLarge { .. })
    }

    /// The request was rejected before anything was sent (bad URI, missing host, unsupported scheme).
    pub fn is_invalid_request(&self) -> bool {
        self.kind == Kind::InvalidRequest
    }

    /// Whether the whole request body had been handed to the connection when the failure happened.
    ///
    /// `false` means the server cannot have seen a complete request (bodies carry `Content-Length` or chunked
    /// framing), so even a non-idempotent request can be retried without risk of double effect. `true` means
    /// it may have been processed. Always `false` for connect errors.
    pub fn body_fully_sent(&self) -> bool {
        self.body_fully_sent
    }

    /// Classify an error coming out of hyper or the legacy client by walking its source chain.
    pub(crate) fn classify(err: BoxError, body_fully_sent: bool) -> Self {
        let kind = classify_chain(&*err);
        let err = Self::new(kind).with_source(err);
        // Without a connection nothing was sent, even if the body (e.g. an empty one) had nothing left to send;
        // a failed body source never finished.
        let sent = body_fully_sent && !err.is_connect() && kind != Kind::Body;
        err.with_body_fully_sent(sent)
    }
}

/// Walk the chain, including the inner error of `io::Error` (whose `source()` skips it).
fn classify_chain(err: &(dyn StdError + 'static)) -> Kind {
    let mut connect = false;
    let mut tls = false;
    let mut io_timeout = false;
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        // A body error we produced ourselves keeps its own kind (it travels through hyper as a user error).
        if let Some(ours) = e.downcast_ref::<TransportError>() {
            return ours.kind;
        }
        if let Some(legacy) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= legacy.is_connect();
        }
        if e.downcast_ref::<rustls::Error>().is_some() {
            tls = true;
        }
        depth += 1;
        // Chains are short; the bound only guards against a pathological cyclic `source()`.
        if depth > 32 {
            break;
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => {
                io_timeout |= io.kind() == std::io::ErrorKind::TimedOut;
                // `io::Error::source` skips the wrapped error itself, so step into it explicitly.
                io.get_ref().map(|inner| inner as &(dyn StdError + 'static))
            }
            None => e.source(),
        };
    }
    match (connect, tls, io_timeout) {
        (true, true, _) => Kind::Tls,
        (true, false, true) => Kind::ConnectTimeout,
        (true, false, false) => Kind::Connect,
        (false, _, _) => Kind::Io,
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Connect => f.write_str("could not connect"),
            Kind::Tls => f.write_str("TLS handshake failed"),
            Kind::ConnectTimeout => f.write_str("connect timed out"),
            Kind::ReadTimeout => f.write_str("no progress within the read timeout"),
            Kind::RequestTimeout => f.write_str("request timed out"),
            Kind::Body => f.write_str("request body source failed"),
            Kind::Io => f.write_str("connection failed during the exchange"),
            Kind::ResponseTooLarge { limit } => {
                write!(f, "response body larger than {limit} bytes")
            }
            Kind::InvalidRequest => f.write_str("invalid request"),
        }
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The source may be a hyper or io error: none of those carry request headers, so no secret can leak.
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("body_fully_sent", &self.body_fully_sent)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_inner_body_error_keeps_kind() {
        let ours = TransportError::new(Kind::Body);
        let io = std::io::Error::other(ours);
        let err = TransportError::classify(Box::new(io), true);
        assert!(err.is_body());
        assert!(!err.body_fully_sent(), "a failed body was never fully sent");
    }

    #[test]
    fn plain_io_error_is_io() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let err = TransportError::classify(Box::new(io), true);
        assert!(err.is_io());
        assert!(err.body_fully_sent());
        assert!(!err.is_connect() && !err.is_timeout());
    }

    #[test]
    fn display_is_one_level() {
        let err = TransportError::new(Kind::ResponseTooLarge { limit: 10 })
            .with_source(std::io::Error::other("inner detail"));
        assert_eq!(err.to_string(), "response body larger than 10 bytes");
        assert!(err.source().is_some());
    }
}
