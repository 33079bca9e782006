//! The cloud calls of two-legged setup, without I/O (cloud spec §4, §6, §7, §13.7–13.8): a claim
//! code from the customer's token; whether a device is this customer's and online, from the
//! customer's device list and event stream; and claiming a device outright, which also says
//! whether another customer owns it. Only `Authorization` (and a form body's type) is sent as a
//! header, which the API's CORS allows. Replies are plain JSON, read with the same reader as
//! the device's replies (one JSON reader in the wasm, not two).

use crate::protocol::error::{Error, Field};
use crate::protocol::json::{read_document, Value};

/// A request to the cloud API. `authorization` is a bearer token: never log it.
#[derive(Clone, PartialEq, Eq)]
pub struct CloudRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// `Authorization` header value.
    pub authorization: String,
    /// A form body (`application/x-www-form-urlencoded`), if any.
    pub form: Option<String>,
}

impl core::fmt::Debug for CloudRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CloudRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A claim code and the devices the customer already owns.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimCodeReply {
    /// The code, 63 characters, valid for one hour, single use.
    pub claim_code: String,
    /// Ids of devices the customer already owns, lower case.
    pub device_ids: Vec<String>,
}

impl core::fmt::Debug for ClaimCodeReply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClaimCodeReply")
            .field("device_ids", &self.device_ids)
            .finish_non_exhaustive()
    }
}

/// Where a device stands for this customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Not (yet) this customer's.
    NotClaimed,
    /// The customer's, not connected.
    Offline,
    /// The customer's and connected.
    Online,
}

/// What claiming a device outright (`POST /v1/devices`) said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimAttempt {
    /// It is this customer's now (or was already).
    Claimed,
    /// The cloud does not know it yet, or it is not online: keep waiting.
    NotYet,
    /// Another customer owns it.
    OtherOwner,
}

/// The customer's cloud: API address, token, product.
#[derive(Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// `https://api.particle.io` or a stand-in.
    pub api_url: String,
    /// The customer-scoped access token.
    pub token: String,
    /// The product id or slug, for product claim codes.
    pub product: Option<String>,
}

impl core::fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CloudConfig")
            .field("api_url", &self.api_url)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl CloudConfig {
    /// Checks the token can be sent as a header.
    ///
    /// # Errors
    /// [`Error::TokenInvalid`].
    pub fn new(api_url: &str, token: &str, product: Option<String>) -> Result<Self, Error> {
        bearer(token)?;
        Ok(Self {
            api_url: api_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            product,
        })
    }

    fn request(&self, method: &'static str, path: &str) -> CloudRequest {
        CloudRequest {
            method,
            url: format!("{}{path}", self.api_url),
            // Checked in `new`.
            authorization: format!("Bearer {}", self.token),
            form: None,
        }
    }

    /// `POST /v1/products/:product/device_claims` (or `/v1/device_claims` without one).
    pub fn claim_code_request(&self) -> CloudRequest {
        match &self.product {
            Some(product) => self.request(
                "POST",
                &format!("/v1/products/{}/device_claims", encode_segment(product)),
            ),
            None => self.request("POST", "/v1/device_claims"),
        }
    }

    /// `GET /v1/devices`: the customer's devices. A list answers 200 before the claim too,
    /// where `GET /v1/devices/:id` would answer 403 every few seconds.
    pub fn devices_request(&self) -> CloudRequest {
        self.request("GET", "/v1/devices")
    }

    /// `POST /v1/devices` with the id: claims an unowned device for the customer, and answers
    /// 403 when another customer owns it (cloud spec §13.8).
    pub fn claim_device_request(&self, device_id: &str) -> CloudRequest {
        let mut request = self.request("POST", "/v1/devices");
        request.form = Some(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("id", &device_id.to_ascii_lowercase())
                .finish(),
        );
        request
    }

    /// `PUT /v1/devices/:id` with `name` (cloud spec §13.5): the name the customer gave their
    /// device, with their own token as the setup SDKs do. `name` is checked by
    /// [`device_name`].
    pub fn rename_request(&self, device_id: &str, name: &str) -> CloudRequest {
        let mut request = self.request(
            "PUT",
            &format!(
                "/v1/devices/{}",
                encode_segment(&device_id.to_ascii_lowercase())
            ),
        );
        request.form = Some(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("name", name)
                .finish(),
        );
        request
    }

    /// `GET /v1/devices/events/spark/status`: the customer's devices going online and offline,
    /// as server-sent events (cloud spec §13.7), read with `fetch` so the token is a header.
    pub fn status_events_request(&self) -> CloudRequest {
        self.request("GET", "/v1/devices/events/spark/status")
    }
}

