//! A world on a virtual clock: the core's setup machine as the customer's browser, the
//! simulator's device model and cloud in-process, and the phone between the device's access
//! point and the home Wi-Fi. No sockets, no sleeps: time jumps to the next thing due (the
//! quinn-proto `Pair` idea), so a ten-minute wait runs in microseconds and every run with the
//! same seed is the same run.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use softap_sim::cloud::Cloud;
use softap_sim::device::{Device, Firmware, RadioTiming, VisibleNetwork};
use softap_sim::http::{self, Parsed, Route};
use softap_sim::httpd;
use softap_sim::life::{Answer, Change, DeviceModel, Faults, LifeTiming, LogEntry};
use softap_web::protocol::cloud::CloudConfig;
use softap_web::protocol::setup::{
    Event, NetFailure, OpId, Operation, Outcome, Outgoing, Peer, Progress, Setup, SetupConfig,
    Transmit, TransmitId,
};
use softap_web::protocol::Error;

pub const DEVICE_URL: &str = "http://192.168.0.1";
pub const API_URL: &str = "https://api.particle.io";
pub const PRODUCT: u32 = 4242;
pub const KEY_PEM: &str = include_str!("../fixtures/device-1024.pem");
pub const NETWORKS: &str = include_str!("../../sim/fixtures/networks.json");

/// Where the phone is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// The home Wi-Fi: the cloud, not the device.
    Home,
    /// The device's access point: the device, not the cloud.
    Device,
}

#[derive(Clone, Debug)]
enum Arrival {
    Head(u16),
    Data(Vec<u8>),
    End,
    Failure,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    /// A device request, on the access point of this generation.
    Device { generation: u64 },
    /// A cloud request (its arrivals are scheduled).
    Cloud,
    /// An event stream: the cloud's subscription.
    Stream { subscription: u64 },
}

/// Knobs of a world.
#[derive(Clone, Debug)]
pub struct Options {
    pub firmware: Firmware,
    pub faults: Faults,
    /// The phone leaves the device's network this long after its access point went down.
    pub fallback_ms: u64,
    /// The phone joins the device's access point again when it comes back (a known open
    /// network), as a phone may.
    pub rejoin_access_point: bool,
    /// One-way delay to and from the cloud.
    pub cloud_latency_ms: u64,
    pub radio: RadioTiming,
    pub life: LifeTiming,
    pub seed: u64,
    /// A claim code of the product takes a device over from another customer.
    pub claim_takes_over: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            firmware: Firmware::V07,
            faults: Faults::default(),
            fallback_ms: 2_000,
            rejoin_access_point: false,
            cloud_latency_ms: 20,
            radio: RadioTiming {
                scan_entry: Duration::from_millis(40),
                scan: Duration::from_millis(300),
            },
            life: LifeTiming {
                teardown: Duration::from_millis(200),
                join: Duration::from_millis(3_000),
                relisten: Duration::from_millis(8_000),
            },
            seed: 1,
            claim_takes_over: false,
        }
    }
}

/// The whole world.
pub struct World {
    pub now: u64,
    pub client: Setup<ChaCha20Rng>,
    pub device: DeviceModel,
    pub cloud: Cloud,
    pub phone: Network,
    options: Options,
    arrivals: BinaryHeap<Reverse<(u64, u64, TransmitId)>>,
    payloads: BTreeMap<u64, Arrival>,
    sequence: u64,
    open: BTreeMap<TransmitId, Open>,
    phone_switch: Option<(u64, Network)>,
    /// When the device answered its last command (the firmware sets effects in motion then).
    answered_at: Option<u64>,
    pub finished: Vec<(OpId, Result<Outcome, Error>)>,
    pub progress: Vec<Progress>,
    /// Every request the client sent: (time, peer, URL).
    pub sent: Vec<(u64, Peer, String)>,
    /// Aborts the client asked for.
    pub aborted: Vec<TransmitId>,
    pub token: String,
    pub customer: String,
    pub device_id: String,
}

/// A private key for the simulated device: the fixture, or one of a few made once (making
/// an RSA key takes far longer than a setup).
pub fn device_key(index: usize) -> rsa::PrivateKey {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use std::sync::OnceLock;
    static KEYS: OnceLock<Vec<rsa::PrivateKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let mut keys = vec![rsa::PrivateKey::from_pkcs1_pem(KEY_PEM).unwrap()];
        keys.extend((0..3).map(|_| rsa::PrivateKey::new(&mut rng, 1024).unwrap()));
        keys
    });
    keys[index % keys.len()].clone()
}

