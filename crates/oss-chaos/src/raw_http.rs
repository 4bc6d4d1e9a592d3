//! Arbitrary request bytes into `oss-local`'s request handling, over a loopback socket.
//!
//! `oss-local` exposes no raw-bytes entry point (its handler takes hyper's `Incoming`), so this
//! harness runs a real server in-process and writes the bytes to a TCP connection. It is shared,
//! by `#[path]` inclusion, with the `local_request` fuzz target, so the fuzzer and the stable
//! corpus replay (`tests/local_request.rs`) run exactly the same code. It depends only on
//! `oss-local`, `oss-auth`, `tokio` and std for that reason.
//!
//! Input format: the first byte selects the mode.
//! - even: the remaining bytes are sent verbatim (the HTTP parser, limits, addressing, auth);
//! - odd: the remaining bytes are `METHOD\nKEY\nQUERY\nName: value\n...\n\nBODY`, which the
//!   harness turns into a correctly signed request (V4, or V1 when bit 1 is set) so that the
//!   fuzzer reaches every operation behind authentication.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Access key id of the harness server.
pub const HARNESS_AK: &str = "fuzz-ak";
/// Its secret.
pub const HARNESS_SK: &str = "fuzz-secret";
/// The bucket the harness server creates.
pub const HARNESS_BUCKET: &str = "fuzz-bucket";
const REGION: &str = "cn-hangzhou";
/// Largest response kept (bodies beyond are cut: only the head matters here).
const MAX_RESPONSE: usize = 256 * 1024;

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Panics seen in this process since the first [`Harness::start`] (server tasks included:
/// tokio catches task panics, so the harness counts them through a chained panic hook).
pub fn panics() -> u64 {
    PANICS.load(Ordering::SeqCst)
}

/// A running `oss-local` and a runtime to talk to it.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    server: Option<oss_local::ServerHandle>,
    addr: SocketAddr,
    /// The upload id that `@ID` in signed inputs stands for: the last one any response named
    /// (fuzz inputs cannot guess the server's random ids).
    upload_id: std::sync::Mutex<String>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// Starts a server (temporary data dir, small limits so that limit paths are reachable).
    ///
    /// # Errors
    /// When the runtime or the server cannot start.
    pub fn start() -> io::Result<Self> {
        install_panic_counter();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let mut limits = oss_local::Limits::default();
        limits.max_xml_body = 64 * 1024;
        limits.max_body = 1024 * 1024;
        let config = oss_local::Config::new(HARNESS_AK, HARNESS_SK)
            .with_bucket(HARNESS_BUCKET)
            .with_fsync(false)
            .with_limits(limits);
        let server = rt
            .block_on(oss_local::Server::start(config))
            .map_err(io::Error::other)?;
        let addr = server.addr();
        let harness = Self {
            rt,
            server: Some(server),
            addr,
            upload_id: std::sync::Mutex::new(String::new()),
        };
        harness.run(b"\x01POST\nseed/obj\nuploads\n\n");
        Ok(harness)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs one fuzz input (see the module docs) and returns the raw response bytes (empty when
    /// the server closed the connection without answering).
    pub fn run(&self, input: &[u8]) -> Vec<u8> {
        let Some((&mode, rest)) = input.split_first() else {
            return self.send_raw(b"");
        };
        if mode & 1 == 0 {
            return self.send_raw(rest);
        }
        let id = self.upload_id.lock().map(|g| g.clone()).unwrap_or_default();
        let spec = replace(rest, b"@ID", id.as_bytes());
        let response = match signed_request(&spec, mode & 2 != 0, self.addr) {
            Some(bytes) => self.send_complete(&bytes),
            None => Vec::new(),
        };
        if let Some(new_id) = Reply::parse(&response).elem("UploadId")
            && let Ok(mut g) = self.upload_id.lock()
        {
            *g = new_id;
        }
        response
    }

    /// Writes `bytes` to a fresh connection and reads one response.
    pub fn send_raw(&self, bytes: &[u8]) -> Vec<u8> {
        self.rt.block_on(exchange(self.addr, bytes))
    }

    /// Like [`send_raw`](Self::send_raw), patient: for requests known to be complete.
    pub fn send_complete(&self, bytes: &[u8]) -> Vec<u8> {
        self.rt
            .block_on(exchange_with(self.addr, bytes, Duration::from_secs(2)))
    }

    /// Whether the server still answers a signed request (HEAD of a missing object: 404).
    pub fn healthy(&self) -> bool {
        let probe = b"HEAD\nhealth-probe\n\n\n";
        match signed_request(probe, false, self.addr) {
            Some(req) => status(&self.send_complete(&req)) == Some(404),
            None => false,
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.rt.block_on(server.shutdown());
        }
    }
}

/// The status code of a raw HTTP/1.1 response.
pub fn status(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\r').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split(' ');
    if !words.next()?.starts_with("HTTP/1.") {
        return None;
    }
    words.next()?.parse().ok()
}

fn install_panic_counter() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Writes `bytes` to a fresh connection to `addr` and reads one raw response.
///
/// A complete request is answered at once. An incomplete one (a short body, a head without its
/// blank line) would wait for more bytes: when no answer has started within `first_byte`,
/// the write side is shut down to signal the end of the input. Once an answer has started it
/// is read to its end (never cut by a shutdown: the server would drop it).
pub async fn exchange_with(addr: SocketAddr, bytes: &[u8], first_byte: Duration) -> Vec<u8> {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return Vec::new();
    };
    if stream.write_all(bytes).await.is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    match tokio::time::timeout(first_byte, stream.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => return out,
        Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        Err(_) => {
            let _ = stream.shutdown().await;
        }
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        read_response(&mut stream, &mut out),
    )
    .await;
    out
}

/// [`exchange_with`] as the fuzz target uses it: a 5 ms wait for the first byte.
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    exchange_with(addr, bytes, Duration::from_millis(5)).await
}

