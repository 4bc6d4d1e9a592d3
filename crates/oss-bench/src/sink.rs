//! The ceiling server: a minimal hyper HTTP/1.1 sink that hashes and discards PUT bodies.
//!
//! It does what any OSS-compatible server must do at the least for an upload (read every
//! byte off the socket and check its CRC-64) and nothing else: no authentication, no XML, no
//! storage. Any method is accepted; the answer is `200` with the body's CRC-64 in
//! `x-oss-hash-crc64ecma` and its length in `x-bench-bytes`.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Binds `listen` and serves on the current tokio runtime until the runtime stops; returns
/// the bound address.
///
/// # Errors
/// When the address cannot be bound.
pub async fn start(listen: &str) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(accept_loop(listener));
    Ok(addr)
}

async fn accept_loop(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // A client that goes away mid-body is the client's problem; the sink just stops.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let mut body = req.into_body();
    let mut crc = crate::crc64_digest();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Ok(status(400));
        };
        if let Ok(data) = frame.into_data() {
            crc.update(&data);
            bytes += data.len() as u64;
        }
    }
    let mut response = Response::new(Empty::new());
    let headers = response.headers_mut();
    headers.insert("x-oss-hash-crc64ecma", crc.finish().into());
    headers.insert("x-bench-bytes", bytes.into());
    Ok(response)
}

fn status(code: u16) -> Response<Empty<Bytes>> {
    let mut response = Response::new(Empty::new());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    response
}
