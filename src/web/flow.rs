//! `SetupFlow`: the whole setup of one device, or several of one installation, as steps
//! with progress events, cancellable. It drives a `SoftAP` and a `Cloud`; what each step
//! sends is theirs to know.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal};

use crate::protocol::flow::{ClaimCodes, Step};
use crate::protocol::NetworkOptions;
use crate::protocol::{ClaimCode, Error};
use crate::web::cloud::{self, SharedCloud};
use crate::web::convert::{self, object, promise};
use crate::web::error::to_js_in;
use crate::web::fetch;
use crate::web::softap::{self, Op, SharedSoftAp};

struct State {
    device: Rc<softap::Inner>,
    cloud: Option<Rc<cloud::Inner>>,
    on_progress: Option<Function>,
    expected_fingerprint: Option<String>,
    codes: RefCell<ClaimCodes>,
    /// The device being set up.
    current: RefCell<Option<String>>,
    /// The claim code sent to the device being set up.
    current_code: RefCell<Option<ClaimCode>>,
    /// Devices set up so far, in order.
    done: RefCell<Vec<String>>,
    cancel: AbortController,
}

/// The whole setup, step by step.
#[wasm_bindgen]
pub struct SetupFlow {
    state: Rc<State>,
}

fn share<T: TryFromJsValue>(holder: &JsValue, name: &str) -> Result<Option<T>, JsValue> {
    let Some(object) = convert::field(holder, name) else {
        return Ok(None);
    };
    let share: Function = Reflect::get(&object, &"__share".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| convert::type_error(name))?;
    let handle = share
        .call0(&object)
        .map_err(|_| convert::type_error(name))?;
    T::try_from_js_value(handle)
        .map(Some)
        .map_err(|_| convert::type_error(name))
}

impl State {
    fn signal(&self) -> AbortSignal {
        self.cancel.signal()
    }

    fn progress(&self, step: Step, extra: &[(&str, JsValue)]) {
        if let Some(callback) = &self.on_progress {
            let mut pairs = vec![("step", JsValue::from(step.name()))];
            if let Some(id) = self.current.borrow().as_deref() {
                pairs.push(("deviceId", id.into()));
            }
            pairs.extend(extra.iter().cloned());
            // A page's callback that throws must not break the setup.
            let _ = callback.call1(&JsValue::NULL, &object(&pairs));
        }
    }

    /// Reports a failure as the `failed` event and as the rejection.
    fn fail(&self, step: Step, error: &Error) -> JsValue {
        let js = to_js_in(error, step.name());
        self.progress(Step::Failed, &[("error", js.clone())]);
        js
    }

    async fn prepare(&self, devices: u32) -> Result<usize, Error> {
        self.progress(Step::Preparing, &[]);
        let Some(cloud) = &self.cloud else {
            return Ok(0);
        };
        let signal = self.signal();
        while self.codes.borrow().len() < devices as usize {
            let reply = cloud.create_claim_code(Some(&signal)).await?;
            let code = ClaimCode::new(&reply.claim_code)?;
            self.codes.borrow_mut().push(code);
        }
        Ok(self.codes.borrow().len())
    }

    /// Polls the device until it answers (the customer is joining its network), then
    /// reads and checks its key before anything secret is sent.
    async fn wait_for_device(
        &self,
        timeout_ms: u32,
        interval_ms: u32,
    ) -> Result<(String, bool), Error> {
        self.progress(Step::WaitingForDevice, &[]);
        let signal = self.signal();
        let deadline = js_sys::Date::now() + f64::from(timeout_ms);
        let info = loop {
            match self.device.device_info(Some(&signal)).await {
                Ok(info) => break info,
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(e @ (Error::LocalNetworkDenied | Error::MixedContentBlocked)) => return Err(e),
                Err(e) if js_sys::Date::now() + f64::from(interval_ms) > deadline => return Err(e),
                Err(_) => fetch::sleep(interval_ms).await,
            }
        };
        *self.current.borrow_mut() = Some(info.id.clone());
        self.device.public_key(Some(&signal)).await?;
        self.progress(Step::DeviceFound, &[("claimed", info.claimed.into())]);
        Ok((info.id, info.claimed))
    }

