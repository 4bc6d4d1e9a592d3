//! What the process-level CLI tests share: an `oss-local` on its own runtime, optionally behind
//! a proxy that counts the requests reaching it, and an isolated environment for the binary.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub const AK: &str = "LTAItestkey0000";
pub const SK: &str = "test-secret-value-1234";
pub const REGION: &str = "cn-hangzhou";
pub const BUCKET: &str = "bkt";

/// The request lines (`PUT /bkt/key?partNumber=2&uploadId=...`) that reached the server.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// `oss-local` behind a counting proxy, on its own runtime.
pub struct Local {
    pub rt: tokio::runtime::Runtime,
    server: Option<oss_local::ServerHandle>,
    /// The proxy's endpoint: what the CLI talks to.
    pub endpoint: String,
    pub seen: Seen,
    pub home: tempfile::TempDir,
}

impl Local {
    pub fn start(tweak: impl FnOnce(oss_local::Config) -> oss_local::Config) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = tweak(
            oss_local::Config::new(AK, SK)
                .with_bucket(BUCKET)
                .with_region(REGION)
                .with_fsync(false),
        );
        let server = rt
            .block_on(oss_local::Server::start(config))
            .expect("oss-local starts");
        let seen: Seen = Arc::default();
        let endpoint = rt.block_on(proxy(server.addr(), seen.clone()));
        Self {
            rt,
            server: Some(server),
            endpoint,
            seen,
            home: tempfile::tempdir().expect("home"),
        }
    }

    /// The environment the CLI runs with: this server, test credentials, and a private HOME
    /// (no profile, checkpoint or configuration of the user's is read or touched).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let home = self.home.path();
        [
            ("OSS_ENDPOINT", self.endpoint.clone()),
            ("OSS_REGION", REGION.to_owned()),
            ("OSS_ACCESS_KEY_ID", AK.to_owned()),
            ("OSS_ACCESS_KEY_SECRET", SK.to_owned()),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_owned()),
            ("HOME", home.display().to_string()),
            ("XDG_CACHE_HOME", home.join("cache").display().to_string()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
            ("XDG_STATE_HOME", home.join("state").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// `ossmp` with [`env_vars`](Self::env_vars).
    pub fn ossmp(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("ossmp"));
        for var in ["OSSMP_PROFILE", "OSSMP_CONFIG_FILE", "OSS_SESSION_TOKEN"] {
            c.env_remove(var);
        }
        c.envs(self.env_vars());
        c
    }

    pub fn client(&self) -> oss_multipart::Client {
        let _g = self.rt.enter();
        oss_multipart::Client::builder()
            .endpoint(self.endpoint.clone())
            .region(REGION)
            .credentials(oss_multipart::Credentials::new(AK, SK))
            .addressing(oss_multipart::Addressing::Path)
            .build()
            .expect("client")
    }

    /// The request lines seen so far that start with `prefix` (e.g. `"PUT /bkt/dir/"`).
    pub fn requests(&self, prefix: &str) -> Vec<String> {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.starts_with(prefix))
            .cloned()
            .collect()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// A TCP proxy to `upstream` that records the request line of every HTTP request passing
/// through. Lines are found in the byte stream: a request line (`METHOD /path HTTP/1.1`) does
/// not occur by chance in the bodies the tests send.
async fn proxy(upstream: std::net::SocketAddr, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
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
                    let mut carry: Vec<u8> = Vec::new();
                    loop {
                        let n = match dr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        carry.extend_from_slice(&buf[..n]);
                        while let Some(end) = carry.windows(2).position(|w| w == b"\r\n") {
                            let line: Vec<u8> = carry.drain(..end + 2).collect();
                            if let Some(l) = request_line(&line[..end]) {
                                seen.lock().expect("lock").push(l);
                            }
                        }
                        // Bodies without line breaks: keep only a possible line start.
                        if carry.len() > 8192 {
                            carry.drain(..carry.len() - 4096);
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

/// `PUT /bkt/k?partNumber=1 HTTP/1.1` → `PUT /bkt/k?partNumber=1`. The line may follow the
/// previous request's body directly (a body does not end with a line break).
fn request_line(line: &[u8]) -> Option<String> {
    let rest = line.strip_suffix(b" HTTP/1.1")?;
    let start = ["GET /", "PUT /", "POST /", "HEAD /", "DELETE /"]
        .iter()
        .filter_map(|m| rest.windows(m.len()).rposition(|w| w == m.as_bytes()))
        .max()?;
    let text = std::str::from_utf8(&rest[start..]).ok()?;
    (text.matches(' ').count() == 1).then(|| text.to_owned())
}

/// Pseudo-random test data.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
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

pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}
