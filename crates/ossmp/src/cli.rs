//! The command tree (clap derive). Parsing only: no I/O happens here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use oss_multipart::Addressing;
use oss_multipart::ops::ServerSideEncryption;
use oss_multipart::{ObjectAcl, StorageClass};

use crate::exit::EXIT_CODES_HELP;
use crate::location::OssUrl;
use crate::units;

/// Smallest part OSS accepts (except for the last part of an upload).
pub(crate) const MIN_PART_SIZE: u64 = 100 * 1024;
/// Largest part OSS accepts.
pub(crate) const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts one upload may have.
pub(crate) const MAX_PARTS: u64 = 10_000;

const ROOT_AFTER_HELP: &str = "\
Configuration (highest first): command-line flags, then the environment (OSS_ENDPOINT or
ALIBABA_CLOUD_OSS_ENDPOINT, OSS_REGION or ALIBABA_CLOUD_REGION_ID, OSS_ADDRESSING,
OSS_SIGNATURE_VERSION), then the profile file $XDG_CONFIG_HOME/ossmp/config.toml, by default
~/.config/ossmp/config.toml (section [default], or the one named by --profile; it may also set
part_size, jobs and bwlimit). The library's Client::from_env reads the environment the same way.
Checkpoints are kept under $XDG_STATE_HOME/ossmp (default ~/.local/state/ossmp).

Credentials: --access-key-id/--access-key-secret, else the Alibaba Cloud default chain:
OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET/OSS_SESSION_TOKEN or the ALIBABA_CLOUD_* keys, OIDC
(ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE),
~/.aliyun/config.json, ~/.alibabacloud/credentials (profile ALIBABA_CLOUD_PROFILE or --profile),
the ECS RAM role, ALIBABA_CLOUD_CREDENTIALS_URI. Keys in the ossmp profile file are used when
the environment has none.";

/// Only a binary with the embedded server can offer the demo.
const TRY_THE_DEMO: &str = if cfg!(feature = "local") {
    "\n\nTry it with no account and no network:  ossmp demo"
} else {
    ""
};

/// Multipart uploads to Alibaba Cloud OSS that resume after a crash and clean up after themselves.
#[derive(Debug, Parser)]
#[command(name = "ossmp", version, after_help = format!("{ROOT_AFTER_HELP}{TRY_THE_DEMO}\n\n{EXIT_CODES_HELP}"))]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// OSS endpoint, e.g. https://oss-cn-hangzhou.aliyuncs.com, a custom domain or http://127.0.0.1:9000
    /// (default: derived from the region) [env: OSS_ENDPOINT].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Region for V4 signing, e.g. cn-hangzhou (default: read from a standard oss-REGION.aliyuncs.com endpoint)
    /// [env: OSS_REGION].
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,
    /// AccessKey ID (prefer the environment or the profile file to keep it out of shell history).
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) access_key_id: Option<String>,
    /// AccessKey secret.
    #[arg(long, global = true, value_name = "SECRET")]
    pub(crate) access_key_secret: Option<String>,
    /// STS security token, for temporary credentials.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub(crate) session_token: Option<String>,
    /// Profile to read: the section of the ossmp profile file, and the profile of ~/.alibabacloud/credentials and
    /// ~/.aliyun/config.json (instead of ALIBABA_CLOUD_PROFILE).
    #[arg(long, global = true, env = "OSSMP_PROFILE", value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Profile file to read instead of ~/.config/ossmp/config.toml.
    #[arg(long, global = true, env = "OSSMP_CONFIG_FILE", value_name = "PATH")]
    pub(crate) config_file: Option<PathBuf>,
    /// URL style: virtual (BUCKET.endpoint/KEY, the default), path (endpoint/BUCKET/KEY; automatic for IP
    /// addresses and localhost) or cname (the endpoint is a custom domain bound to the bucket) [env: OSS_ADDRESSING].
    #[arg(long, global = true, value_name = "STYLE", value_parser = parse_addressing)]
    pub(crate) addressing: Option<Addressing>,
    /// Same as --addressing path.
    #[arg(long, global = true, conflicts_with = "addressing")]
    pub(crate) path_style: bool,
    /// HTTP proxy for OSS requests, http://[USER:PASS@]HOST:PORT (HTTPS is tunnelled with CONNECT). Default: the
    /// HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY variables, as curl reads them.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// PEM file of extra trusted certificates (a private CA, a TLS-inspecting proxy) [env: SSL_CERT_FILE].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) ca_bundle: Option<PathBuf>,
    /// Sign requests with OSS signature V1 instead of V4.
    #[arg(long, global = true)]
    pub(crate) v1_signature: bool,
    /// Extra client option, repeatable, e.g. --config max_retries=5 --config connect_timeout=5s.
    #[arg(long = "config", global = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) config: Vec<(String, String)>,
    /// Print a machine-readable JSON summary on stdout instead of the human one.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Do not show progress bars or informational lines (errors are still printed).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    /// Progress on stderr: auto (a bar on a terminal, a plain line every 5 s otherwise), bar, plain or none.
    #[arg(long, global = true, value_name = "MODE", value_enum, default_value_t)]
    pub(crate) progress: crate::progress::ProgressMode,
    /// Log each request (method, key, status, request id, time) on stderr; -vv for more. RUST_LOG overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Upload a file (or stdin) to OSS as a resumable multipart upload.
    #[command(after_help = "\
