//! Security names both ways, for pages that build their own network forms.

use wasm_bindgen::prelude::*;

use crate::protocol::Security;
use crate::web::JsResult;

/// The device's security value for a name such as `"wpa2_mixed"`.
///
/// Throws `SoftApError` `unknown-security` for a name not in the table: never a silent
/// open network.
#[wasm_bindgen(js_name = securityValue)]
pub fn security_value(name: &str) -> JsResult<f64> {
    Ok(Security::from_name(name)?.value() as f64)
}

/// The canonical name of a security value, or `undefined` for combinations without one.
#[wasm_bindgen(js_name = securityName)]
pub fn security_name(value: f64) -> Option<String> {
    if value.fract() != 0.0 {
        return None;
    }
    Security::from_value(value as i64)
        .and_then(Security::name)
        .map(str::to_owned)
}
