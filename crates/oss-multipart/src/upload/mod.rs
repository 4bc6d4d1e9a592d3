//! Upload builders ([`UploadBuilder`]) and their results ([`UploadOutput`]).
//!
//! The builder only collects options. The driver has three steps, the shape every transfer
//! of this crate follows: [`prepare`] (builder → started machine), [`run`] (the loop executing
//! what the machine of `oss-multipart-core` asks) and [`outcome`] (its events → the result).

mod outcome;
mod prepare;
mod run;
pub(crate) mod source;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use oss_model::ops::ServerSideEncryption;
use tokio::io::AsyncRead;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::Error;
use crate::manual::CallbackReply;
use crate::options::{ObjectAcl, ObjectOptions, OptionsError, StorageClass};
use crate::progress::Progress;

pub(crate) use source::Source;

/// What happens to uploaded parts when an upload fails, is cancelled or is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Abort the multipart upload (delete its parts). The default without a checkpoint
    /// directory.
    #[default]
    Abort,
    /// Keep the parts so the upload can be resumed (from a checkpoint or from the server with
    /// its upload id). Always used when a checkpoint directory is set.
    KeepParts,
}

/// Pauses and resumes a running upload from another task. Clone freely.
///
/// While paused no new request is started; requests already on the wire finish.
#[derive(Debug, Clone)]
pub struct PauseHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for PauseHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl PauseHandle {
    /// A handle in the running state.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Stops starting new requests.
    pub fn pause(&self) {
        self.tx.send_replace(true);
    }

    /// Starts issuing requests again.
    pub fn resume(&self) {
        self.tx.send_replace(false);
    }

    /// Whether paused.
    pub fn is_paused(&self) -> bool {
        *self.tx.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// The result of a successful upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutput {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The multipart upload id (`None` when the object went up in a single PutObject).
    pub upload_id: Option<String>,
    /// The object's ETag as OSS reported it.
    pub etag: String,
    /// CRC-64/XZ of the whole object (checked against OSS's when it reports one).
    pub crc64: u64,
    /// Object size in bytes.
    pub size: u64,
    /// Number of parts (1 for a single PutObject).
    pub parts: u32,
    /// Parts reused from an earlier attempt (resume) instead of being sent again.
    pub parts_reused: u32,
    /// Whether this upload continued an earlier one (checkpoint or server state).
    pub resumed: bool,
    /// `x-oss-request-id` of the final request (Complete or PutObject), when seen.
    pub request_id: Option<String>,
    /// The multipart upload of an earlier run of this file that was aborted before this one
    /// started: asked for with [`no_resume`](UploadBuilder::no_resume), or because the file
    /// changed since its checkpoint was written (its stored parts were of other bytes).
    pub aborted_upload_id: Option<String>,
    /// The callback's reply, when a callback was set: raw bytes with a JSON helper, and the
    /// callback's error when OSS answered `203 CallbackFailed` (the object exists).
    pub callback: Option<CallbackReply>,
}

pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How to start: fresh, from a checkpoint file, or by taking over an upload id.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    Fresh,
    Checkpoint(PathBuf),
    UploadId(String),
}

/// Configures and runs one upload. Get one from [`Client::upload_file`],
/// [`Client::upload_stream`], [`Client::resume`] or [`Client::resume_from_server`]; run it
/// with [`send`](Self::send) or `.await` ([`IntoFuture`]).
///
/// # Cancel safety and drop
///
/// Dropping the future stops every request of the upload at once. Unless parts are kept
/// ([`FailurePolicy::KeepParts`] or a [`checkpoint_dir`](Self::checkpoint_dir)), an
/// AbortMultipartUpload is then spawned on the current tokio runtime (best effort: if the
/// runtime is shutting down it may not run, and the parts stay until a lifecycle rule or
/// [`Client::abort_upload`] removes them). With a checkpoint directory the last saved
/// checkpoint stays on disk and the next run of the same upload resumes from it.
#[must_use = "an upload does nothing until `.send().await`"]
pub struct UploadBuilder {
    pub(crate) client: Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) source: Source,
    pub(crate) start: Start,
    pub(crate) part_size: Option<u64>,
    pub(crate) concurrency: usize,
    pub(crate) memory_budget: Option<u64>,
    pub(crate) options: ObjectOptions,
    /// The first invalid value given to a string setter, reported when the upload starts.
    pub(crate) option_error: Option<OptionsError>,
    pub(crate) guess_content_type: bool,
    pub(crate) checkpoint_dir: Option<PathBuf>,
    pub(crate) no_resume: bool,
    pub(crate) on_failure: FailurePolicy,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) bandwidth_limit: Option<u64>,
    pub(crate) cancellation: Option<CancellationToken>,
    pub(crate) pause: Option<PauseHandle>,
}

