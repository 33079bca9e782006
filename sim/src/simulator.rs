//! A whole simulated installation: devices, the cloud, the control address and the
//! maker-backend stand-in, started together.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_core::TryRng;
use serde_json::{json, Value};

use crate::cloud::{Cloud, CloudFault, ProductRules};
use crate::device::{Device, Firmware, RadioTiming, VisibleNetwork};
use crate::httpd::{self, Request, Response};
use crate::server::{Clock, CloudHandle, DeviceHandle, Faults, LifeTiming};

/// The networks the simulated radio sees unless told otherwise.
pub const DEFAULT_NETWORKS: &str = include_str!("../fixtures/networks.json");

/// One simulated device.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// HTTP address (port 0: any free port).
    pub http: SocketAddr,
    /// TCP protocol address.
    pub tcp: SocketAddr,
    /// Firmware profile.
    pub firmware: Firmware,
    /// PKCS#1 PEM of the device key; `None` generates an RSA-1024 key.
    pub key_pem: Option<String>,
    /// 24 hex digits; `None` picks a random id.
    pub id: Option<String>,
    /// What the radio sees.
    pub networks: Vec<VisibleNetwork>,
    /// Scan timing.
    pub radio: RadioTiming,
    /// Join timing.
    pub life: LifeTiming,
    /// Faults from the start.
    pub faults: Faults,
    /// A generated device page folder (`pages.json`) the firmware serves; `None`: the
    /// default application page handler.
    pub pages: Option<std::path::PathBuf>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
        Self {
            http: loopback,
            tcp: loopback,
            firmware: Firmware::V07,
            key_pem: None,
            id: None,
            networks: serde_json::from_str(DEFAULT_NETWORKS).expect("fixture"),
            radio: RadioTiming {
                scan_entry: Duration::from_millis(40),
                scan: Duration::from_millis(300),
            },
            life: LifeTiming {
                teardown: Duration::from_millis(200),
                join: Duration::from_millis(1000),
                relisten: Duration::from_millis(3000),
            },
            faults: Faults::default(),
            pages: None,
        }
    }
}

/// The whole simulation.
#[derive(Clone, Debug)]
pub struct Config {
    /// Devices.
    pub devices: Vec<DeviceConfig>,
    /// Cloud API address.
    pub cloud: SocketAddr,
    /// Control address (`GET /state`, faults); `None`: not served.
    pub control: Option<SocketAddr>,
    /// Maker-backend stand-in address; `None`: not served.
    pub backend: Option<SocketAddr>,
    /// Static files for a demo page: address, page folder, npm package folder.
    pub www: Option<(SocketAddr, std::path::PathBuf, Option<std::path::PathBuf>)>,
    /// Product id.
    pub product_id: u32,
    /// The two-legged OAuth client (the backend stand-in holds the secret).
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// How product claim codes behave (takeover of another customer's device, import
    /// required first).
    pub product_rules: ProductRules,
}

impl Default for Config {
    fn default() -> Self {
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
        Self {
            devices: vec![DeviceConfig::default()],
            cloud: loopback,
            control: Some(loopback),
            backend: Some(loopback),
            www: None,
            product_id: 4242,
            client_id: "softap-sim-client".into(),
            client_secret: "softap-sim-secret".into(),
            product_rules: ProductRules::default(),
        }
    }
}

/// A running simulation.
pub struct Simulator {
    /// The devices.
    pub devices: Vec<DeviceHandle>,
    /// The cloud's state.
    pub cloud: Arc<Mutex<Cloud>>,
    /// Notified when the cloud may have events for a stream.
    pub cloud_events: Arc<std::sync::Condvar>,
    /// The clock every part is driven by.
    pub clock: Clock,
    /// Cloud API address.
    pub cloud_addr: SocketAddr,
    /// Control address.
    pub control_addr: Option<SocketAddr>,
    /// Backend stand-in address.
    pub backend_addr: Option<SocketAddr>,
    /// Demo page address.
    pub www_addr: Option<SocketAddr>,
}

