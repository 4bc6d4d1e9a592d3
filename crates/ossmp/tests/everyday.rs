//! The everyday commands and habits (`ls`, `rm`, `stat`, `cat`, `cp` into a prefix, guessed
//! Content-Type, `-v`), run as the binary against an in-process `oss-local`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod common;

use assert_cmd::Command;
use common::{AK, BUCKET, Local, SK};
use oss_multipart::Client;

/// A server on its own runtime, a client for seeding it, and a private HOME for the CLI.
struct Server {
    local: Local,
    client: Client,
}

impl std::ops::Deref for Server {
    type Target = Local;

    fn deref(&self) -> &Local {
        &self.local
    }
}

impl Server {
    fn start() -> Self {
        let local = Local::start();
        let client = local.client();
        Self { local, client }
    }

    /// `ossmp ARGS`, configured through the environment only (nothing of the user's leaks in).
    fn ossmp(&self, args: &[&str]) -> Command {
        let mut c = self.local.cmd();
        c.args(args);
        c
    }

    fn put(&self, keys: impl IntoIterator<Item = String>) {
        self.rt.block_on(async {
            for key in keys {
                let body = key.clone().into_bytes();
                self.client.put_object(BUCKET, &key, body).await.unwrap();
            }
        });
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt as _;
        let options = oss_multipart::ListObjectsOptions::new().with_prefix(prefix);
        self.rt.block_on(async {
            self.client
                .list_objects(BUCKET, options)
                .try_filter_map(|e| async move {
                    Ok(match e {
                        oss_multipart::ObjectListEntry::Object(o) => Some(o.key),
                        _ => None,
                    })
                })
                .try_collect()
                .await
                .unwrap()
        })
    }
}

