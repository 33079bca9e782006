//! Helpers the browser tests share: JSON across the JS boundary, and plain `fetch` for the
//! simulator's control address, cloud and backend.

use js_sys::{Object, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The simulator started by scripts/test-browser.sh.
pub const CONTROL: &str = "http://127.0.0.1:18221";
pub const CLOUD: &str = "http://127.0.0.1:18220";
pub const BACKEND: &str = "http://127.0.0.1:18222";
pub const DEVICES: [&str; 3] = [
    "http://127.0.0.1:18200",
    "http://127.0.0.1:18201",
    "http://127.0.0.1:18202",
];
pub const PRODUCT: u32 = 4242;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with(url: &str, init: &JsValue) -> Promise;
}

/// A JSON value as a JS value.
pub fn js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap()
}

/// A JS value as JSON (`undefined` as null).
#[allow(dead_code)]
pub fn rust(value: JsValue) -> Value {
    if value.is_undefined() {
        return Value::Null;
    }
    serde_json::from_str(
        &js_sys::JSON::stringify(&value)
            .unwrap()
            .as_string()
            .unwrap(),
    )
    .unwrap()
}

/// A request with an optional text body; the reply as JSON (null if it is not JSON).
pub async fn http(method: &str, url: &str, body: Option<&str>) -> Value {
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &method.into()).unwrap();
    if let Some(body) = body {
        Reflect::set(&init, &"body".into(), &body.into()).unwrap();
    }
    let response: web_sys::Response = JsFuture::from(fetch_with(url, &init))
        .await
        .unwrap()
        .unchecked_into();
    let text = JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
