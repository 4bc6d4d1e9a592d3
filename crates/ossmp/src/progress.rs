//! The upload progress bar: bytes, rate, ETA, and parts done / in flight / retried.
//!
//! Drawn on stderr and only when stderr is a terminal (indicatif hides it otherwise), so `--json` output on stdout
//! and logs captured by scripts stay clean.

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
        let mode = effective(
            MODE.get().copied().unwrap_or_default(),
            std::io::stderr().is_terminal(),
        );
        let plain = !hidden && mode == ProgressMode::Plain;
        if hidden || mode != ProgressMode::Bar {
            // Hidden bars still keep position, rate and ETA, which the plain lines read.
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
        if plain {
            spawn_plain_lines(pb.clone());
        }
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

    /// Shows the progress of a directory copy: bytes, and files instead of parts.
    pub(crate) fn update_files(
        &self,
        bytes: u64,
        total: u64,
        files: u64,
        files_total: u64,
        failed: u64,
    ) {
        self.pb.set_length(total);
        self.pb.set_position(bytes);
        let failed = if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        };
        self.pb
            .set_message(format!("files {files}/{files_total}{failed}"));
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

/// `upload 12.00 MiB/100.00 MiB (12%) 3.20 MiB/s ETA 27 seconds parts 3/10 (2 in flight)`.
fn plain_line(pb: &ProgressBar) -> String {
    let done = pb.position();
    let total = match pb.length() {
        Some(t) if t > 0 => format!("/{} ({}%)", HumanBytes(t), done.saturating_mul(100) / t),
        Some(_) => "/0 B".to_owned(),
        None => String::new(),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = pb.per_sec() as u64;
    let eta = if pb.length().is_some() {
        format!(" ETA {}", HumanDuration(pb.eta()))
    } else {
        String::new()
    };
    format!(
        "{} {}{total} {}/s{eta} {}",
        pb.prefix(),
        HumanBytes(done),
        HumanBytes(rate),
        pb.message()
    )
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
        pb.set_message("parts 3/10 (2 in flight)");
        let line = plain_line(&pb);
        assert!(
            line.starts_with("upload 50.00 MiB/200.00 MiB (25%) "),
            "{line}"
        );
        assert!(
            line.contains("/s ETA ") && line.ends_with("parts 3/10 (2 in flight)"),
            "{line}"
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