/// Every JSON line of stdout.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn last_json(stdout: &[u8]) -> serde_json::Value {
    json_lines(stdout).pop().expect("a JSON line")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn cp_into_a_prefix_keeps_the_file_name_and_guesses_the_content_type() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let pic = write(dir.path(), "pic.jpg", &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    let out = s
        .ossmp(&["cp", &pic, "oss://bkt/d/", "--json"])
        .assert()
        .success();
    let cp = last_json(&out.get_output().stdout);
    assert_eq!(cp["key"], "d/pic.jpg");

    let out = s
        .ossmp(&["stat", "oss://bkt/d/pic.jpg", "--json"])
        .assert()
        .success();
    let stat = last_json(&out.get_output().stdout);
    assert_eq!(stat["command"], "stat");
    assert_eq!(stat["content_type"], "image/jpeg");
    assert_eq!(stat["size"], 7);
    // CRC-64 in decimal, the same string in cp and stat, as OSS sends it.
    let crc = stat["crc64"].as_str().unwrap();
    assert!(crc.bytes().all(|b| b.is_ascii_digit()), "{crc}");
    assert_eq!(cp["crc64"], stat["crc64"]);
    assert_eq!(s.keys("d/"), ["d/pic.jpg"]);

    // An explicit type wins over the guess; a full key is used as given.
    let page = write(dir.path(), "page.html", b"<p>hi</p>");
    s.ossmp(&[
        "cp",
        &page,
        "oss://bkt/site/index",
        "--content-type",
        "text/x-custom",
    ])
    .assert()
    .success();
    let out = s
        .ossmp(&["stat", "oss://bkt/site/index", "--json"])
        .assert()
        .success();
    assert_eq!(
        last_json(&out.get_output().stdout)["content_type"],
        "text/x-custom"
    );

    // Human output shows the decimal CRC-64 too.
    let out = s.ossmp(&["stat", "oss://bkt/d/pic.jpg"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(&format!("CRC64          {crc}")), "{text}");
    assert!(text.contains("image/jpeg"), "{text}");

    // stdin has no file name, so a prefix destination is refused (exit 2) and nothing stored.
    s.ossmp(&["cp", "-", "oss://bkt/in/"])
        .write_stdin("x")
        .assert()
        .code(2);
    assert!(s.keys("in/").is_empty());
}

#[test]
fn verbose_logs_each_request_and_never_the_secret() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.txt", b"hello");
    let out = s
        .ossmp(&["-v", "cp", &f, "oss://bkt/v/a.txt"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let line = err
        .lines()
        .find(|l| l.contains("PutObject") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no PutObject line in {err}"));
    assert!(line.contains("method=PUT"), "{line}");
    assert!(line.contains("v/a.txt"), "{line}");
    assert!(
        line.contains("request_id=") && !line.contains("request_id=\"\""),
        "{line}"
    );
    assert!(line.contains("millis="), "{line}");
    assert!(!err.contains(SK), "the secret leaked into the log");

    // Without -v, nothing is logged; RUST_LOG alone turns the log on.
    let out = s.ossmp(&["stat", "oss://bkt/v/a.txt"]).assert().success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("status=200"));
    let out = s
        .ossmp(&["stat", "oss://bkt/v/a.txt"])
        .env("RUST_LOG", "oss_multipart=debug")
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("HeadObject") && err.contains("status=200"),
        "{err}"
    );
    assert!(!err.contains(SK));
}

#[test]
fn ls_follows_every_page_and_escapes_keys_for_humans_only() {
    let s = Server::start();
    // More than one page of 1000.
    s.put((0..1003).map(|i| format!("many/{i:04}")));
    s.put([
        "top/a/1".to_owned(),
        "top/a/2".to_owned(),
        "top/b".to_owned(),
    ]);
    let evil = "top/evil\u{1b}]0;pwned\u{7}\u{1b}[2J";
    s.put([evil.to_owned()]);

    let out = s
        .ossmp(&["ls", "oss://bkt/many/", "--json"])
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["status"], "ok");
    assert_eq!(summary["command"], "ls");
    assert_eq!(summary["objects"], 1003);
    let objects: Vec<_> = lines.iter().filter(|l| l["type"] == "object").collect();
    assert_eq!(objects.len(), 1003);
    assert_eq!(objects[0]["key"], "many/0000");
    assert_eq!(objects[0]["size"], "many/0000".len());
    for field in ["last_modified", "storage_class", "etag"] {
        assert!(objects[0][field].is_string(), "{field}");
    }

    // One level: `top/a/` is a prefix, `top/b` an object.
    let out = s
        .ossmp(&["ls", "-d", "oss://bkt/top/", "--json"])
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    let prefixes: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "prefix")
        .map(|l| l["prefix"].clone())
        .collect();
    assert_eq!(prefixes, ["top/a/"]);
    let keys: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "object")
        .map(|l| l["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["top/b", evil], "JSON carries the exact key");

    // Human output: the control characters are shown, not obeyed.
    let out = s.ossmp(&["ls", "-l", "oss://bkt/top/"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(
        text.contains("top/evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "{text}"
    );
    assert!(
        text.contains("oss://bkt/top/a/1") && text.contains("Standard"),
        "{text}"
    );

    // An empty prefix lists nothing and succeeds; a missing bucket is exit 1.
    let out = s
        .ossmp(&["ls", "oss://bkt/none/", "--json"])
        .assert()
        .success();
    assert_eq!(last_json(&out.get_output().stdout)["objects"], 0);
    s.ossmp(&["ls", "oss://no-such-bucket/"]).assert().code(1);
    s.ossmp(&["ls", "not-a-url"]).assert().code(2);
}

#[test]
fn rm_dry_run_deletes_nothing_then_rm_r_f_deletes_all() {
    let s = Server::start();
    s.put((0..25).map(|i| format!("logs/{}/{i}", i % 3)));
    s.put(["logs-old/keep".to_owned(), "one".to_owned()]);

    let out = s
        .ossmp(&["rm", "-r", "--dry-run", "oss://bkt/logs", "--json"])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        (doc["command"].as_str(), doc["dry_run"].as_bool()),
        (Some("rm"), Some(true))
    );
    assert_eq!(doc["would_delete"].as_array().unwrap().len(), 25);
    assert_eq!(s.keys("logs/").len(), 25, "a dry run deletes nothing");

    // Off a terminal nothing is asked; `logs` means `logs/`, so `logs-old/` is untouched.
    let out = s
        .ossmp(&["rm", "-r", "-f", "oss://bkt/logs", "--json"])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["deleted"].as_array().unwrap().len(), 25);
    assert!(doc["failed"].as_array().unwrap().is_empty());
    let out = s
        .ossmp(&["ls", "oss://bkt/logs/", "--json"])
        .assert()
        .success();
    assert_eq!(last_json(&out.get_output().stdout)["objects"], 0);
    assert_eq!(s.keys("logs-old/"), ["logs-old/keep"]);

    // One object; a prefix without -r is a usage error that deletes nothing.
    s.ossmp(&["rm", "oss://bkt/logs-old/"]).assert().code(2);
    assert_eq!(s.keys("logs-old/").len(), 1);
    s.ossmp(&["rm", "oss://bkt/one"]).assert().success();
    assert!(s.keys("one").is_empty());
}

#[test]
fn stat_and_cat_of_an_object_and_of_a_missing_one() {
    let s = Server::start();
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    s.rt.block_on(s.client.put_object(BUCKET, "data/blob.bin", body.clone()))
        .unwrap();

    let out = s
        .ossmp(&["cat", "oss://bkt/data/blob.bin"])
        .assert()
        .success();
    assert!(out.get_output().stdout == body, "cat is bit-exact");

    let out = s
        .ossmp(&["stat", "oss://bkt/data/blob.bin", "--json"])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(doc["size"], 300_000);
    assert!(doc["etag"].as_str().unwrap().starts_with('"'));
    assert!(doc["request_id"].is_string());
    assert_eq!(doc["tags"], serde_json::json!({}));

    // Tags and the ACL come from their own requests, in JSON and in the human table.
    let tagged = common::write_file(s.home.path(), "tagged.txt", b"tagged");
    s.ossmp(&["cp", tagged.to_str().unwrap(), "oss://bkt/data/tagged.txt"])
        .args([
            "--tagging",
            "team=storage&tier=gold",
            "--acl",
            "public-read",
        ])
        .assert()
        .success();
    let out = s
        .ossmp(&["stat", "oss://bkt/data/tagged.txt", "--json"])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        doc["tags"],
        serde_json::json!({"team": "storage", "tier": "gold"})
    );
    assert_eq!(doc["acl"], "public-read");
    let out = s
        .ossmp(&["stat", "oss://bkt/data/tagged.txt"])
        .assert()
        .success();
    let human = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        human.contains("team=storage") && human.contains("tier=gold"),
        "{human}"
    );

    s.ossmp(&["stat", "oss://bkt/data/missing"])
        .assert()
        .code(1);
    let out = s
        .ossmp(&["cat", "oss://bkt/data/missing", "--json"])
        .assert()
        .code(1);
    assert_eq!(last_json(&out.get_output().stdout)["status"], "error");
    s.ossmp(&["stat", "oss://bkt"]).assert().code(2);
}

