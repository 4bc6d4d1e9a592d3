//! Many files at once: [`Client::upload_dir`] and [`Client::download_prefix`].
//!
//! The transfer manager only decides *which* files move and *when*: it lists the local tree
//! or the bucket, filters with include/exclude globs, compares for `update`, then runs one
//! per-file upload ([`Client::upload_file`]) or download ([`Client::download`]) per file. Part
//! sizes, retries, resume and CRC-64 checks stay those machines' business. Files run a few at
//! a time under one byte budget shared by all of them (small files go together, a big one takes
//! a larger share), a failed file does not stop the others, and every failure is reported with
//! its cause.

mod paths;
mod plan;
mod run;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::Error;

/// Which way a [`DirTransfer`] moves files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
}

/// When `update` skips a file that is already at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UpdateMode {
    /// Transfer every file (the default).
    #[default]
    Always,
    /// Skip a file whose size and CRC-64 equal the other side's (reads the local file once).
    SizeAndCrc64,
    /// Skip a file whose size is equal and whose destination is not older than its source
    /// (no reading, trusts clocks).
    SizeAndMtime,
}

/// What to do with symbolic links met while walking a local directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SymlinkPolicy {
    /// Upload what links point to (links to directories are walked, each directory once).
    #[default]
    Follow,
    /// Leave links out, and list them as skipped.
    Skip,
}

/// Progress of a whole directory transfer, passed to [`DirTransfer::progress`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DirProgress {
    /// Files to transfer (after filters and `update`).
    pub files_total: u64,
    /// Files finished.
    pub files_done: u64,
    /// Files that failed.
    pub files_failed: u64,
    /// Bytes of the files to transfer.
    pub bytes_total: u64,
    /// Bytes confirmed so far: the per-file transfers' `bytes_done`, summed (see
    /// [`Progress`](crate::Progress)).
    pub bytes_done: u64,
    /// Bytes on the wire so far: the per-file transfers' `bytes_sent`, summed. It may fall
    /// back when a part is retried; never below `bytes_done`.
    pub bytes_sent: u64,
    /// Recent rate of `bytes_sent` over all files, in bytes per second (the last few seconds).
    pub rate_bytes_per_sec: f64,
    /// Estimated time to completion at that rate, once a rate is known.
    pub eta: Option<std::time::Duration>,
}

/// One file of a directory transfer and what will happen to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileTask {
    /// The local file.
    pub path: PathBuf,
    /// The object key.
    pub key: String,
    /// Size of the source (file or object).
    pub size: u64,
    /// Transfer, skip, or refuse.
    pub action: FileAction,
}

/// What happens to one [`FileTask`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileAction {
    /// It is transferred.
    Transfer,
    /// `update` found it unchanged at the destination.
    Unchanged,
    /// A symbolic link left out by [`SymlinkPolicy::Skip`].
    Symlink,
    /// It cannot be transferred safely, for the reason given: a key that is no safe local path
    /// (`..`, absolute, NUL), a file name that is not UTF-8.
    Refused(String),
}

/// A file that failed, with its cause.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileFailure {
    /// The local file.
    pub path: PathBuf,
    /// The object key.
    pub key: String,
    /// Why.
    pub error: Error,
}

/// The result of [`DirTransfer::send`]: every file, in one of three lists.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct DirOutput {
    /// Files transferred (each verified by its per-file transfer).
    pub transferred: Vec<FileTask>,
    /// Files not transferred: unchanged, skipped links, refused names (see [`FileTask::action`]).
    pub skipped: Vec<FileTask>,
    /// Files that failed, with their cause. Cancelled files are here too
    /// ([`Error::is_cancelled`]); re-running resumes them.
    pub failed: Vec<FileFailure>,
}

impl DirOutput {
    /// True when nothing failed and nothing was refused.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
            && !self
                .skipped
                .iter()
                .any(|t| matches!(t.action, FileAction::Refused(_)))
    }

    /// Bytes transferred.
    pub fn bytes(&self) -> u64 {
        self.transferred.iter().map(|t| t.size).sum()
    }
}

pub(crate) type DirProgressFn = Arc<dyn Fn(&DirProgress) + Send + Sync>;

/// A directory upload or a prefix download. Made by [`Client::upload_dir`] or
/// [`Client::download_prefix`]; see [`plan`](Self::plan) for a dry run and
/// [`send`](Self::send) to run it.
#[must_use = "a directory transfer does nothing until `send` is awaited"]
pub struct DirTransfer {
    client: Client,
    direction: Direction,
    bucket: String,
    prefix: String,
    dir: PathBuf,
    include: Vec<String>,
    exclude: Vec<String>,
    update: UpdateMode,
    symlinks: SymlinkPolicy,
    files_in_parallel: usize,
    memory_budget: u64,
    part_size: Option<u64>,
    concurrency: usize,
    checkpoint_dir: Option<PathBuf>,
    progress: Option<DirProgressFn>,
    cancellation: CancellationToken,
}

impl fmt::Debug for DirTransfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirTransfer")
            .field("direction", &self.direction)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("dir", &self.dir)
            .field("include", &self.include)
            .field("exclude", &self.exclude)
            .field("update", &self.update)
            .field("files_in_parallel", &self.files_in_parallel)
            .field("memory_budget", &self.memory_budget)
            .finish_non_exhaustive()
    }
}