    async fn configure(&self, network: &crate::protocol::NetworkOptions) -> Result<(), Error> {
        self.progress(Step::Configuring, &[]);
        // Checked before anything is sent, the claim code included.
        network.validate()?;
        let signal = self.signal();
        // A second try on the same device (a wrong password, say) reuses its code: the code
        // is only spent when the device reaches the cloud, and the customer is offline now.
        let reused = self.current_code.borrow().clone();
        let code = reused.or_else(|| self.codes.borrow_mut().take());
        let code = match (code, &self.cloud) {
            (Some(code), _) => Some(code),
            // No code fetched ahead: only works while the page still has internet.
            (None, Some(cloud)) => Some(ClaimCode::new(
                &cloud.create_claim_code(Some(&signal)).await?.claim_code,
            )?),
            (None, None) => None,
        };
        if let Some(code) = code {
            *self.current_code.borrow_mut() = Some(code.clone());
            self.device.set_claim_code(&code, Some(&signal)).await?;
        }
        self.device.configure(network, Some(&signal)).await
    }

    async fn wait_for_cloud(&self, timeout_ms: u32, interval_ms: u32) -> Result<String, Error> {
        self.progress(Step::WaitingForCloud, &[]);
        let id = self
            .current
            .borrow()
            .clone()
            .ok_or(Error::DeviceUnreachable)?;
        if let Some(cloud) = &self.cloud {
            cloud
                .wait_for_device(&id, timeout_ms, interval_ms, Some(&self.signal()))
                .await?;
        }
        self.done.borrow_mut().push(id.clone());
        self.progress(Step::Claimed, &[]);
        Ok(id)
    }
}

/// What a `SetupFlow` method does; one dispatcher keeps one state machine in the wasm.
enum FlowOp {
    Prepare(u32),
    WaitForDevice { timeout_ms: u32, interval_ms: u32 },
    Device(Op),
    Configure(NetworkOptions),
    WaitForCloud { timeout_ms: u32, interval_ms: u32 },
}

impl State {
    async fn dispatch(&self, op: FlowOp) -> Result<JsValue, JsValue> {
        match op {
            FlowOp::Prepare(devices) => {
                let ready = self
                    .prepare(devices)
                    .await
                    .map_err(|e| self.fail(Step::Preparing, &e))?;
                Ok((ready as u32).into())
            }
            FlowOp::WaitForDevice {
                timeout_ms,
                interval_ms,
            } => {
                let (id, claimed) = self
                    .wait_for_device(timeout_ms, interval_ms)
                    .await
                    .map_err(|e| self.fail(Step::WaitingForDevice, &e))?;
                Ok(object(&[("id", id.into()), ("claimed", claimed.into())]))
            }
            FlowOp::Device(op) => {
                let step = op.step();
                self.progress(step, &[]);
                self.device
                    .run(op, Some(&self.signal()))
                    .await
                    .map_err(|e| self.fail(step, &e))
            }
            FlowOp::Configure(network) => {
                self.configure(&network)
                    .await
                    .map_err(|e| self.fail(Step::Configuring, &e))?;
                Ok(JsValue::UNDEFINED)
            }
            FlowOp::WaitForCloud {
                timeout_ms,
                interval_ms,
            } => {
                let id = self
                    .wait_for_cloud(timeout_ms, interval_ms)
                    .await
                    .map_err(|e| self.fail(Step::WaitingForCloud, &e))?;
                Ok(id.into())
            }
        }
    }
}

