//! What the tests share: the simulator, a server on it, a session per user, the API as a
//! page calls it, a device set up as the element does it, and PostgreSQL clusters.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod postgres;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::{json, Value};
use softap_maker::config::{JwtConfig, JwtKey, ParticleConfig};
use softap_maker::release::ReleasePolicy;
use softap_maker::secret::Secret;
use softap_maker::{Config, RunningServer};
use softap_sim::cloud::ProductRules;
use softap_sim::device::RadioTiming;
use softap_sim::server::LifeTiming;
use softap_sim::{DeviceConfig, Simulator};

/// The session secret of the tests' "maker login".
pub const JWT_SECRET: &str = "softap-maker-test-session-secret-0123456789";
/// The simulator's product and OAuth client.
pub const PRODUCT: u32 = 4242;
pub const CLIENT_ID: &str = "softap-sim-client";
pub const CLIENT_SECRET: &str = "softap-sim-secret";
/// Generous bound on anything a test waits for; reaching it is a failure.
pub const BOUND: Duration = Duration::from_secs(30);

/// A scenario run against one database.
pub type Scenario = fn(Db) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fresh database for one scenario; SQLite files live as long as the value.
pub struct Db {
    pub url: String,
    pub postgres: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    /// A SQLite file in a new temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("maker.db").display()
        );
        Self {
            url,
            postgres: false,
            _dir: Some(dir),
        }
    }

    /// A PostgreSQL database.
    pub fn postgres(url: String) -> Self {
        Self {
            url,
            postgres: true,
            _dir: None,
        }
    }
}

/// Runs a scenario on a runtime of its own.
pub fn run(scenario: Scenario, db: Db) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(scenario(db));
}

/// The simulator with `devices` devices that join fast, and the product's rules: devices
/// must be imported first, claims never take a device over.
pub fn simulator(devices: usize) -> Simulator {
    simulator_with(
        devices,
        ProductRules {
            import_required: true,
            claim_takes_over: false,
        },
    )
}

pub fn simulator_with(devices: usize, rules: ProductRules) -> Simulator {
    let device = DeviceConfig {
        radio: RadioTiming {
            scan_entry: Duration::from_millis(1),
            scan: Duration::from_millis(1),
        },
        life: LifeTiming {
            teardown: Duration::from_millis(10),
            join: Duration::from_millis(10),
            relisten: Duration::from_millis(50),
        },
        ..DeviceConfig::default()
    };
    Simulator::start(softap_sim::Config {
        devices: vec![device; devices],
        control: None,
        backend: None,
        product_rules: rules,
        ..softap_sim::Config::default()
    })
    .expect("simulator")
}

/// A server configuration against the simulator's cloud.
pub fn config(sim: &Simulator, db: &Db) -> Config {
    Config {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url.clone(),
        particle: ParticleConfig {
            api_url: Url::parse(&format!("http://{}", sim.cloud_addr)).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            product: PRODUCT.to_string(),
        },
        jwt: hs256(),
        allowed_origins: vec!["http://127.0.0.1:8080".into()],
        token_lifetime: Duration::from_secs(3600),
        release_policy: ReleasePolicy::Refuse,
        rate_limit_per_minute: 100_000,
    }
}

pub fn hs256() -> JwtConfig {
    JwtConfig {
        key: JwtKey::Hs256(Secret::new(JWT_SECRET)),
        issuer: None,
        audience: None,
    }
}

/// Starts a server.
pub async fn start(config: Config) -> RunningServer {
    softap_maker::serve(config).await.expect("server starts")
}

/// A valid session for `user`.
pub fn session(user: &str) -> String {
    softap_maker::auth::dev_token(&hs256(), user, Duration::from_secs(3600)).unwrap()
}