Re-running the same command after a crash, a network failure or Ctrl-C resumes the upload from its checkpoint:
parts already stored in OSS are not sent again. The whole object is checked with CRC64 end to end.

Examples:
  ossmp cp ./backup.tar oss://my-bucket/backups/backup.tar
  ossmp cp --part-size 64MiB --jobs 8 --bwlimit 50MiB/s big.iso oss://my-bucket/big.iso
  tar c dir | ossmp cp - oss://my-bucket/dir.tar")]
    Cp(Box<CpArgs>),
    /// List, abort and garbage-collect unfinished multipart uploads.
    #[command(subcommand)]
    Uploads(UploadsCommand),
    /// List the parts already stored for an unfinished upload.
    Parts(PartsArgs),
    /// Print presigned URLs: one GET/PUT URL, or a whole multipart flow as a JSON manifest.
    #[command(subcommand)]
    Presign(PresignCommand),
    /// List objects under a prefix (-d one level, -l details, -m unfinished uploads).
    #[command(after_help = crate::cmd::ls::after_help())]
    Ls(crate::cmd::ls::LsArgs),
    /// Delete an object, or with -r every object under a prefix.
    Rm(crate::cmd::rm::RmArgs),
    /// Show an object's metadata: size, ETag, CRC64, type, time, class, user metadata.
    Stat(crate::cmd::stat::StatArgs),
    /// Write an object's bytes to stdout.
    Cat(crate::cmd::cat::CatArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    #[command(after_help = "Example: ossmp completions bash > /etc/bash_completion.d/ossmp")]
    Completions(crate::cmd::completions::CompletionsArgs),
    /// Print the man page (roff) on stdout, e.g. ossmp man > /usr/local/share/man/man1/ossmp.1
    Man,
    /// Run the local OSS-compatible server (same flags as the `oss-local` binary).
    #[cfg(feature = "local")]
    Serve(ServeArgs),
    /// Show everything end to end against an embedded local server: upload, crash, resume, verify, clean up.
    #[cfg(feature = "local")]
    Demo(DemoArgs),
}

