//! Failures found on the local side (a broken stream, a file changed mid-upload): the upload
//! ends with the right error class and leaves nothing behind on the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use futures::TryStreamExt as _;
use oss_multipart::Error;

/// A reader that yields `good` and then fails (a broken pipe upstream).
struct Failing {
    good: std::io::Cursor<Vec<u8>>,
}

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.good.position() as usize >= self.good.get_ref().len() {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "upstream broke",
            )));
        }
        std::pin::Pin::new(&mut self.good).poll_read(cx, buf)
    }
}

/// A slow server keeps InitiateMultipartUpload in flight when the stream breaks: the upload
/// it creates must still be aborted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_aborts_the_upload_even_while_initiate_is_in_flight() {
    let mut faults = oss_local::FaultConfig::default();
    faults.latency = Duration::from_millis(300);
    let server = server_with(local_config().with_faults(faults)).await;
    let client = client(&server.endpoint());
    for cut in [0usize, 150_000] {
        let e = client
            .upload_stream(
                BUCKET,
                &format!("broken-{cut}"),
                Failing {
                    good: std::io::Cursor::new(data(cut, 3)),
                },
            )
            .part_size(102_400)
            .send()
            .await
            .unwrap_err();
        assert!(!e.is_resumable(), "{cut}: {e:?}");
        assert!(
            matches!(&e, Error::Upload(u) if matches!(u.cause(), Error::Io(_))),
            "{cut}: {e:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let left: Vec<_> = client
        .list_uploads(BUCKET, None)
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "leaked uploads: {left:?}");
    server.shutdown().await;
}

/// A file grown while its parts go up is never completed; with kept parts the error names
/// the upload id (to abort it) and is an integrity failure, not a resumable one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_mid_upload_is_not_completed_and_kept_parts_are_reported() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f", &data(600_000, 4));
    let fired = Arc::new(AtomicBool::new(false));
    let p = path.clone();
    let e = client
        .upload_file(BUCKET, "changed", &path)
        .part_size(102_400)
        .concurrency(1)
        .on_failure(oss_multipart::FailurePolicy::KeepParts)
        .progress(move |pr| {
            if pr.parts_done >= 1 && !fired.swap(true, Ordering::SeqCst) {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
                f.write_all(&[1u8; 1000]).unwrap();
            }
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        e.is_integrity() && !e.is_retryable() && !e.is_resumable(),
        "{e:?}"
    );
    let Error::Upload(u) = &e else {
        panic!("{e:?}")
    };
    assert!(u.upload_id().is_some(), "{e:?}");
    assert!(format!("{e:?}").contains("601000"), "{e:?}");
    assert!(client.head_object(BUCKET, "changed").await.is_err());
    client
        .abort_upload(BUCKET, "changed", u.upload_id().unwrap())
        .await
        .unwrap();
    server.shutdown().await;
}