#[wasm_bindgen]
impl SetupFlow {
    /// `new SetupFlow({ device, cloud, expectedFingerprint, onProgress })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SetupFlowOptions")] options: JsValue,
    ) -> Result<SetupFlow, JsValue> {
        let device: SharedSoftAp =
            share(&options, "device")?.ok_or_else(|| convert::type_error("device"))?;
        let cloud: Option<SharedCloud> = share(&options, "cloud")?;
        let on_progress =
            convert::field(&options, "onProgress").and_then(|f| f.dyn_into::<Function>().ok());
        let expected_fingerprint = convert::string_field(&options, "expectedFingerprint")?;
        if expected_fingerprint.is_some() {
            device.0.forget_device(expected_fingerprint.clone());
        }
        Ok(SetupFlow {
            state: Rc::new(State {
                device: device.0,
                cloud: cloud.map(|c| c.0),
                on_progress,
                expected_fingerprint,
                codes: RefCell::new(ClaimCodes::default()),
                current: RefCell::new(None),
                current_code: RefCell::new(None),
                done: RefCell::new(Vec::new()),
                cancel: AbortController::new()?,
            }),
        })
    }

    fn call(&self, op: Result<FlowOp, JsValue>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { state.dispatch(op?).await })
    }

    /// While online: fetches claim codes ahead, one per device to set up
    /// (`{ devices = 1 }`). Resolves with how many are ready.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn prepare(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ devices?: number }")] options: Option<
            JsValue,
        >,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        self.call(
            convert::u32_field(&options, "devices").map(|d| FlowOp::Prepare(d.unwrap_or(1).max(1))),
        )
    }

    /// Waits until the device answers (the customer is joining `Photon-XXXXXX`), reads its
    /// key and checks the expected fingerprint. Resolves with `{ id, claimed }`.
    #[wasm_bindgen(js_name = waitForDevice, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn wait_for_device(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "DeviceWaitOptions")] options: Option<
            JsValue,
        >,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        self.call(
            wait_options(&options, 5 * 60_000, 2_000).map(|(timeout_ms, interval_ms)| {
                FlowOp::WaitForDevice {
                    timeout_ms,
                    interval_ms,
                }
            }),
        )
    }

    /// The networks the device sees, strongest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<ScanResult[]>")]
    pub fn scan(&self) -> js_sys::Promise {
        self.call(Ok(FlowOp::Device(Op::Scan)))
    }

    /// Sends the claim code and the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn configure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NetworkConfig")] network: JsValue,
    ) -> js_sys::Promise {
        self.call(convert::network_options(&network).map(FlowOp::Configure))
    }

    /// Tells the device to join; never resent (a lost reply means it is most likely
    /// joining already). Resolves with `{ acknowledged }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConnectResult>")]
    pub fn connect(&self) -> js_sys::Promise {
        self.call(Ok(FlowOp::Device(Op::Connect)))
    }

    /// Back online: waits until the device is online and the customer's. Resolves with its
    /// id, for the maker's own records.
    #[wasm_bindgen(js_name = waitForCloud, unchecked_return_type = "Promise<string>")]
    pub fn wait_for_cloud(
        &self,
        #[wasm_bindgen(
            unchecked_optional_param_type = "{ timeoutMs?: number; intervalMs?: number }"
        )]
        options: Option<JsValue>,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        self.call(
            wait_options(&options, 10 * 60_000, 3_000).map(|(timeout_ms, interval_ms)| {
                FlowOp::WaitForCloud {
                    timeout_ms,
                    interval_ms,
                }
            }),
        )
    }

    /// Gets ready for the next device of the installation (same network, same customer):
    /// forgets the last device's key; `expectedFingerprint` is the next device's, if known.
    pub fn next(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] expected_fingerprint: Option<
            String,
        >,
    ) {
        *self.state.current.borrow_mut() = None;
        *self.state.current_code.borrow_mut() = None;
        self.state.device.forget_device(
            expected_fingerprint.or_else(|| self.state.expected_fingerprint.clone()),
        );
    }

    /// Stops every request and wait of this flow; pending promises reject with
    /// `cancelled`.
    pub fn cancel(&self) {
        self.state.cancel.abort();
    }

    /// Ids of the devices set up so far.
    #[wasm_bindgen(getter, unchecked_return_type = "string[]")]
    pub fn devices(&self) -> JsValue {
        convert::strings(&self.state.done.borrow())
    }

    /// Claim codes still ready for the next devices.
    #[wasm_bindgen(getter, js_name = claimCodesReady)]
    pub fn claim_codes_ready(&self) -> u32 {
        self.state.codes.borrow().len() as u32
    }
}

fn wait_options(
    options: &JsValue,
    timeout_ms: u32,
    interval_ms: u32,
) -> Result<(u32, u32), JsValue> {
    Ok((
        convert::u32_field(options, "timeoutMs")?.unwrap_or(timeout_ms),
        convert::u32_field(options, "intervalMs")?.unwrap_or(interval_ms),
    ))
}
