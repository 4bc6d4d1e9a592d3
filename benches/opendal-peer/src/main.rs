//! Uploads one file with Apache OpenDAL's `oss` service and prints
//! `result bytes=N parts=N secs=S` (the time covers the upload only, not the set-up), the
//! record `cargo xtask bench peers` reads.
//!
//! usage: opendal-peer ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)
//!
//! With `PART_SIZE JOBS`, the writer gets `.chunk(PART_SIZE).concurrent(JOBS)`. With
//! `default`, it gets no options, as in OpenDAL's own examples: every `write` call becomes a
//! part and parts go one at a time. The file is read in blocks of 8 MiB in both cases.

use std::io::Read as _;
use std::time::Instant;

use opendal::Operator;
use opendal::services::Oss;

const BLOCK: usize = 8 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args) {
        eprintln!("opendal-peer: {message}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [endpoint, bucket, key, file, ak, sk, rest @ ..] = args else {
        return Err(
            "usage: opendal-peer ENDPOINT BUCKET KEY FILE AK SK (PART_SIZE JOBS | default)".into(),
        );
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
    let mut source = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let (bytes, secs) = runtime.block_on(async {
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
        Ok::<_, String>((total, started.elapsed().as_secs_f64()))
    })?;
    let part = settings.map_or(BLOCK, |(part, _)| part) as u64;
    println!(
        "result bytes={bytes} parts={} secs={secs:.4}",
        bytes.div_ceil(part).max(1)
    );
    Ok(())
}
