//! Retiring slow connections: a request can carry a bound past which the connection that
//! carried it is not reused.
//!
//! Some connections are much slower than the rest for their whole life (a congested path, a
//! busy server behind one address). Hedging replaces a slow transfer, but the pool would hand
//! the same connection to the next request, which then straggles too. The caller knows what
//! "too long" means for its transfers, and learns it as they complete, so the bound is shared
//! and read when each exchange ends, not when it starts.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper_util::client::legacy::connect::CaptureConnection;
use tokio::time::Instant;

/// A request extension: when the exchange (from sending the request to the end of the
/// response body) takes at least the bound current at its end, its connection is closed
/// instead of going back to the pool. Clones share the bound; with none set, nothing is
/// retired.
///
/// ```
/// use std::time::Duration;
/// use oss_transport::{RequestBody, RetireSlowConnections};
///
/// let bound = RetireSlowConnections::default();
/// let mut request = http::Request::put("http://127.0.0.1:9/part")
///     .body(RequestBody::from_bytes("data"))
///     .unwrap();
/// request.extensions_mut().insert(bound.clone());
/// // Later, as the transfers teach what is slow:
/// bound.set(Some(Duration::from_secs(2)));
/// assert_eq!(bound.get(), Some(Duration::from_secs(2)));
/// ```
#[derive(Clone, Default)]
pub struct RetireSlowConnections {
    /// Nanoseconds; 0 is "none".
    nanos: Arc<AtomicU64>,
}

impl RetireSlowConnections {
    /// Sets (or with `None` clears) the bound for every request carrying a clone.
    pub fn set(&self, bound: Option<Duration>) {
        let nanos = bound.map_or(0, |b| {
            u64::try_from(b.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.nanos.store(nanos, Ordering::Relaxed);
    }

    /// The bound now.
    pub fn get(&self) -> Option<Duration> {
        match self.nanos.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }
}

impl fmt::Debug for RetireSlowConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RetireSlowConnections")
            .field(&self.get())
            .finish()
    }
}

/// A pending retirement of one request's connection.
pub(crate) struct Retirement {
    bound: RetireSlowConnections,
    start: Instant,
    connection: CaptureConnection,
}

impl Retirement {
    pub(crate) fn new(
        bound: RetireSlowConnections,
        start: Instant,
        connection: CaptureConnection,
    ) -> Self {
        Self {
            bound,
            start,
            connection,
        }
    }

    /// Whether the exchange has taken too long; if so, its connection is not reused (hyper
    /// checks the mark before handing an idle connection out).
    pub(crate) fn retire_if_slow(&self) -> bool {
        let Some(bound) = self.bound.get() else {
            return false;
        };
        if self.start.elapsed() < bound {
            return false;
        }
        if let Some(connected) = self.connection.connection_metadata().as_ref() {
            connected.poison();
        }
        true
    }
}
