//! The on-disk storage engine.
//!
//! Layout under the data directory (every name is server-generated, so no key can escape it):
//!
//! ```text
//! LOCK                                   held while a server uses the directory
//! tmp/                                   files being written; wiped at start-up
//! buckets/<bucket>/bucket.json           bucket marker (bucket names are [a-z0-9-] only)
//! buckets/<bucket>/objects/<sha256(key)>.json   object metadata, incl. its segment list
//! buckets/<bucket>/blobs/<blob-id>/...   object bodies (one file, or the parts of an upload)
//! buckets/<bucket>/uploads/<upload-id>/upload.json     the upload
//! buckets/<bucket>/uploads/<upload-id>/<n>.json        part metadata (names its data file;
//!                                                      none in discard mode, see below)
//! buckets/<bucket>/uploads/<upload-id>/<n>-<uniq>.part part data
//! ```
//!
//! Crash safety: every file is written in `tmp/` (fsynced when configured) and renamed into
//! place, so each metadata file is either old or new. A part becomes visible when its `.json`
//! is renamed; Complete writes the object metadata into the upload directory as
//! `complete.json`, renames the upload directory into `blobs/`, then renames `complete.json`
//! into `objects/`. Start-up finishes a completion whose directory was already moved,
//! forgets one that was not (the client never got an answer, the upload is still there), and
//! deletes unreferenced files. An in-memory index mirrors the disk and is rebuilt at start-up.
//!
//! Discard storage keeps part metadata in the index only (the part bodies are not kept
//! either), so an upload in progress comes back after a restart without its parts; uploads,
//! completed objects and their segment lists are persisted as in disk mode.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Metadata of a stored part.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartMeta {
    pub(crate) number: u32,
    /// Data file name inside the upload (or blob) directory; `None` in discard mode.
    pub(crate) file: Option<String>,
    pub(crate) size: u64,
    /// Quoted upper-hex ETag.
    pub(crate) etag: String,
    pub(crate) crc64: u64,
    pub(crate) last_modified: i64,
}

/// What an object carries beside its bytes and user metadata: stored response headers
/// (standard headers, storage class, server-side encryption), its ACL and its tags. Taken
/// from PutObject, or from InitiateMultipartUpload for a multipart object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attrs {
    /// Lower-case header names with their values, returned by HEAD and GET.
    #[serde(default)]
    pub(crate) headers: Vec<(String, String)>,
    /// `private`, `public-read`, `public-read-write`; `None` is `default` (the bucket's).
    #[serde(default)]
    pub(crate) acl: Option<String>,
    /// Tags, in the order they were given.
    #[serde(default)]
    pub(crate) tags: Vec<(String, String)>,
}

impl Attrs {
    /// The stored value of `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Metadata of an upload in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadMeta {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) initiated: i64,
    /// Order of initiation, to list uploads of one key in order.
    pub(crate) seq: u64,
    pub(crate) sequential: bool,
    pub(crate) content_type: String,
    pub(crate) user_meta: Vec<(String, String)>,
    #[serde(default)]
    pub(crate) attrs: Attrs,
}

/// One piece of an object body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Segment {
    /// File name inside the blob directory; `None` = discarded (reads as zeros).
    pub(crate) file: Option<String>,
    pub(crate) size: u64,
}

/// Metadata of a stored object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) etag: String,
    pub(crate) crc64: u64,
    pub(crate) multipart: bool,
    pub(crate) content_type: String,
    pub(crate) user_meta: Vec<(String, String)>,
    pub(crate) last_modified: i64,
    pub(crate) blob: String,
    pub(crate) segments: Vec<Segment>,
    #[serde(default)]
    pub(crate) attrs: Attrs,
    /// Written by AppendObject (object type `Appendable`).
    #[serde(default)]
    pub(crate) appendable: bool,
}

