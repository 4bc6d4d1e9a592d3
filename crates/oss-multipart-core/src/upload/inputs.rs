//! Inputs: answers, body reads, re-hashes, source checks, timeouts and the commands (pause,
//! resume, abort, a local failure). Each one is followed by a `pump`, so ready work is issued.

use super::*;

impl Upload {
    pub(super) fn tick(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The deadline from [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if self.phase == Phase::Done {
            return;
        }
        for job in self.scheduler.take_due(self.now) {
            match job {
                Job::Part(n) => {
                    if let Some(p) = self.part_mut(n)
                        && p.state == PartState::Backoff
                    {
                        p.state = PartState::Pending;
                        self.ready_parts.insert(n);
                    }
                }
                job => self.ready_single = Some(job),
            }
        }
        self.pump();
    }

    /// Pauses: no new request is issued (answers are still processed, Abort still goes out).
    pub fn pause(&mut self, now: Instant) {
        self.tick(now);
        self.paused = true;
    }

    /// Resumes issuing requests after [`pause`](Self::pause).
    pub fn resume(&mut self, now: Instant) {
        self.tick(now);
        self.paused = false;
        self.pump();
    }

    /// Stops the upload: outstanding answers are ignored, the multipart upload is aborted (an
    /// in-flight Initiate is waited for so its upload is not leaked), then [`Event::Aborted`].
    /// A single PutObject already in flight may still create the object.
    pub fn abort(&mut self, now: Instant) {
        self.tick(now);
        // A second abort changes nothing; an abort after a failure reports the abort.
        if matches!(
            self.phase,
            Phase::Done | Phase::AbortAfterInitiate { .. } | Phase::Aborting { then_fail: None }
        ) {
            return;
        }
        self.drop_work();
        if self.upload_id.is_some() {
            self.start_abort(None);
        } else if self.in_flight.has(Job::Initiate) {
            self.phase = Phase::AbortAfterInitiate { then_fail: None };
        } else {
            self.finish(Event::Aborted);
        }
        self.pump();
    }

    /// Reports the bytes read for an [`Op::UploadPart`] / [`Op::PutObject`] request.
    pub fn handle_body_read(&mut self, id: RequestId, now: Instant, read: BodyRead) {
        self.tick(now);
        let Some(flight) = self.in_flight.get_mut(id) else {
            return;
        };
        flight.read = Some(read);
        let Job::Part(n) = flight.job else { return };
        if !self.plan.is_stream() {
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        if p.read_len.is_some() {
            return; // a retry of an already-read stream part
        }
        let planned = p.range.len;
        let len = read.len.min(planned);
        p.read_len = Some(len);
        let end = p.range.offset + len;
        self.stream.read_pending = false;
        if read.end_of_stream || len < planned {
            self.stream.end = Some((n, end));
        } else if n >= MAX_PART_COUNT {
            let max = self.plan.max_object_size();
            self.fail(UploadError::StreamTooLong { max });
        }
        self.pump();
    }

    /// The answer to an [`Op::HashRange`]: the CRC-64 of the range, or `None` when it could not
    /// be read (the part is then uploaded again).
    pub fn handle_hash(&mut self, id: RequestId, now: Instant, crc64: Option<u64>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        let Job::Hash(n) = flight.job else { return };
        if self.phase != Phase::Parts {
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        if p.state != PartState::Hashing {
            return;
        }
        match (p.expect.take(), crc64) {
            (Some((etag, want)), Some(got)) if want == got => {
                p.etag = etag;
                p.crc64 = got;
                p.resumed = true;
                self.part_done(n);
            }
            _ => {
                p.state = PartState::Pending;
                self.ready_parts.insert(n);
            }
        }
        self.after_part_change();
        self.pump();
    }

    /// The answer to an [`Op::CheckSource`]: `None` when the source is unchanged, otherwise
    /// what changed (the upload then fails with [`UploadError::SourceModified`] and its parts
    /// are not combined).
    pub fn handle_source_check(&mut self, id: RequestId, now: Instant, changed: Option<String>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        if flight.job != Job::CheckSource || !matches!(self.phase, Phase::Completing { .. }) {
            return;
        }
        match changed {
            None => self.ready_single = Some(Job::Complete),
            Some(reason) => self.fail(UploadError::SourceModified { reason }),
        }
        self.pump();
    }

    /// Ends the upload with a failure the driver found and the machine cannot see (the source
    /// changed or could not be read). The failure policy applies as for any other failure: the
    /// multipart upload is aborted (waiting for an Initiate still in flight, so its upload is
    /// not leaked) before [`Event::Failed`], or kept and reported resumable.
    pub fn fail_local(&mut self, now: Instant, error: UploadError) {
        self.tick(now);
        if matches!(
            self.phase,
            Phase::Done | Phase::Aborting { .. } | Phase::AbortAfterInitiate { .. }
        ) {
            return;
        }
        let initiating = self.upload_id.is_none() && self.in_flight.has(Job::Initiate);
        if initiating && self.policy == FailurePolicy::Abort {
            self.drop_work();
            self.phase = Phase::AbortAfterInitiate {
                then_fail: Some(error),
            };
            return;
        }
        self.fail(error);
        self.pump();
    }

    /// A transport failure for request `id`.
    pub fn handle_failure(&mut self, id: RequestId, now: Instant, kind: FailureKind) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        if self.phase == Phase::Done {
            return;
        }
        let op = op_kind(flight.job);
        let err = UploadError::Transport { op, kind };
        match flight.job {
            Job::Hash(n) => {
                if let Some(p) = self.part_mut(n)
                    && p.state == PartState::Hashing
                {
                    p.state = PartState::Pending;
                    p.expect = None;
                    self.ready_parts.insert(n);
                }
                self.after_part_change();
            }
            // The server may have completed: ask HeadObject before retrying.
            Job::Complete => self.confirm_complete(false),
            Job::CheckSource => self.fail(UploadError::SourceModified {
                reason: "it could not be checked again".to_owned(),
            }),
            job => self.on_error(job, err),
        }
        self.pump();
    }

    /// The HTTP answer to request `id`.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        now: Instant,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        self.answered = true;
        if self.phase == Phase::Done {
            return;
        }
        let r = wire::Response {
            status,
            headers,
            body,
        };
        match flight.job {
            Job::Initiate => match wire::parse_initiate(&r) {
                Ok(upload_id) => {
                    self.events.push_back(Event::UploadId(upload_id.clone()));
                    self.upload_id = Some(upload_id);
                    if let Phase::AbortAfterInitiate { then_fail } = &mut self.phase {
                        let then_fail = then_fail.take();
                        self.start_abort(then_fail);
                    } else {
                        self.phase = Phase::Parts;
                        for p in &mut self.parts {
                            if p.state == PartState::Pending {
                                self.ready_parts.insert(p.range.part_number);
                            }
                        }
                        self.checkpoint_changed();
                        self.after_part_change();
                    }
                }
                Err(_) if matches!(self.phase, Phase::AbortAfterInitiate { .. }) => self.aborted(),
                Err(err) => self.on_error(Job::Initiate, err),
            },
            Job::List => self.on_list(wire::parse_list(&r)),
            Job::Part(n) => match wire::parse_part(&r) {
                Ok((etag, crc)) => self.on_part_ok(n, flight.read, etag, crc),
                Err(err) => self.on_error(Job::Part(n), err),
            },
            Job::Put => match wire::parse_put(&r) {
                Ok((etag, crc)) => self.on_put_ok(flight.read, etag, crc),
                Err(err) => self.on_error(Job::Put, err),
            },
            Job::Complete => match wire::parse_complete(&r, self.object.expects_callback()) {
                Ok((etag, crc)) => self.on_complete_ok(etag, crc),
                // A previous Complete may have succeeded: confirm with HeadObject.
                Err(err) if err.is_no_such_upload() => self.confirm_complete(true),
                Err(err) if err.is_retryable() => self.confirm_complete(false),
                Err(err) => self.fail(err),
            },
            Job::Head if self.phase == Phase::ResumeHead => {
                self.on_resume_head(wire::parse_head(&r))
            }
            Job::Head => self.on_confirm_head(wire::parse_head(&r)),
            Job::Abort => match wire::parse_abort(&r) {
                Ok(()) => self.aborted(),
                Err(err) if err.is_no_such_upload() => self.aborted(),
                Err(err) => self.on_error(Job::Abort, err),
            },
            Job::Hash(_) | Job::CheckSource => {}
        }
        self.pump();
    }
}
