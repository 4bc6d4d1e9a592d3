//! Per-request progress shared between the request body wrapper and the code waiting for the response: when
//! the body last made progress (for the read/idle timeout) and whether it was fully handed to the connection
//! (for [`TransportError::body_fully_sent`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::error::TransportError;

#[derive(Debug)]
pub(crate) struct Progress {
    base: Instant,
    /// Nanoseconds after `base` of the last activity.
    last: AtomicU64,
    body_done: AtomicBool,
}

impl Progress {
    /// The idle clock starts at `start + grace`, the grace allowing for connection setup.
    pub(crate) fn new(start: Instant, grace: Duration) -> Arc<Self> {
        Arc::new(Self {
            base: start,
            last: AtomicU64::new(nanos(grace)),
            body_done: AtomicBool::new(false),
        })
    }

    pub(crate) fn touch(&self) {
        let now = nanos(Instant::now().saturating_duration_since(self.base));
        // A plain store, not a max: the initial value may lie in the future (the grace for connecting), and body
        // activity proves the connection is up, so the grace no longer applies.
        self.last.store(now, Ordering::Relaxed);
    }

    pub(crate) fn last_activity(&self) -> Instant {
        self.base + Duration::from_nanos(self.last.load(Ordering::Relaxed))
    }

    pub(crate) fn body_done(&self) -> bool {
        self.body_done.load(Ordering::Relaxed)
    }

    fn mark_body_done(&self) {
        self.body_done.store(true, Ordering::Relaxed);
    }

    /// Wait until no activity happened for `idle`.
    pub(crate) async fn stalled(&self, idle: Duration) {
        loop {
            let due = self.last_activity() + idle;
            if Instant::now() >= due {
                return;
            }
            // Re-check at least every `idle`: activity can pull the due time earlier (ending the connect grace).
            tokio::time::sleep_until(due.min(Instant::now() + idle)).await;
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The body hyper actually polls: the caller's body plus progress reporting.
pub(crate) struct SendBody {
    inner: RequestBody,
    progress: Arc<Progress>,
}

impl SendBody {
    pub(crate) fn new(inner: RequestBody, progress: Arc<Progress>) -> Self {
        if inner.is_end_stream() {
            progress.mark_body_done();
        }
        Self { inner, progress }
    }
}

impl Body for SendBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        this.progress.touch();
        // hyper stops polling once `is_end_stream` is true, so completion is noted on the last frame too.
        if frame.is_none() || (matches!(frame, Some(Ok(_))) && this.inner.is_end_stream()) {
            this.progress.mark_body_done();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
