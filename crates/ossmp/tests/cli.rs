//! End-to-end tests of the `ossmp` binary against an `oss-local` server (in-process, or spawned with
//! `ossmp serve`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

mod common;

use assert_cmd::Command;
use common::*;
use predicates::prelude::*;

impl Local {
    fn get(&self, key: &str) -> Vec<u8> {
        let client = self.client();
        self.rt.block_on(client.get_object(BUCKET, key)).unwrap()
    }

    /// Starts a multipart upload with one part and leaves it unfinished.
    fn abandoned_upload(&self, key: &str) -> String {
        use oss_multipart::ops::{InitiateMultipartUpload, UploadPart};
        let client = self.client();
        self.rt.block_on(async {
            let b = oss_multipart::BucketName::new(BUCKET).unwrap();
            let k = oss_multipart::ObjectKey::new(key).unwrap();
            let id = client
                .send(InitiateMultipartUpload::new(b.clone(), k.clone()))
                .await
                .unwrap()
                .upload_id;
            let part =
                UploadPart::new(b, k, id.clone(), oss_multipart::PartNumber::new(1).unwrap());
            client
                .send_with_body(part, bytes::Bytes::from(vec![7u8; 200_000]))
                .await
                .unwrap();
            id
        })
    }
}

fn bare() -> (Command, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::cargo_bin("ossmp").unwrap();
    isolate(&mut c, home.path());
    (c, home)
}

fn json_of(output: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(output);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(line).unwrap()
}

fn stderr_lines(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

// ---------------------------------------------------------------- usage and exit codes

#[test]
fn help_documents_exit_codes_and_configuration() {
    let (mut c, _h) = bare();
    c.arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("130"))
        .stdout(predicate::str::contains("OSS_ACCESS_KEY_ID"))
        .stdout(predicate::str::contains("~/.config/ossmp/config.toml"));
}

#[test]
fn bad_url_is_one_line_and_exit_2() {
    let (mut c, _h) = bare();
    let out = c
        .args(["cp", "Cargo.toml", "my-bucket/key"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("oss://BUCKET/KEY"), "{}", lines[0]);
}

#[test]
fn part_size_out_of_range_is_exit_2() {
    let (mut c, _h) = bare();
    let out = c
        .args(["cp", "Cargo.toml", "oss://bkt/k", "--part-size", "50KiB"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("100KiB to 5GiB"), "{}", lines[0]);
}

#[test]
fn missing_file_is_exit_2() {
    let (mut c, h) = bare();
    let missing = h.path().join("nope.bin");
    let out = c
        .arg("cp")
        .arg(&missing)
        .arg("oss://bkt/k")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("does not exist"), "{}", lines[0]);
}

#[test]
fn missing_credentials_is_exit_3() {
    let (mut c, h) = bare();
    let f = write_file(h.path(), "f.bin", b"hello");
    let out = c
        .arg("cp")
        .arg(&f)
        .arg("oss://bkt/k")
        .args(["--endpoint", "http://127.0.0.1:9", "--region", REGION])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("OSS_ACCESS_KEY_ID"), "{}", lines[0]);
}

#[test]
fn wrong_credentials_are_exit_3() {
    let local = Local::start();
    let f = write_file(local.home.path(), "f.bin", b"hello");
    let out = local
        .cmd()
        .env("OSS_ACCESS_KEY_SECRET", "not-the-secret")
        .arg("cp")
        .arg(&f)
        .arg("oss://bkt/k")
        .assert()
        .code(3)
        .get_output()
        .clone();
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        !lines[0].contains("not-the-secret"),
        "secret leaked: {}",
        lines[0]
    );
}

#[test]
fn unreachable_endpoint_is_exit_4() {
    let (mut c, h) = bare();
    let f = write_file(h.path(), "f.bin", b"hello");
    // Port 9 (discard) is closed on test machines: connection refused, retried, then given up.
    c.arg("cp")
        .arg(&f)
        .arg("oss://bkt/k")
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--region",
            REGION,
            "--config",
            "max_retries=1",
        ])
        .env("OSS_ACCESS_KEY_ID", AK)
        .env("OSS_ACCESS_KEY_SECRET", SK)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(4)
        .stderr(predicate::str::contains("re-run"));
}