impl ObjectMeta {
    /// `x-oss-object-type`.
    pub(crate) fn object_type(&self) -> &'static str {
        if self.appendable {
            "Appendable"
        } else if self.multipart {
            "Multipart"
        } else {
            "Normal"
        }
    }
}

/// Why an append was refused (decided under the store lock).
pub(crate) enum AppendReject {
    /// The object exists and was not written by AppendObject.
    NotAppendable,
    /// `position` is not the object's length, which is given.
    Position(u64),
}

struct Upload {
    meta: UploadMeta,
    parts: BTreeMap<u32, PartMeta>,
}

/// `bucket.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct BucketMeta {
    /// Creation time (unix seconds); 0 for buckets of older data directories.
    #[serde(default)]
    pub(crate) created: i64,
}

#[derive(Default)]
struct Bucket {
    meta: BucketMeta,
    objects: BTreeMap<String, ObjectMeta>,
    uploads: HashMap<String, Upload>,
}

#[derive(Default)]
struct State {
    buckets: BTreeMap<String, Bucket>,
}

impl State {
    /// The upload `upload_id` of `bucket`, if it is for `key`.
    fn upload_mut(
        &mut self,
        bucket: &str,
        upload_id: &str,
        key: &str,
    ) -> Result<&mut Upload, StoreError> {
        self.buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?
            .uploads
            .get_mut(upload_id)
            .filter(|u| u.meta.key == key)
            .ok_or(StoreError::NoSuchUpload)
    }
}

/// Why a store operation failed (mapped to OSS errors by the handlers).
#[derive(Debug)]
pub(crate) enum StoreError {
    NoSuchBucket,
    BucketNotEmpty,
    NoSuchUpload,
    NoSuchKey,
    Io(io::Error),
}

impl From<io::Error> for StoreError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// A part's body already written to a temp file (or discarded), ready to commit.
pub(crate) struct StagedBody {
    pub(crate) temp: Option<PathBuf>,
    pub(crate) size: u64,
    pub(crate) etag: String,
    pub(crate) crc64: u64,
}

/// The storage engine. All methods block (call them from `spawn_blocking`).
pub(crate) struct Store {
    /// Held (locked) for the store's lifetime: one server per data directory.
    _lock: fs::File,
    root: PathBuf,
    fsync: bool,
    state: Mutex<State>,
    counter: AtomicU64,
    nonce: u64,
}

fn other(msg: &str) -> io::Error {
    io::Error::other(msg.to_owned())
}