impl fmt::Debug for UploadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadBuilder")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("source", &self.source)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .finish_non_exhaustive()
    }
}

/// Default number of parts in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default part size (8 MiB).
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

impl UploadBuilder {
    pub(crate) fn new(
        client: Client,
        bucket: &str,
        key: &str,
        source: Source,
        start: Start,
    ) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
            start,
            part_size: None,
            concurrency: DEFAULT_CONCURRENCY,
            memory_budget: None,
            options: ObjectOptions::default(),
            option_error: None,
            guess_content_type: true,
            checkpoint_dir: None,
            no_resume: false,
            on_failure: FailurePolicy::Abort,
            progress: None,
            bandwidth_limit: None,
            cancellation: None,
            pause: None,
        }
    }

    /// Part size in bytes (100 KiB ..= 5 GiB; default 8 MiB, grown automatically when a file
    /// would need more than 10,000 parts). Streams start at this size and grow.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// Parts in flight at once (default 4).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Most bytes of part bodies buffered at once (streams) or in flight (default: part size ×
    /// concurrency). Memory use is bounded by this, never by the object size.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Upload parts strictly in order, one at a time, and ask OSS to enforce the order (the
    /// `sequential` sub-resource on Initiate).
    pub fn sequential(mut self, yes: bool) -> Self {
        self.options.sequential = yes;
        self
    }

    /// Every object option at once (replacing those set before): content headers, ACL, tags,
    /// storage class, metadata, encryption, traffic limit, `Content-MD5`, callback,
    /// `sequential`. They are validated when the upload starts, before any request, and each
    /// goes on the request OSS takes it on (see [`ObjectOptions::headers`]).
    pub fn options(mut self, options: ObjectOptions) -> Self {
        self.options = options;
        self
    }

    /// `Content-Type` of the object. Without it the type is guessed from the extension of the
    /// key, else of the file name (`photos/pic.jpg` is `image/jpeg`), unless
    /// [`guess_content_type(false)`](Self::guess_content_type); what has no known extension is
    /// `application/octet-stream`.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.options.content_type = Some(content_type.into());
        self
    }

    /// Whether to guess the `Content-Type` from the extension when none is given (default
    /// `true`, as the Go SDK v2's `FeatureAutoDetectMimeType`). With `false` the object is
    /// `application/octet-stream` unless [`content_type`](Self::content_type) says otherwise.
    pub fn guess_content_type(mut self, yes: bool) -> Self {
        self.guess_content_type = yes;
        self
    }

    /// Adds user metadata (`x-oss-meta-<name>`).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.metadata.push((name.into(), value.into()));
        self
    }

    /// Storage class (`Standard`, `IA`, `Archive`, `ColdArchive`, `DeepColdArchive`); an
    /// unknown name fails the upload before any request.
    pub fn storage_class(mut self, class: impl AsRef<str>) -> Self {
        match class.as_ref().parse::<StorageClass>() {
            Ok(c) => self.options.storage_class = Some(c),
            Err(e) => {
                self.option_error.get_or_insert(e);
            }
        }
        self
    }

    /// Server-side encryption.
    pub fn server_side_encryption(mut self, sse: ServerSideEncryption) -> Self {
        self.options.sse = Some(sse);
        self
    }

    /// Adds an object tag.
    pub fn tagging(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.tags.push((key.into(), value.into()));
        self
    }

    /// Refuse to overwrite an existing object (`x-oss-forbid-overwrite`).
    pub fn forbid_overwrite(mut self, yes: bool) -> Self {
        self.options.forbid_overwrite = yes;
        self
    }

    /// Object ACL set at completion (`private`, `public-read`, `public-read-write`,
    /// `default`); an unknown name fails the upload before any request.
    pub fn object_acl(mut self, acl: impl AsRef<str>) -> Self {
        match acl.as_ref().parse::<ObjectAcl>() {
            Ok(a) => self.options.acl = Some(a),
            Err(e) => {
                self.option_error.get_or_insert(e);
            }
        }
        self
    }

    /// Upload callback: the callback JSON (`{"callbackUrl": ..., "callbackBody": ...}`),
    /// sent base64-encoded in `x-oss-callback` on Complete (or the single PutObject). The
    /// reply is in [`UploadOutput::callback`]; a failed callback does not fail the upload.
    pub fn callback(mut self, callback_json: impl Into<String>) -> Self {
        self.options.callback = Some(callback_json.into());
        self
    }

    /// Callback variables: a JSON object of `x:`-prefixed names to strings.
    pub fn callback_var(mut self, vars_json: impl Into<String>) -> Self {
        self.options.callback_var = Some(vars_json.into());
        self
    }

    /// What to do with uploaded parts on failure, cancellation or drop.
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// Caps the upload's total send rate.
    pub fn bandwidth_limit(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth_limit = Some(bytes_per_sec.max(1));
        self
    }

    /// Runs the upload to its end.
    ///
    /// # Errors
    /// [`Error::Upload`] with the cause and, when resumable, the upload id and checkpoint path
    /// (a file whose size or modification time changed before its parts were combined fails
    /// with an integrity error, `IntegrityError::SourceChanged`, and is never completed; a
    /// stream that cannot be read fails with [`Error::Io`] as the cause, and the multipart
    /// upload is aborted unless parts are kept); [`Error::Cancelled`] after cancellation;
    /// [`Error::Config`] for invalid options (such as a part size outside 100 KiB ..= 5 GiB).
    pub async fn send(self) -> Result<UploadOutput, Error> {
        run::run(self).await
    }
}

