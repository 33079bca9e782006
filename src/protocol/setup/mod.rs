//! The whole setup as one state machine without I/O, in the style of quinn-proto and rustls.
//!
//! [`Setup`] never touches a network, a clock or a global random source. Its caller (the
//! browser layer, or a test on a virtual clock) drives it:
//!
//! - **inputs**: the customer's choices ([`Setup::start`] an [`Operation`], [`Setup::cancel`],
//!   [`Setup::next_device`]) and what arrives for each request ([`Setup::handle_head`],
//!   [`Setup::handle_data`], [`Setup::handle_end`], [`Setup::handle_failure`]), and
//!   [`Setup::handle_timeout`] when the deadline it asked for has come — each with the time;
//! - **outputs**, in this order after every input: [`Setup::poll_transmit`] (requests to send
//!   or abort), [`Setup::poll_event`] (progress and finished operations) and
//!   [`Setup::poll_timeout`] (when to call `handle_timeout` next).
//!
//! ```text
//! loop {
//!     while let Some(t) = setup.poll_transmit() { send or abort it }
//!     while let Some(e) = setup.poll_event() { report it }
//!     wait for an arrival or setup.poll_timeout(), then feed it in with the time
//! }
//! ```
//!
//! Every policy lives here, once: deadlines and retries of device commands
//! ([`crate::protocol::policy`]), when a reply is complete and how large it may be, one
//! request to the device at a time, the key cache and the fingerprint check before any secret
//! leaves, claim codes fetched ahead and reused for a device configured again, learning
//! whether the device's firmware ends its replies (enterprise needs 0.7), and the wait for the
//! device in the cloud (its event stream raced with calm polling, a claim by another customer
//! told apart, the device seen back in setup mode).

mod cloud_call;
mod exchange;
mod ops;

use std::collections::VecDeque;

use rand_core::TryCryptoRng;
use serde::Serialize;

use crate::protocol::browser::{self, FailureContext, Permission};
use crate::protocol::cloud::{ClaimCodeReply, CloudConfig, CloudRequest};
use crate::protocol::command::CONTENT_TYPE;
use crate::protocol::credentials::{ClaimCode, NetworkOptions};
use crate::protocol::error::Error;
use crate::protocol::key::{DeviceKey, Fingerprint};
use crate::protocol::policy;
use crate::protocol::reply::DeviceInfo;
use crate::protocol::scan::Network;

use exchange::After;
use ops::Op;

/// A step of the setup, as progress events and errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Online: claim codes are fetched.
    Preparing,
    /// The customer is joining the device's network; the device is looked for.
    WaitingForDevice,
    /// The device answered; its key was checked.
    DeviceFound,
    /// The device lists the networks it sees.
    Scanning,
    /// Claim code and network sent.
    Configuring,
    /// `connect-ap` sent: the device leaves its access point.
    Connecting,
    /// Back online: waiting for the device to reach the cloud, claimed.
    WaitingForCloud,
    /// Done: the device is online and the customer's.
    Claimed,
    /// A step failed.
    Failed,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 9] = [
        Self::Preparing,
        Self::WaitingForDevice,
        Self::DeviceFound,
        Self::Scanning,
        Self::Configuring,
        Self::Connecting,
        Self::WaitingForCloud,
        Self::Claimed,
        Self::Failed,
    ];

    /// The step's name in events and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Preparing => "preparing",
            Self::WaitingForDevice => "waiting-for-device",
            Self::DeviceFound => "device-found",
            Self::Scanning => "scanning",
            Self::Configuring => "configuring",
            Self::Connecting => "connecting",
            Self::WaitingForCloud => "waiting-for-cloud",
            Self::Claimed => "claimed",
            Self::Failed => "failed",
        }
    }
}