impl Store {
    /// Opens (creating if needed) and recovers the data directory.
    pub(crate) fn open(root: &Path, fsync: bool) -> io::Result<Self> {
        fs::create_dir_all(root.join("buckets"))?;
        let lock = lock_data_dir(root)?;
        let tmp = root.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        let store = Self {
            _lock: lock,
            root: root.to_owned(),
            fsync,
            state: Mutex::new(State::default()),
            counter: AtomicU64::new(0),
            nonce: rand::random(),
        };
        let mut state = State::default();
        let mut max_seq = 0;
        for entry in fs::read_dir(root.join("buckets"))? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !entry.path().join("bucket.json").exists() {
                continue;
            }
            let bucket = store.recover_bucket(&name, &mut max_seq)?;
            state.buckets.insert(name, bucket);
        }
        store.counter.store(max_seq + 1, Ordering::SeqCst);
        *store.lock() = state;
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way the disk
        // disagrees with (each update is one insert/remove), so poisoning is ignored.
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join("buckets").join(bucket)
    }

    /// A unique name: a per-process random nonce plus a counter.
    pub(crate) fn unique(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{:016X}{:016X}", self.nonce, n)
    }

    fn next_seq(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    /// A fresh path in `tmp/`.
    pub(crate) fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(self.unique())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.fsync {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Writes `bytes` to a temp file, then renames it to `dest` (atomic replace).
    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> io::Result<()> {
        let temp = self.temp_path();
        {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            if self.fsync {
                file.sync_all()?;
            }
        }
        fs::rename(&temp, dest)?;
        if let Some(parent) = dest.parent() {
            self.sync_dir(parent)?;
        }
        Ok(())
    }

    fn write_json<T: Serialize>(&self, dest: &Path, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| other(&e.to_string()))?;
        self.write_atomic(dest, &bytes)
    }

    fn recover_bucket(&self, name: &str, max_seq: &mut u64) -> io::Result<Bucket> {
        let dir = self.bucket_dir(name);
        for sub in ["objects", "blobs", "uploads"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        // 1. Finish completions whose upload directory was already moved into blobs/.
        for entry in fs::read_dir(dir.join("blobs"))? {
            let entry = entry?;
            let intent = entry.path().join("complete.json");
            if intent.exists() {
                let meta: ObjectMeta = read_json(&intent)?;
                fs::rename(&intent, dir.join("objects").join(object_file(&meta.key)))?;
            }
        }
        // 2. Objects.
        let mut bucket = Bucket {
            meta: read_json(&dir.join("bucket.json"))?,
            ..Bucket::default()
        };
        let mut referenced = HashSet::new();
        for entry in fs::read_dir(dir.join("objects"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let meta: ObjectMeta = read_json(&path)?;
                referenced.insert(meta.blob.clone());
                bucket.objects.insert(meta.key.clone(), meta);
            }
        }
        // 3. Garbage: blobs no object references (replaced objects, interrupted puts).
        for entry in fs::read_dir(dir.join("blobs"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !referenced.contains(&name) {
                fs::remove_dir_all(entry.path())?;
            }
        }
        // 4. Uploads: drop unanswered completion intents and unreferenced part files.
        for entry in fs::read_dir(dir.join("uploads"))? {
            let upload_dir = entry?.path();
            let meta_path = upload_dir.join("upload.json");
            if !meta_path.exists() {
                fs::remove_dir_all(&upload_dir)?;
                continue;
            }
            let _ = fs::remove_file(upload_dir.join("complete.json"));
            let meta: UploadMeta = read_json(&meta_path)?;
            *max_seq = (*max_seq).max(meta.seq);
            let mut parts = BTreeMap::new();
            let mut files = Vec::new();
            for part_entry in fs::read_dir(&upload_dir)? {
                let path = part_entry?.path();
                let fname = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if fname == "upload.json" {
                    continue;
                }
                if fname.ends_with(".json") {
                    let part: PartMeta = read_json(&path)?;
                    parts.insert(part.number, part);
                } else {
                    files.push(fname);
                }
            }
            let used: HashSet<&str> = parts.values().filter_map(|p| p.file.as_deref()).collect();
            for fname in &files {
                if !used.contains(fname.as_str()) {
                    fs::remove_file(upload_dir.join(fname))?;
                }
            }
            bucket
                .uploads
                .insert(meta.id.clone(), Upload { meta, parts });
        }
        Ok(bucket)
    }

    /// Creates a bucket (idempotent).
    pub(crate) fn create_bucket(&self, name: &str, now: i64) -> io::Result<()> {
        let mut state = self.lock();
        if state.buckets.contains_key(name) {
            return Ok(());
        }
        let dir = self.bucket_dir(name);
        for sub in ["objects", "blobs", "uploads"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let meta = BucketMeta { created: now };
        self.write_json(&dir.join("bucket.json"), &meta)?;
        state.buckets.insert(
            name.to_owned(),
            Bucket {
                meta,
                ..Bucket::default()
            },
        );
        Ok(())
    }

    /// Every bucket with its metadata, by name.
    pub(crate) fn list_buckets(&self) -> Vec<(String, BucketMeta)> {
        let state = self.lock();
        state
            .buckets
            .iter()
            .map(|(name, b)| (name.clone(), b.meta.clone()))
            .collect()
    }

    /// The metadata of one bucket.
    pub(crate) fn bucket_meta(&self, name: &str) -> Result<BucketMeta, StoreError> {
        let state = self.lock();
        state
            .buckets
            .get(name)
            .map(|b| b.meta.clone())
            .ok_or(StoreError::NoSuchBucket)
    }

    /// Deletes an empty bucket (no objects, no uploads in progress).
    pub(crate) fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state.buckets.get(name).ok_or(StoreError::NoSuchBucket)?;
        if !b.objects.is_empty() || !b.uploads.is_empty() {
            return Err(StoreError::BucketNotEmpty);
        }
        // Unlink the marker first: that is the commit point (start-up skips a bucket
        // directory without it); the rest is removed at leisure.
        let dir = self.bucket_dir(name);
        fs::remove_file(dir.join("bucket.json"))?;
        state.buckets.remove(name);
        drop(state);
        let doomed = self.temp_path();
        if fs::rename(&dir, &doomed).is_ok() {
            let _ = fs::remove_dir_all(doomed);
        }
        Ok(())
    }

    pub(crate) fn bucket_exists(&self, name: &str) -> bool {
        self.lock().buckets.contains_key(name)
    }

    // ---------- objects ----------

    pub(crate) fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        let state = self.lock();
        let b = state.buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        b.objects.get(key).cloned().ok_or(StoreError::NoSuchKey)
    }

    pub(crate) fn object_exists(&self, bucket: &str, key: &str) -> bool {
        self.head(bucket, key).is_ok()
    }

    /// Absolute path of a segment's data file.
    pub(crate) fn segment_path(&self, bucket: &str, meta: &ObjectMeta, file: &str) -> PathBuf {
        self.bucket_dir(bucket)
            .join("blobs")
            .join(&meta.blob)
            .join(file)
    }

    /// Stores a single-file object. `forbid_overwrite` is checked under the lock.
    pub(crate) fn put_object(
        &self,
        bucket: &str,
        mut meta: ObjectMeta,
        body: StagedBody,
        forbid_overwrite: bool,
    ) -> Result<Result<(), ()>, StoreError> {
        let blob = self.unique();
        let dir = self.bucket_dir(bucket);
        let blob_dir = dir.join("blobs").join(&blob);
        meta.blob = blob;
        meta.segments = vec![Segment {
            file: body.temp.as_ref().map(|_| "data".to_owned()),
            size: body.size,
        }];
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        if forbid_overwrite && b.objects.contains_key(&meta.key) {
            if let Some(temp) = &body.temp {
                let _ = fs::remove_file(temp);
            }
            return Ok(Err(()));
        }
        fs::create_dir_all(&blob_dir)?;
        if let Some(temp) = &body.temp {
            fs::rename(temp, blob_dir.join("data"))?;
            self.sync_dir(&blob_dir)?;
        }
        self.install(bucket, b, meta)?;
        Ok(Ok(()))
    }

    /// Makes `meta` the current object for its key and removes the old body.
    fn install(&self, bucket: &str, b: &mut Bucket, meta: ObjectMeta) -> io::Result<()> {
        let dir = self.bucket_dir(bucket);
        self.write_json(&dir.join("objects").join(object_file(&meta.key)), &meta)?;
        self.replace_in_index(bucket, b, meta);
        Ok(())
    }

    fn replace_in_index(&self, bucket: &str, b: &mut Bucket, meta: ObjectMeta) {
        if let Some(old) = b.objects.insert(meta.key.clone(), meta) {
            // Best effort: a leftover is collected at the next start-up.
            let _ = fs::remove_dir_all(self.bucket_dir(bucket).join("blobs").join(&old.blob));
        }
    }

    /// Appends a body at `position` (AppendObject). `first` builds the object when the key is
    /// new; the segment file is renamed in first, then the object metadata is replaced
    /// atomically (the commit point).
    pub(crate) fn append(
        &self,
        bucket: &str,
        key: &str,
        position: u64,
        body: StagedBody,
        first: ObjectMeta,
        now: i64,
    ) -> Result<Result<ObjectMeta, AppendReject>, StoreError> {
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        let mut meta = match b.objects.get(key) {
            Some(existing) if !existing.appendable => {
                discard_temp(&body);
                return Ok(Err(AppendReject::NotAppendable));
            }
            Some(existing) => existing.clone(),
            None => ObjectMeta {
                blob: self.unique(),
                ..first
            },
        };
        if position != meta.size {
            discard_temp(&body);
            return Ok(Err(AppendReject::Position(meta.size)));
        }
        let blob_dir = self.bucket_dir(bucket).join("blobs").join(&meta.blob);
        fs::create_dir_all(&blob_dir)?;
        let file = body
            .temp
            .as_ref()
            .map(|_| format!("{}", meta.segments.len()));
        if let (Some(temp), Some(file)) = (&body.temp, &file) {
            fs::rename(temp, blob_dir.join(file))?;
            self.sync_dir(&blob_dir)?;
        }
        let mut crc = oss_model::crc64::Crc64Combiner::new();
        crc.push(meta.crc64, meta.size);
        crc.push(body.crc64, body.size);
        meta.crc64 = crc.finish();
        meta.size += body.size;
        meta.segments.push(Segment {
            file,
            size: body.size,
        });
        meta.etag = crate::body::fast_etag(meta.crc64, meta.size);
        meta.last_modified = now;
        let dir = self.bucket_dir(bucket);
        self.write_json(&dir.join("objects").join(object_file(key)), &meta)?;
        b.objects.insert(key.to_owned(), meta.clone());
        Ok(Ok(meta))
    }

    /// Changes an object's attributes (ACL, tags) in place: the metadata file is replaced
    /// atomically, the body is untouched.
    pub(crate) fn update_attrs(
        &self,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut Attrs),
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        let meta = b.objects.get_mut(key).ok_or(StoreError::NoSuchKey)?;
        let mut updated = meta.clone();
        change(&mut updated.attrs);
        let dir = self.bucket_dir(bucket);
        self.write_json(&dir.join("objects").join(object_file(key)), &updated)?;
        *meta = updated;
        Ok(())
    }

    pub(crate) fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        if let Some(old) = b.objects.remove(key) {
            let dir = self.bucket_dir(bucket);
            fs::remove_file(dir.join("objects").join(object_file(key)))?;
            self.sync_dir(&dir.join("objects"))?;
            let _ = fs::remove_dir_all(dir.join("blobs").join(&old.blob));
        }
        Ok(())
    }

    /// Objects with `key > after` and the given prefix, in key order, at most `limit + 1`
    /// (the caller detects truncation).
    pub(crate) fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let state = self.lock();
        let b = state.buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        Ok(b.objects
            .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .filter(|(k, _)| k.starts_with(prefix))
            .take(limit.saturating_add(1))
            .map(|(_, v)| v.clone())
            .collect())
    }

    // ---------- uploads ----------

    pub(crate) fn initiate(
        &self,
        bucket: &str,
        mut meta: UploadMeta,
    ) -> Result<UploadMeta, StoreError> {
        meta.seq = self.next_seq();
        // The initiation order first, then randomness: the ids of one key sort by initiation
        // time, as OSS's do (clients and the oss2 iterator tests rely on it).
        meta.id = format!("{:016X}{:016X}", meta.seq, rand::random::<u64>());
        let dir = self.bucket_dir(bucket).join("uploads").join(&meta.id);
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        fs::create_dir_all(&dir)?;
        self.write_json(&dir.join("upload.json"), &meta)?;
        self.sync_dir(&dir.join(".."))?;
        b.uploads.insert(
            meta.id.clone(),
            Upload {
                meta: meta.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(meta)
    }

    pub(crate) fn upload(
        &self,
        bucket: &str,
        upload_id: &str,
    ) -> Result<(UploadMeta, Option<u32>), StoreError> {
        let state = self.lock();
        let b = state.buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        let u = b.uploads.get(upload_id).ok_or(StoreError::NoSuchUpload)?;
        Ok((u.meta.clone(), u.parts.keys().next_back().copied()))
    }

    /// Commits a part: its data file, then its metadata (the commit point). The last commit for
    /// a part number wins; the loser's data file is removed.
    pub(crate) fn commit_part(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        number: u32,
        body: StagedBody,
        now: i64,
    ) -> Result<PartMeta, StoreError> {
        let dir = self.bucket_dir(bucket).join("uploads").join(upload_id);
        let file = body
            .temp
            .as_ref()
            .map(|_| format!("{number}-{}.part", self.unique()));
        let part = PartMeta {
            number,
            file: file.clone(),
            size: body.size,
            etag: body.etag,
            crc64: body.crc64,
            last_modified: now,
        };
        if body.temp.is_none() {
            return self.index_part(bucket, upload_id, key, &dir, part);
        }
        // The metadata file is written and synced before taking the lock, so the lock only
        // covers two renames and the index update.
        let json = serde_json::to_vec(&part).map_err(|e| other(&e.to_string()))?;
        let json_temp = self.temp_path();
        {
            let mut f = fs::File::create(&json_temp)?;
            f.write_all(&json)?;
            if self.fsync {
                f.sync_all()?;
            }
        }
        let committed = self.install_part(
            bucket,
            upload_id,
            key,
            &dir,
            body.temp.as_deref(),
            &file,
            &json_temp,
            &part,
        );
        if committed.is_err() {
            let _ = fs::remove_file(&json_temp);
        }
        committed?;
        self.sync_dir(&dir)?;
        Ok(part)
    }

    /// A discarded body's part: recorded in the index only. Its bytes are gone, so persisting
    /// its metadata would buy nothing but a file creation per part, which on a busy ext4 (inode
    /// allocation scanning recently deleted inodes) cost a sixth of the server's CPU in the
    /// end-to-end benchmark. A part of an earlier run in the data directory is forgotten.
    fn index_part(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        dir: &Path,
        part: PartMeta,
    ) -> Result<PartMeta, StoreError> {
        let mut state = self.lock();
        let upload = state.upload_mut(bucket, upload_id, key)?;
        if let Some(old) = upload.parts.insert(part.number, part.clone()) {
            // The replaced part may have been persisted (a disk-mode run on the same data
            // directory): it must not come back at the next start.
            let _ = fs::remove_file(dir.join(format!("{}.json", old.number)));
            if let Some(old_file) = old.file {
                let _ = fs::remove_file(dir.join(old_file));
            }
        }
        Ok(part)
    }

    #[allow(clippy::too_many_arguments)] // private helper of commit_part
    fn install_part(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        dir: &Path,
        temp: Option<&Path>,
        file: &Option<String>,
        json_temp: &Path,
        part: &PartMeta,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let upload = state.upload_mut(bucket, upload_id, key)?;
        // Data first, then the metadata rename: the commit point.
        if let (Some(temp), Some(file)) = (temp, file) {
            fs::rename(temp, dir.join(file))?;
        }
        fs::rename(json_temp, dir.join(format!("{}.json", part.number)))?;
        if let Some(old) = upload.parts.insert(part.number, part.clone())
            && let Some(old_file) = old.file
        {
            let _ = fs::remove_file(dir.join(old_file));
        }
        Ok(())
    }

    /// Parts with number > `marker`, ascending, at most `limit + 1`.
    pub(crate) fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        marker: u32,
        limit: usize,
    ) -> Result<(UploadMeta, Vec<PartMeta>), StoreError> {
        let state = self.lock();
        let u = state
            .buckets
            .get(bucket)
            .ok_or(StoreError::NoSuchBucket)?
            .uploads
            .get(upload_id)
            .filter(|u| u.meta.key == key)
            .ok_or(StoreError::NoSuchUpload)?;
        let parts = u
            .parts
            .range(marker.saturating_add(1)..)
            .take(limit.saturating_add(1))
            .map(|(_, p)| p.clone())
            .collect();
        Ok((u.meta.clone(), parts))
    }

    /// All uploads of the bucket, sorted by (key, initiation order).
    pub(crate) fn list_uploads(&self, bucket: &str) -> Result<Vec<UploadMeta>, StoreError> {
        let state = self.lock();
        let b = state.buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        let mut uploads: Vec<UploadMeta> = b.uploads.values().map(|u| u.meta.clone()).collect();
        uploads.sort_by(|a, b| a.key.cmp(&b.key).then(a.seq.cmp(&b.seq)));
        Ok(uploads)
    }

    pub(crate) fn abort(&self, bucket: &str, upload_id: &str, key: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        if b.uploads.get(upload_id).is_none_or(|u| u.meta.key != key) {
            return Err(StoreError::NoSuchUpload);
        }
        let dir = self.bucket_dir(bucket).join("uploads").join(upload_id);
        // Rename first so the abort is atomic, then delete at leisure.
        let doomed = self.temp_path();
        fs::rename(&dir, &doomed)?;
        b.uploads.remove(upload_id);
        drop(state);
        let _ = fs::remove_dir_all(doomed);
        Ok(())
    }

    /// Completes an upload. `select` sees the upload's parts and returns the object to install
    /// (with its segments naming part files) or a rejection `E`, decided under the lock so that
    /// no part can change in between.
    pub(crate) fn complete<E>(
        &self,
        bucket: &str,
        upload_id: &str,
        key: &str,
        select: impl FnOnce(
            &UploadMeta,
            &BTreeMap<u32, PartMeta>,
            Option<&ObjectMeta>,
        ) -> Result<ObjectMeta, E>,
    ) -> Result<Result<ObjectMeta, E>, StoreError> {
        let mut state = self.lock();
        let b = state
            .buckets
            .get_mut(bucket)
            .ok_or(StoreError::NoSuchBucket)?;
        let upload = b
            .uploads
            .get(upload_id)
            .filter(|u| u.meta.key == key)
            .ok_or(StoreError::NoSuchUpload)?;
        let mut meta = match select(&upload.meta, &upload.parts, b.objects.get(key)) {
            Ok(meta) => meta,
            Err(e) => return Ok(Err(e)),
        };
        meta.blob = upload_id.to_owned();
        let dir = self.bucket_dir(bucket);
        let upload_dir = dir.join("uploads").join(upload_id);
        let blob_dir = dir.join("blobs").join(upload_id);
        self.write_json(&upload_dir.join("complete.json"), &meta)?;
        fs::rename(&upload_dir, &blob_dir)?;
        self.sync_dir(&dir.join("uploads"))?;
        self.sync_dir(&dir.join("blobs"))?;
        fs::rename(
            blob_dir.join("complete.json"),
            dir.join("objects").join(object_file(key)),
        )?;
        self.sync_dir(&dir.join("objects"))?;
        b.uploads.remove(upload_id);
        self.replace_in_index(bucket, b, meta.clone());
        Ok(Ok(meta))
    }
}

