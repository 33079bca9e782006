//! `Cloud`: the customer's side of two-legged setup — a claim code while online, then
//! waiting until the device is online and this customer's.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::protocol::cloud::{self, ClaimCodeReply, CloudRequest, DeviceStatus};
use crate::protocol::Error;
use crate::web::error::to_js_in;
use crate::web::fetch::{self, FetchError, Outgoing};
use crate::web::softap::to_js_value;

const CLOUD_TIMEOUT_MS: u32 = 15_000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Options {
    api_url: Option<String>,
    access_token: String,
    product_id: Option<ProductId>,
}

/// A product id is a number or a slug.
#[derive(Deserialize)]
#[serde(untagged)]
enum ProductId {
    Id(u64),
    Slug(String),
}

impl ProductId {
    fn into_string(self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Slug(slug) => slug,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WaitOptions {
    timeout_ms: Option<u32>,
    interval_ms: Option<u32>,
}

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimCodeResult {
    claim_code: String,
    device_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimedDevice {
    id: String,
    online: bool,
}

#[wasm_bindgen]
impl Cloud {
    /// `new Cloud({ apiUrl = "https://api.particle.io", accessToken, productId })`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "CloudOptions")] options: JsValue,
    ) -> Result<Cloud, JsValue> {
        let options: Options = serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsValue::from(js_sys::TypeError::new(&e.to_string())))?;
        if cloud::claim_code_request("x", &options.access_token, None).is_err() {
            return Err(to_js_in(&Error::TokenInvalid, "preparing"));
        }
        Ok(Cloud {
            inner: Rc::new(Inner {
                api_url: options
                    .api_url
                    .unwrap_or_else(|| "https://api.particle.io".into()),
                token: options.access_token,
                product: options.product_id.map(ProductId::into_string),
            }),
        })
    }

    /// A claim code for the customer, with the ids of the devices they already own.
    #[wasm_bindgen(js_name = createClaimCode, unchecked_return_type = "Promise<ClaimCode>")]
    pub fn create_claim_code(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let reply = inner
                .create_claim_code()
                .await
                .map_err(|e| to_js_in(&e, "preparing"))?;
            Ok(to_js_value(&ClaimCodeResult {
                claim_code: reply.claim_code,
                device_ids: reply.device_ids,
            }))
        })
    }

    /// Resolves once the device is this customer's and online. Keeps polling calmly while
    /// the customer is still offline, rejoining their own network.
    #[wasm_bindgen(js_name = waitForDevice, unchecked_return_type = "Promise<ClaimedDevice>")]
    pub fn wait_for_device(
        &self,
        device_id: String,
        #[wasm_bindgen(unchecked_param_type = "WaitOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let signal = js_sys::Reflect::get(&options, &"signal".into())
            .ok()
            .and_then(|s| s.dyn_into::<AbortSignal>().ok());
        let options: WaitOptions = serde_wasm_bindgen::from_value(options).unwrap_or_default();
        future_to_promise(async move {
            inner
                .wait_for_device(
                    &device_id,
                    options.timeout_ms.unwrap_or(10 * 60_000),
                    options.interval_ms.unwrap_or(3_000),
                    signal.as_ref(),
                )
                .await
                .map(|()| {
                    to_js_value(&ClaimedDevice {
                        id: device_id.to_ascii_lowercase(),
                        online: true,
                    })
                })
                .map_err(|e| to_js_in(&e, "waiting-for-cloud"))
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

    pub(crate) async fn create_claim_code(&self) -> Result<ClaimCodeReply, Error> {
        let request =
            cloud::claim_code_request(&self.api_url, &self.token, self.product.as_deref())?;
        let (status, body) = self.call(&request, None).await?;
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