/// What the machine is set up with.
#[derive(Clone, Debug)]
pub struct SetupConfig {
    /// The device, `http://192.168.0.1` on a real one.
    pub device_url: String,
    /// Requests to the device declare `targetAddressSpace: "local"` (see
    /// [`browser::declares_local`]).
    pub declare_local: bool,
    /// The page is `https:`: a failed device request may be the browser's mixed-content block.
    pub page_is_https: bool,
    /// The customer's cloud; without it, no claim codes and no cloud wait.
    pub cloud: Option<CloudConfig>,
    /// The key the device must have: anything else is refused before a secret is sent.
    pub expected_fingerprint: Option<Fingerprint>,
    /// Attempts of each device command (1 to [`policy::MAX_ATTEMPTS`]).
    pub attempts: u32,
    /// Deadline of quick device commands, if not the policy's.
    pub deadline_ms: Option<u64>,
}

impl SetupConfig {
    /// A machine for the device at `device_url`, with the policy's defaults.
    pub fn new(device_url: &str) -> Self {
        let device_url = device_url.trim_end_matches('/').to_owned();
        Self {
            declare_local: browser::declares_local(&device_url, None),
            device_url,
            page_is_https: false,
            cloud: None,
            expected_fingerprint: None,
            attempts: policy::MAX_ATTEMPTS,
            deadline_ms: None,
        }
    }
}

/// Something the caller asked for.
#[derive(Clone, Debug)]
pub enum Operation {
    /// `version`.
    Version,
    /// `device-id`.
    DeviceInfo,
    /// `public-key`, checked against the expected fingerprint, kept for `configure-ap`.
    PublicKey,
    /// `scan-ap`: the networks to show.
    Scan,
    /// `set` with a claim code.
    SetClaimCode(ClaimCode),
    /// `configure-ap` (the key fetched first if needed). With `claim`, the device's claim code
    /// is sent first: the one it already got, else one fetched ahead, else a new one.
    Configure {
        /// The network.
        network: NetworkOptions,
        /// Send the claim code too.
        claim: bool,
    },
    /// `connect-ap`.
    Connect,
    /// Fetch claim codes until this many are ready.
    Prepare {
        /// Devices of the installation.
        devices: u32,
    },
    /// Look for the device until it answers, then read and check its key.
    WaitForDevice {
        /// Give up after this long.
        timeout_ms: u64,
        /// Between two looks.
        interval_ms: u64,
    },
    /// Wait until the device is online and this customer's.
    WaitForCloud {
        /// The device; the current one when `None`.
        device_id: Option<String>,
        /// Give up after this long.
        timeout_ms: u64,
        /// Between polls while the event stream is down.
        interval_ms: u64,
        /// Look at the device's own network meanwhile: the device answering there again means
        /// it could not join and is back in setup mode.
        watch_device: bool,
        /// Claim the device outright while nobody owns it, which also tells a device another
        /// customer owns apart (spec §13.8). A customer token can claim any unowned product
        /// device by its id, so this is only for a device this customer just gave a claim
        /// code (the handoff's device page did): never for an id from a link alone. The
        /// device the machine itself gave a claim code is claimed this way without it.
        claim_unowned: bool,
    },
    /// One claim code, for the caller.
    CreateClaimCode,
    /// Give the customer's device a name in the cloud.
    RenameDevice {
        /// The device.
        device_id: String,
        /// The name, as the customer typed it (checked by [`crate::protocol::cloud::device_name`]).
        name: String,
    },
}

impl Operation {
    /// The step a flow reports while this runs.
    pub fn step(&self) -> Step {
        match self {
            Self::Version | Self::DeviceInfo | Self::PublicKey => Step::DeviceFound,
            Self::Scan => Step::Scanning,
            Self::SetClaimCode(_) | Self::Configure { .. } => Step::Configuring,
            Self::Connect => Step::Connecting,
            Self::Prepare { .. } | Self::CreateClaimCode => Step::Preparing,
            Self::WaitForDevice { .. } => Step::WaitingForDevice,
            Self::WaitForCloud { .. } => Step::WaitingForCloud,
            Self::RenameDevice { .. } => Step::Claimed,
        }
    }
}

