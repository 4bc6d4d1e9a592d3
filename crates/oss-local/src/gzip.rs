//! HTTP compression of GetObject answers, as OSS does it: with `Accept-Encoding: gzip`, a whole
//! (not ranged) object of at least 1 KiB whose Content-Type is textual is sent gzip-compressed,
//! chunked (no Content-Length), with `Content-Encoding: gzip`. ETag and `x-oss-hash-crc64ecma`
//! still describe the stored bytes, which the client gets back after decoding.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};

use crate::body::RespBody;

/// Smallest object OSS compresses.
const MIN_SIZE: u64 = 1024;

/// Whether an answer with this content type and size, to a request with this
/// `Accept-Encoding`, is compressed.
pub(crate) fn wanted(accept_encoding: Option<&str>, content_type: &str, size: u64) -> bool {
    let accepts = accept_encoding.is_some_and(|value| {
        value
            .split(',')
            .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"))
    });
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let textual = media.starts_with("text/")
        || matches!(
            media,
            "application/json"
                | "application/javascript"
                | "application/x-javascript"
                | "application/xml"
        );
    accepts && textual && size >= MIN_SIZE
}

/// `body`, gzip-compressed as it streams.
pub(crate) fn compress(body: RespBody) -> RespBody {
    GzipBody {
        inner: body,
        encoder: Some(GzEncoder::new(Vec::new(), Compression::fast())),
    }
    .boxed()
}

struct GzipBody {
    inner: RespBody,
    /// `None` once the trailer has been sent.
    encoder: Option<GzEncoder<Vec<u8>>>,
}

impl Body for GzipBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame,
            };
            match frame {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    encoder.write_all(&data)?;
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    let rest = this.encoder.take().map(GzEncoder::finish).transpose()?;
                    return Poll::Ready(
                        rest.filter(|r| !r.is_empty())
                            .map(|r| Ok(Frame::data(Bytes::from(r)))),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_textual_whole_objects_of_a_kilobyte_or_more() {
        assert!(wanted(Some("gzip, deflate"), "text/plain", 1024));
        assert!(wanted(
            Some("br;q=1, gzip;q=0.5"),
            "application/json; charset=utf-8",
            5000
        ));
        assert!(!wanted(Some("gzip"), "text/plain", 1023));
        assert!(!wanted(Some("gzip"), "image/png", 5000));
        assert!(!wanted(Some("identity"), "text/plain", 5000));
        assert!(!wanted(None, "text/plain", 5000));
    }

    #[tokio::test]
    async fn the_stream_decodes_to_the_original_bytes() {
        let original: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Result<Frame<Bytes>, io::Error>> = original
            .chunks(7000)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = http_body_util::StreamBody::new(futures::stream::iter(chunks)).boxed();
        let compressed = compress(body).collect().await.unwrap().to_bytes();
        assert!(compressed.len() < original.len() / 2);
        let mut decoded = Vec::new();
        io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&compressed[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, original);
    }
}
