//! The server's command line (feature `cli`): clap [`Args`](clap::Args) structs that the
//! `oss-local` binary and `ossmp serve` flatten into their own parsers.
//!
//! [`ServerArgs`] is the whole command line of the `oss-local` binary. A program that already
//! has its own `--access-key-id`, `--access-key-secret` and `--region` flags (as `ossmp` does)
//! flattens [`ServerOptions`] only and passes its values to [`ServerOptions::into_config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::callback::CallbackTarget;
use crate::config::{
    Cname, Config, ConfigError, Credential, EtagMode, FaultConfig, FaultOp, StorageMode,
};

/// Every flag of the `oss-local` binary.
#[derive(Clone, Debug, clap::Args)]
#[non_exhaustive]
pub struct ServerArgs {
    /// The main key pair and region.
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Everything else.
    #[command(flatten)]
    pub options: ServerOptions,
}

impl ServerArgs {
    /// The configuration these flags describe.
    ///
    /// # Errors
    /// A [`ConfigError`] when the credentials are missing.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let CredentialArgs {
            access_key_id,
            access_key_secret,
            region,
        } = self.credentials;
        self.options
            .into_config(access_key_id, access_key_secret, Some(region))
    }
}

/// The main key pair and the region of the V4 scope.
#[derive(Clone, clap::Args)]
#[non_exhaustive]
pub struct CredentialArgs {
    /// Accepted access key id.
    #[arg(
        long,
        env = "OSS_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "AK"
    )]
    pub access_key_id: Option<String>,
    /// Its secret.
    #[arg(
        long,
        env = "OSS_ACCESS_KEY_SECRET",
        hide_env_values = true,
        value_name = "SK"
    )]
    pub access_key_secret: Option<String>,
    /// Region the V4 credential scope must name.
    #[arg(long, default_value = "cn-hangzhou")]
    pub region: String,
}

impl std::fmt::Debug for CredentialArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialArgs")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("region", &self.region)
            .finish()
    }
}

/// The server flags other than the main key pair and region.
#[derive(Clone, Debug, clap::Args)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Bind address; port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Data directory (default: a temporary directory removed at exit).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Create this bucket at start-up (repeatable).
    #[arg(long = "bucket", value_name = "NAME")]
    pub buckets: Vec<String>,
    /// Accept one more key pair, e.g. temporary credentials whose requests must carry the
    /// token (repeatable).
    #[arg(long = "credential", value_name = "AK:SK[:SECURITY_TOKEN]", value_parser = CredentialParser)]
    pub credentials: Vec<Credential>,
    /// Serve BUCKET under the custom domain HOST (repeatable).
    #[arg(long = "cname", value_name = "HOST=BUCKET")]
    pub cnames: Vec<Cname>,
    /// Accept `Host: <bucket>.SUFFIX` (virtual-hosted style). Hosts
    /// `<bucket>.oss-<region>.aliyuncs.com` are always virtual-hosted.
    #[arg(long, value_name = "SUFFIX")]
    pub virtual_host_suffix: Option<String>,
    /// ETag computation: md5 (as OSS) or fast.
    #[arg(long, value_name = "md5|fast", default_value = "md5")]
    pub etag: EtagMode,
    /// Keep bodies on disk, or discard them (benchmarks; part metadata in memory only).
    #[arg(long, value_name = "disk|discard", default_value = "disk")]
    pub storage: StorageMode,
    /// Probability of 500/503 on targeted operations.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    pub fault_rate: f64,
    /// Probability of closing the connection.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    pub drop_rate: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, value_name = "N", default_value = "0")]
    pub latency_ms: u64,
    /// Per-connection body bandwidth cap in bytes per second (0: none).
    #[arg(long, value_name = "BYTES_PER_SEC", default_value = "0")]
    pub bandwidth: u64,
    /// Fraction of connections that are slow (0..=1): one in every round(1/P)
    /// consecutive connections, at position --fault-seed modulo that window.
    #[arg(long, value_name = "P", default_value = "0", value_parser = probability)]
    pub slow_conn_rate: f64,
    /// How much slower a slow connection is: --latency-ms times F, --bandwidth divided by F.
    #[arg(long, value_name = "F", default_value = "10", value_parser = clap::value_parser!(u32).range(1..))]
    pub slow_factor: u32,
    /// Operations faults apply to (default: all): initiate, upload-part, complete, abort,
    /// list-parts, list-uploads, put-object, get-object, head-object, delete-object.
    #[arg(long, value_name = "OP,...", value_delimiter = ',')]
    pub fault_ops: Vec<FaultOp>,
    /// Seed of the fault generator.
    #[arg(long, value_name = "N", default_value = "0")]
    pub fault_seed: u64,
    /// Connections held at once; when all are taken, the longest-waiting connection without a
    /// request in progress is closed to make room.
    #[arg(long, value_name = "N", default_value = "256")]
    pub max_connections: usize,
    /// Seconds a request head may take to arrive once it has started.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub header_timeout_secs: u64,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub keep_alive_secs: u64,
    /// Allowed clock skew of signed requests, in seconds.
    #[arg(long, value_name = "N", default_value = "900")]
    pub max_skew_secs: u64,
    /// Skip fsync (faster; still SIGKILL-safe, not power-loss-safe).
    #[arg(long)]
    pub no_fsync: bool,
    /// Allow upload callbacks to HOST (any port) or HOST:PORT (repeatable). Without this flag
    /// only loopback addresses may be called back; with it, only the hosts listed.
    /// `HOST[:PORT]=ADDR:PORT` connects to ADDR:PORT instead of resolving HOST (for tests).
    #[arg(long = "callback-allow", value_name = "HOST[:PORT][=ADDR:PORT]")]
    pub callback_allow: Vec<CallbackTarget>,
    /// How long a callback server has to answer, in milliseconds (OSS: 5000).
    #[arg(long, value_name = "MS", default_value = "5000")]
    pub callback_timeout_ms: u64,
}

