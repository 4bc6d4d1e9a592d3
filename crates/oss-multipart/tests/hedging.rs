//! Straggler hedging through the real drivers, against oss-local: requests of the transfer
//! stall (a connection that went quiet); the machine sends the part or range again, the
//! hedge wins, the straggler's future is dropped (cancelled), and the result is bit-exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use oss_multipart::transport::{HttpClient, HttpFuture, HyperClient, RequestBody};
use oss_transport::RetireSlowConnections;

/// Stalls the first `stalls` requests that `matches` for a minute (unless dropped) before
/// sending a byte, forwards the rest.
#[derive(Debug)]
struct Straggler {
    inner: Arc<HyperClient>,
    matches: fn(&http::Request<RequestBody>) -> bool,
    stalls: u32,
    seen: AtomicU32,
    dropped: Arc<AtomicU32>,
    /// The slow-connection bound the last transfer request carried.
    retire: Arc<Mutex<Option<RetireSlowConnections>>>,
}

/// Counts stalled futures dropped before they finished.
struct DropCount(Arc<AtomicU32>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl HttpClient for Straggler {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let inner = self.inner.clone();
        if let Some(bound) = request.extensions().get::<RetireSlowConnections>() {
            *self.retire.lock().unwrap() = Some(bound.clone());
        }
        if (self.matches)(&request) && self.seen.fetch_add(1, Ordering::SeqCst) < self.stalls {
            let flag = DropCount(self.dropped.clone());
            return Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                std::mem::forget(flag); // finished: not a cancel
                inner.send(request).await
            });
        }
        inner.send(request)
    }
}

struct Straggling {
    client: oss_multipart::Client,
    dropped: Arc<AtomicU32>,
    retire: Arc<Mutex<Option<RetireSlowConnections>>>,
}

impl Straggling {
    /// Asserts that the transfer's requests carried the slow-connection bound and that the
    /// machine had set it (its straggler threshold) by the end.
    fn assert_slow_connections_retired(&self) {
        let retire = self.retire.lock().unwrap().clone();
        let retire = retire.expect("transfer requests carry the slow-connection bound");
        let bound = retire.get().expect("the straggler threshold was known");
        assert!(bound > Duration::ZERO && bound < Duration::from_secs(60));
    }
}

fn straggling_client(
    endpoint: &str,
    matches: fn(&http::Request<RequestBody>) -> bool,
    stalls: u32,
) -> Straggling {
    let dropped = Arc::new(AtomicU32::new(0));
    let retire = Arc::new(Mutex::new(None));
    let http = HyperClient::new(oss_transport::Client::builder().build().unwrap());
    let client = oss_multipart::Client::builder()
        .endpoint(endpoint)
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .retry(fast_retry())
        .http_client(Arc::new(Straggler {
            inner: Arc::new(http),
            matches,
            stalls,
            seen: AtomicU32::new(0),
            dropped: dropped.clone(),
            retire: retire.clone(),
        }))
        .build()
        .unwrap();
    Straggling {
        client,
        dropped,
        retire,
    }
}

/// Part 20 of 24 (100 KiB parts).
fn part_20(r: &http::Request<RequestBody>) -> bool {
    r.uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "partNumber=20"))
}

/// Parts 20 and 22 of 24.
fn parts_20_22(r: &http::Request<RequestBody>) -> bool {
    r.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "partNumber=20" || kv == "partNumber=22")
    })
}

/// The GET of range 20 of 24 (100 KiB ranges).
fn range_20(r: &http::Request<RequestBody>) -> bool {
    r.method() == http::Method::GET
        && r.headers()
            .get("range")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("bytes=1945600-"))
}

/// Uploads 24 parts of 100 KiB through a client whose first `stalls` requests that `matches`
/// stall; asserts that the upload ends (so each straggler was hedged), that every stalled
/// request was cancelled, and that the object is bit-exact.
async fn upload_past_stragglers(
    matches: fn(&http::Request<RequestBody>) -> bool,
    stalls: u32,
    seed: u64,
) {
    let server = server().await;
    let straggling = straggling_client(&server.endpoint(), matches, stalls);
    let (client, dropped) = (&straggling.client, &straggling.dropped);
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(24 * 102_400, seed);
    let path = write_file(dir.path(), "src", &bytes);
    let upload = client
        .upload_file(BUCKET, "hedged", &path)
        .part_size(102_400)
        .send();
    // Without hedging a stalled part would hold the upload for a minute.
    let out = tokio::time::timeout(Duration::from_secs(30), upload)
        .await
        .expect("a straggler was not hedged")
        .unwrap();
    assert_eq!(out.parts, 24);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        stalls,
        "every straggler cancelled"
    );
    let got = client.get_object(BUCKET, "hedged").await.unwrap();
    assert!(got == bytes, "bit-exact");
    straggling.assert_slow_connections_retired();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_part_is_hedged_and_the_straggler_cancelled() {
    upload_past_stragglers(part_20, 1, 3).await;
}

/// The budget (5 % of 24 parts: one part and a fifth) is charged only what a cancelled
/// attempt had sent: the first straggler sent nothing, so the second can be hedged too
/// (charged the first's whole part, it would wait a minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_attempt_that_sent_nothing_costs_the_budget_nothing() {
    upload_past_stragglers(parts_20_22, 2, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_range_is_hedged_and_the_loser_never_writes() {
    let server = server().await;
    let straggling = straggling_client(&server.endpoint(), range_20, 1);
    let (client, dropped) = (&straggling.client, &straggling.dropped);
    let bytes = data(24 * 102_400, 4);
    client
        .put_object(BUCKET, "hedged", bytes.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let download = client
        .download(BUCKET, "hedged")
        .part_size(102_400)
        .to_file(&path);
    let out = tokio::time::timeout(Duration::from_secs(30), download)
        .await
        .expect("the straggler was not hedged")
        .unwrap();
    assert!(out.crc_verified);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the straggler was cancelled"
    );
    assert!(std::fs::read(&path).unwrap() == bytes, "bit-exact");
    straggling.assert_slow_connections_retired();
    server.shutdown().await;
}
