//! Helpers the browser tests share: JSON across the JS boundary, and plain `fetch` for the
//! simulator's control address, cloud and backend.

use js_sys::{Object, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// softap-sim's addresses, as `scripts/test-browser.sh` started it (on free ports) and gave
/// them at build time: the one JSON line it prints, in `SOFTAP_SIM`. Without it the tests
/// that need the simulator are left out, saying so (`wasm-pack test` on a fresh clone);
/// `make test` always runs them.
pub struct Sim {
    pub control: String,
    pub cloud: String,
    pub backend: String,
    pub devices: Vec<String>,
}

#[allow(dead_code)] // not every test file uses it
pub const PRODUCT: u32 = 4242;

/// The simulator, or `None` when none was started for this build.
pub fn sim() -> Option<Sim> {
    let line: Value = serde_json::from_str(option_env!("SOFTAP_SIM")?).ok()?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Some(Sim {
        control: text(&line["control"]),
        cloud: text(&line["cloud"]),
        backend: text(&line["backend"]),
        devices: line["devices"]
            .as_array()?
            .iter()
            .map(|d| text(&d["http"]))
            .collect(),
    })
}

/// The simulator, or leaves the test out with a message.
#[macro_export]
macro_rules! require_sim {
    () => {
        match $crate::support::sim() {
            Some(sim) => sim,
            None => {
                wasm_bindgen_test::console_log!(
                    "left out: no softap-sim for this build (SOFTAP_SIM unset); make test starts one"
                );
                return;
            }
        }
    };
}

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
