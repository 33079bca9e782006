//! The operations the machine runs: each a small state machine over device exchanges and
//! cloud calls, advanced by [`Op::advance`] and fed what arrives for its requests.

use crate::protocol::cloud::{self, ClaimAttempt, CloudRequest, DeviceStatus, EventStreamReader};
use crate::protocol::command::Request;
use crate::protocol::credentials::{ClaimCode, Credentials, Network};
use crate::protocol::error::Error;
use crate::protocol::policy;
use crate::protocol::reply::{DeviceInfo, Reply};
use crate::protocol::scan::networks;

use super::cloud_call::CloudCall;
use super::exchange::{Ending, Exchange};
use super::{
    BodyEnding, Ctx, NetFailure, OpId, Operation, Outcome, Session, SetupConfig, Step, TransmitId,
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
                .deadline_at_least(config.deadline_ms)
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
            }),
            Operation::WaitForCloud {
                device_id,
                timeout_ms,
                interval_ms,
                watch_device,
            } => {
                let device_id = device_id_of(device_id.or_else(|| session.id.clone()))
                    .ok_or(Error::DeviceUnreachable)?;
                if config.cloud.is_none() {
                    return Err(Error::TokenInvalid);
                }
                Kind::WaitForCloud(Box::new(WaitForCloud::new(
                    device_id,
                    now,
                    timeout_ms,
                    interval_ms.max(100),
                    watch_device,
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
            Kind::Single(single) => single.advance(ctx, self.flow),
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
            Kind::WaitForDevice(wait) => wait.advance(ctx),
            Kind::WaitForCloud(wait) => wait.advance(ctx),
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
                    wait.probe.call.as_mut()
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

// --- one device command ---

#[derive(Debug, Clone, Copy)]
enum What {
    Version,
    DeviceInfo,
    PublicKey,
    Scan,
    Set,
    Connect,
}

#[derive(Debug)]
struct Single {
    what: What,
    exchange: Exchange,
}

impl Single {
    fn new(what: What, exchange: Exchange) -> Self {
        Self { what, exchange }
    }

    fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, _flow: bool) -> (bool, Finish) {
        let moved = step_exchange(&mut self.exchange, ctx);
        let Some(outcome) = self.exchange.take_outcome() else {
            return (moved, None);
        };
        let result = outcome.and_then(|ending| match (self.what, ending) {
            (What::Connect, Ending::ProbablyConnecting) => Ok(Outcome::Connect {
                acknowledged: false,
            }),
            (What::Connect, Ending::Reply(Reply::Ok)) => {
                Ok(Outcome::Connect { acknowledged: true })
            }
            (What::Version, Ending::Reply(Reply::Version(v))) => Ok(Outcome::Version(v)),
            (What::DeviceInfo, Ending::Reply(Reply::DeviceId(info))) => {
                remember_device(ctx.session, &info);
                Ok(Outcome::Device(info))
            }
            (What::PublicKey, Ending::Reply(Reply::PublicKey(key))) => accept_key(ctx, key),
            (What::Scan, Ending::Reply(Reply::ScanAp(entries))) => {
                Ok(Outcome::Networks(networks(&entries)))
            }
            (What::Set, Ending::Reply(Reply::Ok)) => Ok(Outcome::Done),
            _ => Err(unexpected(&self.exchange)),
        });
        (true, Some(result))
    }
}

// --- configure-ap, with the key and the claim code it needs ---

#[derive(Debug)]
struct Configure {
    network: Network,
    claim: bool,
    enterprise: bool,
    stage: ConfigureStage,
}

#[derive(Debug)]
enum ConfigureStage {
    Start,
    Key(Exchange),
    FetchCode(RetryingCall),
    Set(Exchange),
    Send(Exchange),
}

impl ConfigureStage {
    fn transmit(&self) -> Option<TransmitId> {
        match self {
            Self::Start => None,
            Self::FetchCode(call) => call.call.transmit(),
            Self::Key(e) | Self::Set(e) | Self::Send(e) => e.transmit(),
        }
    }
}

impl Configure {
    fn device<R: ?Sized>(ctx: &Ctx<'_, R>, request: Request) -> Exchange {
        Exchange::new(request, ctx.now)
            .max_attempts(ctx.config.attempts)
            .deadline_at_least(ctx.config.deadline_ms)
    }

    fn advance<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> (bool, Finish) {
        let mut moved = false;
        loop {
            let next = match &mut self.stage {
                ConfigureStage::Start => match ctx.session.key {
                    None => ConfigureStage::Key(Self::device(ctx, Request::public_key())),
                    Some(_) => match self.claim_stage(ctx) {
                        Ok(stage) => stage,
                        Err(e) => return (true, Some(Err(e))),
                    },
                },
                ConfigureStage::Key(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::PublicKey(key)))) => {
                            if let Err(e) = accept_key(ctx, key) {
                                return (true, Some(Err(e)));
                            }
                            match self.claim_stage(ctx) {
                                Ok(stage) => stage,
                                Err(e) => return (true, Some(Err(e))),
                            }
                        }
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::FetchCode(call) => {
                    let (m, result) = call.advance(ctx);
                    moved |= m;
                    let Some(result) = result else {
                        return (moved, None);
                    };
                    let code = result
                        .and_then(|(status, body)| cloud::read_claim_code(status, &body))
                        .and_then(|reply| ClaimCode::new(&reply.claim_code));
                    match code {
                        Ok(code) => self.set_stage(ctx, code),
                        Err(e) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::Set(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::Ok))) => match self.send_stage(ctx) {
                            Ok(stage) => stage,
                            Err(e) => return (true, Some(Err(e))),
                        },
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::Send(exchange) => {
                    // The key's reply may just have shown that the firmware never ends its
                    // bodies: 0.6, which cannot store enterprise settings.
                    let unsent = exchange.transmit().is_none() && exchange.ready_to_send(ctx.now);
                    if unsent && self.enterprise && ctx.session.ending == BodyEnding::Never {
                        return (true, Some(Err(Error::FirmwareTooOld)));
                    }
                    moved |= step_exchange(exchange, ctx);
                    return match exchange.take_outcome() {
                        None => (moved, None),
                        Some(Ok(Ending::Reply(Reply::Ok))) => (true, Some(Ok(Outcome::Done))),
                        Some(Ok(_)) => (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => (true, Some(Err(e))),
                    };
                }
            };
            self.stage = next;
            moved = true;
        }
    }

    /// The claim code to send: the one this device already got (a second try after a wrong
    /// password: the code is spent only when the device reaches the cloud), else one fetched
    /// ahead, else a new one (only while the page is still online).
    fn claim_stage<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> Result<ConfigureStage, Error> {
        if !self.claim {
            return self.send_stage(ctx);
        }
        let code = ctx
            .session
            .claim_code
            .clone()
            .or_else(|| ctx.codes.pop_front());
        match (code, &ctx.config.cloud) {
            (Some(code), _) => Ok(self.set_stage(ctx, code)),
            (None, Some(cloud)) => Ok(ConfigureStage::FetchCode(RetryingCall::new(
                cloud.claim_code_request(),
                ctx.now,
            ))),
            (None, None) => self.send_stage(ctx),
        }
    }

    fn set_stage<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, code: ClaimCode) -> ConfigureStage {
        let request = Request::set_claim_code(&code);
        ctx.session.claim_code = Some(code);
        ConfigureStage::Set(Self::device(ctx, request))
    }

    fn send_stage<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> Result<ConfigureStage, Error> {
        let key = ctx.session.key.as_ref().ok_or(Error::DeviceUnreachable)?;
        let request = Request::configure_ap(&self.network, key, ctx.rng)?;
        Ok(ConfigureStage::Send(
            Self::device(ctx, request).enterprise(self.enterprise),
        ))
    }
}

// --- cloud calls with the policy of one-shot requests ---

/// A cloud call's status and body.
type Answer = (u16, Vec<u8>);

/// A cloud request retried while the cloud is unreachable or struggling (at most three
/// attempts), its answer handed back otherwise.
#[derive(Debug)]
struct RetryingCall {
    call: CloudCall,
    failures: u32,
}

impl RetryingCall {
    fn new(request: CloudRequest, now: u64) -> Self {
        Self {
            call: CloudCall::new(request, now),
            failures: 0,
        }
    }

    fn advance<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> (bool, Option<Result<Answer, Error>>) {
        if let Some(transmit) = self.call.transmit() {
            if self.call.handle_timeout(ctx.now) {
                ctx.transmits.push_back(super::Transmit::Abort(transmit));
            }
        }
        let moved = ctx.send_cloud(&mut self.call);
        match self.call.take_outcome() {
            None => (moved, None),
            Some(outcome) => {
                let retry = match &outcome {
                    Err(Error::CloudUnreachable) => true,
                    Ok((status, _)) => *status == 429 || *status >= 500,
                    Err(_) => false,
                };
                self.failures += 1;
                if retry && self.failures < policy::MAX_ATTEMPTS {
                    let request = self.call.request.clone();
                    self.call =
                        CloudCall::new(request, ctx.now + policy::cloud_backoff_ms(self.failures));
                    return (true, None);
                }
                (true, Some(outcome))
            }
        }
    }
}

// --- claim codes fetched ahead ---

#[derive(Debug)]
struct Prepare {
    devices: usize,
    call: Option<RetryingCall>,
}

impl Prepare {
    fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>) -> (bool, Finish) {
        let Some(cloud) = &ctx.config.cloud else {
            return (
                true,
                Some(Ok(Outcome::Prepared {
                    ready: ctx.codes.len() as u32,
                })),
            );
        };
        if ctx.codes.len() >= self.devices {
            return (
                true,
                Some(Ok(Outcome::Prepared {
                    ready: ctx.codes.len() as u32,
                })),
            );
        }
        let request = cloud.claim_code_request();
        let call = self
            .call
            .get_or_insert_with(|| RetryingCall::new(request, ctx.now));
        let (moved, result) = call.advance(ctx);
        let Some(result) = result else {
            return (moved, None);
        };
        self.call = None;
        let code = result
            .and_then(|(status, body)| cloud::read_claim_code(status, &body))
            .and_then(|reply| ClaimCode::new(&reply.claim_code));
        match code {
            Ok(code) => {
                ctx.codes.push_back(code);
                (true, None)
            }
            Err(e) => (true, Some(Err(e))),
        }
    }
}