/// A 24-hex-digit device id from a number.
pub fn device_id(n: u64) -> String {
    format!("3A00200018473335{n:08X}")
}

impl World {
    pub fn new(options: Options) -> Self {
        Self::with_device(options, device_id(1), device_key(0))
    }

    pub fn with_device(options: Options, id: String, key: rsa::PrivateKey) -> Self {
        let networks: Vec<VisibleNetwork> = serde_json::from_str(NETWORKS).unwrap();
        let device = Device::new(id.clone(), key, options.firmware, networks, options.radio);
        let mut cloud = Cloud::new(PRODUCT, "client", "secret");
        cloud.set_product_rules(softap_sim::cloud::ProductRules {
            claim_takes_over: options.claim_takes_over,
            ..Default::default()
        });
        cloud.manufacture(&id);
        let customer = "customer-1@example.com".to_owned();
        let token = mint_customer_token(&mut cloud, &customer);
        let mut config = SetupConfig::new(DEVICE_URL);
        config.cloud = Some(CloudConfig::new(API_URL, &token, Some(PRODUCT.to_string())).unwrap());
        let client = Setup::new(config, ChaCha20Rng::seed_from_u64(options.seed));
        Self {
            now: 0,
            client,
            device: DeviceModel::new(device, options.life, options.faults.clone()),
            cloud,
            phone: Network::Home,
            options,
            arrivals: BinaryHeap::new(),
            payloads: BTreeMap::new(),
            sequence: 0,
            open: BTreeMap::new(),
            phone_switch: None,
            answered_at: None,
            finished: Vec::new(),
            progress: Vec::new(),
            sent: Vec::new(),
            aborted: Vec::new(),
            token,
            customer,
            device_id: id.to_ascii_lowercase(),
        }
    }

    /// The customer joins the device's access point.
    pub fn join_device_network(&mut self) {
        self.phone = Network::Device;
    }

    /// Starts an operation now.
    pub fn start(&mut self, operation: Operation, flow: bool) -> OpId {
        let op = self.client.start(self.now, operation, flow);
        self.pump();
        op
    }

    /// Runs until `op` finished; its result. Panics (with the seed) if it is still running
    /// `bound_ms` of virtual time later: a hung operation.
    pub fn run(&mut self, op: OpId, bound_ms: u64) -> Result<Outcome, Error> {
        self.try_run(op, bound_ms).unwrap_or_else(|| {
            panic!(
                "seed {}: operation {op:?} hung at {} ms",
                self.options.seed, self.now
            )
        })
    }

    /// [`run`](Self::run), `None` for a hung operation: still running `bound_ms` later, or
    /// waiting on nothing.
    pub fn try_run(&mut self, op: OpId, bound_ms: u64) -> Option<Result<Outcome, Error>> {
        let limit = self.now + bound_ms;
        loop {
            if let Some(i) = self.finished.iter().position(|(id, _)| *id == op) {
                return Some(self.finished.remove(i).1);
            }
            let next = self.next_time().filter(|&next| next <= limit)?;
            self.step(next);
        }
    }

    /// [`start`](Self::start) then [`run`](Self::run).
    pub fn call(
        &mut self,
        operation: Operation,
        flow: bool,
        bound_ms: u64,
    ) -> Result<Outcome, Error> {
        let op = self.start(operation, flow);
        self.run(op, bound_ms)
    }

    /// Lets `ms` of virtual time pass.
    pub fn wait(&mut self, ms: u64) {
        let until = self.now + ms;
        while let Some(next) = self.next_time().filter(|&t| t <= until) {
            self.step(next);
        }
        self.step(until);
    }

    fn next_time(&self) -> Option<u64> {
        [
            self.client.poll_timeout(),
            self.device.poll_timeout(),
            self.arrivals.peek().map(|Reverse((t, _, _))| *t),
            self.phone_switch.map(|(t, _)| t),
            self.answered_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| t.max(self.now))
    }