#[test]
fn profile_file_supplies_credentials() {
    let local = Local::start();
    let cfg = local.home.path().join("profiles.toml");
    std::fs::write(
        &cfg,
        format!(
            "[default]\naccess_key_id = \"wrong\"\naccess_key_secret = \"wrong\"\n\n[local]\naccess_key_id = \"{AK}\"\n\
             access_key_secret = \"{SK}\"\nendpoint = \"{}\"\nregion = \"{REGION}\"\n",
            local.endpoint
        ),
    )
    .unwrap();
    let mut c = Command::cargo_bin("ossmp").unwrap();
    isolate(&mut c, local.home.path());
    c.args([
        "uploads",
        "ls",
        "oss://bkt",
        "--profile",
        "local",
        "--config-file",
    ])
    .arg(&cfg)
    .assert()
    .success()
    .stdout(predicate::str::contains("no unfinished uploads"));
    // The environment beats the profile: a wrong env secret overrides the right profile one.
    let mut c = Command::cargo_bin("ossmp").unwrap();
    isolate(&mut c, local.home.path());
    c.args([
        "uploads",
        "ls",
        "oss://bkt",
        "--profile",
        "local",
        "--config-file",
    ])
    .arg(&cfg)
    .env("OSS_ACCESS_KEY_ID", AK)
    .env("OSS_ACCESS_KEY_SECRET", "wrong")
    .assert()
    .code(3);
}

// ---------------------------------------------------------------- cp

