//! The progress bar: bytes on the wire with their rate and ETA, and apart from them the parts OSS
//! confirmed, in flight, retried.
//!
//! The bar moves with the bytes sent (or received), which flow steadily, not with confirmations,
//! which come a part at a time: a rate measured on confirmations stalls, then jumps to absurd
//! values. Drawn on stderr and only when stderr is a terminal (indicatif hides it otherwise), so
//! `--json` output on stdout and logs captured by scripts stay clean; off a terminal a plain line
//! comes every few seconds instead.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{HumanBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--progress`: how progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Always the bar (drawn only on a terminal).
    Bar,
    /// A plain line every few seconds, for logs and CI.
    Plain,
    /// Nothing.
    None,
}

/// Set once from `--progress` before any command runs; every bar of the process follows it
/// (a process-wide setting, so the commands' bar constructors need not each carry it).
static MODE: OnceLock<ProgressMode> = OnceLock::new();

/// Records `--progress` for the bars made later.
pub(crate) fn set_mode(mode: ProgressMode) {
    let _ = MODE.set(mode);
}

/// What a bar does when the user asked for `mode` and stderr is (or is not) a terminal.
fn effective(mode: ProgressMode, tty: bool) -> ProgressMode {
    match mode {
        ProgressMode::Auto if tty => ProgressMode::Bar,
        ProgressMode::Auto => ProgressMode::Plain,
        m => m,
    }
}

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// One progress report, independent of the library's type so the bar can be tested on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Snapshot {
    /// Bytes on the wire: what the bar, its rate and its ETA follow.
    pub(crate) bytes_sent: u64,
    /// Bytes confirmed (shown with the parts).
    pub(crate) bytes_done: u64,
    pub(crate) bytes_total: Option<u64>,
    pub(crate) parts_done: u32,
    pub(crate) parts_in_flight: u32,
    pub(crate) parts_total: Option<u32>,
    pub(crate) retries: u32,
    /// Rate of the bytes on the wire (the library's, over its last few seconds).
    pub(crate) rate: f64,
    /// Time left at that rate.
    pub(crate) eta: Option<Duration>,
}

/// A progress bar that can be updated from any thread.
#[derive(Clone)]
pub(crate) struct Bar {
    pb: ProgressBar,
    /// The total is known and the bar style set.
    sized: Arc<AtomicBool>,
}

/// A bar when the total is known, a spinner otherwise. Rate and ETA are in the message: the
/// library measures them over the bytes on the wire in a window of a few seconds, which follows a
/// throttled or bursty transfer much better than indicatif's long exponential average.
fn set_style(pb: &ProgressBar, sized: bool) {
    let template = if sized {
        // `wide_bar` takes whatever width is left, so the line never wraps (wrapping breaks redraws).
        "{prefix} [{wide_bar:.cyan/blue}] {bytes}/{total_bytes} {msg}"
    } else {
        "{prefix} {spinner} {bytes} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
}

impl Bar {
    /// A bar for `total` bytes (a spinner when unknown), hidden when `hidden`.
    pub(crate) fn new(label: &str, total: Option<u64>, hidden: bool) -> Self {
        let pb = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let mode = effective(
            MODE.get().copied().unwrap_or_default(),
            std::io::stderr().is_terminal(),
        );
        let plain = !hidden && mode == ProgressMode::Plain;
        if hidden || mode != ProgressMode::Bar {
            // Hidden bars still keep position, rate and ETA, which the plain lines read.
            pb.set_draw_target(ProgressDrawTarget::hidden());
        }
        set_style(&pb, total.is_some());
        pb.set_prefix(label.to_owned());
        pb.enable_steady_tick(Duration::from_millis(200));
        if plain {
            spawn_plain_lines(pb.clone());
        }
        Self {
            pb,
            sized: Arc::new(AtomicBool::new(total.is_some())),
        }
    }

    /// Sets the total, turning a spinner into a bar the first time it is known.
    fn set_total(&self, total: u64) {
        self.pb.set_length(total);
        if !self.sized.swap(true, Ordering::Relaxed) {
            set_style(&self.pb, true);
        }
    }

    /// Shows one report.
    pub(crate) fn update(&self, s: &Snapshot) {
        if let Some(t) = s.bytes_total {
            self.set_total(t);
        }
        self.pb.set_position(s.bytes_sent.max(s.bytes_done));
        self.pb.set_message(format!(
            "{} {}",
            rate_and_eta(s.rate, s.eta),
            parts_message(s)
        ));
    }

    /// Shows the progress of a directory copy: bytes, and files instead of parts.
    pub(crate) fn update_files(&self, p: &oss_multipart::DirProgress) {
        self.set_total(p.bytes_total);
        self.pb.set_position(p.bytes_sent.max(p.bytes_done));
        let failed = if p.files_failed > 0 {
            format!(", {} failed", p.files_failed)
        } else {
            String::new()
        };
        self.pb.set_message(format!(
            "{} files {}/{}{failed}",
            rate_and_eta(p.rate_bytes_per_sec, p.eta),
            p.files_done,
            p.files_total
        ));
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

/// Prints [`plain_line`] every few seconds until the bar is finished.
fn spawn_plain_lines(pb: ProgressBar) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(PLAIN_EVERY);
            if pb.is_finished() {
                return;
            }
            eprintln!("{}", plain_line(&pb));
        }
    });
}

