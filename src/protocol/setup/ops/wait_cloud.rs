//! Waiting for the device in the cloud: the event stream, calm polling, claim probes and a
//! look at the device's own network.

use crate::protocol::cloud::{self, ClaimAttempt, DeviceStatus, EventStreamReader};
use crate::protocol::error::Error;
use crate::protocol::policy;
use crate::protocol::reply::Reply;

use super::{look, step_exchange, Finish};
use crate::protocol::setup::cloud_call::CloudCall;
use crate::protocol::setup::exchange::{Ending, Exchange};
use crate::protocol::setup::{Ctx, Outcome, Step, TransmitId};

#[derive(Debug)]
pub(super) struct WaitForCloud {
    pub(super) device_id: String,
    pub(super) deadline: u64,
    pub(super) interval: u64,
    pub(super) stream: Stream,
    pub(super) poll: Polling,
    /// Claiming outright; `None` for a device this customer did not give a claim code.
    pub(super) probe: Option<Polling>,
    pub(super) watch: Option<Watch>,
    /// The cloud lists the device as the customer's (offline so far).
    pub(super) owned: bool,
    /// The customer's event stream said the device came online: only the customer's own
    /// devices are in it.
    pub(super) online_event: bool,
}

#[derive(Debug)]
pub(super) enum Stream {
    Closed {
        retry_at: u64,
        failures: u32,
    },
    Open {
        transmit: TransmitId,
        status: Option<u16>,
        last_byte: u64,
        reader: EventStreamReader,
        error_body: Vec<u8>,
        failures: u32,
    },
    /// The token was refused: the wait fails with this.
    Refused(Error),
}

#[derive(Debug)]
pub(super) struct Polling {
    pub(super) call: Option<CloudCall>,
    pub(super) next_at: u64,
    pub(super) failures: u32,
}

impl Polling {
    /// Sends the call once the line allows, aborts it at its deadline; its outcome once it has
    /// one (the call is then over).
    fn step<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        moved: &mut bool,
    ) -> Option<Result<(u16, Vec<u8>), Error>> {
        let call = self.call.as_mut()?;
        if let Some(transmit) = call.transmit() {
            if call.handle_timeout(ctx.now) {
                ctx.transmits
                    .push_back(crate::protocol::setup::Transmit::Abort(transmit));
            }
        }
        *moved |= ctx.send_cloud(call);
        let outcome = call.take_outcome()?;
        self.call = None;
        *moved = true;
        Some(outcome)
    }
}

/// Looks at the device's own network. The first look comes [`policy::DEVICE_WATCH_MS`] after
/// the wait began, when a device that took `connect-ap` has long taken its access point down:
/// the same device answering then is in setup mode (it never left, or it came back).
#[derive(Debug)]
pub(super) struct Watch {
    pub(super) look: Option<Exchange>,
    pub(super) next_at: u64,
}

impl WaitForCloud {
    pub(super) fn new(
        device_id: String,
        now: u64,
        timeout_ms: u64,
        interval: u64,
        watch: bool,
        claim: bool,
    ) -> Self {
        Self {
            device_id,
            deadline: now + timeout_ms,
            interval,
            stream: Stream::Closed {
                retry_at: now,
                failures: 0,
            },
            poll: Polling {
                call: None,
                next_at: now,
                failures: 0,
            },
            probe: claim.then_some(Polling {
                call: None,
                next_at: now + policy::CLAIM_PROBE_AFTER_MS,
                failures: 0,
            }),
            watch: watch.then_some(Watch {
                look: None,
                next_at: now + policy::DEVICE_WATCH_MS,
            }),
            owned: false,
            online_event: false,
        }
    }

    pub(super) fn transmits(&self) -> Vec<TransmitId> {
        let mut open = Vec::new();
        if let Stream::Open { transmit, .. } = self.stream {
            open.push(transmit);
        }
        open.extend(self.poll.call.as_ref().and_then(CloudCall::transmit));
        open.extend(
            self.probe
                .as_ref()
                .and_then(|p| p.call.as_ref())
                .and_then(CloudCall::transmit),
        );
        if let Some(watch) = &self.watch {
            open.extend(watch.look.as_ref().and_then(Exchange::transmit));
        }
        open
    }