fn random_device_id() -> String {
    let mut bytes = [0u8; 12];
    getrandom::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("system randomness");
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

impl Simulator {
    /// Starts everything; all servers run on background threads.
    pub fn start(config: Config) -> Result<Self, String> {
        let cloud = Arc::new(Mutex::new(Cloud::new(
            config.product_id,
            &config.client_id,
            &config.client_secret,
        )));
        cloud
            .lock()
            .unwrap()
            .set_product_rules(config.product_rules);
        let clock = Clock::start();
        let cloud_events = Arc::new(std::sync::Condvar::new());
        let mut devices = Vec::new();
        for d in &config.devices {
            let key = match &d.key_pem {
                Some(pem) => Device::key_from_pem(pem)?,
                None => Device::generate_key(),
            };
            let id = d.id.clone().unwrap_or_else(random_device_id);
            // Particle knows every device it made: the factory can import it (§13.1).
            cloud.lock().unwrap().manufacture(&id);
            let device = Device::new(id, key, d.firmware, d.networks.clone(), d.radio);
            let handle = DeviceHandle::start(
                device,
                d.http,
                d.tcp,
                CloudHandle {
                    cloud: cloud.clone(),
                    events: cloud_events.clone(),
                },
                clock,
                d.life,
                d.faults.clone(),
            )
            .map_err(|e| format!("device servers: {e}"))?;
            if let Some(dir) = &d.pages {
                let pages = crate::pages::Pages::load(dir)
                    .map_err(|e| format!("device page {}: {e}", dir.display()))?;
                let _ = handle.shared.pages.set(std::sync::Arc::new(pages));
            }
            devices.push(handle);
        }
        let handle = CloudHandle {
            cloud: cloud.clone(),
            events: cloud_events.clone(),
        };
        let cloud_addr = httpd::serve_with_streams(
            config.cloud,
            Arc::new(move |r: &Request| handle.cloud.lock().unwrap().handle(clock.now(), r)),
            Arc::new(event_stream(CloudHandle {
                cloud: cloud.clone(),
                events: cloud_events.clone(),
            })),
        )
        .map_err(|e| format!("cloud server: {e}"))?;
        let control_addr = match config.control {
            Some(addr) => {
                let (devs, c) = (devices.clone(), cloud.clone());
                Some(
                    httpd::serve(
                        addr,
                        Arc::new(move |r: &Request| control(r, &devs, &c, clock)),
                    )
                    .map_err(|e| format!("control server: {e}"))?,
                )
            }
            None => None,
        };
        let backend_addr = match config.backend {
            Some(addr) => {
                let shared: Vec<_> = devices.iter().map(|d| d.shared.clone()).collect();
                let (id, secret, product) = (
                    config.client_id.clone(),
                    config.client_secret.clone(),
                    config.product_id,
                );
                Some(
                    httpd::serve(
                        addr,
                        Arc::new(move |r: &Request| {
                            backend(r, cloud_addr, &id, &secret, product, &shared)
                        }),
                    )
                    .map_err(|e| format!("backend server: {e}"))?,
                )
            }
            None => None,
        };
        let www_addr = match config.www {
            Some((addr, www, pkg)) => Some(
                httpd::serve(
                    addr,
                    Arc::new(move |r: &Request| {
                        crate::static_files::serve(r, &www, pkg.as_deref())
                    }),
                )
                .map_err(|e| format!("page server: {e}"))?,
            ),
            None => None,
        };
        Ok(Self {
            devices,
            cloud,
            cloud_events,
            clock,
            cloud_addr,
            control_addr,
            backend_addr,
            www_addr,
        })
    }

    /// The addresses, as the one JSON line the binary prints.
    pub fn addresses(&self) -> Value {
        json!({
            "devices": self.devices.iter().map(|d| json!({
                "id": d.shared.lock().model.device.id().to_ascii_lowercase(),
                "http": format!("http://{}", d.http),
                "tcp": d.tcp.to_string(),
            })).collect::<Vec<_>>(),
            "cloud": format!("http://{}", self.cloud_addr),
            "control": self.control_addr.map(|a| format!("http://{a}")),
            "backend": self.backend_addr.map(|a| format!("http://{a}")),
            "www": self.www_addr.map(|a| format!("http://{a}/")),
            "productId": self.cloud.lock().unwrap().product_id(),
        })
    }
}

fn cors(response: Response) -> Response {
    response
        .with_header("Access-Control-Allow-Origin", "*")
        .with_header("Access-Control-Allow-Headers", "Content-Type")
        .with_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
}

/// Writes bytes to a stream's client: false once it has gone away.
type Write<'a> = dyn FnMut(&[u8]) -> bool + 'a;

/// Writes an event stream's frames as the cloud queues them, and a keep-alive comment after
/// ten seconds of silence (cloud spec §13.7), until the client goes away.
fn event_stream(cloud: CloudHandle) -> impl Fn(u64, &mut Write<'_>) + Send + Sync {
    move |subscription, write| {
        let mut guard = cloud.cloud.lock().unwrap();
        loop {
            let Some(frames) = guard.take_events(subscription) else {
                return;
            };
            if frames.is_empty() {
                let (next, timeout) = cloud
                    .events
                    .wait_timeout(guard, std::time::Duration::from_secs(10))
                    .unwrap();
                guard = next;
                if !timeout.timed_out() {
                    continue;
                }
                drop(guard);
                let alive = write(b":\n\n");
                guard = cloud.cloud.lock().unwrap();
                if !alive {
                    guard.close_stream(subscription);
                    return;
                }
                continue;
            }
            drop(guard);
            let alive = frames.iter().all(|frame| write(frame));
            guard = cloud.cloud.lock().unwrap();
            if !alive {
                guard.close_stream(subscription);
                return;
            }
        }
    }
}

/// The public key a maker recorded for a device at manufacturing, looked up by its id or by
/// the suffix of its access point's name (`Photon-` and the id's last 6 digits here): what
/// sealed mode encrypts with. `{ deviceId, publicKey }`, the key as hex SPKI DER.
fn device_key(request: &Request, devices: &[Arc<crate::server::DeviceShared>]) -> Response {
    let asked = request
        .query
        .get("device")
        .map(|d| d.trim().trim_start_matches("Photon-").to_ascii_lowercase())
        .unwrap_or_default();
    for shared in devices {
        let inner = shared.lock();
        let device = &inner.model.device;
        let id = device.id().to_ascii_lowercase();
        if !asked.is_empty() && (id == asked || (asked.len() == 6 && id.ends_with(&asked))) {
            let key = crate::device::hex_upper(&device.public_key_der()).to_ascii_lowercase();
            return Response::json(200, &json!({"deviceId": id, "publicKey": key}));
        }
    }
    Response::json(404, &json!({"error": "no such device in the records"}))
}

/// The control address: `GET /state`; `POST /faults?device=N`, `POST /reset?device=N`
/// (`&identity=new`: become another device; `&release=1`: no owner in the cloud either),
/// `POST /cloud/faults`, `POST /cloud/expire-tokens`.
fn control(
    request: &Request,
    devices: &[DeviceHandle],
    cloud: &Arc<Mutex<Cloud>>,
    clock: Clock,
) -> Response {
    let response = match (request.method.as_str(), request.path.as_str()) {
        ("OPTIONS", _) => Response::empty(204),
        ("GET", "/state") => {
            // Device states first: each locks the cloud for its owner.
            let device_states: Vec<Value> = devices.iter().map(DeviceHandle::state_json).collect();
            let cloud = cloud.lock().unwrap();
            let state = json!({
                // Milliseconds on the simulator's clock: what `onlineAt` and the like count in.
                "now": clock.now(),
                "devices": device_states,
                "cloud": {
                    "customers": cloud.customers().collect::<Vec<_>>(),
                    "devices": cloud.devices().collect::<Vec<_>>(),
                    "log": cloud.log.iter().map(|(m, p, s)| json!({"method": m, "path": p, "status": s})).collect::<Vec<_>>(),
                },
            });
            Response::json(200, &state)
        }
        ("POST", "/faults") => {
            let index = request
                .query
                .get("device")
                .and_then(|d| d.parse::<usize>().ok())
                .unwrap_or(0);
            match (
                devices.get(index),
                serde_json::from_slice::<Faults>(&request.body),
            ) {
                (Some(device), Ok(faults)) => {
                    device.set_faults(faults);
                    Response::json(200, &json!({"ok": true}))
                }
                (None, _) => Response::json(404, &json!({"ok": false, "error": "no such device"})),
                (_, Err(e)) => Response::json(400, &json!({"ok": false, "error": e.to_string()})),
            }
        }
        ("POST", "/reset") => {
            let index = request
                .query
                .get("device")
                .and_then(|d| d.parse::<usize>().ok())
                .unwrap_or(0);
            match devices.get(index) {
                Some(device) => {
                    // `?identity=new`: the next device of an installation, same address.
                    let identity = (request.query.get("identity").map(String::as_str)
                        == Some("new"))
                    .then(|| (random_device_id(), Device::generate_key()));
                    if let Some((id, _)) = &identity {
                        cloud.lock().unwrap().manufacture(id);
                    }
                    let old = device.shared.lock().model.device.id().to_owned();
                    device.reset_as(identity);
                    // `&release=1`: the cloud forgets its owner too (tests sharing a
                    // simulator start from an unowned device).
                    if request.query.get("release").map(String::as_str) == Some("1") {
                        cloud.lock().unwrap().set_owner(&old, None);
                    }
                    let id = device.shared.lock().model.device.id().to_ascii_lowercase();
                    Response::json(200, &json!({"ok": true, "id": id}))
                }
                None => Response::json(404, &json!({"ok": false, "error": "no such device"})),
            }
        }
        ("POST", "/cloud/faults") => match serde_json::from_slice::<CloudFault>(&request.body) {
            Ok(fault) => {
                cloud.lock().unwrap().inject(fault);
                Response::json(200, &json!({"ok": true}))
            }
            Err(e) => Response::json(400, &json!({"ok": false, "error": e.to_string()})),
        },
        ("POST", "/cloud/expire-tokens") => {
            cloud.lock().unwrap().expire_tokens(clock.now());
            Response::json(200, &json!({"ok": true}))
        }
        _ => Response::json(404, &json!({"ok": false, "error": "not found"})),
    };
    cors(response)
}

/// The maker's server, reduced to what setup needs: `POST /customer-token` mints a
/// customer-scoped token with the OAuth client (whose secret never leaves this side),
/// creating the shadow customer on first use. Body (JSON or form): `customer`, optional
/// `expires_in`. `GET /device-key?device=…` answers from "the maker's records" (see
/// [`device_key`]).
fn backend(
    request: &Request,
    cloud: SocketAddr,
    client_id: &str,
    secret: &str,
    product: u32,
    devices: &[Arc<crate::server::DeviceShared>],
) -> Response {
    if request.method == "OPTIONS" {
        return cors(Response::empty(204));
    }
    if (request.method.as_str(), request.path.as_str()) == ("GET", "/device-key") {
        return cors(device_key(request, devices));
    }
    if (request.method.as_str(), request.path.as_str()) != ("POST", "/customer-token") {
        return cors(Response::json(404, &json!({"error": "not found"})));
    }
    let fields = match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect(),
        _ => request.form(),
    };
    let customer = fields
        .get("customer")
        .cloned()
        .unwrap_or_else(|| "customer@example.com".into());
    let expires_in = fields
        .get("expires_in")
        .cloned()
        .unwrap_or_else(|| "3600".into());
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{client_id}:{secret}")
        )
    );
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", basic.as_str()),
    ];
    let token_body = format!(
        "grant_type=client_credentials&scope=customer={}&expires_in={}",
        httpd::url_encode(&customer),
        httpd::url_encode(&expires_in)
    );
    let mut answer = httpd::request(cloud, "POST", "/oauth/token", &form, token_body.as_bytes());
    if matches!(&answer, Ok((400, _))) {
        // First visit of this customer: create the shadow customer, then mint the token
        // with the lifetime asked for.
        let create = format!("email={}&no_password=true", httpd::url_encode(&customer));
        let created = httpd::request(
            cloud,
            "POST",
            &format!("/v1/products/{product}/customers"),
            &form,
            create.as_bytes(),
        );
        answer = match created {
            Ok((201, _)) => {
                httpd::request(cloud, "POST", "/oauth/token", &form, token_body.as_bytes())
            }
            other => other,
        };
    }
    let response = match answer {
        Ok((200 | 201, body)) => {
            let token: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Response::json(
                200,
                &json!({
                    "access_token": token["access_token"],
                    "expires_in": token["expires_in"],
                    "product_id": product,
                    "customer": customer.to_ascii_lowercase(),
                }),
            )
        }
        Ok((status, body)) => Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
            stream: None,
        },
        Err(e) => Response::json(502, &json!({"error": format!("cloud unreachable: {e}")})),
    };
    cors(response)
}
