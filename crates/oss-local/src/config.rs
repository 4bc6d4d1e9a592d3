//! Server configuration and the command-line parser shared by `oss-local` and `ossmp serve`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How part and object ETags are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EtagMode {
    /// `"` + upper-hex MD5 of the bytes + `"`, exactly as OSS.
    #[default]
    Md5,
    /// A cheap but stable 32-hex-digit tag: the CRC-64/XZ of the bytes (16 upper-hex digits)
    /// followed by the byte length (16 upper-hex digits). Same shape as an MD5 ETag, so clients
    /// cannot tell, but it costs nothing beyond the CRC the server computes anyway. The body's
    /// Content-MD5 header, when sent, is still verified (MD5 is then computed for that request).
    Fast,
}

/// Where object and part bodies go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StorageMode {
    /// Bodies are written to the data directory (crash-safe).
    #[default]
    Disk,
    /// Bodies are checked (CRC-64, MD5) while they stream in, then thrown away; all metadata
    /// is kept so every multipart rule still applies. Reading such an object returns zeros.
    /// Part metadata is kept in memory only: an upload in progress loses its parts when the
    /// server restarts (objects and uploads persist). Meant for client benchmarks where the
    /// server's disk must not be the bottleneck.
    Discard,
}

/// An operation fault injection can target (`--fault-ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultOp {
    /// InitiateMultipartUpload.
    Initiate,
    /// UploadPart and UploadPartCopy.
    UploadPart,
    /// CompleteMultipartUpload.
    Complete,
    /// AbortMultipartUpload.
    Abort,
    /// ListParts.
    ListParts,
    /// ListMultipartUploads.
    ListUploads,
    /// PutObject.
    PutObject,
    /// GetObject.
    GetObject,
    /// HeadObject.
    HeadObject,
    /// DeleteObject.
    DeleteObject,
}

impl FaultOp {
    /// Every operation, in the order of the flag names.
    pub const ALL: [Self; 10] = [
        Self::Initiate,
        Self::UploadPart,
        Self::Complete,
        Self::Abort,
        Self::ListParts,
        Self::ListUploads,
        Self::PutObject,
        Self::GetObject,
        Self::HeadObject,
        Self::DeleteObject,
    ];

    /// The flag spelling (`upload-part`, `complete`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiate => "initiate",
            Self::UploadPart => "upload-part",
            Self::Complete => "complete",
            Self::Abort => "abort",
            Self::ListParts => "list-parts",
            Self::ListUploads => "list-uploads",
            Self::PutObject => "put-object",
            Self::GetObject => "get-object",
            Self::HeadObject => "head-object",
            Self::DeleteObject => "delete-object",
        }
    }

    /// Parses a flag spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// Fault injection settings. All probabilities are in `0.0..=1.0`; zero disables a fault.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Probability that a targeted request fails with 500 InternalError or 503
    /// ServiceUnavailable, either before or after the part/object is stored.
    pub fault_rate: f64,
    /// Probability that the connection is closed mid-body or just before the response.
    pub drop_rate: f64,
    /// Extra latency added to every request.
    pub latency: Duration,
    /// Bandwidth cap in bytes per second for request and response bodies, per connection.
    pub bandwidth: Option<u64>,
    /// Operations faults apply to; empty means all.
    pub ops: Vec<FaultOp>,
    /// Seed of the fault generator, so that a failing run can be replayed.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            fault_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
            bandwidth: None,
            ops: Vec::new(),
            seed: 0,
        }
    }
}

impl FaultConfig {
    /// Whether `op` is targeted by `fault_rate` / `drop_rate`.
    pub fn targets(&self, op: FaultOp) -> bool {
        self.ops.is_empty() || self.ops.contains(&op)
    }
}

/// Size limits that protect the server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest XML request body (CompleteMultipartUpload, PutBucket); 2 MiB fits 10,000 parts.
    pub max_xml_body: usize,
    /// Largest request head (request line + headers) in bytes.
    pub max_header_bytes: usize,
    /// Largest number of request headers.
    pub max_headers: usize,
    /// Connections served at once; further connections wait in the accept queue.
    pub max_connections: usize,
    /// Largest single PutObject / UploadPart body (OSS: 5 GiB).
    pub max_body: u64,
    /// Smallest size of every part but the last at Complete (OSS: 102,400 bytes). Lower it
    /// only to exercise very many parts cheaply in tests.
    pub min_part_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_xml_body: 2 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_connections: 256,
            max_body: 5 * 1024 * 1024 * 1024,
            min_part_size: 102_400,
        }
    }
}

