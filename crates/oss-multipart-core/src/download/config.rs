//! Download configuration: range size, concurrency, ordering window, retries, change policy.

use crate::adapt::{AdaptiveConcurrency, DEFAULT_MAX_IN_FLIGHT};
use crate::error::PlanError;
use crate::hedge::Hedging;
use crate::retry::RetryPolicy;

/// What to do when the object changes during the download (a ranged GET answered
/// `412 Precondition Failed`, or an answer carrying another ETag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChangePolicy {
    /// Stop with [`DownloadError::ObjectChanged`](crate::DownloadError::ObjectChanged) (default).
    #[default]
    Fail,
    /// Forget every fetched range and start again from HEAD, within the retry budget
    /// ([`DownloadEvent::Restarted`](crate::DownloadEvent::Restarted)). Only for drivers that
    /// can overwrite what they wrote (a file, not a stream).
    Restart,
}

/// Download configuration. Fields are public; [`DownloadConfig::validate`] runs when a
/// download is built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DownloadConfig {
    /// Bytes per ranged GET (default 8 MiB, at least 1).
    pub part_size: u64,
    /// Ranged GETs in flight at once, 1..=1000: the fixed count, or with `adaptive` the
    /// ceiling (default 32).
    pub max_in_flight: usize,
    /// In-order delivery window: when set, a range is only requested while it is fewer than
    /// this many ranges past the first range not yet complete. A driver that writes to a
    /// stream buffers at most `window × part_size` bytes. `None` (default): any order.
    pub window: Option<u64>,
    /// Retry policy (the same one uploads use).
    pub retry: RetryPolicy,
    /// What to do when the object changes mid-download.
    pub on_change: ChangePolicy,
    /// Adapt the GETs in flight to the measured throughput, up to `max_in_flight`
    /// (default on); `None`: exactly `max_in_flight`.
    pub adaptive: Option<AdaptiveConcurrency>,
    /// Send a straggling GET again on another connection (default on); `None`: never.
    pub hedging: Option<Hedging>,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            part_size: 8 * 1024 * 1024,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            window: None,
            retry: RetryPolicy::default(),
            on_change: ChangePolicy::Fail,
            adaptive: Some(AdaptiveConcurrency::default()),
            hedging: Some(Hedging::default()),
        }
    }
}

impl DownloadConfig {
    /// Checks bounds.
    ///
    /// # Errors
    /// [`PlanError::ConfigOutOfBounds`] naming the field.
    pub fn validate(&self) -> Result<(), PlanError> {
        let bad = |name| Err(PlanError::ConfigOutOfBounds { name });
        if self.part_size == 0 {
            return bad("part_size");
        }
        if !(1..=1000).contains(&self.max_in_flight) {
            return bad("max_in_flight");
        }
        if self.window == Some(0) {
            return bad("window");
        }
        if self.adaptive.is_some_and(|a| !a.is_valid()) {
            return bad("adaptive");
        }
        if self.hedging.is_some_and(|h| !h.is_valid()) {
            return bad("hedging");
        }
        Ok(())
    }
}