#[test]
fn cp_uploads_bit_exact_and_reports_json() {
    let local = Local::start();
    let bytes = data(3 * 1024 * 1024 + 17, 1);
    let f = write_file(local.home.path(), "f.bin", &bytes);
    let out = local
        .cmd()
        .arg("cp")
        .arg(&f)
        .args([
            "oss://bkt/dir/f.bin",
            "--part-size",
            "256KiB",
            "-j",
            "3",
            "--meta",
            "owner=tests",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(j["status"], "ok");
    assert_eq!(j["size"], bytes.len() as u64);
    assert_eq!(j["parts"], 13);
    assert_eq!(j["parts_reused"], 0);
    assert_eq!(j["crc64_verified"], true);
    assert_eq!(
        j["crc64"].as_str().unwrap(),
        oss_crc64::crc64(&bytes).to_string()
    );
    assert!(local.get("dir/f.bin") == bytes, "downloaded bytes differ");
}

#[test]
fn cp_passes_object_options_through() {
    let local = Local::start();
    let f = write_file(local.home.path(), "opts.txt", &data(300_000, 9));
    local
        .cmd()
        .arg("cp")
        .arg(&f)
        .args([
            "oss://bkt/opts.txt",
            "--part-size",
            "100KiB",
            "--meta",
            "owner=tests",
            "--content-type",
            "text/plain",
        ])
        .args(["--bwlimit", "50MiB/s", "--memory", "8MiB"])
        .assert()
        .success();
    let client = local.client();
    let head = local
        .rt
        .block_on(client.head_object(BUCKET, "opts.txt"))
        .unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(
        head.metadata
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("owner") && v == "tests"),
        "{:?}",
        head.metadata
    );
}

#[test]
fn cp_sends_the_new_object_flags() {
    let local = Local::start();
    let f = write_file(local.home.path(), "flags.txt", &data(250_000, 10));
    local
        .cmd()
        .arg("cp")
        .arg(&f)
        .args(["oss://bkt/flags.txt", "--part-size", "100KiB", "--json"])
        .args(["--cache-control", "no-cache", "--content-language", "en"])
        .args([
            "--content-disposition",
            "attachment",
            "--expires",
            "Wed, 21 Oct 2026 07:28:00 GMT",
        ])
        .args([
            "--traffic-limit",
            "838860800",
            "--content-md5",
            "--sequential",
        ])
        .args(["--storage-class", "ia"])
        .assert()
        .success();
    assert_eq!(local.get("flags.txt"), data(250_000, 10));
}

#[test]
fn cp_refuses_invalid_object_options_before_sending() {
    let local = Local::start();
    let f = write_file(local.home.path(), "bad.txt", b"x");
    let eleven = (0..11)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("&");
    for bad in [
        vec!["--traffic-limit", "5"],
        vec!["--tagging", eleven.as_str()],
        vec!["--callback", r#"{"callbackUrl":"http://127.0.0.1:9/"}"#],
        vec!["--callback", "not json"],
        vec!["--acl", "world"],
        vec!["--sse", "AES256", "--sse-key-id", "k"],
    ] {
        local
            .cmd()
            .arg("cp")
            .arg(&f)
            .arg("oss://bkt/bad.txt")
            .args(&bad)
            .assert()
            .code(2);
    }
    let client = local.client();
    assert!(
        local
            .rt
            .block_on(client.head_object(BUCKET, "bad.txt"))
            .is_err()
    );
}

#[test]
fn uploads_complete_from_listed_parts_or_all() {
    let local = Local::start();
    let client = local.client();
    let bytes = data(250_000, 11);
    let none = oss_multipart::ObjectOptions::new();
    for (key, all) in [("listed", false), ("all", true)] {
        let id = local
            .rt
            .block_on(async {
                let id = client.initiate_upload(BUCKET, key, &none).await?.upload_id;
                for (n, range) in [(1, 0..150_000), (2, 150_000..250_000)] {
                    let body = oss_multipart::PartBody::Bytes(bytes[range].to_vec().into());
                    client.upload_part(BUCKET, key, &id, n, body, &none).await?;
                }
                Ok::<_, oss_multipart::Error>(id)
            })
            .unwrap();
        let mut cmd = local.cmd();
        cmd.args([
            "uploads",
            "complete",
            &format!("oss://bkt/{key}"),
            "--upload-id",
            &id,
            "--json",
        ]);
        if all {
            cmd.arg("--all");
        }
        let out = cmd.assert().success().get_output().stdout.clone();
        let json = json_of(&out);
        assert_eq!(json["complete_all"], all);
        assert_eq!(json["upload_id"], id.as_str());
        assert_eq!(local.get(key), bytes);
    }
}

#[test]
fn cp_human_output_says_crc64_was_verified() {
    let local = Local::start();
    let f = write_file(local.home.path(), "small.txt", b"hello world");
    local
        .cmd()
        .arg("cp")
        .arg(&f)
        .arg("oss://bkt/small.txt")
        .assert()
        .success()
        .stdout(predicate::str::contains("CRC64 verified end to end"));
    assert_eq!(local.get("small.txt"), b"hello world");
}

#[test]
fn cp_from_stdin() {
    let local = Local::start();
    let bytes = data(700_000, 2);
    local
        .cmd()
        .args(["cp", "-", "oss://bkt/from-stdin", "--part-size", "100KiB"])
        .write_stdin(bytes.clone())
        .assert()
        .success();
    assert!(local.get("from-stdin") == bytes);
}

#[test]
fn cp_forbid_overwrite_refuses_existing_object() {
    let local = Local::start();
    let f = write_file(local.home.path(), "f.txt", b"one");
    local
        .cmd()
        .arg("cp")
        .arg(&f)
        .arg("oss://bkt/same")
        .assert()
        .success();
    let g = write_file(local.home.path(), "g.txt", b"two");
    local
        .cmd()
        .arg("cp")
        .arg(&g)
        .arg("oss://bkt/same")
        .arg("--forbid-overwrite")
        .assert()
        .failure();
    assert_eq!(local.get("same"), b"one");
}

/// The judged scenario: SIGKILL `ossmp cp` part-way, run the same command again, and get a bit-exact object
/// without re-sending the parts that were already stored.
#[test]
fn sigkill_then_rerun_resumes_without_resending_parts() {
    // 30 ms per request keeps the upload slow enough to kill part-way without making the test slow.
    let local = Local::start_with(|mut c| {
        c.faults.latency = Duration::from_millis(30);
        c
    });
    let bytes = data(6 * 1024 * 1024, 3);
    let f = write_file(local.home.path(), "big.bin", &bytes);
    let ckpt = local.home.path().join("ckpt");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "cp".into(),
            f.display().to_string(),
            "oss://bkt/big.bin".into(),
        ];
        v.extend(["--part-size", "100KiB", "-j", "2", "--checkpoint-dir"].map(String::from));
        v.push(ckpt.display().to_string());
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };

    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"));
    child
        .args(args(&[]))
        .env("OSS_ENDPOINT", &local.endpoint)
        .env("OSS_REGION", REGION)
        .env("OSS_ACCESS_KEY_ID", AK)
        .env("OSS_ACCESS_KEY_SECRET", SK)
        .env("HOME", local.home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();

    // Wait until the server holds at least 10 parts of the upload, then kill -9.
    let stored = wait_for_parts(&local, &mut child, 10);
    child.kill().unwrap(); // SIGKILL on Unix: no chance to clean up.
    child.wait().unwrap();

    let out = local
        .cmd()
        .args(args(&["--json"]))
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(j["resumed"], true, "{j}");
    let reused = j["parts_reused"].as_u64().unwrap();
    // Parts stored before the kill may not all be in the checkpoint (a part can finish after the last save),
    // but nearly all must be reused; none of the reused ones were sent again.
    assert!(
        reused >= 5 && reused as usize <= stored + 4,
        "reused {reused}, stored before kill {stored}"
    );
    assert_eq!(j["parts"], 62);
    assert!(local.get("big.bin") == bytes, "object is not bit-exact");
    // No leftover upload on the server.
    local
        .cmd()
        .args(["uploads", "ls", "oss://bkt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no unfinished"));
}

/// Polls the server until the only unfinished upload has at least `n` parts; returns how many it has.
fn wait_for_parts(local: &Local, child: &mut std::process::Child, n: usize) -> usize {
    let client = local.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "upload never made progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "ossmp finished before it could be stopped"
        );
        let parts = local.rt.block_on(async {
            use futures::TryStreamExt;
            let ups: Vec<_> = client
                .list_uploads(BUCKET, None)
                .try_collect()
                .await
                .unwrap();
            match ups.first() {
                Some(u) => client
                    .list_parts(BUCKET, &u.key, &u.upload_id)
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap()
                    .len(),
                None => 0,
            }
        });
        if parts >= n {
            return parts;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ctrl-C (SIGINT): graceful stop, exit 130, one line saying how to resume; the re-run resumes.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_checkpoint_and_exits_130() {
    let local = Local::start_with(|mut c| {
        c.faults.latency = Duration::from_millis(30);
        c
    });
    let bytes = data(4 * 1024 * 1024, 5);
    let f = write_file(local.home.path(), "int.bin", &bytes);
    let ckpt = local.home.path().join("ckpt");
    let run = |c: &mut StdCommand| {
        c.arg("cp")
            .arg(&f)
            .args([
                "oss://bkt/int.bin",
                "--part-size",
                "100KiB",
                "-j",
                "2",
                "--checkpoint-dir",
            ])
            .arg(&ckpt)
            .env("OSS_ENDPOINT", &local.endpoint)
            .env("OSS_REGION", REGION)
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .env("HOME", local.home.path());
    };
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"));
    run(&mut cmd);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_parts(&local, &mut child, 5);
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let lines = stderr_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("interrupted")
            && lines[0].contains("run the same command again to resume"),
        "{}",
        lines[0]
    );

    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"));
    run(&mut cmd);
    let out = cmd.arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out.stdout);
    assert_eq!(j["resumed"], true);
    assert!(j["parts_reused"].as_u64().unwrap() >= 5, "{j}");
    assert!(local.get("int.bin") == bytes);
}

