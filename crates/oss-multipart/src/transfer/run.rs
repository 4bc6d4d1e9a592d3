//! Step two of a directory transfer: one per-file transfer per task, a few at a time, under one
//! byte budget.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures::StreamExt as _;
use tokio::sync::Semaphore;

use super::paths::crosses_symlink;
use super::{DirOutput, DirProgress, DirTransfer, Direction, FileAction, FileFailure, FileTask};
use crate::error::{Cancelled, Error};
use crate::progress::{Progress, RateMeter, eta};

/// The budget is counted in KiB so that a `u32` of permits covers terabytes.
const UNIT: u64 = 1024;

/// Progress of every file, summed.
#[derive(Debug)]
struct Totals {
    shown: DirProgress,
    /// Per file: (bytes confirmed, bytes on the wire).
    per_file: Vec<(u64, u64)>,
    meter: RateMeter,
}

impl Totals {
    /// File `index` has now confirmed `done` and moved `sent` bytes; returns the new totals.
    fn set(&mut self, index: usize, done: u64, sent: u64) -> DirProgress {
        let Some(slot) = self.per_file.get_mut(index) else {
            return self.shown.clone();
        };
        let (done_before, sent_before) = std::mem::replace(slot, (done, sent));
        let s = &mut self.shown;
        s.bytes_done = s
            .bytes_done
            .saturating_sub(done_before)
            .saturating_add(done);
        s.bytes_sent = s
            .bytes_sent
            .saturating_sub(sent_before)
            .saturating_add(sent);
        s.rate_bytes_per_sec = self.meter.record(Instant::now(), s.bytes_sent);
        s.eta = eta(
            Some(s.bytes_total.saturating_sub(s.bytes_sent)),
            s.rate_bytes_per_sec,
        );
        self.shown.clone()
    }
}

pub(super) async fn run(t: &DirTransfer, tasks: Vec<FileTask>) -> DirOutput {
    let (todo, skipped): (Vec<_>, Vec<_>) = tasks
        .into_iter()
        .partition(|task| task.action == FileAction::Transfer);
    let budget_units = t
        .memory_budget
        .div_ceil(UNIT)
        .clamp(1, u64::from(u32::MAX >> 4));
    let budget = Arc::new(Semaphore::new(
        usize::try_from(budget_units).unwrap_or(1 << 20),
    ));
    let totals = Arc::new(Mutex::new(Totals {
        shown: DirProgress {
            files_total: todo.len() as u64,
            bytes_total: todo.iter().map(|t| t.size).sum(),
            ..DirProgress::default()
        },
        per_file: vec![(0, 0); todo.len()],
        meter: RateMeter::new(Instant::now(), 0),
    }));
    let results: Vec<(FileTask, Result<(), Error>)> =
        futures::stream::iter(todo.into_iter().enumerate())
            .map(|(index, task)| {
                let budget = budget.clone();
                let totals = totals.clone();
                async move {
                    let share = share(t, task.size).div_ceil(UNIT).clamp(1, budget_units);
                    let permits = u32::try_from(share).unwrap_or(u32::MAX);
                    let result = tokio::select! {
                        biased;
                        () = t.cancellation.cancelled() => Err(cancelled()),
                        permit = budget.acquire_many(permits) => match permit {
                            Ok(_permit) => transfer_one(t, &task, index, &totals).await,
                            Err(_) => Err(cancelled()),
                        },
                    };
                    let snapshot = {
                        let mut totals = totals.lock().unwrap_or_else(PoisonError::into_inner);
                        match &result {
                            Ok(()) => {
                                totals.shown.files_done += 1;
                                totals.set(index, task.size, task.size)
                            }
                            Err(_) => {
                                totals.shown.files_failed += 1;
                                totals.shown.clone()
                            }
                        }
                    };
                    if let Some(f) = &t.progress {
                        f(&snapshot);
                    }
                    (task, result)
                }
            })
            .buffer_unordered(t.files_in_parallel)
            .collect()
            .await;
    let mut out = DirOutput {
        skipped,
        ..DirOutput::default()
    };
    for (task, result) in results {
        match result {
            Ok(()) => out.transferred.push(task),
            Err(error) => out.failed.push(FileFailure {
                path: task.path,
                key: task.key,
                error,
            }),
        }
    }
    out.transferred.sort_by(|a, b| a.key.cmp(&b.key));
    out.failed.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn cancelled() -> Error {
    Error::Cancelled(Cancelled {
        upload_id: None,
        checkpoint: None,
    })
}

fn part_size(t: &DirTransfer) -> u64 {
    t.part_size.unwrap_or(match t.direction {
        Direction::Upload => crate::upload::DEFAULT_PART_SIZE,
        Direction::Download => crate::download::DEFAULT_DOWNLOAD_PART_SIZE,
    })
}

/// Bytes of buffers a file may hold at once: all of a small one, part size × per-file
/// concurrency for a big one.
fn share(t: &DirTransfer, size: u64) -> u64 {
    size.min(part_size(t).saturating_mul(t.concurrency as u64))
}

/// One file through the per-file machine, its progress added to the totals.
async fn transfer_one(
    t: &DirTransfer,
    task: &FileTask,
    index: usize,
    totals: &Arc<Mutex<Totals>>,
) -> Result<(), Error> {
    let progress = {
        let totals = totals.clone();
        let user = t.progress.clone();
        move |p: &Progress| {
            let snapshot = totals.lock().unwrap_or_else(PoisonError::into_inner).set(
                index,
                p.bytes_done,
                p.bytes_sent,
            );
            if let Some(f) = &user {
                f(&snapshot);
            }
        }
    };
    let token = t.cancellation.child_token();
    match t.direction {
        Direction::Upload => {
            let mut b = t
                .client
                .upload_file(&t.bucket, &task.key, &task.path)
                .concurrency(t.concurrency)
                .cancellation(token)
                .progress(progress);
            if let Some(p) = t.part_size {
                b = b.part_size(p);
            }
            if task.size > part_size(t) {
                b = b.memory_budget(share(t, task.size));
            }
            if let Some(dir) = &t.checkpoint_dir {
                b = b.checkpoint_dir(dir.clone());
            }
            b.send().await.map(|_| ())
        }
        Direction::Download => {
            let rel = task.path.strip_prefix(&t.dir).unwrap_or(&task.path);
            if crosses_symlink(&t.dir, rel) {
                return Err(Error::config(
                    "key",
                    format!(
                        "{} would be written through a symbolic link",
                        task.path.display()
                    ),
                ));
            }
            if let Some(parent) = task.path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| Error::io("could not create the directory", Some(parent), e))?;
            }
            let mut b = t
                .client
                .download(&t.bucket, &task.key)
                .concurrency(t.concurrency)
                .cancellation(token)
                .progress(progress);
            if let Some(p) = t.part_size {
                b = b.part_size(p);
            }
            if let Some(dir) = &t.checkpoint_dir {
                b = b.checkpoint_dir(dir.clone());
            }
            b.to_file(&task.path).await.map(|_| ())
        }
    }
}
