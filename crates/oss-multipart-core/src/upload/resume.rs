//! Resuming: list the server's parts (all pages), decide which to re-verify locally and which
//! to upload again, and recover when the upload is gone.

use super::*;

impl Upload {
    pub(super) fn on_list(&mut self, marker: u32, page: Result<wire::ListPage, UploadError>) {
        if self.phase != Phase::Listing {
            return;
        }
        let page = match page {
            Ok(page) => page,
            Err(err) if err.is_no_such_upload() => return self.upload_lost(),
            Err(err) => return self.on_error(Job::List(marker), err),
        };
        for p in page.parts {
            if p.part_number > marker {
                self.listed.insert(p.part_number, p);
            }
        }
        if page.truncated {
            if page.next_marker <= marker || page.next_marker >= MAX_PART_COUNT {
                let reason = "ListParts marker does not advance";
                self.on_error(
                    Job::List(marker),
                    UploadError::InvalidResponse {
                        op: OpKind::ListParts,
                        reason,
                    },
                );
                return;
            }
            self.attempts.list = Tries::default();
            self.list_marker = page.next_marker;
            self.ready_single = Some(Job::List(page.next_marker));
        } else {
            self.reconcile();
        }
    }

    /// Decides, part by part, what to re-verify and what to upload again.
    pub(super) fn reconcile(&mut self) {
        let listed = std::mem::take(&mut self.listed);
        let journal = std::mem::take(&mut self.journal);
        for p in &mut self.parts {
            let n = p.range.part_number;
            let candidate = listed.get(&n).and_then(|s| {
                if s.size != p.range.len {
                    return None;
                }
                match journal.get(&n) {
                    Some(j) => {
                        let crc_ok = s.crc64.is_none_or(|c| c == j.crc64);
                        (wire::etag_eq(&j.etag, &s.etag) && crc_ok)
                            .then(|| (s.etag.clone(), j.crc64))
                    }
                    None => s.crc64.map(|c| (s.etag.clone(), c)),
                }
            });
            match candidate {
                Some(expect) => {
                    p.expect = Some(expect);
                    p.state = PartState::Hashing;
                    self.hash_queue.push_back(n);
                }
                None => {
                    p.state = PartState::Pending;
                    self.ready_parts.insert(n);
                }
            }
        }
        self.phase = Phase::Parts;
        self.checkpoint_changed();
        self.after_part_change();
    }

    /// NoSuchUpload while resuming.
    pub(super) fn upload_lost(&mut self) {
        let all_journaled = self
            .plan
            .part_count()
            .is_some_and(|c| self.journal.len() == c as usize);
        if all_journaled && self.phase == Phase::Listing {
            // Maybe it was completed before the crash: check the object first.
            self.phase = Phase::ResumeHead;
            self.ready_single = Some(Job::Head);
            return;
        }
        self.restart();
    }

    pub(super) fn restart(&mut self) {
        self.upload_id = None;
        self.journal.clear();
        self.listed.clear();
        self.hash_queue.clear();
        self.ready_parts.clear();
        for p in &mut self.parts {
            p.state = PartState::Pending;
            p.expect = None;
            p.attempts = Tries::default();
        }
        self.attempts = Attempts::default();
        self.events.push_back(Event::Restarted);
        self.phase = Phase::Initiating;
        self.ready_single = Some(Job::Initiate);
    }
}
