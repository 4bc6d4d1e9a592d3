//! The upload progress bar: bytes, rate, ETA, and parts done / in flight / retried.
//!
//! Drawn on stderr and only when stderr is a terminal (indicatif hides it otherwise), so `--json` output on stdout
//! and logs captured by scripts stay clean.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One progress report, independent of the library's type so the bar can be tested on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) bytes_done: u64,
    pub(crate) bytes_total: Option<u64>,
    pub(crate) parts_done: u32,
    pub(crate) parts_in_flight: u32,
    pub(crate) parts_total: Option<u32>,
    pub(crate) retries: u32,
}

/// A progress bar that can be updated from any thread.
#[derive(Clone)]
pub(crate) struct Bar {
    pb: ProgressBar,
    // The first report of a resumed upload jumps straight to the reused bytes; restarting the rate estimate after
    // it keeps the shown rate and ETA honest instead of claiming gigabytes per second for a moment.
    seen_first: Arc<AtomicBool>,
}

impl Bar {
    /// A bar for `total` bytes (a spinner when unknown), hidden when `hidden`.
    pub(crate) fn new(label: &str, total: Option<u64>, hidden: bool) -> Self {
        let pb = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        if hidden {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        }
        let template = if total.is_some() {
            // `wide_bar` takes whatever width is left, so the line never wraps (wrapping breaks redraws).
            "{prefix} [{wide_bar:.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
        } else {
            "{prefix} {spinner} {bytes} {binary_bytes_per_sec} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_prefix(label.to_owned());
        pb.enable_steady_tick(Duration::from_millis(200));
        Self {
            pb,
            seen_first: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Shows one report.
    pub(crate) fn update(&self, s: &Snapshot) {
        if let Some(t) = s.bytes_total {
            self.pb.set_length(t);
        }
        self.pb.set_position(s.bytes_done);
        if !self.seen_first.swap(true, Ordering::Relaxed) {
            self.pb.reset_eta();
        }
        self.pb.set_message(parts_message(s));
    }

    /// Prints a line above the bar without breaking it.
    pub(crate) fn println(&self, line: impl AsRef<str>) {
        if self.pb.is_hidden() {
            return;
        }
        self.pb.println(line);
    }

    /// Runs `f` (which writes to the terminal) with the bar cleared, then redraws it.
    pub(crate) fn suspend(&self, f: impl FnOnce()) {
        self.pb.suspend(f);
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

/// `parts 12/32 (4 in flight, 1 retried)`.
pub(crate) fn parts_message(s: &Snapshot) -> String {
    let total = s
        .parts_total
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    let mut msg = format!(
        "parts {}/{total} ({} in flight",
        s.parts_done, s.parts_in_flight
    );
    if s.retries > 0 {
        msg.push_str(&format!(", {} retried", s.retries));
    }
    msg.push(')');
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shows_parts() {
        let s = Snapshot {
            parts_done: 3,
            parts_in_flight: 2,
            parts_total: Some(10),
            ..Snapshot::default()
        };
        assert_eq!(parts_message(&s), "parts 3/10 (2 in flight)");
        let s = Snapshot { retries: 4, ..s };
        assert_eq!(parts_message(&s), "parts 3/10 (2 in flight, 4 retried)");
        let s = Snapshot {
            parts_total: None,
            ..s
        };
        assert!(parts_message(&s).starts_with("parts 3/?"));
    }

    #[test]
    fn hidden_bar_accepts_updates() {
        let bar = Bar::new("up", Some(100), true);
        bar.update(&Snapshot {
            bytes_done: 50,
            bytes_total: Some(100),
            ..Snapshot::default()
        });
        bar.println("not shown");
        bar.finish();
    }
}
