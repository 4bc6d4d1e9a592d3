//! Completing: Complete's answer, its confirmation by HeadObject when that answer was lost, and
//! the final CRC check.

use super::*;

impl Upload {
    pub(super) fn combined(&self) -> (u64, u64) {
        self.parts.iter().fold((0, 0), |(crc, size), p| {
            (crc64_combine(crc, p.crc64, p.range.len), size + p.range.len)
        })
    }

    pub(super) fn on_complete_ok(&mut self, etag: String, reported: Option<u64>) {
        let (crc, size) = self.combined();
        match reported {
            Some(reported) if reported != crc => {
                self.upload_id_consumed();
                self.fail(UploadError::ObjectCrcMismatch {
                    expected: crc,
                    reported,
                });
            }
            _ => self.completed(etag, crc, size, false),
        }
    }

    /// HeadObject's answer while confirming a Complete whose outcome was lost or failed.
    pub(super) fn on_confirm_head(
        &mut self,
        head: Result<(u64, Option<u64>, String), UploadError>,
    ) {
        let Phase::ConfirmingComplete { upload_gone } = self.phase else {
            return;
        };
        let (crc, size) = self.combined();
        let reason = match head {
            Ok((len, Some(got), etag)) if len == size && got == crc => {
                self.completed(etag, crc, size, true);
                return;
            }
            Ok(_) => UploadError::CompletionUnconfirmed,
            Err(err)
                if err
                    .service_error()
                    .is_some_and(|e| e.status() == StatusCode::NOT_FOUND) =>
            {
                if upload_gone {
                    UploadError::CompletionUnconfirmed
                } else {
                    err
                }
            }
            Err(err) => return self.on_error(Job::Head, err),
        };
        // The object is not (yet) ours: try Complete again after a backoff.
        self.phase = Phase::Completing { upload_gone };
        let tries = self.attempts.complete;
        let attempt = tries.count();
        match self.scheduler.next_delay(tries, self.now) {
            Some(delay) => {
                self.events.push_back(Event::Retried {
                    op: OpKind::Complete,
                    part_number: None,
                    attempt,
                    delay,
                    rewound: 0,
                    reason,
                });
                self.scheduler.schedule(self.now + delay, Job::Complete);
            }
            None => {
                if upload_gone {
                    self.upload_id_consumed();
                    self.fail(UploadError::CompletionUnconfirmed);
                } else {
                    self.fail(UploadError::RetriesExhausted {
                        last: Box::new(reason),
                    });
                }
            }
        }
    }

    /// Asks HeadObject whether a Complete took effect; `no_such_upload` when Complete was
    /// answered NoSuchUpload (the id stays gone for the rest of the upload).
    pub(super) fn confirm_complete(&mut self, no_such_upload: bool) {
        let upload_gone = no_such_upload || self.upload_gone();
        self.phase = Phase::ConfirmingComplete { upload_gone };
        self.attempts.head = Tries::default();
        self.ready_single = Some(Job::Head);
    }

    /// Whether OSS no longer knows the upload id (see [`Phase::ConfirmingComplete`]).
    pub(super) fn upload_gone(&self) -> bool {
        matches!(
            self.phase,
            Phase::Completing { upload_gone: true }
                | Phase::ConfirmingComplete { upload_gone: true }
        )
    }

    /// After Complete took effect (or the id is gone), there is nothing left to abort or resume.
    /// Called while completing, just before the failure it explains.
    pub(super) fn upload_id_consumed(&mut self) {
        self.policy = FailurePolicy::Keep;
        if let Phase::Completing { upload_gone } | Phase::ConfirmingComplete { upload_gone } =
            &mut self.phase
        {
            *upload_gone = true;
        }
    }

    pub(super) fn completed(
        &mut self,
        etag: String,
        crc64: u64,
        size: u64,
        confirmed_by_head: bool,
    ) {
        let total = self.total().unwrap_or(size);
        self.add_progress(total.saturating_sub(self.confirmed));
        let upload_id = self.upload_id.clone();
        self.finish(Event::Completed(Completed {
            etag,
            crc64,
            size,
            upload_id,
            confirmed_by_head,
        }));
    }
}
