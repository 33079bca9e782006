//! `Cloud`: the customer's side of two-legged setup — a claim code while online, then waiting
//! until the device is online and this customer's. Each call is an operation of the core's
//! machine.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use crate::protocol::cloud::CloudConfig;
use crate::protocol::policy;
use crate::protocol::setup::{Operation, SetupConfig};
use crate::web::driver::Driver;
use crate::web::error::to_js_in;
use crate::web::options::{self, CloudOptions, CloudWaitOptions};
use crate::web::outcome;

/// The Particle cloud, as a customer with a two-legged token sees it.
#[wasm_bindgen]
pub struct Cloud {
    pub(crate) config: CloudConfig,
    driver: Rc<Driver>,
}

/// See [`crate::web::softap::SoftAp::share`].
#[wasm_bindgen(skip_typescript)]
pub struct SharedCloud(pub(crate) CloudConfig);

#[wasm_bindgen]
impl Cloud {
    /// A copy of this object's configuration for a `SetupFlow`.
    #[wasm_bindgen(js_name = __share, skip_typescript)]
    pub fn share(&self) -> SharedCloud {
        SharedCloud(self.config.clone())
    }

    /// `new Cloud({ apiUrl = "https://api.particle.io", accessToken, productId })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "CloudOptions")] options: JsValue,
    ) -> Result<Cloud, JsValue> {
        let options: CloudOptions = options::read("Cloud options", options)?;
        let api_url = options
            .api_url
            .as_deref()
            .unwrap_or(crate::protocol::cloud::API_URL);
        let product = options.product_id.as_ref().map(|p| p.to_segment());
        let config = CloudConfig::new(api_url, &options.access_token, product)
            .map_err(|e| to_js_in(&e, "preparing"))?;
        let mut setup = SetupConfig::new(crate::protocol::command::DEVICE_URL);
        setup.cloud = Some(config.clone());
        Ok(Cloud {
            config,
            driver: Driver::new(setup),
        })
    }

    /// A claim code for the customer, with the ids of the devices they already own.
    #[wasm_bindgen(js_name = createClaimCode, unchecked_return_type = "Promise<ClaimCode>")]
    pub fn create_claim_code(&self) -> js_sys::Promise {
        self.driver
            .start(Operation::CreateClaimCode, false, outcome::general)
    }

    /// Gives the customer's device the name they chose ("Kitchen lamp"): `PUT /v1/devices/:id`
    /// with their token. Rejects with `missing-field`, `field-too-long` or
    /// `unsupported-character` (field `deviceName`) before anything is sent.
    #[wasm_bindgen(js_name = renameDevice, unchecked_return_type = "Promise<void>")]
    pub fn rename_device(&self, device_id: String, name: String) -> js_sys::Promise {
        self.driver.start(
            Operation::RenameDevice { device_id, name },
            false,
            outcome::general,
        )
    }

    /// Resolves once the device is this customer's and online: the customer's event stream,
    /// with calm polling of their devices as the fallback.
    #[wasm_bindgen(js_name = waitForDevice, unchecked_return_type = "Promise<ClaimedDevice>")]
    pub fn wait_for_device(
        &self,
        device_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: Option<JsValue>,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let signal = js_sys::Reflect::get(&options, &"signal".into())
            .ok()
            .and_then(|s| s.dyn_into::<AbortSignal>().ok());
        let parsed: CloudWaitOptions = match options::read("WaitOptions", without_signal(&options))
        {
            Ok(parsed) => parsed,
            Err(error) => return js_sys::Promise::reject(&error),
        };
        if signal.as_ref().is_some_and(AbortSignal::aborted) {
            return crate::web::driver::rejected(
                &crate::protocol::Error::Cancelled,
                "waiting-for-cloud",
            );
        }
        let (promise, op) = self.driver.start_op(
            Operation::WaitForCloud {
                device_id: Some(device_id),
                timeout_ms: parsed.timeout_ms.map_or(policy::CLOUD_WAIT_MS, u64::from),
                interval_ms: parsed.interval_ms.map_or(policy::CLOUD_POLL_MS, u64::from),
                watch_device: false,
                claim_unowned: parsed.claim_unowned.unwrap_or(false),
            },
            false,
            outcome::online,
        );
        if let Some(signal) = signal {
            let driver = Rc::downgrade(&self.driver);
            let on_abort = Closure::once_into_js(move || {
                if let Some(driver) = driver.upgrade() {
                    driver.abort(op);
                }
            });
            let _ = signal.add_event_listener_with_callback("abort", on_abort.unchecked_ref());
        }
        promise
    }
}

/// The options without `signal`, which is no plain value.
fn without_signal(options: &JsValue) -> JsValue {
    if !options.is_object() {
        return options.clone();
    }
    let copy = js_sys::Object::assign(&js_sys::Object::new(), options.unchecked_ref());
    let _ = js_sys::Reflect::delete_property(&copy, &"signal".into());
    copy.into()
}