#[test]
fn completions_and_man_page_describe_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef ossmp"),
        ("fish", "complete -c ossmp"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::cargo_bin("ossmp")
            .unwrap()
            .args(["completions", shell])
            .assert()
            .success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("stat") && script.contains("dry-run"),
            "{shell}"
        );
    }
    let out = Command::cargo_bin("ossmp")
        .unwrap()
        .arg("man")
        .assert()
        .success();
    let page = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        page.starts_with(".ie") || page.contains(".TH ossmp"),
        "{page}"
    );
    assert!(page.contains("completions"), "{page}");
    Command::cargo_bin("ossmp")
        .unwrap()
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn parallel_is_jobs_and_checkpoints_live_under_xdg_state_home() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "big.bin", &vec![5u8; 300_000]);
    let state = s.home.path().join("state");
    s.ossmp(&[
        "cp",
        &f,
        "oss://bkt/big.bin",
        "--parallel",
        "2",
        "--part-size",
        "100KiB",
    ])
    .env("XDG_STATE_HOME", &state)
    .assert()
    .success();
    assert!(
        state.join("ossmp").join("checkpoints").is_dir(),
        "checkpoint dir under XDG_STATE_HOME"
    );
    s.ossmp(&["cp", &f, "oss://bkt/x", "--parallel", "0"])
        .assert()
        .code(2);
}

