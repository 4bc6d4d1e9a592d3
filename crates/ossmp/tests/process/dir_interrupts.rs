//! `ossmp cp -r` stopped from outside: SIGKILLed twice then resumed (nothing finished is sent
//! again, counted at the server's door), and SIGTERM/SIGINT exit statuses with one JSON line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use futures::TryStreamExt as _;

const PART: usize = 256 * 1024;

/// A tree of small files and two files of several parts each.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for i in 0..30 {
        files.insert(format!("small/s{i:02}.txt"), data(5000 + i * 37, i as u64));
    }
    files.insert("big/a.bin".to_owned(), data(12 * PART + 77, 100));
    files.insert("big/b.bin".to_owned(), data(10 * PART, 101));
    for (rel, bytes) in &files {
        write(&dir.join(rel), bytes);
    }
    files
}

/// Waits until `cond` holds (polled), or panics after 60 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Part uploads seen so far, as (key path, part number).
fn part_puts(local: &Local) -> Vec<(String, u32)> {
    local
        .requests("PUT /bkt/tree/")
        .iter()
        .filter_map(|l| {
            let target = l.strip_prefix("PUT ")?;
            let (path, query) = target.split_once('?')?;
            let n = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("partNumber="))?
                .parse()
                .ok()?;
            Some((path.to_owned(), n))
        })
        .collect()
}

/// How often each item occurs.
fn counts<T: Ord>(items: Vec<T>) -> BTreeMap<T, usize> {
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(i).or_default() += 1;
    }
    out
}

/// Whole-object PUTs seen so far, by path.
fn object_puts(local: &Local) -> Vec<String> {
    local
        .requests("PUT /bkt/tree/")
        .iter()
        .filter_map(|l| {
            let target = l.strip_prefix("PUT ")?;
            (!target.contains('?')).then(|| target.to_owned())
        })
        .collect()
}

/// The parts the killed runs confirmed: those journaled in the checkpoints on disk.
fn journaled(local: &Local) -> BTreeSet<(String, u32)> {
    let dir = local.home.path().join("state/ossmp/checkpoints");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".ossmp-checkpoint.json") {
            continue;
        }
        let Ok(cp) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
        else {
            continue;
        };
        let key = cp["key"].as_str().unwrap().to_owned();
        for p in cp["parts"].as_array().unwrap() {
            out.insert((format!("/bkt/{key}"), p["n"].as_u64().unwrap() as u32));
        }
    }
    out
}

/// What the server holds now: finished objects, and the parts of unfinished uploads.
fn stored(local: &Local) -> (BTreeSet<String>, BTreeSet<(String, u32)>) {
    let client = local.client();
    local.rt.block_on(async {
        let objects: BTreeSet<String> = client
            .list_objects(
                BUCKET,
                oss_multipart::ListObjectsOptions::new().with_prefix("tree/".to_owned()),
            )
            .try_filter_map(|e| async move {
                Ok(match e {
                    oss_multipart::ObjectListEntry::Object(o) => Some(format!("/bkt/{}", o.key)),
                    _ => None,
                })
            })
            .try_collect()
            .await
            .unwrap();
        let mut parts = BTreeSet::new();
        let uploads: Vec<_> = client
            .list_uploads(BUCKET, Some("tree/"))
            .try_collect()
            .await
            .unwrap();
        for u in uploads {
            let listed: Vec<_> = client
                .list_parts(BUCKET, &u.key, &u.upload_id)
                .try_collect()
                .await
                .unwrap();
            for p in listed {
                parts.insert((format!("/bkt/{}", u.key), p.part_number.get()));
            }
        }
        (objects, parts)
    })
}

