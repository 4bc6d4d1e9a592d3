//! Directory transfers against oss-local: a tree of 500+ files round-trips bit-exact, `update`
//! sends only what changed, unsafe keys are refused without writing outside the target, and
//! filters, links, failures and cancellation are reported file by file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;
use oss_multipart::{CancellationToken, DirProgress, FileAction, SymlinkPolicy, UpdateMode};

/// PUTs counted by object path.
fn counting_client(endpoint: &str) -> (oss_multipart::Client, Counts) {
    common::counting_client(endpoint, |request| {
        (request.method() == http::Method::PUT).then(|| request.uri().path().to_owned())
    })
}

/// A tree of `n` files: nested up to four levels, unicode and space names, empty files, and a
/// few multi-part ones (over 1 MiB with 256 KiB parts).
fn make_tree(root: &Path, n: usize) -> BTreeMap<PathBuf, Vec<u8>> {
    let names = [
        "plain",
        "with space",
        "ünïcødé",
        "日本語",
        "emoji 🚀",
        "dots.tar.gz",
    ];
    let mut files = BTreeMap::new();
    for i in 0..n {
        let depth = i % 5;
        let mut rel = PathBuf::new();
        for d in 0..depth {
            rel.push(format!("{} {d}", names[(i + d) % names.len()]));
        }
        rel.push(format!("{}-{i}.bin", names[i % names.len()]));
        let size = match i {
            _ if i % 50 == 0 => 0,
            _ if i % 97 == 1 => 1_300_000 + i,
            _ => (i * 37) % 5000,
        };
        files.insert(rel, data(size, i as u64));
    }
    for (rel, bytes) in &files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    files
}