#[test]
fn the_profile_file_is_found_under_xdg_config_home() {
    let s = Server::start();
    let config = s.home.path().join("xdg-config");
    std::fs::create_dir_all(config.join("ossmp")).unwrap();
    std::fs::write(
        config.join("ossmp").join("config.toml"),
        format!("[default]\naccess_key_id = \"{AK}\"\naccess_key_secret = \"{SK}\"\n"),
    )
    .unwrap();
    s.put(["p".to_owned()]);
    s.ossmp(&["stat", "oss://bkt/p"])
        .env_remove("OSS_ACCESS_KEY_ID")
        .env_remove("OSS_ACCESS_KEY_SECRET")
        .env("XDG_CONFIG_HOME", &config)
        .assert()
        .success();
    s.ossmp(&["stat", "oss://bkt/p"])
        .env_remove("OSS_ACCESS_KEY_ID")
        .env_remove("OSS_ACCESS_KEY_SECRET")
        .assert()
        .code(3);
}

/// Every file under `root`, relative, with its bytes.
fn tree(root: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn cp_r_up_and_down_with_filters_update_and_dry_run() {
    let s = Server::start();
    let src = tempfile::tempdir().unwrap();
    for (i, name) in [
        "a.jpg",
        "empty",
        "sub dir/ü b.txt",
        "sub dir/deep/c.jpg",
        "x.log",
    ]
    .iter()
    .enumerate()
    {
        let p = src.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, name.repeat(i * 1000)).unwrap();
    }
    let src_arg = src.path().to_str().unwrap();

    // A dry run lists the files and sends nothing.
    let out = s
        .ossmp(&[
            "cp",
            "-r",
            "--dry-run",
            "--exclude",
            "*.log",
            src_arg,
            "oss://bkt/site",
            "--json",
        ])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        (doc["command"].as_str(), doc["dry_run"].as_bool()),
        (Some("cp"), Some(true))
    );
    assert_eq!(doc["would_copy"], 4);
    assert_eq!(doc["destination"], "oss://bkt/site/");
    assert!(s.keys("site/").is_empty());

    let out = s
        .ossmp(&[
            "cp",
            "-r",
            "--exclude",
            "*.log",
            src_arg,
            "oss://bkt/site",
            "--json",
        ])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        (doc["status"].as_str(), doc["copied"].as_u64()),
        (Some("ok"), Some(4))
    );
    assert_eq!(
        s.keys("site/"),
        [
            "site/a.jpg",
            "site/empty",
            "site/sub dir/deep/c.jpg",
            "site/sub dir/ü b.txt"
        ]
    );
    let out = s
        .ossmp(&["stat", "oss://bkt/site/a.jpg", "--json"])
        .assert()
        .success();
    assert_eq!(
        last_json(&out.get_output().stdout)["content_type"],
        "image/jpeg"
    );

    // -u sends nothing when nothing changed, then only the changed file.
    let out = s
        .ossmp(&[
            "cp",
            "-r",
            "-u",
            "--exclude",
            "*.log",
            src_arg,
            "oss://bkt/site/",
            "--json",
        ])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        (doc["copied"].as_u64(), doc["unchanged"].as_u64()),
        (Some(0), Some(4))
    );
    std::fs::write(src.path().join("a.jpg"), b"changed").unwrap();
    let out = s
        .ossmp(&[
            "cp",
            "-r",
            "-u",
            "--exclude",
            "*.log",
            src_arg,
            "oss://bkt/site/",
            "--json",
        ])
        .assert()
        .success();
    assert_eq!(last_json(&out.get_output().stdout)["copied"], 1);

    // Down again into a fresh directory: equal to the source minus the excluded file.
    let back = tempfile::tempdir().unwrap();
    let back_arg = back.path().to_str().unwrap();
    let out = s
        .ossmp(&["cp", "-r", "oss://bkt/site/", back_arg, "--json"])
        .assert()
        .success();
    assert_eq!(last_json(&out.get_output().stdout)["copied"], 4);
    let mut expected = tree(src.path());
    expected.remove(Path::new("x.log"));
    assert!(tree(back.path()) == expected, "round trip differs");

    // A key that is no safe path is refused and reported; exit 1, the rest copied.
    s.put(["site/../../evil".to_owned()]);
    let other = tempfile::tempdir().unwrap();
    let out = s
        .ossmp(&[
            "cp",
            "-r",
            "oss://bkt/site/",
            other.path().to_str().unwrap(),
            "--json",
        ])
        .assert()
        .code(1);
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(
        lines.last().unwrap()["status"],
        "error",
        "the failure document ends the output"
    );
    let doc = lines.iter().find(|l| l["command"] == "cp").unwrap();
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["refused"][0]["key"], "site/../../evil");
    assert_eq!(doc["copied"], 4);
    assert!(!other.path().parent().unwrap().join("evil").exists());

    // -r needs a directory; a directory without -r says to add it.
    s.ossmp(&["cp", "-r", &format!("{src_arg}/a.jpg"), "oss://bkt/x/"])
        .assert()
        .code(2);
    let out = s.ossmp(&["cp", src_arg, "oss://bkt/x/"]).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("-r"));
}

