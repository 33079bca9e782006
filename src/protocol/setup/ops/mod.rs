//! The operations the machine runs: each a small state machine over device exchanges and
//! cloud calls, advanced by [`Op::advance`] and fed what arrives for its requests.

use crate::protocol::cloud;
use crate::protocol::command::Request;
use crate::protocol::credentials::Credentials;
use crate::protocol::error::Error;
use crate::protocol::policy;
use crate::protocol::reply::DeviceInfo;

mod calls;
mod configure;
mod single;
mod wait_cloud;
mod wait_device;

use calls::{Prepare, RetryingCall};
use configure::{Configure, ConfigureStage};
use single::{Single, What};
use wait_cloud::WaitForCloud;
use wait_device::{WaitForDevice, WaitStage};

use super::cloud_call::CloudCall;
use super::exchange::Exchange;
use super::{
    BodyEnding, Ctx, NetFailure, OpId, Operation, Outcome, Session, SetupConfig, TransmitId,
};

type Finish = Option<Result<Outcome, Error>>;

/// A device id as the cloud API takes it: 24 hex digits, lower case.
fn device_id_of(id: Option<String>) -> Option<String> {
    id.filter(|id| id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|id| id.to_ascii_lowercase())
}

/// A running operation.
#[derive(Debug)]
pub(crate) struct Op {
    pub(crate) id: OpId,
    pub(crate) flow: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Known at once (a cached key).
    Ready(Option<Result<Outcome, Error>>),
    Single(Single),
    Configure(Configure),
    Prepare(Prepare),
    CreateClaimCode(RetryingCall),
    RenameDevice(RetryingCall),
    WaitForDevice(WaitForDevice),
    WaitForCloud(Box<WaitForCloud>),
}

impl Op {
    pub(crate) fn new(
        id: OpId,
        operation: Operation,
        flow: bool,
        now: u64,
        config: &SetupConfig,
        session: &Session,
    ) -> Result<Self, Error> {
        let device = |request: Request| {
            Exchange::new(request, now)
                .max_attempts(config.attempts)
                .deadline_override(config.deadline_ms)
        };
        let kind = match operation {
            Operation::Version => {
                Kind::Single(Single::new(What::Version, device(Request::version())))
            }
            Operation::DeviceInfo => {
                Kind::Single(Single::new(What::DeviceInfo, device(Request::device_id())))
            }
            Operation::PublicKey => match &session.key {
                Some(key) => Kind::Ready(Some(Ok(Outcome::PublicKey {
                    fingerprint: key.fingerprint(),
                    bits: key.bits(),
                }))),
                None => Kind::Single(Single::new(What::PublicKey, device(Request::public_key()))),
            },
            Operation::Scan => Kind::Single(Single::new(What::Scan, device(Request::scan_ap()))),
            Operation::SetClaimCode(code) => Kind::Single(Single::new(
                What::Set,
                device(Request::set_claim_code(&code)),
            )),
            Operation::Connect => {
                Kind::Single(Single::new(What::Connect, device(Request::connect_ap())))
            }
            Operation::Configure { network, claim } => {
                let network = network.validate()?;
                let enterprise = matches!(
                    network.credentials,
                    Credentials::Peap { .. } | Credentials::Tls { .. }
                );
                if enterprise && session.ending == BodyEnding::Never {
                    return Err(Error::FirmwareTooOld);
                }
                Kind::Configure(Configure {
                    network,
                    claim,
                    enterprise,
                    stage: ConfigureStage::Start,
                })
            }
            Operation::Prepare { devices } => Kind::Prepare(Prepare {
                devices: devices.max(1) as usize,
                call: None,
            }),
            Operation::CreateClaimCode => {
                let cloud = config.cloud.as_ref().ok_or(Error::TokenInvalid)?;
                Kind::CreateClaimCode(RetryingCall::new(cloud.claim_code_request(), now))
            }
            Operation::RenameDevice { device_id, name } => {
                let device_id = device_id_of(Some(device_id)).ok_or(Error::DeviceUnreachable)?;
                let name = cloud::device_name(&name)?;
                let cloud = config.cloud.as_ref().ok_or(Error::TokenInvalid)?;
                Kind::RenameDevice(RetryingCall::new(
                    cloud.rename_request(&device_id, &name),
                    now,
                ))
            }
            Operation::WaitForDevice {
                timeout_ms,
                interval_ms,
            } => Kind::WaitForDevice(WaitForDevice {
                deadline: now + timeout_ms,
                interval: interval_ms.max(100),
                stage: WaitStage::Look(look(now)),
                look_started: now,
                found: None,
                held: false,
            }),
            Operation::WaitForCloud {
                device_id,
                timeout_ms,
                interval_ms,
                watch_device,
                claim_unowned,
            } => {
                let device_id = device_id_of(device_id.or_else(|| session.id.clone()))
                    .ok_or(Error::DeviceUnreachable)?;
                let given_code_here = session.claim_code.is_some()
                    && session.id.as_deref() == Some(device_id.as_str());
                if config.cloud.is_none() {
                    return Err(Error::TokenInvalid);
                }
                Kind::WaitForCloud(Box::new(WaitForCloud::new(
                    device_id,
                    now,
                    timeout_ms,
                    interval_ms.max(100),
                    watch_device,
                    claim_unowned || given_code_here,
                )))
            }
        };
        Ok(Self { id, flow, kind })
    }

