//! What `ossmp cp` reports at the end of a run, judged on the real binary (`chaos-ossmp`): one
//! regression test per finding of the second adversarial run (issue 15). Each one asserts the
//! outcome the user must get: a stored object is never reported as a failure, a failure never
//! asks for a resume when nothing is left to resume, nothing is leaked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod fake;
mod procs;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use oss_chaos::{BUCKET, client, data, fast_retry, local_config};
use oss_local::{FaultConfig, FaultOp};

/// A scratch HOME and an endpoint for `ossmp` runs.
struct Env {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Env {
    fn new(endpoint: String) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            endpoint,
        }
    }

    /// `ossmp` with an isolated HOME, env credentials and this endpoint (path style).
    fn ossmp(&self) -> Command {
        procs::ossmp(self.dir.path(), &self.endpoint)
    }

    /// `ossmp --region R cp SRC oss://BUCKET/KEY --checkpoint-dir DIR EXTRA...`.
    fn cp(&self, src: &Path, key: &str, extra: &[&str]) -> Command {
        let mut cmd = self.ossmp();
        cmd.args(["cp"])
            .arg(src)
            .arg(format!("oss://{BUCKET}/{key}"))
            .arg("--checkpoint-dir")
            .arg(self.checkpoints())
            .args(extra);
        cmd
    }

    fn checkpoints(&self) -> PathBuf {
        self.dir.path().join("checkpoints")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

/// Runs a command to its end without blocking the test's runtime (the server lives on it).
async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn wait(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The one JSON document `--json` prints on stdout.
fn json(out: &Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "no JSON on stdout: {stdout:?}; stderr: {}",
                text(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

/// Every unfinished multipart upload in the bucket, as (key, upload id).
async fn uploads_left(endpoint: &str) -> Vec<(String, String)> {
    let c = client(endpoint, fast_retry(0)).unwrap();
    c.list_uploads(BUCKET, None)
        .map_ok(|u| (u.key, u.upload_id))
        .try_collect()
        .await
        .unwrap()
}

/// Waits until the only unfinished upload has at least `n` parts on the server.
async fn wait_for_parts(endpoint: &str, child: &mut Child, n: usize) -> String {
    let c = client(endpoint, fast_retry(0)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the upload never made progress");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ossmp ended ({status}) before the test could act on it");
        }
        let ups: Vec<_> = c.list_uploads(BUCKET, None).try_collect().await.unwrap();
        if let Some(u) = ups.first() {
            let parts: Vec<_> = c
                .list_parts(BUCKET, &u.key, &u.upload_id)
                .try_collect()
                .await
                .unwrap();
            if parts.len() >= n {
                return u.upload_id.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A server slow enough (latency + bandwidth cap) for a run to be caught mid-way.
async fn slow_server() -> oss_local::ServerHandle {
    let mut faults = FaultConfig::default();
    faults.latency = Duration::from_millis(20);
    faults.bandwidth = Some(2 * 1024 * 1024);
    oss_local::Server::start(local_config().with_faults(faults))
        .await
        .unwrap()
}

// ---------- item 1: a stored object is never reported as a failure ----------

/// Complete succeeded and its CRC-64 matched; the HEAD that re-checks the object fails (every
/// HEAD answers 5xx, no retries). The run stores the object, exits 0 and says it was not
/// re-checked; nothing tells the user to re-run, and no upload is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_post_check_head_is_a_warning_not_a_failure() {
    let mut faults = FaultConfig::default();
    faults.fault_rate = 1.0;
    faults.ops = vec![FaultOp::HeadObject];
    let server = oss_local::Server::start(local_config().with_faults(faults))
        .await
        .unwrap();
    let env = Env::new(server.endpoint());
    let c = client(&server.endpoint(), fast_retry(0)).unwrap();
    // Multipart (3 parts) and single PUT.
    for (key, len) in [("head/multi", 250_000), ("head/single", 50_000)] {
        let bytes = data(len, 1);
        let src = env.file("src", &bytes);
        let out = output(env.cp(
            &src,
            key,
            &[
                "--part-size",
                "100KiB",
                "--json",
                "--config",
                "max_retries=0",
            ],
        ))
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{key}: {stderr}");
        let j = json(&out);
        assert_eq!(j["status"], "ok", "{j}");
        assert_eq!(j["crc64_verified"], false, "{j}");
        assert_eq!(j["post_check"], "failed", "{j}");
        let warning = j["warnings"][0].as_str().unwrap_or_default();
        assert!(warning.contains("stored; not re-checked"), "{j}");
        assert!(stderr.contains("stored; not re-checked"), "{stderr}");
        assert!(!stderr.contains("re-run"), "{stderr}");
        assert_eq!(c.get_object(BUCKET, key).await.unwrap(), bytes);
    }
    // The human form says the same, on stderr, and still exits 0.
    let src = env.file("src", &data(250_000, 2));
    let out = output(env.cp(&src, "head/human", &["--config", "max_retries=0"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: ") && stderr.contains("not re-checked"));
    assert!(!stderr.contains("re-run") && !text(&out.stdout).contains("re-run"));
    assert!(uploads_left(&server.endpoint()).await.is_empty());
}

// ---------- item 2: the post-check compares the size ----------

/// A server whose HEAD says `Content-Length: 0` (and no CRC) for a 200 KB upload: the run must
/// not report success, and must not ask for a resume (the checkpoint is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_check_refuses_a_stored_size_that_differs() {
    let server = fake::start(fake::Script {
        head: fake::Reply::Raw(
            "HTTP/1.1 200 OK\r\nx-oss-request-id: FAKE\r\netag: \"ABC-2\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .into(),
        ),
        ..fake::Script::good()
    })
    .await;
    let env = Env::new(server.endpoint());
    let src = env.file("src", &data(200_000, 3));
    let out = output(env.cp(&src, "size/obj", &["--part-size", "100KiB", "--json"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    let j = json(&out);
    assert_eq!(j["kind"], "integrity", "{j}");
    let message = j["message"].as_str().unwrap();
    assert!(
        message.contains("200000") && message.contains(" 0 "),
        "{message}"
    );
    assert!(!stderr.contains("resume"), "{stderr}");
}

// ---------- item 3: a checkpoint that cannot be written ----------

/// The checkpoint directory exists but nothing can be created in it (`/proc`, even for root):
/// the run fails before anything is sent, and says which directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_checkpoint_directory_fails_before_uploading() {
    let server = oss_local::Server::start(local_config()).await.unwrap();
    let env = Env::new(server.endpoint());
    let src = env.file("src", &data(300_000, 4));
    let mut cmd = env.ossmp();
    cmd.args(["--json", "cp"])
        .arg(&src)
        .arg(format!("oss://{BUCKET}/ckpt/obj"))
        .args(["--part-size", "100KiB", "--checkpoint-dir", "/proc"]);
    let out = output(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/proc") && stderr.contains("checkpoint"),
        "{stderr}"
    );
    assert_eq!(json(&out)["kind"], "usage");
    assert!(uploads_left(&server.endpoint()).await.is_empty());
    let c = client(&server.endpoint(), fast_retry(0)).unwrap();
    assert!(c.head_object(BUCKET, "ckpt/obj").await.is_err());
}

// ---------- item 4: one run per checkpoint ----------

/// Two runs of the same file to the same key: the second refuses, naming the first's pid, and
/// changes nothing; the first completes bit-exact with one upload id. A lock left by `kill -9`
/// is released by the kernel: the next run resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_checkpoint_is_refused() {
    let server = slow_server().await;
    let endpoint = server.endpoint();
    let env = Env::new(endpoint.clone());
    let bytes = data(3 * 1024 * 1024, 5);
    let src = env.file("src", &bytes);
    let args = ["--part-size", "100KiB", "-j", "2", "--json"];
    let mut first = env.cp(&src, "lock/obj", &args).spawn().unwrap();
    let upload_id = wait_for_parts(&endpoint, &mut first, 3).await;

    let second = output(env.cp(&src, "lock/obj", &args)).await;
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("another ossmp (pid {}) is uploading", first.id()))
            && stderr.contains("oss://chaos-bucket/lock/obj"),
        "{stderr}"
    );
    assert_eq!(json(&second)["status"], "error");

    let first = wait(first).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(json(&first)["upload_id"], upload_id.as_str());
    let c = client(&endpoint, fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "lock/obj").await.unwrap(), bytes);
    assert!(uploads_left(&endpoint).await.is_empty());

    // kill -9 holds no lock afterwards.
    let mut killed = env.cp(&src, "lock/again", &args).spawn().unwrap();
    wait_for_parts(&endpoint, &mut killed, 3).await;
    killed.kill().unwrap();
    wait(killed).await;
    let rerun = output(env.cp(&src, "lock/again", &args)).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
    assert_eq!(json(&rerun)["resumed"], true);
    assert_eq!(c.get_object(BUCKET, "lock/again").await.unwrap(), bytes);
}

// ---------- item 6: Ctrl-C on a stdin upload ----------

/// Feeds `ossmp cp -` until it is interrupted, then returns its output.
async fn interrupted_stdin_upload(env: &Env, key: &str, extra: &[&str]) -> (Output, String) {
    let mut cmd = env.ossmp();
    cmd.args(["--json", "cp", "-"])
        .arg(format!("oss://{BUCKET}/{key}"))
        .args(["--part-size", "100KiB"])
        .args(extra)
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Keeps the pipe busy (a producer that never ends) until ossmp stops reading.
    let feeder = std::thread::spawn(move || {
        let chunk = data(64 * 1024, 6);
        while stdin.write_all(&chunk).is_ok() {}
    });
    let upload_id = wait_for_parts(&env.endpoint, &mut child, 3).await;
    signal(&child, "INT");
    let out = wait(child).await;
    feeder.join().unwrap();
    (out, upload_id)
}

/// Ctrl-C on `ossmp cp -`: a stream cannot resume, so its upload is aborted (nothing leaks);
/// with `--keep-parts` it is kept and its id printed. Both are in the JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_stdin_upload_aborts_it_unless_asked_to_keep_parts() {
    let server = slow_server().await;
    let env = Env::new(server.endpoint());

    let (out, _) = interrupted_stdin_upload(&env, "stdin/aborted", &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let j = json(&out);
    assert_eq!(j["kind"], "interrupted", "{j}");
    assert_eq!(j["aborted"], true, "{j}");
    assert!(j["upload_id"].is_null(), "{j}");
    assert!(!stderr.contains("run the same command"), "{stderr}");
    assert!(uploads_left(&server.endpoint()).await.is_empty());

    let (out, upload_id) = interrupted_stdin_upload(&env, "stdin/kept", &["--keep-parts"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let j = json(&out);
    assert_eq!(j["aborted"], false, "{j}");
    assert_eq!(j["upload_id"], upload_id.as_str(), "{j}");
    assert!(stderr.contains(&upload_id), "{stderr}");
    assert_eq!(
        uploads_left(&server.endpoint()).await,
        [("stdin/kept".to_owned(), upload_id)]
    );
}

// ---------- item 7: SIGTERM ----------

/// SIGTERM stops like Ctrl-C: checkpoint kept, exit 143, one line on stderr, the JSON failure
/// on stdout; the re-run resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_keeps_the_checkpoint_and_exits_143() {
    let server = slow_server().await;
    let endpoint = server.endpoint();
    let env = Env::new(endpoint.clone());
    let bytes = data(3 * 1024 * 1024, 7);
    let src = env.file("src", &bytes);
    let args = ["--part-size", "100KiB", "-j", "2", "--json"];
    let mut child = env.cp(&src, "term/obj", &args).spawn().unwrap();
    wait_for_parts(&endpoint, &mut child, 3).await;
    signal(&child, "TERM");
    let out = wait(child).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("run the same command again to resume"));
    let j = json(&out);
    assert_eq!(
        (j["exit_code"].as_u64(), &j["kind"]),
        (Some(143), &"terminated".into())
    );
    let checkpoint = j["checkpoint"].as_str().unwrap();
    assert!(Path::new(checkpoint).is_file(), "{j}");

    let rerun = output(env.cp(&src, "term/obj", &args)).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
    assert_eq!(json(&rerun)["resumed"], true);
    let c = client(&endpoint, fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "term/obj").await.unwrap(), bytes);
}

// ---------- item 12: messages ----------

/// A wrong region: an auth failure (exit 3) whose line says to check `--region`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_region_says_check_region() {
    let server = oss_local::Server::start(local_config()).await.unwrap();
    let env = Env::new(server.endpoint());
    let src = env.file("src", &data(1000, 8));
    let mut cmd = env.ossmp();
    cmd.args(["--region", "cn-beijing", "cp"])
        .arg(&src)
        .arg(format!("oss://{BUCKET}/region/obj"))
        .arg("--checkpoint-dir")
        .arg(env.checkpoints());
    let out = output(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--region") && stderr.contains("signing region in credential is invalid"),
        "{stderr}"
    );
}

/// A single PutObject that fails after its retries: no checkpoint exists for it, so none is
/// named. A failure on the service side (5xx) is not called a network problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_failures_name_no_missing_checkpoint_and_no_network() {
    let mut faults = FaultConfig::default();
    faults.fault_rate = 1.0;
    faults.ops = vec![FaultOp::PutObject, FaultOp::UploadPart];
    let server = oss_local::Server::start(local_config().with_faults(faults))
        .await
        .unwrap();
    let env = Env::new(server.endpoint());
    for (key, len) in [("svc/single", 1000), ("svc/multi", 250_000)] {
        let src = env.file("src", &data(len, 9));
        let out = output(env.cp(
            &src,
            key,
            &["--part-size", "100KiB", "--config", "max_retries=0"],
        ))
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{key}: {stderr}");
        assert!(!stderr.contains("network"), "{key}: {stderr}");
        assert!(
            stderr.contains("InternalError") || stderr.contains("ServiceUnavailable"),
            "{key}: {stderr}"
        );
        if let Some((_, rest)) = stderr.split_once("checkpoint ") {
            let path = rest.split([')', ' ', '\n']).next().unwrap();
            assert!(
                Path::new(path).is_file(),
                "{key}: names checkpoint {path}, which does not exist: {stderr}"
            );
        }
        if key == "svc/single" {
            assert!(
                !stderr.contains("resume"),
                "{key}: nothing to resume: {stderr}"
            );
        }
    }
}

/// A corrupt checkpoint: the line names its path and says `--no-resume`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_checkpoint_says_what_to_do() {
    let mut faults = FaultConfig::default();
    faults.fault_rate = 1.0;
    faults.ops = vec![FaultOp::UploadPart];
    let server = oss_local::Server::start(local_config().with_faults(faults))
        .await
        .unwrap();
    let env = Env::new(server.endpoint());
    let src = env.file("src", &data(250_000, 10));
    let args = ["--part-size", "100KiB", "--config", "max_retries=0"];
    let out = output(env.cp(&src, "corrupt/obj", &args)).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let checkpoint = std::fs::read_dir(env.checkpoints())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".ossmp-checkpoint.json"))
        .expect("the failed run kept a checkpoint");
    std::fs::write(&checkpoint, b"{ not json").unwrap();
    let out = output(env.cp(&src, "corrupt/obj", &args)).await;
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--no-resume") && stderr.contains(&checkpoint.display().to_string()),
        "{stderr}"
    );
}