/// Everything [`crate::Server::start`] needs. Build it with [`Config::new`] and the `with_*`
/// methods, or parse command-line flags with [`Config::from_args`].
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Data directory; `None` creates a temporary one removed at shutdown.
    pub data_dir: Option<PathBuf>,
    /// Region the V4 credential scope must name.
    pub region: String,
    /// The only access key id accepted.
    pub access_key_id: String,
    /// Its secret (never printed).
    pub access_key_secret: String,
    /// Buckets created at start-up (if missing).
    pub buckets: Vec<String>,
    /// With `Some("oss.localhost")`, `Host: b.oss.localhost` addresses bucket `b`.
    pub virtual_host_suffix: Option<String>,
    /// ETag computation.
    pub etag: EtagMode,
    /// Body storage.
    pub storage: StorageMode,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Protective limits.
    pub limits: Limits,
    /// Allowed clock skew for signed requests (OSS: 15 minutes).
    pub max_skew: Duration,
    /// Whether to fsync files and directories before acknowledging (off only speeds up tests;
    /// SIGKILL safety does not need it, power-loss safety does).
    pub fsync: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("buckets", &self.buckets)
            .field("virtual_host_suffix", &self.virtual_host_suffix)
            .field("etag", &self.etag)
            .field("storage", &self.storage)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .field("max_skew", &self.max_skew)
            .field("fsync", &self.fsync)
            .finish()
    }
}

impl Config {
    /// A configuration listening on `127.0.0.1:0` in region `cn-hangzhou` with a temporary
    /// data directory and the given credentials.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            region: "cn-hangzhou".to_owned(),
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            buckets: Vec::new(),
            virtual_host_suffix: None,
            etag: EtagMode::Md5,
            storage: StorageMode::Disk,
            faults: FaultConfig::default(),
            limits: Limits::default(),
            max_skew: Duration::from_secs(15 * 60),
            fsync: true,
        }
    }

    /// Sets the listen address.
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the data directory.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Adds a bucket created at start-up.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.buckets.push(bucket.into());
        self
    }

    /// Enables virtual-host addressing under `suffix`.
    pub fn with_virtual_host_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.virtual_host_suffix = Some(suffix.into());
        self
    }

    /// Sets the ETag mode.
    pub fn with_etag(mut self, etag: EtagMode) -> Self {
        self.etag = etag;
        self
    }

    /// Sets the storage mode.
    pub fn with_storage(mut self, storage: StorageMode) -> Self {
        self.storage = storage;
        self
    }

    /// Sets fault injection.
    pub fn with_faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns fsync on or off.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Parses the `oss-local` flags (without the program name). Credentials missing from the
    /// flags are taken from `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` through `env`, which
    /// callers pass as `|name| std::env::var(name).ok()`. Returns `Ok(None)` for `--help`.
    pub fn from_args<I, S>(
        args: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut config = Self::new(String::new(), String::new());
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            if flag == "--no-fsync" {
                config.fsync = false;
                continue;
            }
            let mut value = || -> Result<String, ConfigError> {
                match inline.clone().or_else(|| args.next()) {
                    Some(value) => Ok(value),
                    None => Err(ConfigError::missing_value(&flag)),
                }
            };
            match flag.as_str() {
                "--listen" => config.listen = parse(&flag, &value()?)?,
                "--data-dir" => config.data_dir = Some(PathBuf::from(value()?)),
                "--region" => config.region = value()?,
                "--access-key-id" => config.access_key_id = value()?,
                "--access-key-secret" => config.access_key_secret = value()?,
                "--bucket" => config.buckets.push(value()?),
                "--virtual-host-suffix" => config.virtual_host_suffix = Some(value()?),
                "--etag" => {
                    config.etag = match value()?.as_str() {
                        "md5" => EtagMode::Md5,
                        "fast" => EtagMode::Fast,
                        other => return Err(ConfigError::invalid(&flag, other, "md5 or fast")),
                    }
                }
                "--storage" => {
                    config.storage = match value()?.as_str() {
                        "disk" => StorageMode::Disk,
                        "discard" => StorageMode::Discard,
                        other => {
                            return Err(ConfigError::invalid(&flag, other, "disk or discard"));
                        }
                    }
                }
                "--fault-rate" => config.faults.fault_rate = probability(&flag, &value()?)?,
                "--drop-rate" => config.faults.drop_rate = probability(&flag, &value()?)?,
                "--latency-ms" => {
                    config.faults.latency = Duration::from_millis(parse(&flag, &value()?)?);
                }
                "--bandwidth" => {
                    let bytes: u64 = parse(&flag, &value()?)?;
                    config.faults.bandwidth = (bytes > 0).then_some(bytes);
                }
                "--fault-seed" => config.faults.seed = parse(&flag, &value()?)?,
                "--fault-ops" => {
                    let list = value()?;
                    config.faults.ops.clear();
                    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        let op = FaultOp::from_name(name).ok_or_else(|| {
                            ConfigError::invalid(&flag, name, "a list of operation names")
                        })?;
                        config.faults.ops.push(op);
                    }
                }
                "--max-connections" => config.limits.max_connections = parse(&flag, &value()?)?,
                "--max-skew-secs" => {
                    config.max_skew = Duration::from_secs(parse(&flag, &value()?)?);
                }
                _ => return Err(ConfigError::unknown(&arg)),
            }
        }
        if config.access_key_id.is_empty() {
            config.access_key_id = env("OSS_ACCESS_KEY_ID").unwrap_or_default();
        }
        if config.access_key_secret.is_empty() {
            config.access_key_secret = env("OSS_ACCESS_KEY_SECRET").unwrap_or_default();
        }
        if config.access_key_id.is_empty() || config.access_key_secret.is_empty() {
            return Err(ConfigError {
                message: "credentials required: --access-key-id/--access-key-secret or \
                          OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET"
                    .to_owned(),
            });
        }
        Ok(Some(config))
    }
}