/// Files in flight at once by default. A small file is one request whose time is mostly the
/// round trip, so many must be in flight to fill a real link (32 requests of 40 MiB/s with
/// 20 ms each fill 400 MiB/s); big files are held back by the byte budget, not by this.
const DEFAULT_FILES_IN_PARALLEL: usize = 32;
/// Bytes of part buffers shared by every file in flight, by default.
const DEFAULT_MEMORY_BUDGET: u64 = 256 << 20;

impl Client {
    /// Uploads every file under `local_dir` to `bucket`, each as `prefix` + its path relative to
    /// `local_dir` with `/` separators (`prefix` should end with `/`). Run with
    /// [`DirTransfer::send`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::create_dir_all(dir.path().join("a/b"))?;
    /// std::fs::write(dir.path().join("a/b/one.txt"), "one")?;
    /// std::fs::write(dir.path().join("two.log"), "two")?;
    /// let out = client.upload_dir(dir.path(), "docs", "site/").exclude("*.log").send().await?;
    /// assert!(out.is_complete());
    /// assert_eq!(out.transferred[0].key, "site/a/b/one.txt");
    ///
    /// let back = tempfile::tempdir()?;
    /// client.download_prefix("docs", "site/", back.path()).send().await?;
    /// assert_eq!(std::fs::read(back.path().join("a/b/one.txt"))?, b"one");
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn upload_dir(
        &self,
        local_dir: impl Into<PathBuf>,
        bucket: &str,
        prefix: &str,
    ) -> DirTransfer {
        DirTransfer::new(self, Direction::Upload, local_dir.into(), bucket, prefix)
    }

    /// Downloads every object under `prefix` of `bucket` into `local_dir`, each at its key
    /// minus `prefix`. Keys that are no safe relative path (`..` segments, absolute, NUL,
    /// backslashes) are refused and reported; nothing is ever written outside `local_dir`.
    pub fn download_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        local_dir: impl Into<PathBuf>,
    ) -> DirTransfer {
        DirTransfer::new(self, Direction::Download, local_dir.into(), bucket, prefix)
    }
}

impl DirTransfer {
    fn new(
        client: &Client,
        direction: Direction,
        dir: PathBuf,
        bucket: &str,
        prefix: &str,
    ) -> Self {
        Self {
            client: client.clone(),
            direction,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            dir,
            include: Vec::new(),
            exclude: Vec::new(),
            update: UpdateMode::Always,
            symlinks: SymlinkPolicy::Follow,
            files_in_parallel: DEFAULT_FILES_IN_PARALLEL,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            part_size: None,
            concurrency: 4,
            checkpoint_dir: None,
            progress: None,
            cancellation: CancellationToken::new(),
        }
    }

    /// Only files whose relative path (with `/`) matches this glob (`*.jpg`, `photos/**`);
    /// repeatable (any one matching is enough). A glob without `/` matches the file name at
    /// any depth.
    pub fn include(mut self, glob: impl Into<String>) -> Self {
        self.include.push(glob.into());
        self
    }

    /// Leaves out files matching this glob; repeatable. Exclusion wins over inclusion.
    pub fn exclude(mut self, glob: impl Into<String>) -> Self {
        self.exclude.push(glob.into());
        self
    }

    /// Skips files already at the destination (see [`UpdateMode`]).
    pub fn update(mut self, mode: UpdateMode) -> Self {
        self.update = mode;
        self
    }

    /// Symbolic links (uploads): follow (default) or skip.
    pub fn symlinks(mut self, policy: SymlinkPolicy) -> Self {
        self.symlinks = policy;
        self
    }

    /// Files transferred at once (default 32).
    pub fn files_in_parallel(mut self, files: usize) -> Self {
        self.files_in_parallel = files.max(1);
        self
    }

    /// Bytes of buffers shared by every file in flight (default 256 MiB): a file waits until
    /// its share (its size, or part size × per-file concurrency for a big one) is free.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes.max(1);
        self
    }

    /// Part (upload) or range (download) size for big files.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// Parts or ranges in flight per big file (default 4).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Keeps per-file checkpoints here, so an interrupted big file resumes its parts.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Called with the aggregated progress whenever a file reports some.
    pub fn progress(mut self, f: impl Fn(&DirProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Cancels the whole transfer: files in flight stop (keeping what resumes them), no new
    /// file starts, and every unfinished file is listed in [`DirOutput::failed`].
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// What [`send`](Self::send) would do, file by file, without transferring anything
    /// (listing, filtering and the `update` comparison happen): a dry run.
    ///
    /// # Errors
    /// A bad glob ([`Error::is_usage`]), an unreadable directory, a failed listing.
    pub async fn plan(&self) -> Result<Vec<FileTask>, Error> {
        plan::plan(self).await
    }

    /// Runs the transfer. Failures of single files do not stop the others: they are in
    /// [`DirOutput::failed`], so check [`DirOutput::is_complete`].
    ///
    /// # Errors
    /// Only what stops everything: as [`plan`](Self::plan).
    pub async fn send(self) -> Result<DirOutput, Error> {
        let tasks = plan::plan(&self).await?;
        Ok(run::run(&self, tasks).await)
    }
}
