//! Prints every entry of a listing stream as one JSON line: the lazy, self-paging streams
//! `list_uploads_with`, `list_parts_with` and `list_objects`, with every option on the command
//! line. The interop suite (`tests/interop/test_listing_scale.py`) runs it against uploads,
//! parts and objects the official Python SDK created, and checks what it prints.
//!
//! ```text
//! list_stream ENDPOINT BUCKET uploads [--prefix P] [--delimiter D] [--key-marker K]
//!             [--upload-id-marker U] [--max N]
//! list_stream ENDPOINT BUCKET parts KEY UPLOAD_ID [--marker N] [--max N]
//! list_stream ENDPOINT BUCKET objects [--prefix P] [--delimiter D] [--start-after K] [--max N]
//! ```
//!
//! Credentials come from `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET`, the region from
//! `OSS_REGION` (default `cn-hangzhou`); requests are path-style. Output lines:
//! `{"upload":KEY,"upload_id":ID}`, `{"prefix":P}`, `{"part":N,"etag":E,"size":S}`,
//! `{"object":KEY,"size":S}`, then `{"entries":N}`.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;

use futures::{Stream, StreamExt as _};
use oss_multipart::{
    Addressing, Client, Credentials, Error, ListObjectsOptions, ListPartsOptions,
    ListUploadsOptions, ObjectListEntry, UploadListEntry,
};
use serde_json::{Value, json};

/// `--name value` pairs after the positional arguments.
fn flags(args: &[String]) -> Result<HashMap<&str, &str>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(name) = it.next() {
        let name = name
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {name}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.insert(name, value.as_str());
    }
    Ok(out)
}

fn number(flags: &HashMap<&str, &str>, name: &str) -> Result<Option<u32>, String> {
    flags
        .get(name)
        .map(|v| v.parse().map_err(|_| format!("--{name}: not a number")))
        .transpose()
}

/// Prints each entry; returns how many there were.
async fn print_all<T>(
    stream: impl Stream<Item = Result<T, Error>>,
    line: impl Fn(T) -> Value,
) -> Result<u64, Error> {
    let mut stream = std::pin::pin!(stream);
    let mut n = 0;
    while let Some(entry) = stream.next().await {
        println!("{}", line(entry?));
        n += 1;
    }
    Ok(n)
}

async fn run(args: &[String]) -> Result<u64, Box<dyn std::error::Error>> {
    let [endpoint, bucket, what, rest @ ..] = args else {
        return Err("usage: list_stream ENDPOINT BUCKET uploads|parts|objects ...".into());
    };
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let client = Client::builder()
        .endpoint(endpoint.as_str())
        .region(std::env::var("OSS_REGION").unwrap_or_else(|_| "cn-hangzhou".to_owned()))
        .credentials(Credentials::new(
            env("OSS_ACCESS_KEY_ID")?,
            env("OSS_ACCESS_KEY_SECRET")?,
        ))
        .addressing(Addressing::Path)
        .build()?;
    let n = match what.as_str() {
        "uploads" => {
            let f = flags(rest)?;
            let mut options = ListUploadsOptions::new();
            options.prefix = f.get("prefix").map(|s| (*s).to_owned());
            options.delimiter = f.get("delimiter").map(|s| (*s).to_owned());
            options.key_marker = f.get("key-marker").map(|s| (*s).to_owned());
            options.upload_id_marker = f.get("upload-id-marker").map(|s| (*s).to_owned());
            options.max_uploads = number(&f, "max")?;
            print_all(client.list_uploads_with(bucket, options), |e| match e {
                UploadListEntry::Upload(u) => json!({"upload": u.key, "upload_id": u.upload_id}),
                UploadListEntry::CommonPrefix(p) => json!({ "prefix": p }),
                _ => json!({ "unknown": true }),
            })
            .await?
        }
        "parts" => {
            let [key, upload_id, rest @ ..] = rest else {
                return Err("usage: list_stream ENDPOINT BUCKET parts KEY UPLOAD_ID ...".into());
            };
            let f = flags(rest)?;
            let mut options = ListPartsOptions::new();
            options.part_number_marker = number(&f, "marker")?;
            options.max_parts = number(&f, "max")?;
            print_all(
                client.list_parts_with(bucket, key, upload_id, options),
                |p| json!({"part": u32::from(p.part_number), "etag": p.etag, "size": p.size}),
            )
            .await?
        }
        "objects" => {
            let f = flags(rest)?;
            let mut options = ListObjectsOptions::new();
            options.prefix = f.get("prefix").map(|s| (*s).to_owned());
            options.delimiter = f.get("delimiter").map(|s| (*s).to_owned());
            options.start_after = f.get("start-after").map(|s| (*s).to_owned());
            options.max_keys = number(&f, "max")?;
            print_all(client.list_objects(bucket, options), |e| match e {
                ObjectListEntry::Object(o) => json!({"object": o.key, "size": o.size}),
                ObjectListEntry::CommonPrefix(p) => json!({ "prefix": p }),
                _ => json!({ "unknown": true }),
            })
            .await?
        }
        other => return Err(format!("unknown listing {other}").into()),
    };
    Ok(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(n) => {
            println!("{}", json!({ "entries": n }));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("list_stream: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