/// `upload 12.00 MiB/100.00 MiB (12%) 3.20 MiB/s ETA 27s confirmed 3/10 parts (2 in flight)`:
/// the bar's numbers, bytes on the wire first.
fn plain_line(pb: &ProgressBar) -> String {
    let done = pb.position();
    let total = match pb.length() {
        Some(t) if t > 0 => format!("/{} ({}%)", HumanBytes(t), done.saturating_mul(100) / t),
        Some(_) => "/0 B".to_owned(),
        None => String::new(),
    };
    format!(
        "{} {}{total} {}",
        pb.prefix(),
        HumanBytes(done),
        pb.message()
    )
}

/// `3.20 MiB/s ETA 27s`; `-` for an ETA not known yet.
fn rate_and_eta(rate: f64, eta: Option<Duration>) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = if rate.is_finite() && rate > 0.0 {
        rate as u64
    } else {
        0
    };
    let eta = eta.map_or_else(|| "-".to_owned(), |d| format!("{:#}", HumanDuration(d)));
    format!("{}/s ETA {eta}", HumanBytes(rate))
}

/// `confirmed 12/32 parts (4 in flight, 1 retried)`: what OSS acknowledged, apart from the
/// bytes on the wire the bar shows.
pub(crate) fn parts_message(s: &Snapshot) -> String {
    let total = s
        .parts_total
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    let mut msg = format!(
        "confirmed {}/{total} parts ({} in flight",
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
        assert_eq!(parts_message(&s), "confirmed 3/10 parts (2 in flight)");
        let s = Snapshot { retries: 4, ..s };
        assert_eq!(
            parts_message(&s),
            "confirmed 3/10 parts (2 in flight, 4 retried)"
        );
        let s = Snapshot {
            parts_total: None,
            ..s
        };
        assert!(parts_message(&s).starts_with("confirmed 3/? parts"));
    }

    #[test]
    fn auto_is_a_bar_on_a_terminal_and_plain_lines_elsewhere() {
        assert_eq!(effective(ProgressMode::Auto, true), ProgressMode::Bar);
        assert_eq!(effective(ProgressMode::Auto, false), ProgressMode::Plain);
        assert_eq!(effective(ProgressMode::None, true), ProgressMode::None);
        assert_eq!(effective(ProgressMode::Plain, true), ProgressMode::Plain);
    }

    #[test]
    fn plain_line_shows_bytes_percent_rate_and_message() {
        let pb = ProgressBar::hidden();
        pb.set_length(200 << 20);
        pb.set_position(50 << 20);
        pb.set_prefix("upload");
        pb.set_message("3.20 MiB/s ETA 27s confirmed 3/10 parts (2 in flight)");
        let line = plain_line(&pb);
        assert!(
            line.starts_with("upload 50.00 MiB/200.00 MiB (25%) "),
            "{line}"
        );
        assert!(
            line.ends_with("3.20 MiB/s ETA 27s confirmed 3/10 parts (2 in flight)"),
            "{line}"
        );
    }

    #[test]
    fn the_bar_follows_bytes_on_the_wire_not_confirmations() {
        let bar = Bar::new("up", Some(1000), true);
        bar.update(&Snapshot {
            bytes_sent: 600,
            bytes_done: 200,
            bytes_total: Some(1000),
            parts_done: 1,
            parts_total: Some(5),
            rate: 3.2 * 1024.0 * 1024.0,
            eta: Some(Duration::from_secs(27)),
            ..Snapshot::default()
        });
        assert_eq!(bar.pb.position(), 600);
        assert_eq!(
            bar.pb.message(),
            "3.20 MiB/s ETA 27s confirmed 1/5 parts (0 in flight)"
        );
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
