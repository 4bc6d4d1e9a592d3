//! Exit codes and the one-line error report.
//!
//! Every failure ends with exactly one line on stderr that says what went wrong and what to do next, and a
//! distinct exit status so scripts can react (retry on 4, fix flags on 2, rotate keys on 3, investigate on 5).

use std::fmt;
use std::path::PathBuf;

/// The process exit status, one per kind of outcome. The numbers are part of the CLI's stable interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// 0: the command did everything it was asked to do.
    Success,
    /// 1: any other failure (e.g. the bucket does not exist, the service refused the request).
    Failure,
    /// 2: bad usage: unknown flag, bad `oss://` location, missing source file, value out of range, no endpoint.
    Usage,
    /// 3: authentication or authorization: missing, wrong or expired credentials, or access denied.
    Auth,
    /// 4: network or service trouble that outlasted the retries; the upload state was kept, re-run to resume.
    Network,
    /// 5: integrity: a checksum (CRC64/MD5) disagreed or the source changed during the upload.
    Integrity,
    /// 130: interrupted (Ctrl-C, SIGINT); the checkpoint was kept, re-run the same command to resume.
    Interrupted,
    /// 143: terminated (SIGTERM); handled as [`Exit::Interrupted`], with the status shells give SIGTERM.
    Terminated,
}

impl Exit {
    /// The numeric process status.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Auth => 3,
            Self::Network => 4,
            Self::Integrity => 5,
            Self::Interrupted => 130,
            Self::Terminated => 143,
        }
    }

    /// A short machine-readable name, used in `--json` error summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Usage => "usage",
            Self::Auth => "auth",
            Self::Network => "network",
            Self::Integrity => "integrity",
            Self::Interrupted => "interrupted",
            Self::Terminated => "terminated",
        }
    }
}

/// The exit-code table shown at the end of `ossmp --help` (kept next to [`Exit`] so they cannot drift apart).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    done
  1    other failure (e.g. no such bucket); the message names the service error and request id
  2    usage: bad flag or value, bad oss:// location, missing source file, part size out of range
  3    auth: missing, wrong or expired credentials, or access denied
  4    network/service trouble after retries: upload state kept, re-run the same command to resume
  5    integrity: CRC64/MD5 mismatch or the source changed during upload
  130  interrupted by Ctrl-C: checkpoint kept, re-run the same command to resume
  143  terminated by SIGTERM: as 130";

/// An error that already knows its exit status and the advice to print.
#[derive(Debug)]
pub struct CliError {
    exit: Exit,
    message: String,
    hint: Option<String>,
    checkpoint: Option<PathBuf>,
    upload_id: Option<String>,
    aborted: Option<bool>,
    json_reported: bool,
}

impl CliError {
    /// An error with the given status and message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: None,
            checkpoint: None,
            upload_id: None,
            aborted: None,
            json_reported: false,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Adds what the user should do next.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Records where resumable state was saved.
    #[must_use]
    pub fn checkpoint(mut self, path: Option<PathBuf>) -> Self {
        self.checkpoint = path;
        self
    }

    /// Records the multipart upload left on the server, if any.
    #[must_use]
    pub fn upload_id(mut self, upload_id: Option<String>) -> Self {
        self.upload_id = upload_id;
        self
    }

    /// Records whether the multipart upload was aborted (its parts deleted) on the way out.
    #[must_use]
    pub fn aborted(mut self, aborted: bool) -> Self {
        self.aborted = Some(aborted);
        self
    }

    /// Records that the command already printed its `--json` summary (with `"status": "error"`),
    /// so no second JSON line follows: one command, one JSON line.
    #[must_use]
    pub fn json_reported(mut self) -> Self {
        self.json_reported = true;
        self
    }

    /// Whether the command printed its own `--json` summary of the failure.
    pub fn is_json_reported(&self) -> bool {
        self.json_reported
    }

    /// The exit status.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The advice, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Where resumable state was saved, if any.
    pub fn checkpoint_path(&self) -> Option<&std::path::Path> {
        self.checkpoint.as_deref()
    }

    /// The multipart upload left on the server, if any.
    pub fn upload_id_text(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Whether the multipart upload was aborted, when the command says.
    pub fn was_aborted(&self) -> Option<bool> {
        self.aborted
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Joins an error and its sources with `": "`, skipping a source whose text the outer message already contains
/// (the façade's `Display` prints one level, but foreign errors sometimes repeat their cause).
pub fn display_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented() {
        let all = [
            Exit::Success,
            Exit::Failure,
            Exit::Usage,
            Exit::Auth,
            Exit::Network,
            Exit::Integrity,
            Exit::Interrupted,
            Exit::Terminated,
        ];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in all {
            let line = format!("\n  {:<5}", e.code());
            assert!(
                EXIT_CODES_HELP.contains(&line),
                "exit code {} missing from help",
                e.code()
            );
        }
    }

    #[test]
    fn chain_skips_repeats() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer failed")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(display_chain(&e), "outer failed: disk on fire");
    }
}
