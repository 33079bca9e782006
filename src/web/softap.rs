//! `SoftAP`: the device's commands as promises, each an operation of the core's machine.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::protocol::browser;
use crate::protocol::setup::{Operation, SetupConfig};
use crate::protocol::{ClaimCode, Fingerprint};
use crate::web::driver::{self, Driver};
use crate::web::error::to_js_in;
use crate::web::options::{self, AddressSpace, SoftApOptions};
use crate::web::outcome;

/// A device in listening mode, reached over HTTP.
#[wasm_bindgen(js_name = SoftAP)]
pub struct SoftAp {
    pub(crate) driver: Rc<Driver>,
}

/// See [`SoftAp::share`].
#[wasm_bindgen(skip_typescript)]
pub struct SharedSoftAp(pub(crate) Rc<Driver>);

#[wasm_bindgen(js_class = SoftAP)]
impl SoftAp {
    /// `new SoftAP({ baseUrl = "http://192.168.0.1", timeoutMs, retries = 2,
    /// targetAddressSpace, expectedFingerprint })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "SoftAPOptions")] options: Option<JsValue>,
    ) -> Result<SoftAp, JsValue> {
        let options: SoftApOptions = options::read("SoftAP options", options.unwrap_or_default())?;
        let base_url = options
            .base_url
            .as_deref()
            .unwrap_or(crate::protocol::command::DEVICE_URL);
        let mut config = SetupConfig::new(base_url);
        let asked = options
            .target_address_space
            .map(|s| s == AddressSpace::Local);
        config.declare_local = browser::declares_local(&config.device_url, asked);
        config.page_is_https = crate::web::fetch::page_is_https();
        if let Some(retries) = options.retries {
            config.attempts = crate::protocol::policy::attempts(retries);
        }
        config.deadline_ms = options.timeout_ms.map(u64::from);
        if let Some(expected) = &options.expected_fingerprint {
            config.expected_fingerprint =
                Some(Fingerprint::parse(expected).map_err(|e| to_js_in(&e, "preparing"))?);
        }
        crate::web::warm::soon();
        Ok(SoftAp {
            driver: Driver::new(config),
        })
    }

    /// A handle on this object's machine for a `SetupFlow` (taking the object itself would
    /// leave the page's reference to it dead).
    #[wasm_bindgen(js_name = __share, skip_typescript)]
    pub fn share(&self) -> SharedSoftAp {
        SharedSoftAp(self.driver.clone())
    }

    /// The device URL.
    #[wasm_bindgen(getter, js_name = baseUrl)]
    pub fn base_url(&self) -> String {
        self.driver.with(|m| m.config().device_url.clone())
    }

    /// How many HTTP requests this object has sent to the device (attempts included).
    #[wasm_bindgen(getter, js_name = requestCount)]
    pub fn request_count(&self) -> u32 {
        self.driver.with(|m| m.device_requests())
    }

    /// `version` → the protocol version (always 2).
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn version(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::Version, false, outcome::general)
    }

    /// `device-id` → `{ id, claimed }`, the id lower case.
    #[wasm_bindgen(js_name = deviceInfo, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn device_info(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::DeviceInfo, false, outcome::general)
    }

    /// `public-key` → `{ fingerprint, bits }`; the key is kept for `configure`. With
    /// `expectedFingerprint`, rejects with `fingerprint-mismatch` for another key.
    #[wasm_bindgen(js_name = publicKey, unchecked_return_type = "Promise<PublicKeyInfo>")]
    pub fn public_key(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::PublicKey, false, outcome::general)
    }

    /// `scan-ap` → one entry per network name (the strongest access point), strongest first;
    /// doubtful entries (a name crafted to look like other entries) last, marked.
    #[wasm_bindgen(unchecked_return_type = "Promise<ScanResult[]>")]
    pub fn scan(&self) -> js_sys::Promise {
        self.driver.start(Operation::Scan, false, outcome::general)
    }

    /// `set` with the claim code.
    #[wasm_bindgen(js_name = setClaimCode, unchecked_return_type = "Promise<void>")]
    pub fn set_claim_code(&self, code: String) -> js_sys::Promise {
        match ClaimCode::new(&code) {
            Ok(code) => self
                .driver
                .start(Operation::SetClaimCode(code), false, outcome::general),
            Err(error) => driver::rejected(&error, "configuring"),
        }
    }

    /// `configure-ap`: checks the network, fetches the key if needed, encrypts, sends.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn configure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NetworkConfig")] network: JsValue,
    ) -> js_sys::Promise {
        match options::network(network) {
            Ok(network) => self.driver.start(
                Operation::Configure {
                    network,
                    claim: false,
                },
                false,
                outcome::general,
            ),
            Err(error) => js_sys::Promise::reject(&error),
        }
    }

    /// `connect-ap` → `{ acknowledged }`. Never resent: a lost reply (`acknowledged:
    /// false`) most likely means the device is already leaving to join the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConnectResult>")]
    pub fn connect(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::Connect, false, outcome::general)
    }
}