/// What a finished operation gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `version`.
    Version(u32),
    /// `device-id`, or the device found by [`Operation::WaitForDevice`].
    Device(DeviceInfo),
    /// The device key.
    PublicKey {
        /// SHA-256 of its SubjectPublicKeyInfo.
        fingerprint: Fingerprint,
        /// Modulus length.
        bits: usize,
    },
    /// The networks to show.
    Networks(Vec<Network>),
    /// Done, nothing to report.
    Done,
    /// `connect-ap`: `acknowledged` is false when its reply was lost (most likely joining).
    Connect {
        /// The device answered.
        acknowledged: bool,
    },
    /// Claim codes ready.
    Prepared {
        /// How many.
        ready: u32,
    },
    /// A claim code.
    ClaimCode(ClaimCodeReply),
    /// The device is online and this customer's.
    Claimed {
        /// Its id.
        device_id: String,
    },
}

/// An operation's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u32);

/// A request's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransmitId(pub u64);

/// Who a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The device (HTTP, CORS-simple).
    Device,
    /// The cloud API.
    Cloud,
}

/// A request to send. `authorization` and `body` may carry secrets (a token, a claim code,
/// encrypted credentials): never log them.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its handle: arrivals are fed back with it.
    pub id: TransmitId,
    /// Device or cloud.
    pub peer: Peer,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// Body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    /// Declare `targetAddressSpace: "local"` (Chrome's Local Network Access).
    pub declare_local: bool,
}

impl core::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_bytes", &self.body.as_ref().map(|(b, _)| b.len()))
            .finish_non_exhaustive()
    }
}

/// What the caller must do on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send this request; feed back its head, body and end (or failure).
    Send(Outgoing),
    /// Stop this request: its outcome is known, it timed out, or it was cancelled. Nothing
    /// more is expected for it.
    Abort(TransmitId),
}

/// Progress of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The step.
    pub step: Step,
    /// The device, once known.
    pub device_id: Option<String>,
    /// Whether the device believes it is claimed ([`Step::DeviceFound`]).
    pub claimed: Option<bool>,
    /// What failed ([`Step::Failed`]).
    pub error: Option<Error>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A flow moved on.
    Progress(Progress),
    /// An operation finished.
    Finished {
        /// Which.
        op: OpId,
        /// How.
        result: Result<Outcome, Error>,
    },
}

/// How a request failed, as the browser saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFailure {
    /// `fetch` rejected or the body broke off. `permission`: the Local Network Access
    /// permission state read after the failure (`None` where the browser has none).
    Network {
        /// The permission state.
        permission: Option<Permission>,
    },
}

/// Whether the device ends its chunked bodies, learnt from its first reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEnding {
    /// Not known yet.
    Unknown,
    /// It does (Device OS 0.7 and later).
    Ends,
    /// It never does (0.6 and older, spec §3.2.4).
    Never,
}

/// What the machine knows of the device being set up.
#[derive(Debug)]
struct Session {
    id: Option<String>,
    claimed_flag: Option<bool>,
    key: Option<DeviceKey>,
    ending: BodyEnding,
    /// The claim code this device got: reused if it is configured again.
    claim_code: Option<ClaimCode>,
}

impl Session {
    fn new() -> Self {
        Self {
            id: None,
            claimed_flag: None,
            key: None,
            ending: BodyEnding::Unknown,
            claim_code: None,
        }
    }
}

/// The device line: one request at a time (the device runs commands one after another, and
/// 0.6 has a single HTTP connection).
#[derive(Debug, Default)]
struct Line {
    busy: Option<TransmitId>,
    /// A complete reply whose body may still end: kept open briefly to learn whether the
    /// firmware ends bodies.
    linger: Option<(TransmitId, u64)>,
    /// Replies complete on a device that ends its bodies: left to end on their own until
    /// then, aborted after it (a connection held open is one the browser cannot reuse).
    draining: Vec<(TransmitId, u64)>,
}

