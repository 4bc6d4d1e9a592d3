//! The background checkpoint writer of a file download.
//!
//! Checkpoints are written by one task, always the latest one offered, so the download never
//! waits for a checkpoint's fsync and a kill loses at most the checkpoint being written. A save
//! that fails is reported (as uploads report it, in [`Progress::checkpoint_error`]) and the
//! download goes on; the checkpoint on disk is then the last one saved.
//!
//! [`Progress::checkpoint_error`]: crate::Progress::checkpoint_error

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use oss_multipart_core::DownloadCheckpoint;
use tokio::sync::Notify;

use crate::checkpoint_store;

/// State shared by the download loop and the saver task.
#[derive(Default)]
struct Shared {
    /// The checkpoint waiting to be written (only the latest is kept).
    slot: Mutex<Option<DownloadCheckpoint>>,
    /// Why the last save failed; `None` once a save succeeds.
    error: Mutex<Option<String>>,
    wake: Notify,
    /// Write what is pending, then stop.
    closing: AtomicBool,
}

/// Writes checkpoints in the background; see the module docs. Dropping it (the download future
/// was dropped) lets the task write what is pending and end: no task is left parked.
pub(super) struct Saver {
    shared: Arc<Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Saver {
    pub(super) fn start(path: PathBuf) -> Self {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                // Register interest before looking, so a wake between the two is not lost.
                let notified = s.wake.notified();
                let next = s.slot.lock().ok().and_then(|mut g| g.take());
                match next {
                    Some(cp) => {
                        let outcome = checkpoint_store::save(&path, &cp).await;
                        if let Ok(mut error) = s.error.lock() {
                            *error = outcome.err().map(|e| {
                                tracing::warn!(error = %e, "could not save the download checkpoint");
                                match std::error::Error::source(&e) {
                                    Some(cause) => format!("{e}: {cause}"),
                                    None => e.to_string(),
                                }
                            });
                        }
                    }
                    None if s.closing.load(Ordering::Acquire) => return,
                    None => notified.await,
                }
            }
        });
        Self {
            shared,
            task: Some(task),
        }
    }

    /// Offers a checkpoint: always taken when `force` (the final state after a stop),
    /// otherwise only when the previous one was written (building a checkpoint is linear in
    /// the journal, so it is not rebuilt faster than the disk takes it).
    pub(super) fn offer(&self, force: bool, build: impl FnOnce() -> Option<DownloadCheckpoint>) {
        let Ok(mut slot) = self.shared.slot.lock() else {
            return;
        };
        if (force || slot.is_none())
            && let Some(cp) = build()
        {
            *slot = Some(cp);
            self.shared.wake.notify_one();
        }
    }

    /// Why the last save failed, while saves fail.
    pub(super) fn error(&self) -> Option<String> {
        self.shared.error.lock().ok().and_then(|e| e.clone())
    }

    /// Writes what is pending (unless `discard`: the download succeeded and the checkpoint is
    /// about to be removed) and waits for the task to end.
    pub(super) async fn close(mut self, discard: bool) {
        if discard && let Ok(mut slot) = self.shared.slot.lock() {
            *slot = None;
        }
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        // Not awaited: the task writes the last checkpoint offered and returns on its own.
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oss_multipart_core::{Download, DownloadConfig, Target};

    /// The checkpoint of a download whose HEAD answered (10 bytes, ETag "E").
    fn sample() -> Option<DownloadCheckpoint> {
        let target = Target::new("bucket", "key").ok()?;
        let now = std::time::Instant::now();
        let mut d = Download::new(target, DownloadConfig::default(), now, 1)
            .ok()?
            .with_checkpointing("local");
        let head = d.poll_request()?;
        let mut h = http::HeaderMap::new();
        h.insert("content-length", http::HeaderValue::from_static("10"));
        h.insert("etag", http::HeaderValue::from_static("\"E\""));
        d.handle_response(head.id, now, http::StatusCode::OK, &h, b"");
        d.checkpoint()
    }

    #[tokio::test]
    async fn a_dropped_saver_ends_its_task() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::start(dir.path().join("cp.json"));
        let task = saver
            .task
            .as_ref()
            .map(tokio::task::JoinHandle::abort_handle);
        drop(saver);
        let task = task.unwrap();
        for _ in 0..200 {
            if task.is_finished() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the saver task is still parked after its owner was dropped");
    }

    #[tokio::test]
    async fn a_failed_save_is_reported_then_cleared() {
        assert!(sample().is_some());
        let dir = tempfile::tempdir().unwrap();
        // A directory where the checkpoint file should be: every save fails.
        let path = dir.path().join("cp.json");
        std::fs::create_dir(&path).unwrap();
        let saver = Saver::start(path.clone());
        assert_eq!(saver.error(), None);
        saver.offer(true, sample);
        let mut error = None;
        for _ in 0..400 {
            error = saver.error();
            if error.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(error.is_some(), "the failed save was not reported");
        std::fs::remove_dir(&path).unwrap();
        saver.offer(true, sample);
        saver.close(false).await;
        assert!(
            path.is_file(),
            "the checkpoint was not written once possible"
        );
    }
}
