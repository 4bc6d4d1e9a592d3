//! The harness the CLI tests share: an `oss-local` on its own runtime, the `ossmp` binary
//! configured for it through the environment only, and test data.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use oss_multipart::{Addressing, Client, Credentials};

pub const AK: &str = "LTAItestkey0000";
pub const SK: &str = "test-secret-value-1234";
pub const REGION: &str = "cn-hangzhou";
pub const BUCKET: &str = "bkt";

/// An `oss-local` running on its own runtime for the duration of a test.
pub struct Local {
    pub rt: tokio::runtime::Runtime,
    pub server: Option<oss_local::ServerHandle>,
    pub endpoint: String,
    /// HOME / cache for the CLI, so no real profile or checkpoint of the user is touched.
    pub home: tempfile::TempDir,
}

impl Local {
    pub fn start() -> Self {
        Self::start_with(|c| c)
    }

    pub fn start_with(tweak: impl FnOnce(oss_local::Config) -> oss_local::Config) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = tweak(
            oss_local::Config::new(AK, SK)
                .with_bucket(BUCKET)
                .with_region(REGION)
                .with_fsync(false),
        );
        let server = rt.block_on(oss_local::Server::start(config)).unwrap();
        let endpoint = server.endpoint();
        Self {
            rt,
            server: Some(server),
            endpoint,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The CLI, configured for this server through the environment only.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("ossmp").unwrap();
        isolate(&mut c, self.home.path());
        c.env("OSS_ENDPOINT", &self.endpoint)
            .env("OSS_REGION", REGION)
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .timeout(Duration::from_secs(120));
        c
    }

    pub fn client(&self) -> Client {
        let _guard = self.rt.enter();
        Client::builder()
            .endpoint(self.endpoint.clone())
            .region(REGION)
            .credentials(Credentials::new(AK, SK))
            .addressing(Addressing::Path)
            .build()
            .unwrap()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// Removes every configuration source the user's machine could leak into a test.
pub fn isolate(c: &mut Command, home: &Path) {
    for var in [
        "OSS_ENDPOINT",
        "OSS_REGION",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
        "OSSMP_PROFILE",
        "OSSMP_CONFIG_FILE",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ALIBABA_CLOUD_OSS_ENDPOINT",
        "ALIBABA_CLOUD_REGION_ID",
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_PROFILE",
        "ALIBABA_CLOUD_CONFIG_FILE",
        "ALIBABA_CLOUD_CREDENTIALS_FILE",
        "ALIBABA_CLOUD_CREDENTIALS_URI",
        "OSS_ADDRESSING",
        "OSS_SIGNATURE_VERSION",
        "RUST_LOG",
        "SSL_CERT_FILE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        c.env_remove(var);
    }
    // Never ask the real instance metadata address from a test.
    c.env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");
    c.env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"));
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

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