impl Line {
    fn is_free(&self) -> bool {
        self.busy.is_none() && self.linger.is_none()
    }

    /// Forgets a draining reply whose stream is over; whether it was one.
    fn drained(&mut self, id: TransmitId) -> bool {
        let before = self.draining.len();
        self.draining.retain(|&(t, _)| t != id);
        self.draining.len() != before
    }

    fn is_draining(&self, id: TransmitId) -> bool {
        self.draining.iter().any(|&(t, _)| t == id)
    }
}

/// Everything an operation may use besides itself.
struct Ctx<'a, R: ?Sized> {
    now: u64,
    config: &'a mut SetupConfig,
    rng: &'a mut R,
    line: &'a mut Line,
    session: &'a mut Session,
    codes: &'a mut VecDeque<ClaimCode>,
    done: &'a mut Vec<String>,
    next_transmit: &'a mut u64,
    device_requests: &'a mut u32,
    transmits: &'a mut VecDeque<Transmit>,
    events: &'a mut VecDeque<Event>,
    /// The page is shown (see [`Setup::set_visible`]).
    visible: bool,
}

impl<R: ?Sized> Ctx<'_, R> {
    fn transmit_id(&mut self) -> TransmitId {
        *self.next_transmit += 1;
        TransmitId(*self.next_transmit)
    }

    fn progress(&mut self, step: Step, claimed: Option<bool>, error: Option<Error>) {
        self.events.push_back(Event::Progress(Progress {
            step,
            device_id: self.session.id.clone(),
            claimed,
            error,
        }));
    }

    /// Sends an exchange's next attempt if it is due and the line is free.
    fn send_device(&mut self, exchange: &mut exchange::Exchange) -> bool {
        if !exchange.ready_to_send(self.now) || !self.line.is_free() {
            return false;
        }
        let id = self.transmit_id();
        let request = &exchange.request;
        self.transmits.push_back(Transmit::Send(Outgoing {
            id,
            peer: Peer::Device,
            method: request.method().as_str(),
            url: format!("{}{}", self.config.device_url, request.path()),
            authorization: None,
            body: request.body().map(|b| (b.to_vec(), CONTENT_TYPE)),
            declare_local: self.config.declare_local,
        }));
        *self.device_requests += 1;
        self.line.busy = Some(id);
        exchange.sent(self.now, id);
        true
    }

    /// Sends a cloud call if it is due.
    fn send_cloud(&mut self, call: &mut cloud_call::CloudCall) -> bool {
        if !call.ready_to_send(self.now) {
            return false;
        }
        let id = self.send_cloud_request(&call.request);
        call.sent(self.now, id);
        true
    }

    /// Sends a cloud request now.
    fn send_cloud_request(&mut self, request: &CloudRequest) -> TransmitId {
        let id = self.transmit_id();
        self.transmits.push_back(Transmit::Send(Outgoing {
            id,
            peer: Peer::Cloud,
            method: request.method,
            url: request.url.clone(),
            authorization: Some(request.authorization.clone()),
            body: request
                .form
                .as_ref()
                .map(|f| (f.as_bytes().to_vec(), CONTENT_TYPE)),
            declare_local: false,
        }));
        id
    }

    /// What a device request's network failure most likely was.
    fn blocked(&self, failure: NetFailure) -> Option<Error> {
        let NetFailure::Network { permission } = failure;
        let url = &self.config.device_url;
        let context = FailureContext {
            page_is_https: self.config.page_is_https,
            device_is_http: url.starts_with("http:"),
            declared_local: self.config.declare_local,
            permission,
            device_is_loopback: browser::url_host(url)
                .is_some_and(|h| browser::is_loopback(&h.to_ascii_lowercase())),
        };
        match browser::classify_network_failure(context) {
            e @ (Error::LocalNetworkDenied | Error::MixedContentBlocked) => Some(e),
            _ => None,
        }
    }

    /// The line's bookkeeping after an input to the exchange that holds it.
    fn after_device(&mut self, after: After, transmit: TransmitId) {
        if self.line.busy == Some(transmit) {
            match after {
                After::Nothing => {}
                After::Abort(t) => {
                    self.line.busy = None;
                    self.transmits.push_back(Transmit::Abort(t));
                }
                After::Complete(t) => {
                    self.line.busy = None;
                    match self.session.ending {
                        BodyEnding::Never => self.transmits.push_back(Transmit::Abort(t)),
                        BodyEnding::Ends => self
                            .line
                            .draining
                            .push((t, self.now + policy::END_OF_BODY_GRACE_MS)),
                        BodyEnding::Unknown => {
                            self.line.linger = Some((t, self.now + policy::END_OF_BODY_GRACE_MS));
                        }
                    }
                }
            }
        }
    }

    /// The exchange's transmit ended on its own (end or failure): the line is free.
    fn device_transmit_over(&mut self, transmit: TransmitId) {
        if self.line.busy == Some(transmit) {
            self.line.busy = None;
        }
    }
}

