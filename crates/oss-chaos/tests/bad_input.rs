//! The bad-input table of `docs/RELIABILITY.md`: each test feeds one kind of bad input and
//! checks what the user sees — a typed error of the right class, no panic, no wrong object,
//! nothing left behind that should not be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod fake;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt as _;
use oss_chaos::raw_http::{Spec, send};
use oss_chaos::{AK, BUCKET, REGION, SK, client, crc64, data, fast_retry, local_config};
use oss_multipart::{Addressing, Client, Credentials, Error};

async fn server() -> oss_local::ServerHandle {
    oss_local::Server::start(local_config()).await.unwrap()
}

/// A server whose part bodies trickle in, so a file can be changed between parts.
async fn slow_server() -> oss_local::ServerHandle {
    let mut f = oss_local::FaultConfig::default();
    f.bandwidth = Some(2 * 1024 * 1024);
    oss_local::Server::start(local_config().with_faults(f))
        .await
        .unwrap()
}

async fn leftover_uploads(c: &Client) -> usize {
    let v: Vec<_> = c.list_uploads(BUCKET, None).try_collect().await.unwrap();
    v.len()
}

async fn absent(c: &Client, key: &str) -> bool {
    match c.head_object(BUCKET, key).await {
        Err(e) => e
            .service_error()
            .is_some_and(|s| s.status().as_u16() == 404),
        Ok(_) => false,
    }
}

fn spec(method: &str, key: &str, query: &[(&str, &str)]) -> Spec {
    let mut s = Spec::new(method, key);
    s.bucket = Some(BUCKET.into());
    s.creds = (AK.into(), SK.into());
    s.query = query
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    s
}

