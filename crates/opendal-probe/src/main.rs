//! Apache OpenDAL's `oss` service against an OSS endpoint (oss-local in our runs).
//!
//! ```text
//! opendal-probe check                 write (multipart), read, ranged read, stat, list, delete
//! opendal-probe put FILE KEY          upload FILE (multipart through OpenDAL's writer)
//! opendal-probe get KEY FILE          download KEY into FILE
//! ```
//!
//! The endpoint, bucket and key pair come from `OSS_ENDPOINT` (path-style, e.g.
//! `http://127.0.0.1:9000`), `OSS_BUCKET`, `OSS_ACCESS_KEY_ID` and `OSS_ACCESS_KEY_SECRET`.
//! `put`/`get` take `OPENDAL_CHUNK` (bytes, default 8 MiB) and `OPENDAL_CONCURRENT` (default 4),
//! so a benchmark can set them like any other client's part size and concurrency.
//!
//! `check` prints one line per step and exits non-zero on the first wrong answer: it is the
//! OpenDAL step of `cargo xtask interop`. OpenDAL is a client we did not write, so a pass
//! means oss-local answers the way OpenDAL expects OSS to answer.

use std::process::ExitCode;

use opendal::{ErrorKind, Operator, services::Oss};

type Failure = Box<dyn std::error::Error>;

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn env_usize(name: &str, default: usize) -> Result<usize, Failure> {
    match std::env::var(name) {
        Ok(value) => Ok(value
            .parse()
            .map_err(|e| format!("{name}={value:?}: {e}"))?),
        Err(_) => Ok(default),
    }
}

fn operator() -> Result<Operator, Failure> {
    // Without `auto-register-services` (which pulls in a constructor run before main), the
    // reqwest transport is installed by hand.
    opendal::install_default();
    let builder = Oss::default()
        .endpoint(&env("OSS_ENDPOINT")?)
        .addressing_style("path")
        .bucket(&env("OSS_BUCKET")?)
        .access_key_id(&env("OSS_ACCESS_KEY_ID")?)
        .access_key_secret(&env("OSS_ACCESS_KEY_SECRET")?)
        .root("/");
    Ok(Operator::new(builder)?)
}

/// Deterministic bytes that differ at every offset, so a misplaced part shows.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if condition {
        Ok(())
    } else {
        Err(what().into())
    }
}