    pub(super) fn stream_is_up(&self) -> bool {
        matches!(
            self.stream,
            Stream::Open {
                status: Some(200),
                ..
            }
        )
    }

    pub(super) fn wake_at(&self) -> Option<u64> {
        let stream = match &self.stream {
            Stream::Closed { retry_at, .. } => Some(*retry_at),
            Stream::Open { last_byte, .. } => Some(last_byte + policy::STREAM_IDLE_MS),
            Stream::Refused(_) => Some(0),
        };
        let poll = match &self.poll.call {
            Some(call) => call.wake_at(),
            None => Some(self.poll.next_at),
        };
        let probe = self.probe.as_ref().and_then(|probe| match &probe.call {
            Some(call) => call.wake_at(),
            None if self.owned => None,
            None => Some(probe.next_at),
        });
        let watch = self.watch.as_ref().and_then(|w| match &w.look {
            Some(look) => look.wake_at(),
            None => Some(w.next_at),
        });
        [Some(self.deadline), stream, poll, probe, watch]
            .into_iter()
            .flatten()
            .min()
    }

    fn claimed<R: ?Sized>(&self, ctx: &mut Ctx<'_, R>, flow: bool) -> Finish {
        if !ctx.done.contains(&self.device_id) {
            ctx.done.push(self.device_id.clone());
        }
        if ctx.session.id.is_none() {
            ctx.session.id = Some(self.device_id.clone());
        }
        if flow {
            ctx.progress(Step::Claimed, None, None);
        }
        Some(Ok(Outcome::Claimed {
            device_id: self.device_id.clone(),
        }))
    }

