//! The cloud calls of two-legged setup, without I/O (cloud spec §4, §6, §7): a claim code
//! from the customer's token, and whether a device is claimed by this customer and online.
//! Only `Authorization` is sent as a header, which the API's CORS allows.

use crate::protocol::error::Error;
use crate::protocol::json::{read_value, Progress, Value};

/// A request to the cloud API. `authorization` is a bearer token: never log it.
#[derive(Clone, PartialEq, Eq)]
pub struct CloudRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// `Authorization` header value.
    pub authorization: String,
}

impl core::fmt::Debug for CloudRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CloudRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish()
    }
}

/// A claim code and the devices the customer already owns.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimCodeReply {
    /// The code, 63 characters, valid for one hour, single use.
    pub claim_code: String,
    /// Ids of devices the customer already owns.
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
    /// Not (yet) this customer's: the cloud answers 403 until the claim code is redeemed.
    NotClaimed,
    /// Claimed, not connected.
    Offline,
    /// Claimed and connected.
    Online,
}

fn bearer(token: &str) -> Result<String, Error> {
    // A token is an opaque printable string; anything else would break the header.
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::TokenInvalid);
    }
    Ok(format!("Bearer {token}"))
}

fn base(api_url: &str) -> &str {
    api_url.trim_end_matches('/')
}

/// `POST /v1/products/:product/device_claims` (or `/v1/device_claims` without a product).
///
/// # Errors
/// [`Error::TokenInvalid`] for a token that cannot be sent.
pub fn claim_code_request(
    api_url: &str,
    token: &str,
    product: Option<&str>,
) -> Result<CloudRequest, Error> {
    let url = match product {
        Some(product) => format!(
            "{}/v1/products/{}/device_claims",
            base(api_url),
            encode_segment(product)
        ),
        None => format!("{}/v1/device_claims", base(api_url)),
    };
    Ok(CloudRequest {
        method: "POST",
        url,
        authorization: bearer(token)?,
    })
}

/// `GET /v1/devices/:id`.
///
/// # Errors
/// [`Error::TokenInvalid`] for a token that cannot be sent.
pub fn device_request(api_url: &str, token: &str, device_id: &str) -> Result<CloudRequest, Error> {
    let id = device_id.to_ascii_lowercase();
    let url = format!("{}/v1/devices/{}", base(api_url), encode_segment(&id));
    Ok(CloudRequest {
        method: "GET",
        url,
        authorization: bearer(token)?,
    })
}

fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn parse(body: &[u8]) -> Option<Value> {
    match read_value(body) {
        Ok(Progress::Complete((value, _))) => Some(value),
        _ => read_value(&[body, b" "].concat())
            .ok()
            .and_then(|p| match p {
                Progress::Complete((value, _)) => Some(value),
                Progress::Partial => None,
            }),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The error an unsuccessful status means (cloud spec §7): 401 is an expired or invalid
/// token (the body says which), a missing token is 400 `invalid_request`.
fn status_error(status: u16, body: &[u8]) -> Error {
    let value = parse(body);
    let description = value
        .as_ref()
        .and_then(|v| text(v, "error_description"))
        .unwrap_or_default();
    let error = value
        .as_ref()
        .and_then(|v| text(v, "error"))
        .unwrap_or_default();
    match status {
        401 if description.contains("expired") => Error::TokenExpired,
        401 => Error::TokenInvalid,
        400 if error == "invalid_request" && description.contains("access token") => {
            Error::TokenInvalid
        }
        _ => Error::CloudError { status },
    }
}

/// Reads the reply to [`claim_code_request`].
///
/// # Errors
/// Token errors, or [`Error::CloudError`] (also for a body without a claim code).
pub fn read_claim_code(status: u16, body: &[u8]) -> Result<ClaimCodeReply, Error> {
    if status != 200 && status != 201 {
        return Err(status_error(status, body));
    }
    let value = parse(body).ok_or(Error::CloudError { status })?;
    let claim_code = text(&value, "claim_code")
        .filter(|c| !c.is_empty())
        .ok_or(Error::CloudError { status })?;
    let device_ids = match value.get("device_ids") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(Value::as_bytes)
            .map(|b| String::from_utf8_lossy(b).to_ascii_lowercase())
            .collect(),
        _ => Vec::new(),
    };
    Ok(ClaimCodeReply {
        claim_code,
        device_ids,
    })
}

/// Reads the reply to [`device_request`]: 403 means "not this customer's yet". A device
/// counts as online with `online` or, in older answers, `connected` (cloud spec §6.1).
///
/// # Errors
/// Token errors and [`Error::CloudError`].
pub fn read_device(status: u16, body: &[u8]) -> Result<DeviceStatus, Error> {
    match status {
        200 => {
            let value = parse(body).ok_or(Error::CloudError { status })?;
            let flag = |key| matches!(value.get(key), Some(Value::Bool(true)));
            Ok(if flag("online") || flag("connected") {
                DeviceStatus::Online
            } else {
                DeviceStatus::Offline
            })
        }
        403 | 404 => Ok(DeviceStatus::NotClaimed),
        _ => Err(status_error(status, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_only_the_bearer_token() {
        let r =
            claim_code_request("https://api.particle.io/", "abc123", Some("my product")).unwrap();
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
        let r = claim_code_request("http://127.0.0.1:8182", "t", None).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:8182/v1/device_claims");
        let r = device_request("https://api.particle.io", "t", "3A0020001847333531323BCF").unwrap();
        assert_eq!(
            (r.method, r.url.as_str()),
            (
                "GET",
                "https://api.particle.io/v1/devices/3a0020001847333531323bcf"
            )
        );
        assert_eq!(
            claim_code_request("x", "", None).unwrap_err(),
            Error::TokenInvalid
        );
        assert_eq!(
            claim_code_request("x", "a\r\nX-Evil: 1", None).unwrap_err(),
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
        assert_eq!(read_device(401, invalid).unwrap_err(), Error::TokenInvalid);
        assert_eq!(read_device(400, missing).unwrap_err(), Error::TokenInvalid);
        assert_eq!(
            read_device(503, b"").unwrap_err(),
            Error::CloudError { status: 503 }
        );
        assert_eq!(read_device(401, b"").unwrap_err(), Error::TokenInvalid);
    }

    #[test]
    fn device_status_from_online_or_connected_or_403() {
        let denied =
            br#"{"error":"Permission Denied","info":"I didn't recognize that device name or ID"}"#;
        assert_eq!(read_device(403, denied), Ok(DeviceStatus::NotClaimed));
        assert_eq!(
            read_device(200, br#"{"id":"x","online":true}"#),
            Ok(DeviceStatus::Online)
        );
        assert_eq!(
            read_device(200, br#"{"id":"x","connected":true}"#),
            Ok(DeviceStatus::Online)
        );
        assert_eq!(
            read_device(200, br#"{"id":"x","online":false,"connected":false}"#),
            Ok(DeviceStatus::Offline)
        );
        assert_eq!(
            read_device(200, b"nonsense").unwrap_err(),
            Error::CloudError { status: 200 }
        );
    }
}
