//! Installations: a user's named groups of devices ("Holiday flat": two lamps). A device is
//! recorded only once the Particle API says this user's customer owns it; its online state
//! is read fresh from Particle with the product token; removing it releases its ownership
//! so it can be set up again elsewhere. A user sees and changes only their own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::User;
use crate::customers;
use crate::device_key::hex_encode;
use crate::error::{ApiError, ErrorCode};
use crate::store::{DeviceRecord, Installation};
use crate::AppState;

/// Longest installation or device name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Particle calls in flight for one installation's devices.
const PARALLEL_LOOKUPS: usize = 8;

/// `{ "name" }`.
#[derive(Deserialize)]
pub struct NameBody {
    name: String,
}

/// `{ "deviceId", "name" }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddDeviceBody {
    device_id: String,
    name: String,
}

/// A name as typed: trimmed, 1 to 100 characters, no control characters.
///
/// # Errors
/// `invalid-name`.
pub fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidName,
            format!("A name has 1 to {MAX_NAME_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_owned())
}

/// A device id: 24 hex digits, lower-cased (the device itself reports upper case).
///
/// # Errors
/// `invalid-device-id`.
pub fn device_id(text: &str) -> Result<String, ApiError> {
    let id = text.trim();
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::new(
            ErrorCode::InvalidDeviceId,
            "A device id is 24 hex digits.",
        ));
    }
    Ok(id.to_ascii_lowercase())
}

/// The name Particle keeps for the device: letters, digits, `-` and `_` (Particle's device
/// names are identifiers, the user's are free text).
fn particle_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    let mut out: String = out.chars().take(40).collect();
    if out.is_empty() {
        out.push_str("device");
    }
    out
}

fn timestamp(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::InstallationNotFound, "No such installation.")
}

fn not_in_installation() -> ApiError {
    ApiError::new(
        ErrorCode::DeviceNotFound,
        "This device is not in this installation.",
    )
}

/// `device-not-found` unless the device is recorded in this installation of this user.
async fn recorded(
    state: &AppState,
    user: &str,
    installation: &str,
    device: &str,
) -> Result<(), ApiError> {
    match state.store.device(user, installation, device).await? {
        Some(_) => Ok(()),
        None => Err(not_in_installation()),
    }
}

/// Installation ids are 32 hex digits; anything else cannot be one.
fn installation_id(text: &str) -> Result<&str, ApiError> {
    if text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(text)
    } else {
        Err(not_found())
    }
}

async fn owned_installation(
    state: &AppState,
    user: &str,
    id: &str,
) -> Result<Installation, ApiError> {
    state
        .store
        .installation(user, installation_id(id)?)
        .await?
        .ok_or_else(not_found)
}

fn installation_json(installation: &Installation) -> Value {
    json!({
        "id": installation.id,
        "name": installation.name,
        "createdAt": timestamp(installation.created_at),
    })
}

/// `GET /v1/installations` → `{ installations: [{ id, name, createdAt, deviceCount }] }`.
pub async fn list(
    State(state): State<AppState>,
    User(user): User,
) -> Result<Json<Value>, ApiError> {
    let installations = state.store.installations(&user).await?;
    let list: Vec<Value> = installations
        .iter()
        .map(|(installation, devices)| {
            let mut value = installation_json(installation);
            value["deviceCount"] = json!(devices);
            value
        })
        .collect();
    Ok(Json(json!({ "installations": list })))
}

/// `POST /v1/installations { name }` → 201 `{ id, name, createdAt, devices: [] }`.
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    Json(body): Json<NameBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = checked_name(&body.name)?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("system randomness");
    let installation = state
        .store
        .create_installation(&user, &hex_encode(&id), &name)
        .await?;
    let mut value = installation_json(&installation);
    value["devices"] = json!([]);
    Ok((StatusCode::CREATED, Json(value)))
}

/// `GET /v1/installations/{id}` → `{ id, name, createdAt, devices: [{ deviceId, name,
/// online, lastHeard, ownedByYou, addedAt }] }`, the state fresh from Particle.
pub async fn show(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let installation = owned_installation(&state, &user, &id).await?;
    let records = state.store.devices(&installation.id).await?;
    let email = customers::email_of(&state, &user).await?;
    let (particle, email) = (&state.particle, email.as_str());
    let devices: Vec<Value> = stream::iter(records)
        .map(|record| async move {
            let found = particle.product_device(&record.device_id).await?;
            Ok::<_, ApiError>(device_json(&record, found.as_ref(), email))
        })
        .buffered(PARALLEL_LOOKUPS)
        .try_collect()
        .await?;
    let mut value = installation_json(&installation);
    value["devices"] = Value::Array(devices);
    Ok(Json(value))
}

fn device_json(
    record: &DeviceRecord,
    found: Option<&crate::particle::ProductDevice>,
    email: &str,
) -> Value {
    json!({
        "deviceId": record.device_id,
        "name": record.name,
        "online": found.is_some_and(|d| d.online),
        "lastHeard": found.and_then(|d| d.last_heard.clone()),
        "ownedByYou": found.and_then(|d| d.owner.as_deref()).is_some_and(|o| o.eq_ignore_ascii_case(email)),
        "addedAt": timestamp(record.added_at),
    })
}

/// `PATCH /v1/installations/{id} { name }` → `{ id, name, createdAt }`.
pub async fn rename(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
    Json(body): Json<NameBody>,
) -> Result<Json<Value>, ApiError> {
    let name = checked_name(&body.name)?;
    let id = installation_id(&id)?;
    if !state.store.rename_installation(&user, id, &name).await? {
        return Err(not_found());
    }
    Ok(Json(installation_json(
        &owned_installation(&state, &user, id).await?,
    )))
}