/// Every file under `root`, relative, with its bytes.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_of_520_files_round_trips_bit_exact_and_update_sends_only_changes() {
    let server = server().await;
    let (client, puts) = counting_client(&server.endpoint());
    let src = tempfile::tempdir().unwrap();
    let files = make_tree(src.path(), 520);
    let multipart = files.values().filter(|b| b.len() > 1_000_000).count();
    assert!(multipart >= 5, "some files go multipart");

    let seen = Arc::new(Mutex::new(Vec::<DirProgress>::new()));
    let seen2 = seen.clone();
    let up = client
        .upload_dir(src.path(), BUCKET, "tree/")
        .part_size(256 * 1024)
        .files_in_parallel(16)
        .memory_budget(4 << 20)
        .progress(move |p| seen2.lock().unwrap().push(p.clone()))
        .send()
        .await
        .unwrap();
    assert!(up.is_complete(), "{:?}", up.failed);
    assert_eq!(up.transferred.len(), 520);
    let total: u64 = files.values().map(|b| b.len() as u64).sum();
    assert_eq!(up.bytes(), total);
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.files_total, last.bytes_total), (520, total));
    let max = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.files_done)
        .max()
        .unwrap();
    assert_eq!(max, 520, "progress reaches every file");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|p| p.bytes_done <= p.bytes_total)
    );

    let back = tempfile::tempdir().unwrap();
    let down = client
        .download_prefix(BUCKET, "tree/", back.path())
        .part_size(256 * 1024)
        .send()
        .await
        .unwrap();
    assert!(down.is_complete(), "{:?}", down.failed);
    assert_eq!(down.transferred.len(), 520);
    assert!(read_tree(back.path()) == files, "downloaded tree differs");
    if let Ok(status) = std::process::Command::new("diff")
        .arg("-r")
        .arg(src.path())
        .arg(back.path())
        .status()
    {
        assert!(status.success(), "diff -r found differences");
    }

    // Change two files (one same size, new bytes), add one: update sends exactly those three.
    let changed: Vec<_> = files
        .keys()
        .filter(|k| files[*k].len() > 100)
        .take(2)
        .cloned()
        .collect();
    let same_size = data(files[&changed[0]].len(), 999);
    std::fs::write(src.path().join(&changed[0]), &same_size).unwrap();
    std::fs::write(src.path().join(&changed[1]), b"shorter now").unwrap();
    std::fs::write(src.path().join("new file.txt"), b"new").unwrap();
    puts.lock().unwrap().clear();
    let again = client
        .upload_dir(src.path(), BUCKET, "tree/")
        .part_size(256 * 1024)
        .update(UpdateMode::SizeAndCrc64)
        .send()
        .await
        .unwrap();
    assert!(again.is_complete());
    assert_eq!(again.transferred.len(), 3, "{:?}", again.transferred);
    assert_eq!(again.skipped.len(), 518);
    assert!(
        again
            .skipped
            .iter()
            .all(|t| t.action == FileAction::Unchanged)
    );
    let sent: Vec<String> = puts.lock().unwrap().keys().cloned().collect();
    assert_eq!(
        sent.len(),
        3,
        "the server saw PUTs for three objects only: {sent:?}"
    );

    // Downloading with update fetches only what differs locally.
    std::fs::write(back.path().join(&changed[1]), b"local edit").unwrap();
    let down = client
        .download_prefix(BUCKET, "tree/", back.path())
        .update(UpdateMode::SizeAndCrc64)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = down.transferred.iter().map(|t| t.key.clone()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(read_tree(back.path()) == read_tree(src.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_keys_are_refused_and_nothing_is_written_outside() {
    let server = server().await;
    let client = client(&server.endpoint());
    for key in [
        "p/ok/a.txt",
        "p/../escape.txt",
        "p/a//b",
        "p/x\\..\\y",
        "p/dir/",
        "p/./dot",
    ] {
        client
            .put_object(BUCKET, key, key.as_bytes().to_vec())
            .await
            .unwrap();
    }
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("target");
    let out = client
        .download_prefix(BUCKET, "p/", &target)
        .send()
        .await
        .unwrap();
    assert!(!out.is_complete(), "refusals make it incomplete");
    assert_eq!(out.transferred.len(), 1);
    assert_eq!(
        std::fs::read(target.join("ok/a.txt")).unwrap(),
        b"p/ok/a.txt"
    );
    let refused: Vec<_> = out
        .skipped
        .iter()
        .filter(|t| matches!(t.action, FileAction::Refused(_)))
        .map(|t| t.key.as_str())
        .collect();
    assert_eq!(
        refused,
        ["p/../escape.txt", "p/./dot", "p/a//b", "p/x\\..\\y"]
    );
    let mut everything: Vec<_> = read_tree(parent.path()).into_keys().collect();
    everything.sort();
    assert_eq!(
        everything,
        [PathBuf::from("target/ok/a.txt")],
        "nothing else was written"
    );

    // A symlinked directory inside the target is not written through.
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::fs::remove_dir_all(target.join("ok")).unwrap();
        std::os::unix::fs::symlink(outside.path(), target.join("ok")).unwrap();
        let out = client
            .download_prefix(BUCKET, "p/", &target)
            .include("ok/*")
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed.len(), 1, "{out:?}");
        assert!(
            read_tree(outside.path()).is_empty(),
            "nothing written through the link"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_links_failures_and_cancellation_are_reported_per_file() {
    let server = server().await;
    let client = client(&server.endpoint());
    let src = tempfile::tempdir().unwrap();
    for name in ["a.jpg", "b.txt", "deep/c.jpg", "deep/d.log", "skip/e.jpg"] {
        let p = src.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, name).unwrap();
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(src.path().join("a.jpg"), src.path().join("link.jpg")).unwrap();

    let plan = client
        .upload_dir(src.path(), BUCKET, "f/")
        .include("*.jpg")
        .exclude("skip/**")
        .symlinks(SymlinkPolicy::Skip)
        .plan()
        .await
        .unwrap();
    let summary: Vec<_> = plan
        .iter()
        .map(|t| (t.key.as_str(), t.action.clone()))
        .collect();
    let mut expected = vec![
        ("f/a.jpg", FileAction::Transfer),
        ("f/deep/c.jpg", FileAction::Transfer),
    ];
    #[cfg(unix)]
    expected.push(("f/link.jpg", FileAction::Symlink));
    assert_eq!(summary, expected);
    assert!(
        client.head_object(BUCKET, "f/a.jpg").await.is_err(),
        "a plan sends nothing"
    );

    let bad = client
        .upload_dir(src.path(), BUCKET, "f/")
        .include("[")
        .plan()
        .await
        .unwrap_err();
    assert!(bad.is_usage(), "{bad}");

    // One file fails (its key is too long for OSS); the others still go, and the failure says why.
    let long = "x".repeat(1100);
    std::fs::write(src.path().join(&long[..200]), b"z").unwrap();
    let out = client
        .upload_dir(src.path(), BUCKET, &format!("{}/", &long[..900]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed.len(), 1, "{out:?}");
    assert!(out.failed[0].key.ends_with(&long[..200]));
    assert!(!out.transferred.is_empty());

    // Cancelled before it starts: every file is reported as cancelled, none sent.
    let token = CancellationToken::new();
    token.cancel();
    let out = client
        .upload_dir(src.path(), BUCKET, "c/")
        .cancellation(token)
        .send()
        .await
        .unwrap();
    assert!(out.transferred.is_empty());
    assert!(!out.failed.is_empty() && out.failed.iter().all(|f| f.error.is_cancelled()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_without_sending_finished_files_again() {
    let server = server().await;
    let (client, puts) = counting_client(&server.endpoint());
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path(), 200);
    let checkpoints = tempfile::tempdir().unwrap();

    // Cancel once 60 files are done.
    let token = CancellationToken::new();
    let stop = token.clone();
    let first = client
        .upload_dir(src.path(), BUCKET, "r/")
        .part_size(256 * 1024)
        .files_in_parallel(4)
        .checkpoint_dir(checkpoints.path())
        .cancellation(token)
        .progress(move |p| {
            if p.files_done >= 60 {
                stop.cancel();
            }
        })
        .send()
        .await
        .unwrap();
    assert!(first.transferred.len() >= 60 && first.transferred.len() < 200);
    assert!(
        first.failed.iter().all(|f| f.error.is_cancelled()),
        "{:?}",
        first.failed
    );
    assert_eq!(first.transferred.len() + first.failed.len(), 200);

    puts.lock().unwrap().clear();
    let second = client
        .upload_dir(src.path(), BUCKET, "r/")
        .part_size(256 * 1024)
        .checkpoint_dir(checkpoints.path())
        .update(UpdateMode::SizeAndCrc64)
        .send()
        .await
        .unwrap();
    assert!(second.is_complete(), "{:?}", second.failed);
    // Only files the first run did not finish go again (a file cancelled just as its last
    // request completed is already stored, and `update` finds it unchanged).
    let unfinished: Vec<_> = first.failed.iter().map(|f| f.key.as_str()).collect();
    assert!(!second.transferred.is_empty());
    assert!(
        second
            .transferred
            .iter()
            .all(|t| unfinished.contains(&t.key.as_str()))
    );
    assert_eq!(second.transferred.len() + second.skipped.len(), 200);
    let sent = puts.lock().unwrap().clone();
    for done in &first.transferred {
        let path = format!("/{BUCKET}/{}", done.key);
        assert!(
            !sent
                .keys()
                .any(|k| percent_encoding::percent_decode_str(k).decode_utf8_lossy() == path),
            "{} sent again",
            done.key
        );
    }
}