// ---------- keys ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_huge_keys_fail_before_any_request() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let bytes = data(300_000, 1);
    std::fs::write(&path, &bytes).unwrap();
    for key in [String::new(), "k".repeat(1024), "é".repeat(600)] {
        let e = c
            .upload_file(BUCKET, &key, &path)
            .part_size(102_400)
            .send()
            .await
            .unwrap_err();
        assert!(e.is_usage(), "key of {} bytes: {e:?}", key.len());
        let e = c
            .upload_stream(BUCKET, &key, std::io::Cursor::new(bytes.clone()))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_usage(), "stream, key of {} bytes: {e:?}", key.len());
    }
    assert_eq!(
        leftover_uploads(&c).await,
        0,
        "an upload was initiated for an invalid key"
    );
    // The longest valid key (1023 bytes) works.
    let longest = "k".repeat(1023);
    let out = c
        .upload_file(BUCKET, &longest, &path)
        .part_size(102_400)
        .send()
        .await
        .unwrap();
    assert_eq!(out.crc64, crc64(&bytes));
    assert_eq!(c.get_object(BUCKET, &longest).await.unwrap(), bytes);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_paths_and_on_the_wire() {
    use std::os::unix::ffi::OsStrExt as _;
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A source file whose name is not UTF-8 uploads normally.
    let path = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad-\xff\xfe-name.bin"));
    let bytes = data(250_000, 2);
    std::fs::write(&path, &bytes).unwrap();
    let out = c
        .upload_file(BUCKET, "utf8/from-non-utf8-path", &path)
        .part_size(102_400)
        .checkpoint_dir(dir.path().join("cp"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.crc64, crc64(&bytes));
    // Keys with control characters: refused by the client or stored exactly, never mangled.
    for key in ["utf8/nul\0inside", "utf8/newline\nkey", "utf8/\u{7f}del"] {
        match c.put_object(BUCKET, key, b"v".to_vec()).await {
            Ok(_) => assert_eq!(c.get_object(BUCKET, key).await.unwrap(), b"v", "{key:?}"),
            Err(e) => assert!(
                e.is_usage() || e.service_error().is_some(),
                "{key:?}: {e:?}"
            ),
        }
    }
    // Raw invalid UTF-8 in the path, query and headers reaches the server: 4xx, no panic.
    let addr = s.addr();
    let raws: [&[u8]; 4] = [
        b"GET /chaos-bucket/%FF%FE HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"GET /chaos-bucket/k?uploadId=%C3%28 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"GET /chaos-bucket/k HTTP/1.1\r\nhost: x\r\nx-oss-meta-a: \xff\xfe\r\nconnection: close\r\n\r\n",
        b"GET /chaos-bucket/\xff\xfe HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ];
    for raw in raws {
        let r = send(addr, raw).await;
        assert!(
            r.status == 0 || (400..500).contains(&r.status),
            "{:?}: {}",
            String::from_utf8_lossy(raw),
            r.status
        );
    }
    let r = send(
        addr,
        &spec("GET", "utf8/from-non-utf8-path", &[])
            .to_bytes(addr)
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "server still serves");
    s.shutdown().await;
}

// ---------- part numbers and sizes ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_numbers_zero_and_10001() {
    assert!(oss_model::PartNumber::new(0).is_err());
    assert!(oss_model::PartNumber::new(10_001).is_err());
    assert!(oss_model::PartNumber::new(10_000).is_ok());
    let s = server().await;
    let addr = s.addr();
    let init = send(
        addr,
        &spec("POST", "pn/obj", &[("uploads", "")])
            .to_bytes(addr)
            .unwrap(),
    )
    .await;
    let id = init.elem("UploadId").unwrap();
    for n in ["0", "10001", "-1", "abc", "4294967297", ""] {
        let mut p = spec("PUT", "pn/obj", &[("partNumber", n), ("uploadId", &id)]);
        p.body = b"data".to_vec();
        let r = send(addr, &p.to_bytes(addr).unwrap()).await;
        assert_eq!(r.status, 400, "partNumber={n}: {}", r.text());
        assert_eq!(
            r.elem("Code").as_deref(),
            Some("InvalidArgument"),
            "partNumber={n}"
        );
    }
    let mut p = spec(
        "PUT",
        "pn/obj",
        &[("partNumber", "10000"), ("uploadId", &id)],
    );
    p.body = b"last".to_vec();
    assert_eq!(send(addr, &p.to_bytes(addr).unwrap()).await.status, 200);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_sizes_out_of_range() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, data(400_000, 3)).unwrap();
    for ps in [0, 1, 102_399] {
        let e = c
            .upload_file(BUCKET, "ps/obj", &path)
            .part_size(ps)
            .send()
            .await
            .unwrap_err();
        assert!(e.is_usage(), "part size {ps}: {e:?}");
    }
    assert_eq!(leftover_uploads(&c).await, 0);
    assert!(absent(&c, "ps/obj").await);
    // The server enforces the minimum too: a small non-last part fails Complete.
    let addr = s.addr();
    let init = send(
        addr,
        &spec("POST", "ps/raw", &[("uploads", "")])
            .to_bytes(addr)
            .unwrap(),
    )
    .await;
    let id = init.elem("UploadId").unwrap();
    let mut etags = Vec::new();
    for n in 1..=2u32 {
        let mut p = spec(
            "PUT",
            "ps/raw",
            &[("partNumber", &n.to_string()), ("uploadId", &id)],
        );
        p.body = vec![n as u8; 1000];
        let r = send(addr, &p.to_bytes(addr).unwrap()).await;
        let etag = r
            .head
            .lines()
            .find_map(|l| l.strip_prefix("etag:"))
            .unwrap()
            .trim()
            .to_uppercase();
        etags.push(etag);
    }
    let mut complete = spec("POST", "ps/raw", &[("uploadId", &id)]);
    complete.body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        etags[0], etags[1]
    )
    .into_bytes();
    let r = send(addr, &complete.to_bytes(addr).unwrap()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.elem("Code").as_deref(), Some("EntityTooSmall"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_size_out_of_range_is_refused_whatever_the_file_size() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, data(400_000, 3)).unwrap();
    for ps in [5 * 1024 * 1024 * 1024 + 1, u64::MAX] {
        let r = c
            .upload_file(BUCKET, "ps/big", &path)
            .part_size(ps)
            .send()
            .await;
        assert!(
            r.as_ref().is_err_and(Error::is_usage),
            "part size {ps}: {r:?}"
        );
    }
    for ps in [0, 1] {
        let e = c
            .upload_file(BUCKET, "ps/zero", &path)
            .part_size(ps)
            .send()
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("part size") || format!("{e:?}").contains("part size"),
            "part size {ps}: {e:?}"
        );
    }
    s.shutdown().await;
}

// ---------- the source changes ----------