/// The API as a page calls it.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request; answers status and JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(session) = session {
            request = request.bearer_auth(session);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("server answers");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("JSON body: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, session: &str) -> (u16, Value) {
        self.call(Method::GET, path, Some(session), None).await
    }

    pub async fn post(&self, path: &str, session: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(session), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, session: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(session), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, session: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, Some(session), None).await
    }

    /// `POST /v1/setup-token`: the customer token.
    pub async fn setup_token(&self, session: &str) -> String {
        let (status, body) = self
            .call(Method::POST, "/v1/setup-token", Some(session), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 3600);
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates an installation; its id.
    pub async fn installation(&self, session: &str, name: &str) -> String {
        let (status, body) = self
            .post("/v1/installations", session, json!({ "name": name }))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

/// The error code of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error body: {body}"))
}

/// Device `index`'s id, lower case.
pub fn device_id(sim: &Simulator, index: usize) -> String {
    sim.devices[index]
        .shared
        .lock()
        .model
        .device
        .id()
        .to_ascii_lowercase()
}

/// Device `index`'s public key as the device serves it (hex of its padded key slot).
pub fn device_key_hex(sim: &Simulator, index: usize) -> String {
    let blob = sim.devices[index]
        .shared
        .lock()
        .model
        .device
        .public_key_blob();
    blob.iter().map(|b| format!("{b:02X}")).collect()
}

/// Device `index`'s access point's name, as the simulator names it.
pub fn ap_name(sim: &Simulator, index: usize) -> String {
    let id = device_id(sim, index).to_ascii_uppercase();
    format!("Photon-{}", &id[id.len() - 6..])
}

/// A CSV line of the factory's file for device `index`.
pub fn csv_line(sim: &Simulator, index: usize) -> String {
    format!(
        "{},{},{}\n",
        device_id(sim, index).to_ascii_uppercase(),
        ap_name(sim, index),
        device_key_hex(sim, index)
    )
}

/// The cloud's calls, `method path`, so far.
pub fn cloud_calls(sim: &Simulator, method: &str, path: &str) -> usize {
    sim.cloud
        .lock()
        .unwrap()
        .log
        .iter()
        .filter(|(m, p, _)| m == method && p == path)
        .count()
}

/// Customers the simulated cloud has.
pub fn cloud_customers(sim: &Simulator) -> Vec<String> {
    sim.cloud.lock().unwrap().customers().cloned().collect()
}

/// The cloud's owner of a device.
pub fn cloud_owner(sim: &Simulator, id: &str) -> Option<String> {
    sim.cloud
        .lock()
        .unwrap()
        .devices()
        .find(|d| d.id == id)
        .and_then(|d| d.owner.clone())
}

/// One command to the device over its HTTP server, as a page sends it (form-encoded JSON,
/// `Connection: close`): the reply's JSON.
fn device_command(addr: SocketAddr, command: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut stream = TcpStream::connect(addr).expect("device answers");
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let head = format!(
        "POST /{command} HTTP/1.1\r\nHost: 192.168.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert!(
        response.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // The device writes every JSON token as its own chunk.
    let mut rest = &response[split..];
    let mut json = Vec::new();
    while let Some(line) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        json.extend_from_slice(&rest[line + 2..line + 2 + size]);
        rest = &rest[line + 2 + size + 2..];
    }
    serde_json::from_slice(&json).expect("a JSON reply")
}

/// Polls `check` until it holds, up to [`BOUND`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + BOUND;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sets device `index` up as the element does with the customer token from
/// `POST /v1/setup-token`: a claim code while online, then on the device's network the claim
/// code, an open network and connect; then, online again, waits until the cloud lists the
/// device for this customer. Returns the device id.
pub async fn set_up(sim: &Simulator, index: usize, customer_token: &str) -> String {
    let http = reqwest::Client::new();
    let claim: Value = http
        .post(format!(
            "http://{}/v1/products/{PRODUCT}/device_claims",
            sim.cloud_addr
        ))
        .bearer_auth(customer_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = claim["claim_code"]
        .as_str()
        .expect("a claim code")
        .to_owned();
    let addr = sim.devices[index].http;
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            device_command(addr, "set", &json!({"k": "cc", "v": code}))["r"],
            0
        );
        let network = json!({"idx": 0, "ssid": "Guest", "sec": 0, "ch": 11});
        assert_eq!(device_command(addr, "configure-ap", &network)["r"], 0);
        assert_eq!(
            device_command(addr, "connect-ap", &json!({"idx": 0}))["r"],
            0
        );
    })
    .await
    .unwrap();
    let id = device_id(sim, index);
    let url = format!("http://{}/v1/devices/{id}", sim.cloud_addr);
    eventually("the device online and claimed", || {
        let request = http.get(&url).bearer_auth(customer_token).send();
        async move {
            match request.await {
                Ok(r) if r.status() == 200 => {
                    r.json::<Value>().await.is_ok_and(|d| d["online"] == true)
                }
                _ => false,
            }
        }
    })
    .await;
    id
}

/// Device `index` set up by a customer but left owned by someone else (no takeover):
/// waits until the device is online, then returns.
pub async fn set_up_unclaimed(sim: &Simulator, index: usize, customer_token: &str) {
    let http = reqwest::Client::new();
    let claim: Value = http
        .post(format!(
            "http://{}/v1/products/{PRODUCT}/device_claims",
            sim.cloud_addr
        ))
        .bearer_auth(customer_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = claim["claim_code"].as_str().unwrap().to_owned();
    let addr = sim.devices[index].http;
    tokio::task::spawn_blocking(move || {
        device_command(addr, "set", &json!({"k": "cc", "v": code}));
        device_command(
            addr,
            "configure-ap",
            &json!({"idx": 0, "ssid": "Guest", "sec": 0, "ch": 11}),
        );
        device_command(addr, "connect-ap", &json!({"idx": 0}));
    })
    .await
    .unwrap();
    let handle = &sim.devices[index];
    assert!(
        tokio::task::block_in_place(
            || handle.wait_for_mode(softap_sim::server::Mode::Online, BOUND)
        ),
        "the device came online"
    );
}

/// Imports the given devices through the library, with labels in a temporary folder.
pub async fn import(
    sim: &Simulator,
    db: &Db,
    devices: &[usize],
) -> softap_maker::factory::ImportReport {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("devices.csv");
    let text: String = devices.iter().map(|&i| csv_line(sim, i)).collect();
    std::fs::write(&csv, text).unwrap();
    let store = softap_maker::store::Store::open(&db.url).await.unwrap();
    let particle = softap_maker::particle::Particle::new(config(sim, db).particle).unwrap();
    let setup = Url::parse("https://lumen.example/setup").unwrap();
    let report =
        softap_maker::factory::import(&csv, &dir.path().join("labels"), &setup, &store, &particle)
            .await
            .unwrap();
    store.close().await;
    report
}