transfer_setters!(
    UploadBuilder,
    checkpoint_dir = "Keep a checkpoint in `dir` (file sources): its name is derived from \
        bucket, key and the source's path, size and modification time, so running the same \
        upload again resumes it automatically (finished parts are verified against the local \
        file, not re-sent). Implies [`FailurePolicy::KeepParts`]. The checkpoint is removed \
        after success.",
    progress = "Called on every progress change (from the driver task: keep it quick).",
    cancellation = "Cancels the upload when `token` is cancelled (orderly: see the type docs).",
);

impl IntoFuture for UploadBuilder {
    type Output = Result<UploadOutput, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl Client {
    /// Uploads the file at `path` to `bucket`/`key`.
    ///
    /// Parts are streamed from the file with positional reads (no part is buffered whole) and
    /// checksummed on the fly. Files up to one part go up in a single PutObject.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("big.bin");
    /// std::fs::write(&path, vec![7u8; 500_000])?;
    ///
    /// let out = client
    ///     .upload_file("docs", "big.bin", &path)
    ///     .part_size(128 * 1024)
    ///     .concurrency(4)
    ///     .checkpoint_dir(dir.path().join("checkpoints"))
    ///     .progress(|p| eprintln!("{}/{:?} bytes", p.bytes_done, p.bytes_total))
    ///     .send()
    ///     .await?;
    /// assert_eq!((out.size, out.parts), (500_000, 4));
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, bucket: &str, key: &str, path: impl AsRef<Path>) -> UploadBuilder {
        UploadBuilder::new(
            self.clone(),
            bucket,
            key,
            Source::file(path.as_ref()),
            Start::Fresh,
        )
    }