/// `--part-size 102399` says the exact number of bytes, and every usage error prints its JSON
/// under `--json`.
#[test]
fn usage_errors_are_exact_and_print_json() {
    let env = Env::new("http://127.0.0.1:9".to_owned());
    let src = env.file("src", b"x");
    let out = env
        .cp(&src, "k", &["--part-size", "102399", "--json"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("102399 bytes") && stderr.contains("102400"),
        "{stderr}"
    );
    let j = json(&out);
    assert_eq!(
        (j["kind"].as_str(), j["exit_code"].as_u64()),
        (Some("usage"), Some(2))
    );
    for args in [
        &["--json", "cp", "a", "not-a-url"][..],
        &["--json", "cp", "--no-such-flag"],
        &["cp", "--json"],
    ] {
        let out = env.ossmp().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(json(&out)["kind"], "usage", "{args:?}");
    }
}

// ---------- item 13: control characters ----------

/// A key holding control characters (ESC, BEL, CR) is stored exactly, and every human line
/// that shows it escapes them: nothing the terminal would interpret reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_keys_are_escaped_in_human_output() {
    let server = oss_local::Server::start(local_config()).await.unwrap();
    let env = Env::new(server.endpoint());
    let key = "ctl/\u{1b}[31mred\u{7}\rtail";
    let bytes = data(1000, 11);
    let src = env.file("src", &bytes);
    let out = output(env.cp(&src, key, &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = client(&server.endpoint(), fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, key).await.unwrap(), bytes);
    // An unfinished upload with that key, listed.
    let upload_id = {
        use oss_multipart::ops::InitiateMultipartUpload;
        let init = InitiateMultipartUpload::new(
            oss_model::BucketName::new(BUCKET).unwrap(),
            oss_model::ObjectKey::new(key).unwrap(),
        );
        c.send(init).await.unwrap().upload_id
    };
    let mut ls = env.ossmp();
    ls.args(["uploads", "ls"])
        .arg(format!("oss://{BUCKET}/ctl/"));
    let listed = output(ls).await;
    for out in [&out, &listed] {
        let all = [text(&out.stdout), text(&out.stderr)].concat();
        assert!(
            !all.contains(['\u{1b}', '\u{7}', '\r']),
            "raw control characters reached the terminal: {all:?}"
        );
    }
    assert!(
        text(&listed.stdout).contains(&upload_id),
        "{}",
        text(&listed.stdout)
    );
    assert!(
        text(&out.stdout).contains("\\u{1b}[31mred\\u{7}\\rtail"),
        "{}",
        text(&out.stdout)
    );
}

// ---------- resumable state: what a stopped run leaves, and what the next run does with it ----------

/// Runs `cp` until the server holds `n` parts, then Ctrl-C; returns (upload id, checkpoint).
async fn interrupted_after(env: &Env, src: &Path, key: &str, n: usize) -> (String, PathBuf) {
    let mut child = env
        .cp(src, key, &["--part-size", "100KiB", "-j", "2", "--json"])
        .spawn()
        .unwrap();
    let upload_id = wait_for_parts(&env.endpoint, &mut child, n).await;
    signal(&child, "INT");
    let out = wait(child).await;
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let checkpoint = PathBuf::from(json(&out)["checkpoint"].as_str().unwrap());
    (upload_id, checkpoint)
}

/// The parts a checkpoint file journals.
fn journaled(checkpoint: &Path) -> usize {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(checkpoint).unwrap()).unwrap();
    value["parts"].as_array().map_or(0, Vec::len)
}

