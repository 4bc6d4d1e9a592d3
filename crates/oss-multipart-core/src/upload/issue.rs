//! Issuing: turn ready work into request intents within the concurrency and memory limits.

use super::*;

impl Upload {
    pub(super) fn issue(&mut self, job: Job, op: Op, bytes: u64) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.in_flight.insert(id, job, bytes);
        self.requests.push_back(Request {
            id,
            op,
            target: self.target.clone(),
            object: self.object.clone(),
        });
    }

    pub(super) fn pump(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        if self.paused && !matches!(self.phase, Phase::Aborting { .. }) {
            return;
        }
        if let Some(job) = self.ready_single.take() {
            self.issue_single(job);
        }
        if self.phase == Phase::Parts {
            self.issue_parts();
        }
    }

    pub(super) fn issue_single(&mut self, job: Job) {
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let relevant = matches!(
            (&self.phase, job),
            (Phase::Initiating, Job::Initiate)
                | (Phase::Single, Job::Put)
                | (Phase::Listing { .. }, Job::List)
                | (
                    Phase::ResumeHead | Phase::ConfirmingComplete { .. },
                    Job::Head
                )
                | (Phase::Completing { .. }, Job::Complete | Job::CheckSource)
                | (Phase::Aborting { .. }, Job::Abort)
        );
        if !relevant {
            return;
        }
        match job {
            Job::Initiate => {
                self.attempts.initiate.start(self.now);
                self.issue(job, Op::Initiate, 0);
            }
            Job::Put => {
                self.attempts.put.start(self.now);
                let size = self.plan.total_size().unwrap_or(0);
                self.issue(
                    job,
                    Op::PutObject {
                        range: 0..size,
                        content_md5: self.config.content_md5,
                    },
                    size,
                );
            }
            Job::List => {
                let Phase::Listing { marker } = self.phase else {
                    return;
                };
                self.attempts.list.start(self.now);
                self.issue(job, Op::ListParts { upload_id, marker }, 0);
            }
            Job::Head => {
                self.attempts.head.start(self.now);
                self.issue(job, Op::HeadObject, 0);
            }
            Job::Complete => {
                self.attempts.complete.start(self.now);
                let parts = self
                    .parts
                    .iter()
                    .map(|p| CompletePart {
                        part_number: p.range.part_number,
                        etag: p.etag.clone(),
                    })
                    .collect();
                self.issue(job, Op::Complete { upload_id, parts }, 0);
            }
            Job::Abort => {
                self.attempts.abort.start(self.now);
                self.issue(job, Op::Abort { upload_id }, 0);
            }
            Job::CheckSource => self.issue(job, Op::CheckSource, 0),
            Job::Part(_) | Job::Hash(_) => {}
        }
    }

    pub(super) fn has_room(&self, bytes: u64) -> bool {
        if self.in_flight.len() >= self.config.slots() {
            return false;
        }
        self.in_flight.is_empty()
            || self.in_flight.bytes().saturating_add(bytes) <= self.plan.memory_budget()
    }

    pub(super) fn issue_parts(&mut self) {
        let Some(upload_id) = self.upload_id.clone() else {
            return;
        };
        while self.in_flight.len() < self.config.slots() {
            if let Some(n) = self.hash_queue.pop_front() {
                let Some(range) = self.part_mut(n).map(|p| p.range) else {
                    continue;
                };
                self.issue(
                    Job::Hash(n),
                    Op::HashRange {
                        part_number: n,
                        range: range.range(),
                    },
                    0,
                );
                continue;
            }
            // Sequential mode keeps strict part order: nothing new while a part waits to retry.
            if self.config.sequential && self.parts.iter().any(|p| p.state == PartState::Backoff) {
                break;
            }
            if let Some(&n) = self.ready_parts.iter().next() {
                let Some(p) = self.part_mut(n) else {
                    self.ready_parts.remove(&n);
                    continue;
                };
                let len = p.read_len.unwrap_or(p.range.len);
                let range = p.range.offset..p.range.offset + len;
                if !self.has_room(len) {
                    break;
                }
                self.ready_parts.remove(&n);
                let now = self.now;
                if let Some(p) = self.part_mut(n) {
                    p.state = PartState::Uploading;
                    p.attempts.start(now);
                }
                let op = Op::UploadPart {
                    part_number: n,
                    range,
                    upload_id: upload_id.clone(),
                    content_md5: self.config.content_md5,
                };
                self.issue(Job::Part(n), op, len);
                continue;
            }
            if !self.issue_stream_part(&upload_id) {
                break;
            }
        }
    }

    /// Issues the next stream part if the previous one was read and the stream has not ended.
    pub(super) fn issue_stream_part(&mut self, upload_id: &str) -> bool {
        if !self.plan.is_stream() || self.stream.read_pending || self.stream.end.is_some() {
            return false;
        }
        if self.config.sequential && !self.in_flight.is_empty() {
            return false;
        }
        let n = self.stream.next;
        let Some(range) = self.plan.part(n) else {
            return false;
        };
        if !self.has_room(range.len) {
            return false;
        }
        let mut part = Part::pending(range);
        part.state = PartState::Uploading;
        part.attempts.start(self.now);
        self.parts.push(part);
        self.stream.next += 1;
        self.stream.read_pending = true;
        let op = Op::UploadPart {
            part_number: n,
            range: range.range(),
            upload_id: upload_id.to_owned(),
            content_md5: self.config.content_md5,
        };
        self.issue(Job::Part(n), op, range.len);
        true
    }
}

pub(super) fn op_kind(job: Job) -> OpKind {
    match job {
        Job::Initiate => OpKind::Initiate,
        Job::List => OpKind::ListParts,
        Job::Part(_) => OpKind::UploadPart,
        Job::Hash(_) => OpKind::HashRange,
        Job::Put => OpKind::PutObject,
        Job::Complete => OpKind::Complete,
        Job::Head => OpKind::HeadObject,
        Job::Abort => OpKind::Abort,
        Job::CheckSource => OpKind::CheckSource,
    }
}
