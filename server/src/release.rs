//! A device another customer owns — sold on, given away, set up before (cloud spec §13.8):
//! Particle does not say whether a claim code takes it over, so the setup reports it and the
//! page asks this server to release it. The maker's policy decides the answer.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::User;
use crate::customers;
use crate::error::{ApiError, ErrorCode};
use crate::installations::device_id;
use crate::AppState;

/// What a release request for another customer's device gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleasePolicy {
    /// Never: the customer asks the previous owner to remove it from their installation
    /// (which releases it), or the maker's support.
    Refuse,
    /// Always: holding the device is owning it, as Particle decided for the Photon.
    Release,
    /// Only when no user of this server has it in an installation (it was set up some
    /// other way, or its previous owner's records are gone).
    Unrecorded,
}

impl FromStr for ReleasePolicy {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text.trim().to_ascii_lowercase().as_str() {
            "refuse" => Ok(Self::Refuse),
            "release" => Ok(Self::Release),
            "unrecorded" => Ok(Self::Unrecorded),
            _ => Err(()),
        }
    }
}

impl ReleasePolicy {
    fn name(self) -> &'static str {
        match self {
            Self::Refuse => "refuse",
            Self::Release => "release",
            Self::Unrecorded => "unrecorded",
        }
    }
}

/// `POST /v1/devices/{deviceId}/release` → `{ deviceId, status }` where status is
/// `released` (it was another customer's: set it up again now), `unowned` (nobody owns
/// it: set it up again) or `yours` (it is already this user's); 403 `release-refused`
/// when the policy keeps it with its owner.
pub async fn post_release(
    State(state): State<AppState>,
    User(user): User,
    Path(device): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let device = device_id(&device)?;
    let Some(found) = state.particle.product_device(&device).await? else {
        return Err(ApiError::new(
            ErrorCode::DeviceNotFound,
            "This device is not one of the product's devices.",
        ));
    };
    let email = customers::email_of(&state, &user).await?;
    let status = match found.owner.as_deref() {
        None => "unowned",
        Some(owner) if owner.eq_ignore_ascii_case(&email) => "yours",
        Some(_) => {
            let allowed = match state.release_policy {
                ReleasePolicy::Refuse => false,
                ReleasePolicy::Release => true,
                ReleasePolicy::Unrecorded => {
                    !state.store.recorded_by_another_user(&user, &device).await?
                }
            };
            if !allowed {
                tracing::info!(policy = state.release_policy.name(), "release refused");
                return Err(ApiError::new(
                    ErrorCode::ReleaseRefused,
                    "This device belongs to another account. Its owner can remove it from their \
                     installation, or the maker's support can release it.",
                ));
            }
            if !state.particle.release_owner(&device).await? {
                return Err(ApiError::new(
                    ErrorCode::DeviceNotFound,
                    "This device is not one of the product's devices.",
                ));
            }
            // The previous owner no longer has it: their record goes too.
            state.store.forget_device(&device).await?;
            tracing::info!(
                policy = state.release_policy.name(),
                "released another customer's device"
            );
            "released"
        }
    };
    Ok(Json(json!({ "deviceId": device, "status": status })))
}

#[cfg(test)]
mod tests {
    use super::ReleasePolicy;

    #[test]
    fn policies_parse() {
        assert_eq!("Release".parse(), Ok(ReleasePolicy::Release));
        assert_eq!(" refuse".parse(), Ok(ReleasePolicy::Refuse));
        assert_eq!("unrecorded".parse(), Ok(ReleasePolicy::Unrecorded));
        assert_eq!("maybe".parse::<ReleasePolicy>(), Err(()));
    }
}
