//! `GET /v1/device-key?device=<id or access-point name>`: a device's public key from the
//! factory's records, which sealed mode encrypts the Wi-Fi password with before the
//! customer ever joins the device's network.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::User;
use crate::error::{ApiError, ErrorCode};
use crate::store::KeyLookup;
use crate::AppState;

/// Longest `device=` value looked up (a device id is 24, an access point's name ≤ 32).
const MAX_DEVICE_QUERY: usize = 64;

/// The query.
#[derive(Deserialize)]
pub struct DeviceQuery {
    device: Option<String>,
}

/// → `{ publicKey, fingerprint }`; 404 `device-not-found` when no record has that id or
/// name, 409 `device-name-ambiguous` when several devices carry the name. The device's id
/// is not in the answer: a name is easy to guess, and an id is what a release asks for.
pub async fn get_device_key(
    State(state): State<AppState>,
    User(_user): User,
    query: Result<Query<DeviceQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let device = query.ok().and_then(|Query(query)| query.device);
    let asked = device.as_deref().map(str::trim).unwrap_or("");
    if asked.is_empty() || asked.len() > MAX_DEVICE_QUERY || asked.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidDeviceQuery,
            "Ask for ?device=<device id or access-point name>.",
        ));
    }
    match state.store.device_key(asked).await? {
        KeyLookup::Found(record) => Ok(Json(json!({
            "publicKey": record.public_key,
            "fingerprint": record.fingerprint,
        }))),
        KeyLookup::NotFound => Err(ApiError::new(
            ErrorCode::DeviceNotFound,
            "No device with this id or name is in the factory's records.",
        )),
        KeyLookup::Ambiguous => Err(ApiError::new(
            ErrorCode::DeviceNameAmbiguous,
            "Several devices carry this name: use the device id from the label.",
        )),
    }
}
