//! `SoftAP`: the device's commands as promises, over `fetch`, following the core's
//! transport policy (timeouts, retries, Local Network Access) and parsers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::protocol::flow::Step;
use crate::protocol::transport::{self, Failure, FailureContext, Permission};
use crate::protocol::{
    networks, read_reply, ClaimCode, Command, DeviceInfo, DeviceKey, Error, NetworkOptions,
    Progress, Reply, Request, CONTENT_TYPE,
};
use crate::web::convert::{self, object, promise};
use crate::web::error::to_js_in;
use crate::web::fetch::{self, DeviceLock, FetchError, Outgoing};

pub(crate) struct Inner {
    base_url: String,
    timeout_ms: u32,
    retries: u32,
    declare_local: bool,
    expected_fingerprint: RefCell<Option<String>>,
    key: RefCell<Option<DeviceKey>>,
    lock: Rc<DeviceLock>,
    requests: Cell<u32>,
}

/// A device in listening mode, reached over HTTP.
#[wasm_bindgen(js_name = SoftAP)]
pub struct SoftAp {
    pub(crate) inner: Rc<Inner>,
}

/// See [`SoftAp::share`].
#[wasm_bindgen(skip_typescript)]
pub struct SharedSoftAp(pub(crate) Rc<Inner>);

/// One attempt's outcome when it did not produce a reply.
enum Attempt {
    /// May be retried, per the policy.
    Retryable(Failure, Error),
    /// Final.
    Final(Error),
}

/// A scan entry as the page gets it.
pub(crate) struct Network {
    ssid: String,
    rssi: i32,
    security: String,
    sec: i64,
    channel: u32,
    max_data_rate: u32,
}

impl Network {
    pub(crate) fn to_js(&self) -> JsValue {
        object(&[
            ("ssid", self.ssid.as_str().into()),
            ("rssi", self.rssi.into()),
            ("security", self.security.as_str().into()),
            ("sec", (self.sec as f64).into()),
            ("channel", self.channel.into()),
            ("maxDataRate", self.max_data_rate.into()),
        ])
    }
}

fn device_info_js(info: &DeviceInfo) -> JsValue {
    object(&[
        ("id", info.id.as_str().into()),
        ("claimed", info.claimed.into()),
    ])
}

