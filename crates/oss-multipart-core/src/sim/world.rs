//! The upload [`Sim`]'s side of the shared loop ([`World`]): starting each polled request
//! (through the fake server, with scripted and random faults), handing deliveries to the
//! machine, and checking every event against the machine's invariants.

use super::*;

impl Sim {
    fn start(&mut self, req: crate::request::Request) {
        let id = req.id;
        let at = self.timeline.now + self.latency();
        let fault = self.scripted(req.op.kind());
        let what = match &req.op {
            Op::UploadPart {
                part_number, range, ..
            } => format!("UploadPart {part_number} {range:?}"),
            Op::PutObject { range, .. } => format!("PutObject {range:?}"),
            Op::ListParts { marker, .. } => format!("ListParts after {marker}"),
            Op::Complete { parts, .. } => format!("Complete {} parts", parts.len()),
            Op::HashRange { part_number, .. } => format!("HashRange {part_number}"),
            other => format!("{:?}", other.kind()),
        };
        let fault_note = fault.map_or(String::new(), |f| format!(" [{f:?}]"));
        self.trace
            .push(format!("> #{} {what}{fault_note}", id.get()));
        match &req.op {
            Op::HashRange { range, .. } => {
                let len = self.source.len() as u64;
                let crc = (range.end <= len).then(|| crc64(&self.read(range).0));
                self.push(at, Delivery::Hash { id, crc });
            }
            Op::CheckSource => {
                let changed = (crc64(&self.source) != self.source_crc)
                    .then(|| "its bytes changed during the upload".to_owned());
                self.push(at, Delivery::SourceChecked { id, changed });
            }
            Op::UploadPart { range, .. } | Op::PutObject { range, .. } => {
                let (mut body, eof) = self.read(range);
                let read = BodyRead {
                    len: body.len() as u64,
                    crc64: crc64(&body),
                    end_of_stream: eof,
                };
                self.upload.handle_body_read(id, self.timeline.now, read);
                let corrupt =
                    fault == Some(Fault::CorruptBody) || self.rng.chance(self.faults.corrupt_body);
                if !body.is_empty() && corrupt {
                    let i = self.rng.below_inclusive(body.len() as u64 - 1) as usize;
                    body[i] ^= 0x01;
                }
                if let Ok(Some(http)) = req.to_oss_request() {
                    self.push(
                        at,
                        Delivery::Arrive {
                            id,
                            req: http,
                            body,
                            fault,
                        },
                    );
                }
            }
            _ => {
                if let Ok(Some(http)) = req.to_oss_request() {
                    self.push(
                        at,
                        Delivery::Arrive {
                            id,
                            req: http,
                            body: Vec::new(),
                            fault,
                        },
                    );
                }
            }
        }
    }
}

impl World for Sim {
    type Delivery = Delivery;
    type Event = Event;

    fn poll_event(&mut self) -> Option<Event> {
        self.upload.poll_event()
    }

    fn timeline(&mut self) -> &mut Timeline<Delivery, Event> {
        &mut self.timeline
    }

    fn start_requests(&mut self) {
        while let Some(req) = self.upload.poll_request() {
            self.start(req);
        }
    }