/// The usage text of the `oss-local` flags.
pub const USAGE: &str = "\
oss-local: a local OSS-compatible server

  --listen ADDR:PORT            bind address (default 127.0.0.1:0)
  --data-dir DIR                data directory (default: a temporary directory)
  --region REGION               region of the V4 scope (default cn-hangzhou)
  --access-key-id AK            accepted access key id (or OSS_ACCESS_KEY_ID)
  --access-key-secret SK        its secret (or OSS_ACCESS_KEY_SECRET)
  --bucket NAME                 create this bucket at start-up (repeatable)
  --virtual-host-suffix SUFFIX  accept Host: <bucket>.SUFFIX (virtual-host style)
  --etag md5|fast               ETag computation (default md5)
  --storage disk|discard        keep or discard bodies; discard keeps part metadata in
                                memory only (default disk)
  --fault-rate P                probability of 500/503 on targeted operations
  --drop-rate P                 probability of closing the connection
  --latency-ms N                added latency per request
  --bandwidth BYTES_PER_SEC     per-connection body bandwidth cap
  --fault-ops OP,...            initiate,upload-part,complete,abort,list-parts,list-uploads,
                                put-object,get-object,head-object,delete-object (default all)
  --fault-seed N                seed of the fault generator (default 0)
  --max-connections N           connections served at once (default 256)
  --max-skew-secs N             allowed clock skew (default 900)
  --no-fsync                    skip fsync (faster; still SIGKILL-safe, not power-loss-safe)
";

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::invalid(flag, value, "a valid value"))
}

fn probability(flag: &str, value: &str) -> Result<f64, ConfigError> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(ConfigError::invalid(flag, value, "a probability in 0..=1")),
    }
}

/// A command-line flag could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn missing_value(flag: &str) -> Self {
        Self {
            message: format!("{flag} needs a value"),
        }
    }

    fn invalid(flag: &str, value: &str, expected: &str) -> Self {
        Self {
            message: format!("{flag}: invalid value `{value}`, expected {expected}"),
        }
    }

    fn unknown(arg: &str) -> Self {
        Self {
            message: format!("unknown argument `{arg}` (see --help)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_every_flag() {
        let config = Config::from_args(
            [
                "--listen",
                "127.0.0.1:9000",
                "--data-dir=/tmp/x",
                "--region",
                "cn-beijing",
                "--access-key-id",
                "ak",
                "--access-key-secret",
                "sk",
                "--bucket",
                "a",
                "--bucket",
                "b",
                "--virtual-host-suffix",
                "oss.localhost",
                "--etag",
                "fast",
                "--storage",
                "discard",
                "--fault-rate",
                "0.25",
                "--drop-rate",
                "0.5",
                "--latency-ms",
                "7",
                "--bandwidth",
                "1000",
                "--fault-ops",
                "upload-part,complete",
                "--fault-seed",
                "42",
                "--no-fsync",
            ],
            no_env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(config.region, "cn-beijing");
        assert_eq!(config.buckets, ["a", "b"]);
        assert_eq!(config.virtual_host_suffix.as_deref(), Some("oss.localhost"));
        assert_eq!(config.etag, EtagMode::Fast);
        assert_eq!(config.storage, StorageMode::Discard);
        assert_eq!(config.faults.fault_rate, 0.25);
        assert_eq!(config.faults.drop_rate, 0.5);
        assert_eq!(config.faults.latency, Duration::from_millis(7));
        assert_eq!(config.faults.bandwidth, Some(1000));
        assert_eq!(config.faults.ops, [FaultOp::UploadPart, FaultOp::Complete]);
        assert_eq!(config.faults.seed, 42);
        assert!(!config.fsync);
        assert!(!format!("{config:?}").contains("\"sk\""));
    }

    #[test]
    fn credentials_from_env_and_errors() {
        let env = |name: &str| match name {
            "OSS_ACCESS_KEY_ID" => Some("envak".to_owned()),
            "OSS_ACCESS_KEY_SECRET" => Some("envsk".to_owned()),
            _ => None,
        };
        let config = Config::from_args(Vec::<String>::new(), env)
            .unwrap()
            .unwrap();
        assert_eq!(config.access_key_id, "envak");
        assert!(Config::from_args(Vec::<String>::new(), no_env).is_err());
        assert!(Config::from_args(["--fault-rate", "2"], env).is_err());
        assert!(Config::from_args(["--fault-ops", "nope"], env).is_err());
        assert!(Config::from_args(["--listen"], env).is_err());
        assert!(Config::from_args(["--bogus"], env).is_err());
        assert!(Config::from_args(["--help"], env).unwrap().is_none());
    }
}