#[test]
fn off_a_terminal_progress_is_a_plain_line_every_few_seconds() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // About 6 s at 256 KiB/s: at least one line at 5 s.
    let f = write(dir.path(), "slow.bin", &vec![1u8; 1_600_000]);
    let out = s
        .ossmp(&[
            "cp",
            &f,
            "oss://bkt/slow.bin",
            "--bwlimit",
            "256KiB/s",
            "--part-size",
            "200KiB",
        ])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let line = err
        .lines()
        .find(|l| l.starts_with("upload ") && l.contains("/s ETA "))
        .unwrap_or_else(|| panic!("no progress line in {err:?}"));
    assert!(
        line.contains("/1.53 MiB (") && line.contains("parts "),
        "{line}"
    );
    assert!(
        !err.contains('\r') && !err.contains('\u{1b}'),
        "plain lines, no redraws: {err:?}"
    );

    // --progress none prints no progress at all.
    let out = s
        .ossmp(&[
            "cp",
            &f,
            "oss://bkt/slow2.bin",
            "--bwlimit",
            "256KiB/s",
            "--part-size",
            "200KiB",
            "--progress",
            "none",
        ])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("ETA"));
}

#[test]
fn part_size_jobs_and_bwlimit_come_from_the_profile_under_the_flags() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.bin", &vec![3u8; 450_000]);
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        "[default]\npart_size = \"100KiB\"\njobs = 2\nbwlimit = \"100MiB/s\"\n",
    )
    .unwrap();
    let cfg = profile.to_str().unwrap();
    let out = s
        .ossmp(&["cp", &f, "oss://bkt/p1", "--config-file", cfg, "--json"])
        .assert()
        .success();
    assert_eq!(
        last_json(&out.get_output().stdout)["parts"],
        5,
        "100 KiB parts from the profile"
    );
    let out = s
        .ossmp(&[
            "cp",
            &f,
            "oss://bkt/p2",
            "--config-file",
            cfg,
            "--part-size",
            "200KiB",
            "--json",
        ])
        .assert()
        .success();
    assert_eq!(
        last_json(&out.get_output().stdout)["parts"],
        3,
        "the flag wins"
    );
    std::fs::write(&profile, "[default]\npart_size = \"1KiB\"\n").unwrap();
    let out = s
        .ossmp(&["cp", &f, "oss://bkt/p3", "--config-file", cfg])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("part_size"));
}

