//! `make bench`: a WPA2 setup through `SetupFlow` against softap-sim with 100 ms latency on
//! every device request. Prints `flow_requests`, `flow_wall_ms` and `flow_sim_floor_ms` (what
//! the simulator itself spends: latencies, scan and configure delays, leaving and joining),
//! what the browser alone adds per request, and `claim_detect_ms`: from the simulated cloud
//! marking the device online and claimed to the flow's `claimed` event. Asserts only what
//! does not depend on time: the exact requests the protocol needs.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect};
use serde_json::json;
use softap_web::web::cloud::Cloud;
use softap_web::web::flow::SetupFlow;
use softap_web::web::softap::SoftAp;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::{http, js};

const LATENCY_MS: u64 = 100;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = console)]
    fn log(line: &str);
}

/// One timed setup's figures.
struct Run {
    wall_ms: f64,
    floor_ms: u64,
    requests: usize,
    steps: Vec<(&'static str, f64)>,
    cloud_check_ms: f64,
    claim_detect_ms: f64,
}

impl Run {
    /// Time beyond what the simulator itself spends.
    fn excess_ms(&self) -> f64 {
        self.wall_ms - self.floor_ms as f64
    }
}

#[wasm_bindgen_test]
async fn bench_wpa2_flow_with_100ms_latency() {
    let sim = require_sim!();
    let (control, device) = (sim.control.as_str(), sim.devices[0].as_str());
    // The best of three setups: the figure is the library's work, not the machine's hiccups.
    let mut best: Option<Run> = None;
    for _ in 0..3 {
        let run = run_once(&sim, control, device).await;
        if best
            .as_ref()
            .is_none_or(|b| run.excess_ms() < b.excess_ms())
        {
            best = Some(run);
        }
    }
    let run = best.unwrap();
    for (name, ms) in &run.steps {
        log(&format!("flow_step_{name}_ms: {}", ms.round()));
    }
    log(&format!(
        "flow_cloud_check_ms: {}",
        run.cloud_check_ms.round()
    ));
    log(&format!("claim_detect_ms: {:.0}", run.claim_detect_ms));
    log(&format!("flow_requests: {}", run.requests));
    log(&format!("flow_wall_ms: {}", run.wall_ms.round()));
    log(&format!("flow_sim_floor_ms: {}", run.floor_ms));
    log(&format!(
        "flow_overhead_percent: {:.1}",
        (run.wall_ms / run.floor_ms as f64 - 1.0) * 100.0
    ));
    let (wall_ms, floor, requests) = (run.wall_ms, run.floor_ms, run.requests);

    // What the browser itself adds to one device request at this latency, without the
    // library: the median of 27 plain `fetch`es of `/version` from the same page.
    http("POST", &format!("{control}/reset?device=0&release=1"), None).await;
    http(
        "POST",
        &format!("{control}/faults?device=0"),
        Some(&json!({"latency_ms": LATENCY_MS}).to_string()),
    )
    .await;
    let mut bare = Vec::new();
    for _ in 0..27 {
        let at = now();
        http("GET", &format!("{device}/version"), None).await;
        bare.push(now() - at - LATENCY_MS as f64);
    }
    bare.sort_by(f64::total_cmp);
    let browser_ms = bare[bare.len() / 2];
    let mut keys = Vec::new();
    for _ in 0..5 {
        let at = now();
        http("GET", &format!("{device}/public-key"), None).await;
        keys.push(now() - at - LATENCY_MS as f64);
    }
    keys.sort_by(f64::total_cmp);
    log(&format!(
        "browser_public_key_overhead_ms: {:.1}",
        keys[keys.len() / 2]
    ));
    log(&format!("browser_request_overhead_ms: {browser_ms:.1}"));
    log(&format!(
        "flow_overhead_beyond_browser_ms: {:.0}",
        wall_ms - floor as f64 - browser_ms * requests as f64
    ));
    http("POST", &format!("{control}/reset?device=0&release=1"), None).await;
}

/// A whole WPA2 setup from a reset device, timed.
async fn run_once(sim: &support::Sim, control: &str, device: &str) -> Run {
    http("POST", &format!("{control}/reset?device=0&release=1"), None).await;
    let token = http(
        "POST",
        &format!("{}/customer-token", sim.backend),
        Some(r#"{"customer":"bench@example.com"}"#),
    )
    .await;
    let cloud = Cloud::new(js(
        &json!({"apiUrl": sim.cloud, "accessToken": token["access_token"], "productId": 4242}),
    ))
    .unwrap();
    let options = Object::new();
    Reflect::set(
        &options,
        &"device".into(),
        &JsValue::from(SoftAp::new(Some(js(&json!({"baseUrl": device})))).unwrap()),
    )
    .unwrap();
    Reflect::set(&options, &"cloud".into(), &JsValue::from(cloud)).unwrap();
    // When the `claimed` progress came, on this page's clock.
    let claimed_at = std::rc::Rc::new(std::cell::Cell::new(0.0));
    let mark = claimed_at.clone();
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        if Reflect::get(&event, &"step".into())
            .unwrap()
            .as_string()
            .as_deref()
            == Some("claimed")
        {
            mark.set(now());
        }
    });
    Reflect::set(&options, &"onProgress".into(), on_progress.as_ref()).unwrap();
    let flow = SetupFlow::new(options.into()).unwrap();
    // Online, before the customer switches networks: not part of the device flow.
    JsFuture::from(flow.prepare(None)).await.unwrap();
    http(
        "POST",
        &format!("{control}/faults?device=0"),
        Some(&json!({"latency_ms": LATENCY_MS}).to_string()),
    )
    .await;