    fn step(&mut self, to: u64) {
        self.now = self.now.max(to);
        let now = self.now;
        if self.answered_at.is_some_and(|t| t <= now) {
            self.answered_at = None;
            self.device.answered(now);
        }
        if let Some((at, network)) = self.phone_switch {
            if at <= now {
                self.phone_switch = None;
                self.phone = network;
            }
        }
        if self.device.poll_timeout().is_some_and(|t| t <= now) {
            for change in self.device.handle_timeout(now, &mut self.cloud) {
                match change {
                    Change::ApDown if self.phone == Network::Device => {
                        self.phone_switch = Some((now + self.options.fallback_ms, Network::Home));
                    }
                    Change::ApUp if self.options.rejoin_access_point => {
                        self.phone_switch = Some((now + 1_000, Network::Device));
                    }
                    _ => {}
                }
            }
        }
        self.deliver_events();
        while let Some(Reverse((at, seq, id))) = self.arrivals.peek().copied() {
            if at > now {
                break;
            }
            self.arrivals.pop();
            let arrival = self.payloads.remove(&seq).expect("scheduled");
            self.deliver(id, arrival);
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.pump();
    }

    /// What the cloud's streams have for the client.
    fn deliver_events(&mut self) {
        let streams: Vec<(TransmitId, u64)> = self
            .open
            .iter()
            .filter_map(|(id, open)| match open {
                Open::Stream { subscription } => Some((*id, *subscription)),
                _ => None,
            })
            .collect();
        for (id, subscription) in streams {
            let frames = self.cloud.take_events(subscription).unwrap_or_default();
            for frame in frames {
                let at = self.now + self.options.cloud_latency_ms;
                self.schedule(at, id, Arrival::Data(frame));
            }
        }
    }

    fn deliver(&mut self, id: TransmitId, arrival: Arrival) {
        let Some(open) = self.open.get(&id).copied() else {
            return;
        };
        // The access point went down under a device request: the connection is cut.
        let cut = match open {
            Open::Device { generation } => {
                generation != self.device.generation() || !self.device.ap_up()
            }
            Open::Stream { .. } | Open::Cloud => self.phone != Network::Home,
        };
        let arrival = if cut { Arrival::Failure } else { arrival };
        let now = self.now;
        match arrival {
            Arrival::Head(status) => self.client.handle_head(now, id, status),
            Arrival::Data(data) => self.client.handle_data(now, id, &data),
            Arrival::End => {
                self.open.remove(&id);
                self.client.handle_end(now, id);
            }
            Arrival::Failure => {
                self.close(id);
                self.client
                    .handle_failure(now, id, NetFailure::Network { permission: None });
            }
        }
        self.pump();
    }

    fn close(&mut self, id: TransmitId) {
        if let Some(Open::Stream { subscription }) = self.open.remove(&id) {
            self.cloud.close_stream(subscription);
        }
    }

    fn schedule(&mut self, at: u64, id: TransmitId, arrival: Arrival) {
        self.sequence += 1;
        self.payloads.insert(self.sequence, arrival);
        self.arrivals.push(Reverse((at, self.sequence, id)));
    }

    /// Takes what the client asks for and answers it.
    pub fn pump(&mut self) {
        loop {
            while let Some(transmit) = self.client.poll_transmit() {
                match transmit {
                    Transmit::Send(outgoing) => self.send(outgoing),
                    Transmit::Abort(id) => {
                        self.aborted.push(id);
                        self.close(id);
                    }
                }
            }
            let mut any = false;
            while let Some(event) = self.client.poll_event() {
                any = true;
                match event {
                    Event::Progress(p) => self.progress.push(p),
                    Event::Finished { op, result } => self.finished.push((op, result)),
                }
            }
            if !any {
                break;
            }
        }
    }

    fn send(&mut self, outgoing: Outgoing) {
        self.sent
            .push((self.now, outgoing.peer, outgoing.url.clone()));
        match outgoing.peer {
            Peer::Device => self.send_device(outgoing),
            Peer::Cloud => self.send_cloud(outgoing),
        }
    }

    fn send_device(&mut self, outgoing: Outgoing) {
        let id = outgoing.id;
        let generation = self.device.generation();
        self.open.insert(id, Open::Device { generation });
        if self.phone != Network::Device || !self.device.ap_up() {
            // Nothing answers at 192.168.0.1 here: refused.
            self.schedule(self.now + 1, id, Arrival::Failure);
            return;
        }
        if self.device.take_busy() {
            self.device.record(LogEntry {
                transport: "http",
                method: String::new(),
                path: String::new(),
                content_type: None,
                status: "busy".into(),
            });
            self.schedule(self.now + 1, id, Arrival::Head(503));
            self.schedule(self.now + 1, id, Arrival::End);
            return;
        }
        // The request as bytes on the wire, routed by the firmware's own rules: a request the
        // device would 404 (a wrong content type, say) fails here as it would there.
        let wire = wire_request(&outgoing);
        let Parsed::Request(request) = http::parse_first_segment(&wire) else {
            self.schedule(self.now + 1, id, Arrival::Failure);
            return;
        };
        let Route::Command(name) = http::route(&request, self.options.firmware) else {
            self.schedule(self.now + 1, id, Arrival::Head(404));
            self.schedule(self.now + 1, id, Arrival::End);
            return;
        };
        let entry = LogEntry {
            transport: "http",
            method: request.method.clone(),
            path: request.path.clone(),
            content_type: request.content_type.clone(),
            status: String::new(),
        };
        let body = request.body_start.clone();
        match self.device.command(self.now, entry, name, &body) {
            Answer::Drop | Answer::Unknown => self.schedule(self.now + 1, id, Arrival::Failure),
            Answer::Lost => self.schedule(self.now + 1, id, Arrival::Failure),
            Answer::Reply { delay_ms, writes } => {
                let mut at = self.now + delay_ms;
                self.schedule(at, id, Arrival::Head(200));
                for (pause, bytes) in writes {
                    at += pause;
                    self.schedule(at, id, Arrival::Data(bytes));
                }
                if self.options.firmware == Firmware::V07 {
                    self.schedule(at, id, Arrival::End);
                }
                self.answered_at = Some(at);
            }
        }
    }

    fn send_cloud(&mut self, outgoing: Outgoing) {
        let id = outgoing.id;
        self.open.insert(id, Open::Cloud);
        let at = self.now + self.options.cloud_latency_ms;
        if self.phone != Network::Home {
            // No internet on the device's access point.
            self.schedule(at, id, Arrival::Failure);
            return;
        }
        let url = outgoing.url.strip_prefix(API_URL).expect("the cloud's URL");
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut headers = BTreeMap::new();
        if let Some(authorization) = &outgoing.authorization {
            headers.insert("authorization".to_owned(), authorization.clone());
        }
        let mut body = Vec::new();
        if let Some((bytes, content_type)) = &outgoing.body {
            headers.insert("content-type".to_owned(), (*content_type).to_owned());
            body = bytes.clone();
        }
        let request = httpd::Request {
            method: outgoing.method.to_owned(),
            path: path.to_owned(),
            query: httpd::parse_query(query),
            headers,
            body,
        };
        let response = self.cloud.handle(self.now, &request);
        self.schedule(at, id, Arrival::Head(response.status));
        if let Some(subscription) = response.stream {
            self.open.insert(id, Open::Stream { subscription });
            self.deliver_events();
            return;
        }
        self.schedule(at, id, Arrival::Data(response.body));
        self.schedule(at, id, Arrival::End);
    }

    /// The device's requests as it logged them.
    pub fn device_log(&self) -> Vec<LogEntry> {
        self.device.log().to_vec()
    }

    /// Who owns the device in the cloud.
    pub fn owner(&self) -> Option<String> {
        self.cloud
            .devices()
            .find(|d| d.id == self.device_id)
            .and_then(|d| d.owner.clone())
    }
}

/// The request as the browser would put it on the wire.
fn wire_request(outgoing: &Outgoing) -> Vec<u8> {
    let path = outgoing
        .url
        .strip_prefix(DEVICE_URL)
        .unwrap_or(&outgoing.url);
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: 192.168.0.1\r\n",
        outgoing.method
    );
    let body = match &outgoing.body {
        Some((bytes, content_type)) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                bytes.len()
            ));
            bytes.clone()
        }
        None => Vec::new(),
    };
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    out
}

/// What a maker's server does with its OAuth client: a shadow customer and its token.
pub fn mint_customer_token(cloud: &mut Cloud, customer: &str) -> String {
    let form = |pairs: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    };
    let request = |path: &str, body: Vec<u8>| httpd::Request {
        method: "POST".into(),
        path: path.into(),
        query: BTreeMap::new(),
        headers: BTreeMap::from([(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )]),
        body,
    };
    let created = cloud.handle(
        0,
        &request(
            &format!("/v1/products/{PRODUCT}/customers"),
            form(&[
                ("client_id", "client"),
                ("client_secret", "secret"),
                ("email", customer),
                ("no_password", "true"),
            ]),
        ),
    );
    let answer = if created.status == 201 {
        created
    } else {
        cloud.handle(
            0,
            &request(
                "/oauth/token",
                form(&[
                    ("client_id", "client"),
                    ("client_secret", "secret"),
                    ("grant_type", "client_credentials"),
                    ("scope", &format!("customer={customer}")),
                ]),
            ),
        )
    };
    let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    value["access_token"].as_str().unwrap().to_owned()
}