    fn observe(&mut self, ev: &Event) {
        let line = match ev {
            Event::Progress(p) => format!(
                "! progress {}/{}",
                p.confirmed,
                p.total.map_or("?".to_owned(), |t| t.to_string())
            ),
            Event::PartDone {
                part_number,
                resumed,
                ..
            } => {
                format!(
                    "! part {part_number} done{}",
                    if *resumed { " (resumed)" } else { "" }
                )
            }
            Event::Retried {
                op,
                part_number,
                attempt,
                reason,
                ..
            } => {
                format!(
                    "! retry {op:?} {} attempt {attempt}: {reason}",
                    part_number.map_or(String::new(), |n| n.to_string())
                )
            }
            Event::Completed(c) => format!(
                "! completed size {} by_head {}",
                c.size, c.confirmed_by_head
            ),
            Event::Failed(f) => format!("! failed resumable {}: {}", f.resumable, f.error),
            Event::UploadId(_) => "! upload id".to_owned(),
            other => format!("! {other:?}"),
        };
        self.trace.push(line);
        match ev {
            Event::Progress(p) => {
                assert!(
                    p.confirmed >= self.last_confirmed,
                    "progress went backwards"
                );
                assert!(
                    p.total.is_none_or(|t| p.confirmed <= t),
                    "progress above total"
                );
                self.last_confirmed = p.confirmed;
            }
            Event::CheckpointChanged => self.checkpoint = self.upload.checkpoint(),
            Event::Completed(c) => self.outcome = Some(Outcome::Completed(c.clone())),
            Event::Failed(f) => self.outcome = Some(Outcome::Failed(f.clone())),
            Event::Aborted => self.outcome = Some(Outcome::Aborted),
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.upload.poll_timeout().map(|t| t.at)
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.timeline.now;
        match &d {
            Delivery::Hash { id, crc } => self.trace.push(format!(
                "< #{} hash {}",
                id.get(),
                if crc.is_some() { "ok" } else { "unreadable" }
            )),
            Delivery::Failure { id, kind } => self.trace.push(format!("< #{} {kind:?}", id.get())),
            Delivery::Response { id, resp } => {
                self.trace
                    .push(format!("< #{} {}", id.get(), resp.status.as_u16()))
            }
            Delivery::SourceChecked { id, changed } => self.trace.push(format!(
                "< #{} source {}",
                id.get(),
                if changed.is_some() {
                    "changed"
                } else {
                    "unchanged"
                }
            )),
            Delivery::Arrive { .. } => {}
        }
        match d {
            Delivery::Hash { id, crc } => self.upload.handle_hash(id, now, crc),
            Delivery::SourceChecked { id, changed } => {
                self.upload.handle_source_check(id, now, changed)
            }
            Delivery::Failure { id, kind } => self.upload.handle_failure(id, now, kind),
            Delivery::Response { id, resp } => {
                self.upload
                    .handle_response(id, now, resp.status, &resp.headers, &resp.body);
            }
            Delivery::Arrive {
                id,
                req,
                body,
                fault,
            } => {
                let f = self.faults.clone();
                let timeout_at = now + f.request_timeout;
                if let Some(Fault::Error(status, code)) = fault {
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let resp = self.oss.error(status, code, "scripted");
                    self.push(now, Delivery::Response { id, resp });
                } else if fault == Some(Fault::Reset) || self.rng.chance(f.reset) {
                    self.push(
                        now,
                        Delivery::Failure {
                            id,
                            kind: FailureKind::ConnectionReset,
                        },
                    );
                } else if fault == Some(Fault::Timeout) || self.rng.chance(f.timeout) {
                    self.push(
                        timeout_at,
                        Delivery::Failure {
                            id,
                            kind: FailureKind::Timeout,
                        },
                    );
                } else if fault == Some(Fault::ServerError) || self.rng.chance(f.server_error) {
                    let status = if self.rng.chance(0.5) {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    let resp = self.oss.error(status, "InternalError", "simulated");
                    self.push(now, Delivery::Response { id, resp });
                } else if self.rng.chance(f.skew) {
                    let resp = self.oss.error(
                        StatusCode::FORBIDDEN,
                        "RequestTimeTooSkewed",
                        "simulated skew",
                    );
                    self.push(now, Delivery::Response { id, resp });
                } else {
                    let resp = self.oss.handle(&req, &body);
                    if fault == Some(Fault::LostResponse) || self.rng.chance(f.lost_response) {
                        self.push(
                            timeout_at,
                            Delivery::Failure {
                                id,
                                kind: FailureKind::Timeout,
                            },
                        );
                    } else {
                        if fault == Some(Fault::Duplicate) || self.rng.chance(f.duplicate) {
                            let later = now + self.latency();
                            self.push(
                                later,
                                Delivery::Response {
                                    id,
                                    resp: resp.clone(),
                                },
                            );
                        }
                        self.trace
                            .push(format!("< #{} {}", id.get(), resp.status.as_u16()));
                        self.upload.handle_response(
                            id,
                            now,
                            resp.status,
                            &resp.headers,
                            &resp.body,
                        );
                    }
                }
            }
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.upload.handle_timeout(now);
    }
}
