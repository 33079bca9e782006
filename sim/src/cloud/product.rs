//! The product side of the cloud, what a maker's server calls (cloud spec §13.1–§13.5):
//! devices imported into the product, listed and read with their owner, released, removed
//! and renamed. Every product route takes a product token (client credentials without a
//! customer scope); customer tokens are refused, as the real API refuses them.

use serde_json::{json, Map, Value};

use super::{Cloud, CloudDevice};
use crate::httpd::{Request, Response};

/// Default and largest page of `GET /v1/products/:p/devices` (25 by default, §13.2).
const DEFAULT_PER_PAGE: usize = 25;
const MAX_PER_PAGE: usize = 100;
/// Longest device name or note the simulated cloud keeps.
const MAX_TEXT: usize = 255;

/// How the simulated product treats product claim codes, where Particle's behaviour is
/// undocumented or depends on the product's setup (cloud spec §5.2, §13.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ProductRules {
    /// A claim code takes over a device that another customer owns. Default: no — the
    /// device comes online still owned by the first customer, and the maker's server must
    /// release it (`DELETE …/owner`) before it can be set up for someone else.
    pub claim_takes_over: bool,
    /// A product claim code claims only devices imported into the product first (the
    /// prerequisite users report, §5.2). Default: no — the claim adds the device to the
    /// product, as the docs say it "may".
    pub import_required: bool,
}

impl ProductRules {
    /// Whether a claim code minted by `creator` (for `product`, if a product code) may make
    /// `creator` the owner of `device`.
    pub(super) fn admits_claim(
        &self,
        device: &CloudDevice,
        creator: &str,
        product: Option<u32>,
    ) -> bool {
        let owned_by_another = device.owner.as_deref().is_some_and(|o| o != creator);
        if owned_by_another && !self.claim_takes_over {
            return false;
        }
        !(product.is_some() && self.import_required && !device.in_product)
    }
}

impl CloudDevice {
    /// A device the cloud has just heard of: offline, unowned, not in the product.
    pub(super) fn new(id: &str, product_id: u32) -> Self {
        Self {
            id: id.to_ascii_lowercase(),
            owner: None,
            online: false,
            product_id,
            in_product: false,
            name: None,
            notes: None,
            last_heard: None,
        }
    }
}