    /// `flow`: the customer's setup, whose progress is reported.
    pub(super) fn advance<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        flow: bool,
    ) -> (bool, Finish) {
        let now = ctx.now;
        let Some(cloud) = ctx.config.cloud.clone() else {
            return (true, Some(Err(Error::TokenInvalid)));
        };
        if let Stream::Refused(error) = &self.stream {
            return (true, Some(Err(error.clone())));
        }
        if self.online_event {
            return (true, self.claimed(ctx, flow));
        }
        if now >= self.deadline {
            return (true, Some(Err(Error::ClaimTimeout)));
        }
        let mut moved = false;

        // The event stream: opened at once, reopened after a failure or a silence.
        match &mut self.stream {
            Stream::Closed { retry_at, failures } if *retry_at <= now => {
                let transmit = ctx.send_cloud_request(&cloud.status_events_request());
                self.stream = Stream::Open {
                    transmit,
                    status: None,
                    last_byte: now,
                    reader: EventStreamReader::new(),
                    error_body: Vec::new(),
                    failures: *failures,
                };
                moved = true;
            }
            Stream::Open {
                transmit,
                last_byte,
                failures,
                ..
            } if now >= *last_byte + policy::STREAM_IDLE_MS => {
                ctx.transmits
                    .push_back(crate::protocol::setup::Transmit::Abort(*transmit));
                self.stream = Stream::Closed {
                    retry_at: now,
                    failures: *failures,
                };
                moved = true;
            }
            _ => {}
        }

        // Polling the customer's devices: calm while the stream is up.
        let every = if self.stream_is_up() {
            policy::CLOUD_POLL_WITH_STREAM_MS
        } else {
            self.interval
        };
        if self.poll.call.is_none() && now >= self.poll.next_at {
            self.poll.call = Some(CloudCall::new(cloud.devices_request(), now));
        }
        if let Some(outcome) = self.poll.step(ctx, &mut moved) {
            match outcome.and_then(|(s, b)| cloud::read_devices(s, &b, &self.device_id)) {
                Ok(DeviceStatus::Online) => return (true, self.claimed(ctx, flow)),
                Ok(status) => {
                    self.owned |= status == DeviceStatus::Offline;
                    self.poll.failures = 0;
                    self.poll.next_at = now + every;
                }
                Err(e @ (Error::TokenExpired | Error::TokenInvalid)) => {
                    return (true, Some(Err(e)))
                }
                // Still offline, rejoining the home network: keep trying.
                Err(Error::CloudUnreachable) => self.poll.next_at = now + every,
                Err(_) => {
                    self.poll.failures += 1;
                    self.poll.next_at = now + policy::cloud_backoff_ms(self.poll.failures);
                }
            }
        }

        // Claiming outright tells a device owned by another customer apart.
        if let Some(probe) = &mut self.probe {
            if !self.owned && probe.call.is_none() && now >= probe.next_at {
                probe.call = Some(CloudCall::new(
                    cloud.claim_device_request(&self.device_id),
                    now,
                ));
            }
            if let Some(outcome) = probe.step(ctx, &mut moved) {
                probe.next_at = now + policy::CLAIM_PROBE_EVERY_MS;
                match outcome.and_then(|(s, b)| cloud::read_claim_device(s, &b)) {
                    Ok(ClaimAttempt::Claimed) => {
                        // It is the customer's now: learn at once whether it is online.
                        self.owned = true;
                        if self.poll.call.is_none() {
                            self.poll.next_at = now;
                        }
                    }
                    Ok(ClaimAttempt::OtherOwner) => {
                        return (true, Some(Err(Error::ClaimedByAnother)))
                    }
                    Err(e @ (Error::TokenExpired | Error::TokenInvalid)) => {
                        return (true, Some(Err(e)))
                    }
                    Ok(ClaimAttempt::NotYet) | Err(_) => {}
                }
            }
        }

        // The device's own network: the device answering there again is back in setup mode.
        if let Some(watch) = &mut self.watch {
            if watch.look.is_none() && now >= watch.next_at {
                watch.look = Some(look(now));
                watch.next_at = now + policy::DEVICE_WATCH_MS;
            }
            if let Some(exchange) = &mut watch.look {
                moved |= step_exchange(exchange, ctx);
                if let Some(outcome) = exchange.take_outcome() {
                    watch.look = None;
                    moved = true;
                    if let Ok(Ending::Reply(Reply::DeviceId(info))) = outcome {
                        if info.id == self.device_id {
                            return (true, Some(Err(Error::JoinFailed)));
                        }
                    }
                }
            }
        }
        (moved, None)
    }

    pub(super) fn stream_head<R: ?Sized>(
        &mut self,
        _ctx: &mut Ctx<'_, R>,
        id: TransmitId,
        code: u16,
    ) {
        if let Stream::Open {
            transmit,
            status,
            failures,
            ..
        } = &mut self.stream
        {
            if *transmit == id {
                *status = Some(code);
                if code == 200 {
                    *failures = 0;
                }
            }
        }
    }

    pub(super) fn stream_data<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        id: TransmitId,
        data: &[u8],
    ) {
        let Stream::Open {
            transmit,
            status,
            last_byte,
            reader,
            error_body,
            ..
        } = &mut self.stream
        else {
            return;
        };
        if *transmit != id {
            return;
        }
        *last_byte = ctx.now;
        if *status != Some(200) {
            if error_body.len() + data.len() <= 4_096 {
                error_body.extend_from_slice(data);
            }
            return;
        }
        let online = reader.feed(data).into_iter().any(|event| {
            event.device_id == self.device_id
                && event.name == "spark/status"
                && event.data == "online"
        });
        self.online_event |= online;
    }

    pub(super) fn stream_over<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, id: TransmitId) {
        let Stream::Open {
            transmit,
            status,
            error_body,
            failures,
            ..
        } = &self.stream
        else {
            return;
        };
        if *transmit != id {
            return;
        }
        if let Some(code @ (400 | 401)) = status {
            let error = cloud::read_devices(*code, error_body, &self.device_id)
                .err()
                .unwrap_or(Error::TokenInvalid);
            if matches!(error, Error::TokenExpired | Error::TokenInvalid) {
                self.stream = Stream::Refused(error);
                return;
            }
        }
        let failures = failures + 1;
        self.stream = Stream::Closed {
            retry_at: ctx.now + policy::cloud_backoff_ms(failures),
            failures,
        };
    }
}