/// Item 3: checkpoint writes start failing mid-upload (a file-size limit, as a full disk): the
/// run warns on stderr and in its JSON, and the last good checkpoint stays on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_write_failures_mid_upload_are_reported() {
    let server = slow_server().await;
    let env = Env::new(server.endpoint());
    let bytes = data(4 * 1024 * 1024, 20);
    let src = env.file("src", &bytes);
    // 9 blocks of 512 bytes: the start-up probe (4 KiB) fits, a checkpoint of ~25 parts not.
    let limited = procs::under_file_size_limit(
        &env.cp(&src, "full/obj", &["--part-size", "100KiB", "--json"]),
        9,
    );
    let out = output(limited).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("checkpoint"),
        "{stderr}"
    );
    let j = json(&out);
    let warnings = j["warnings"].to_string();
    assert!(warnings.contains("checkpoint"), "{j}");
    let c = client(&server.endpoint(), fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "full/obj").await.unwrap(), bytes);
}

/// Item 8: the server goes away for 3 s mid-upload and comes back: the upload retries its
/// connections and completes, on the same upload id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_of_3_s_does_not_fail_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--bandwidth", "1048576", "--latency-ms", "20"];
    let mut server = procs::ServerProcess::start(&dir.path().join("server"), &args);
    let endpoint = server.endpoint();
    let env = Env::new(endpoint.clone());
    let bytes = data(4 * 1024 * 1024, 21);
    let src = env.file("src", &bytes);
    let mut child = env
        .cp(
            &src,
            "restart/obj",
            &["--part-size", "100KiB", "-j", "2", "--json"],
        )
        .spawn()
        .unwrap();
    let upload_id = wait_for_parts(&endpoint, &mut child, 3).await;
    tokio::task::block_in_place(|| server.crash_and_restart(Duration::from_secs(3), None));
    let out = wait(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["upload_id"], upload_id.as_str());
    let c = client(&endpoint, fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "restart/obj").await.unwrap(), bytes);
    assert!(uploads_left(&endpoint).await.is_empty());
}

