//! The handoff and sealed mode for JS: the link to the page the device serves, the return
//! from it, the password sealed with the device's recorded key, and which path a page takes.
//! `handoff.js` wraps these with what only the page knows (its address, its history).

use serde::{Deserialize, Serialize as _};
use wasm_bindgen::prelude::*;

use crate::protocol::browser::{self, Path};
use crate::protocol::handoff::{self, HandoffLink, Sealed};
use crate::protocol::{ClaimCode, DeviceKey, Fingerprint, NetworkOptions};
use crate::web::error::to_js_in;
use crate::web::options;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct HandoffOptions {
    device_url: Option<String>,
    page: Option<String>,
    claim_code: String,
    back: String,
    fingerprint: Option<String>,
    lang: Option<String>,
    sealed: Option<Sealed>,
}

/// A fresh random value for the link's query, so no browser shows a page it cached.
fn nonce() -> Result<String, JsValue> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|_| to_js_in(&crate::protocol::Error::RandomUnavailable, "preparing"))?;
    Ok(hex::encode(bytes))
}

/// The device page's URL with the handoff in its fragment (see `handoff.js`).
#[wasm_bindgen(js_name = handoffUrl)]
pub fn handoff_url(
    #[wasm_bindgen(unchecked_param_type = "HandoffOptions")] options: JsValue,
) -> Result<String, JsValue> {
    let options: HandoffOptions = options::read("handoff options", options)?;
    let fail = |e: crate::protocol::Error| to_js_in(&e, "preparing");
    let claim_code = ClaimCode::new(&options.claim_code).map_err(fail)?;
    let fingerprint = options
        .fingerprint
        .as_deref()
        .map(Fingerprint::parse)
        .transpose()
        .map_err(fail)?;
    let nonce = nonce()?;
    handoff::handoff_url(&HandoffLink {
        device_url: options
            .device_url
            .as_deref()
            .unwrap_or(crate::protocol::command::DEVICE_URL),
        page: options
            .page
            .as_deref()
            .unwrap_or(crate::protocol::handoff::DEVICE_PAGE),
        nonce: &nonce,
        claim_code: &claim_code,
        back: &options.back,
        fingerprint,
        lang: options.lang.as_deref(),
        sealed: options.sealed.as_ref(),
    })
    .map_err(fail)
}

/// The device page's return in a fragment: `null` when it is none; throws `handoff-invalid`
/// for one that does not validate.
#[wasm_bindgen(js_name = readHandoffReturn, unchecked_return_type = "HandoffResult | null")]
pub fn read_handoff_return(fragment: &str) -> Result<JsValue, JsValue> {
    match handoff::read_return(fragment) {
        Ok(None) => Ok(JsValue::NULL),
        Ok(Some(r)) => r
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|_| JsValue::NULL),
        Err(error) => Err(to_js_in(&error, "waiting-for-cloud")),
    }
}

/// Sealed mode: checks the network and encrypts its password with the device's recorded
/// public key (hex DER), before the customer leaves for the device's network.
#[wasm_bindgen(js_name = sealNetwork, unchecked_return_type = "Sealed")]
pub fn seal_network(
    public_key: &str,
    #[wasm_bindgen(unchecked_param_type = "NetworkConfig")] network: JsValue,
) -> Result<JsValue, JsValue> {
    let fail = |e: crate::protocol::Error| to_js_in(&e, "configuring");
    let der = hex::decode(public_key.trim()).map_err(|_| {
        fail(crate::protocol::Error::InvalidPublicKey(
            crate::protocol::KeyProblem::NotHex,
        ))
    })?;
    let key = DeviceKey::from_der(&der).map_err(fail)?;
    let network: NetworkOptions = options::network(network)?;
    let sealed = handoff::seal(&key, &network, &mut getrandom::SysRng).map_err(fail)?;
    sealed
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| JsValue::NULL)
}

/// SHA-256 of a recorded public key (hex DER, SPKI or PKCS#1) as 64 hex digits: what the
/// device's key must match. Throws `invalid-public-key` for a key the key policy refuses.
#[wasm_bindgen(js_name = fingerprintOf)]
pub fn fingerprint_of(public_key: &str) -> Result<String, JsValue> {
    let fail = |e: crate::protocol::Error| to_js_in(&e, "preparing");
    let der = hex::decode(public_key.trim()).map_err(|_| {
        fail(crate::protocol::Error::InvalidPublicKey(
            crate::protocol::KeyProblem::NotHex,
        ))
    })?;
    Ok(DeviceKey::from_der(&der)
        .map_err(fail)?
        .fingerprint()
        .to_hex())
}

/// "direct" when a page can call the device itself, else "handoff" (see `handoff.js`).
#[wasm_bindgen(js_name = pathFor, unchecked_return_type = "\"direct\" | \"handoff\"")]
pub fn path_for(device_url: &str, page_is_https: bool, browser_has_lna: bool) -> JsValue {
    match browser::choose_path(device_url, page_is_https, browser_has_lna) {
        Path::Direct => "direct".into(),
        Path::Handoff => "handoff".into(),
    }
}