    let start = now();
    let mut marks = Vec::new();
    JsFuture::from(flow.wait_for_device(Some(js(&json!({"intervalMs": 10})))))
        .await
        .unwrap();
    marks.push(("device", now()));
    JsFuture::from(flow.scan()).await.unwrap();
    marks.push(("scan", now()));
    let network = json!({"ssid": "Home WiFi", "security": "wpa2", "password": "correct horse"});
    JsFuture::from(flow.configure(js(&network))).await.unwrap();
    marks.push(("configure", now()));
    JsFuture::from(flow.connect()).await.unwrap();
    marks.push(("connect", now()));
    JsFuture::from(flow.wait_for_cloud(Some(js(&json!({"intervalMs": 10})))))
        .await
        .unwrap();
    marks.push(("cloud", now()));
    let wall_ms = now() - start;
    let mut last = start;
    let mut steps = Vec::new();
    for (name, at) in marks {
        steps.push((name, at - last));
        last = at;
    }

    // One more wait, the device long online: what a single successful check costs.
    let again = now();
    JsFuture::from(flow.wait_for_cloud(Some(js(&json!({"intervalMs": 10})))))
        .await
        .unwrap();
    let cloud_check_ms = now() - again;
    // The simulator's clock against this page's: /state answered between `asked` and now.
    let asked = now();
    let whole = http("GET", &format!("{control}/state"), None).await;
    let offset = (asked + now()) / 2.0 - whole["now"].as_f64().unwrap();
    let state = whole["devices"][0].clone();
    let online_at = state["onlineAt"].as_f64().unwrap() + offset;
    let claim_detect_ms = (claimed_at.get() - online_at).max(0.0);
    let paths: Vec<&str> = state["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/device-id",
            "/public-key",
            "/scan-ap",
            "/set",
            "/configure-ap",
            "/connect-ap"
        ]
    );
    let t = &state["timing"];
    let ms = |key: &str| t[key].as_u64().unwrap();
    let floor = paths.len() as u64 * LATENCY_MS
        + t["scanEntries"].as_u64().unwrap() * ms("scanEntryMs")
        + 2 * ms("scanMs") // configure-ap on 0.7 scans twice for a WPA network
        + ms("teardownMs")
        + ms("joinMs");
    Run {
        wall_ms,
        floor_ms: floor,
        requests: paths.len(),
        steps,
        cloud_check_ms,
        claim_detect_ms,
    }
}