/// Parses `--credential` without ever echoing the value (it holds a secret), which clap's
/// own errors for a plain `FromStr` would do.
#[derive(Clone, Copy)]
struct CredentialParser;

impl clap::builder::TypedValueParser for CredentialParser {
    type Value = Credential;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Credential, clap::Error> {
        value.to_str().and_then(|v| v.parse().ok()).ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                "--credential expects AK:SK or AK:SK:SECURITY_TOKEN with a non-empty \
                     access key id and secret\n",
            )
        })
    }
}

fn probability(value: &str) -> Result<f64, ConfigError> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(ConfigError::invalid(
            "probability",
            value,
            "a number in 0..=1",
        )),
    }
}

impl ServerOptions {
    /// The configuration these flags describe, with the main key pair and region given by the
    /// caller (`None` region: `cn-hangzhou`).
    ///
    /// # Errors
    /// A [`ConfigError`] when the access key id or secret is missing or empty.
    pub fn into_config(
        self,
        access_key_id: Option<String>,
        access_key_secret: Option<String>,
        region: Option<String>,
    ) -> Result<Config, ConfigError> {
        let (Some(ak), Some(sk)) = (
            access_key_id.filter(|v| !v.is_empty()),
            access_key_secret.filter(|v| !v.is_empty()),
        ) else {
            return Err(ConfigError::missing(
                "credentials required: --access-key-id/--access-key-secret or \
                 OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET",
            ));
        };
        let mut config = Config::new(ak, sk).with_listen(self.listen);
        if let Some(region) = region {
            config.region = region;
        }
        config.data_dir = self.data_dir;
        config.buckets = self.buckets;
        config.credentials = self.credentials;
        config.cnames = self.cnames;
        config.virtual_host_suffix = self.virtual_host_suffix;
        config.etag = self.etag;
        config.storage = self.storage;
        config.faults = FaultConfig {
            fault_rate: self.fault_rate,
            drop_rate: self.drop_rate,
            latency: Duration::from_millis(self.latency_ms),
            bandwidth: (self.bandwidth > 0).then_some(self.bandwidth),
            slow_conn_rate: self.slow_conn_rate,
            slow_factor: self.slow_factor,
            ops: self.fault_ops,
            seed: self.fault_seed,
        };
        config.limits.max_connections = self.max_connections;
        config.limits.header_read_timeout = Duration::from_secs(self.header_timeout_secs.max(1));
        config.limits.keep_alive_timeout = Duration::from_secs(self.keep_alive_secs.max(1));
        config.max_skew = Duration::from_secs(self.max_skew_secs);
        config.fsync = !self.no_fsync;
        config.callback_allow = self.callback_allow;
        config.callback_timeout = Duration::from_millis(self.callback_timeout_ms);
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServerArgs,
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        let cli = Cli::try_parse_from(std::iter::once("oss-local").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.args.into_config().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_flag() {
        let config = parse(&[
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
            "--credential",
            "sts-ak:sts-sk:tok:xyz",
            "--credential",
            "ak2:sk2",
            "--cname",
            "Static.Example.com=a",
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
            "--slow-conn-rate",
            "0.05",
            "--slow-factor",
            "8",
            "--fault-ops",
            "upload-part,complete",
            "--fault-seed",
            "42",
            "--max-connections",
            "3",
            "--max-skew-secs",
            "60",
            "--no-fsync",
            "--callback-allow",
            "cb.example:8080",
            "--callback-allow",
            "127.0.0.1",
            "--callback-timeout-ms",
            "250",
        ])
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(config.region, "cn-beijing");
        assert_eq!(config.access_key_id, "ak");
        assert_eq!(config.access_key_secret, "sk");
        assert_eq!(config.buckets, ["a", "b"]);
        assert_eq!(
            config.credentials,
            [
                Credential::new("sts-ak", "sts-sk").with_security_token("tok:xyz"),
                Credential::new("ak2", "sk2"),
            ]
        );
        assert_eq!(config.cnames[0].host, "static.example.com");
        assert_eq!(config.cnames[0].bucket, "a");
        assert_eq!(config.virtual_host_suffix.as_deref(), Some("oss.localhost"));
        assert_eq!(config.etag, EtagMode::Fast);
        assert_eq!(config.storage, StorageMode::Discard);
        assert_eq!(config.faults.fault_rate, 0.25);
        assert_eq!(config.faults.drop_rate, 0.5);
        assert_eq!(config.faults.latency, Duration::from_millis(7));
        assert_eq!(config.faults.bandwidth, Some(1000));
        assert_eq!(config.faults.slow_conn_rate, 0.05);
        assert_eq!(config.faults.slow_factor, 8);
        assert_eq!(config.faults.ops, [FaultOp::UploadPart, FaultOp::Complete]);
        assert_eq!(config.faults.seed, 42);
        assert_eq!(config.limits.max_connections, 3);
        assert_eq!(config.max_skew, Duration::from_secs(60));
        assert!(!config.fsync);
        assert_eq!(
            config.callback_allow,
            [
                CallbackTarget::host_port("cb.example", 8080),
                CallbackTarget::host("127.0.0.1")
            ]
        );
        assert_eq!(config.callback_timeout, Duration::from_millis(250));
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("\"sk\"") && !debug.contains("sts-sk") && !debug.contains("tok:xyz")
        );
    }

    #[test]
    fn defaults_and_errors() {
        let config = parse(&["--access-key-id", "ak", "--access-key-secret", "sk"]).unwrap();
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(config.region, "cn-hangzhou");
        assert_eq!(config.etag, EtagMode::Md5);
        assert!(config.fsync && config.faults.ops.is_empty() && config.credentials.is_empty());
        let creds = ["--access-key-id", "ak", "--access-key-secret", "sk"];
        let with = |extra: &[&str]| {
            let mut all = creds.to_vec();
            all.extend_from_slice(extra);
            parse(&all)
        };
        assert!(with(&["--fault-rate", "2"]).is_err());
        assert!(with(&["--slow-conn-rate", "1.5"]).is_err());
        assert!(with(&["--slow-factor", "0"]).is_err());
        assert_eq!(config.faults.slow_conn_rate, 0.0);
        assert!(with(&["--fault-ops", "nope"]).is_err());
        assert!(with(&["--credential", "only-ak"]).is_err());
        assert!(with(&["--credential", ":sk"]).is_err());
        assert!(with(&["--cname", "no-bucket"]).is_err());
        assert!(with(&["--listen"]).is_err());
        assert!(with(&["--bogus"]).is_err());
        assert!(with(&["--callback-allow", "a:b"]).is_err());
        assert!(config.callback_allow.is_empty());
        assert_eq!(config.callback_timeout, Duration::from_secs(5));
        #[derive(Parser)]
        struct Options {
            #[command(flatten)]
            options: ServerOptions,
        }
        let options = || Options::try_parse_from(["ossmp-serve"]).unwrap().options;
        assert!(
            options()
                .into_config(None, Some("sk".into()), None)
                .is_err()
        );
        assert!(
            options()
                .into_config(Some("ak".into()), Some(String::new()), None)
                .is_err()
        );
        let config = options()
            .into_config(Some("ak".into()), Some("sk".into()), None)
            .unwrap();
        assert_eq!(config.region, "cn-hangzhou");
        // The secret of a bad --credential is not echoed back.
        let err = with(&["--credential", "ak-only-secretish"]).unwrap_err();
        assert!(!err.contains("secretish"), "{err}");
    }
}