/// A time as the API writes times: `2016-06-10T15:00:07.100Z`.
pub(super) fn iso8601(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn is_device_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn not_found() -> Response {
    Response::json(
        404,
        &json!({"ok": false, "error": "Device not found for this product"}),
    )
}

fn permission_denied() -> Response {
    Response::json(403, &json!({"ok": false, "error": "Permission denied"}))
}

/// The body's fields, JSON or form-encoded, as strings; arrays stay JSON.
fn fields(request: &Request) -> Map<String, Value> {
    if Cloud::is_form(request) {
        return request
            .form()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
    }
    match serde_json::from_slice(&request.body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

impl Cloud {
    /// Sets how product claim codes behave.
    pub fn set_product_rules(&mut self, rules: ProductRules) {
        self.product_rules = rules;
    }

    /// A device that exists (made, flashed, known to Particle) but has not been imported
    /// into the product nor connected: what the factory import (§13.1) can add.
    pub fn manufacture(&mut self, id: &str) {
        let id = id.to_ascii_lowercase();
        let product_id = self.product_id;
        self.devices
            .entry(id.clone())
            .or_insert_with(|| CloudDevice::new(&id, product_id));
    }

    /// Product routes take a product token: a valid token without a customer scope.
    fn product_caller(&self, request: &Request) -> Result<(), Response> {
        match self.customer(request) {
            Ok(_customer) => Err(permission_denied()),
            // `customer` refuses a valid token that has no customer with a 403; any other
            // refusal (missing, invalid, expired) is the caller's answer as it stands.
            Err(refusal) if refusal.status == 403 => Ok(()),
            Err(refusal) => Err(refusal),
        }
    }

    fn product_device_json(&self, device: &CloudDevice) -> Value {
        let mut value = json!({
            "id": device.id,
            "product_id": device.product_id,
            "online": device.online,
            "connected": device.online,
            "platform_id": 6,
            "cellular": false,
            "status": if device.online { "normal" } else { "offline" },
            "development": false,
            "quarantined": false,
            "denied": false,
            "groups": [],
            "firmware_product_id": device.product_id,
            "system_firmware_version": "1.5.2",
        });
        let optional = [
            ("name", device.name.clone()),
            ("owner", device.owner.clone()),
            ("notes", device.notes.clone()),
            ("last_heard", device.last_heard.clone()),
        ];
        for (key, field) in optional {
            if let Some(text) = field {
                value[key] = Value::String(text);
            }
        }
        value
    }

    /// `POST /v1/products/:p/devices`: `id` (form or JSON) or JSON `ids` (§13.1). Nothing
    /// imported is not an HTTP error: the arrays say what happened to each identifier.
    pub(super) fn import_devices(&mut self, request: &Request) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        let body = fields(request);
        let mut ids: Vec<String> = match (body.get("ids"), body.get("id")) {
            (Some(Value::Array(ids)), _) => ids
                .iter()
                .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
                .collect(),
            (_, Some(Value::String(id))) => vec![id.clone()],
            _ => {
                return Response::json(400, &json!({"ok": false, "error": "id or ids is required"}))
            }
        };
        ids.iter_mut()
            .for_each(|id| *id = id.trim().to_ascii_lowercase());
        let (mut updated, mut existing, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
        for id in ids {
            match self.devices.get_mut(&id) {
                Some(device) if is_device_id(&id) && device.in_product => existing.push(id),
                Some(device) if is_device_id(&id) => {
                    device.in_product = true;
                    updated.push(id);
                }
                _ => invalid.push(id),
            }
        }
        Response::json(
            200,
            &json!({
                "updated": updated.len(),
                "updatedDeviceIds": updated,
                "existingDeviceIds": existing,
                "nonmemberDeviceIds": [],
                "invalidDeviceIds": invalid,
            }),
        )
    }

    /// `GET /v1/products/:p/devices`: paginated, `deviceId` and `deviceName` partial
    /// filters, `per_page` or `perPage` (§13.2).
    pub(super) fn product_devices(&self, request: &Request) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        let query = |key: &str| request.query.get(key).map(String::as_str);
        let id_filter = query("deviceId").unwrap_or("").to_ascii_lowercase();
        let name_filter = query("deviceName").unwrap_or("");
        let per_page = query("per_page")
            .or(query("perPage"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE);
        let page = query("page")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let matching: Vec<&CloudDevice> = self
            .devices
            .values()
            .filter(|d| d.in_product && d.id.contains(&id_filter))
            .filter(|d| {
                name_filter.is_empty() || d.name.as_deref().is_some_and(|n| n.contains(name_filter))
            })
            .collect();
        let total = matching.len();
        let on_page: Vec<&CloudDevice> = matching
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        let mut owners: Vec<&str> = on_page.iter().filter_map(|d| d.owner.as_deref()).collect();
        owners.sort_unstable();
        owners.dedup();
        Response::json(
            200,
            &json!({
                "devices": on_page.iter().map(|d| self.product_device_json(d)).collect::<Vec<_>>(),
                "customers": owners.iter().map(|o| json!({"id": customer_id(o), "username": o})).collect::<Vec<_>>(),
                "meta": {
                    "total_pages": total.div_ceil(per_page),
                    "page": page,
                    "per_page": per_page,
                    "total": total,
                },
            }),
        )
    }

    fn product_member(&self, id: &str) -> Option<&CloudDevice> {
        self.devices
            .get(&id.to_ascii_lowercase())
            .filter(|d| d.in_product)
    }

    /// `GET /v1/products/:p/devices/:id`: the device with its `owner` (§13.3).
    pub(super) fn product_device(&self, request: &Request, id: &str) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        match self.product_member(id) {
            Some(device) => Response::json(200, &self.product_device_json(device)),
            None => not_found(),
        }
    }

    /// `DELETE /v1/products/:p/devices/:id/owner`: releases ownership, keeps the device in
    /// the product (§13.4).
    pub(super) fn release_owner(&mut self, request: &Request, id: &str) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        if self.product_member(id).is_none() {
            return not_found();
        }
        if let Some(device) = self.devices.get_mut(&id.to_ascii_lowercase()) {
            device.owner = None;
        }
        Response::json(200, &json!({"ok": true}))
    }

    /// `DELETE /v1/products/:p/devices/:id`: out of the product, unclaimed (§13.4).
    pub(super) fn remove_product_device(&mut self, request: &Request, id: &str) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        if self.product_member(id).is_none() {
            return not_found();
        }
        if let Some(device) = self.devices.get_mut(&id.to_ascii_lowercase()) {
            device.owner = None;
            device.in_product = false;
        }
        Response::empty(204)
    }

    /// `PUT /v1/products/:p/devices/:id` with `name` and/or `notes` (§13.5).
    pub(super) fn update_product_device(&mut self, request: &Request, id: &str) -> Response {
        if let Err(refusal) = self.product_caller(request) {
            return refusal;
        }
        if self.product_member(id).is_none() {
            return not_found();
        }
        self.update_device(request, id)
    }

    /// `PUT /v1/devices/:id` with `name` and/or `notes`: a customer's own device, or a
    /// product device with a product token (§13.5).
    pub(super) fn rename_device(&mut self, request: &Request, id: &str) -> Response {
        let id = id.to_ascii_lowercase();
        let allowed = match self.customer(request) {
            Ok(customer) => self
                .devices
                .get(&id)
                .is_some_and(|d| d.owner.as_deref() == Some(customer.as_str())),
            Err(refusal) if refusal.status == 403 => {
                self.devices.get(&id).is_some_and(|d| d.in_product)
            }
            Err(refusal) => return refusal,
        };
        if !allowed {
            return Response::json(
                403,
                &json!({"error": "Permission Denied", "info": "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined"}),
            );
        }
        self.update_device(request, &id)
    }

    fn update_device(&mut self, request: &Request, id: &str) -> Response {
        let body = fields(request);
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::trim);
        let (name, notes) = (text("name"), text("notes"));
        if name.is_none() && notes.is_none() {
            return Response::json(
                400,
                &json!({"ok": false, "error": "Nothing to update: name or notes"}),
            );
        }
        if name.is_some_and(|n| n.is_empty() || n.len() > MAX_TEXT)
            || notes.is_some_and(|n| n.len() > MAX_TEXT)
        {
            return Response::json(400, &json!({"ok": false, "error": "Invalid name or notes"}));
        }
        let updated_at = self.iso_now();
        let Some(device) = self.devices.get_mut(&id.to_ascii_lowercase()) else {
            return not_found();
        };
        let mut answer = json!({"id": device.id, "updated_at": updated_at});
        if let Some(name) = name {
            device.name = Some(name.to_owned());
            answer["name"] = json!(name);
        }
        if let Some(notes) = notes {
            device.notes = Some(notes.to_owned());
            answer["notes"] = json!(notes);
        }
        Response::json(200, &answer)
    }
}