/// Item 9: ListParts fails while a run resumes: the checkpoint keeps every journaled part (the
/// server could not be asked; nothing says they are gone), and the next run reuses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_list_parts_on_resume_keeps_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let slow = ["--bandwidth", "1048576", "--latency-ms", "20"];
    let mut server = procs::ServerProcess::start(&dir.path().join("server"), &slow);
    let env = Env::new(server.endpoint());
    let bytes = data(3 * 1024 * 1024, 22);
    let src = env.file("src", &bytes);
    let (_, checkpoint) = interrupted_after(&env, &src, "list/obj", 4).await;
    let before = journaled(&checkpoint);
    assert!(before >= 2, "{before}");

    let failing = ["--fault-ops", "list-parts", "--fault-rate", "1"];
    tokio::task::block_in_place(|| server.crash_and_restart(Duration::ZERO, Some(&failing)));
    let args = [
        "--part-size",
        "100KiB",
        "--json",
        "--config",
        "max_retries=0",
    ];
    let out = output(env.cp(&src, "list/obj", &args)).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(journaled(&checkpoint), before, "the journal lost parts");

    tokio::task::block_in_place(|| server.crash_and_restart(Duration::ZERO, Some(&[])));
    let out = output(env.cp(&src, "list/obj", &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reused = json(&out)["parts_reused"].as_u64().unwrap();
    assert!(reused as usize >= before, "{reused} < {before}");
}

/// Item 10: a checkpoint of another format version is refused with its upload id and path
/// (no silent new upload leaking the old one); `--no-resume` aborts that upload first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_checkpoint_is_refused_and_no_resume_aborts_its_upload() {
    let server = slow_server().await;
    let endpoint = server.endpoint();
    let env = Env::new(endpoint.clone());
    let bytes = data(2 * 1024 * 1024, 23);
    let src = env.file("src", &bytes);
    let (upload_id, checkpoint) = interrupted_after(&env, &src, "version/obj", 3).await;
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    value["version"] = 999.into();
    std::fs::write(&checkpoint, value.to_string()).unwrap();

    let out = output(env.cp(&src, "version/obj", &["--part-size", "100KiB"])).await;
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&upload_id)
            && stderr.contains(&checkpoint.display().to_string())
            && stderr.contains("--no-resume"),
        "{stderr}"
    );
    assert_eq!(
        uploads_left(&endpoint).await,
        [("version/obj".to_owned(), upload_id.clone())]
    );

    let out = output(env.cp(
        &src,
        "version/obj",
        &["--part-size", "100KiB", "--no-resume", "--json"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = client(&endpoint, fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "version/obj").await.unwrap(), bytes);
    assert!(
        uploads_left(&endpoint).await.is_empty(),
        "{upload_id} leaked"
    );
}

/// Item 11: the source changed (size) between an interrupted run and its re-run: the re-run
/// uploads the new bytes, aborts the old upload and says so; nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_changed_between_runs_aborts_the_old_upload() {
    let server = slow_server().await;
    let endpoint = server.endpoint();
    let env = Env::new(endpoint.clone());
    let src = env.file("src", &data(2 * 1024 * 1024, 24));
    let (upload_id, _) = interrupted_after(&env, &src, "changed/obj", 3).await;
    let bytes = data(2 * 1024 * 1024 + 5000, 25);
    std::fs::write(&src, &bytes).unwrap();

    let out = output(env.cp(&src, "changed/obj", &["--part-size", "100KiB", "--json"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&upload_id) && stderr.contains("changed"),
        "{stderr}"
    );
    let c = client(&endpoint, fast_retry(0)).unwrap();
    assert_eq!(c.get_object(BUCKET, "changed/obj").await.unwrap(), bytes);
    assert!(
        uploads_left(&endpoint).await.is_empty(),
        "{upload_id} leaked"
    );
}