async fn check(op: &Operator) -> Result<(), Failure> {
    let prefix = format!("opendal-probe-{}/", std::process::id());
    let key = format!("{prefix}multipart.bin");
    // Three 256 KiB chunks and a short tail: OpenDAL turns this into a multipart upload of four
    // parts (chunk size above OSS's 100 KiB minimum), sent two at a time.
    let chunk = 256 * 1024;
    let data = pattern(3 * chunk + 12_345, 0x5eed);
    let mut writer = op
        .writer_with(&key)
        .chunk(chunk)
        .concurrent(2)
        .content_type("application/x-probe")
        .await?;
    for piece in data.chunks(100_000) {
        writer.write(piece.to_vec()).await?;
    }
    let written = writer.close().await?;
    println!("opendal-probe: write (multipart) {} bytes", data.len());
    ensure(
        written.content_length() == 0 || written.content_length() == data.len() as u64,
        || format!("close reported {} bytes", written.content_length()),
    )?;

    let read = op.read(&key).await?.to_vec();
    ensure(read == data, || {
        format!(
            "read back {} bytes that differ from the {} written",
            read.len(),
            data.len()
        )
    })?;
    println!("opendal-probe: read ok");

    let range = op.read_with(&key).range(1000..300_000).await?.to_vec();
    ensure(range == data[1000..300_000], || {
        "ranged read differs".to_owned()
    })?;
    println!("opendal-probe: ranged read ok");

    let meta = op.stat(&key).await?;
    ensure(meta.content_length() == data.len() as u64, || {
        format!(
            "stat says {} bytes, wrote {}",
            meta.content_length(),
            data.len()
        )
    })?;
    ensure(meta.content_type() == Some("application/x-probe"), || {
        format!("stat content type {:?}", meta.content_type())
    })?;
    // A multipart object's ETag ends in `-<parts>`: proof OpenDAL took the multipart path.
    ensure(
        meta.etag()
            .is_some_and(|etag| etag.trim_matches('"').ends_with("-4")),
        || format!("stat ETag {:?} is not that of a 4-part object", meta.etag()),
    )?;
    println!("opendal-probe: stat ok");

    let small = format!("{prefix}dir/small.txt");
    op.write(&small, "hello from opendal").await?;
    let mut listed: Vec<String> = op
        .list_with(&prefix)
        .recursive(true)
        .await?
        .into_iter()
        .map(|entry| entry.path().to_owned())
        .filter(|path| !path.ends_with('/'))
        .collect();
    listed.sort();
    let mut expected = [key.clone(), small.clone()];
    expected.sort();
    ensure(listed == expected, || {
        format!("list {prefix} gave {listed:?}")
    })?;
    let top: Vec<String> = op
        .list(&prefix)
        .await?
        .into_iter()
        .map(|entry| entry.path().to_owned())
        .collect();
    ensure(top.contains(&format!("{prefix}dir/")), || {
        format!("non-recursive list {prefix} gave {top:?}")
    })?;
    println!("opendal-probe: list ok");

    op.delete(&key).await?;
    op.delete(&small).await?;
    match op.stat(&key).await {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        other => return Err(format!("stat after delete: {other:?}").into()),
    }
    // Deleting a missing object succeeds, as on OSS.
    op.delete(&key).await?;
    println!("opendal-probe: delete ok");
    Ok(())
}

async fn put(op: &Operator, file: &str, key: &str) -> Result<(), Failure> {
    let chunk = env_usize("OPENDAL_CHUNK", 8 << 20)?;
    let concurrent = env_usize("OPENDAL_CONCURRENT", 4)?;
    let mut source = tokio::fs::File::open(file).await?;
    let mut writer = op
        .writer_with(key)
        .chunk(chunk)
        .concurrent(concurrent)
        .await?;
    let mut buf = vec![0u8; chunk];
    loop {
        let n = tokio::io::AsyncReadExt::read(&mut source, &mut buf).await?;
        if n == 0 {
            break;
        }
        writer.write(buf[..n].to_vec()).await?;
    }
    writer.close().await?;
    Ok(())
}

async fn get(op: &Operator, key: &str, file: &str) -> Result<(), Failure> {
    let chunk = env_usize("OPENDAL_CHUNK", 8 << 20)?;
    let concurrent = env_usize("OPENDAL_CONCURRENT", 4)?;
    let size = op.stat(key).await?.content_length();
    let reader = op
        .reader_with(key)
        .chunk(chunk)
        .concurrent(concurrent)
        .await?;
    let mut out = tokio::fs::File::create(file).await?;
    // One window of `concurrent` chunks at a time: OpenDAL fetches its chunks in parallel, and
    // memory stays at chunk x concurrency.
    let window = (chunk * concurrent.max(1)) as u64;
    let mut offset = 0;
    while offset < size {
        let end = (offset + window).min(size);
        let buffer = reader.read(offset..end).await?;
        for bytes in buffer {
            tokio::io::AsyncWriteExt::write_all(&mut out, &bytes).await?;
        }
        offset = end;
    }
    tokio::io::AsyncWriteExt::flush(&mut out).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match operator() {
        Err(e) => Err(e),
        Ok(op) => match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["check"] => check(&op).await,
            ["put", file, key] => put(&op, file, key).await,
            ["get", key, file] => get(&op, key, file).await,
            _ => Err("usage: opendal-probe check | put FILE KEY | get KEY FILE".into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opendal-probe: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