/// The setup machine. `R` is the random source for encryption.
pub struct Setup<R> {
    config: SetupConfig,
    rng: R,
    now: u64,
    next_op: u32,
    next_transmit: u64,
    ops: Vec<Op>,
    line: Line,
    session: Session,
    codes: VecDeque<ClaimCode>,
    done: Vec<String>,
    cancelled: bool,
    device_requests: u32,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    visible: bool,
}

impl<R> core::fmt::Debug for Setup<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Setup")
            .field("device_url", &self.config.device_url)
            .field("device", &self.session.id)
            .field("operations", &self.ops.len())
            .finish_non_exhaustive()
    }
}

impl<R: TryCryptoRng> Setup<R> {
    /// A machine with no operation running.
    pub fn new(config: SetupConfig, rng: R) -> Self {
        Self {
            config,
            rng,
            now: 0,
            next_op: 0,
            next_transmit: 0,
            ops: Vec::new(),
            line: Line::default(),
            session: Session::new(),
            codes: VecDeque::new(),
            done: Vec::new(),
            cancelled: false,
            device_requests: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            visible: true,
        }
    }

    // --- getters ---

    /// The configuration.
    pub fn config(&self) -> &SetupConfig {
        &self.config
    }

    /// The current device's id, once it answered.
    pub fn device_id(&self) -> Option<&str> {
        self.session.id.as_deref()
    }

    /// Whether the current device ends its replies, as learnt so far.
    pub fn body_ending(&self) -> BodyEnding {
        self.session.ending
    }

    /// Claim codes ready for the next devices.
    pub fn claim_codes_ready(&self) -> usize {
        self.codes.len()
    }

    /// Devices set up so far (online and claimed), in order.
    pub fn devices(&self) -> &[String] {
        &self.done
    }

    /// Requests sent to the device so far, attempts included.
    pub fn device_requests(&self) -> u32 {
        self.device_requests
    }

    /// Whether any operation is running.
    pub fn is_idle(&self) -> bool {
        self.ops.is_empty()
    }

    // --- inputs: the caller's choices ---

    /// Starts an operation; its [`Event::Finished`] says how it ended. A flow (`flow`)
    /// also reports [`Event::Progress`].
    pub fn start(&mut self, now: u64, operation: Operation, flow: bool) -> OpId {
        self.now = now;
        self.next_op += 1;
        let id = OpId(self.next_op);
        if self.cancelled {
            self.finish(id, flow, Err(Error::Cancelled));
            return id;
        }
        if flow {
            let step = operation.step();
            let device = self.session.id.clone();
            if !matches!(step, Step::DeviceFound) {
                self.events.push_back(Event::Progress(Progress {
                    step,
                    device_id: device,
                    claimed: None,
                    error: None,
                }));
            }
        }
        match Op::new(id, operation, flow, now, &self.config, &self.session) {
            Ok(op) => self.ops.push(op),
            Err(error) => self.finish(id, flow, Err(error)),
        }
        self.drive();
        id
    }