/// Takes the data directory's `LOCK` file (an OS file lock, released when the process ends,
/// even by SIGKILL) and writes who holds it; a second server fails naming the holder.
fn lock_data_dir(root: &Path) -> io::Result<fs::File> {
    let path = root.join("LOCK");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            write!(file, "oss-local pid {}", std::process::id())?;
            Ok(file)
        }
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let holder = if holder.is_empty() {
                "another process".to_owned()
            } else {
                holder
            };
            Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "the data directory is in use by {holder}; stop it or use another --data-dir"
                ),
            ))
        }
        Err(fs::TryLockError::Error(err)) => Err(err),
    }
}

fn discard_temp(body: &StagedBody) {
    if let Some(temp) = &body.temp {
        let _ = fs::remove_file(temp);
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| other(&format!("{}: {e}", path.display())))
}

/// Object metadata file name: a hash, so any key (`../x`, NUL, 1023 bytes) maps to a safe name.
fn object_file(key: &str) -> String {
    format!("{}.json", hex::encode(Sha256::digest(key.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload_meta(key: &str) -> UploadMeta {
        UploadMeta {
            id: String::new(),
            key: key.to_owned(),
            initiated: 0,
            seq: 0,
            sequential: false,
            content_type: String::new(),
            user_meta: Vec::new(),
            attrs: Attrs::default(),
        }
    }

    fn discarded(size: u64) -> StagedBody {
        StagedBody {
            temp: None,
            size,
            etag: format!("\"{size:032X}\""),
            crc64: size,
        }
    }

    fn json_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn one_store_per_data_directory() {
        let root = tempfile::tempdir().unwrap();
        let first = Store::open(root.path(), false).unwrap();
        let Err(err) = Store::open(root.path(), false) else {
            panic!("a second store opened a locked data directory");
        };
        let message = err.to_string();
        assert!(
            message.contains(&format!("oss-local pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        Store::open(root.path(), false).unwrap();
    }

    #[test]
    fn discarded_parts_live_in_the_index_only() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path(), false).unwrap();
        store.create_bucket("b", 0).unwrap();
        let up = store.initiate("b", upload_meta("k")).unwrap();
        store
            .commit_part("b", &up.id, "k", 1, discarded(5), 1)
            .unwrap();
        store
            .commit_part("b", &up.id, "k", 2, discarded(7), 1)
            .unwrap();
        // The last commit for a number wins.
        store
            .commit_part("b", &up.id, "k", 2, discarded(9), 2)
            .unwrap();
        let (_, parts) = store.list_parts("b", &up.id, "k", 0, 10).unwrap();
        let sizes: Vec<(u32, u64)> = parts.iter().map(|p| (p.number, p.size)).collect();
        assert_eq!(sizes, [(1, 5), (2, 9)]);
        let dir = root.path().join("buckets/b/uploads").join(&up.id);
        assert_eq!(json_files(&dir), ["upload.json"]);
        assert!(matches!(
            store.commit_part("b", "nope", "k", 1, discarded(1), 1),
            Err(StoreError::NoSuchUpload)
        ));
        drop(store);

        // After a restart the upload is there, its discarded parts are not.
        let store = Store::open(root.path(), false).unwrap();
        let (meta, parts) = store.list_parts("b", &up.id, "k", 0, 10).unwrap();
        assert_eq!(meta.key, "k");
        assert!(parts.is_empty());
    }

    #[test]
    fn a_discarded_part_replacing_a_persisted_one_removes_its_metadata() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path(), false).unwrap();
        store.create_bucket("b", 0).unwrap();
        let up = store.initiate("b", upload_meta("k")).unwrap();
        let temp = store.temp_path();
        fs::write(&temp, b"abc").unwrap();
        let on_disk = StagedBody {
            temp: Some(temp),
            ..discarded(3)
        };
        store.commit_part("b", &up.id, "k", 1, on_disk, 1).unwrap();
        let dir = root.path().join("buckets/b/uploads").join(&up.id);
        assert!(dir.join("1.json").exists());
        store
            .commit_part("b", &up.id, "k", 1, discarded(4), 2)
            .unwrap();
        assert_eq!(json_files(&dir), ["upload.json"]);
        drop(store);
        let store = Store::open(root.path(), false).unwrap();
        let (_, parts) = store.list_parts("b", &up.id, "k", 0, 10).unwrap();
        assert!(parts.is_empty());
    }
}