/// `ossmp cp`.
#[derive(Debug, Args)]
pub(crate) struct CpArgs {
    /// Local file to upload, or `-` to read stdin (stdin uploads cannot be resumed); or
    /// oss://BUCKET/KEY to download.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Destination: oss://BUCKET/KEY for an upload; for a download a file, a directory (the
    /// key's basename is used), or `-` for stdout.
    #[arg(value_name = "DEST", value_parser = parse_cp_dest)]
    pub(crate) dest: CpDest,
    #[command(flatten)]
    pub(crate) dir: crate::cmd::cp_dir::DirArgs,
    /// Part size, 100KiB to 5GiB (default: chosen from the file size).
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size)]
    pub(crate) part_size: Option<u64>,
    /// Copies between two objects: sources up to this size are copied with one CopyObject,
    /// larger ones part by part (default and most: 1GiB; 0: always part by part).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) copy_threshold: Option<u64>,
    /// Exactly N parts (or ranges) in flight per file (--parallel is the same). Default:
    /// adaptive, starting at 8 and growing while the measured throughput rises (see
    /// --max-jobs).
    #[arg(long, short = 'j', visible_alias = "parallel", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) jobs: Option<u16>,
    /// Ceiling of the adaptive concurrency (default 32), per file.
    #[arg(long, value_name = "N", conflicts_with = "jobs", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) max_jobs: Option<u16>,
    /// Do not send a straggling part or range again on another connection (hedging is on by
    /// default, within 5 % extra bytes).
    #[arg(long)]
    pub(crate) no_hedge: bool,
    /// Upper bound on memory used for part buffers, e.g. 256MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) memory: Option<u64>,
    /// Where checkpoints are kept (default: $XDG_STATE_HOME/ossmp/checkpoints, else ~/.local/state/ossmp/checkpoints).
    #[arg(long, value_name = "DIR")]
    pub(crate) checkpoint_dir: Option<PathBuf>,
    /// Start from scratch even if a checkpoint exists.
    #[arg(long)]
    pub(crate) no_resume: bool,
    /// Bandwidth limit, e.g. 20MiB/s.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub(crate) bwlimit: Option<u64>,
    /// User metadata (x-oss-meta-KEY), repeatable.
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) meta: Vec<(String, String)>,
    /// Storage class: Standard, IA, Archive, ColdArchive or DeepColdArchive.
    #[arg(long, value_name = "CLASS", value_parser = parse_storage_class)]
    pub(crate) storage_class: Option<StorageClass>,
    /// Server-side encryption: AES256, KMS or SM4.
    #[arg(long, value_name = "ALGORITHM", value_parser = parse_sse)]
    pub(crate) sse: Option<ServerSideEncryption>,
    /// KMS key id for --sse KMS.
    #[arg(long, value_name = "KEY_ID")]
    pub(crate) sse_key_id: Option<String>,
    /// Data encryption algorithm under --sse KMS: SM4.
    #[arg(long, value_name = "ALGORITHM")]
    pub(crate) sse_data: Option<String>,
    /// Object tags, URL-query form: k1=v1&k2=v2 (at most 10).
    #[arg(long, value_name = "TAGS", value_parser = parse_tagging)]
    pub(crate) tagging: Option<Tags>,
    /// Object ACL: private, public-read, public-read-write or default.
    #[arg(long, value_name = "ACL", value_parser = parse_acl)]
    pub(crate) acl: Option<ObjectAcl>,
    /// Fail instead of replacing an existing object with the same key.
    #[arg(long)]
    pub(crate) forbid_overwrite: bool,
    /// Content-Type of the object (default: guessed from the file extension, else application/octet-stream).
    #[arg(long, value_name = "MIME")]
    pub(crate) content_type: Option<String>,
    /// Cache-Control of the object.
    #[arg(long, value_name = "VALUE")]
    pub(crate) cache_control: Option<String>,
    /// Content-Disposition of the object.
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_disposition: Option<String>,
    /// Content-Encoding of the object (stored as given; the data is not encoded).
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_encoding: Option<String>,
    /// Content-Language of the object.
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_language: Option<String>,
    /// Expires of the object (an HTTP date).
    #[arg(long, value_name = "DATE")]
    pub(crate) expires: Option<String>,
    /// Server-side bandwidth limit per request, in bit/s (819200..=838860800).
    #[arg(long, value_name = "BITS_PER_SEC")]
    pub(crate) traffic_limit: Option<u64>,
    /// Send Content-MD5 with every part (CRC-64 already checks every byte).
    #[arg(long)]
    pub(crate) content_md5: bool,
    /// Upload callback: JSON, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE", value_parser = parse_json_arg)]
    pub(crate) callback: Option<String>,
    /// Callback variables: a JSON object of x:NAME to strings, or @FILE.
    #[arg(long, value_name = "JSON|@FILE", value_parser = parse_json_arg, requires = "callback")]
    pub(crate) callback_var: Option<String>,
    /// Upload parts in order, one at a time, and have OSS enforce the order.
    #[arg(long)]
    pub(crate) sequential: bool,
    /// Abort the upload (delete its stored parts) on a non-resumable failure instead of keeping them for a resume.
    #[arg(long)]
    pub(crate) abort_on_failure: bool,
    /// Stdin uploads: keep the stored parts when the upload fails or is interrupted, and print its upload id
    /// (a stream cannot resume, so by default they are deleted).
    #[arg(long)]
    pub(crate) keep_parts: bool,
    /// Downloads: refuse to replace an existing local file (the default replaces it, as cp does).
    #[arg(long, short = 'n')]
    pub(crate) no_clobber: bool,
}

/// Where `cp` writes: an object, or (for downloads) a local path or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CpDest {
    /// oss://BUCKET/KEY.
    Oss(OssUrl),
    /// A local path, or `-`.
    Local(String),
}