/// Reads until one response is complete (by Content-Length or chunked end), EOF or the cap.
async fn read_response(stream: &mut tokio::net::TcpStream, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if response_complete(out) || out.len() >= MAX_RESPONSE {
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn response_complete(bytes: &[u8]) -> bool {
    let Some(head_end) = find(bytes, b"\r\n\r\n").map(|i| i + 4) else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    if head.starts_with("http/1.1 1") {
        // 100 Continue: the real answer follows.
        return false;
    }
    let is_head_reply = status(bytes) == Some(204) || status(bytes) == Some(304);
    for line in head.lines() {
        if let Some(v) = line.strip_prefix("content-length:") {
            return match v.trim().parse::<usize>() {
                Ok(len) => is_head_reply || bytes.len() >= head_end + len,
                Err(_) => false,
            };
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return find(&bytes[head_end..], b"0\r\n\r\n").is_some();
        }
    }
    is_head_reply
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How a request built by [`Spec::to_bytes`] is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No Authorization at all.
    None,
    /// V4 `Authorization` header, signed now.
    V4,
    /// V1 `Authorization` header, signed now.
    V1,
    /// V4 signed at this wall-clock time (clock skew).
    V4At(SystemTime),
}

/// A request to build (and sign) as raw HTTP/1.1 bytes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Method (`GET`, `PUT`, ...).
    pub method: String,
    /// Bucket (path-style); `None` for the service root.
    pub bucket: Option<String>,
    /// Object key; empty for bucket operations.
    pub key: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Extra headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Authentication.
    pub auth: Auth,
    /// Access key id and secret to sign with.
    pub creds: (String, String),
}

impl Spec {
    /// A V4-signed request with the harness credentials on the harness bucket.
    pub fn new(method: &str, key: &str) -> Self {
        Self {
            method: method.to_owned(),
            bucket: Some(HARNESS_BUCKET.to_owned()),
            key: key.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            auth: Auth::V4,
            creds: (HARNESS_AK.to_owned(), HARNESS_SK.to_owned()),
        }
    }

    /// Raw request bytes for the server at `addr` (`None` when signing refuses the input).
    pub fn to_bytes(&self, addr: SocketAddr) -> Option<Vec<u8>> {
        let q: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let h: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let key_ref = (!self.key.is_empty()).then_some(self.key.as_str());
        let signable =
            oss_auth::SignableRequest::new(&self.method, self.bucket.as_deref(), key_ref)
                .with_query(&q)
                .with_headers(&h);
        let creds = oss_auth::Credentials::new(self.creds.0.clone(), self.creds.1.clone());
        let signer = oss_auth::Signer::new();
        let now = SystemTime::now();
        let added = match self.auth {
            Auth::None => Vec::new(),
            Auth::V1 => {
                signer
                    .sign_v1_header(&signable, &creds, now, &[])
                    .ok()?
                    .headers
            }
            Auth::V4 | Auth::V4At(_) => {
                let at = match self.auth {
                    Auth::V4At(t) => t,
                    _ => now,
                };
                signer
                    .sign_v4_header(&signable, &creds, &oss_auth::V4Params::new(REGION, at))
                    .ok()?
                    .headers
            }
        };
        let mut all = self.headers.clone();
        for (n, v) in added {
            all.retain(|(x, _)| !x.eq_ignore_ascii_case(&n));
            all.push((n, v));
        }
        let mut target = match &self.bucket {
            Some(b) => format!("/{b}/{}", encode(&self.key, true)),
            None => "/".to_owned(),
        };
        for (i, (n, v)) in self.query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&encode(n, false));
            if !v.is_empty() {
                target.push('=');
                target.push_str(&encode(v, false));
            }
        }
        let mut out = format!("{} {target} HTTP/1.1\r\nhost: {addr}\r\n", self.method).into_bytes();
        for (n, v) in &all {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        Some(out)
    }
}

