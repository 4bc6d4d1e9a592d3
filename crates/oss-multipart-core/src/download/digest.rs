//! The whole-object MD5 check, for objects that have a `Content-MD5` but no CRC-64.
//!
//! A CRC-64 combines from per-range CRCs, an MD5 does not: it needs every byte in order. So
//! once every range is complete the machine asks the driver for the MD5 of its local copy
//! ([`DownloadOp::Md5`]) and completes only if it matches. Objects with a CRC-64 are checked by
//! the CRC alone (it already covers every byte); objects with neither are checked by size.

use std::time::Instant;

use super::{Download, DownloadError, DownloadOp, DownloadOpKind, Job, Phase};
use crate::request::RequestId;

impl Download {
    /// Whether this download ends with an MD5 check of the local copy ([`DownloadOp::Md5`]):
    /// known once HEAD answered. A driver that streams bytes away (a writer) computes the MD5
    /// as it writes them when this is true, because it cannot read them back.
    pub fn checks_md5(&self) -> bool {
        let Some(object) = &self.object else {
            return false;
        };
        let whole = self.span.start == 0 && self.span.end == object.size;
        whole && object.crc64.is_none() && object.content_md5.is_some()
    }

    /// The answer to a [`DownloadOp::Md5`]: the MD5 (base64, as in `Content-MD5`) of the local
    /// copy, or `None` when it could not be read (the download then fails with
    /// [`DownloadError::LocalRead`]). A mismatch drops everything and starts again within the
    /// retry budget, as a CRC-64 mismatch does.
    pub fn handle_md5(&mut self, id: RequestId, now: Instant, md5: Option<&str>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(&id) else {
            return;
        };
        if flight.job == Job::Md5 {
            self.md5_checked(md5);
        }
        self.pump();
    }

    /// Starts the MD5 check if this download needs one and has not passed it yet; true when
    /// completion must wait for it.
    pub(super) fn start_md5_check(&mut self) -> bool {
        if self.md5_verified || !self.checks_md5() {
            return false;
        }
        self.phase = Phase::Md5;
        let range = self.span.clone();
        self.issue(
            Job::Md5,
            DownloadOp::Md5 {
                range: range.clone(),
            },
            range,
        );
        true
    }

    pub(super) fn md5_checked(&mut self, md5: Option<&str>) {
        if self.phase != Phase::Md5 {
            return;
        }
        let expected = self
            .object
            .as_ref()
            .and_then(|o| o.content_md5.clone())
            .unwrap_or_default();
        match md5 {
            Some(got) if got.trim() == expected.trim() => {
                self.md5_verified = true;
                self.phase = Phase::Ranges;
                self.check_complete();
            }
            Some(got) => {
                self.phase = Phase::Ranges;
                self.start_over(DownloadError::Md5Mismatch {
                    expected,
                    received: got.to_owned(),
                });
            }
            None => self.fail(DownloadError::LocalRead {
                op: DownloadOpKind::Md5,
            }),
        }
    }
}
