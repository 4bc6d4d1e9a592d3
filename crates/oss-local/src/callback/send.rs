//! The callback POST: one HTTP/1.1 request over a fresh connection, bounded in time and in the
//! size of the answer.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::spec::Url;

/// Largest callback answer read (OSS refuses larger ones too).
const MAX_REPLY: usize = 1024 * 1024;

/// Why a callback failed, in the words the `CallbackFailed` message carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Failure(pub(crate) String);

/// POSTs `body` to `url` and returns the answer's body when it is a `200` with a JSON body.
pub(crate) async fn post(
    url: &Url,
    host: &str,
    content_type: &'static str,
    body: String,
    timeout: Duration,
) -> Result<Bytes, Failure> {
    match tokio::time::timeout(timeout, exchange(url, host, content_type, body)).await {
        Ok(result) => result,
        Err(_) => Err(Failure(format!(
            "The callback server did not answer within {} ms.",
            timeout.as_millis()
        ))),
    }
}

async fn exchange(
    url: &Url,
    host: &str,
    content_type: &'static str,
    body: String,
) -> Result<Bytes, Failure> {
    let unreachable = |e: &dyn std::fmt::Display| {
        Failure(format!(
            "Error status : -1. Cannot reach the callback server {}: {e}",
            url.authority()
        ))
    };
    let stream = match url.connect_to {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect((url.host.as_str(), url.port)).await,
    }
    .map_err(|e| unreachable(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    // The connection task ends when the exchange does (or with the timeout that drops it).
    let driver = tokio::spawn(connection);
    let request = http::Request::post(url.path.as_str())
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| unreachable(&e))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        if status != http::StatusCode::OK {
            return Err(Failure(format!("Error status : {}.", status.as_u16())));
        }
        let reply = Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|_| {
                Failure(
                    "Error status : 400. The callback server's answer is larger than 1 MiB."
                        .to_owned(),
                )
            })?
            .to_bytes();
        if serde_json::from_slice::<serde_json::Value>(&reply).is_err() {
            return Err(Failure(
                "Response body is not valid json format.".to_owned(),
            ));
        }
        Ok(reply)
    }
    .await;
    driver.abort();
    result
}