    /// Requests of this operation still open.
    pub(crate) fn transmits(&self) -> Vec<TransmitId> {
        match &self.kind {
            Kind::Ready(_) => Vec::new(),
            Kind::Single(single) => single.exchange.transmit().into_iter().collect(),
            Kind::Configure(configure) => configure.stage.transmit().into_iter().collect(),
            Kind::Prepare(prepare) => prepare
                .call
                .as_ref()
                .and_then(|c| c.call.transmit())
                .into_iter()
                .collect(),
            Kind::CreateClaimCode(call) | Kind::RenameDevice(call) => {
                call.call.transmit().into_iter().collect()
            }
            Kind::WaitForDevice(wait) => match &wait.stage {
                WaitStage::Look(e) | WaitStage::Key(e) => e.transmit().into_iter().collect(),
                WaitStage::Pause(_) => Vec::new(),
            },
            Kind::WaitForCloud(wait) => wait.transmits(),
        }
    }

    /// When this operation next needs the clock.
    pub(crate) fn wake_at(&self) -> Option<u64> {
        match &self.kind {
            Kind::Ready(_) => Some(0),
            Kind::Single(single) => single.exchange.wake_at(),
            Kind::Configure(configure) => match &configure.stage {
                ConfigureStage::Start => Some(0),
                ConfigureStage::FetchCode(call) => call.call.wake_at(),
                ConfigureStage::Key(e) | ConfigureStage::Set(e) | ConfigureStage::Send(e) => {
                    e.wake_at()
                }
            },
            Kind::Prepare(prepare) => prepare.call.as_ref().and_then(|c| c.call.wake_at()),
            Kind::CreateClaimCode(call) | Kind::RenameDevice(call) => call.call.wake_at(),
            Kind::WaitForDevice(wait) => match &wait.stage {
                WaitStage::Look(e) | WaitStage::Key(e) => e.wake_at(),
                // Held while the page is hidden: only the deadline is due.
                WaitStage::Pause(_) if wait.held => Some(wait.deadline),
                WaitStage::Pause(until) => Some(*until),
            },
            Kind::WaitForCloud(wait) => wait.wake_at(),
        }
    }

    /// Moves on as far as possible without an input: `(moved, finished)`.
    pub(crate) fn advance<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> (bool, Finish) {
        match &mut self.kind {
            Kind::Ready(result) => (true, result.take()),
            Kind::Single(single) => single.advance(ctx),
            Kind::Configure(configure) => configure.advance(ctx),
            Kind::Prepare(prepare) => prepare.advance(ctx),
            Kind::CreateClaimCode(call) => {
                let (moved, result) = call.advance(ctx);
                let finish = result.map(|r| {
                    r.and_then(|(status, body)| cloud::read_claim_code(status, &body))
                        .map(Outcome::ClaimCode)
                });
                (moved, finish)
            }
            Kind::RenameDevice(call) => {
                let (moved, result) = call.advance(ctx);
                let finish = result.map(|r| {
                    r.and_then(|(status, body)| cloud::read_rename(status, &body))
                        .map(|()| Outcome::Done)
                });
                (moved, finish)
            }
            Kind::WaitForDevice(wait) => wait.advance(ctx, self.flow),
            Kind::WaitForCloud(wait) => wait.advance(ctx, self.flow),
        }
    }

