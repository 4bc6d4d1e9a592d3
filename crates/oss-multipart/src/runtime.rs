//! The runtime seam: clocks and timers behind a small trait, so that the client never reads the
//! clock in code that tests cannot control (signing times, deadlines, rates).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Instant, SystemTime};

/// A boxed `Send` future, the return type of [`Runtime::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Clock and timer used by the [`Client`](crate::Client).
///
/// The default is [`TokioRuntime`] (tokio timers, system clocks). Tests substitute their own to
/// pin the signing time (presigned URLs become byte-for-byte reproducible) or to skew the clock.
/// The client calls [`now`](Self::now)/[`system_time`](Self::system_time) once per step and
/// passes the values down to the signer and the upload state machine, which never read clocks.
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// Monotonic time, for deadlines and rates.
    fn now(&self) -> Instant;
    /// Wall-clock time, for signatures and expiry.
    fn system_time(&self) -> SystemTime;
    /// A future that completes at `deadline` (immediately if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// The tokio runtime with the system clocks. Requires a tokio runtime with the time driver.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TokioRuntime;

impl Runtime for TokioRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }
}

/// Tokio timers with a fixed (or offset) wall clock: for reproducible signatures in tests and
/// for simulating clock skew.
#[derive(Debug, Clone, Copy)]
pub struct FixedWallClock {
    wall: SystemTime,
}

impl FixedWallClock {
    /// Always reports `wall` as the wall-clock time.
    pub fn new(wall: SystemTime) -> Self {
        Self { wall }
    }
}

impl Runtime for FixedWallClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn system_time(&self) -> SystemTime {
        self.wall
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        TokioRuntime.sleep_until(deadline)
    }
}