// --- looking for the device while the customer joins its network ---

#[derive(Debug)]
struct WaitForDevice {
    deadline: u64,
    interval: u64,
    stage: WaitStage,
    look_started: u64,
    found: Option<DeviceInfo>,
}

#[derive(Debug)]
enum WaitStage {
    Look(Exchange),
    Pause(u64),
    Key(Exchange),
}

impl WaitForDevice {
    fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>) -> (bool, Finish) {
        let mut moved = false;
        loop {
            let next = match &mut self.stage {
                WaitStage::Pause(until) => {
                    if ctx.now < *until {
                        return (moved, None);
                    }
                    self.look_started = ctx.now;
                    WaitStage::Look(look(ctx.now))
                }
                WaitStage::Look(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::DeviceId(info)))) => {
                            remember_device(ctx.session, &info);
                            if ctx.session.key.is_some() {
                                return (true, Some(Ok(self.found(ctx, info))));
                            }
                            self.found = Some(info);
                            WaitStage::Key(
                                Exchange::new(Request::public_key(), ctx.now)
                                    .max_attempts(ctx.config.attempts)
                                    .deadline_at_least(ctx.config.deadline_ms),
                            )
                        }
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e @ (Error::LocalNetworkDenied | Error::MixedContentBlocked))) => {
                            return (true, Some(Err(e)))
                        }
                        Some(Err(e)) => {
                            let next = (self.look_started + self.interval).max(ctx.now);
                            if next >= self.deadline {
                                return (true, Some(Err(e)));
                            }
                            WaitStage::Pause(next)
                        }
                    }
                }
                WaitStage::Key(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    return match exchange.take_outcome() {
                        None => (moved, None),
                        Some(Ok(Ending::Reply(Reply::PublicKey(key)))) => {
                            let result = accept_key(ctx, key).map(|_| {
                                let info = self.found.take().unwrap_or(DeviceInfo {
                                    id: ctx.session.id.clone().unwrap_or_default(),
                                    claimed: false,
                                });
                                self.found(ctx, info)
                            });
                            (true, Some(result))
                        }
                        Some(Ok(_)) => (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => (true, Some(Err(e))),
                    };
                }
            };
            self.stage = next;
            moved = true;
        }
    }

    fn found<R: ?Sized>(&self, ctx: &mut Ctx<'_, R>, info: DeviceInfo) -> Outcome {
        ctx.progress(Step::DeviceFound, Some(info.claimed), None);
        Outcome::Device(info)
    }
}