fn cp_r(local: &Local, dir: &Path) -> Child {
    local
        .ossmp()
        .args([
            "cp",
            "-r",
            "-u",
            "--progress",
            "none",
            "--part-size",
            "256KiB",
        ])
        .args(["--jobs", "2"])
        .arg(dir)
        .arg(format!("oss://{BUCKET}/tree/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn cp_r_killed_twice_resumes_without_sending_finished_files_or_parts_again() {
    // Slow enough to stop it mid-way: 1 MiB/s per connection.
    let local = Local::start(|mut c| {
        c.faults.bandwidth = Some(1 << 20);
        c
    });
    let dir = tempfile::tempdir().unwrap();
    let files = tree(dir.path());

    // Finished (object or confirmed part) → times sent when it was seen finished.
    let mut finished_objects: BTreeMap<String, usize> = BTreeMap::new();
    let mut finished_parts: BTreeMap<(String, u32), usize> = BTreeMap::new();
    // Parts the server stored, confirmed or not (an answer lost to the kill): informative.
    let mut stored_parts = BTreeSet::new();
    for round in 0..2 {
        let puts_before = part_puts(&local).len();
        let mut child = cp_r(&local, dir.path());
        // Let a few parts through, then kill without warning.
        wait_for("parts on the wire", || {
            part_puts(&local).len() >= puts_before + 4
        });
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: it was killed");
        // Let the server finish what it received.
        std::thread::sleep(Duration::from_millis(300));
        // What is finished now, with how often it was sent so far: never again from here.
        let (objects, parts) = stored(&local);
        let sent_objects = counts(object_puts(&local));
        let sent_parts = counts(part_puts(&local));
        for o in objects {
            let n = sent_objects.get(&o).copied().unwrap_or(0);
            finished_objects.entry(o).or_insert(n);
        }
        stored_parts.extend(parts);
        for p in journaled(&local) {
            let n = sent_parts.get(&p).copied().unwrap_or(0);
            finished_parts.entry(p).or_insert(n);
        }
    }
    assert!(
        !finished_parts.is_empty(),
        "the kills came after some parts of the big files were confirmed"
    );
    let puts_before_last = (object_puts(&local).len(), part_puts(&local).len());
    let out = cp_r(&local, dir.path()).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the third run completes: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing finished before a kill was sent again afterwards.
    let object_count = counts(object_puts(&local));
    for (key, then) in &finished_objects {
        assert_eq!(
            object_count.get(key).copied().unwrap_or(0),
            *then,
            "{key} was finished before a kill but sent again"
        );
    }
    let part_count = counts(part_puts(&local));
    for (part, then) in &finished_parts {
        assert_eq!(
            part_count.get(part).copied().unwrap_or(0),
            *then,
            "part {part:?} was confirmed before a kill but sent again"
        );
    }
    let stored_unconfirmed_resent = stored_parts
        .iter()
        .filter(|p| !finished_parts.contains_key(*p) && part_count.get(*p) > Some(&1))
        .count();
    let last_run_parts = part_puts(&local).len() - puts_before_last.1;
    assert!(
        last_run_parts < 22,
        "the last run sent {last_run_parts} parts of 22"
    );
    println!(
        "finished before the last run: {} objects, {} parts confirmed ({} stored); the last run sent {} objects and {last_run_parts} parts; {stored_unconfirmed_resent} part(s) stored but unconfirmed at a kill were sent again",
        finished_objects.len(),
        finished_parts.len(),
        stored_parts.len(),
        object_puts(&local).len() - puts_before_last.0
    );

    // Everything arrived, bit for bit.
    let client = local.client();
    for (rel, bytes) in &files {
        let got = local
            .rt
            .block_on(client.get_object(BUCKET, &format!("tree/{rel}")))
            .unwrap();
        assert!(got == *bytes, "tree/{rel} differs");
    }
}

/// Sends `signal` (`TERM`, `INT`) to a running child.
fn signal(child: &Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
}

/// The JSON lines of stdout.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stopped_directory_copies_and_downloads_exit_like_a_stopped_shell_command() {
    let local = Local::start(|mut c| {
        c.faults.bandwidth = Some(512 << 10);
        c
    });
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let mut child = local
            .ossmp()
            .args(["cp", "-r", "--json", "--part-size", "256KiB"])
            .arg(dir.path())
            .arg(format!("oss://{BUCKET}/stop-{sig}/"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the copy to start", || {
            local.requests(&format!("PUT /bkt/stop-{sig}/")).len() >= 2
        });
        signal(&child, sig);
        let out = std::mem::replace(&mut child, local.ossmp().arg("--version").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        let _ = child.wait();
        assert_eq!(
            out.status.code(),
            Some(code),
            "cp -r after SIG{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), 1, "one JSON line: {lines:?}");
        assert_eq!(lines[0]["status"], "error");
        assert_eq!(lines[0]["exit_code"], code);
    }

    // A download, stopped the same way.
    let big = data(6 << 20, 9);
    let client = local.client();
    local
        .rt
        .block_on(client.put_object(BUCKET, "dl/big.bin", big))
        .unwrap();
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let target = dir.path().join(format!("out-{sig}.bin"));
        let child = local
            .ossmp()
            .args(["cp", "--part-size", "256KiB"])
            .arg(format!("oss://{BUCKET}/dl/big.bin"))
            .arg(&target)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let seen = local.requests("GET /bkt/dl/big.bin").len();
        wait_for("the download to start", || {
            local.requests("GET /bkt/dl/big.bin").len() >= seen + 2
        });
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "download after SIG{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!target.exists(), "nothing is written to the target");
    }
}

#[test]
fn a_failed_directory_copy_prints_exactly_one_json_line() {
    let local = Local::start(|c| c);
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("ok.txt"), b"fine");
    // A name that is not UTF-8 cannot be a key: the file is refused, the copy fails.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let bad = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"bad-\xff.txt"));
        write(&bad, b"refused");
    }
    let out = local
        .ossmp()
        .args(["cp", "-r", "--json"])
        .arg(dir.path())
        .arg(format!("oss://{BUCKET}/fail/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "one JSON line: {lines:?}");
    let summary = &lines[0];
    assert_eq!(summary["status"], "error");
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["copied"], 1);
    assert_eq!(summary["refused"].as_array().map(Vec::len), Some(1));
    assert!(
        summary["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused"))
    );
}
