//! `ossmp demo`: the whole workflow against an embedded `oss-local`, with nothing to configure.
//!
//! Steps: start a server on 127.0.0.1 with fresh random credentials in a temporary directory, write a test file
//! of pseudo-random bytes, upload it and simulate a crash part-way (cancellation), resume from the checkpoint,
//! download and compare CRC64 and MD5 with the local file, then leave an upload behind on purpose and clean it
//! up the way `ossmp uploads gc` does.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use md5::{Digest as _, Md5};
use oss_multipart::{CancellationToken, Client, UploadOutput};
use rand::Rng as _;

use crate::cli::{DemoArgs, GlobalArgs};
use crate::cmd::cp::{UploadOptions, progress_fn, rate, start};
use crate::cmd::uploads::{gc_uploads, list};
use crate::config::{Creds, Layer, Settings};
use crate::exit::{CliError, Exit};
use crate::location::OssUrl;
use crate::output::Out;
use crate::progress::Bar;
use crate::units::Bytes;

const BUCKET: &str = "demo";
const REGION: &str = "cn-hangzhou";
/// Where the simulated crash happens.
const CRASH_AT: f64 = 0.4;

/// CRC64 (the OSS variant, CRC-64/XZ) and MD5 of a byte stream, computed independently of the library so the
/// demo's verification does not trust the code it checks.
struct Digests {
    crc: oss_crc64::Crc64,
    md5: Md5,
    len: u64,
}

impl Digests {
    fn new() -> Self {
        Self {
            crc: oss_crc64::Crc64::new(),
            md5: Md5::new(),
            len: 0,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
        self.md5.update(bytes);
        self.len += bytes.len() as u64;
    }

    fn finish(self) -> (u64, String, u64) {
        (
            self.crc.finish(),
            hex::encode(self.md5.finalize()),
            self.len,
        )
    }
}

/// Writes `size` pseudo-random bytes (xorshift64*, seeded) and returns their CRC64, MD5 and length.
/// Incompressible data keeps the demo honest; a tiny generator keeps it fast (GB/s, far above the upload).
fn write_test_file(path: &Path, size: u64, seed: u64) -> std::io::Result<(u64, String, u64)> {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    // splitmix64 of the seed: distinct seeds give distinct streams, and the xorshift state is never zero.
    let mut state = {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) | 1
    };
    let mut digests = Digests::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.write_all(&buf[..n])?;
        digests.update(&buf[..n]);
        left -= n as u64;
    }
    file.flush()?;
    Ok(digests.finish())
}

/// `AsyncWrite` that only hashes, so the download is verified without a second copy on disk.
struct HashingWriter(Digests);

