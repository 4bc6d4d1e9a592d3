//! Every field of [`RetryConfig`] reaches the uploads: for each field, two uploads that differ
//! only in that field fail against a server that always answers 503, and what they did (the
//! number of attempts, the backoff time spent on a virtual clock) must differ. A field that
//! the driver drops on the way to the core's retry policy makes its case fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use oss_multipart::runtime::{Runtime, Sleep};
use oss_multipart::transport::FnTransport;
use oss_multipart::{Client, Credentials, RetryConfig};

const ERR_503: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code>\
<Message>busy</Message><RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>h</HostId></Error>";

/// A clock that only moves when slept on: a sleep jumps to its deadline at once. The wall
/// clock is fixed, so the jitter seed (and with it every delay) is the same for every upload.
#[derive(Debug)]
struct VirtualClock {
    start: Instant,
    now: Mutex<Instant>,
}

impl VirtualClock {
    fn elapsed(&self) -> Duration {
        *self.now.lock().unwrap() - self.start
    }
}

impl Runtime for VirtualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap()
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let mut now = self.now.lock().unwrap();
        *now = (*now).max(deadline);
        Box::pin(std::future::ready(()))
    }
}

/// What one failed upload did: Initiate attempts and virtual time spent backing off.
#[derive(Debug, PartialEq)]
struct Observed {
    attempts: u32,
    waited: Duration,
}

async fn upload_against_503(retry: RetryConfig) -> Observed {
    let start = Instant::now();
    let clock = Arc::new(VirtualClock {
        start,
        now: Mutex::new(start),
    });
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let transport = FnTransport::new(move |req: http::Request<Bytes>| {
        assert_eq!(
            req.method(),
            http::Method::POST,
            "only Initiate, which never succeeds"
        );
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            http::Response::builder()
                .status(503)
                .header("x-oss-request-id", "5C3D9175B6FC201293AD4890")
                .body(Bytes::from_static(ERR_503.as_bytes()))
                .unwrap()
        }
    });
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .region("cn-hangzhou")
        .credentials(Credentials::new("ak", "sk"))
        .http_client(Arc::new(transport))
        .runtime(clock.clone())
        .retry(retry)
        .build()
        .unwrap();
    let data: &'static [u8] = &[7u8; 1000];
    let err = client
        .upload_stream("bucket", "key", data)
        .send()
        .await
        .expect_err("the server always fails");
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(
        err.service_error().map(|e| e.code()),
        Some("ServiceUnavailable")
    );
    Observed {
        attempts: attempts.load(Ordering::SeqCst),
        waited: clock.elapsed(),
    }
}

/// Retries are 3, with ceilings of 1 s, 2 s and 4 s, well inside every budget.
fn base() -> RetryConfig {
    let mut r = RetryConfig::default();
    r.max_retries = 3;
    r.initial_backoff = Duration::from_secs(1);
    r.max_backoff = Duration::from_secs(1000);
    r.backoff_base = 2.0;
    r.retry_timeout = Duration::from_secs(3600);
    r.max_total_retries = 1000;
    r
}

fn ceilings(r: &RetryConfig, retries: u32) -> Duration {
    (1..=retries).map(|n| r.backoff(n)).sum()
}

#[tokio::test]
async fn every_retry_config_field_changes_what_an_upload_does() {
    let base_config = base();
    let seen = upload_against_503(base_config.clone()).await;
    assert_eq!(seen.attempts, 4, "1 attempt + max_retries");
    assert!(seen.waited <= ceilings(&base_config, 3), "{seen:?}");
    assert!(seen.waited > Duration::ZERO);

    // Each case changes one field of the base; the exhaustive list of fields is checked by
    // `RetryConfig::policy`, which destructures it.
    let mut cases: Vec<(&str, RetryConfig)> = Vec::new();
    let mut r = base();
    r.max_retries = 1;
    cases.push(("max_retries", r));
    let mut r = base();
    r.initial_backoff = Duration::from_secs(30);
    cases.push(("initial_backoff", r));
    let mut r = base();
    r.max_backoff = Duration::from_millis(500);
    cases.push(("max_backoff", r));
    let mut r = base();
    r.backoff_base = 10.0;
    cases.push(("backoff_base", r));
    let mut r = base();
    r.retry_timeout = Duration::ZERO;
    cases.push(("retry_timeout", r));
    let mut r = base();
    r.max_total_retries = 2;
    cases.push(("max_total_retries", r));

    for (field, config) in cases {
        let got = upload_against_503(config.clone()).await;
        assert_ne!(got, seen, "`{field}` had no effect on the upload");
        let retries = got.attempts.saturating_sub(1);
        assert!(got.waited <= ceilings(&config, retries), "{field}: {got:?}");
        match field {
            "max_retries" => assert_eq!(got.attempts, 2, "{field}"),
            "retry_timeout" => assert_eq!(got.attempts, 1, "{field}"),
            "max_total_retries" => assert_eq!(got.attempts, 3, "{field}"),
            "max_backoff" => assert!(got.waited <= Duration::from_millis(1500), "{field}"),
            _ => assert_eq!(got.attempts, 4, "{field}"),
        }
    }
}
