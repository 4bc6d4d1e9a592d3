//! Test support: start a server, sign requests with `oss-auth`, send them with a tiny hyper
//! client (one connection per request), and read OSS error documents.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use oss_auth::{Credentials, SignableRequest, Signer, V4Params};
use oss_local::{Config, Server, ServerHandle};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub const AK: &str = "test-ak";
pub const SK: &str = "test-secret";
pub const REGION: &str = "cn-hangzhou";
pub const BUCKET: &str = "test-bucket";

const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How a request is authenticated.
#[derive(Clone, Debug)]
pub enum Sign {
    None,
    V4,
    V1,
    /// V4 with another secret.
    V4Secret(&'static str),
    /// V4 with another access key id.
    V4Ak(&'static str),
    /// V4 header signed at this time.
    V4At(SystemTime),
    /// V4 presigned at `time`, valid `expires`.
    PresignV4 {
        time: SystemTime,
        expires: Duration,
    },
    /// V1 header, also signing these query names (as a client of those APIs does).
    V1Extra(Vec<String>),
    /// V4 header with these credentials (e.g. a temporary pair with its token).
    V4Creds(Credentials),
    /// V1 presigned, expiring at `at`.
    PresignV1 {
        at: SystemTime,
    },
}

pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Text of the first `<name>` element of the body.
    pub fn elem(&self, name: &str) -> Option<String> {
        elem(&self.text(), name)
    }

    pub fn elems(&self, name: &str) -> Vec<String> {
        let text = self.text();
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            let Some(j) = after.find(&close) else { break };
            out.push(unescape(&after[..j]));
            rest = &after[j + close.len()..];
        }
        out
    }

    /// Asserts an OSS error: status, code, request id header = body RequestId, XML content
    /// type, `x-oss-ec` header = body EC, no namespace.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(
            self.elem("Code").as_deref(),
            Some(code),
            "body: {}",
            self.text()
        );
        assert_eq!(
            self.header("x-oss-request-id").map(str::to_owned),
            self.elem("RequestId")
        );
        assert_eq!(self.header("content-type"), Some("application/xml"));
        assert_eq!(self.header("x-oss-ec").map(str::to_owned), self.elem("EC"));
        assert!(!self.text().contains("xmlns"));
    }
}