    /// Uploads everything `reader` yields to `bucket`/`key` (size unknown in advance).
    ///
    /// Each part in flight is buffered once (a stream cannot be re-read for a retry), so memory
    /// is bounded by the [memory budget](UploadBuilder::memory_budget), by default concurrency ×
    /// part size. Parts keep the configured size for the first 1000 parts, then double every
    /// 1000 parts up to the budget, so very long streams fit in 10,000 parts (raise the budget
    /// for streams beyond a few hundred GB). Streams cannot be resumed after the process stops.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// let data: Vec<u8> = (0..350_000u32).map(|i| (i * 7 % 256) as u8).collect();
    /// let reader = std::io::Cursor::new(data.clone());
    /// let out = client
    ///     .upload_stream("docs", "streamed.bin", reader)
    ///     .part_size(100 * 1024)
    ///     .await?;
    /// assert_eq!(out.size, 350_000);
    /// assert_eq!(client.get_object("docs", "streamed.bin").await?, data);
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn upload_stream(
        &self,
        bucket: &str,
        key: &str,
        reader: impl AsyncRead + Send + Unpin + 'static,
    ) -> UploadBuilder {
        UploadBuilder::new(
            self.clone(),
            bucket,
            key,
            Source::stream(reader),
            Start::Fresh,
        )
    }

    /// Resumes the upload recorded in `checkpoint_file` (written by an earlier run with
    /// [`UploadBuilder::checkpoint_dir`]), reading the remaining parts from `path`, which must
    /// be unchanged (same size and modification time). Finished parts are re-verified against
    /// the local bytes and reused; the rest are uploaded.
    ///
    /// Bucket and key come from the checkpoint.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// use oss_multipart::CancellationToken;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f.bin");
    /// std::fs::write(&path, vec![1u8; 1_000_000])?;
    ///
    /// // A first run that is cancelled as soon as two parts are done.
    /// let token = CancellationToken::new();
    /// let t = token.clone();
    /// let err = client
    ///     .upload_file("docs", "f.bin", &path)
    ///     .part_size(102_400)
    ///     .concurrency(1)
    ///     .checkpoint_dir(dir.path())
    ///     .progress(move |p| if p.parts_done >= 2 { t.cancel() })
    ///     .cancellation(token)
    ///     .await
    ///     .unwrap_err();
    /// let checkpoint = err.checkpoint_path().expect("checkpoint saved").to_path_buf();
    ///
    /// let out = client.resume(&checkpoint, &path).await?;
    /// assert!(out.resumed && out.parts_reused >= 2);
    /// assert_eq!(client.get_object("docs", "f.bin").await?.len(), 1_000_000);
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn resume(
        &self,
        checkpoint_file: impl AsRef<Path>,
        path: impl AsRef<Path>,
    ) -> UploadBuilder {
        let cp = checkpoint_file.as_ref().to_path_buf();
        let mut b = UploadBuilder::new(
            self.clone(),
            "",
            "",
            Source::file(path.as_ref()),
            Start::Checkpoint(cp.clone()),
        );
        b.checkpoint_dir = cp.parent().map(Path::to_path_buf);
        b
    }

    /// Takes over the existing multipart upload `upload_id` of `bucket`/`key` from the
    /// server's state alone: its parts are listed, the ones whose size matches the plan and
    /// whose CRC-64 matches the local bytes of `path` are reused, the rest uploaded, then it is
    /// completed. Without an explicit [`part_size`](UploadBuilder::part_size), the size of the
    /// server's part 1 is used.
    pub fn resume_from_server(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        path: impl AsRef<Path>,
    ) -> UploadBuilder {
        UploadBuilder::new(
            self.clone(),
            bucket,
            key,
            Source::file(path.as_ref()),
            Start::UploadId(upload_id.to_owned()),
        )
    }
}
