//! Uploads or downloads one file with Apache OpenDAL's `oss` service and prints `started` as
//! its clock starts, then `result bytes=N parts=N secs=S` (the time covers the transfer only,
//! not the set-up), the records `cargo xtask bench peers` and `bench link --peers` read.
//!
//! usage: opendal-peer (upload | download) ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)
//!
//! Upload: with `PART_SIZE JOBS`, the writer gets `.chunk(PART_SIZE).concurrent(JOBS)`. With
//! `default`, it gets no options, as in OpenDAL's own examples: every `write` call becomes a
//! part and parts go one at a time. The file is read in blocks of 8 MiB in both cases.
//!
//! Download: with `PART_SIZE JOBS`, the reader gets `.chunk(PART_SIZE).concurrent(JOBS)`, so it
//! fetches ranges of PART_SIZE, JOBS at a time, and yields them in order; with `default`, it is
//! `op.reader(KEY)` with no options: one GET streamed. Either way the chunks are written to FILE
//! as they arrive (so memory stays bounded) and the file is fsynced before the clock stops, as
//! ours fsyncs its temp file before renaming it. OpenDAL checks no CRC-64 on reads; the benchmark
//! compares the file with the source instead.

use std::io::{Read as _, Write as _};
use std::time::Instant;

use futures::TryStreamExt as _;
use opendal::Operator;
use opendal::services::Oss;

const BLOCK: usize = 8 << 20;
const USAGE: &str = "usage: opendal-peer (upload | download) ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args) {
        eprintln!("opendal-peer: {message}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [mode, endpoint, bucket, key, file, ak, sk, rest @ ..] = args else {
        return Err(USAGE.into());
    };
    let settings = match rest {
        [d] if d == "default" => None,
        [part, jobs] => Some((
            part.parse::<usize>()
                .map_err(|e| format!("PART_SIZE: {e}"))?,
            jobs.parse::<usize>().map_err(|e| format!("JOBS: {e}"))?,
        )),
        _ => return Err("expected PART_SIZE JOBS or `default`".into()),
    };
    // Without the `auto-register-services` feature (a constructor that runs before main),
    // the reqwest transport is installed by hand.
    opendal::install_default();
    let builder = Oss::default()
        .endpoint(endpoint)
        .bucket(bucket)
        .addressing_style("path")
        .access_key_id(ak)
        .access_key_secret(sk);
    let op = Operator::new(builder).map_err(|e| format!("operator: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (bytes, secs) = match mode.as_str() {
        "upload" => runtime.block_on(upload(&op, key, file, settings))?,
        "download" => runtime.block_on(download(&op, key, file, settings))?,
        _ => return Err(USAGE.into()),
    };
    let part = settings.map_or(BLOCK, |(part, _)| part) as u64;
    println!(
        "result bytes={bytes} parts={} secs={secs:.4}",
        bytes.div_ceil(part).max(1)
    );
    Ok(())
}

/// Prints `started` as the clock starts: a capped run (`bench link --peers`) counts its cap
/// from this line.
fn started() {
    println!("started");
}

async fn upload(
    op: &Operator,
    key: &str,
    file: &str,
    settings: Option<(usize, usize)>,
) -> Result<(u64, f64), String> {
    let mut source = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
    started();
    let started = Instant::now();
    let mut writer = match settings {
        Some((part, jobs)) => op.writer_with(key).chunk(part).concurrent(jobs).await,
        None => op.writer(key).await,
    }
    .map_err(|e| format!("writer: {e}"))?;
    let mut total = 0u64;
    loop {
        let mut block = vec![0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            let n = source
                .read(&mut block[filled..])
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        block.truncate(filled);
        total += filled as u64;
        writer
            .write(block)
            .await
            .map_err(|e| format!("write: {e}"))?;
    }
    writer.close().await.map_err(|e| format!("close: {e}"))?;
    Ok((total, started.elapsed().as_secs_f64()))
}

async fn download(
    op: &Operator,
    key: &str,
    file: &str,
    settings: Option<(usize, usize)>,
) -> Result<(u64, f64), String> {
    let mut out = std::fs::File::create(file).map_err(|e| format!("{file}: {e}"))?;
    started();
    let started = Instant::now();
    let reader = match settings {
        Some((part, jobs)) => op.reader_with(key).chunk(part).concurrent(jobs).await,
        None => op.reader(key).await,
    }
    .map_err(|e| format!("reader: {e}"))?;
    let mut stream = reader
        .into_stream(..)
        .await
        .map_err(|e| format!("stream: {e}"))?;
    let mut total = 0u64;
    while let Some(buffer) = stream.try_next().await.map_err(|e| format!("read: {e}"))? {
        // A `Buffer` may be several `Bytes`; each is written where it lands, in order.
        for bytes in buffer {
            out.write_all(&bytes).map_err(|e| format!("{file}: {e}"))?;
            total += bytes.len() as u64;
        }
    }
    out.sync_all().map_err(|e| format!("{file}: {e}"))?;
    Ok((total, started.elapsed().as_secs_f64()))
}