/// The longest device name sent. The cloud documents no limit; 64 bytes keep a name whole in
/// every list that shows it.
pub const DEVICE_NAME_MAX_BYTES: usize = 64;

/// The Particle API.
pub const API_URL: &str = "https://api.particle.io";

/// A name for a device as the customer typed it ("Kitchen lamp"): trimmed, 1 to 64 bytes,
/// without control characters.
///
/// # Errors
/// [`Error::MissingField`], [`Error::FieldTooLong`] or [`Error::UnsupportedCharacter`], each
/// for [`Field::DeviceName`].
pub fn device_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    let field = Field::DeviceName;
    if name.is_empty() {
        return Err(Error::MissingField { field });
    }
    if let Some(character) = name.chars().find(|c| c.is_control()) {
        return Err(Error::UnsupportedCharacter { field, character });
    }
    if name.len() > DEVICE_NAME_MAX_BYTES {
        return Err(Error::FieldTooLong {
            field,
            max_bytes: DEVICE_NAME_MAX_BYTES,
        });
    }
    Ok(name.to_owned())
}

/// Reads the reply to [`CloudConfig::rename_request`].
///
/// # Errors
/// Token errors, or [`Error::CloudError`] (403: the device is not this customer's).
pub fn read_rename(status: u16, body: &[u8]) -> Result<(), Error> {
    match status {
        200 | 204 => Ok(()),
        _ => Err(status_error(status, body)),
    }
}

fn bearer(token: &str) -> Result<(), Error> {
    // A token is an opaque printable string; anything else would break the header.
    if token.is_empty() || token.len() > 512 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::TokenInvalid);
    }
    Ok(())
}

fn encode_segment(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The error an unsuccessful status means (cloud spec §7): 401 is an expired or invalid token
/// (the body says which in `error_description`); a missing token is 400 `invalid_request`.
fn status_error(status: u16, body: &[u8]) -> Error {
    let body = read_document(body);
    let field = |key| body.as_ref().and_then(|b| b.text(key)).unwrap_or_default();
    let description = field("error_description");
    match status {
        401 if contains(description.as_bytes(), b"expired") => Error::TokenExpired,
        401 => Error::TokenInvalid,
        400 if field("error") == "invalid_request"
            && contains(description.as_bytes(), b"access token") =>
        {
            Error::TokenInvalid
        }
        _ => Error::CloudError { status },
    }
}

/// Reads the reply to [`CloudConfig::claim_code_request`].
///
/// # Errors
/// Token errors, or [`Error::CloudError`] (also for a body without a claim code).
pub fn read_claim_code(status: u16, body: &[u8]) -> Result<ClaimCodeReply, Error> {
    if status != 200 && status != 201 {
        return Err(status_error(status, body));
    }
    let invalid = Error::CloudError { status };
    let body = read_document(body).ok_or(invalid.clone())?;
    let claim_code = body.text("claim_code").ok_or(invalid.clone())?;
    let device_ids = match body.get("device_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| {
                id.as_bytes()
                    .map(|b| String::from_utf8_lossy(b).to_ascii_lowercase())
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(invalid)?,
        Some(_) => return Err(invalid),
    };
    Ok(ClaimCodeReply {
        claim_code,
        device_ids,
    })
}

/// Reads the reply to [`CloudConfig::devices_request`] for one device. A device counts as
/// online with `online` or, in older answers, `connected` (cloud spec §6.1).
///
/// # Errors
/// Token errors and [`Error::CloudError`].
pub fn read_devices(status: u16, body: &[u8], device_id: &str) -> Result<DeviceStatus, Error> {
    if status != 200 {
        return Err(status_error(status, body));
    }
    let Some(Value::Array(list)) = read_document(body) else {
        return Err(Error::CloudError { status });
    };
    let id = device_id.as_bytes();
    let device = list.iter().find(|d| {
        d.get("id")
            .and_then(Value::as_bytes)
            .is_some_and(|i| i.eq_ignore_ascii_case(id))
    });
    Ok(match device {
        None => DeviceStatus::NotClaimed,
        Some(d) if d.flag("online") == Some(true) || d.flag("connected") == Some(true) => {
            DeviceStatus::Online
        }
        Some(_) => DeviceStatus::Offline,
    })
}

/// Reads the reply to [`CloudConfig::claim_device_request`].
///
/// # Errors
/// Token errors and [`Error::CloudError`] for other failures.
pub fn read_claim_device(status: u16, body: &[u8]) -> Result<ClaimAttempt, Error> {
    match status {
        200 | 201 => Ok(ClaimAttempt::Claimed),
        // "device does not exist", "Core isn't online": not yet.
        404 => Ok(ClaimAttempt::NotYet),
        // `{"errors":["That belongs to someone else."]}` (cloud spec §13.8).
        403 if contains(body, b"belongs to someone else") => Ok(ClaimAttempt::OtherOwner),
        403 => Err(Error::CloudError { status }),
        _ => Err(status_error(status, body)),
    }
}

/// One server-sent event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEvent {
    /// The event's name (`spark/status`).
    pub name: String,
    /// The publishing device, lower case.
    pub device_id: String,
    /// The event's data (`online`, `offline`).
    pub data: String,
}

