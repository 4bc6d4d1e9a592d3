//! `ossmp cp oss://BUCKET/KEY PATH|DIR|-` against an in-process `oss-local`, including the judged
//! crash scenario: SIGKILL five times, re-run, bit-exact, and no range already verified in the
//! checkpoint is fetched again (counted at the server's door by a proxy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const AK: &str = "LTAItestkey0000";
const SK: &str = "test-secret-value-1234";
const REGION: &str = "cn-hangzhou";
const BUCKET: &str = "bkt";

/// GET `Range` headers seen by the proxy, with counts.
type Seen = Arc<Mutex<Vec<String>>>;

/// oss-local behind a counting proxy, on its own runtime.
struct Local {
    rt: tokio::runtime::Runtime,
    server: Option<oss_local::ServerHandle>,
    /// The proxy's endpoint (what the CLI talks to).
    endpoint: String,
    seen: Seen,
    home: tempfile::TempDir,
}

impl Local {
    fn start(latency: Duration) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config = oss_local::Config::new(AK, SK)
            .with_bucket(BUCKET)
            .with_region(REGION)
            .with_fsync(false);
        config.faults.latency = latency;
        let server = rt.block_on(oss_local::Server::start(config)).unwrap();
        let seen: Seen = Arc::default();
        let endpoint = rt.block_on(proxy(server.addr(), seen.clone()));
        Self {
            rt,
            server: Some(server),
            endpoint,
            seen,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self, c: &mut StdCommand) {
        for var in ["OSSMP_PROFILE", "OSSMP_CONFIG_FILE", "OSS_SESSION_TOKEN"] {
            c.env_remove(var);
        }
        c.env("OSS_ENDPOINT", &self.endpoint)
            .env("OSS_REGION", REGION)
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"));
    }

    fn cmd(&self) -> Command {
        let mut std = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"));
        self.env(&mut std);
        let mut c = Command::from_std(std);
        c.timeout(Duration::from_secs(120));
        c
    }

    fn put(&self, key: &str, bytes: &[u8]) {
        let _g = self.rt.enter();
        let client = oss_multipart::Client::builder()
            .endpoint(self.endpoint.clone())
            .region(REGION)
            .credentials(oss_multipart::Credentials::new(AK, SK))
            .addressing(oss_multipart::Addressing::Path)
            .build()
            .unwrap();
        self.rt
            .block_on(client.put_object(BUCKET, key, bytes.to_vec()))
            .unwrap();
    }

    fn gets(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// A TCP proxy that forwards bytes both ways and records the `Range` header of every request it
/// forwards to the server (downloads send only request heads upstream, so scanning is exact).
async fn proxy(upstream: std::net::SocketAddr, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut down, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut dr, mut dw) = down.split();
                let (mut ur, mut uw) = up.split();
                let to_server = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut carry = String::new();
                    loop {
                        let n = match dr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while let Some(end) = carry.find("\r\n") {
                            let line: String = carry.drain(..end + 2).collect();
                            if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: ") {
                                seen.lock().unwrap().push(v.trim().to_owned());
                            }
                        }
                        if uw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = uw.shutdown().await;
                };
                let to_client = async {
                    let _ = tokio::io::copy(&mut ur, &mut dw).await;
                    let _ = dw.shutdown().await;
                };
                tokio::join!(to_server, to_client);
            });
        }
    });
    format!("http://{addr}")
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
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

/// Checkpoint files in `dir` (a process killed mid-save may also leave a `.tmp` file there).
fn checkpoints(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".ossmp-checkpoint.json"))
        .collect()
}