/// Uploads `path` (10 parts, one at a time) and calls `change` once the first part is stored.
async fn upload_while(
    c: &Client,
    key: &str,
    path: &std::path::Path,
    change: impl Fn() + Send + Sync + 'static,
) -> Result<oss_multipart::UploadOutput, Error> {
    let fired = Arc::new(AtomicBool::new(false));
    c.upload_file(BUCKET, key, path)
        .part_size(102_400)
        .concurrency(1)
        .progress(move |p| {
            if p.parts_done >= 1 && !fired.swap(true, Ordering::SeqCst) {
                change();
            }
        })
        .send()
        .await
}

/// The rule: a file modified during the upload is never completed as if it were the
/// original. The upload either fails with an integrity error (nothing stored), or the stored
/// object is exactly the file as it is now.
async fn assert_never_a_mixture(
    c: &Client,
    key: &str,
    path: &std::path::Path,
    original: &[u8],
    r: Result<oss_multipart::UploadOutput, Error>,
) -> &'static str {
    let now = std::fs::read(path).unwrap();
    assert_ne!(now, original, "the test did not change the file");
    match r {
        Err(e) => {
            assert!(
                e.is_integrity() || e.is_usage() || matches!(e, Error::Io(_)) || e.is_resumable(),
                "{key}: unexpected error class: {e:?}"
            );
            assert!(
                absent(c, key).await,
                "{key}: an object was stored although the upload failed"
            );
            "error"
        }
        Ok(out) => {
            let stored = c.get_object(BUCKET, key).await.unwrap();
            assert!(
                stored != original,
                "{key}: stored the original although the file changed"
            );
            assert!(
                stored == now,
                "{key}: completed a MIXTURE of old and new bytes ({} bytes, reported crc {:#x}); \
                 the source changed during the upload and nothing noticed",
                stored.len(),
                out.crc64
            );
            "completed with the new bytes"
        }
    }
}

