//! Request bodies: empty, in memory, a caller's chunk list or stream, or a file range; optionally hashed and
//! rate limited on the way out.
//!
//! A body is consumed by one send. Bodies are replayable by construction rather than by rewinding: to retry,
//! the caller builds a new body from the same source (a `Bytes` clone, a `FileRange` clone), which also gives
//! a fresh [`DigestHandle`].

mod digest;
mod file;
mod rate;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::Stream;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

pub use digest::{BodyDigest, DigestHandle, Digests};
pub use file::{DEFAULT_CHUNK_SIZE, FileRange};
pub use rate::RateLimiter;

use crate::error::{Kind, TransportError};
use digest::{DigestSink, DigestState};
use file::FileReader;

type BoxStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// The body of a request sent by [`Client`](crate::Client).
///
/// Implements [`http_body::Body`] with `Bytes` frames. Sized bodies (everything but a stream of unknown
/// length) are sent with `Content-Length`; the others with chunked transfer encoding.
pub struct RequestBody {
    source: Source,
    digest: Option<(DigestSink, Option<DigestState>)>,
    limiter: Option<RateLimiter>,
    /// A chunk already produced, held back by the rate limiter.
    delayed: Option<(Bytes, Pin<Box<Sleep>>)>,
    finished: bool,
}

enum Source {
    Empty,
    Bytes(Option<Bytes>),
    Chunks {
        chunks: VecDeque<Bytes>,
        remaining: u64,
    },
    Stream {
        stream: BoxStream,
        expected: Option<u64>,
        seen: u64,
    },
    File(Box<FileReader>),
}

impl RequestBody {
    fn new(source: Source) -> Self {
        Self {
            source,
            digest: None,
            limiter: None,
            delayed: None,
            finished: false,
        }
    }

    /// No body (`Content-Length: 0` where a length is sent at all).
    pub fn empty() -> Self {
        Self::new(Source::Empty)
    }