#[wasm_bindgen(js_class = SoftAP)]
impl SoftAp {
    /// `new SoftAP({ baseUrl = "http://192.168.0.1", timeoutMs = 8000, retries = 2,
    /// targetAddressSpace, expectedFingerprint })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "SoftAPOptions")] options: Option<JsValue>,
    ) -> Result<SoftAp, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let base_url = convert::string_field(&options, "baseUrl")?
            .unwrap_or_else(|| "http://192.168.0.1".into());
        let base_url = base_url.trim_end_matches('/').to_owned();
        let asked = convert::string_field(&options, "targetAddressSpace")?.map(|s| s == "local");
        let expected_fingerprint = convert::string_field(&options, "expectedFingerprint")?;
        if let Some(expected) = &expected_fingerprint {
            let digits = expected.replace([':', ' '], "");
            if crate::protocol::hex::decode(&digits).is_none_or(|b| b.len() != 32) {
                return Err(to_js_in(&Error::InvalidFingerprint, "preparing"));
            }
        }
        Ok(SoftAp {
            inner: Rc::new(Inner {
                declare_local: transport::declares_local(&base_url, asked),
                base_url,
                timeout_ms: convert::u32_field(&options, "timeoutMs")?
                    .unwrap_or(transport::DEFAULT_TIMEOUT_MS),
                retries: convert::u32_field(&options, "retries")?
                    .unwrap_or(transport::DEFAULT_RETRIES),
                expected_fingerprint: RefCell::new(expected_fingerprint),
                key: RefCell::new(None),
                lock: Rc::new(DeviceLock::default()),
                requests: Cell::new(0),
            }),
        })
    }

    /// A handle on this object's state for a `SetupFlow` (taking the object itself would
    /// leave the page's reference to it dead).
    #[wasm_bindgen(js_name = __share, skip_typescript)]
    pub fn share(&self) -> SharedSoftAp {
        SharedSoftAp(self.inner.clone())
    }

    /// The device URL.
    #[wasm_bindgen(getter, js_name = baseUrl)]
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// How many HTTP requests this object has sent (retries included).
    #[wasm_bindgen(getter, js_name = requestCount)]
    pub fn request_count(&self) -> u32 {
        self.inner.requests.get()
    }

    /// `version` → the protocol version (always 2).
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn version(&self) -> js_sys::Promise {
        self.call(Op::Version)
    }

    /// `device-id` → `{ id, claimed }`, the id lower case.
    #[wasm_bindgen(js_name = deviceInfo, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn device_info(&self) -> js_sys::Promise {
        self.call(Op::DeviceInfo)
    }

    /// `public-key` → `{ fingerprint, bits }`; the key is kept for `configure`. With
    /// `expectedFingerprint`, rejects with `fingerprint-mismatch` for another key.
    #[wasm_bindgen(js_name = publicKey, unchecked_return_type = "Promise<PublicKeyInfo>")]
    pub fn public_key(&self) -> js_sys::Promise {
        self.call(Op::PublicKey)
    }

    /// `scan-ap` → one entry per network name (the strongest access point), strongest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<ScanResult[]>")]
    pub fn scan(&self) -> js_sys::Promise {
        self.call(Op::Scan)
    }

    /// `set` with the claim code.
    #[wasm_bindgen(js_name = setClaimCode, unchecked_return_type = "Promise<void>")]
    pub fn set_claim_code(&self, code: String) -> js_sys::Promise {
        self.call(Op::SetClaimCode(code))
    }

    /// `configure-ap`: checks the network, fetches the key if needed, encrypts, sends.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn configure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NetworkConfig")] network: JsValue,
    ) -> js_sys::Promise {
        match convert::network_options(&network) {
            Ok(options) => self.call(Op::Configure(options)),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// `connect-ap` → `{ acknowledged }`. Never resent: a lost reply (`acknowledged:
    /// false`) most likely means the device is already leaving to join the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConnectResult>")]
    pub fn connect(&self) -> js_sys::Promise {
        self.call(Op::Connect)
    }

    fn call(&self, op: Op) -> js_sys::Promise {
        let inner = self.inner.clone();
        let step = op.step();
        promise(async move {
            inner
                .run(op, None)
                .await
                .map_err(|e| to_js_in(&e, step.name()))
        })
    }
}

/// What a `SoftAP` method asks of the device. One dispatcher for all of them keeps one
/// state machine in the wasm instead of one per method.
pub(crate) enum Op {
    Version,
    DeviceInfo,
    PublicKey,
    Scan,
    SetClaimCode(String),
    Configure(NetworkOptions),
    Connect,
}

impl Op {
    /// The setup step the operation belongs to.
    pub(crate) fn step(&self) -> Step {
        match self {
            Op::Version | Op::DeviceInfo | Op::PublicKey => Step::DeviceFound,
            Op::Scan => Step::Scanning,
            Op::SetClaimCode(_) | Op::Configure(_) => Step::Configuring,
            Op::Connect => Step::Connecting,
        }
    }
}

fn unexpected(command: Command) -> Error {
    Error::InvalidResponse {
        command,
        reason: "unexpected reply",
    }
}

impl Inner {
    /// Runs one operation and converts its result for JS.
    pub(crate) async fn run(&self, op: Op, cancel: Option<&AbortSignal>) -> Result<JsValue, Error> {
        Ok(match op {
            Op::Version => match self.command(&Request::version(), cancel).await? {
                Reply::Version(v) => v.into(),
                _ => return Err(unexpected(Command::Version)),
            },
            Op::DeviceInfo => device_info_js(&self.device_info(cancel).await?),
            Op::PublicKey => {
                let key = self.public_key(cancel).await?;
                object(&[
                    ("fingerprint", key.fingerprint_hex().into()),
                    ("bits", (key.bits() as u32).into()),
                ])
            }
            Op::Scan => self
                .scan(cancel)
                .await?
                .iter()
                .map(Network::to_js)
                .collect::<js_sys::Array>()
                .into(),
            Op::SetClaimCode(code) => {
                self.set_claim_code(&ClaimCode::new(&code)?, cancel).await?;
                JsValue::UNDEFINED
            }
            Op::Configure(options) => {
                self.configure(&options, cancel).await?;
                JsValue::UNDEFINED
            }
            Op::Connect => object(&[("acknowledged", self.connect(cancel).await?.into())]),
        })
    }

    /// The next device of an installation answers at the same address: forget the key
    /// (and which fingerprint to expect, unless a new one is given).
    pub(crate) fn forget_device(&self, expected_fingerprint: Option<String>) {
        *self.key.borrow_mut() = None;
        *self.expected_fingerprint.borrow_mut() = expected_fingerprint;
    }

    pub(crate) async fn device_info(
        &self,
        cancel: Option<&AbortSignal>,
    ) -> Result<DeviceInfo, Error> {
        match self.command(&Request::device_id(), cancel).await? {
            Reply::DeviceId(info) => Ok(info),
            _ => Err(Error::InvalidResponse {
                command: Command::DeviceId,
                reason: "unexpected reply",
            }),
        }
    }

    /// The device key, fetched once; checked against the expected fingerprint.
    pub(crate) async fn public_key(
        &self,
        cancel: Option<&AbortSignal>,
    ) -> Result<DeviceKey, Error> {
        if let Some(key) = self.key.borrow().clone() {
            return Ok(key);
        }
        let key = match self.command(&Request::public_key(), cancel).await? {
            Reply::PublicKey(key) => key,
            _ => {
                return Err(Error::InvalidResponse {
                    command: Command::PublicKey,
                    reason: "unexpected reply",
                })
            }
        };
        if let Some(expected) = self.expected_fingerprint.borrow().as_deref() {
            key.verify_fingerprint(expected)?;
        }
        *self.key.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    pub(crate) async fn scan(&self, cancel: Option<&AbortSignal>) -> Result<Vec<Network>, Error> {
        let entries = match self.command(&Request::scan_ap(), cancel).await? {
            Reply::ScanAp(entries) => entries,
            _ => {
                return Err(Error::InvalidResponse {
                    command: Command::ScanAp,
                    reason: "unexpected reply",
                })
            }
        };
        Ok(networks(entries)
            .into_iter()
            .map(|e| Network {
                security: e.security.to_string(),
                sec: e.security.value(),
                ssid: e.ssid,
                rssi: e.rssi,
                channel: e.channel,
                max_data_rate: e.max_data_rate,
            })
            .collect())
    }

    pub(crate) async fn set_claim_code(
        &self,
        code: &ClaimCode,
        cancel: Option<&AbortSignal>,
    ) -> Result<(), Error> {
        self.command(&Request::set_claim_code(code), cancel)
            .await
            .map(drop)
    }

    pub(crate) async fn configure(
        &self,
        options: &NetworkOptions,
        cancel: Option<&AbortSignal>,
    ) -> Result<(), Error> {
        let network = options.validate()?;
        let key = self.public_key(cancel).await?;
        let request = Request::configure_ap(&network, &key, &mut getrandom::SysRng)?;
        self.command(&request, cancel).await.map(drop)
    }

    /// `Ok(false)`: the reply was lost (timeout, connection gone): probably connecting.
    pub(crate) async fn connect(&self, cancel: Option<&AbortSignal>) -> Result<bool, Error> {
        match self.command(&Request::connect_ap(), cancel).await {
            Ok(_) => Ok(true),
            Err(Error::Timeout { .. } | Error::DeviceUnreachable) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends a command under the device lock, retrying as the policy allows.
    pub(crate) async fn command(
        &self,
        request: &Request,
        cancel: Option<&AbortSignal>,
    ) -> Result<Reply, Error> {
        let _one_at_a_time = fetch::lock(self.lock.clone()).await;
        let command = request.command();
        let mut attempt = 0;
        loop {
            match self.attempt(request, cancel).await {
                Ok(reply) => return Ok(reply),
                Err(Attempt::Final(error)) => return Err(error),
                Err(Attempt::Retryable(failure, error)) => {
                    if !transport::should_retry(command, failure, attempt, self.retries) {
                        return Err(error);
                    }
                    fetch::sleep(transport::backoff_ms(failure, attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        cancel: Option<&AbortSignal>,
    ) -> Result<Reply, Attempt> {
        let command = request.command();
        self.requests.set(self.requests.get() + 1);
        let url = format!("{}{}", self.base_url, request.path());
        let outgoing = Outgoing {
            method: request.method().as_str(),
            url: &url,
            body: request.body().map(|b| (b, CONTENT_TYPE)),
            authorization: None,
            target_address_space_local: self.declare_local,
            timeout_ms: transport::timeout_ms(command, self.timeout_ms),
            cancel,
        };
        let mut incoming = match fetch::send(outgoing).await {
            Ok(incoming) => incoming,
            Err(e) => return Err(self.failed(command, e).await),
        };
        if incoming.status != 200 {
            let status = incoming.status;
            return Err(Attempt::Retryable(
                Failure::Status(status),
                Error::DeviceHttpStatus { command, status },
            ));
        }
        let mut body = Vec::new();
        loop {
            match incoming.next_chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    // Done at the first whole JSON value: 0.6 firmware never ends its body.
                    // Every reply is an object, so only a `}` can complete one: parsing after
                    // each of the public key's ~600 one-byte chunks would be quadratic.
                    if body.iter().rev().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                        continue;
                    }
                    match read_reply(command, &body, false) {
                        Ok(Progress::Complete(reply)) => return Ok(reply),
                        Ok(Progress::Partial) => {}
                        Err(e) => return Err(Attempt::Final(e)),
                    }
                }
                Ok(None) => {
                    return match read_reply(command, &body, true) {
                        Ok(Progress::Complete(reply)) => Ok(reply),
                        Ok(Progress::Partial) => Err(Attempt::Retryable(
                            Failure::Network,
                            Error::DeviceUnreachable,
                        )),
                        Err(e) => Err(Attempt::Final(e)),
                    };
                }
                Err(e) => return Err(self.failed(command, e).await),
            }
        }
    }

    async fn failed(&self, command: Command, error: FetchError) -> Attempt {
        match error {
            FetchError::Cancelled => Attempt::Final(Error::Cancelled),
            FetchError::TimedOut => {
                Attempt::Retryable(Failure::TimedOut, Error::Timeout { command })
            }
            FetchError::Network => {
                let context = FailureContext {
                    page_is_https: page_protocol().as_deref() == Some("https:"),
                    device_is_http: self.base_url.starts_with("http:"),
                    declared_local: self.declare_local,
                    permission: local_network_permission().await,
                    device_is_loopback: is_loopback(&self.base_url),
                };
                match transport::classify_network_failure(context) {
                    // Blocked by the browser: trying again cannot help.
                    e @ (Error::LocalNetworkDenied | Error::MixedContentBlocked) => {
                        Attempt::Final(e)
                    }
                    e => Attempt::Retryable(Failure::Network, e),
                }
            }
        }
    }
}

fn is_loopback(url: &str) -> bool {
    transport::url_host(url).is_some_and(transport::is_loopback)
}

fn page_protocol() -> Option<String> {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    js_sys::Reflect::get(&location, &"protocol".into())
        .ok()?
        .as_string()
}

/// `navigator.permissions.query({ name: "local-network-access" })`, `None` where the
/// browser has no such permission (it rejects with a TypeError there).
pub(crate) async fn local_network_permission() -> Option<Permission> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let permissions = js_sys::Reflect::get(&navigator, &"permissions".into()).ok()?;
    let query: js_sys::Function = js_sys::Reflect::get(&permissions, &"query".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let descriptor = js_sys::Object::new();
    js_sys::Reflect::set(&descriptor, &"name".into(), &"local-network-access".into()).ok()?;
    let promise: js_sys::Promise = query
        .call1(&permissions, &descriptor)
        .ok()?
        .dyn_into()
        .ok()?;
    let status = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    match js_sys::Reflect::get(&status, &"state".into())
        .ok()?
        .as_string()?
        .as_str()
    {
        "granted" => Some(Permission::Granted),
        "denied" => Some(Permission::Denied),
        "prompt" => Some(Permission::Prompt),
        _ => None,
    }
}