/// A slow server, a client that does not retry, and a 1 MB source file (kept alive by the
/// returned directory) for the tests that change the file mid-upload.
async fn changing_file(
    name: &str,
    seed: u64,
) -> (
    oss_local::ServerHandle,
    Client,
    tempfile::TempDir,
    std::path::PathBuf,
    Vec<u8>,
) {
    let s = slow_server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let original = data(1_000_000, seed);
    std::fs::write(&path, &original).unwrap();
    (s, c, dir, path, original)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_that_grows_during_upload() {
    let (s, c, _dir, path, original) = changing_file("grows.bin", 4).await;
    let p = path.clone();
    let r = upload_while(&c, "change/grows", &path, move || {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[9u8; 50_000]).unwrap();
    })
    .await;
    let what = assert_never_a_mixture(&c, "change/grows", &path, &original, r).await;
    println!("BAD INPUT file grows during upload: {what}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_that_shrinks_during_upload() {
    let (s, c, _dir, path, original) = changing_file("shrinks.bin", 5).await;
    let p = path.clone();
    let r = upload_while(&c, "change/shrinks", &path, move || {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(300_000)
            .unwrap();
    })
    .await;
    let e = r
        .as_ref()
        .err()
        .map(|e| (e.is_integrity(), e.is_retryable()));
    let what = assert_never_a_mixture(&c, "change/shrinks", &path, &original, r).await;
    println!("BAD INPUT file shrinks during upload: {what}");
    assert_eq!(
        e,
        Some((true, false)),
        "a shrunk source is an integrity failure, not a retryable one"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_rewritten_in_place_during_upload_is_never_completed_as_the_original() {
    let (s, c, _dir, path, original) = changing_file("rewritten.bin", 6).await;
    let p = path.clone();
    // Same size, new bytes (an editor saving in place, a log rotated over).
    let r = upload_while(&c, "change/rewritten", &path, move || {
        std::fs::write(&p, data(1_000_000, 66)).unwrap();
    })
    .await;
    let what = assert_never_a_mixture(&c, "change/rewritten", &path, &original, r).await;
    println!("BAD INPUT file rewritten in place during upload: {what}");
    s.shutdown().await;
}

/// Issue 15 item 5: the same rewrite, with the old modification time put back (as `cp -p`,
/// `rsync -t` or `touch -r` do). Size and mtime match; the ctime, which no user can set back,
/// does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_rewritten_with_its_mtime_put_back_is_never_completed_as_a_mixture() {
    let (s, c, _dir, path, original) = changing_file("rewritten-mtime.bin", 8).await;
    let p = path.clone();
    let r = upload_while(&c, "change/rewritten-mtime", &path, move || {
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, data(1_000_000, 88)).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(mtime).unwrap();
    })
    .await;
    let what = assert_never_a_mixture(&c, "change/rewritten-mtime", &path, &original, r).await;
    println!("BAD INPUT file rewritten in place, mtime put back: {what}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_changed_before_resume() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cp_dir = dir.path().join("cp");
    let path = dir.path().join("f.bin");
    let original = data(1_000_000, 7);

    // Three rounds: size changes; same size but new mtime; same size AND the old mtime put back.
    for (round, key) in ["resume/size", "resume/mtime", "resume/same-mtime"]
        .into_iter()
        .enumerate()
    {
        std::fs::write(&path, &original).unwrap();
        let token = oss_multipart::CancellationToken::new();
        let t = token.clone();
        let err = c
            .upload_file(BUCKET, key, &path)
            .part_size(102_400)
            .concurrency(1)
            .checkpoint_dir(&cp_dir)
            .progress(move |p| {
                if p.parts_done >= 3 {
                    t.cancel();
                }
            })
            .cancellation(token)
            .send()
            .await
            .unwrap_err();
        let cp = err
            .checkpoint_path()
            .expect("checkpoint kept")
            .to_path_buf();
        let old_mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let new_bytes = match round {
            0 => data(1_100_000, 70),
            _ => data(1_000_000, 71 + round as u64),
        };
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, &new_bytes).unwrap();
        if round == 2 {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(old_mtime)
                .unwrap();
        }
        // Explicit resume of the old checkpoint: refused when size/mtime differ.
        let explicit = c.resume(&cp, &path).send().await;
        if round < 2 {
            let e = explicit.unwrap_err();
            assert!(
                e.is_integrity(),
                "{key}: explicit resume of a changed file: {e:?}"
            );
            assert!(absent(&c, key).await);
        } else if let Ok(out) = explicit {
            // Identity unchanged: finished parts are re-hashed against the file, so the
            // object must still be exactly the new bytes.
            assert_eq!(out.crc64, crc64(&new_bytes), "{key}");
        }
        // Re-running the same command: the object ends up exactly as the file is now.
        let out = c
            .upload_file(BUCKET, key, &path)
            .part_size(102_400)
            .checkpoint_dir(&cp_dir)
            .send()
            .await
            .unwrap();
        assert_eq!(out.crc64, crc64(&new_bytes), "{key}");
        assert!(
            c.get_object(BUCKET, key).await.unwrap() == new_bytes,
            "{key}: stored bytes are not the file's"
        );
    }
    s.shutdown().await;
}

// ---------- unreadable sources, truncated streams ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_unreadable_and_directory_sources() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = c
        .upload_file(BUCKET, "src/missing", dir.path().join("nope"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Io(_)), "missing: {e:?}");
    let e = c
        .upload_file(BUCKET, "src/dir", dir.path())
        .send()
        .await
        .unwrap_err();
    assert!(
        e.is_usage() || matches!(e, Error::Io(_)),
        "directory: {e:?}"
    );
    let locked = dir.path().join("locked");
    std::fs::write(&locked, b"secret").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_err() {
        let e = c
            .upload_file(BUCKET, "src/locked", &locked)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Io(_)), "unreadable: {e:?}");
    } else {
        println!(
            "BAD INPUT unreadable file: running as root, permission bits do not apply; skipped"
        );
    }
    assert_eq!(leftover_uploads(&c).await, 0);
    s.shutdown().await;
}

