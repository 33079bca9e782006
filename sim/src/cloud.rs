//! The subset of the Particle cloud that two-legged setup uses (cloud spec §2–§7, §13), with
//! the real paths, encodings, status codes and error bodies, and CORS as the API does it.
//!
//! Without I/O: every entry point takes the time (milliseconds on the caller's clock, real or
//! virtual). Event streams are subscriptions whose events the caller drains
//! ([`Cloud::take_events`]) and writes out as they come.

use std::collections::{BTreeMap, VecDeque};

use base64::Engine as _;
use rand_core::TryRng;
use serde_json::{json, Value};

use crate::httpd::{Request, Response};

mod product;
pub use product::ProductRules;

/// A cloud fault to inject: the next `count` requests whose path starts with `path_prefix`
/// get `status` with a Particle-shaped error body.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct CloudFault {
    /// Path prefix, e.g. `/v1/devices`.
    pub path_prefix: String,
    /// Status code, e.g. 500 or 503.
    pub status: u16,
    /// How many requests.
    pub count: u32,
}

struct Token {
    customer: Option<String>,
    /// When it expires, on the cloud's clock.
    expires: Option<u64>,
}

struct ClaimCode {
    creator: String,
    product: Option<u32>,
    /// When it was made, on the cloud's clock.
    created: u64,
    used: bool,
}

/// An open event stream (`GET /v1/devices/events[/:prefix]`).
struct Subscription {
    id: u64,
    customer: String,
    prefix: String,
    queue: VecDeque<Vec<u8>>,
}

/// A device as the cloud knows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CloudDevice {
    /// Lower-case id.
    pub id: String,
    /// Owning customer (email), once claimed.
    pub owner: Option<String>,
    /// Connected to the cloud.
    pub online: bool,
    /// Product.
    pub product_id: u32,
    /// Imported into the product (or added by a product claim code).
    pub in_product: bool,
    /// Name given through the API, if any.
    pub name: Option<String>,
    /// Notes given through the product API, if any.
    pub notes: Option<String>,
    /// Last cloud connection, as the API writes times.
    pub last_heard: Option<String>,
}

/// The cloud's state.
pub struct Cloud {
    product_id: u32,
    product_slug: String,
    client_id: String,
    client_secret: String,
    customers: BTreeMap<String, ()>,
    tokens: BTreeMap<String, Token>,
    claim_codes: BTreeMap<String, ClaimCode>,
    devices: BTreeMap<String, CloudDevice>,
    faults: Vec<CloudFault>,
    claim_code_lifetime_ms: u64,
    product_rules: ProductRules,
    subscriptions: Vec<Subscription>,
    next_subscription: u64,
    /// The time of the request being served, on the cloud's clock (milliseconds).
    now: u64,
    /// Wall-clock milliseconds at the clock's zero, for the times the API writes.
    epoch_ms: u64,
    /// Requests served: method, path, status (no tokens, no bodies).
    pub log: Vec<(String, String, u16)>,
}

impl Cloud {
    /// A cloud with one product and its two-legged OAuth client.
    pub fn new(product_id: u32, client_id: &str, client_secret: &str) -> Self {
        Self {
            product_id,
            product_slug: format!("product-{product_id}"),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            customers: BTreeMap::new(),
            tokens: BTreeMap::new(),
            claim_codes: BTreeMap::new(),
            devices: BTreeMap::new(),
            faults: Vec::new(),
            claim_code_lifetime_ms: 3_600_000,
            product_rules: ProductRules::default(),
            subscriptions: Vec::new(),
            next_subscription: 0,
            now: 0,
            epoch_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            log: Vec::new(),
        }
    }

    /// The time now as the API writes times, `2016-06-10T15:00:07.100Z`.
    pub(crate) fn iso_now(&self) -> String {
        let ms = self.epoch_ms + self.now;
        product::iso8601(ms / 1000, (ms % 1000) as u32)
    }

    /// The product id.
    pub fn product_id(&self) -> u32 {
        self.product_id
    }

    /// Adds a fault.
    pub fn inject(&mut self, fault: CloudFault) {
        self.faults.push(fault);
    }