/// The longest line of an event stream read; events are a few hundred bytes.
const MAX_EVENT_LINE: usize = 4_096;

/// Reads a `text/event-stream` as it arrives: `event:` and `data:` lines, a blank line ends an
/// event; comment lines (`:ok`, keep-alives) and other fields are skipped (cloud spec §13.7).
/// The format is a few lines of text; the crates that parse it bring an async runtime along.
#[derive(Debug, Default)]
pub struct EventStreamReader {
    line: Vec<u8>,
    name: Option<String>,
    data: Option<String>,
    skipping_long_line: bool,
}

impl EventStreamReader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes more of the stream; returns the events it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<CloudEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                if self.line.len() < MAX_EVENT_LINE {
                    self.line.push(byte);
                } else {
                    self.skipping_long_line = true;
                }
                continue;
            }
            let line = core::mem::take(&mut self.line);
            if core::mem::take(&mut self.skipping_long_line) {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.is_empty() {
                if let Some(event) = self.dispatch() {
                    events.push(event);
                }
                continue;
            }
            let text = String::from_utf8_lossy(line);
            let (field, value) = text.split_once(':').unwrap_or((&text, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.name = Some(value.to_owned()),
                "data" => self.data = Some(value.to_owned()),
                _ => {}
            }
        }
        events
    }

    fn dispatch(&mut self) -> Option<CloudEvent> {
        let name = self.name.take()?;
        let data = read_document(self.data.take()?.as_bytes())?;
        Some(CloudEvent {
            name,
            device_id: data.text("coreid")?.to_ascii_lowercase(),
            data: data.text("data").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CloudConfig {
        CloudConfig::new(
            "https://api.particle.io/",
            "abc123",
            Some("my product".into()),
        )
        .unwrap()
    }

    #[test]
    fn requests_carry_only_the_bearer_token() {
        let r = config().claim_code_request();
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.url,
            "https://api.particle.io/v1/products/my%20product/device_claims"
        );
        assert_eq!(r.authorization, "Bearer abc123");
        assert!(
            !format!("{r:?}").contains("abc123"),
            "Debug hides the token"
        );
        assert!(!format!("{:?}", config()).contains("abc123"));
        let r = CloudConfig::new("http://127.0.0.1:8182", "t", None)
            .unwrap()
            .claim_code_request();
        assert_eq!(r.url, "http://127.0.0.1:8182/v1/device_claims");
        let r = config().claim_device_request("3A0020001847333531323BCF");
        assert_eq!(
            (r.url.as_str(), r.form.as_deref()),
            (
                "https://api.particle.io/v1/devices",
                Some("id=3a0020001847333531323bcf")
            )
        );
        assert_eq!(
            CloudConfig::new("x", "", None).unwrap_err(),
            Error::TokenInvalid
        );
        assert_eq!(
            CloudConfig::new("x", "a\r\nX-Evil: 1", None).unwrap_err(),
            Error::TokenInvalid
        );
    }

    #[test]
    fn claim_codes_and_owned_devices_are_read() {
        let body = br#"{"claim_code":"rCFr2KAJNgzJ2rR3Jm1ZoUd7G4Sr3ak7MRHdWrM274eYzInP1+psZ0fP2qNehlj","device_ids":["33FF210644893F533E242597"]}"#;
        let reply = read_claim_code(200, body).unwrap();
        assert_eq!(reply.claim_code.len(), 63);
        assert_eq!(reply.device_ids, ["33ff210644893f533e242597"]);
        assert!(
            !format!("{reply:?}").contains("rCFr"),
            "Debug hides the code"
        );
        assert_eq!(
            read_claim_code(200, b"{}").unwrap_err(),
            Error::CloudError { status: 200 }
        );
        assert_eq!(
            read_claim_code(200, b"<html>").unwrap_err(),
            Error::CloudError { status: 200 }
        );
    }

    #[test]
    fn the_real_error_bodies_map_to_typed_errors() {
        let expired = br#"{"error":"invalid_token","error_description":"The access token provided has expired."}"#;
        let invalid = br#"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#;
        let missing =
            br#"{"error":"invalid_request","error_description":"The access token was not found"}"#;
        assert_eq!(
            read_claim_code(401, expired).unwrap_err(),
            Error::TokenExpired
        );
        assert_eq!(
            read_devices(401, invalid, "x").unwrap_err(),
            Error::TokenInvalid
        );
        assert_eq!(
            read_devices(400, missing, "x").unwrap_err(),
            Error::TokenInvalid
        );
        assert_eq!(
            read_devices(503, b"", "x").unwrap_err(),
            Error::CloudError { status: 503 }
        );
        assert_eq!(
            read_devices(401, b"", "x").unwrap_err(),
            Error::TokenInvalid
        );
    }

    #[test]
    fn the_device_list_says_not_claimed_offline_or_online() {
        let id = "3a0020001847333531323bcf";
        assert_eq!(read_devices(200, b"[]", id), Ok(DeviceStatus::NotClaimed));
        let online =
            br#"[{"id":"other","online":true},{"id":"3A0020001847333531323BCF","online":true}]"#;
        assert_eq!(read_devices(200, online, id), Ok(DeviceStatus::Online));
        let connected = br#"[{"id":"3a0020001847333531323bcf","connected":true}]"#;
        assert_eq!(read_devices(200, connected, id), Ok(DeviceStatus::Online));
        let offline = br#"[{"id":"3a0020001847333531323bcf","online":false}]"#;
        assert_eq!(read_devices(200, offline, id), Ok(DeviceStatus::Offline));
        assert_eq!(
            read_devices(200, b"nonsense", id),
            Err(Error::CloudError { status: 200 })
        );
    }

    #[test]
    fn claiming_outright_tells_another_owner_apart() {
        assert_eq!(
            read_claim_device(200, br#"{"ok":true}"#),
            Ok(ClaimAttempt::Claimed)
        );
        assert_eq!(
            read_claim_device(404, br#"{"ok":false,"errors":["device does not exist"]}"#),
            Ok(ClaimAttempt::NotYet)
        );
        assert_eq!(
            read_claim_device(403, br#"{"errors":["That belongs to someone else."]}"#),
            Ok(ClaimAttempt::OtherOwner)
        );
        assert_eq!(
            read_claim_device(403, br#"{"error":"Permission Denied"}"#),
            Err(Error::CloudError { status: 403 })
        );
        assert_eq!(read_claim_device(401, b"{}"), Err(Error::TokenInvalid));
    }

    #[test]
    fn the_event_stream_is_read_across_any_split() {
        let stream = b":ok\n\nevent: spark/status\ndata: {\"data\":\"online\",\"ttl\":\"60\",\"published_at\":\"2015-07-18T00:12:18.174Z\",\"coreid\":\"3A0020001847333531323BCF\"}\n\n:\n\nevent: other\r\ndata: {\"data\":\"x\",\"coreid\":\"1\"}\r\n\r\n";
        let expected = vec![
            CloudEvent {
                name: "spark/status".into(),
                device_id: "3a0020001847333531323bcf".into(),
                data: "online".into(),
            },
            CloudEvent {
                name: "other".into(),
                device_id: "1".into(),
                data: "x".into(),
            },
        ];
        for piece in [1, 3, 7, stream.len()] {
            let mut reader = EventStreamReader::new();
            let events: Vec<CloudEvent> =
                stream.chunks(piece).flat_map(|c| reader.feed(c)).collect();
            assert_eq!(events, expected, "pieces of {piece}");
        }
    }

    #[test]
    fn the_event_stream_skips_overlong_lines_and_bad_data() {
        let mut reader = EventStreamReader::new();
        let mut long = b"data: ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100_000));
        long.extend_from_slice(b"\nevent: a\ndata: not json\n\nevent: b\n\n");
        assert!(reader.feed(&long).is_empty());
    }
}