#[test]
fn cp_between_objects_copies_on_the_server() {
    let s = Server::start();
    let body: Vec<u8> = (0..250_000u32).map(|i| (i % 253) as u8).collect();
    s.rt.block_on(s.client.put_object(BUCKET, "src/big.bin", body.clone()))
        .unwrap();
    let out = s
        .ossmp(&[
            "cp",
            "oss://bkt/src/big.bin",
            "oss://bkt/dst/",
            "--part-size",
            "100KiB",
            "--copy-threshold",
            "0",
            "--json",
        ])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(
        (doc["key"].as_str(), doc["parts"].as_u64()),
        (Some("dst/big.bin"), Some(3))
    );
    assert!(doc["upload_id"].is_string());
    assert_eq!(doc["crc64_verified"], true);
    let copied =
        s.rt.block_on(s.client.get_object(BUCKET, "dst/big.bin"))
            .unwrap();
    assert!(copied == body, "the copy is bit-exact");
    s.ossmp(&["cp", "oss://bkt/src/missing", "oss://bkt/dst/x"])
        .assert()
        .code(1);
}

#[test]
fn cp_between_objects_below_the_threshold_keeps_or_replaces_attributes() {
    let s = Server::start();
    let options = oss_multipart::ObjectOptions::new()
        .with_content_type("image/png")
        .with_metadata("origin", "scanner")
        .with_tag("team", "a");
    s.rt.block_on(
        s.client
            .put_object_with(BUCKET, "src/pic.png", vec![7u8; 150_000], &options),
    )
    .unwrap();
    let out = s
        .ossmp(&[
            "cp",
            "oss://bkt/src/pic.png",
            "oss://bkt/kept.png",
            "--json",
        ])
        .assert()
        .success();
    let doc = last_json(&out.get_output().stdout);
    assert_eq!(doc["parts"].as_u64(), Some(1), "{doc}");
    assert!(doc["upload_id"].is_null(), "one CopyObject: {doc}");
    assert_eq!(doc["crc64_verified"], true);
    let head =
        s.rt.block_on(s.client.head_object(BUCKET, "kept.png"))
            .unwrap();
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert_eq!(head.metadata, [("origin".to_owned(), "scanner".to_owned())]);
    let tags =
        s.rt.block_on(s.client.get_object_tagging(BUCKET, "kept.png"))
            .unwrap();
    assert_eq!(tags, [("team".to_owned(), "a".to_owned())]);

    s.ossmp(&[
        "cp",
        "oss://bkt/src/pic.png",
        "oss://bkt/replaced.png",
        "--content-type",
        "text/plain",
        "--tagging",
        "team=b",
        "--copy-threshold",
        "0",
        "--part-size",
        "100KiB",
    ])
    .assert()
    .success()
    .stdout(predicates::str::contains("in 2 parts"));
    let head =
        s.rt.block_on(s.client.head_object(BUCKET, "replaced.png"))
            .unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(head.metadata.is_empty());
    let tags =
        s.rt.block_on(s.client.get_object_tagging(BUCKET, "replaced.png"))
            .unwrap();
    assert_eq!(tags, [("team".to_owned(), "b".to_owned())]);

    s.ossmp(&[
        "cp",
        "oss://bkt/src/pic.png",
        "oss://bkt/x",
        "--bwlimit",
        "1MiB/s",
    ])
    .assert()
    .code(2);
}