/// Builds a signed request from `METHOD\nKEY\nQUERY\nheaders...\n\nBODY`.
fn signed_request(spec: &[u8], v1: bool, addr: SocketAddr) -> Option<Vec<u8>> {
    let (head, body) = match find(spec, b"\n\n") {
        Some(i) => (&spec[..i], &spec[i + 2..]),
        None => (spec, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let method = lines.next().unwrap_or("GET").trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let key = lines.next().unwrap_or("").to_owned();
    let query: Vec<(String, String)> = lines
        .next()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .filter(|(n, v)| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && v.bytes().all(|b| (b' '..0x7f).contains(&b))
                && !matches!(
                    n.as_str(),
                    "host" | "content-length" | "transfer-encoding" | "connection"
                )
        })
        .collect();
    let mut spec = Spec::new(&method, &key);
    spec.query = query;
    spec.headers = headers;
    spec.body = body.to_vec();
    spec.auth = if v1 { Auth::V1 } else { Auth::V4 };
    spec.to_bytes(addr)
}

/// A parsed raw response: status, lower-cased head, body.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// Status code (0 when there was no valid response).
    pub status: u16,
    /// The response head, lower-cased.
    pub head: String,
    /// The body bytes read.
    pub body: Vec<u8>,
}

impl Reply {
    /// Parses raw response bytes.
    pub fn parse(raw: &[u8]) -> Self {
        let status = status(raw).unwrap_or(0);
        let (head, body) = match find(raw, b"\r\n\r\n") {
            Some(i) => (&raw[..i], raw[i + 4..].to_vec()),
            None => (raw, Vec::new()),
        };
        Self {
            status,
            head: String::from_utf8_lossy(head).to_ascii_lowercase(),
            body,
        }
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The text of the first `<name>` element of the body.
    pub fn elem(&self, name: &str) -> Option<String> {
        let text = self.text();
        let open = format!("<{name}>");
        let i = text.find(&open)? + open.len();
        let j = text[i..].find(&format!("</{name}>"))? + i;
        Some(text[i..j].to_owned())
    }
}

/// Sends raw bytes to `addr` on a fresh connection and parses the response (waits up to 2 s
/// for the answer to start before treating the request as incomplete).
pub async fn send(addr: SocketAddr, bytes: &[u8]) -> Reply {
    Reply::parse(&exchange_with(addr, bytes, Duration::from_secs(2)).await)
}

/// Strict percent-encoding (unreserved characters kept; `/` kept in paths).
fn encode(s: &str, path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (path && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
