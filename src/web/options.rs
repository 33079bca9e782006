//! The option bags and arguments JS passes in, read with `serde-wasm-bindgen`. A malformed
//! one is a programming error, not a setup failure: it throws a `TypeError` that names the
//! option at fault.

use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::NetworkOptions;

/// Reads `value` as `T`; `undefined` and `null` read as `T::default()`.
pub(crate) fn read<T: DeserializeOwned + Default>(
    what: &str,
    value: JsValue,
) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value.clone()).map_err(|error| {
        let expected = expectation(&error.to_string());
        let message = match culprit::<T>(&value) {
            Some(option) => format!("softap-web: bad option {option} of {what}: {expected}"),
            None => format!("softap-web: bad {what}: {expected}"),
        };
        js_sys::TypeError::new(&message).into()
    })
}

/// What serde says was expected, never what it was given: that may be a password, a claim
/// code or a token passed with the wrong type. Serde ends its messages with ", expected …",
/// which comes from the type, not from the value.
fn expectation(serde_message: &str) -> String {
    match serde_message.rsplit_once(", expected ") {
        Some((_, expected)) => format!("expected {expected}"),
        // "missing field `name`" names the field only.
        None if serde_message.starts_with("missing field") => serde_message.to_owned(),
        None => "not of the type it takes (see the TypeScript types)".to_owned(),
    }
}

/// The option that makes `value` unreadable as `T`: every option of these bags may be left
/// out, so each is read alone, in an object of its own, until one fails.
fn culprit<T: DeserializeOwned + Default>(value: &JsValue) -> Option<String> {
    let object = value.dyn_ref::<Object>()?;
    Object::keys(object).iter().find_map(|key| {
        let alone = Object::new();
        let field = Reflect::get(object, &key).ok()?;
        Reflect::set(&alone, &key, &field).ok()?;
        serde_wasm_bindgen::from_value::<T>(alone.into())
            .is_err()
            .then(|| key.as_string())
            .flatten()
    })
}

/// `new SoftAP(options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SoftApOptions {
    pub base_url: Option<String>,
    pub timeout_ms: Option<u32>,
    pub retries: Option<u32>,
    pub target_address_space: Option<AddressSpace>,
    pub expected_fingerprint: Option<String>,
}

/// Chrome's `targetAddressSpace`, forced or forbidden.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AddressSpace {
    Local,
    None,
}

/// `new Cloud(options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CloudOptions {
    pub api_url: Option<String>,
    pub access_token: String,
    pub product_id: Option<ProductId>,
}

/// A product, by number or slug.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ProductId {
    Number(u64),
    Slug(String),
}

impl ProductId {
    pub(crate) fn to_segment(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Slug(s) => s.clone(),
        }
    }
}

/// `flow.prepare(options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PrepareOptions {
    pub devices: Option<u32>,
}

/// `flow.waitForDevice(options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DeviceWaitOptions {
    pub timeout_ms: Option<u32>,
    pub interval_ms: Option<u32>,
}

/// `flow.waitForCloud(options)` and `cloud.waitForDevice(id, options)`; the latter's `signal`
/// is read apart (it is no plain value).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CloudWaitOptions {
    pub timeout_ms: Option<u32>,
    pub interval_ms: Option<u32>,
    pub watch_device: Option<bool>,
    pub claim_unowned: Option<bool>,
}

/// A network as `configure` takes it (the core's own loose input).
pub(crate) fn network(value: JsValue) -> Result<NetworkOptions, JsValue> {
    read("network", value)
}
