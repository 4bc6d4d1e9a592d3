//! Parts: answers to the requests that carry source bytes, and the bookkeeping of confirmed
//! parts (progress, checkpoint, moving on to Complete).

use super::*;

impl Upload {
    pub(super) fn on_part_ok(
        &mut self,
        n: u32,
        read: Option<BodyRead>,
        etag: String,
        stored: Option<u64>,
    ) {
        if self.phase != Phase::Parts {
            return;
        }
        let Some(read) = read else {
            self.fail(UploadError::MissingBodyRead { part_number: n });
            return;
        };
        let Some(planned) = self.part_mut(n).map(|p| p.read_len.unwrap_or(p.range.len)) else {
            return;
        };
        if read.len != planned {
            self.fail(UploadError::SourceChanged {
                part_number: n,
                expected: planned,
                read: read.len,
            });
            return;
        }
        if let Some(stored) = stored.filter(|&c| c != read.crc64) {
            let err = UploadError::PartCrcMismatch {
                part_number: n,
                sent: read.crc64,
                stored,
            };
            self.on_error(Job::Part(n), err);
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        p.etag = etag;
        p.crc64 = read.crc64;
        p.resumed = false;
        p.range.len = read.len;
        self.part_done(n);
        self.after_part_change();
    }

    pub(super) fn on_put_ok(&mut self, read: Option<BodyRead>, etag: String, stored: Option<u64>) {
        let Some(read) = read else {
            self.fail(UploadError::MissingBodyRead { part_number: 1 });
            return;
        };
        let size = self.plan.total_size().unwrap_or(0);
        if read.len != size {
            self.fail(UploadError::SourceChanged {
                part_number: 1,
                expected: size,
                read: read.len,
            });
            return;
        }
        if let Some(stored) = stored.filter(|&c| c != read.crc64) {
            // The object now holds damaged bytes; a retried PUT overwrites it.
            let err = UploadError::PartCrcMismatch {
                part_number: 1,
                sent: read.crc64,
                stored,
            };
            self.on_error(Job::Put, err);
            return;
        }
        self.add_progress(size);
        self.finish(Event::Completed(Completed {
            etag,
            crc64: read.crc64,
            size,
            upload_id: None,
            confirmed_by_head: false,
        }));
    }

    pub(super) fn part_mut(&mut self, n: u32) -> Option<&mut Part> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.parts.get_mut(i)
    }

    pub(super) fn part_done(&mut self, n: u32) {
        let Some(p) = self.part_mut(n) else { return };
        if p.state == PartState::Done {
            return;
        }
        p.state = PartState::Done;
        let (len, event) = (
            p.range.len,
            Event::PartDone {
                part_number: n,
                offset: p.range.offset,
                len: p.range.len,
                etag: p.etag.clone(),
                crc64: p.crc64,
                resumed: p.resumed,
            },
        );
        self.done_parts += 1;
        self.events.push_back(event);
        self.add_progress(len);
        self.checkpoint_changed();
    }

    pub(super) fn add_progress(&mut self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let total = self.total();
        let next = self.confirmed.saturating_add(bytes);
        self.confirmed = total.map_or(next, |t| next.min(t));
        self.events.push_back(Event::Progress(Progress {
            confirmed: self.confirmed,
            total,
        }));
    }

    pub(super) fn checkpoint_changed(&mut self) {
        if self.source.is_some() && self.upload_id.is_some() {
            self.events.push_back(Event::CheckpointChanged);
        }
    }

    /// Moves to Complete when every part is done.
    pub(super) fn after_part_change(&mut self) {
        if self.phase != Phase::Parts {
            return;
        }
        let all_known = match self.plan.shape {
            Shape::Stream { .. } => self
                .stream
                .end
                .is_some_and(|(last, _)| self.parts.len() as u32 == last),
            _ => true,
        };
        if all_known && self.done_parts as usize == self.parts.len() && self.in_flight.is_empty() {
            self.phase = Phase::Completing { upload_gone: false };
            self.ready_single = Some(if self.config.check_source {
                Job::CheckSource
            } else {
                Job::Complete
            });
        }
    }
}