// --- waiting for the device in the cloud ---

#[derive(Debug)]
struct WaitForCloud {
    device_id: String,
    deadline: u64,
    interval: u64,
    stream: Stream,
    poll: Polling,
    probe: Polling,
    watch: Option<Watch>,
    /// The cloud lists the device as the customer's (offline so far).
    owned: bool,
    /// The customer's event stream said the device came online: only the customer's own
    /// devices are in it.
    online_event: bool,
}

#[derive(Debug)]
enum Stream {
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
struct Polling {
    call: Option<CloudCall>,
    next_at: u64,
    failures: u32,
}

/// Looks at the device's own network. The first look comes [`policy::DEVICE_WATCH_MS`] after
/// the wait began, when a device that took `connect-ap` has long taken its access point down:
/// the same device answering then is in setup mode (it never left, or it came back).
#[derive(Debug)]
struct Watch {
    look: Option<Exchange>,
    next_at: u64,
}

impl WaitForCloud {
    fn new(device_id: String, now: u64, timeout_ms: u64, interval: u64, watch: bool) -> Self {
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
            probe: Polling {
                call: None,
                next_at: now + policy::CLAIM_PROBE_AFTER_MS,
                failures: 0,
            },
            watch: watch.then_some(Watch {
                look: None,
                next_at: now + policy::DEVICE_WATCH_MS,
            }),
            owned: false,
            online_event: false,
        }
    }