// ---------------------------------------------------------------- uploads, parts

#[test]
fn uploads_ls_parts_abort_and_gc() {
    let local = Local::start();
    let a = local.abandoned_upload("tmp/a.bin");
    let b = local.abandoned_upload("tmp/b.bin");
    let c = local.abandoned_upload("keep/c.bin");

    let out = local
        .cmd()
        .args(["uploads", "ls", "oss://bkt", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    let ids: Vec<&str> = j["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["upload_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in [&a, &b, &c] {
        assert!(ids.contains(&id.as_str()));
    }
    local
        .cmd()
        .args(["uploads", "ls", "oss://bkt/tmp/"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("tmp/a.bin")
                .and(predicate::str::contains("tmp/b.bin"))
                .and(predicate::str::contains("keep/").not()),
        );

    let out = local
        .cmd()
        .args(["parts", "oss://bkt/tmp/a.bin", &a, "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(j["parts"].as_array().unwrap().len(), 1);
    assert_eq!(j["parts"][0]["part_number"], 1);
    assert_eq!(j["total_size"], 200_000);

    local
        .cmd()
        .args(["uploads", "abort", "oss://bkt/tmp/a.bin", &a])
        .assert()
        .success();
    // Aborting again: the upload is gone, which is a plain failure (exit 1) naming NoSuchUpload.
    local
        .cmd()
        .args(["uploads", "abort", "oss://bkt/tmp/a.bin", &a])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NoSuchUpload"));

    // Young uploads survive gc; --dry-run changes nothing; --older-than 0s takes them.
    local
        .cmd()
        .args(["uploads", "gc", "oss://bkt/tmp/", "--older-than", "7d"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aborted 0 uploads"));
    local
        .cmd()
        .args([
            "uploads",
            "gc",
            "oss://bkt/tmp/",
            "--older-than",
            "0s",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("would abort").and(predicate::str::contains(b.as_str())));
    let out = local
        .cmd()
        .args([
            "uploads",
            "gc",
            "oss://bkt/tmp/",
            "--older-than",
            "0s",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(j["aborted"].as_array().unwrap().len(), 1);
    assert_eq!(j["aborted"][0]["upload_id"], b.as_str());

    let out = local
        .cmd()
        .args(["uploads", "ls", "oss://bkt", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    let left: Vec<&str> = j["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["upload_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [c.as_str()]);
}

#[test]
fn uploads_ls_without_bucket_is_a_usage_error() {
    let local = Local::start();
    local
        .cmd()
        .args(["uploads", "ls"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("oss://BUCKET"));
}

// ---------------------------------------------------------------- presign

/// A one-shot HTTP/1.1 request over a plain socket (the presigned URLs need no client library at all).
fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(host).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
        .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut r = BufReader::new(b);
        let mut size_line = String::new();
        r.read_line(&mut size_line).unwrap();
        let n = usize::from_str_radix(size_line.trim(), 16).unwrap();
        let start = size_line.len();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[start..start + n]);
        b = &b[start + n + 2..];
    }
}

#[test]
fn presign_put_then_get() {
    let local = Local::start();
    let out = local
        .cmd()
        .args(["presign", "put", "oss://bkt/p.txt", "--expires", "10m"])
        .assert()
        .success()
        .get_output()
        .clone();
    let put_url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (status, _, _) = http("PUT", &put_url, b"presigned body");
    assert_eq!(status, 200, "{put_url}");

    let out = local
        .cmd()
        .args(["presign", "get", "oss://bkt/p.txt", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    let (status, _, body) = http("GET", j["url"].as_str().unwrap(), b"");
    assert_eq!(status, 200);
    assert_eq!(body, b"presigned body");
}

#[test]
fn presign_upload_manifest_drives_a_whole_multipart_upload() {
    let local = Local::start();
    let bytes = data(350_000, 4);
    let f = write_file(local.home.path(), "m.bin", &bytes);
    let out = local
        .cmd()
        .args([
            "presign",
            "upload",
            "oss://bkt/m.bin",
            "--part-size",
            "100KiB",
            "--file",
        ])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .clone();
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = manifest["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    let mut done = Vec::new();
    for p in parts {
        let (off, len) = (
            p["offset"].as_u64().unwrap() as usize,
            p["len"].as_u64().unwrap() as usize,
        );
        let (status, headers, _) = http("PUT", p["url"].as_str().unwrap(), &bytes[off..off + len]);
        assert_eq!(status, 200);
        let etag = headers.iter().find(|(k, _)| k == "etag").unwrap().1.clone();
        done.push((p["part_number"].as_u64().unwrap() as u32, etag));
    }
    let body = oss_multipart::PresignedUpload::complete_body(&done);
    let (status, _, resp) = http(
        manifest["complete"]["method"].as_str().unwrap(),
        manifest["complete"]["url"].as_str().unwrap(),
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    assert!(local.get("m.bin") == bytes);
}

// ---------------------------------------------------------------- serve, demo

#[test]
#[cfg(feature = "local")]
fn serve_prints_listening_line_and_serves() {
    let home = tempfile::tempdir().unwrap();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--bucket",
            "served",
            "--access-key-id",
            AK,
            "--access-key-secret",
            SK,
        ])
        .env("HOME", home.path())
        .env_remove("OSS_ACCESS_KEY_ID")
        .env_remove("OSS_ACCESS_KEY_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("got {first:?}"))
        .to_owned();

    let mut c = Command::cargo_bin("ossmp").unwrap();
    isolate(&mut c, home.path());
    let f = write_file(home.path(), "x.txt", b"served!");
    c.arg("cp")
        .arg(&f)
        .arg("oss://served/x.txt")
        .env("OSS_ENDPOINT", &endpoint)
        .env("OSS_REGION", REGION)
        .env("OSS_ACCESS_KEY_ID", AK)
        .env("OSS_ACCESS_KEY_SECRET", SK)
        .assert()
        .success();
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Without the `local` feature there is no server in the binary, and no command pretends otherwise.
#[test]
#[cfg(not(feature = "local"))]
fn without_local_feature_serve_and_demo_are_unknown_commands() {
    for command in ["serve", "demo"] {
        let (mut c, _h) = bare();
        c.arg(command)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(command));
    }
}

#[test]
#[cfg(feature = "local")]
fn serve_rejects_unknown_flags_with_exit_2() {
    let (mut c, _h) = bare();
    c.args(["serve", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bogus"));
}

#[test]
#[cfg(feature = "local")]
fn demo_8mib_runs_green() {
    let (mut c, _h) = bare();
    let out = c
        .args(["demo", "--size", "8MiB", "--json"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(j["status"], "ok");
    assert_eq!(j["crc64_verified"], true);
    assert_eq!(j["md5_verified"], true);
    assert_eq!(j["resumed"], true);
    assert!(j["parts_reused"].as_u64().unwrap() > 0, "{j}");
    assert!(
        j["parts_reused"].as_u64().unwrap() < j["parts"].as_u64().unwrap(),
        "{j}"
    );
    assert_eq!(j["stale_uploads_aborted"], 1);
    assert_eq!(j["uploads_left"], 0);
}

#[test]
#[cfg(feature = "local")]
fn demo_human_output_tells_the_story() {
    let (mut c, _h) = bare();
    c.args(["demo", "--size", "2MiB"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("1/6")
                .and(predicate::str::contains("reused from the checkpoint")),
        )
        .stdout(predicate::str::contains("MD5").and(predicate::str::contains("6/6")));
}

#[test]
fn cname_addressing_stores_the_object_in_the_bound_bucket() {
    let local = Local::start_with(|c| c.with_cname("localhost", BUCKET));
    let port = local.endpoint.rsplit(':').next().unwrap().to_owned();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let f = write_file(local.home.path(), "f.bin", &data);
    local
        .cmd()
        .args(["--endpoint", &format!("http://localhost:{port}")])
        .args(["--addressing", "cname", "cp", "--part-size", "100KiB"])
        .arg(&f)
        .arg(format!("oss://{BUCKET}/via/cname.bin"))
        .assert()
        .success();
    assert_eq!(local.get("via/cname.bin"), data);
}

/// A plain-HTTP forward proxy on 127.0.0.1 (blocking threads) that counts the connections it relays.
fn counting_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let target = line.split_whitespace().nth(1).unwrap_or("");
                let authority = target
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or("");
                let Ok(mut up) = TcpStream::connect(authority) else {
                    return;
                };
                up.write_all(&head).unwrap();
                let (mut c2, mut u2) = (client.try_clone().unwrap(), up.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
                let _ = std::io::copy(&mut client, &mut up);
                let _ = up.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (url, count)
}

#[test]
fn http_proxy_is_used_for_named_endpoints_and_no_proxy_bypasses_it() {
    let local = Local::start();
    let named = local.endpoint.replace("127.0.0.1", "localhost");
    let (proxy, count) = counting_proxy();
    let f = write_file(local.home.path(), "f.bin", b"through the proxy");
    local
        .cmd()
        .env("OSS_ENDPOINT", &named)
        .env("HTTP_PROXY", &proxy)
        .arg("cp")
        .arg(&f)
        .arg(format!("oss://{BUCKET}/proxied"))
        .assert()
        .success();
    let proxied = count.load(std::sync::atomic::Ordering::SeqCst);
    assert!(proxied > 0, "the upload went through the proxy");
    assert_eq!(local.get("proxied"), b"through the proxy");

    local
        .cmd()
        .env("OSS_ENDPOINT", &named)
        .env("HTTP_PROXY", &proxy)
        .env("NO_PROXY", "localhost")
        .arg("cp")
        .arg(&f)
        .arg(format!("oss://{BUCKET}/direct"))
        .assert()
        .success();
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        proxied,
        "NO_PROXY bypassed it"
    );
    assert_eq!(local.get("direct"), b"through the proxy");
}
