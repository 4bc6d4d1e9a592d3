//! Secrets never leak: a distinctive access key secret and STS token go through a full upload
//! (with retries, a resume, a presign, failures with wrong credentials) while a tracing
//! subscriber captures everything at TRACE; the captured logs, every `Debug`/`Display` of the
//! objects and errors involved, and the CLI's stderr/stdout must not contain them.
//!
//! One test per file: the subscriber is process-global.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oss_chaos::{AK, BUCKET, REGION, SK, data, fast_retry, local_config};
use oss_multipart::{Addressing, Client, Credentials};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("capture poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOKEN: &str = "chaos-STS-TOKEN-77aa55cc";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(SK),
        "{what} contains the access key secret:\n{text}"
    );
    assert!(
        !text.contains(TOKEN),
        "{what} contains the security token:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_absent_from_logs_debug_display_errors_and_cli_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let mut faults = oss_local::FaultConfig::default();
    faults.fault_rate = 0.2;
    faults.drop_rate = 0.1;
    faults.ops = vec![oss_local::FaultOp::UploadPart];
    faults.seed = 5;
    let server = oss_local::Server::start(local_config().with_faults(faults))
        .await
        .unwrap();
    let endpoint = server.endpoint();
    let mut seen: Vec<(String, String)> = vec![(
        "oss-local Config Debug".into(),
        format!("{:?}", local_config()),
    )];

    let creds = Credentials::new(AK, SK);
    seen.push(("Credentials Debug".into(), format!("{creds:?}")));
    seen.push((
        "Credentials+token Debug".into(),
        format!("{:?}", Credentials::new(AK, SK).with_security_token(TOKEN)),
    ));
    let builder = Client::builder()
        .endpoint(&endpoint)
        .region(REGION)
        .credentials(creds)
        .addressing(Addressing::Path)
        .retry(fast_retry(5));
    seen.push(("ClientBuilder Debug".into(), format!("{builder:?}")));
    let client = builder.build().unwrap();
    seen.push(("Client Debug".into(), format!("{client:?}")));

    // A full multipart upload under faults (retries logged), and a resume.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, data(1_500_000, 1)).unwrap();
    let upload = client
        .upload_file(BUCKET, "secret/a", &path)
        .part_size(102_400)
        .checkpoint_dir(dir.path().join("cp"));
    seen.push(("UploadBuilder Debug".into(), format!("{upload:?}")));
    let out = upload.send().await.unwrap();
    seen.push(("UploadOutput Debug".into(), format!("{out:?}")));
    let token = oss_multipart::CancellationToken::new();
    let t = token.clone();
    let cancelled = client
        .upload_file(BUCKET, "secret/b", &path)
        .part_size(102_400)
        .concurrency(1)
        .checkpoint_dir(dir.path().join("cp"))
        .progress(move |p| {
            if p.parts_done >= 2 {
                t.cancel()
            }
        })
        .cancellation(token)
        .send()
        .await
        .unwrap_err();
    seen.push((
        "Cancelled error".into(),
        format!("{cancelled:?} / {cancelled}"),
    ));
    let resumed = client
        .resume(cancelled.checkpoint_path().unwrap(), &path)
        .send()
        .await
        .unwrap();
    assert!(resumed.resumed);
    for cp in std::fs::read_dir(dir.path().join("cp")).unwrap().flatten() {
        seen.push((
            "checkpoint file".into(),
            std::fs::read_to_string(cp.path()).unwrap_or_default(),
        ));
    }
    // Presigned URLs carry a signature, never the secret or the token in clear.
    let url = client
        .presign(
            http::Method::GET,
            BUCKET,
            "secret/a",
            Duration::from_secs(60),
        )
        .unwrap();
    seen.push(("presigned URL".into(), url));
    let manifest = client
        .presign_upload(
            BUCKET,
            "secret/c",
            300_000,
            102_400,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    seen.push((
        "presign manifest".into(),
        format!("{manifest:?} {}", serde_json::to_string(&manifest).unwrap()),
    ));

    // Failures: wrong secret (the server's error document includes the string to sign), an STS
    // client whose token the server does not know.
    let wrong = Client::builder()
        .endpoint(&endpoint)
        .region(REGION)
        .credentials(Credentials::new(AK, format!("{SK}-wrong")))
        .addressing(Addressing::Path)
        .build()
        .unwrap();
    let e = wrong
        .upload_file(BUCKET, "secret/d", &path)
        .part_size(102_400)
        .send()
        .await
        .unwrap_err();
    seen.push((
        "wrong-secret error".into(),
        format!("{e:?} / {e} / {:?}", std::error::Error::source(&e)),
    ));
    let sts = Client::builder()
        .endpoint(&endpoint)
        .region(REGION)
        .credentials(Credentials::new(AK, SK).with_security_token(TOKEN))
        .addressing(Addressing::Path)
        .build()
        .unwrap();
    let r = sts.put_object(BUCKET, "secret/e", b"x".to_vec()).await;
    seen.push(("sts result".into(), format!("{r:?}")));
    if let Err(e) = &r {
        seen.push(("sts error Display".into(), format!("{e}")));
    }

    // The CLI: a failing and a succeeding `cp`, with the secret from the environment.
    for (label, secret) in [
        ("cli ok", SK.to_owned()),
        ("cli wrong secret", format!("{SK}-wrong")),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaos-ossmp"))
            .env_clear()
            .env("HOME", dir.path())
            .env("RUST_LOG", "trace")
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", &secret)
            .env("OSS_SESSION_TOKEN", TOKEN)
            .args([
                "--endpoint",
                &endpoint,
                "--region",
                REGION,
                "--path-style",
                "cp",
            ])
            .arg(&path)
            .arg(format!("oss://{BUCKET}/secret/cli"))
            .args(["--part-size", "100KiB", "--checkpoint-dir"])
            .arg(dir.path().join("cli-cp"))
            .output()
            .unwrap();
        seen.push((
            format!("{label} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        seen.push((
            format!("{label} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }

    server.shutdown().await;
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.len() > 1000,
        "the subscriber captured almost nothing ({} bytes)",
        logs.len()
    );
    assert!(
        logs.contains("retry"),
        "no retry was logged: faults did not happen?"
    );
    assert_clean("TRACE logs", &logs);
    for (what, text) in &seen {
        assert_clean(what, text);
    }
    println!(
        "SECRETS: {} bytes of TRACE logs and {} outputs scanned, no secret",
        logs.len(),
        seen.len()
    );
}