    pub(crate) fn handle_head<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        id: TransmitId,
        status: u16,
    ) {
        if let Some(exchange) = self.exchange(id) {
            let after = exchange.handle_head(ctx.now, status);
            ctx.after_device(after, id);
            return;
        }
        if let Some(call) = self.call(id) {
            call.handle_head(status);
            return;
        }
        if let Kind::WaitForCloud(wait) = &mut self.kind {
            wait.stream_head(ctx, id, status);
        }
    }

    pub(crate) fn handle_data<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        id: TransmitId,
        data: &[u8],
    ) {
        if let Some(exchange) = self.exchange(id) {
            let after = exchange.handle_data(data);
            ctx.after_device(after, id);
            return;
        }
        if let Some(call) = self.call(id) {
            if !call.handle_data(data) {
                ctx.transmits.push_back(super::Transmit::Abort(id));
            }
            return;
        }
        if let Kind::WaitForCloud(wait) = &mut self.kind {
            wait.stream_data(ctx, id, data);
        }
    }

    pub(crate) fn handle_end<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, id: TransmitId) {
        if let Some(exchange) = self.exchange(id) {
            exchange.handle_end();
            ctx.device_transmit_over(id);
            return;
        }
        if let Some(call) = self.call(id) {
            call.handle_end();
            return;
        }
        if let Kind::WaitForCloud(wait) = &mut self.kind {
            wait.stream_over(ctx, id);
        }
    }

    pub(crate) fn handle_failure<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        id: TransmitId,
        failure: NetFailure,
    ) {
        let blocked = ctx.blocked(failure);
        if let Some(exchange) = self.exchange(id) {
            exchange.handle_failure(ctx.now, blocked);
            ctx.device_transmit_over(id);
            return;
        }
        if let Some(call) = self.call(id) {
            call.handle_failure();
            return;
        }
        if let Kind::WaitForCloud(wait) = &mut self.kind {
            wait.stream_over(ctx, id);
        }
    }

    /// The device exchange whose attempt is `id`.
    fn exchange(&mut self, id: TransmitId) -> Option<&mut Exchange> {
        let exchange = match &mut self.kind {
            Kind::Single(single) => Some(&mut single.exchange),
            Kind::Configure(configure) => match &mut configure.stage {
                ConfigureStage::Key(e) | ConfigureStage::Set(e) | ConfigureStage::Send(e) => {
                    Some(e)
                }
                _ => None,
            },
            Kind::WaitForDevice(wait) => match &mut wait.stage {
                WaitStage::Look(e) | WaitStage::Key(e) => Some(e),
                WaitStage::Pause(_) => None,
            },
            Kind::WaitForCloud(wait) => wait.watch.as_mut().and_then(|w| w.look.as_mut()),
            _ => None,
        }?;
        (exchange.transmit() == Some(id)).then_some(exchange)
    }

    /// The cloud call whose request is `id`.
    fn call(&mut self, id: TransmitId) -> Option<&mut CloudCall> {
        let call = match &mut self.kind {
            Kind::Prepare(prepare) => prepare.call.as_mut().map(|c| &mut c.call),
            Kind::CreateClaimCode(call) | Kind::RenameDevice(call) => Some(&mut call.call),
            Kind::Configure(configure) => match &mut configure.stage {
                ConfigureStage::FetchCode(call) => Some(&mut call.call),
                _ => None,
            },
            Kind::WaitForCloud(wait) => {
                if wait.poll.call.as_ref().and_then(CloudCall::transmit) == Some(id) {
                    wait.poll.call.as_mut()
                } else {
                    wait.probe.as_mut().and_then(|probe| probe.call.as_mut())
                }
            }
            _ => None,
        }?;
        (call.transmit() == Some(id)).then_some(call)
    }
}

/// A single look for the device.
fn look(now: u64) -> Exchange {
    Exchange::look(Request::device_id(), now, policy::DEVICE_POLL_DEADLINE_MS)
}

/// Moves an exchange on: its deadline, and sending when due and the line is free.
fn step_exchange<R: ?Sized>(exchange: &mut Exchange, ctx: &mut Ctx<'_, R>) -> bool {
    if let Some(transmit) = exchange.transmit() {
        let after = exchange.handle_timeout(ctx.now);
        ctx.after_device(after, transmit);
    }
    ctx.send_device(exchange)
}

/// A device answered `device-id`: another device than the one known resets what is known.
fn remember_device(session: &mut Session, info: &DeviceInfo) {
    if session.id.as_deref() != Some(info.id.as_str()) {
        *session = Session::new();
        session.id = Some(info.id.clone());
    }
    session.claimed_flag = Some(info.claimed);
}

/// A key read from the device: checked against the expected fingerprint, then kept.
fn accept_key<R: ?Sized>(
    ctx: &mut Ctx<'_, R>,
    key: crate::protocol::key::DeviceKey,
) -> Result<Outcome, Error> {
    if let Some(expected) = ctx.config.expected_fingerprint {
        if key.fingerprint() != expected {
            return Err(Error::FingerprintMismatch);
        }
    }
    let outcome = Outcome::PublicKey {
        fingerprint: key.fingerprint(),
        bits: key.bits(),
    };
    ctx.session.key = Some(key);
    Ok(outcome)
}

fn unexpected(exchange: &Exchange) -> Error {
    Error::InvalidResponse {
        command: exchange.command(),
        reason: "unexpected reply",
    }
}
