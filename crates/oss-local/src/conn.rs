//! Which connections are doing work and which are only holding a slot.
//!
//! Every connection is in one of three phases: waiting for the first byte of its next request
//! (`Idle`, a keep-alive connection between requests), receiving a request head (`Head`), or
//! serving a request (`Busy`, from the moment the head is parsed until the response body has
//! been written or dropped). The [`Tracker`] keeps the phase and since when, so that:
//! - a head that does not arrive in full within the header-read timeout closes its connection
//!   (a client that sends half a request and stalls cannot keep a slot);
//! - a keep-alive connection idle longer than the idle timeout is closed;
//! - when every slot is taken and a new client connects, the connection that has been waiting
//!   longest without a request in progress (`Idle` or `Head`) is closed to make room, so idle
//!   clients never lock out a working one. Busy connections are never evicted.
//!
//! The phase is observed from outside hyper: bytes read while `Idle` start a head, the service
//! call marks `Busy`, and the response body's drop (hyper drops it once written or when the
//! connection dies) returns to `Idle`.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::body::RespBody;

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;
/// Chosen for closing; not a candidate again.
const CLOSING: u8 = 3;

/// How often the reaper looks for stalled heads and expired idle connections.
pub(crate) const REAP_EVERY: Duration = Duration::from_millis(200);

/// One connection's phase, shared by its IO wrapper, its service and the tracker.
pub(crate) struct Slot {
    phase: AtomicU8,
    /// Milliseconds since the tracker's epoch when the phase began.
    since_ms: AtomicU64,
    /// Requests dispatched whose response body is not finished (more than one only while a
    /// pipelined request overlaps the previous body's end).
    in_flight: AtomicUsize,
    close: Notify,
    epoch: Instant,
}

impl Slot {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    /// Bytes arrived: an idle connection starts receiving a head.
    fn on_bytes(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE {
            self.enter(HEAD);
        }
    }

    /// A request head was parsed; the guard returns the slot to idle when dropped. This wins
    /// over a close the tracker asked for meanwhile: a request that got in is served.
    pub(crate) fn busy(self: &Arc<Self>) -> BusyGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.enter(BUSY);
        BusyGuard { slot: self.clone() }
    }

    /// Resolves when the tracker asks this connection to close. The connection checks
    /// [`Slot::close_is_due`] before obeying, since a request may have started meanwhile.
    pub(crate) async fn close_requested(&self) {
        self.close.notified().await;
    }

    /// Whether closing now loses no request (the phase is not `Busy`).
    pub(crate) fn close_is_due(&self) -> bool {
        self.phase.load(Ordering::Acquire) != BUSY
    }
}

/// Marks its slot busy while alive.
pub(crate) struct BusyGuard {
    slot: Arc<Slot>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.slot.in_flight.fetch_sub(1, Ordering::AcqRel) == 1
            && self.slot.phase.load(Ordering::Acquire) == BUSY
        {
            self.slot.enter(IDLE);
        }
    }
}

/// A response body that keeps its connection `Busy` until it is finished or dropped.
pub(crate) fn guard_body(body: RespBody, guard: BusyGuard) -> RespBody {
    GuardedBody {
        inner: body,
        _guard: guard,
    }
    .boxed()
}

struct GuardedBody {
    inner: RespBody,
    _guard: BusyGuard,
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The server's connections and their phases.
pub(crate) struct Tracker {
    epoch: Instant,
    header_timeout: Duration,
    idle_timeout: Duration,
    next_id: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
}

impl Tracker {
    pub(crate) fn new(header_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            header_timeout,
            idle_timeout,
            next_id: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts
        // and removes), so a poisoned lock is still usable.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection (phase `Idle`: nothing received yet).
    pub(crate) fn register(&self) -> (u64, Arc<Slot>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            phase: AtomicU8::new(IDLE),
            since_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
            epoch: self.epoch,
        });
        slot.enter(IDLE);
        self.slots().insert(id, slot.clone());
        (id, slot)
    }