fn parse_cp_dest(s: &str) -> Result<CpDest, String> {
    if s.starts_with("oss://") {
        parse_object_url(s).map(CpDest::Oss)
    } else {
        Ok(CpDest::Local(s.to_owned()))
    }
}

/// `ossmp uploads ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum UploadsCommand {
    /// List unfinished multipart uploads in a bucket (optionally under a prefix).
    Ls(UploadsLsArgs),
    /// Abort one unfinished upload and delete its parts.
    Abort(UploadsAbortArgs),
    /// Complete an unfinished upload from the parts OSS holds (recovery when the local state is lost).
    Complete(UploadsCompleteArgs),
    /// Abort every unfinished upload under a prefix that was started longer ago than --older-than.
    Gc(UploadsGcArgs),
}

/// `ossmp uploads ls`.
#[derive(Debug, Args)]
pub(crate) struct UploadsLsArgs {
    /// oss://BUCKET or oss://BUCKET/PREFIX (default: the profile's `bucket`).
    #[arg(value_name = "oss://BUCKET/PREFIX")]
    pub(crate) location: Option<OssUrl>,
}

/// `ossmp uploads abort`.
#[derive(Debug, Args)]
pub(crate) struct UploadsAbortArgs {
    /// The object the upload was for, oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object_url)]
    pub(crate) location: OssUrl,
    /// The upload id (see `ossmp uploads ls`).
    pub(crate) upload_id: String,
}

/// `ossmp uploads complete`.
#[derive(Debug, Args)]
pub(crate) struct UploadsCompleteArgs {
    /// The object the upload is for, oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object_url)]
    pub(crate) location: OssUrl,
    /// The upload id (see `ossmp uploads ls`).
    #[arg(long, value_name = "ID")]
    pub(crate) upload_id: String,
    /// Let OSS take every uploaded part in part-number order (x-oss-complete-all: yes) instead of listing the
    /// parts and sending them.
    #[arg(long)]
    pub(crate) all: bool,
    /// Refuse to replace an existing object with the same key.
    #[arg(long)]
    pub(crate) forbid_overwrite: bool,
}

/// `ossmp uploads gc`.
#[derive(Debug, Args)]
pub(crate) struct UploadsGcArgs {
    /// oss://BUCKET or oss://BUCKET/PREFIX.
    #[arg(value_name = "oss://BUCKET/PREFIX")]
    pub(crate) location: OssUrl,
    /// Only uploads initiated longer ago than this, e.g. 7d, 36h, 90m.
    #[arg(long, value_name = "AGE", value_parser = parse_duration, default_value = "7d")]
    pub(crate) older_than: Duration,
    /// Show what would be aborted without aborting anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `ossmp parts`.
#[derive(Debug, Args)]
pub(crate) struct PartsArgs {
    /// The object the upload is for, oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object_url)]
    pub(crate) location: OssUrl,
    /// The upload id (see `ossmp uploads ls`).
    pub(crate) upload_id: String,
}

/// `ossmp presign ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum PresignCommand {
    /// A URL that downloads the object.
    Get(PresignOneArgs),
    /// A URL that uploads the object with a single PUT.
    Put(PresignOneArgs),
    /// Start a multipart upload and print a JSON manifest: one presigned URL per part plus the complete request.
    Upload(PresignUploadArgs),
}

/// `ossmp presign get|put`.
#[derive(Debug, Args)]
pub(crate) struct PresignOneArgs {
    /// oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object_url)]
    pub(crate) location: OssUrl,
    /// How long the URL stays valid, e.g. 15m, 1h, 7d.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    pub(crate) expires: Duration,
}

/// `ossmp presign upload`.
#[derive(Debug, Args)]
pub(crate) struct PresignUploadArgs {
    /// oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object_url)]
    pub(crate) location: OssUrl,
    /// Size of the object that will be uploaded (or use --file).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, required_unless_present = "file", conflicts_with = "file")]
    pub(crate) size: Option<u64>,
    /// Take the size from this local file.
    #[arg(long, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
    /// Part size, 100KiB to 5GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size, default_value = "8MiB")]
    pub(crate) part_size: u64,
    /// How long the URLs stay valid.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    pub(crate) expires: Duration,
}

/// `ossmp serve`: the local server's flags; its key pair and region are the global ones.
#[cfg(feature = "local")]
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) server: oss_local::cli::ServerOptions,
}