    /// Makes every token expire now (tests of the expired-token path).
    pub fn expire_tokens(&mut self, now: u64) {
        self.now = now;
        for token in self.tokens.values_mut() {
            token.expires = Some(now);
        }
    }

    /// The devices the cloud knows.
    pub fn devices(&self) -> impl Iterator<Item = &CloudDevice> {
        self.devices.values()
    }

    /// Customers.
    pub fn customers(&self) -> impl Iterator<Item = &String> {
        self.customers.keys()
    }

    /// A device connects (handshake): it is online; a stored claim code is published and,
    /// if valid (≤ 1 h, unused), makes its creator the owner. Returns whether the device
    /// was claimed by it (the device then clears its code and sets its flag).
    pub fn device_connected(&mut self, now: u64, id: &str, claim_code: Option<&str>) -> bool {
        self.now = now;
        let id = id.to_ascii_lowercase();
        let claimed = self.redeem(&id, claim_code);
        let heard = self.iso_now();
        if let Some(device) = self.devices.get_mut(&id) {
            device.online = true;
            device.last_heard = Some(heard);
        }
        // The handshake's status event reaches the owner's streams.
        self.publish(&id, "spark/status", "online");
        claimed
    }

    /// A claim code presented at the handshake: valid (≤ 1 h, unused, this product), the
    /// device becomes its creator's.
    fn redeem(&mut self, id: &str, claim_code: Option<&str>) -> bool {
        let product_id = self.product_id;
        let device = self
            .devices
            .entry(id.to_owned())
            .or_insert_with(|| CloudDevice::new(id, product_id));
        let Some(code) = claim_code else { return false };
        let Some(claim) = self.claim_codes.get_mut(code) else {
            return false;
        };
        let other_product = claim.product.is_some_and(|p| p != device.product_id);
        let expired = self.now.saturating_sub(claim.created) > self.claim_code_lifetime_ms;
        if claim.used || other_product || expired {
            return false;
        }
        if !self
            .product_rules
            .admits_claim(device, &claim.creator, claim.product)
        {
            return false;
        }
        claim.used = true;
        device.owner = Some(claim.creator.clone());
        device.in_product |= claim.product.is_some();
        true
    }

    /// The device left the cloud (listening mode, reboot).
    pub fn device_disconnected(&mut self, now: u64, id: &str) {
        self.now = now;
        let id = id.to_ascii_lowercase();
        let was_online = self.devices.get(&id).is_some_and(|d| d.online);
        if let Some(device) = self.devices.get_mut(&id) {
            device.online = false;
        }
        if was_online {
            self.publish(&id, "spark/status", "offline");
        }
    }

    /// An event from a device, to the streams of its owner whose prefix it matches.
    fn publish(&mut self, device_id: &str, name: &str, data: &str) {
        let Some(owner) = self.devices.get(device_id).and_then(|d| d.owner.clone()) else {
            return;
        };
        let payload = json!({
            "data": data,
            "ttl": 60,
            "published_at": self.iso_now(),
            "coreid": device_id,
        });
        let frame = format!("event: {name}\ndata: {payload}\n\n").into_bytes();
        for subscription in &mut self.subscriptions {
            if subscription.customer == owner && name.starts_with(&subscription.prefix) {
                subscription.queue.push_back(frame.clone());
            }
        }
    }

    /// Makes `owner` (a customer's email) own the device, or nobody: a device set up before by
    /// someone else (sold on, given away), for tests.
    pub fn set_owner(&mut self, id: &str, owner: Option<&str>) {
        let id = id.to_ascii_lowercase();
        let product_id = self.product_id;
        let device = self
            .devices
            .entry(id.clone())
            .or_insert_with(|| CloudDevice::new(&id, product_id));
        device.owner = owner.map(str::to_owned);
    }

    /// The frames waiting on stream `id`, or `None` when it is closed.
    pub fn take_events(&mut self, id: u64) -> Option<Vec<Vec<u8>>> {
        let subscription = self.subscriptions.iter_mut().find(|s| s.id == id)?;
        Some(subscription.queue.drain(..).collect())
    }

    /// The client went away.
    pub fn close_stream(&mut self, id: u64) {
        self.subscriptions.retain(|s| s.id != id);
    }

