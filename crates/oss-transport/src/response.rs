//! Streaming response bodies with the read (idle) and overall deadlines still enforced.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::error::{Kind, TransportError};
use crate::retire::Retirement;

/// The body of a response from [`Client::send`](crate::Client::send), streamed from the connection.
///
/// Read it to the end (or drop it) promptly: the connection returns to the pool only once the body has been
/// read to its end; dropping it early closes the connection. Each chunk must arrive within the client's read
/// timeout, and the whole exchange must end before the request timeout.
pub struct ResponseBody {
    inner: Incoming,
    read_timeout: Option<Duration>,
    idle: Option<Pin<Box<Sleep>>>,
    deadline: Option<Pin<Box<Sleep>>>,
    received: u64,
    /// Checked when the body ends (see [`RetireSlowConnections`](crate::RetireSlowConnections)).
    retirement: Option<Retirement>,
}

impl ResponseBody {
    pub(crate) fn new(
        inner: Incoming,
        read_timeout: Option<Duration>,
        deadline: Option<Instant>,
        retirement: Option<Retirement>,
    ) -> Self {
        Self {
            inner,
            read_timeout,
            idle: read_timeout.map(|t| Box::pin(tokio::time::sleep(t))),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            received: 0,
            retirement,
        }
    }

    /// At the end of the body: the exchange is over, so its time is known.
    fn retire_if_slow(&mut self) {
        if let Some(r) = self.retirement.take() {
            r.retire_if_slow();
        }
    }

    /// Bytes of body received so far.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// The next data chunk, or `None` at the end (trailers are skipped).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        while let Some(frame) = self.frame().await {
            if let Ok(data) = frame?.into_data() {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// Read the rest of the body into memory, failing with
    /// [`is_response_too_large`](TransportError::is_response_too_large) as soon as it exceeds `max_bytes`.
    pub async fn collect_bounded(mut self, max_bytes: usize) -> Result<Bytes, TransportError> {
        let mut first: Option<Bytes> = None;
        let mut rest: Option<BytesMut> = None;
        let mut total = 0usize;
        while let Some(chunk) = self.chunk().await? {
            total = total.saturating_add(chunk.len());
            if total > max_bytes {
                return Err(
                    TransportError::new(Kind::ResponseTooLarge { limit: max_bytes })
                        .with_body_fully_sent(true),
                );
            }
            // Most bodies arrive in one chunk: keep it without copying; concatenate only when there are more.
            match (&mut first, &mut rest) {
                (None, _) => first = Some(chunk),
                (Some(f), None) => {
                    let mut buf = BytesMut::with_capacity(f.len() + chunk.len());
                    buf.extend_from_slice(f);
                    buf.extend_from_slice(&chunk);
                    rest = Some(buf);
                }
                (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
            }
        }
        Ok(match (first, rest) {
            (_, Some(buf)) => buf.freeze(),
            (Some(f), None) => f,
            (None, None) => Bytes::new(),
        })
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.retire_if_slow();
                }
                if let (Some(idle), Some(t)) = (&mut this.idle, this.read_timeout) {
                    idle.as_mut().reset(Instant::now() + t);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                Poll::Ready(Some(Err(TransportError::classify(Box::new(e), true))))
            }
            Poll::Ready(None) => {
                this.retire_if_slow();
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some(d) = &mut this.deadline
                    && d.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Some(Err(
                        TransportError::new(Kind::RequestTimeout).with_body_fully_sent(true)
                    )));
                }
                if let Some(idle) = &mut this.idle
                    && idle.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Some(Err(
                        TransportError::new(Kind::ReadTimeout).with_body_fully_sent(true)
                    )));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}