    /// Stops everything: every running operation finishes with [`Error::Cancelled`], every
    /// request is aborted, and later operations fail at once.
    pub fn cancel(&mut self, now: u64) {
        self.now = now;
        self.cancelled = true;
        for op in core::mem::take(&mut self.ops) {
            for transmit in op.transmits() {
                self.transmits.push_back(Transmit::Abort(transmit));
            }
            self.finish(op.id, op.flow, Err(Error::Cancelled));
        }
        let mut open: Vec<TransmitId> = self.line.draining.iter().map(|&(t, _)| t).collect();
        open.extend(self.line.linger.take().map(|(t, _)| t));
        self.line = Line::default();
        for transmit in open {
            self.transmits.push_back(Transmit::Abort(transmit));
        }
    }

    /// Stops one operation: it finishes with [`Error::Cancelled`] and its requests are aborted.
    pub fn abort(&mut self, now: u64, op: OpId) {
        self.now = now;
        if let Some(i) = self.ops.iter().position(|o| o.id == op) {
            let op = self.ops.remove(i);
            for transmit in op.transmits() {
                self.transmits.push_back(Transmit::Abort(transmit));
                if self.line.busy == Some(transmit) {
                    self.line.busy = None;
                }
            }
            self.finish(op.id, op.flow, Err(Error::Cancelled));
            self.drive();
        }
    }

    /// Gets ready for the next device of an installation, which answers at the same address:
    /// forgets the current device (its key, its claim code, the fingerprint it was expected to
    /// have) and expects `fingerprint` of the next if given.
    pub fn next_device(&mut self, fingerprint: Option<Fingerprint>) {
        self.session = Session::new();
        self.config.expected_fingerprint = fingerprint;
    }

    /// Sets or replaces the customer's cloud.
    pub fn set_cloud(&mut self, cloud: Option<CloudConfig>) {
        self.config.cloud = cloud;
    }

    /// A fresh customer token (the old one expired): later cloud requests carry it.
    ///
    /// # Errors
    /// [`Error::TokenInvalid`] for a token that cannot be sent.
    pub fn set_access_token(&mut self, token: &str) -> Result<(), Error> {
        let cloud = self.config.cloud.as_ref().ok_or(Error::TokenInvalid)?;
        self.config.cloud = Some(CloudConfig::new(
            &cloud.api_url,
            token,
            cloud.product.clone(),
        )?);
        Ok(())
    }

    /// Whether the page is shown. While it is hidden (on a phone, the customer is in the Wi-Fi
    /// settings joining the device's network) nobody sees a look for the device succeed and
    /// each failed one is noise, so looks pause; once it shows again, the next look goes out at
    /// once.
    pub fn set_visible(&mut self, now: u64, visible: bool) {
        self.now = now;
        self.visible = visible;
        self.drive();
    }

    // --- inputs: the network and the clock ---

    /// The status line of request `id` arrived.
    pub fn handle_head(&mut self, now: u64, id: TransmitId, status: u16) {
        self.input(now, id, |op, ctx| op.handle_head(ctx, id, status));
    }

    /// Body bytes of request `id` arrived.
    pub fn handle_data(&mut self, now: u64, id: TransmitId, data: &[u8]) {
        if self.line.linger.is_some_and(|(t, _)| t == id) || self.line.is_draining(id) {
            return;
        }
        self.input(now, id, |op, ctx| op.handle_data(ctx, id, data));
    }

    /// The body of request `id` ended.
    pub fn handle_end(&mut self, now: u64, id: TransmitId) {
        if self.line.linger.is_some_and(|(t, _)| t == id) {
            self.now = now;
            self.line.linger = None;
            self.session.ending = BodyEnding::Ends;
            self.drive();
            return;
        }
        if self.line.drained(id) {
            return;
        }
        self.input(now, id, |op, ctx| op.handle_end(ctx, id));
    }