/// `ossmp demo`.
#[cfg(feature = "local")]
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Size of the test file.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    pub(crate) size: u64,
    /// Part size (default: 8MiB, smaller for small files so the demo still has many parts).
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size)]
    pub(crate) part_size: Option<u64>,
    /// Parts uploaded in parallel.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256), default_value = "4")]
    pub(crate) jobs: u16,
    /// Keep the temporary directory (server data, test file, checkpoint) instead of deleting it.
    #[arg(long)]
    pub(crate) keep: bool,
    /// The embedded server's flags, as `ossmp serve` takes them (e.g. `--latency-ms`,
    /// `--fault-rate`, `--bandwidth` to watch retries and resume under a worse link). The
    /// demo adds its bucket and random key pair; `--data-dir` defaults to the demo directory.
    #[command(flatten)]
    pub(crate) server: oss_local::cli::ServerOptions,
}

fn parse_object_url(s: &str) -> Result<OssUrl, String> {
    OssUrl::parse_object(s).map_err(|e| e.to_string())
}

fn parse_size(s: &str) -> Result<u64, String> {
    units::parse_size(s).map_err(|e| e.to_string())
}

fn parse_rate(s: &str) -> Result<u64, String> {
    match units::parse_rate(s) {
        Ok(0) => Err("the limit must be above zero".to_owned()),
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map_err(|e| e.to_string())
}

/// Part sizes outside what OSS accepts fail here, before anything is sent.
pub(crate) fn parse_part_size(s: &str) -> Result<u64, String> {
    let v = units::parse_size(s).map_err(|e| e.to_string())?;
    if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&v) {
        // Exact bytes: near the limits a rounded size ("100.0 KiB") hides why it was refused.
        return Err(format!(
            "part size {v} bytes is out of range: OSS accepts 100KiB to 5GiB ({MIN_PART_SIZE} to \
             {MAX_PART_SIZE} bytes)"
        ));
    }
    Ok(v)
}

fn parse_sse(s: &str) -> Result<ServerSideEncryption, String> {
    oss_multipart::parse_sse(s).map_err(|e| e.to_string())
}

fn parse_storage_class(s: &str) -> Result<StorageClass, String> {
    s.parse()
        .map_err(|e: oss_multipart::OptionsError| e.to_string())
}

fn parse_acl(s: &str) -> Result<ObjectAcl, String> {
    s.parse()
        .map_err(|e: oss_multipart::OptionsError| e.to_string())
}

/// Object tags from `--tagging` (a newtype so clap does not mistake the list for repeated values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tags(pub(crate) Vec<(String, String)>);

/// `k1=v1&k2=v2` into pairs, URL-decoded (a bare `k` means an empty value, as in a URL query).
fn parse_tagging(s: &str) -> Result<Tags, String> {
    oss_multipart::parse_tagging(s)
        .map(Tags)
        .map_err(|e| e.to_string())
}

/// JSON given inline, or `@FILE` to read it from a file; checked to be JSON here, and
/// checked against what OSS expects before the upload starts.
fn parse_json_arg(s: &str) -> Result<String, String> {
    let text = match s.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?
        }
        None => s.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| format!("not JSON: {e}"))?;
    Ok(text)
}