    fn transmits(&self) -> Vec<TransmitId> {
        let mut open = Vec::new();
        if let Stream::Open { transmit, .. } = self.stream {
            open.push(transmit);
        }
        open.extend(self.poll.call.as_ref().and_then(CloudCall::transmit));
        open.extend(self.probe.call.as_ref().and_then(CloudCall::transmit));
        if let Some(watch) = &self.watch {
            open.extend(watch.look.as_ref().and_then(Exchange::transmit));
        }
        open
    }

    fn stream_is_up(&self) -> bool {
        matches!(
            self.stream,
            Stream::Open {
                status: Some(200),
                ..
            }
        )
    }

    fn wake_at(&self) -> Option<u64> {
        let stream = match &self.stream {
            Stream::Closed { retry_at, .. } => Some(*retry_at),
            Stream::Open { last_byte, .. } => Some(last_byte + policy::STREAM_IDLE_MS),
            Stream::Refused(_) => Some(0),
        };
        let poll = match &self.poll.call {
            Some(call) => call.wake_at(),
            None => Some(self.poll.next_at),
        };
        let probe = match &self.probe.call {
            Some(call) => call.wake_at(),
            None if self.owned => None,
            None => Some(self.probe.next_at),
        };
        let watch = self.watch.as_ref().and_then(|w| match &w.look {
            Some(look) => look.wake_at(),
            None => Some(w.next_at),
        });
        [Some(self.deadline), stream, poll, probe, watch]
            .into_iter()
            .flatten()
            .min()
    }

    fn claimed<R: ?Sized>(&self, ctx: &mut Ctx<'_, R>) -> Finish {
        if !ctx.done.contains(&self.device_id) {
            ctx.done.push(self.device_id.clone());
        }
        if ctx.session.id.is_none() {
            ctx.session.id = Some(self.device_id.clone());
        }
        ctx.progress(Step::Claimed, None, None);
        Some(Ok(Outcome::Claimed {
            device_id: self.device_id.clone(),
        }))
    }

    fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>) -> (bool, Finish) {
        let now = ctx.now;
        let Some(cloud) = ctx.config.cloud.clone() else {
            return (true, Some(Err(Error::TokenInvalid)));
        };
        if let Stream::Refused(error) = &self.stream {
            return (true, Some(Err(error.clone())));
        }
        if self.online_event {
            return (true, self.claimed(ctx));
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
                ctx.transmits.push_back(super::Transmit::Abort(*transmit));
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
        if let Some(call) = &mut self.poll.call {
            if let Some(transmit) = call.transmit() {
                if call.handle_timeout(now) {
                    ctx.transmits.push_back(super::Transmit::Abort(transmit));
                }
            }
            moved |= ctx.send_cloud(call);
            if let Some(outcome) = call.take_outcome() {
                self.poll.call = None;
                moved = true;
                match outcome.and_then(|(s, b)| cloud::read_devices(s, &b, &self.device_id)) {
                    Ok(DeviceStatus::Online) => return (true, self.claimed(ctx)),
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
        }

        // Claiming outright tells a device owned by another customer apart.
        if !self.owned && self.probe.call.is_none() && now >= self.probe.next_at {
            self.probe.call = Some(CloudCall::new(
                cloud.claim_device_request(&self.device_id),
                now,
            ));
        }
        if let Some(call) = &mut self.probe.call {
            if let Some(transmit) = call.transmit() {
                if call.handle_timeout(now) {
                    ctx.transmits.push_back(super::Transmit::Abort(transmit));
                }
            }
            moved |= ctx.send_cloud(call);
            if let Some(outcome) = call.take_outcome() {
                self.probe.call = None;
                moved = true;
                self.probe.next_at = now + policy::CLAIM_PROBE_EVERY_MS;
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

    fn stream_head<R: ?Sized>(&mut self, _ctx: &mut Ctx<'_, R>, id: TransmitId, code: u16) {
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

    fn stream_data<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, id: TransmitId, data: &[u8]) {
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

    fn stream_over<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>, id: TransmitId) {
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
