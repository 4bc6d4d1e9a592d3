//! Errors, retries and termination: classify, back off, abort, and emit the one terminal event.

use super::*;

impl Upload {
    pub(super) fn on_error(&mut self, job: Job, err: UploadError) {
        match self.phase {
            Phase::Done => return,
            // Only the Initiate is still tracked: it failed, so there is nothing to abort.
            Phase::AbortAfterInitiate { .. } => return self.aborted(),
            Phase::Aborting { .. } if job != Job::Abort => return,
            _ => {}
        }
        if !err.is_retryable() {
            if job == Job::Abort {
                self.abort_failed(err);
            } else {
                self.fail(err);
            }
            return;
        }
        let (tries, part_number, rewound) = match job {
            Job::Part(n) => match self.part_mut(n) {
                Some(p) => (p.attempts, Some(n), p.read_len.unwrap_or(p.range.len)),
                None => return,
            },
            Job::Put => (
                self.attempts.put,
                Some(1),
                self.plan.total_size().unwrap_or(0),
            ),
            Job::Initiate => (self.attempts.initiate, None, 0),
            Job::List => (self.attempts.list, None, 0),
            Job::Complete => (self.attempts.complete, None, 0),
            Job::Head => (self.attempts.head, None, 0),
            Job::Abort => (self.attempts.abort, None, 0),
            Job::Hash(_) | Job::CheckSource => return,
        };
        let attempt = tries.count();
        // A refused connection to an endpoint that answered before is an outage to wait out.
        let reconnecting = self.answered
            && matches!(
                err,
                UploadError::Transport {
                    kind: FailureKind::Connect,
                    ..
                }
            );
        let delay = if reconnecting {
            self.scheduler.next_delay_reconnecting(tries, self.now)
        } else {
            self.scheduler.next_delay(tries, self.now)
        };
        match delay {
            Some(delay) => {
                if let Job::Part(n) = job
                    && let Some(p) = self.part_mut(n)
                {
                    p.state = PartState::Backoff;
                }
                self.events.push_back(Event::Retried {
                    op: op_kind(job),
                    part_number,
                    attempt,
                    delay,
                    rewound,
                    reason: err,
                });
                self.scheduler.schedule(self.now + delay, job);
            }
            None => {
                let err = UploadError::RetriesExhausted {
                    last: Box::new(err),
                };
                if job == Job::Abort {
                    self.abort_failed(err)
                } else {
                    self.fail(err)
                }
            }
        }
    }

    /// Forgets queued and outstanding work (answers to forgotten ids are ignored).
    pub(super) fn drop_work(&mut self) {
        self.ready_parts.clear();
        self.hash_queue.clear();
        self.ready_single = None;
        self.scheduler.clear();
        self.in_flight.retain(|j| j == Job::Initiate);
    }

    pub(super) fn fail(&mut self, err: UploadError) {
        if matches!(
            self.phase,
            Phase::Done | Phase::Aborting { .. } | Phase::AbortAfterInitiate { .. }
        ) {
            return;
        }
        self.drop_work();
        self.in_flight.retain(|_| false);
        let gone = self.upload_gone();
        let abort = self.policy == FailurePolicy::Abort && self.upload_id.is_some() && !gone;
        if abort {
            self.start_abort(Some(err));
            return;
        }
        let resumable = match self.phase {
            Phase::Single => true,
            _ => {
                self.upload_id.is_some()
                    && self.policy == FailurePolicy::Keep
                    && !gone
                    && self.plan.part_count().is_some()
            }
        };
        let upload_id = self.upload_id.clone();
        self.finish(Event::Failed(Failure {
            error: err,
            resumable,
            upload_id,
        }));
    }

    /// Sends Abort; `then_fail` is reported once it ends (`None`: [`Event::Aborted`]).
    pub(super) fn start_abort(&mut self, then_fail: Option<UploadError>) {
        self.drop_work();
        self.in_flight.retain(|_| false);
        self.phase = Phase::Aborting { then_fail };
        self.attempts.abort = Tries::default();
        self.ready_single = Some(Job::Abort);
    }

    /// The failure an abort under way is to report.
    fn then_fail(&mut self) -> Option<UploadError> {
        match &mut self.phase {
            Phase::Aborting { then_fail } | Phase::AbortAfterInitiate { then_fail } => {
                then_fail.take()
            }
            _ => None,
        }
    }

    pub(super) fn aborted(&mut self) {
        match self.then_fail() {
            Some(error) => {
                let upload_id = self.upload_id.clone();
                self.finish(Event::Failed(Failure {
                    error,
                    resumable: false,
                    upload_id,
                }));
            }
            None => self.finish(Event::Aborted),
        }
    }

    pub(super) fn abort_failed(&mut self, err: UploadError) {
        // The parts may remain; report the original failure if there was one.
        let error = self.then_fail().unwrap_or(err);
        let upload_id = self.upload_id.clone();
        self.finish(Event::Failed(Failure {
            error,
            resumable: false,
            upload_id,
        }));
    }

    pub(super) fn finish(&mut self, event: Event) {
        self.drop_work();
        self.in_flight.retain(|_| false);
        self.requests.clear();
        self.phase = Phase::Done;
        self.events.push_back(event);
    }
}