    /// Serves one API request at `now`.
    pub fn handle(&mut self, now: u64, request: &Request) -> Response {
        self.now = now;
        let response = self.route(request);
        self.log.push((
            request.method.clone(),
            request.path.clone(),
            response.status,
        ));
        cors(response)
    }

    fn route(&mut self, request: &Request) -> Response {
        if request.method == "OPTIONS" {
            return Response::empty(204)
                .with_header(
                    "Access-Control-Allow-Methods",
                    "GET, POST, PUT, DELETE, OPTIONS",
                )
                .with_header(
                    "Access-Control-Allow-Headers",
                    "Authorization, Content-Type, Accept",
                )
                .with_header("Access-Control-Max-Age", "300");
        }
        if let Some(i) = self
            .faults
            .iter()
            .position(|f| request.path.starts_with(&f.path_prefix))
        {
            let fault = &mut self.faults[i];
            let status = fault.status;
            fault.count -= 1;
            if fault.count == 0 {
                self.faults.remove(i);
            }
            return Response::json(status, &json!({"ok": false, "error": "simulated fault"}));
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let product_matches = |p: &str| p == self.product_id.to_string() || p == self.product_slug;
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["oauth", "token"]) => self.token(request),
            ("POST", ["v1", "products", p, "customers"]) if product_matches(p) => {
                self.create_customer(request)
            }
            ("POST", ["v1", "products", p, "device_claims"]) if product_matches(p) => {
                self.claim_code(request, Some(self.product_id))
            }
            ("POST", ["v1", "device_claims"]) => self.claim_code(request, None),
            ("GET", ["v1", "devices"]) => self.list_devices(request),
            ("POST", ["v1", "devices"]) => self.claim_device(request),
            ("GET", ["v1", "devices", "events", prefix @ ..]) => {
                self.open_stream(request, &prefix.join("/"))
            }
            ("GET", ["v1", "devices", id]) => self.get_device(request, id),
            ("PUT", ["v1", "devices", id]) => self.rename_device(request, id),
            ("GET", ["v1", "products", p, "devices"]) if product_matches(p) => {
                self.product_devices(request)
            }
            ("POST", ["v1", "products", p, "devices"]) if product_matches(p) => {
                self.import_devices(request)
            }
            ("GET", ["v1", "products", p, "devices", id]) if product_matches(p) => {
                self.product_device(request, id)
            }
            ("PUT", ["v1", "products", p, "devices", id]) if product_matches(p) => {
                self.update_product_device(request, id)
            }
            ("DELETE", ["v1", "products", p, "devices", id]) if product_matches(p) => {
                self.remove_product_device(request, id)
            }
            ("DELETE", ["v1", "products", p, "devices", id, "owner"]) if product_matches(p) => {
                self.release_owner(request, id)
            }
            _ => Response::json(404, &json!({"ok": false, "error": "Not found"})),
        }
    }

    /// Client authentication: HTTP Basic or `client_id`/`client_secret` form fields.
    fn client_authenticated(&self, request: &Request, form: &BTreeMap<String, String>) -> bool {
        let basic = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        let (id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
            Some((id, secret)) => (id.to_owned(), secret.to_owned()),
            None => (
                form.get("client_id").cloned().unwrap_or_default(),
                form.get("client_secret").cloned().unwrap_or_default(),
            ),
        };
        id == self.client_id && secret == self.client_secret
    }

    fn is_form(request: &Request) -> bool {
        request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    }

    fn token(&mut self, request: &Request) -> Response {
        // Form-encoded only (cloud spec §2).
        if !Self::is_form(request) {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "error_description": "Invalid or missing grant_type parameter"}),
            );
        }
        let form = request.form();
        if !self.client_authenticated(request, &form) {
            return Response::json(
                401,
                &json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            );
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Response::json(
                400,
                &json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}),
            );
        }
        let customer = match form.get("scope").and_then(|s| s.strip_prefix("customer=")) {
            Some(email) => {
                let email = email.to_ascii_lowercase();
                if !self.customers.contains_key(&email) {
                    return Response::json(
                        400,
                        &json!({"error": "invalid_grant", "error_description": "Customer not found"}),
                    );
                }
                Some(email)
            }
            None => None,
        };
        let expires_in = form
            .get("expires_in")
            .and_then(|e| e.parse::<u64>().ok())
            .unwrap_or(7_776_000);
        Response::json(200, &self.mint(customer, expires_in))
    }

    fn mint(&mut self, customer: Option<String>, expires_in: u64) -> Value {
        let access = random_hex(20);
        let refresh = random_hex(20);
        let expires = (expires_in != 0).then(|| self.now + expires_in.saturating_mul(1000));
        let mut body = json!({
            "token_type": "bearer",
            "access_token": access,
            "expires_in": expires_in,
            "refresh_token": refresh,
        });
        if let Some(email) = &customer {
            body["scope"] = json!(format!("customer={email}"));
        }
        self.tokens.insert(access, Token { customer, expires });
        body
    }

    fn create_customer(&mut self, request: &Request) -> Response {
        let form = if Self::is_form(request) {
            request.form()
        } else {
            let json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            json.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        if !self.client_authenticated(request, &form) {
            return Response::json(
                401,
                &json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            );
        }
        let Some(email) = form
            .get("email")
            .filter(|e| !e.is_empty())
            .map(|e| e.to_ascii_lowercase())
        else {
            return Response::json(400, &json!({"ok": false, "error": "email is required"}));
        };
        if form.get("no_password").map(String::as_str) != Some("true")
            && !form.contains_key("password")
        {
            return Response::json(
                400,
                &json!({"ok": false, "error": "password or no_password is required"}),
            );
        }
        if self.customers.contains_key(&email) {
            return Response::json(
                400,
                &json!({"ok": false, "error": "Customer already exists"}),
            );
        }
        self.customers.insert(email.clone(), ());
        Response::json(201, &self.mint(Some(email), 7_776_000))
    }

    /// The customer behind the request's token, or the error response.
    fn customer(&self, request: &Request) -> Result<String, Response> {
        let token = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::to_owned)
            .or_else(|| request.query.get("access_token").cloned())
            .or_else(|| {
                Self::is_form(request)
                    .then(|| request.form().get("access_token").cloned())
                    .flatten()
            });
        let Some(token) = token else {
            return Err(Response::json(
                400,
                &json!({"error": "invalid_request", "error_description": "The access token was not found"}),
            ));
        };
        let invalid = |description: &str| {
            Response::json(
                401,
                &json!({"error": "invalid_token", "error_description": description}),
            )
        };
        let Some(entry) = self.tokens.get(token.trim()) else {
            return Err(invalid("The access token provided is invalid."));
        };
        if entry.expires.is_some_and(|e| self.now >= e) {
            return Err(invalid("The access token provided has expired."));
        }
        entry.customer.clone().ok_or_else(|| {
            Response::json(
                403,
                &json!({"ok": false, "error": "Customer token required"}),
            )
        })
    }

    fn owned_ids(&self, customer: &str) -> Vec<String> {
        self.devices
            .values()
            .filter(|d| d.owner.as_deref() == Some(customer))
            .map(|d| d.id.clone())
            .collect()
    }

    fn claim_code(&mut self, request: &Request, product: Option<u32>) -> Response {
        let customer = match self.customer(request) {
            Ok(c) => c,
            Err(response) => return response,
        };
        let code = random_claim_code();
        self.claim_codes.insert(
            code.clone(),
            ClaimCode {
                creator: customer.clone(),
                product,
                created: self.now,
                used: false,
            },
        );
        Response::json(
            200,
            &json!({"claim_code": code, "device_ids": self.owned_ids(&customer)}),
        )
    }

    /// `GET /v1/devices/events[/:prefix]`: the customer's devices' events, as server-sent
    /// events (cloud spec §13.7): `:ok` first, then each event as it happens.
    fn open_stream(&mut self, request: &Request, prefix: &str) -> Response {
        let customer = match self.customer(request) {
            Ok(c) => c,
            Err(response) => return response,
        };
        self.next_subscription += 1;
        let id = self.next_subscription;
        self.subscriptions.push(Subscription {
            id,
            customer,
            prefix: prefix.to_owned(),
            queue: VecDeque::from([b":ok\n\n".to_vec()]),
        });
        let mut response = Response::empty(200)
            .with_header("Content-Type", "text/event-stream")
            .with_header("Cache-Control", "no-cache");
        response.stream = Some(id);
        response
    }

    /// `POST /v1/devices` with `id`: the customer claims a device outright (cloud spec §13.8).
    /// Another customer's device is refused; a device the cloud does not know, or an unowned
    /// one that is neither online nor in the product, is "not found".
    fn claim_device(&mut self, request: &Request) -> Response {
        let customer = match self.customer(request) {
            Ok(c) => c,
            Err(response) => return response,
        };
        let id = if Self::is_form(request) {
            request.form().get("id").cloned()
        } else {
            serde_json::from_slice::<Value>(&request.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
        }
        .unwrap_or_default()
        .to_ascii_lowercase();
        let Some(device) = self.devices.get_mut(&id) else {
            return Response::json(
                404,
                &json!({"ok": false, "errors": ["device does not exist"]}),
            );
        };
        match device.owner.as_deref() {
            Some(owner) if owner == customer => {}
            Some(_) => {
                return Response::json(
                    403,
                    &json!({"ok": false, "errors": ["That belongs to someone else."]}),
                )
            }
            None if !device.online && !device.in_product => {
                return Response::json(
                    404,
                    &json!({"ok": false, "errors": [["Core isn't online", 404]]}),
                )
            }
            None => device.owner = Some(customer),
        }
        Response::json(
            200,
            &json!({"ok": true, "id": device.id, "connected": device.online, "product_id": device.product_id}),
        )
    }

    fn device_json(device: &CloudDevice) -> Value {
        json!({
            "id": device.id,
            "name": device.name.clone().unwrap_or_else(|| format!("device-{}", &device.id[device.id.len().saturating_sub(6)..])),
            "last_heard": device.last_heard,
            "online": device.online,
            "connected": device.online,
            "product_id": device.product_id,
            "platform_id": 6,
            "cellular": false,
            "status": if device.online { "normal" } else { "offline" },
        })
    }

    fn list_devices(&mut self, request: &Request) -> Response {
        let customer = match self.customer(request) {
            Ok(c) => c,
            Err(response) => return response,
        };
        let list: Vec<Value> = self
            .devices
            .values()
            .filter(|d| d.owner.as_deref() == Some(customer.as_str()))
            .map(Self::device_json)
            .collect();
        Response::json(200, &Value::Array(list))
    }

    fn get_device(&mut self, request: &Request, id: &str) -> Response {
        let customer = match self.customer(request) {
            Ok(c) => c,
            Err(response) => return response,
        };
        match self.devices.get(&id.to_ascii_lowercase()) {
            Some(device) if device.owner.as_deref() == Some(customer.as_str()) => {
                Response::json(200, &Self::device_json(device))
            }
            _ => Response::json(
                403,
                &json!({"error": "Permission Denied", "info": "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined"}),
            ),
        }
    }
}