/// `DELETE /v1/installations/{id}` → 204: releases every device, then forgets it all.
pub async fn delete(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let installation = owned_installation(&state, &user, &id).await?;
    // One by one, forgetting each once released: a Particle failure midway leaves the
    // installation with exactly the devices still owned.
    for record in state.store.devices(&installation.id).await? {
        release_if_owned(&state, &user, &record.device_id).await?;
        state.store.forget_device(&record.device_id).await?;
    }
    if !state
        .store
        .delete_installation(&user, &installation.id)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::InstallationChanged,
            "A device was added to this installation meanwhile: delete it again.",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Releases the device's owner if that is still this user's customer. A record can outlive
/// the ownership (the device was set up again by someone who never recorded it); that
/// owner's claim is not this user's to release, so only the record goes then.
async fn release_if_owned(state: &AppState, user: &str, device: &str) -> Result<(), ApiError> {
    let Some(found) = state.particle.product_device(device).await? else {
        return Ok(());
    };
    let email = customers::email_of(state, user).await?;
    if found
        .owner
        .as_deref()
        .is_some_and(|owner| owner.eq_ignore_ascii_case(&email))
    {
        state.particle.release_owner(device).await?;
    } else {
        tracing::info!("record of a device this user no longer owns: forgotten, not released");
    }
    Ok(())
}

/// `POST /v1/installations/{id}/devices { deviceId, name }` → 201 the device, once
/// Particle confirms this user's customer owns it; 409 `device-not-claimed` while nobody
/// does (the setup has not reached the cloud yet), 409 `device-owned-by-another-customer`.
pub async fn add_device(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
    Json(body): Json<AddDeviceBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let device = device_id(&body.device_id)?;
    let name = checked_name(&body.name)?;
    let installation = owned_installation(&state, &user, &id).await?;
    let Some(found) = state.particle.product_device(&device).await? else {
        return Err(ApiError::new(
            ErrorCode::DeviceNotFound,
            "This device is not one of the product's devices.",
        ));
    };
    let email = customers::email_of(&state, &user).await?;
    match found.owner.as_deref() {
        Some(owner) if owner.eq_ignore_ascii_case(&email) => {}
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::DeviceOwnedByAnotherCustomer,
                "This device belongs to another account.",
            ))
        }
        None => {
            return Err(ApiError::new(
                ErrorCode::DeviceNotClaimed,
                "Nobody owns this device yet: its setup has not reached the cloud.",
            ))
        }
    }
    state
        .particle
        .rename(&device, &particle_name(&name))
        .await?;
    let record = state
        .store
        .record_device(&user, &installation.id, &device, &name)
        .await?;
    tracing::info!("device recorded in an installation");
    Ok((
        StatusCode::CREATED,
        Json(device_json(&record, Some(&found), &email)),
    ))
}

/// `PATCH /v1/installations/{id}/devices/{deviceId} { name }` → `{ deviceId, name, addedAt }`.
pub async fn rename_device(
    State(state): State<AppState>,
    User(user): User,
    Path((id, device)): Path<(String, String)>,
    Json(body): Json<NameBody>,
) -> Result<Json<Value>, ApiError> {
    let device = device_id(&device)?;
    let name = checked_name(&body.name)?;
    let installation = owned_installation(&state, &user, &id).await?;
    recorded(&state, &user, &installation.id, &device).await?;
    state
        .particle
        .rename(&device, &particle_name(&name))
        .await?;
    state
        .store
        .rename_device(&user, &installation.id, &device, &name)
        .await?;
    let record = state
        .store
        .device(&user, &installation.id, &device)
        .await?
        .ok_or_else(not_in_installation)?;
    Ok(Json(json!({
        "deviceId": record.device_id,
        "name": record.name,
        "addedAt": timestamp(record.added_at),
    })))
}

/// `DELETE /v1/installations/{id}/devices/{deviceId}` → 204: its ownership released
/// through the product API, then the record gone.
pub async fn remove_device(
    State(state): State<AppState>,
    User(user): User,
    Path((id, device)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let device = device_id(&device)?;
    let installation = owned_installation(&state, &user, &id).await?;
    recorded(&state, &user, &installation.id, &device).await?;
    // Released first: if Particle fails, the record stays and the user can try again.
    // A device no longer in the product has no owner to release.
    release_if_owned(&state, &user, &device).await?;
    state.store.forget_device(&device).await?;
    tracing::info!("device removed and released");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_checked() {
        assert_eq!(checked_name("  Hall lamp ").unwrap(), "Hall lamp");
        assert!(checked_name("   ").is_err());
        assert!(checked_name("a\u{7}b").is_err());
        assert!(checked_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(checked_name(&"é".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(
            device_id("3A0020001847333531323BCF").unwrap(),
            "3a0020001847333531323bcf"
        );
        assert!(device_id("3a00200018473335313").is_err());
        assert!(device_id("../../v1/products/1/x").is_err());
        assert!(installation_id("../x").is_err());
    }

    #[test]
    fn particle_names_are_identifiers() {
        assert_eq!(particle_name("Hall lamp (left)"), "Hall_lamp_left");
        assert_eq!(particle_name("Küche"), "K_che");
        assert_eq!(particle_name("***"), "device");
        assert_eq!(particle_name(&"x".repeat(60)).len(), 40);
    }
}
