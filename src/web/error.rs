//! Core errors as JS `Error`s with a stable `code`, the `step` of the setup it happened in,
//! the `field` to fix where an input is to blame, and a readable message. The message never
//! contains a secret: core errors carry none.

use wasm_bindgen::prelude::*;

use crate::protocol::Error;

/// A JS `Error` named `SoftApError` with `code` (and `field` where one is to blame).
pub(crate) fn to_js(error: &Error) -> js_sys::Error {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("SoftApError");
    let _ = js_sys::Reflect::set(&js, &"code".into(), &error.code().into());
    if let Some(field) = error.field() {
        let _ = js_sys::Reflect::set(&js, &"field".into(), &field.name().into());
    }
    js
}

/// [`to_js`] with the setup step it happened in.
pub(crate) fn to_js_in(error: &Error, step: &str) -> JsValue {
    let js = to_js(error);
    let _ = js_sys::Reflect::set(&js, &"step".into(), &step.into());
    js.into()
}

impl From<Error> for JsValue {
    fn from(error: Error) -> Self {
        to_js(&error).into()
    }
}