/// Range starts journaled in the (single) checkpoint under `dir`.
fn journaled_starts(dir: &Path) -> Vec<u64> {
    let Some(path) = checkpoints(dir).pop() else {
        return Vec::new();
    };
    let cp: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let part = cp["part_size"].as_u64().unwrap();
    cp["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["i"].as_u64().unwrap() * part)
        .collect()
}

fn range_start(header: &str) -> u64 {
    header
        .trim_start_matches("bytes=")
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn downloads_to_a_file_a_directory_and_stdout() {
    let local = Local::start(Duration::ZERO);
    let bytes = data(1_234_567, 1);
    local.put("dir/obj.bin", &bytes);
    let out_dir = local.home.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // A directory destination takes the key's basename; --json gives the summary.
    let out = local
        .cmd()
        .args(["cp", "oss://bkt/dir/obj.bin"])
        .arg(&out_dir)
        .args(["--part-size", "100KiB", "-j", "3", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let j = json_of(&out.stdout);
    assert_eq!(
        (j["size"].as_u64(), j["crc64_verified"].as_bool()),
        (Some(1_234_567), Some(true))
    );
    assert_eq!(j["ranges"], 13);
    assert!(std::fs::read(out_dir.join("obj.bin")).unwrap() == bytes);
    let names: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temp file left");
    // stdout, in order.
    let out = local
        .cmd()
        .args(["cp", "oss://bkt/dir/obj.bin", "-", "--part-size", "100KiB"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(out.stdout == bytes, "stdout is the object");
    // Empty objects too.
    local.put("empty", b"");
    let p = local.home.path().join("empty");
    local
        .cmd()
        .args(["cp", "oss://bkt/empty"])
        .arg(&p)
        .assert()
        .success();
    assert_eq!(std::fs::read(&p).unwrap(), b"");
}

#[test]
fn no_clobber_missing_keys_and_bad_paths_fail_cleanly() {
    let local = Local::start(Duration::ZERO);
    local.put("k", b"new bytes");
    let p = local.home.path().join("existing");
    std::fs::write(&p, b"old").unwrap();
    let out = local
        .cmd()
        .args(["cp", "oss://bkt/k"])
        .arg(&p)
        .arg("--no-clobber")
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-clobber"));
    assert_eq!(std::fs::read(&p).unwrap(), b"old");
    // The default replaces, as cp does.
    local
        .cmd()
        .args(["cp", "oss://bkt/k"])
        .arg(&p)
        .assert()
        .success();
    assert_eq!(std::fs::read(&p).unwrap(), b"new bytes");
    // No such key: exit 1, nothing written.
    let missing = local.home.path().join("missing");
    let out = local
        .cmd()
        .args(["cp", "oss://bkt/absent"])
        .arg(&missing)
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NoSuchKey")
            || String::from_utf8_lossy(&out.stderr).contains("404")
    );
    assert!(!missing.exists());
    // A directory that does not exist: the error names the path, and the hint points at the
    // local side, not at the service.
    let bad = local.home.path().join("nope").join("f");
    let out = local
        .cmd()
        .args(["cp", "oss://bkt/k"])
        .arg(&bad)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(stderr.contains("-- check the path"), "{stderr}");
    // Two local sides.
    local.cmd().args(["cp", "a", "b"]).assert().code(2);
}

/// The judged crash scenario.
#[test]
fn sigkill_five_times_then_rerun_is_bit_exact_and_refetches_nothing_verified() {
    let local = Local::start(Duration::from_millis(15));
    let bytes = data(8 * 1024 * 1024 + 17, 9);
    local.put("big.bin", &bytes);
    let target = local.home.path().join("big.bin");
    let ckpt = local.home.path().join("ckpt");
    let run = || {
        let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("ossmp"));
        local.env(&mut c);
        c.args(["cp", "oss://bkt/big.bin"])
            .arg(&target)
            .args(["--part-size", "100KiB", "-j", "2", "--checkpoint-dir"])
            .arg(&ckpt);
        c
    };
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for kill in 0..5 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait_for = 4 + (rng % 9) as usize;
        let before = local.gets().len();
        let mut child = run()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while local.gets().len() < before + wait_for {
            assert!(Instant::now() < deadline, "no progress before kill {kill}");
            assert!(
                child.try_wait().unwrap().is_none(),
                "finished before kill {kill}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL: no cleanup.
        child.wait().unwrap();
        assert!(!target.exists(), "nothing at the target after kill {kill}");
    }
    let verified = journaled_starts(&ckpt);
    assert!(
        verified.len() >= 5,
        "ranges journaled across the kills: {verified:?}"
    );
    let before = local.gets().len();
    let out = run().arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out.stdout);
    assert_eq!(j["resumed"], true, "{j}");
    assert_eq!(
        j["ranges_reused"].as_u64(),
        Some(verified.len() as u64),
        "{j}"
    );
    assert!(std::fs::read(&target).unwrap() == bytes, "bit-exact");
    let mut fetched: BTreeMap<u64, u32> = BTreeMap::new();
    for h in &local.gets()[before..] {
        *fetched.entry(range_start(h)).or_default() += 1;
    }
    for start in &verified {
        assert!(
            !fetched.contains_key(start),
            "verified range at {start} fetched again"
        );
    }
    assert_eq!(
        fetched.len() + verified.len(),
        (bytes.len() as u64).div_ceil(102_400) as usize,
        "every other range fetched once"
    );
    assert!(checkpoints(&ckpt).is_empty(), "checkpoint removed");
}