/// A reader that yields `good` bytes, then fails.
struct Failing {
    good: std::io::Cursor<Vec<u8>>,
}

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.good.position() as usize >= self.good.get_ref().len() {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "source pipe broke",
            )));
        }
        std::pin::Pin::new(&mut self.good).poll_read(cx, buf)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_stream_fails_cleanly() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    for cut in [0usize, 50_000, 102_400, 350_000] {
        let key = format!("stream/broken-{cut}");
        let e = c
            .upload_stream(
                BUCKET,
                &key,
                Failing {
                    good: std::io::Cursor::new(data(cut, 8)),
                },
            )
            .part_size(102_400)
            .send()
            .await
            .unwrap_err();
        assert!(
            !e.is_resumable(),
            "{key}: a stream cannot be resumed: {e:?}"
        );
        let chain = format!("{e:?}");
        assert!(
            chain.contains("source pipe broke")
                || matches!(e, Error::Io(_))
                || matches!(&e, Error::Upload(u) if matches!(u.cause(), Error::Io(_))),
            "{key}: {e:?}"
        );
        assert!(
            absent(&c, &key).await,
            "{key}: a truncated stream became an object"
        );
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_stream_leaves_no_multipart_upload_behind() {
    let s = server().await;
    let c = client(&s.endpoint(), fast_retry(0)).unwrap();
    for cut in [0usize, 350_000] {
        let key = format!("stream/leak-{cut}");
        let e = c
            .upload_stream(
                BUCKET,
                &key,
                Failing {
                    good: std::io::Cursor::new(data(cut, 8)),
                },
            )
            .part_size(102_400)
            .send()
            .await
            .unwrap_err();
        assert!(!e.is_resumable(), "{e:?}");
    }
    // The default failure policy aborts the multipart upload: nothing may be left.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        leftover_uploads(&c).await,
        0,
        "multipart uploads leaked by failed streams"
    );
    s.shutdown().await;
}

// ---------- credentials and clocks ----------

fn client_with(endpoint: &str, ak: &str, sk: &str) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .region(REGION)
        .credentials(Credentials::new(ak, sk))
        .addressing(Addressing::Path)
        .retry(fast_retry(3))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_clock_skew() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, data(300_000, 9)).unwrap();
    let cases = [
        (
            "wrong secret",
            client_with(&s.endpoint(), AK, "wrong-secret"),
            "SignatureDoesNotMatch",
        ),
        (
            "unknown key",
            client_with(&s.endpoint(), "nobody", SK),
            "InvalidAccessKeyId",
        ),
    ];
    for (what, c, code) in cases {
        let started = std::time::Instant::now();
        let e = c
            .upload_file(BUCKET, "auth/obj", &path)
            .part_size(102_400)
            .send()
            .await
            .unwrap_err();
        assert!(e.is_auth(), "{what}: {e:?}");
        assert!(
            !e.is_retryable(),
            "{what}: auth failures are not worth retrying"
        );
        assert_eq!(
            e.service_error().map(|s| s.code().to_owned()).as_deref(),
            Some(code),
            "{what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: retried an auth failure"
        );
    }
    // Clock 20 minutes ahead.
    #[derive(Debug)]
    struct Skewed;
    impl oss_multipart::runtime::Runtime for Skewed {
        fn now(&self) -> std::time::Instant {
            std::time::Instant::now()
        }
        fn system_time(&self) -> SystemTime {
            SystemTime::now() + Duration::from_secs(20 * 60)
        }
        fn sleep_until(&self, deadline: std::time::Instant) -> oss_multipart::runtime::Sleep {
            Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                deadline,
            )))
        }
    }
    let skewed = Client::builder()
        .endpoint(s.endpoint())
        .region(REGION)
        .credentials(Credentials::new(AK, SK))
        .addressing(Addressing::Path)
        .retry(fast_retry(1))
        .runtime(Arc::new(Skewed))
        .build()
        .unwrap();
    // The first request is refused as RequestTimeTooSkewed; the client learns the server's
    // time from that answer, signs with the corrected time and completes with exact bytes.
    let out = skewed
        .upload_file(BUCKET, "auth/skew", &path)
        .part_size(102_400)
        .send()
        .await
        .expect("a skewed clock is corrected from the server's answer");
    assert_eq!(out.size, 300_000);
    let good = client(&s.endpoint(), fast_retry(0)).unwrap();
    assert_eq!(
        good.head_object(BUCKET, "auth/skew")
            .await
            .unwrap()
            .content_length,
        300_000
    );
    assert_eq!(leftover_uploads(&good).await, 0);
    s.shutdown().await;
}