fn parse_addressing(s: &str) -> Result<Addressing, String> {
    s.parse()
        .map_err(|e: oss_multipart::ConfigError| e.to_string())
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn jobs_fixed_or_adaptive_and_hedging() {
        let parse = |args: &[&str]| {
            let mut v = vec!["ossmp", "cp", "f.bin", "oss://bkt/k"];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).map(|cli| match cli.command {
                Command::Cp(cp) => (cp.jobs, cp.max_jobs, cp.no_hedge),
                _ => (None, None, false),
            })
        };
        assert_eq!(
            parse(&[]).unwrap(),
            (None, None, false),
            "adaptive, hedging"
        );
        assert_eq!(parse(&["-j", "6"]).unwrap(), (Some(6), None, false));
        assert_eq!(
            parse(&["--max-jobs", "12", "--no-hedge"]).unwrap(),
            (None, Some(12), true)
        );
        assert!(
            parse(&["-j", "6", "--max-jobs", "12"]).is_err(),
            "fixed or adaptive, not both"
        );
        assert!(parse(&["--max-jobs", "0"]).is_err());
    }

    #[test]
    fn parses_cp() {
        let cli = Cli::try_parse_from([
            "ossmp",
            "cp",
            "f.bin",
            "oss://bkt/k",
            "--part-size",
            "8MiB",
            "-j",
            "3",
            "--meta",
            "a=b",
            "--meta",
            "c=",
            "--bwlimit",
            "1MiB/s",
            "--json",
        ])
        .unwrap();
        assert!(cli.global.json);
        let Command::Cp(cp) = cli.command else {
            panic!("not cp")
        };
        assert_eq!(cp.part_size, Some(8 << 20));
        assert_eq!(cp.jobs, Some(3));
        assert_eq!(
            cp.meta,
            vec![("a".into(), "b".into()), ("c".into(), String::new())]
        );
        assert_eq!(cp.bwlimit, Some(1 << 20));
        assert!(matches!(&cp.dest, CpDest::Oss(u) if u.key == "k"));
    }

    #[test]
    fn rejects_out_of_range_part_size() {
        let err = Cli::try_parse_from(["ossmp", "cp", "f", "oss://bkt/k", "--part-size", "10KiB"])
            .unwrap_err();
        assert!(err.to_string().contains("100KiB to 5GiB"), "{err}");
        assert!(
            Cli::try_parse_from(["ossmp", "cp", "f", "oss://bkt/k", "--part-size", "6GiB"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from(["ossmp", "cp", "f", "oss://bkt/k", "--part-size", "5GiB"]).is_ok()
        );
    }

    #[test]
    fn rejects_bad_destination() {
        let err = Cli::try_parse_from(["ossmp", "cp", "f", "oss://bkt"]).unwrap_err();
        assert!(err.to_string().contains("oss://BUCKET/KEY"), "{err}");
        // A local destination is a download's; `cp` checks the pair when it runs.
        let cli = Cli::try_parse_from(["ossmp", "cp", "oss://bkt/k", "./dir/"]).unwrap();
        let Command::Cp(cp) = cli.command else {
            panic!("not cp")
        };
        assert_eq!(cp.dest, CpDest::Local("./dir/".into()));
    }

    #[test]
    fn parses_uploads_and_presign() {
        let cli = Cli::try_parse_from([
            "ossmp",
            "uploads",
            "gc",
            "oss://bkt/tmp/",
            "--older-than",
            "2d",
            "--dry-run",
        ])
        .unwrap();
        let Command::Uploads(UploadsCommand::Gc(gc)) = cli.command else {
            panic!("not gc")
        };
        assert_eq!(gc.older_than, Duration::from_secs(2 * 86_400));
        assert!(gc.dry_run);
        let cli = Cli::try_parse_from([
            "ossmp",
            "presign",
            "upload",
            "oss://bkt/k",
            "--size",
            "1GiB",
        ])
        .unwrap();
        let Command::Presign(PresignCommand::Upload(p)) = cli.command else {
            panic!("not presign upload")
        };
        assert_eq!((p.size, p.part_size), (Some(1 << 30), 8 << 20));
        assert!(Cli::try_parse_from(["ossmp", "presign", "upload", "oss://bkt/k"]).is_err());
    }

    #[test]
    #[cfg(feature = "local")]
    fn serve_takes_the_server_flags_and_the_global_credentials() {
        let cli = Cli::try_parse_from([
            "ossmp",
            "serve",
            "--access-key-id",
            "ak",
            "--access-key-secret",
            "sk",
            "--region",
            "cn-beijing",
            "--listen",
            "127.0.0.1:0",
            "--bucket",
            "b1",
            "--credential",
            "sts:secret:token",
        ])
        .unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        let config = crate::cmd::serve::server_config(&cli.global, s).unwrap();
        assert_eq!(config.access_key_id, "ak");
        assert_eq!(config.region, "cn-beijing");
        assert_eq!(config.buckets, ["b1"]);
        assert_eq!(config.credentials.len(), 1);
        assert!(Cli::try_parse_from(["ossmp", "serve", "--root", "/tmp/x"]).is_err());
    }

    #[test]
    #[cfg(feature = "local")]
    fn demo_takes_the_server_flags() {
        let cli = Cli::try_parse_from([
            "ossmp",
            "demo",
            "--size",
            "1MiB",
            "--latency-ms",
            "7",
            "--fault-rate",
            "0.25",
            "--header-timeout-secs",
            "2",
        ])
        .unwrap();
        let Command::Demo(d) = cli.command else {
            panic!("not demo")
        };
        let config = d
            .server
            .into_config(Some("ak".into()), Some("sk".into()), None)
            .unwrap();
        assert_eq!(config.faults.latency, Duration::from_millis(7));
        assert!((config.faults.fault_rate - 0.25).abs() < f64::EPSILON);
        assert_eq!(config.limits.header_read_timeout, Duration::from_secs(2));
    }
}