/// A stable 24-hex-digit id for a customer, as the list's `customers` entries carry one.
fn customer_id(username: &str) -> String {
    // FNV-1a, twice with different offsets, for 96 bits: an identifier, not a secret.
    let fnv = |offset: u64| {
        username.bytes().fold(offset, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
    format!("{a:016x}{:08x}", b as u32)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ID: &str = "3a0020001847333531323bcf";
    const OTHER: &str = "1d002a000547343232363230";
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    fn request(method: &str, path: &str, token: &str, body: &str) -> Request {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, crate::httpd::parse_query(q)),
            None => (path, BTreeMap::new()),
        };
        let mut headers = BTreeMap::from([
            ("authorization".to_owned(), format!("Bearer {token}")),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]);
        if body.contains('=') && !body.starts_with('{') {
            headers.insert(FORM.0.into(), FORM.1.into());
        }
        Request {
            method: method.into(),
            path: path.into(),
            query,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap_or(Value::Null)
    }

    fn token(cloud: &mut Cloud, scope: Option<&str>) -> String {
        let mut form =
            "grant_type=client_credentials&client_id=client&client_secret=secret".to_owned();
        if let Some(email) = scope {
            let create =
                format!("client_id=client&client_secret=secret&email={email}&no_password=true");
            cloud.handle(
                0,
                &request("POST", "/v1/products/1234/customers", "", &create),
            );
            form.push_str(&format!("&scope=customer={email}"));
        }
        let r = cloud.handle(0, &request("POST", "/oauth/token", "", &form));
        assert_eq!(r.status, 200);
        body(&r)["access_token"].as_str().unwrap().to_owned()
    }

    fn claim_code(cloud: &mut Cloud, customer_token: &str) -> String {
        let r = cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/device_claims",
                customer_token,
                "",
            ),
        );
        body(&r)["claim_code"].as_str().unwrap().to_owned()
    }

    #[test]
    fn import_reports_added_existing_and_invalid_ids() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        cloud.manufacture(&ID.to_uppercase());
        cloud.manufacture(OTHER);
        let product = token(&mut cloud, None);
        let r = cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/devices",
                &product,
                &format!(
                    r#"{{"ids":["{}","{OTHER}","0123456789abcdef01234567","nope"]}}"#,
                    ID.to_uppercase()
                ),
            ),
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            body(&r),
            json!({"updated": 2, "updatedDeviceIds": [ID, OTHER], "existingDeviceIds": [],
                   "nonmemberDeviceIds": [], "invalidDeviceIds": ["0123456789abcdef01234567", "nope"]})
        );
        // One id, form-encoded, again: already a member.
        let again = cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/product-1234/devices",
                &product,
                &format!("id={ID}"),
            ),
        );
        assert_eq!(body(&again)["existingDeviceIds"], json!([ID]));
        assert_eq!(body(&again)["updated"], 0);
    }

    #[test]
    fn customer_tokens_are_refused_on_product_routes() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        cloud.manufacture(ID);
        let customer = token(&mut cloud, Some("kim@example.com"));
        for (method, path) in [
            ("GET", "/v1/products/1234/devices".to_owned()),
            ("POST", "/v1/products/1234/devices".to_owned()),
            ("GET", format!("/v1/products/1234/devices/{ID}")),
            ("DELETE", format!("/v1/products/1234/devices/{ID}/owner")),
            ("DELETE", format!("/v1/products/1234/devices/{ID}")),
        ] {
            let r = cloud.handle(
                0,
                &request(method, &path, &customer, &format!(r#"{{"id":"{ID}"}}"#)),
            );
            assert_eq!(r.status, 403, "{method} {path}");
        }
        let missing = cloud.handle(
            0,
            &Request {
                headers: BTreeMap::new(),
                ..request("GET", "/v1/products/1234/devices", "", "")
            },
        );
        assert_eq!(missing.status, 400);
        let invalid = cloud.handle(0, &request("GET", "/v1/products/1234/devices", "0123", ""));
        assert_eq!(invalid.status, 401);
    }

    #[test]
    fn a_device_shows_its_owner_and_is_released_and_removed() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        cloud.manufacture(ID);
        let product = token(&mut cloud, None);
        let customer = token(&mut cloud, Some("kim@example.com"));
        let path = format!("/v1/products/1234/devices/{ID}");
        assert_eq!(
            cloud.handle(0, &request("GET", &path, &product, "")).status,
            404,
            "not imported"
        );
        cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/devices",
                &product,
                &format!("id={ID}"),
            ),
        );
        let unowned = body(&cloud.handle(0, &request("GET", &path, &product, "")));
        assert_eq!(
            (unowned["online"].clone(), unowned.get("owner")),
            (json!(false), None)
        );

        let code = claim_code(&mut cloud, &customer);
        assert!(cloud.device_connected(0, ID, Some(&code)));
        let upper = format!("/v1/products/1234/devices/{}", ID.to_uppercase());
        let owned = body(&cloud.handle(0, &request("GET", &upper, &product, "")));
        assert_eq!(owned["owner"], "kim@example.com");
        assert_eq!(owned["online"], true);
        assert!(owned["last_heard"].as_str().unwrap().ends_with('Z'));

        let released = cloud.handle(
            0,
            &request("DELETE", &format!("{path}/owner"), &product, ""),
        );
        assert_eq!(
            (released.status, body(&released)),
            (200, json!({"ok": true}))
        );
        let after = body(&cloud.handle(0, &request("GET", &path, &product, "")));
        assert_eq!(after.get("owner"), None);
        let removed = cloud.handle(0, &request("DELETE", &path, &product, ""));
        assert_eq!(removed.status, 204);
        assert_eq!(
            cloud.handle(0, &request("GET", &path, &product, "")).status,
            404
        );
        assert_eq!(
            cloud
                .handle(0, &request("DELETE", &path, &product, ""))
                .status,
            404
        );
    }

    #[test]
    fn list_pages_filters_and_names_the_owners() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let product = token(&mut cloud, None);
        let customer = token(&mut cloud, Some("kim@example.com"));
        let ids: Vec<String> = (0..5).map(|i| format!("{i:024x}")).collect();
        for id in &ids {
            cloud.manufacture(id);
        }
        cloud.manufacture(ID); // made, never imported: not listed
        let all = serde_json::to_string(&ids).unwrap();
        cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/devices",
                &product,
                &format!(r#"{{"ids":{all}}}"#),
            ),
        );
        let code = claim_code(&mut cloud, &customer);
        assert!(cloud.device_connected(0, &ids[4], Some(&code)));

        let page = |cloud: &mut Cloud, query: &str| {
            body(&cloud.handle(
                0,
                &request(
                    "GET",
                    &format!("/v1/products/1234/devices?{query}"),
                    &product,
                    "",
                ),
            ))
        };
        let first = page(&mut cloud, "per_page=2");
        assert_eq!(
            first["meta"],
            json!({"total_pages": 3, "page": 1, "per_page": 2, "total": 5})
        );
        assert_eq!(first["devices"].as_array().unwrap().len(), 2);
        assert_eq!(first["customers"], json!([]));
        let last = page(&mut cloud, "perPage=2&page=3");
        assert_eq!(last["devices"][0]["id"], ids[4]);
        assert_eq!(last["devices"][0]["owner"], "kim@example.com");
        assert_eq!(last["customers"][0]["username"], "kim@example.com");
        assert_eq!(last["customers"][0]["id"].as_str().unwrap().len(), 24);
        let filtered = page(&mut cloud, &format!("deviceId={}", &ids[3][20..]));
        assert_eq!(filtered["devices"].as_array().unwrap().len(), 1);
        assert_eq!(page(&mut cloud, "")["meta"]["total"], 5);
    }

    #[test]
    fn renames_through_the_product_route_or_by_the_owner() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        cloud.manufacture(ID);
        let product = token(&mut cloud, None);
        let customer = token(&mut cloud, Some("kim@example.com"));
        let stranger = token(&mut cloud, Some("lee@example.com"));
        cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/devices",
                &product,
                &format!("id={ID}"),
            ),
        );
        let r = cloud.handle(
            0,
            &request(
                "PUT",
                &format!("/v1/products/1234/devices/{ID}"),
                &product,
                r#"{"name":"hall_lamp","notes":"batch 7"}"#,
            ),
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            (body(&r)["name"].clone(), body(&r)["notes"].clone()),
            (json!("hall_lamp"), json!("batch 7"))
        );
        assert!(body(&r)["updated_at"].is_string());

        let code = claim_code(&mut cloud, &customer);
        assert!(cloud.device_connected(0, ID, Some(&code)));
        let path = format!("/v1/devices/{ID}");
        assert_eq!(
            cloud
                .handle(0, &request("PUT", &path, &stranger, "name=mine"))
                .status,
            403
        );
        let renamed = cloud.handle(0, &request("PUT", &path, &customer, "name=desk_lamp"));
        assert_eq!(body(&renamed)["name"], "desk_lamp");
        let seen = body(&cloud.handle(0, &request("GET", &path, &customer, "")));
        assert_eq!(seen["name"], "desk_lamp");
        assert_eq!(
            cloud
                .handle(0, &request("PUT", &path, &customer, "{}"))
                .status,
            400
        );
    }

    #[test]
    fn claim_rules_takeover_and_import_requirement() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        cloud.manufacture(ID);
        let first = token(&mut cloud, Some("kim@example.com"));
        let second = token(&mut cloud, Some("lee@example.com"));
        let product = token(&mut cloud, None);
        let path = format!("/v1/products/1234/devices/{ID}");

        cloud.set_product_rules(ProductRules {
            import_required: true,
            claim_takes_over: false,
        });
        let code = claim_code(&mut cloud, &first);
        assert!(
            !cloud.device_connected(0, ID, Some(&code)),
            "not imported yet"
        );
        cloud.handle(
            0,
            &request(
                "POST",
                "/v1/products/1234/devices",
                &product,
                &format!("id={ID}"),
            ),
        );
        assert!(
            cloud.device_connected(0, ID, Some(&code)),
            "the unused code works once imported"
        );

        // By default a second customer's code does not take the device over.
        let code = claim_code(&mut cloud, &second);
        assert!(!cloud.device_connected(0, ID, Some(&code)));
        assert_eq!(
            body(&cloud.handle(0, &request("GET", &path, &product, "")))["owner"],
            "kim@example.com"
        );
        cloud.set_product_rules(ProductRules {
            import_required: true,
            claim_takes_over: true,
        });
        assert!(cloud.device_connected(0, ID, Some(&code)));
        assert_eq!(
            body(&cloud.handle(0, &request("GET", &path, &product, "")))["owner"],
            "lee@example.com"
        );
    }

    #[test]
    fn a_product_claim_adds_the_device_when_import_is_not_required() {
        let mut cloud = Cloud::new(1234, "client", "secret");
        let customer = token(&mut cloud, Some("kim@example.com"));
        let product = token(&mut cloud, None);
        let code = claim_code(&mut cloud, &customer);
        assert!(cloud.device_connected(0, ID, Some(&code)));
        let r = cloud.handle(
            0,
            &request(
                "GET",
                &format!("/v1/products/1234/devices/{ID}"),
                &product,
                "",
            ),
        );
        assert_eq!(
            (r.status, body(&r)["owner"].clone()),
            (200, json!("kim@example.com"))
        );
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_465_570_807, 100), "2016-06-10T15:00:07.100Z");
        assert_eq!(iso8601(951_782_400, 5), "2000-02-29T00:00:00.005Z");
    }
}
