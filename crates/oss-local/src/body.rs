//! Request and response bodies: bounded XML reads, streamed part/object writes with checksums,
//! streamed file reads, and the bandwidth throttle.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::config::EtagMode;
use crate::error::OssError;
use crate::store::StagedBody;

/// The response body type of every handler.
pub(crate) type RespBody = BoxBody<Bytes, io::Error>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> RespBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub(crate) fn empty() -> RespBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Sleeps so that `bytes` more bytes keep the running rate under `bandwidth` bytes/s.
pub(crate) struct Throttle {
    bandwidth: Option<u64>,
    start: tokio::time::Instant,
    sent: u64,
}

impl Throttle {
    pub(crate) fn new(bandwidth: Option<u64>) -> Self {
        Self {
            bandwidth,
            start: tokio::time::Instant::now(),
            sent: 0,
        }
    }

    pub(crate) async fn account(&mut self, bytes: usize) {
        let Some(rate) = self.bandwidth.filter(|r| *r > 0) else {
            return;
        };
        self.sent = self.sent.saturating_add(bytes as u64);
        let due = Duration::from_secs_f64(self.sent as f64 / rate as f64);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}

/// Reads a small (XML) body, refusing more than `limit` bytes.
pub(crate) async fn read_limited(body: Incoming, limit: usize) -> Result<Bytes, OssError> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(OssError::invalid_argument(
                    format!("The request body exceeds the maximum of {limit} bytes."),
                    "Content-Length",
                    "",
                ))
            } else {
                Err(OssError::internal("failed to read the request body"))
            }
        }
    }
}

/// Why streaming a body in stopped.
pub(crate) enum StageError {
    /// Answer with this OSS error.
    Oss(OssError),
    /// The client went away (or fault injection cut it): close the connection.
    Gone,
}

impl From<OssError> for StageError {
    fn from(err: OssError) -> Self {
        Self::Oss(err)
    }
}

impl From<io::Error> for StageError {
    fn from(err: io::Error) -> Self {
        Self::Oss(err.into())
    }
}

/// Parameters of [`stage`].
pub(crate) struct StageOptions {
    /// Where to write; `None` discards the bytes after checksumming.
    pub(crate) temp: Option<PathBuf>,
    pub(crate) etag: EtagMode,
    /// Decoded Content-MD5 to check.
    pub(crate) content_md5: Option<[u8; 16]>,
    pub(crate) fsync: bool,
    pub(crate) bandwidth: Option<u64>,
    pub(crate) max_body: u64,
    /// Close the connection after this many bytes (fault injection).
    pub(crate) cut_after: Option<u64>,
}

/// Streams a request body to disk (or nowhere), computing CRC-64 and the ETag on the way.
pub(crate) async fn stage(
    mut body: Incoming,
    opts: StageOptions,
) -> Result<StagedBody, StageError> {
    // Buffered so that small body frames do not each cost a blocking-pool round trip.
    let mut file = match &opts.temp {
        Some(path) => Some(tokio::io::BufWriter::with_capacity(
            WRITE_BUFFER,
            tokio::fs::File::create(path).await?,
        )),
        None => None,
    };
    let result = stage_into(&mut body, &mut file, &opts).await;
    if result.is_err() {
        drop(file);
        if let Some(path) = &opts.temp {
            let _ = tokio::fs::remove_file(path).await;
        }
    }
    result
}

const WRITE_BUFFER: usize = 1024 * 1024;

async fn stage_into(
    body: &mut Incoming,
    file: &mut Option<tokio::io::BufWriter<tokio::fs::File>>,
    opts: &StageOptions,
) -> Result<StagedBody, StageError> {
    let want_md5 = opts.etag == EtagMode::Md5 || opts.content_md5.is_some();
    let mut md5 = want_md5.then(Md5::new);
    let mut crc = oss_model::crc64::Crc64::new();
    let mut size: u64 = 0;
    let mut throttle = Throttle::new(opts.bandwidth);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StageError::Gone)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size = size.saturating_add(data.len() as u64);
        if size > opts.max_body {
            return Err(OssError::entity_too_large(opts.max_body).into());
        }
        if opts.cut_after.is_some_and(|cut| size >= cut) {
            return Err(StageError::Gone);
        }
        crc.update(&data);
        if let Some(md5) = md5.as_mut() {
            md5.update(&data);
        }
        if let Some(file) = file.as_mut() {
            file.write_all(&data).await?;
        }
        throttle.account(data.len()).await;
    }
    if let Some(file) = file.as_mut() {
        file.flush().await?;
        if opts.fsync {
            file.get_ref().sync_all().await?;
        }
    }
    let crc64 = crc.finish();
    let md5 = md5.map(|m| <[u8; 16]>::from(m.finalize()));
    if let (Some(expected), Some(actual)) = (opts.content_md5, md5)
        && expected != actual
    {
        return Err(OssError::invalid_digest(false).into());
    }
    let etag = match (opts.etag, md5) {
        (EtagMode::Md5, Some(md5)) => quoted_hex(&md5),
        _ => fast_etag(crc64, size),
    };
    Ok(StagedBody {
        temp: opts.temp.clone(),
        size,
        etag,
        crc64,
    })
}

/// `"` + upper hex + `"`.
pub(crate) fn quoted_hex(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode_upper(bytes))
}

/// The `--etag fast` tag: CRC-64 then length, 16 upper-hex digits each.
pub(crate) fn fast_etag(crc64: u64, size: u64) -> String {
    format!("\"{crc64:016X}{size:016X}\"")
}

/// A byte range of one object segment to stream.
pub(crate) struct Piece {
    /// `None` = discarded body, streamed as zeros.
    pub(crate) path: Option<PathBuf>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

const CHUNK: usize = 256 * 1024;

/// Streams pieces of files in order, throttled, never holding more than one chunk.
pub(crate) fn stream_pieces(pieces: Vec<Piece>, bandwidth: Option<u64>) -> RespBody {
    struct St {
        pieces: std::vec::IntoIter<Piece>,
        current: Option<(Option<tokio::fs::File>, u64)>,
        throttle: Throttle,
    }
    let state = St {
        pieces: pieces.into_iter(),
        current: None,
        throttle: Throttle::new(bandwidth),
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.current.as_ref().is_none_or(|(_, left)| *left == 0) {
                let piece = st.pieces.next()?;
                let file = match &piece.path {
                    Some(path) => {
                        let opened = async {
                            let mut f = tokio::fs::File::open(path).await?;
                            f.seek(io::SeekFrom::Start(piece.offset)).await?;
                            Ok::<_, io::Error>(f)
                        }
                        .await;
                        match opened {
                            Ok(f) => Some(f),
                            Err(e) => return Some((Err(e), st)),
                        }
                    }
                    None => None,
                };
                st.current = Some((file, piece.len));
                continue;
            }
            let (file, left) = st.current.as_mut()?;
            let want = usize::try_from((*left).min(CHUNK as u64)).unwrap_or(CHUNK);
            let mut buf = vec![0u8; want];
            if let Some(file) = file.as_mut()
                && let Err(e) = file.read_exact(&mut buf).await
            {
                return Some((Err(e), st));
            }
            *left -= want as u64;
            st.throttle.account(want).await;
            return Some((Ok(Frame::data(Bytes::from(buf))), st));
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}