/// Every response carries `Access-Control-Allow-Origin: *`, errors included.
fn cors(response: Response) -> Response {
    response.with_header("Access-Control-Allow-Origin", "*")
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("system randomness");
    bytes
}

fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

/// 63 characters of the base64 alphabet, `+` and `/` included (cloud spec §4.4).
fn random_claim_code() -> String {
    let mut code = base64::engine::general_purpose::STANDARD_NO_PAD.encode(random_bytes(48));
    code.truncate(63);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: path.into(),
            query: BTreeMap::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn get(path: &str, token: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: BTreeMap::new(),
            headers: [("authorization".to_owned(), format!("Bearer {token}"))].into(),
            body: Vec::new(),
        }
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

    fn customer_token(cloud: &mut Cloud) -> String {
        let r = cloud.handle(
            0,
            &post(
                "/v1/products/1234/customers",
                &[FORM],
                "client_id=client&client_secret=secret&email=Jane%40Example.com&no_password=true",
            ),
        );
        assert_eq!(r.status, 201);
        body(&r)["access_token"].as_str().unwrap().to_owned()
    }

    #[test]
    fn two_legged_flow_claims_a_device() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let token = customer_token(&mut cloud);
        assert_eq!(token.len(), 40);
        // Basic auth and a customer scope give a scoped token.
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("client:secret")
        );
        let r = cloud.handle(
            0,
            &post(
                "/oauth/token",
                &[FORM, ("Authorization", &basic)],
                "grant_type=client_credentials&scope=customer=jane@example.com&expires_in=3600",
            ),
        );
        assert_eq!(r.status, 200);
        assert_eq!(body(&r)["scope"], "customer=jane@example.com");
        assert_eq!(body(&r)["expires_in"], 3600);

        let claim = cloud.handle(
            0,
            &post(
                "/v1/products/1234/device_claims",
                &[("Authorization", &format!("Bearer {token}"))],
                "",
            ),
        );
        assert_eq!(claim.status, 200);
        let code = body(&claim)["claim_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 63);
        assert_eq!(body(&claim)["device_ids"], json!([]));

        let id = "3a0020001847333531323bcf";
        assert_eq!(
            cloud
                .handle(0, &get(&format!("/v1/devices/{id}"), &token))
                .status,
            403
        );
        assert!(cloud.device_connected(0, &id.to_uppercase(), Some(&code)));
        assert!(!cloud.device_connected(0, id, Some(&code)), "single use");
        let listed = body(&cloud.handle(0, &get("/v1/devices", &token)));
        assert_eq!(listed[0]["id"], id);
        assert_eq!(listed[0]["online"], true);
        assert_eq!(listed[0]["connected"], true);
        let device = cloud.handle(
            0,
            &get(&format!("/v1/devices/{}", id.to_uppercase()), &token),
        );
        assert_eq!(device.status, 200);
        assert!(device
            .headers
            .iter()
            .any(|(k, v)| k == "Access-Control-Allow-Origin" && v == "*"));
    }

    #[test]
    fn token_errors_have_the_real_bodies() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let token = customer_token(&mut cloud);
        let missing = cloud.handle(
            0,
            &Request {
                headers: BTreeMap::new(),
                ..get("/v1/devices", "")
            },
        );
        assert_eq!(missing.status, 400);
        assert_eq!(
            body(&missing)["error_description"],
            "The access token was not found"
        );
        let invalid = cloud.handle(0, &get("/v1/devices", "0123"));
        assert_eq!(
            (invalid.status, body(&invalid)["error"].as_str()),
            (401, Some("invalid_token"))
        );
        cloud.expire_tokens(0);
        let expired = cloud.handle(0, &get("/v1/devices", &token));
        assert_eq!(expired.status, 401);
        assert_eq!(
            body(&expired)["error_description"],
            "The access token provided has expired."
        );
    }

    #[test]
    fn oauth_token_is_form_only_and_checks_the_client() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let json = cloud.handle(
            0,
            &post(
                "/oauth/token",
                &[("Content-Type", "application/json")],
                "{}",
            ),
        );
        assert_eq!(json.status, 400);
        let wrong = cloud.handle(
            0,
            &post(
                "/oauth/token",
                &[FORM],
                "grant_type=client_credentials&client_id=client&client_secret=nope",
            ),
        );
        assert_eq!(wrong.status, 401);
        let unknown = cloud.handle(0, &post(
            "/oauth/token",
            &[FORM],
            "grant_type=client_credentials&client_id=client&client_secret=secret&scope=customer=nobody@example.com",
        ));
        assert_eq!(
            (unknown.status, body(&unknown)["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }

    #[test]
    fn preflight_and_faults() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let preflight = cloud.handle(
            0,
            &Request {
                method: "OPTIONS".into(),
                ..get("/v1/devices", "")
            },
        );
        assert_eq!(preflight.status, 204);
        assert!(preflight
            .headers
            .iter()
            .any(|(k, v)| k == "Access-Control-Allow-Headers" && v.contains("Authorization")));
        cloud.inject(CloudFault {
            path_prefix: "/v1/devices".into(),
            status: 503,
            count: 1,
        });
        let token = customer_token(&mut cloud);
        assert_eq!(cloud.handle(0, &get("/v1/devices", &token)).status, 503);
        assert_eq!(cloud.handle(0, &get("/v1/devices", &token)).status, 200);
    }

    #[test]
    fn claim_codes_use_the_base64_alphabet() {
        for _ in 0..50 {
            let code = random_claim_code();
            assert_eq!(code.len(), 63);
            assert!(code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
        }
    }
}