    pub(crate) fn remove(&self, id: u64) {
        self.slots().remove(&id);
    }

    /// Asks the connection waiting longest without a request in progress to close; returns
    /// whether there was one.
    pub(crate) fn evict_one(&self) -> bool {
        let slots = self.slots();
        let oldest = slots
            .values()
            .filter(|slot| matches!(slot.phase.load(Ordering::Acquire), IDLE | HEAD))
            .min_by_key(|slot| slot.since_ms.load(Ordering::Relaxed));
        match oldest {
            Some(slot) => {
                slot.phase.store(CLOSING, Ordering::Release);
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Closes connections whose head is overdue or that stayed idle too long.
    pub(crate) fn reap(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        for slot in self.slots().values() {
            let limit = match slot.phase.load(Ordering::Acquire) {
                HEAD => millis(self.header_timeout),
                IDLE => millis(self.idle_timeout),
                _ => continue,
            };
            if now.saturating_sub(slot.since_ms.load(Ordering::Relaxed)) > limit {
                slot.phase.store(CLOSING, Ordering::Release);
                slot.close.notify_one();
            }
        }
    }
}

/// The socket of one connection, reporting arriving bytes to its slot.
pub(crate) struct TrackedIo<S> {
    inner: S,
    slot: Arc<Slot>,
}

impl<S> TrackedIo<S> {
    pub(crate) fn new(inner: S, slot: Arc<Slot>) -> Self {
        Self { inner, slot }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.slot.on_bytes();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause() {
        std::thread::sleep(Duration::from_millis(5));
    }

    fn phase(slot: &Slot) -> u8 {
        slot.phase.load(Ordering::Acquire)
    }

    #[test]
    fn evicts_the_longest_waiting_non_busy_connection() {
        let tracker = Tracker::new(Duration::from_secs(5), Duration::from_secs(60));
        let (_, old_idle) = tracker.register();
        pause();
        let (_, busy) = tracker.register();
        let guard = busy.busy();
        pause();
        let (_, young_idle) = tracker.register();
        assert!(tracker.evict_one());
        assert_eq!(phase(&old_idle), CLOSING);
        assert_eq!(phase(&young_idle), IDLE);
        assert!(tracker.evict_one());
        assert_eq!(phase(&young_idle), CLOSING);
        // Only the busy one is left: nothing to evict, and it refuses to close.
        assert!(!tracker.evict_one());
        // A request that starts on a connection chosen for closing is served all the same.
        let (_, chosen) = tracker.register();
        assert!(tracker.evict_one());
        let late = chosen.busy();
        assert!(!chosen.close_is_due());
        drop(late);
        assert_eq!(phase(&chosen), IDLE);
        assert!(tracker.evict_one());
        assert_eq!(phase(&chosen), CLOSING);
        assert!(!busy.close_is_due());
        pause();
        drop(guard);
        assert!(busy.close_is_due());
        assert!(tracker.evict_one());
        assert_eq!(phase(&busy), CLOSING);
    }

    #[test]
    fn a_stalled_head_times_out_but_an_idle_connection_does_not() {
        let tracker = Tracker::new(Duration::from_millis(10), Duration::from_secs(3600));
        let (_, head) = tracker.register();
        head.on_bytes();
        let (_, idle) = tracker.register();
        std::thread::sleep(Duration::from_millis(30));
        tracker.reap();
        assert_eq!(phase(&head), CLOSING);
        assert_eq!(phase(&idle), IDLE);
    }

    #[test]
    fn an_idle_connection_times_out_but_a_busy_one_does_not() {
        let tracker = Tracker::new(Duration::from_secs(3600), Duration::from_millis(10));
        let (_, idle) = tracker.register();
        let (_, busy) = tracker.register();
        let _guard = busy.busy();
        std::thread::sleep(Duration::from_millis(30));
        tracker.reap();
        assert_eq!(phase(&idle), CLOSING);
        assert_eq!(phase(&busy), BUSY);
    }
}
