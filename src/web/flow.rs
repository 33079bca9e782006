//! `SetupFlow`: the whole setup of one device, or several of one installation, as steps with
//! progress (an `onProgress` callback and `progress` events: it is an `EventTarget`),
//! cancellable. Every step is an operation of the core's machine, shared with the `SoftAP` it
//! was given (one request to the device at a time, one key cache).

use std::rc::Rc;

use js_sys::{Function, Reflect};
use serde::Serialize;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use crate::protocol::policy;
use crate::protocol::setup::{Operation, Progress};
use crate::protocol::Fingerprint;
use crate::web::cloud::SharedCloud;
use crate::web::driver::Driver;
use crate::web::error::{to_js, to_js_in};
use crate::web::options::{self, CloudWaitOptions, DeviceWaitOptions, PrepareOptions};
use crate::web::outcome;
use crate::web::softap::SharedSoftAp;

/// The whole setup, step by step.
#[wasm_bindgen]
pub struct SetupFlow {
    driver: Rc<Driver>,
    events: EventTarget,
}

/// `options[name].__share()`: the machine of a `SoftAP`, the configuration of a `Cloud`.
fn share<T: TryFromJsValue>(holder: &JsValue, name: &str) -> Result<Option<T>, JsValue> {
    let object = Reflect::get(holder, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if object.is_undefined() || object.is_null() {
        return Ok(None);
    }
    let bad = || {
        JsValue::from(js_sys::TypeError::new(&format!(
            "softap-web: bad option {name}"
        )))
    };
    let share: Function = Reflect::get(&object, &"__share".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(bad)?;
    let handle = share.call0(&object).map_err(|_| bad())?;
    T::try_from_js_value(handle).map(Some).map_err(|_| bad())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressJs<'a> {
    step: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed: Option<bool>,
}

/// A progress report as JS gets it: `{ step, deviceId?, claimed?, error? }`.
fn progress_js(progress: &Progress) -> JsValue {
    let detail = ProgressJs {
        step: progress.step.name(),
        device_id: progress.device_id.as_deref(),
        claimed: progress.claimed,
    }
    .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
    .unwrap_or(JsValue::UNDEFINED);
    if let Some(error) = &progress.error {
        let _ = Reflect::set(&detail, &"error".into(), &to_js(error).into());
    }
    detail
}

#[wasm_bindgen]
impl SetupFlow {
    /// `new SetupFlow({ device, cloud, expectedFingerprint, onProgress })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SetupFlowOptions")] options: JsValue,
    ) -> Result<SetupFlow, JsValue> {
        let device: SharedSoftAp = share(&options, "device")?.ok_or_else(|| {
            JsValue::from(js_sys::TypeError::new("softap-web: bad option device"))
        })?;
        let cloud: Option<SharedCloud> = share(&options, "cloud")?;
        let on_progress = Reflect::get(&options, &"onProgress".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        // Present but not a string is a mistake, not "no pin": refused, as SoftAP's options are.
        let expected =
            Reflect::get(&options, &"expectedFingerprint".into()).unwrap_or(JsValue::UNDEFINED);
        let expected = if expected.is_undefined() || expected.is_null() {
            None
        } else {
            let text = expected.as_string().ok_or_else(|| {
                JsValue::from(js_sys::TypeError::new(
                    "softap-web: bad option expectedFingerprint of SetupFlowOptions: expected a string",
                ))
            })?;
            Some(Fingerprint::parse(&text).map_err(|e| to_js_in(&e, "preparing"))?)
        };
        let driver = device.0;
        driver.update(|machine| {
            if let Some(cloud) = cloud {
                machine.set_cloud(Some(cloud.0));
            }
            if expected.is_some() {
                machine.next_device(expected);
            }
        });
        let events = EventTarget::new()?;
        let target = events.clone();
        driver.subscribe(Rc::new(move |progress: &Progress| {
            let detail = progress_js(progress);
            if let Some(callback) = &on_progress {
                // A page's callback that throws must not break the setup.
                let _ = callback.call1(&JsValue::NULL, &detail);
            }
            let init = CustomEventInit::new();
            init.set_detail(&detail);
            if let Ok(event) = CustomEvent::new_with_event_init_dict("progress", &init) {
                let _ = target.dispatch_event(&event);
            }
        }));
        Ok(SetupFlow { driver, events })
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
        match options::read::<PrepareOptions>("prepare options", options.unwrap_or_default()) {
            Ok(o) => self.driver.start(
                Operation::Prepare {
                    devices: o.devices.unwrap_or(1),
                },
                true,
                outcome::general,
            ),
            Err(error) => js_sys::Promise::reject(&error),
        }
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
        match options::read::<DeviceWaitOptions>("DeviceWaitOptions", options.unwrap_or_default()) {
            Ok(o) => self.driver.start(
                Operation::WaitForDevice {
                    timeout_ms: o.timeout_ms.map_or(policy::DEVICE_WAIT_MS, u64::from),
                    interval_ms: o.interval_ms.map_or(policy::DEVICE_POLL_MS, u64::from),
                },
                true,
                outcome::general,
            ),
            Err(error) => js_sys::Promise::reject(&error),
        }
    }

    /// The networks the device sees, strongest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<ScanResult[]>")]
    pub fn scan(&self) -> js_sys::Promise {
        self.driver.start(Operation::Scan, true, outcome::general)
    }

    /// Sends the claim code (the one this device already got, one fetched ahead, or a new
    /// one) and the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn configure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NetworkConfig")] network: JsValue,
    ) -> js_sys::Promise {
        match options::network(network) {
            Ok(network) => self.driver.start(
                Operation::Configure {
                    network,
                    claim: true,
                },
                true,
                outcome::general,
            ),
            Err(error) => js_sys::Promise::reject(&error),
        }
    }

    /// Tells the device to join; never resent (a lost reply means it is most likely joining
    /// already). Resolves with `{ acknowledged }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConnectResult>")]
    pub fn connect(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::Connect, true, outcome::general)
    }

    /// Back online: waits until the device is online and the customer's. Resolves with its
    /// id, for the maker's own records. `watchDevice`: also look at the device's network,
    /// where the device answering again means it could not join (`join-failed`).
    #[wasm_bindgen(js_name = waitForCloud, unchecked_return_type = "Promise<string>")]
    pub fn wait_for_cloud(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "CloudWaitOptions")] options: Option<
            JsValue,
        >,
    ) -> js_sys::Promise {
        match options::read::<CloudWaitOptions>("CloudWaitOptions", options.unwrap_or_default()) {
            Ok(o) => self.driver.start(
                Operation::WaitForCloud {
                    device_id: None,
                    timeout_ms: o.timeout_ms.map_or(policy::CLOUD_WAIT_MS, u64::from),
                    interval_ms: o.interval_ms.map_or(policy::CLOUD_POLL_MS, u64::from),
                    watch_device: o.watch_device.unwrap_or(false),
                    // The flow's own device is claimed outright only if it gave it a code.
                    claim_unowned: false,
                },
                true,
                outcome::general,
            ),
            Err(error) => js_sys::Promise::reject(&error),
        }
    }

    /// Gets ready for the next device of the installation (same network, same customer):
    /// forgets the last device's key; `expectedFingerprint` is the next device's, if known.
    pub fn next(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] expected_fingerprint: Option<
            String,
        >,
    ) -> Result<(), JsValue> {
        let expected = expected_fingerprint
            .map(|f| Fingerprint::parse(&f))
            .transpose()
            .map_err(|e| to_js_in(&e, "preparing"))?;
        self.driver.update(|machine| machine.next_device(expected));
        Ok(())
    }

    /// A fresh customer token (the old one expired): the flow's later cloud calls carry it.
    #[wasm_bindgen(js_name = setAccessToken)]
    pub fn set_access_token(&self, token: String) -> Result<(), JsValue> {
        self.driver
            .update(|machine| machine.set_access_token(&token))
            .map_err(|e| to_js_in(&e, "preparing"))
    }

    /// Stops every request and wait of this flow; pending promises reject with
    /// `cancelled`, and so does every later call.
    pub fn cancel(&self) {
        self.driver.cancel();
    }

    /// Ids of the devices set up so far.
    #[wasm_bindgen(getter, unchecked_return_type = "string[]")]
    pub fn devices(&self) -> JsValue {
        self.driver
            .with(|m| serde_wasm_bindgen::to_value(m.devices()).unwrap_or(JsValue::UNDEFINED))
    }

    /// Claim codes still ready for the next devices.
    #[wasm_bindgen(getter, js_name = claimCodesReady)]
    pub fn claim_codes_ready(&self) -> u32 {
        self.driver.with(|m| m.claim_codes_ready() as u32)
    }

    /// `EventTarget.addEventListener`: `progress` events carry `{ step, deviceId?, claimed?,
    /// error? }` as `detail`.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: CustomEvent<ProgressEvent>) => void")]
        listener: &Function,
    ) -> Result<(), JsValue> {
        self.events.add_event_listener_with_callback(kind, listener)
    }

    /// `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: CustomEvent<ProgressEvent>) => void")]
        listener: &Function,
    ) -> Result<(), JsValue> {
        self.events
            .remove_event_listener_with_callback(kind, listener)
    }

    /// `EventTarget.dispatchEvent`.
    #[wasm_bindgen(js_name = dispatchEvent)]
    pub fn dispatch_event(&self, event: &web_sys::Event) -> Result<bool, JsValue> {
        self.events.dispatch_event(event)
    }
}
