//! Resuming: list the server's parts (all pages), decide which to re-verify locally and which
//! to upload again, and recover when the upload is gone.

use super::*;
use crate::confirm::ExpectedObject;

impl Upload {
    pub(super) fn on_list(&mut self, page: Result<wire::ListPage, UploadError>) {
        let Phase::Listing { marker } = self.phase else {
            return;
        };
        let page = match page {
            Ok(page) => page,
            Err(err) if err.is_no_such_upload() => return self.upload_lost(),
            Err(err) => return self.on_error(Job::List, err),
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
                    Job::List,
                    UploadError::InvalidResponse {
                        op: OpKind::ListParts,
                        reason,
                    },
                );
                return;
            }
            self.attempts.list = Tries::default();
            self.phase = Phase::Listing {
                marker: page.next_marker,
            };
            self.ready_single = Some(Job::List);
        } else {
            self.reconcile();
        }
    }

    /// Decides, part by part, what to re-verify and what to upload again.
    pub(super) fn reconcile(&mut self) {
        if std::mem::take(&mut self.adopt_part_size) {
            self.adopt_server_part_size();
        }
        let listed = std::mem::take(&mut self.listed);
        let journal = std::mem::take(&mut self.journal);
        let copying = self.copy.is_some();
        // Copies: a part OSS lists under the journaled ETag is reused as is (no local bytes
        // to re-hash; every part copy was pinned to the same source ETag).
        let mut reuse = Vec::new();
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
                Some((etag, _)) if copying => {
                    let listed_crc = listed.get(&n).and_then(|s| s.crc64);
                    reuse.push((n, etag, listed_crc));
                }
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
        for (n, etag, crc) in reuse {
            self.reuse_copied_part(n, etag, crc);
        }
        self.checkpoint_changed();
        self.after_part_change();
    }

    /// NoSuchUpload while resuming.
    pub(super) fn upload_lost(&mut self) {
        let all_journaled = self
            .plan
            .part_count()
            .is_some_and(|c| self.journal.len() == c as usize);
        if all_journaled && matches!(self.phase, Phase::Listing { .. }) {
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

    /// HeadObject's answer while resuming an upload OSS no longer knows: if the object is
    /// the journaled parts, the upload was completed before the crash.
    pub(super) fn on_resume_head(&mut self, head: Result<(u64, Option<u64>, String), UploadError>) {
        if self.phase != Phase::ResumeHead {
            return;
        }
        // Compare with the journal (parts are not filled in yet).
        let journal: Vec<_> = self.journal.values().cloned().collect();
        let expected = ExpectedObject::from_parts(journal.iter().map(|e| (e.len, e.crc64)));
        match head {
            Ok((len, crc, etag)) if expected.is_confirmed_by(len, crc) => {
                for e in journal {
                    if let Some(p) = self.part_mut(e.part_number) {
                        p.etag = e.etag;
                        p.crc64 = e.crc64;
                        p.state = PartState::Done;
                    }
                }
                self.done_parts = self.parts.len() as u32;
                self.completed(etag, Some(expected.crc64), expected.size, true);
            }
            Err(err) if err.is_retryable() => self.on_error(Job::Head, err),
            _ => self.restart(),
        }
    }

    /// Re-plans with the size of the server's part 1, when it is a valid part size that
    /// gives a multipart plan of the same object.
    fn adopt_server_part_size(&mut self) {
        let Some(first) = self.listed.get(&1) else {
            return;
        };
        let (Some(total), Some(current)) = (self.plan.total_size(), self.plan.part_size()) else {
            return;
        };
        if first.size == current {
            return;
        }
        let mut options = PlanOptions::default()
            .with_part_size(first.size)
            .with_single_put_threshold(0);
        options.memory_budget = self.plan.memory_budget().max(first.size);
        let Ok(plan) = Plan::new(SourceSize::Known(total), &options) else {
            return;
        };
        if plan.part_count().is_some() {
            self.parts = plan.parts().map(Part::pending).collect();
            self.plan = plan;
        }
    }
}
