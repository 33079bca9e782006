//! `Cloud`: the customer's side of two-legged setup — a claim code while online, then
//! waiting until the device is online and this customer's.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::protocol::cloud::{self, ClaimCodeReply, CloudRequest, DeviceStatus};
use crate::protocol::Error;
use crate::web::convert::{self, object, promise};
use crate::web::error::to_js_in;
use crate::web::fetch::{self, FetchError, Outgoing};

const CLOUD_TIMEOUT_MS: u32 = 15_000;

pub(crate) struct Inner {
    api_url: String,
    token: String,
    product: Option<String>,
}

/// The Particle cloud, as a customer with a two-legged token sees it.
#[wasm_bindgen]
pub struct Cloud {
    pub(crate) inner: Rc<Inner>,
}

/// See [`crate::web::softap::SoftAp::share`].
#[wasm_bindgen(skip_typescript)]
pub struct SharedCloud(pub(crate) Rc<Inner>);

#[wasm_bindgen]
impl Cloud {
    /// A handle on this object's state for a `SetupFlow`.
    #[wasm_bindgen(js_name = __share, skip_typescript)]
    pub fn share(&self) -> SharedCloud {
        SharedCloud(self.inner.clone())
    }

    /// `new Cloud({ apiUrl = "https://api.particle.io", accessToken, productId })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "CloudOptions")] options: JsValue,
    ) -> Result<Cloud, JsValue> {
        let token = convert::string_field(&options, "accessToken")?.unwrap_or_default();
        if cloud::claim_code_request("x", &token, None).is_err() {
            return Err(to_js_in(&Error::TokenInvalid, "preparing"));
        }
        // A product is a number or a slug.
        let product = match convert::field(&options, "productId") {
            None => None,
            Some(p) => Some(
                p.as_string()
                    .or_else(|| {
                        p.as_f64()
                            .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                            .map(|n| (n as u64).to_string())
                    })
                    .ok_or_else(|| convert::type_error("productId"))?,
            ),
        };
        let api_url = convert::string_field(&options, "apiUrl")?
            .unwrap_or_else(|| "https://api.particle.io".into());
        Ok(Cloud {
            inner: Rc::new(Inner {
                api_url,
                token,
                product,
            }),
        })
    }

    /// A claim code for the customer, with the ids of the devices they already own.
    #[wasm_bindgen(js_name = createClaimCode, unchecked_return_type = "Promise<ClaimCode>")]
    pub fn create_claim_code(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        promise(async move {
            let reply = inner
                .create_claim_code(None)
                .await
                .map_err(|e| to_js_in(&e, "preparing"))?;
            Ok(object(&[
                ("claimCode", reply.claim_code.as_str().into()),
                ("deviceIds", convert::strings(&reply.device_ids)),
            ]))
        })
    }

    /// Resolves once the device is this customer's and online. Keeps polling calmly while
    /// the customer is still offline, rejoining their own network.
    #[wasm_bindgen(js_name = waitForDevice, unchecked_return_type = "Promise<ClaimedDevice>")]
    pub fn wait_for_device(
        &self,
        device_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: Option<JsValue>,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let inner = self.inner.clone();
        let signal =
            convert::field(&options, "signal").and_then(|s| s.dyn_into::<AbortSignal>().ok());
        let timeout_ms = convert::u32_field(&options, "timeoutMs");
        let interval_ms = convert::u32_field(&options, "intervalMs");
        promise(async move {
            let timeout_ms = timeout_ms?.unwrap_or(10 * 60_000);
            let interval_ms = interval_ms?.unwrap_or(3_000);
            inner
                .wait_for_device(&device_id, timeout_ms, interval_ms, signal.as_ref())
                .await
                .map_err(|e| to_js_in(&e, "waiting-for-cloud"))?;
            Ok(object(&[
                ("id", device_id.to_ascii_lowercase().into()),
                ("online", true.into()),
            ]))
        })
    }
}

impl Inner {
    async fn call(
        &self,
        request: &CloudRequest,
        cancel: Option<&AbortSignal>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let outgoing = Outgoing {
            method: request.method,
            url: &request.url,
            body: None,
            authorization: Some(&request.authorization),
            target_address_space_local: false,
            timeout_ms: CLOUD_TIMEOUT_MS,
            cancel,
        };
        let fail = |e: FetchError| match e {
            FetchError::Cancelled => Error::Cancelled,
            FetchError::TimedOut | FetchError::Network => Error::CloudUnreachable,
        };
        let incoming = fetch::send(outgoing).await.map_err(fail)?;
        let status = incoming.status;
        let body = incoming.bytes().await.map_err(fail)?;
        Ok((status, body))
    }

    pub(crate) async fn create_claim_code(
        &self,
        cancel: Option<&AbortSignal>,
    ) -> Result<ClaimCodeReply, Error> {
        let request =
            cloud::claim_code_request(&self.api_url, &self.token, self.product.as_deref())?;
        let (status, body) = self.call(&request, cancel).await?;
        cloud::read_claim_code(status, &body)
    }

    pub(crate) async fn wait_for_device(
        &self,
        device_id: &str,
        timeout_ms: u32,
        interval_ms: u32,
        cancel: Option<&AbortSignal>,
    ) -> Result<(), Error> {
        let request = cloud::device_request(&self.api_url, &self.token, device_id)?;
        let deadline = js_sys::Date::now() + f64::from(timeout_ms);
        let mut pause = interval_ms;
        loop {
            if cancel.is_some_and(AbortSignal::aborted) {
                return Err(Error::Cancelled);
            }
            match self.call(&request, cancel).await {
                Ok((status, body)) => match cloud::read_device(status, &body) {
                    Ok(DeviceStatus::Online) => return Ok(()),
                    Ok(DeviceStatus::NotClaimed | DeviceStatus::Offline) => pause = interval_ms,
                    // A struggling cloud: back off, up to 30 s between tries.
                    Err(Error::CloudError { status }) if status >= 500 || status == 429 => {
                        pause = pause.saturating_mul(2).min(30_000)
                    }
                    Err(e) => return Err(e),
                },
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                // Still offline, rejoining the home network: keep trying.
                Err(_) => pause = interval_ms,
            }
            if js_sys::Date::now() + f64::from(pause) > deadline {
                return Err(Error::ClaimTimeout);
            }
            fetch::sleep(pause).await;
        }
    }
}