pub fn elem(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let i = text.find(&open)? + open.len();
    let j = text[i..].find(&close)? + i;
    Some(unescape(&text[i..j]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

pub fn config(dir: &std::path::Path) -> Config {
    Config::new(AK, SK)
        .with_bucket(BUCKET)
        .with_data_dir(dir)
        .with_fsync(false)
}

pub async fn start(dir: &std::path::Path) -> ServerHandle {
    Server::start(config(dir)).await.unwrap()
}

/// A request under construction.
pub struct Request {
    pub method: &'static str,
    pub bucket: Option<String>,
    pub key: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub sign: Sign,
    /// Raw path override (for escaping tests).
    pub raw_path: Option<String>,
    /// Host header override.
    pub host: Option<String>,
}

pub fn req(method: &'static str, key: &str) -> Request {
    Request {
        method,
        bucket: Some(BUCKET.to_owned()),
        key: key.to_owned(),
        query: Vec::new(),
        headers: Vec::new(),
        body: Vec::new(),
        sign: Sign::V4,
        raw_path: None,
        host: None,
    }
}

impl Request {
    pub fn q(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn h(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
    pub fn sign(mut self, sign: Sign) -> Self {
        self.sign = sign;
        self
    }
    pub fn with_key(mut self, key: &str) -> Self {
        self.key = key.to_owned();
        self
    }
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }
    pub fn path(mut self, raw_path: &str) -> Self {
        self.raw_path = Some(raw_path.to_owned());
        self
    }
    pub fn bucket(mut self, bucket: &str) -> Self {
        self.bucket = Some(bucket.to_owned());
        self
    }

    pub async fn send(self, addr: SocketAddr) -> Resp {
        send(addr, self).await
    }

    /// Sends at the service level (`GET /`, no bucket).
    pub async fn send_service(mut self, addr: SocketAddr) -> Resp {
        self.bucket = None;
        send(addr, self).await
    }

    pub async fn try_send(self, addr: SocketAddr) -> Result<Resp, String> {
        try_send(addr, self).await
    }
}

fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| {
            if v.is_empty() {
                utf8_percent_encode(n, QUERY).to_string()
            } else {
                format!(
                    "{}={}",
                    utf8_percent_encode(n, QUERY),
                    utf8_percent_encode(v, QUERY)
                )
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn send(addr: SocketAddr, r: Request) -> Resp {
    try_send(addr, r).await.unwrap()
}

/// Signs and sends; a closed connection is an `Err`.
pub async fn try_send(addr: SocketAddr, r: Request) -> Result<Resp, String> {
    let creds = Credentials::new(AK, SK);
    let signer = Signer::new();
    let query_refs: Vec<(&str, &str)> = r
        .query
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut headers = r.headers.clone();
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let key = (!r.key.is_empty()).then_some(r.key.as_str());
    let signable = SignableRequest::new(r.method, r.bucket.as_deref(), key)
        .with_query(&query_refs)
        .with_headers(&header_refs);
    let now = SystemTime::now();
    let mut query = encode_query(&r.query);
    let mut add_headers: Vec<(String, String)> = Vec::new();
    match &r.sign {
        Sign::None => {}
        Sign::V4 | Sign::V4At(_) | Sign::V4Secret(_) | Sign::V4Ak(_) => {
            let time = match &r.sign {
                Sign::V4At(t) => *t,
                _ => now,
            };
            let creds = match &r.sign {
                Sign::V4Secret(secret) => Credentials::new(AK, *secret),
                Sign::V4Ak(ak) => Credentials::new(*ak, SK),
                _ => creds.clone(),
            };
            let signed = signer
                .sign_v4_header(&signable, &creds, &V4Params::new(REGION, time))
                .unwrap();
            add_headers = signed.headers;
        }
        Sign::V1 => {
            let signed = signer.sign_v1_header(&signable, &creds, now, &[]).unwrap();
            add_headers = signed.headers;
        }
        Sign::V1Extra(extra) => {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let signed = signer
                .sign_v1_header(&signable, &creds, now, &extra)
                .unwrap();
            add_headers = signed.headers;
        }
        Sign::V4Creds(creds) => {
            let signed = signer
                .sign_v4_header(&signable, creds, &V4Params::new(REGION, now))
                .unwrap();
            add_headers = signed.headers;
        }
        Sign::PresignV4 { time, expires } => {
            let signed = signer
                .presign_v4(&signable, &creds, &V4Params::new(REGION, *time), *expires)
                .unwrap();
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&signed.to_query_string());
        }
        Sign::PresignV1 { at } => {
            let signed = signer.presign_v1(&signable, &creds, *at, &[]).unwrap();
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&signed.to_query_string());
        }
    }
    for (name, value) in add_headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    let path = r.raw_path.clone().unwrap_or_else(|| match &r.bucket {
        Some(bucket) => format!("/{bucket}/{}", utf8_percent_encode(&r.key, PATH)),
        None => "/".to_owned(),
    });
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    try_send_raw(addr, r.method, &uri, &headers, r.body, r.host.as_deref()).await
}

pub async fn send_raw(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    host: Option<&str>,
) -> Resp {
    try_send_raw(addr, method, uri, headers, body, host)
        .await
        .unwrap()
}

/// Like [`send_raw`], but a closed connection is an `Err` instead of a panic.
pub async fn try_send_raw(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    host: Option<&str>,
) -> Result<Resp, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", host.map_or_else(|| addr.to_string(), str::to_owned));
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder.body(Full::new(Bytes::from(body))).unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub fn crc64(data: &[u8]) -> u64 {
    oss_model::crc64::crc64(data)
}

pub fn md5_b64(data: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

pub fn complete_body(parts: &[(u32, &str)]) -> String {
    let mut s = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        s.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}

pub async fn initiate(addr: SocketAddr, key: &str) -> String {
    let r = req("POST", key).q("uploads", "").send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.elem("UploadId").unwrap()
}

pub async fn upload_part(addr: SocketAddr, key: &str, id: &str, n: u32, body: &[u8]) -> String {
    let r = req("PUT", key)
        .q("partNumber", &n.to_string())
        .q("uploadId", id)
        .body(body.to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("etag").unwrap().to_owned()
}
