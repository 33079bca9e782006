//! Every conversion between JS values and the core's types, by hand: a general
//! (de)serializer costs the wasm more than these few functions.

use std::future::Future;
use std::pin::Pin;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::protocol::{NameOrNumber, NetworkOptions};

/// A `TypeError` for a malformed argument (a programming error, not a setup failure),
/// naming the option at fault.
pub(crate) fn type_error(option: &str) -> JsValue {
    js_sys::TypeError::new(&["softap-web: bad option ", option].concat()).into()
}

/// `object[key]`, `None` when absent, `undefined` or `null`.
pub(crate) fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    Reflect::get(object, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

pub(crate) fn string_field(object: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(value) => value
            .as_string()
            .map(Some)
            .ok_or_else(|| type_error(&format!("{key} must be a string"))),
    }
}

pub(crate) fn u32_field(object: &JsValue, key: &str) -> Result<Option<u32>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(n) if n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 => {
                Ok(Some(n as u32))
            }
            _ => Err(type_error(key)),
        },
    }
}

pub(crate) fn name_or_number(object: &JsValue, key: &str) -> Result<Option<NameOrNumber>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(value) => {
            if let Some(name) = value.as_string() {
                Ok(Some(NameOrNumber::Name(name)))
            } else {
                match value.as_f64() {
                    Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                        Ok(Some(NameOrNumber::Number(n as i64)))
                    }
                    _ => Err(type_error(key)),
                }
            }
        }
    }
}

/// The network a page passes to `configure`.
pub(crate) fn network_options(value: &JsValue) -> Result<NetworkOptions, JsValue> {
    if !value.is_object() {
        return Err(type_error(
            "configure takes an object such as { ssid, security, password }",
        ));
    }
    Ok(NetworkOptions {
        ssid: string_field(value, "ssid")?.unwrap_or_default(),
        security: name_or_number(value, "security")?,
        password: string_field(value, "password")?,
        channel: u32_field(value, "channel")?,
        eap: name_or_number(value, "eap")?,
        inner_identity: string_field(value, "innerIdentity")?,
        outer_identity: string_field(value, "outerIdentity")?,
        client_certificate: string_field(value, "clientCertificate")?,
        private_key: string_field(value, "privateKey")?,
        ca_certificate: string_field(value, "caCertificate")?,
    })
}

/// A plain object from key–value pairs.
pub(crate) fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}

/// A JS array of strings.
pub(crate) fn strings(items: &[String]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<Array>()
        .into()
}

/// Runs `future` as a `Promise`. Boxed, so every method shares one copy of the promise
/// machinery instead of one per future type.
pub(crate) fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let boxed: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(boxed)
}