// ---------- malformed answers from the server ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml_and_headers_from_the_server() {
    use fake::Reply as R;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let bytes = data(250_000, 10);
    std::fs::write(&path, &bytes).unwrap();
    let cases: Vec<(&str, fake::Script)> = vec![
        ("initiate: not XML", fake::Script { initiate: R::ok_body("<InitiateMultipartUploadResult><UploadId>"), ..fake::Script::good() }),
        ("initiate: empty upload id", fake::Script { initiate: R::ok_body("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId></UploadId></InitiateMultipartUploadResult>"), ..fake::Script::good() }),
        ("initiate: 100 MiB body", fake::Script { initiate: R::Huge, ..fake::Script::good() }),
        ("initiate: 503 with HTML", fake::Script { initiate: R::status(503, "<html>busy</html>"), ..fake::Script::good() }),
        ("part: no ETag", fake::Script { part: R::Raw("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into()), ..fake::Script::good() }),
        ("part: wrong CRC-64", fake::Script { part: R::PartWrongCrc, ..fake::Script::good() }),
        ("part: garbage header bytes", fake::Script { part: R::Raw("HTTP/1.1 200 OK\r\netag: \"\u{1}\u{2}\"\r\nx-oss-hash-crc64ecma: not-a-number\r\ncontent-length: 0\r\n\r\n".into()), ..fake::Script::good() }),
        ("part: lies about its length", fake::Script { part: R::Raw("HTTP/1.1 200 OK\r\netag: \"A\"\r\ncontent-length: 999999\r\n\r\nshort".into()), ..fake::Script::good() }),
        ("part: not HTTP", fake::Script { part: R::Raw("SSH-2.0-OpenSSH\r\n\r\n".into()), ..fake::Script::good() }),
        ("complete: garbage XML", fake::Script { complete: R::ok_body("<<<>>>"), ..fake::Script::good() }),
        ("complete: 200 with an error document", fake::Script { complete: R::ok_body("<Error><Code>InternalError</Code><Message>x</Message></Error>"), ..fake::Script::good() }),
        ("complete: wrong object CRC-64", fake::Script { complete: R::CompleteWrongCrc, ..fake::Script::good() }),
        ("error document truncated", fake::Script { complete: R::status(400, "<Error><Code>Invalid"), ..fake::Script::good() }),
    ];
    let mut tried = 0;
    for (what, script) in cases {
        let fake = fake::start(script).await;
        let c = client(&fake.endpoint(), fast_retry(1)).unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            c.upload_file(BUCKET, "fake/obj", &path)
                .part_size(102_400)
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"));
        match r {
            Ok(out) => panic!("{what}: accepted as a success: {out:?}"),
            Err(e) => {
                let text = format!("{e}");
                assert!(!text.is_empty());
                if what.contains("CRC-64") {
                    assert!(e.is_integrity(), "{what}: {e:?}");
                }
            }
        }
        tried += 1;
    }
    println!("BAD INPUT malformed server answers: {tried} cases, all errors, no panic");
}

// ---------- disk full on oss-local ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_on_the_server() {
    use std::io::BufRead as _;
    // A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes every write beyond 1 MiB fail
    // with EFBIG, as a full disk fails with ENOSPC: the server's writes fail mid-part.
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    let script = format!(
        "trap '' XFSZ; ulimit -f 2048 || exit 3; exec '{}' --listen 127.0.0.1:0 --access-key-id {AK} --access-key-secret {SK} --bucket {BUCKET} --no-fsync --data-dir '{}'",
        env!("CARGO_BIN_EXE_chaos-oss-local"),
        data_dir.display()
    );
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let c = client(&endpoint, fast_retry(1)).unwrap();
    let small = data(1000, 11);
    c.put_object(BUCKET, "full/small", small.clone())
        .await
        .unwrap();
    let path = dir.path().join("big");
    let big = data(6 * 1024 * 1024, 12);
    std::fs::write(&path, &big).unwrap();
    let cp_dir = dir.path().join("cp");
    let e = c
        .upload_file(BUCKET, "full/big", &path)
        .part_size(3 * 1024 * 1024)
        .concurrency(1)
        .checkpoint_dir(&cp_dir)
        .send()
        .await
        .unwrap_err();
    println!(
        "BAD INPUT disk full: {e} / {:?}",
        e.service_error().map(|s| s.code().to_owned())
    );
    assert!(
        e.is_retryable() || e.is_resumable(),
        "disk full must be a retryable/resumable failure: {e:?}"
    );
    assert!(absent(&c, "full/big").await, "a partial object was stored");
    // The server is still up, and what it stored before is intact.
    assert_eq!(c.get_object(BUCKET, "full/small").await.unwrap(), small);
    child.kill().unwrap();
    child.wait().unwrap();
}
