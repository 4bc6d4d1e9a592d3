//! Server configuration (the command line that fills it is in `cli`, feature `cli`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::callback::CallbackTarget;

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

impl std::str::FromStr for FaultOp {
    type Err = ConfigError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::from_name(name.trim()).ok_or_else(|| {
            ConfigError::invalid(
                "--fault-ops",
                name,
                "initiate, upload-part, complete, abort, list-parts, list-uploads, put-object, \
                 get-object, head-object or delete-object",
            )
        })
    }
}

impl std::str::FromStr for EtagMode {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "md5" => Ok(Self::Md5),
            "fast" => Ok(Self::Fast),
            other => Err(ConfigError::invalid("--etag", other, "md5 or fast")),
        }
    }
}

impl std::str::FromStr for StorageMode {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "disk" => Ok(Self::Disk),
            "discard" => Ok(Self::Discard),
            other => Err(ConfigError::invalid("--storage", other, "disk or discard")),
        }
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
    /// Fraction of accepted connections that are slow (`0.0..=1.0`): one in every
    /// `round(1 / slow_conn_rate)` consecutive connections, the one at position
    /// `seed mod window` (seed 0: the first of each window).
    pub slow_conn_rate: f64,
    /// How much slower a slow connection is: `latency` times this, `bandwidth` divided by it.
    /// 1 (or 0) means no slowdown.
    pub slow_factor: u32,
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
            slow_conn_rate: 0.0,
            slow_factor: 1,
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

/// One accepted key pair. A pair with a security token (temporary credentials) accepts only
/// requests that carry that token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credential {
    /// Access key id.
    pub access_key_id: String,
    /// Its secret (never printed).
    pub access_key_secret: String,
    /// The STS security token requests must carry, if any (never printed).
    pub security_token: Option<String>,
}

impl Credential {
    /// A pair without a token.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
        }
    }

    /// Requires `token` on every request signed with this pair.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `AK:SK` or `AK:SK:SECURITY_TOKEN` (the token may itself contain `:`).
impl std::str::FromStr for Credential {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut fields = value.splitn(3, ':');
        let (Some(ak), Some(sk)) = (fields.next(), fields.next()) else {
            return Err(ConfigError::invalid(
                "--credential",
                "(hidden)",
                "AK:SK or AK:SK:SECURITY_TOKEN",
            ));
        };
        if ak.is_empty() || sk.is_empty() {
            return Err(ConfigError::invalid(
                "--credential",
                "(hidden)",
                "a non-empty access key id and secret",
            ));
        }
        let credential = Self::new(ak, sk);
        Ok(match fields.next() {
            Some(token) if !token.is_empty() => credential.with_security_token(token),
            _ => credential,
        })
    }
}

/// A custom domain bound to a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cname {
    /// Host name, lower case, without port.
    pub host: String,
    /// The bucket it serves.
    pub bucket: String,
}

/// `HOST=BUCKET`.
impl std::str::FromStr for Cname {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.split_once('=') {
            Some((host, bucket)) if !host.is_empty() && !bucket.is_empty() => Ok(Self {
                host: host.to_ascii_lowercase(),
                bucket: bucket.to_owned(),
            }),
            _ => Err(ConfigError::invalid("--cname", value, "HOST=BUCKET")),
        }
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
    /// Connections held at once. When all are taken, a new client makes room by closing the
    /// connection waiting longest without a request in progress (idle keep-alive or a head
    /// still arriving); only when all are busy does it wait in the accept queue.
    pub max_connections: usize,
    /// Longest time a request head may take to arrive once its first byte is in; a slower
    /// client is disconnected (a stalled half-sent request must not hold a slot).
    pub header_read_timeout: Duration,
    /// Longest time a keep-alive connection may wait for its next request.
    pub keep_alive_timeout: Duration,
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
            header_read_timeout: Duration::from_secs(5),
            keep_alive_timeout: Duration::from_secs(30),
            max_body: 5 * 1024 * 1024 * 1024,
            min_part_size: 102_400,
        }
    }
}

/// Everything [`crate::Server::start`] needs. Build it with [`Config::new`] and the `with_*`
/// methods, or from command-line flags with `cli::ServerArgs` (feature `cli`).
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
    /// More accepted key pairs (temporary credentials), beside the main pair.
    pub credentials: Vec<Credential>,
    /// With `Some("oss.localhost")`, `Host: b.oss.localhost` addresses bucket `b`. Hosts
    /// `<bucket>.oss-<region>.aliyuncs.com` (and `-internal`, accelerate) are always
    /// virtual-hosted, as OSS serves them.
    pub virtual_host_suffix: Option<String>,
    /// Custom domains: a request whose Host (without port) is `host` addresses `bucket`.
    pub cnames: Vec<Cname>,
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
    /// Hosts upload callbacks may be sent to; empty: loopback addresses only.
    pub callback_allow: Vec<CallbackTarget>,
    /// How long a callback server has to answer (OSS: 5 s).
    pub callback_timeout: Duration,
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
            .field("credentials", &self.credentials)
            .field("virtual_host_suffix", &self.virtual_host_suffix)
            .field("cnames", &self.cnames)
            .field("etag", &self.etag)
            .field("storage", &self.storage)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .field("max_skew", &self.max_skew)
            .field("fsync", &self.fsync)
            .field("callback_allow", &self.callback_allow)
            .field("callback_timeout", &self.callback_timeout)
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
            credentials: Vec::new(),
            virtual_host_suffix: None,
            cnames: Vec::new(),
            etag: EtagMode::Md5,
            storage: StorageMode::Disk,
            faults: FaultConfig::default(),
            limits: Limits::default(),
            max_skew: Duration::from_secs(15 * 60),
            fsync: true,
            callback_allow: Vec::new(),
            callback_timeout: Duration::from_secs(5),
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

    /// Accepts one more key pair (e.g. temporary credentials with a security token).
    pub fn with_credential(mut self, credential: Credential) -> Self {
        self.credentials.push(credential);
        self
    }

    /// Serves `bucket` under the custom domain `host` (a bound CNAME).
    pub fn with_cname(mut self, host: impl Into<String>, bucket: impl Into<String>) -> Self {
        self.cnames.push(Cname {
            host: host.into().to_ascii_lowercase(),
            bucket: bucket.into(),
        });
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

    /// Allows upload callbacks to `target` (the first call replaces the loopback default).
    pub fn with_callback_allow(mut self, target: CallbackTarget) -> Self {
        self.callback_allow.push(target);
        self
    }

    /// Sets how long a callback server has to answer.
    pub fn with_callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Turns fsync on or off.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }
}

/// A setting (a command-line value) could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn missing(message: &str) -> Self {
        Self {
            message: message.to_owned(),
        }
    }

    pub(crate) fn invalid(flag: &str, value: &str, expected: &str) -> Self {
        Self {
            message: format!("{flag}: invalid value `{value}`, expected {expected}"),
        }
    }
}