    /// Request `id` failed.
    pub fn handle_failure(&mut self, now: u64, id: TransmitId, failure: NetFailure) {
        if self.line.linger.is_some_and(|(t, _)| t == id) {
            self.now = now;
            self.line.linger = None;
            self.drive();
            return;
        }
        if self.line.drained(id) {
            return;
        }
        self.input(now, id, |op, ctx| op.handle_failure(ctx, id, failure));
    }

    /// The time asked for by [`poll_timeout`](Self::poll_timeout) has come (or any later one).
    pub fn handle_timeout(&mut self, now: u64) {
        self.now = now;
        if let Some((transmit, until)) = self.line.linger {
            if now >= until {
                // No end in time: the firmware never ends its bodies (0.6).
                self.line.linger = None;
                self.session.ending = BodyEnding::Never;
                self.transmits.push_back(Transmit::Abort(transmit));
            }
        }
        // A device that ends its bodies did so at once before; one that no longer does is cut off.
        let (over, kept): (Vec<_>, Vec<_>) = core::mem::take(&mut self.line.draining)
            .into_iter()
            .partition(|&(_, until)| now >= until);
        self.line.draining = kept;
        for (transmit, _) in over {
            self.transmits.push_back(Transmit::Abort(transmit));
        }
        self.drive();
    }

    // --- outputs ---

    /// The next request to send or abort.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if anything waits on time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        let linger = self.line.linger.map(|(_, until)| until);
        let draining = self.line.draining.iter().map(|&(_, until)| until);
        // What is due already waits for the device line, which frees on an input or the
        // linger's end: never a time in the past, or the caller would spin.
        self.ops
            .iter()
            .filter_map(Op::wake_at)
            .filter(|&at| at > self.now)
            .chain(linger)
            .chain(draining)
            .min()
    }

    // --- the machinery ---

    fn input(&mut self, now: u64, id: TransmitId, f: impl FnOnce(&mut Op, &mut Ctx<'_, R>)) {
        self.now = now;
        let mut ops = core::mem::take(&mut self.ops);
        let mut ctx = self.ctx();
        if let Some(op) = ops.iter_mut().find(|op| op.transmits().contains(&id)) {
            f(op, &mut ctx);
        }
        self.ops = ops;
        self.drive();
    }

    fn ctx(&mut self) -> Ctx<'_, R> {
        Ctx {
            now: self.now,
            config: &mut self.config,
            rng: &mut self.rng,
            line: &mut self.line,
            session: &mut self.session,
            codes: &mut self.codes,
            done: &mut self.done,
            next_transmit: &mut self.next_transmit,
            device_requests: &mut self.device_requests,
            transmits: &mut self.transmits,
            events: &mut self.events,
            visible: self.visible,
        }
    }

    /// Advances every operation until none can move without an input.
    fn drive(&mut self) {
        let mut ops = core::mem::take(&mut self.ops);
        loop {
            let mut moved = false;
            let mut ctx = self.ctx();
            let mut finished = Vec::new();
            for (i, op) in ops.iter_mut().enumerate() {
                let (progressed, result) = op.advance(&mut ctx);
                moved |= progressed;
                if let Some(result) = result {
                    finished.push((i, result));
                }
            }
            for (i, result) in finished.into_iter().rev() {
                let op = ops.remove(i);
                for transmit in op.transmits() {
                    self.transmits.push_back(Transmit::Abort(transmit));
                    if self.line.busy == Some(transmit) {
                        self.line.busy = None;
                    }
                }
                self.finish(op.id, op.flow, result);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        self.ops = ops;
    }

    fn finish(&mut self, op: OpId, flow: bool, result: Result<Outcome, Error>) {
        if flow {
            if let Err(error) = &result {
                self.events.push_back(Event::Progress(Progress {
                    step: Step::Failed,
                    device_id: self.session.id.clone(),
                    claimed: None,
                    error: Some(error.clone()),
                }));
            }
        }
        self.events.push_back(Event::Finished { op, result });
    }
}

#[cfg(test)]
mod tests;