impl tokio::io::AsyncWrite for HashingWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.update(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn random_token(rng: &mut impl rand::Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Default part size: 8 MiB, but small enough that even a small demo file has at least 16 parts to crash in
/// the middle of.
fn demo_part_size(size: u64) -> u64 {
    const MIN: u64 = 100 * 1024;
    (size / 16).clamp(MIN, 8 << 20)
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// `ossmp demo`.
pub(crate) async fn run(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<()> {
    let out = Out::new(global);
    let total_started = Instant::now();
    if args.size == 0 {
        return Err(CliError::usage("--size must be above zero").into());
    }
    let part_size = args.part_size.unwrap_or_else(|| demo_part_size(args.size));
    if args.size.div_ceil(part_size) > 10_000 {
        return Err(CliError::usage(format!(
            "--size {} needs more than 10000 parts of {}",
            Bytes(args.size),
            Bytes(part_size)
        ))
        .hint("raise --part-size")
        .into());
    }
    let tmp = tempfile::Builder::new().prefix("ossmp-demo-").tempdir()?;
    let root = tmp.path().to_path_buf();

    // 1. The server.
    let mut rng = rand::thread_rng();
    let (ak, sk) = (
        format!("LTAI{}", random_token(&mut rng, 20)),
        random_token(&mut rng, 30),
    );
    let config = oss_local::Config::new(ak.clone(), sk.clone())
        .with_data_dir(root.join("server"))
        .with_region(REGION)
        .with_bucket(BUCKET)
        // fsync only matters for power loss; the demo's data is thrown away anyway.
        .with_fsync(false);
    let server = oss_local::Server::start(config).await?;
    let endpoint = server.endpoint();
    out.info(format!("1/6 started oss-local at {endpoint} (bucket `{BUCKET}`, fresh random credentials, data in {})", root.display()));

    let settings = Settings {
        creds: Some(Creds {
            access_key_id: ak,
            access_key_secret: sk,
            session_token: None,
        }),
        flags: Layer {
            endpoint: Some(endpoint.clone()),
            region: Some(REGION.to_owned()),
            addressing: Some(oss_multipart::Addressing::Path),
            v1_signature: false,
        },
        profile: Layer::default(),
        bucket: Some(BUCKET.to_owned()),
        chain_profile: None,
        proxy: None,
        ca_bundle: None,
        // The demo's own server and keys: nothing from the user's environment applies.
        env: oss_multipart::Env::from_pairs(std::iter::empty::<(String, String)>()),
    };
    let client = crate::client::build(&settings, &[])?;
    let result = steps(&out, global, &args, &client, &root, part_size).await;
    server.shutdown().await;
    let summary = result?;

    let total = total_started.elapsed();
    if args.keep {
        let kept = tmp.keep();
        out.info(format!("kept the demo directory {}", kept.display()));
    }
    if out.json {
        let mut s = summary;
        s["total_secs"] = total.as_secs_f64().into();
        out.json_line(&s);
    } else {
        out.info(format!(
            "done in {}. The same commands work against OSS: set OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and \
             OSS_REGION, then `ossmp cp FILE oss://BUCKET/KEY`",
            secs(total)
        ));
    }
    Ok(())
}

async fn steps(
    out: &Out,
    global: &GlobalArgs,
    args: &DemoArgs,
    client: &Client,
    root: &Path,
    part_size: u64,
) -> anyhow::Result<serde_json::Value> {
    // 2. The test file.
    let t = Instant::now();
    let file = root.join("testfile.bin");
    let seed: u64 = rand::thread_rng().r#gen();
    let (path, size) = (file.clone(), args.size);
    let (local_crc, local_md5, _) =
        tokio::task::spawn_blocking(move || write_test_file(&path, size, seed)).await??;
    out.info(format!(
        "2/6 wrote a {} test file of pseudo-random data in {}",
        Bytes(args.size),
        secs(t.elapsed())
    ));

    // 3. Upload, and "crash" part-way.
    let dest = OssUrl {
        bucket: BUCKET.to_owned(),
        key: "demo/testfile.bin".to_owned(),
    };
    let opts = UploadOptions {
        part_size: Some(part_size),
        jobs: Some(args.jobs),
        checkpoint_dir: Some(root.join("checkpoints")),
        ..UploadOptions::default()
    };
    let hidden = global.quiet || out.json;
    let bar = Bar::new("upload", Some(args.size), hidden);
    let token = CancellationToken::new();
    let crash_at = (args.size as f64 * CRASH_AT) as u64;
    let crashed = Arc::new(AtomicBool::new(false));
    let show = progress_fn(&bar);
    // The library's cancellation error does not count parts, so remember the last progress report's count.
    let parts_done = Arc::new(AtomicU32::new(0));
    let (tok, flag, done) = (token.clone(), crashed.clone(), parts_done.clone());
    let t = Instant::now();
    let first = start(client, &dest, Some(&file), &opts)
        .progress(move |p| {
            show(p);
            done.store(p.parts_done, Ordering::Relaxed);
            if p.bytes_done >= crash_at && !flag.swap(true, Ordering::Relaxed) {
                tok.cancel();
            }
        })
        .cancellation(token)
        .send()
        .await;
    bar.finish();
    let first_elapsed = t.elapsed();
    let (parts_before_crash, checkpoint) = match first {
        Err(e) if e.is_cancelled() => {
            // Parts in flight when the token fired may still have finished, so ask the server (as
            // `ossmp parts` does) rather than trusting the last progress report.
            let mut done = parts_done.load(Ordering::Relaxed);
            if let Some(id) = e.upload_id() {
                use futures::TryStreamExt as _;
                let stored: Vec<_> = client
                    .list_parts(&dest.bucket, &dest.key, id)
                    .try_collect()
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("demo: listing the stored parts"))?;
                done = u32::try_from(stored.len()).unwrap_or(u32::MAX);
            }
            out.info(format!(
                "3/6 simulated a crash at {:.0}% (upload cancelled): the server holds {done} of {} parts; checkpoint kept at {}",
                CRASH_AT * 100.0,
                args.size.div_ceil(part_size),
                e.checkpoint_path().map_or_else(|| "?".to_owned(), |p| p.display().to_string())
            ));
            (
                Some(done),
                e.checkpoint_path().map(|p| p.display().to_string()),
            )
        }
        Err(e) => return Err(anyhow::Error::new(e).context("demo upload (first attempt)")),
        Ok(_) => {
            out.info("3/6 the upload finished before the simulated crash could happen (try a larger --size)");
            (None, None)
        }
    };

    // 4. Resume: the same upload again, same checkpoint directory.
    let bar = Bar::new("resume", Some(args.size), hidden);
    let t = Instant::now();
    let resumed: UploadOutput = start(client, &dest, Some(&file), &opts)
        .progress(progress_fn(&bar))
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context("demo upload (resume)"))?;
    bar.finish();
    let resume_elapsed = t.elapsed();
    let check = crate::cmd::cp::post_check(client, &resumed).await?;
    let verified = check == crate::cmd::cp::PostCheck::Verified;
    let crc_line = match check {
        crate::cmd::cp::PostCheck::Verified => {
            format!("CRC64 verified end to end ({})", resumed.crc64)
        }
        crate::cmd::cp::PostCheck::SizeOnly => "the server reported no CRC64".to_owned(),
        crate::cmd::cp::PostCheck::NotChecked(why) => {
            format!("the object could not be re-checked: {why}")
        }
    };
    out.info(format!(
        "4/6 resumed upload {}: {} of {} parts reused from the checkpoint, the rest sent in {}; {crc_line}",
        resumed.upload_id.as_deref().unwrap_or("?"),
        resumed.parts_reused,
        resumed.parts,
        secs(resume_elapsed)
    ));
    if resumed.crc64 != local_crc {
        return Err(CliError::new(
            Exit::Integrity,
            "the CRC64 OSS reported differs from the local file's",
        )
        .into());
    }

    // 5. Download and compare with the local file.
    let t = Instant::now();
    let mut sink = HashingWriter(Digests::new());
    client
        .get_object_to(&dest.bucket, &dest.key, &mut sink)
        .await
        .map_err(|e| anyhow::Error::new(e).context("demo download"))?;
    let download_elapsed = t.elapsed();
    let (got_crc, got_md5, got_len) = sink.0.finish();
    if got_len != args.size || got_crc != local_crc || got_md5 != local_md5 {
        return Err(CliError::new(
            Exit::Integrity,
            format!(
                "downloaded object differs from the local file (size {got_len} vs {}, CRC64 {got_crc:#x} vs {local_crc:#x}, MD5 {got_md5} vs {local_md5})",
                args.size
            ),
        )
        .into());
    }
    out.info(format!(
        "5/6 downloaded {} in {} ({}/s): CRC64 {got_crc:#018x} and MD5 {got_md5} match the local file",
        Bytes(got_len),
        secs(download_elapsed),
        Bytes(rate(got_len, download_elapsed))
    ));

    // 6. An abandoned upload, found and cleaned up.
    let stale = OssUrl {
        bucket: BUCKET.to_owned(),
        key: "tmp/abandoned.bin".to_owned(),
    };
    let stale_id = abandon_upload(client, &stale).await?;
    let listed = list(client, BUCKET, "").await?;
    let gc_location = OssUrl {
        bucket: BUCKET.to_owned(),
        key: "tmp/".to_owned(),
    };
    let report = gc_uploads(client, &gc_location, Duration::ZERO, false).await?;
    if let Some((_, e)) = report.failed.into_iter().next() {
        return Err(anyhow::Error::new(e).context("demo clean-up"));
    }
    let left = list(client, BUCKET, "").await?;
    out.info(format!(
        "6/6 `uploads ls` found {} unfinished upload ({} with 1 part); `uploads gc oss://{BUCKET}/tmp/ --older-than 0s` \
         aborted {}; {} left (real use: --older-than 7d)",
        listed.len(),
        stale.key,
        report.aborted.len(),
        left.len()
    ));

    let upload_secs = first_elapsed + resume_elapsed;
    if !out.json {
        out.info(format!(
            "summary: {} in {} parts; upload {}/s over both attempts ({} + {}), download {}/s; checksums match",
            Bytes(args.size),
            resumed.parts,
            Bytes(rate(args.size, upload_secs)),
            secs(first_elapsed),
            secs(resume_elapsed),
            Bytes(rate(args.size, download_elapsed)),
        ));
    }
    Ok(serde_json::json!({
        "status": "ok",
        "command": "demo",
        "size": args.size,
        "part_size": part_size,
        "parts": resumed.parts,
        "parts_before_crash": parts_before_crash,
        "checkpoint": checkpoint,
        "parts_reused": resumed.parts_reused,
        "resumed": resumed.resumed,
        "upload_id": resumed.upload_id,
        "crc64": format!("{local_crc}"),
        "md5": local_md5,
        "crc64_verified": verified && resumed.crc64 == local_crc && got_crc == local_crc,
        "md5_verified": got_md5 == local_md5,
        "upload_secs": upload_secs.as_secs_f64(),
        "download_secs": download_elapsed.as_secs_f64(),
        "upload_bytes_per_sec": rate(args.size, upload_secs),
        "download_bytes_per_sec": rate(args.size, download_elapsed),
        "stale_upload_id": stale_id,
        "stale_uploads_found": listed.len(),
        "stale_uploads_aborted": report.aborted.len(),
        "uploads_left": left.len(),
    }))
}

/// Starts an upload with one 1 MiB part and walks away from it, as a crashed client without a checkpoint would.
async fn abandon_upload(client: &Client, at: &OssUrl) -> anyhow::Result<String> {
    use oss_multipart::ops::{InitiateMultipartUpload, UploadPart};
    let bucket = oss_multipart::BucketName::new(at.bucket.clone())?;
    let key = oss_multipart::ObjectKey::new(at.key.clone())?;
    let init = client
        .send(InitiateMultipartUpload::new(bucket.clone(), key.clone()))
        .await
        .map_err(|e| anyhow::Error::new(e).context("demo: starting the abandoned upload"))?;
    let part = UploadPart::new(
        bucket,
        key,
        init.upload_id.clone(),
        oss_multipart::PartNumber::new(1)?,
    );
    client
        .send_with_body(part, bytes::Bytes::from(vec![0x5a; 1 << 20]))
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context("demo: uploading a part of the abandoned upload")
        })?;
    Ok(init.upload_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_file_digests_match_a_reread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let (crc, md5, len) = write_test_file(&p, 3 * (1 << 20) + 5, 42).unwrap();
        let data = std::fs::read(&p).unwrap();
        assert_eq!(len, data.len() as u64);
        assert_eq!(crc, oss_crc64::crc64(&data));
        assert_eq!(md5, hex::encode(Md5::digest(&data)));
        // Different seeds give different data (it really is pseudo-random, not a constant pattern).
        let (crc2, _, _) = write_test_file(&p, 3 * (1 << 20) + 5, 43).unwrap();
        assert_ne!(crc, crc2);
    }

    #[test]
    fn crc64_is_the_oss_variant() {
        // CRC-64/XZ check value (the standard "123456789" test vector).
        assert_eq!(oss_crc64::crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn part_size_gives_enough_parts() {
        assert_eq!(demo_part_size(256 << 20), 8 << 20);
        assert_eq!(demo_part_size(8 << 20), 512 << 10);
        assert_eq!(demo_part_size(1000), 100 * 1024);
    }
}
