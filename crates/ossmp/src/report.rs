//! Turns any failure into its exit status and the one line printed on stderr (plus a JSON object on stdout with
//! `--json`).

use std::path::{Path, PathBuf};

use oss_multipart::Error as OssError;

use crate::exit::{CliError, Exit, display_chain};
use crate::output::escape_controls;

/// A classified failure, ready to print.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) checkpoint: Option<PathBuf>,
    pub(crate) upload_id: Option<String>,
    /// Whether the multipart upload was aborted on the way out (`None`: not applicable).
    pub(crate) aborted: Option<bool>,
    /// The command printed its own `--json` summary already.
    pub(crate) json_reported: bool,
}

impl Failure {
    /// `error: <what happened> -- <what to do>` on one line.
    pub(crate) fn line(&self) -> String {
        let line = match &self.hint {
            Some(h) => format!("error: {} -- {h}", self.message),
            None => format!("error: {}", self.message),
        };
        escape_controls(&line).into_owned()
    }

    /// The `--json` form of the failure.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": "error",
            "exit_code": self.exit.code(),
            "kind": self.exit.name(),
            "message": self.message,
            "hint": self.hint,
            "checkpoint": self.checkpoint.as_ref().map(|p| p.display().to_string()),
            "upload_id": self.upload_id,
            "aborted": self.aborted,
        })
    }
}

/// Classifies an error chain: our own [`CliError`] first (it already knows its status), then the library's
/// [`OssError`] by its predicates, then anything else as a plain failure.
pub(crate) fn classify(err: &anyhow::Error) -> Failure {
    let message = display_chain(err.as_ref());
    if let Some(cli) = err.chain().find_map(|e| e.downcast_ref::<CliError>()) {
        return Failure {
            exit: cli.exit(),
            message,
            hint: cli.hint_text().map(str::to_owned),
            checkpoint: cli.checkpoint_path().map(|p| p.to_path_buf()),
            upload_id: cli.upload_id_text().map(str::to_owned),
            aborted: cli.was_aborted(),
            json_reported: cli.is_json_reported(),
        };
    }
    if let Some(oss) = err.chain().find_map(|e| e.downcast_ref::<OssError>()) {
        return classify_oss(oss, message);
    }
    Failure {
        exit: Exit::Failure,
        message,
        hint: None,
        checkpoint: None,
        upload_id: None,
        aborted: None,
        json_reported: false,
    }
}

fn classify_oss(e: &OssError, mut message: String) -> Failure {
    // Only name a checkpoint that is really there (a single PutObject never writes one).
    let checkpoint = e
        .checkpoint_path()
        .filter(|p| p.is_file())
        .map(Path::to_path_buf);
    let upload_id = e.upload_id().map(str::to_owned);
    if let Some(svc) = e.service_error() {
        let rid = svc.request_id();
        if !rid.is_empty() && !message.contains(rid) {
            message.push_str(&format!(" (request id {rid})"));
        }
    }
    let resume = match (&checkpoint, &upload_id) {
        (Some(p), _) => format!(
            "re-run the same command to resume (checkpoint {})",
            p.display()
        ),
        (None, Some(id)) => format!(
            "the upload {id} was kept on the server; re-run to resume or `ossmp uploads abort` it"
        ),
        (None, None) => "re-run the same command".to_owned(),
    };
    let (exit, hint) = if e.is_cancelled() {
        (Exit::Interrupted, resume)
    } else if let OssError::Checkpoint(c) = e {
        let upload = c
            .upload_id()
            .map(|id| format!(" (aborting upload {id})"))
            .unwrap_or_default();
        (
            Exit::Failure,
            format!(
                "pass --no-resume to start over{upload}, or delete {}",
                c.path().display()
            ),
        )
    } else if e.is_usage() {
        (
            Exit::Usage,
            "check the flags and values (see --help)".to_owned(),
        )
    } else if let Some(details) = scope_rejected(e) {
        (
            Exit::Auth,
            format!(
                "check --region (OSS_REGION): it must be the bucket's region, as in its endpoint \
                 oss-REGION.aliyuncs.com{details}"
            ),
        )
    } else if e.is_auth() {
        (
            Exit::Auth,
            "check the AccessKey ID and secret (and STS token), the region, and that the system clock is right"
                .to_owned(),
        )
    } else if e.is_integrity() {
        (
            Exit::Integrity,
            "the object was not completed; make sure nothing modifies the source while it uploads, then re-run \
             with --no-resume"
                .to_owned(),
        )
    } else if e.is_network() {
        (
            Exit::Network,
            format!("check the network and the endpoint, then {resume}"),
        )
    } else if let Some(io) = e.io_failure() {
        // Not the service: a file here could not be read, created or written.
        use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
        let fix = match io.io_error().kind() {
            StorageFull | QuotaExceeded | FileTooLarge => {
                "free disk space where the file goes, or choose another place"
            }
            _ => "check the path, its permissions and the disk",
        };
        (Exit::Failure, format!("{fix}; then {resume}"))
    } else if e.is_retryable() || e.is_resumable() {
        // The service answered, with an error that may pass (5xx, throttling): not a network problem.
        let what = e.service_error().map_or_else(
            || "the service kept failing".to_owned(),
            |s| format!("the service kept answering {}", s.code()),
        );
        (Exit::Network, format!("{what}; wait, then {resume}"))
    } else {
        (
            Exit::Failure,
            if upload_id.is_some() {
                resume
            } else {
                String::new()
            },
        )
    };
    Failure {
        exit,
        message,
        hint: (!hint.is_empty()).then_some(hint),
        checkpoint,
        upload_id,
        aborted: None,
        json_reported: false,
    }
}

/// OSS refusing the credential scope of a V4 signature (`InvalidArgument`, "Invalid
/// credential"): almost always a `--region` that is not the bucket's. Returns the error's
/// details (EC and extra fields) to quote, possibly empty.
fn scope_rejected(e: &OssError) -> Option<String> {
    let svc = e.service_error()?;
    let credential = svc.message().to_ascii_lowercase().contains("credential");
    if svc.code() != "InvalidArgument" || !credential {
        return None;
    }
    let mut details = String::new();
    if let Some(ec) = svc.ec() {
        details.push_str(&format!("; EC {ec}"));
    }
    for (name, value) in svc.extras() {
        details.push_str(&format!("; {name}: {value}"));
    }
    Some(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_errors_keep_their_status_and_hint() {
        let err = anyhow::Error::new(
            CliError::usage("source file x does not exist").hint("check the path"),
        );
        let f = classify(&err);
        assert_eq!(f.exit, Exit::Usage);
        assert_eq!(
            f.line(),
            "error: source file x does not exist -- check the path"
        );
        assert_eq!(f.json()["exit_code"], 2);
        assert_eq!(f.json()["kind"], "usage");
    }

    #[test]
    fn context_is_kept_in_the_line() {
        let err = anyhow::Error::new(CliError::new(Exit::Auth, "no credentials"))
            .context("listing uploads");
        let f = classify(&err);
        assert_eq!(f.exit, Exit::Auth);
        assert_eq!(f.message, "listing uploads: no credentials");
    }

    #[test]
    fn unknown_errors_are_plain_failures_on_one_line() {
        let err = anyhow::anyhow!("line one\nline two");
        let f = classify(&err);
        assert_eq!(f.exit, Exit::Failure);
        assert!(!f.line().contains('\n'));
    }
}