    /// One in-memory buffer. `Bytes` clones are cheap, so keep a clone to retry.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::empty()
        } else {
            Self::new(Source::Bytes(Some(bytes)))
        }
    }

    /// A list of in-memory chunks sent back to back with their total as `Content-Length`: for a part the
    /// caller assembled from several reads (stdin or stream uploads) without concatenating them.
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let chunks: VecDeque<Bytes> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self::new(Source::Chunks { chunks, remaining })
    }

    /// A caller's stream of chunks. With `len`, the body is sent with that `Content-Length` and fails
    /// ([`TransportError::is_body`]) if the stream yields a different number of bytes; without, it is sent
    /// chunked. A stream cannot be replayed: to retry, the caller must be able to produce it again.
    pub fn from_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self::new(Source::Stream {
            stream: Box::pin(stream),
            expected: len,
            seen: 0,
        })
    }

    /// A byte range of a file, read with positional reads in [`FileRange::chunk_size`] chunks; never
    /// buffered whole. Chunks the page cache holds are read where the body is polled (Linux), others on
    /// tokio's blocking pool, one read ahead. Must be polled inside a tokio runtime.
    pub fn file_range(range: FileRange) -> Self {
        if range.is_empty() {
            Self::empty()
        } else {
            Self::new(Source::File(Box::new(FileReader::new(range))))
        }
    }

    /// Compute checksums of the bytes as they are produced. The returned handle yields them once the body has
    /// produced its last byte. For file ranges the hashing runs next to the read (MD5, which is slow, always
    /// on the blocking pool).
    pub fn digested(mut self, which: Digests) -> (Self, DigestHandle) {
        let (sink, handle) = DigestSink::new();
        let state = DigestState::new(which);
        let state = match &mut self.source {
            Source::File(reader) => {
                reader.set_digest(state);
                None
            }
            _ => Some(state),
        };
        self.digest = Some((sink, state));
        let finished_empty = self.remaining() == Some(0);
        if finished_empty {
            // Nothing will ever be polled out of an empty body: publish the empty digest now.
            self.finish();
        }
        (self, handle)
    }

    /// Pace this body with a limiter (typically shared by every body of one upload).
    pub fn rate_limited(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The exact length if known (everything but a stream without a declared length).
    pub fn len(&self) -> Option<u64> {
        self.remaining()
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.remaining() == Some(0)
    }

    fn remaining(&self) -> Option<u64> {
        let delayed = self.delayed.as_ref().map_or(0, |(c, _)| c.len() as u64);
        let rest = match &self.source {
            _ if self.finished => Some(0),
            Source::Empty => Some(0),
            Source::Bytes(b) => Some(b.as_ref().map_or(0, |b| b.len() as u64)),
            Source::Chunks { remaining, .. } => Some(*remaining),
            Source::Stream { expected, seen, .. } => expected.map(|e| e.saturating_sub(*seen)),
            Source::File(r) => Some(r.remaining()),
        };
        rest.map(|r| r + delayed)
    }

    fn finish(&mut self) {
        if self.finished && self.digest.is_none() {
            return;
        }
        self.finished = true;
        if let Some((sink, state)) = self.digest.take() {
            let state = match (&mut self.source, state) {
                (_, Some(s)) => Some(s),
                (Source::File(reader), None) => reader.take_digest(),
                (_, None) => None,
            };
            if let Some(state) = state {
                sink.publish(state);
            }
        }
    }

    fn fail(
        &mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TransportError {
        // A failed body never publishes a digest: the handle keeps answering `None`.
        self.digest = None;
        self.finished = true;
        TransportError::new(Kind::Body).with_source(source)
    }
}

impl Source {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        match self {
            Self::Empty => Poll::Ready(None),
            Self::Bytes(b) => Poll::Ready(b.take().map(Ok)),
            Self::Chunks { chunks, remaining } => {
                let next = chunks.pop_front();
                if let Some(c) = &next {
                    *remaining -= c.len() as u64;
                }
                Poll::Ready(next.map(Ok))
            }
            Self::Stream {
                stream,
                expected,
                seen,
            } => loop {
                match ready!(stream.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) if chunk.is_empty() => continue,
                    Some(Ok(chunk)) => {
                        *seen += chunk.len() as u64;
                        if expected.is_some_and(|e| *seen > e) {
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "stream yielded more bytes than its declared length",
                            ))));
                        }
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None if expected.is_some_and(|e| *seen < e) => {
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "stream ended before its declared length",
                        ))));
                    }
                    None => return Poll::Ready(None),
                }
            },
            Self::File(reader) => reader.poll_chunk(cx),
        }
    }

    fn is_end(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Bytes(b) => b.is_none(),
            Self::Chunks { chunks, .. } => chunks.is_empty(),
            Self::Stream { expected, seen, .. } => expected.is_some_and(|e| *seen >= e),
            Self::File(reader) => reader.remaining() == 0,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let this = &mut *self;
        if let Some((_, sleep)) = &mut this.delayed {
            ready!(sleep.as_mut().poll(cx));
            return Poll::Ready(this.delayed.take().map(|(chunk, _)| Ok(Frame::data(chunk))));
        }
        if this.finished {
            return Poll::Ready(None);
        }
        let chunk = match ready!(this.source.poll_chunk(cx)) {
            None => {
                this.finish();
                return Poll::Ready(None);
            }
            Some(Err(e)) => return Poll::Ready(Some(Err(this.fail(e)))),
            Some(Ok(chunk)) => chunk,
        };
        if let Some((sink, state)) = &mut this.digest {
            if let Some(state) = state {
                state.update(&chunk);
            }
            sink.produced(chunk.len());
        }
        if this.source.is_end() {
            this.finish();
        }
        if let Some(limiter) = &this.limiter {
            let now = Instant::now();
            let at = limiter.reserve(chunk.len(), now);
            if at > now {
                let mut sleep = Box::pin(tokio::time::sleep_until(at));
                if sleep.as_mut().poll(cx).is_pending() {
                    this.delayed = Some((chunk, sleep));
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.delayed.is_none() && (self.finished || self.source.is_end())
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.source {
            Source::Empty => "empty",
            Source::Bytes(_) => "bytes",
            Source::Chunks { .. } => "chunks",
            Source::Stream { .. } => "stream",
            Source::File(_) => "file range",
        };
        f.debug_struct("RequestBody")
            .field("kind", &kind)
            .field("remaining", &self.remaining())
            .field("digested", &self.digest.is_some())
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for RequestBody {
    fn from(b: Bytes) -> Self {
        Self::from_bytes(b)
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(v: Vec<u8>) -> Self {
        Self::from_bytes(v)
    }
}

impl From<String> for RequestBody {
    fn from(s: String) -> Self {
        Self::from_bytes(s)
    }
}

impl From<&'static [u8]> for RequestBody {
    fn from(s: &'static [u8]) -> Self {
        Self::from_bytes(s)
    }
}

impl From<&'static str> for RequestBody {
    fn from(s: &'static str) -> Self {
        Self::from_bytes(s)
    }
}

impl From<FileRange> for RequestBody {
    fn from(r: FileRange) -> Self {
        Self::file_range(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn chunks_digest_matches_one_shot() {
        let (body, handle) = RequestBody::from_chunks([
            Bytes::from_static(b"1234"),
            Bytes::new(),
            Bytes::from_static(b"56789"),
        ])
        .digested(Digests::Crc64);
        assert_eq!(body.len(), Some(9));
        assert!(handle.result().is_none());
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"123456789");
        assert_eq!(
            handle.result().and_then(|d| d.crc64()),
            Some(0x995D_C9BB_DF19_39FA)
        );
        assert_eq!(handle.bytes_produced(), 9);
    }

    #[tokio::test]
    async fn empty_body_publishes_empty_digest() {
        let (body, handle) = RequestBody::empty().digested(Digests::Crc64);
        assert!(body.is_end_stream());
        assert_eq!(handle.result().map(|d| d.len()), Some(0));
        assert_eq!(
            handle.result().and_then(|d| d.crc64()),
            Some(oss_crc64::crc64(b""))
        );
    }

    #[tokio::test]
    async fn stream_length_mismatch_fails_as_body_error() {
        let s = futures::stream::iter([Ok(Bytes::from_static(b"abc"))]);
        let (body, handle) = RequestBody::from_stream(s, Some(5)).digested(Digests::Crc64);
        let err = body.collect().await.unwrap_err();
        assert!(err.is_body());
        assert!(handle.result().is_none());

        let s = futures::stream::iter([Ok(Bytes::from_static(b"abcdef"))]);
        let err = RequestBody::from_stream(s, Some(5))
            .collect()
            .await
            .unwrap_err();
        assert!(err.is_body());
    }

    #[tokio::test]
    async fn unsized_stream_has_no_length() {
        let s =
            futures::stream::iter([Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"c"))]);
        let body = RequestBody::from_stream(s, None);
        assert_eq!(body.len(), None);
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"abc");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_paces_chunks() {
        let limiter = RateLimiter::with_burst(1000, std::time::Duration::ZERO);
        let body =
            RequestBody::from_chunks([Bytes::from(vec![0u8; 500]), Bytes::from(vec![0u8; 500])])
                .rate_limited(limiter);
        let t0 = Instant::now();
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(got.len(), 1000);
        assert_eq!(Instant::now() - t0, std::time::Duration::from_secs(1));
    }
}
