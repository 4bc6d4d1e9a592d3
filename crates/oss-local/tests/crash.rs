//! Crash safety: SIGKILL the `oss-local` binary during a stream of UploadParts, restart it on
//! the same data directory, check that every acknowledged part survived, finish, compare bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::*;

fn spawn(dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oss-local"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--access-key-id",
            AK,
            "--access-key-secret",
            SK,
        ])
        .args(["--bucket", BUCKET, "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on http://")
        .expect(&line)
        .to_owned();
    (child, url.parse().unwrap())
}

const PARTS: u32 = 40;
const PART_SIZE: usize = 120_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_uploads_keeps_acknowledged_parts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn(dir.path());
    let key = "crash/object.bin";
    let id = initiate(addr, key).await;
    let acked: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
    // Four concurrent streams of UploadPart; the server is killed while they run.
    let mut tasks = Vec::new();
    for lane in 0..4u32 {
        let (id, acked) = (id.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in (1..=PARTS).filter(|n| n % 4 == lane) {
                let body = data(PART_SIZE, n as u8);
                let sent = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    try_upload(addr, key, &id, n, body),
                )
                .await;
                match sent {
                    Ok(Some(etag)) => acked.lock().unwrap().push((n, etag)),
                    _ => return,
                }
            }
        }));
    }
    // Kill once some parts are acknowledged, while others are in flight.
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        if acked.lock().unwrap().len() >= 10 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10 && acked.len() < PARTS as usize,
        "{}",
        acked.len()
    );

    let (mut child, addr) = spawn(dir.path());
    let r = req("GET", key).q("uploadId", &id).send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed: Vec<(u32, String)> = r
        .elems("PartNumber")
        .into_iter()
        .map(|n| n.parse().unwrap())
        .zip(r.elems("ETag"))
        .collect();
    for (n, etag) in &acked {
        assert!(
            listed.contains(&(*n, etag.clone())),
            "acknowledged part {n} lost"
        );
    }
    // Finish: upload every part again where missing, complete, compare bytes.
    let mut etags = Vec::new();
    for n in 1..=PARTS {
        let etag = match listed.iter().find(|(m, _)| *m == n) {
            Some((_, e)) => e.clone(),
            None => upload_part(addr, key, &id, n, &data(PART_SIZE, n as u8)).await,
        };
        etags.push((n, etag));
    }
    let refs: Vec<(u32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let r = req("POST", key)
        .q("uploadId", &id)
        .body(complete_body(&refs))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let expected: Vec<u8> = (1..=PARTS).flat_map(|n| data(PART_SIZE, n as u8)).collect();
    let r = req("GET", key).send(addr).await;
    assert_eq!(r.body.len(), expected.len());
    assert!(r.body == expected);
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&expected).to_string()
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // And the completed object survives another kill + restart.
    let (mut child, addr) = spawn(dir.path());
    assert!(req("GET", key).send(addr).await.body == expected);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// UploadPart that tolerates the server disappearing (returns None).
async fn try_upload(
    addr: SocketAddr,
    key: &str,
    id: &str,
    n: u32,
    body: Vec<u8>,
) -> Option<String> {
    let task = tokio::spawn({
        let (key, id) = (key.to_owned(), id.to_owned());
        async move {
            req("PUT", "")
                .q("partNumber", &n.to_string())
                .q("uploadId", &id)
                .body(body)
                .with_key(&key)
                .send(addr)
                .await
        }
    });
    match task.await {
        Ok(r) if r.status == 200 => r.header("etag").map(str::to_owned),
        _ => None,
    }
}
