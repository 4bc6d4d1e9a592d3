//! A scripted fake OSS endpoint for malformed-answer tests: it answers Initiate, UploadPart,
//! Complete and HeadObject from a [`Script`] (good answers by default, or the bad one under test), and every
//! other request plainly. One request per connection (`connection: close`).
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What to answer to one operation.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The correct answer.
    Good,
    /// `status` with this body (XML content type).
    Status(u16, String),
    /// These exact bytes, then close.
    Raw(String),
    /// 200 with a 100 MiB body.
    Huge,
    /// UploadPart: 200 with a CRC-64 header that does not match the body.
    PartWrongCrc,
    /// Complete: the right XML with a wrong object CRC-64.
    CompleteWrongCrc,
}

impl Reply {
    pub fn ok_body(body: &str) -> Self {
        Self::Status(200, body.to_owned())
    }

    pub fn status(code: u16, body: &str) -> Self {
        Self::Status(code, body.to_owned())
    }
}

/// Answers per operation.
#[derive(Clone, Debug)]
pub struct Script {
    pub initiate: Reply,
    pub part: Reply,
    pub complete: Reply,
    /// HeadObject (`Good`: 404, as for an object the fake does not keep).
    pub head: Reply,
}

impl Script {
    pub fn good() -> Self {
        Self {
            initiate: Reply::Good,
            part: Reply::Good,
            complete: Reply::Good,
            head: Reply::Good,
        }
    }
}

pub struct Fake {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(script: Script) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let parts: Arc<Mutex<BTreeMap<u32, Vec<u8>>>> = Arc::default();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (script, parts) = (script.clone(), parts.clone());
            tokio::spawn(async move {
                let _ = serve(stream, script, parts).await;
            });
        }
    });
    Fake { addr, task }
}

fn crc(b: &[u8]) -> u64 {
    oss_model::crc64::crc64(b)
}

async fn serve(
    mut s: tokio::net::TcpStream,
    script: Script,
    parts: Arc<Mutex<BTreeMap<u32, Vec<u8>>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..].to_vec();
    let line = head.lines().next().unwrap_or("").to_owned();
    let mut words = line.split(' ');
    let method = words.next().unwrap_or("").to_owned();
    let target = words.next().unwrap_or("").to_owned();
    let query = target
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    let q = |name: &str| {
        query.split('&').find_map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (n == name).then(|| v.to_owned())
        })
    };
    let (reply, op) = if method == "POST" && q("uploads").is_some() {
        (script.initiate.clone(), "initiate")
    } else if method == "PUT" && q("partNumber").is_some() {
        (script.part.clone(), "part")
    } else if method == "POST" && q("uploadId").is_some() {
        (script.complete.clone(), "complete")
    } else if method == "HEAD" {
        (script.head.clone(), "head")
    } else {
        (Reply::Good, "other")
    };
    let out: Vec<u8> = match (reply, op) {
        (Reply::Status(code, text), _) => response(code, &[("content-type", "application/xml".into())], text.as_bytes()),
        (Reply::Raw(raw), _) => raw.into_bytes(),
        (Reply::Huge, _) => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 104857600\r\nconnection: close\r\n\r\n";
            s.write_all(head.as_bytes()).await?;
            let zeros = vec![b'<'; 1 << 20];
            for _ in 0..100 {
                s.write_all(&zeros).await?;
            }
            return Ok(());
        }
        (Reply::PartWrongCrc, _) => response(200, &[("etag", "\"0123456789ABCDEF0123456789ABCDEF\"".into()), ("x-oss-hash-crc64ecma", (crc(&body) ^ 1).to_string())], b""),
        (Reply::Good, "initiate") => response(
            200,
            &[("content-type", "application/xml".into())],
            b"<InitiateMultipartUploadResult><Bucket>chaos-bucket</Bucket><Key>fake/obj</Key><UploadId>FAKEUPLOADID</UploadId></InitiateMultipartUploadResult>",
        ),
        (Reply::Good, "part") => {
            let n: u32 = q("partNumber").and_then(|v| v.parse().ok()).unwrap_or(0);
            let c = crc(&body);
            parts.lock().unwrap().insert(n, body);
            response(200, &[("etag", format!("\"{c:032X}\"")), ("x-oss-hash-crc64ecma", c.to_string())], b"")
        }
        (reply @ (Reply::Good | Reply::CompleteWrongCrc), "complete") => {
            let all: Vec<u8> = parts.lock().unwrap().values().flatten().copied().collect();
            let c = if matches!(reply, Reply::CompleteWrongCrc) { crc(&all) ^ 0xFF } else { crc(&all) };
            response(
                200,
                &[("content-type", "application/xml".into()), ("x-oss-hash-crc64ecma", c.to_string())],
                b"<CompleteMultipartUploadResult><Bucket>chaos-bucket</Bucket><Key>fake/obj</Key><ETag>\"ABC-2\"</ETag></CompleteMultipartUploadResult>",
            )
        }
        (_, _) if method == "DELETE" => response(204, &[], b""),
        (_, _) if method == "HEAD" => response(404, &[], b""),
        (_, _) => response(
            404,
            &[("content-type", "application/xml".into())],
            b"<Error><Code>NoSuchKey</Code><Message>fake</Message><RequestId>1</RequestId></Error>",
        ),
    };
    s.write_all(&out).await?;
    s.shutdown().await
}

fn response(code: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} X\r\nx-oss-request-id: FAKE\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
