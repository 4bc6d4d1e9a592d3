//! Throughput of a file-range body over loopback to a server that discards it, with and without CRC-64.
//!
//! `cargo bench -p oss-transport --bench file_range`; the file (256 MiB) lives in the temp dir and is read
//! through the page cache, so this measures the body pipeline and hyper, not the disk.
// Criterion's macros generate undocumented functions.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt as _, Empty};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use oss_transport::{Client, Digests, FileRange, RequestBody};

const LEN: u64 = 256 * 1024 * 1024;

async fn discard_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let mut body = req.into_body();
                    while let Some(frame) = body.frame().await {
                        drop(frame?);
                    }
                    Ok::<_, hyper::Error>(hyper::Response::new(Empty::<Bytes>::new()))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    addr
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(discard_server());
    let client = Client::builder().build().unwrap();
    let mut file = tempfile::tempfile().unwrap();
    let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    for _ in 0..LEN / block.len() as u64 {
        file.write_all(&block).unwrap();
    }
    let file = Arc::new(file);

    let mut group = c.benchmark_group("file_range_256MiB");
    group.throughput(Throughput::Bytes(LEN));
    group.sample_size(10);
    for (name, digests) in [("plain", None), ("crc64", Some(Digests::Crc64))] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let body = RequestBody::file_range(
                    FileRange::new(file.clone(), 0, LEN).with_chunk_size(1024 * 1024),
                );
                let (body, handle) = match digests {
                    Some(d) => {
                        let (b, h) = body.digested(d);
                        (b, Some(h))
                    }
                    None => (body, None),
                };
                let req = http::Request::put(format!("http://{addr}/"))
                    .body(body)
                    .unwrap();
                let resp = rt.block_on(client.send_collect(req, 1024)).unwrap();
                assert_eq!(resp.status(), 200);
                if let Some(h) = handle {
                    assert!(h.result().and_then(|d| d.crc64()).is_some());
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
