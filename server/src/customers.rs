//! Shadow customers (cloud spec §3): one per maker user, without a password, under an
//! opaque email derived from the user id — HMAC-SHA-256 with a key every instance reads
//! from the database — so Particle never learns who the user is, and concurrent first
//! calls, on one instance or several, all name the same customer.
//!
//! Exactly one customer comes to exist because Particle keeps emails unique; the database
//! row decides which caller creates it, the others go straight to asking for a token, and
//! a creation Particle refuses (it exists) is settled by minting a token for the customer.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::auth::User;
use crate::device_key::{hex_decode, hex_encode};
use crate::error::{ApiError, ErrorCode};
use crate::particle::{CustomerCreation, IssuedToken};
use crate::store::StoreError;
use crate::AppState;

/// Settings row holding the HMAC key (hex).
const EMAIL_KEY_SETTING: &str = "customer_email_key";
/// Domain of the customers' emails: reserved, so nothing is ever mailed there.
const EMAIL_DOMAIN: &str = "customers.invalid";

/// The shadow customer's email for `user`: 32 hex digits of HMAC-SHA-256(key, user id).
pub fn customer_email(key: &[u8], user: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"softap-maker customer\0");
    mac.update(user.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("{}@{EMAIL_DOMAIN}", hex_encode(&digest[..16]))
}

/// The key naming customers: random, made by the first instance, shared through the
/// database (backing the database up keeps it).
///
/// # Errors
/// Database failures.
pub async fn email_key(state: &AppState) -> Result<Vec<u8>, StoreError> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).expect("system randomness");
    let stored = state
        .store
        .setting_or_insert(EMAIL_KEY_SETTING, &hex_encode(&fresh))
        .await?;
    hex_decode(&stored).ok_or(StoreError::Corrupt(EMAIL_KEY_SETTING))
}

/// The email of `user`'s shadow customer (whether or not it exists yet).
///
/// # Errors
/// Database failures.
pub async fn email_of(state: &AppState, user: &str) -> Result<String, StoreError> {
    if let Some(row) = state.store.customer(user).await? {
        return Ok(row.email);
    }
    Ok(customer_email(&email_key(state).await?, user))
}

/// A customer-scoped token for `user`, creating the shadow customer on first use.
///
/// # Errors
/// Database or Particle failures.
pub async fn setup_token(state: &AppState, user: &str) -> Result<IssuedToken, ApiError> {
    let lifetime = state.token_lifetime;
    let particle = &state.particle;
    let known = state.store.customer(user).await?;
    let email = match &known {
        Some(row) => row.email.clone(),
        None => customer_email(&email_key(state).await?, user),
    };
    let created = known.as_ref().is_some_and(|row| row.created_on_particle);
    // Only the call that made the row creates the customer straight away.
    let creator = match known {
        Some(_) => false,
        None => state.store.reserve_customer(user, &email).await?,
    };
    if !creator {
        if !created {
            // Another call is creating it: asking Particle for its token now would fail,
            // and Particle locks an address out after 10 failures in a row (spec §2).
            wait_for_creation(state, user).await?;
        }
        if let Some(token) = particle.customer_token(&email, lifetime).await? {
            state.store.mark_customer_created(user).await?;
            return Ok(token);
        }
        // Not on Particle (yet): the creating call has not got there, failed, or the
        // customer was deleted on Particle's side. Create it here too; Particle keeps one.
    }
    match particle.create_customer(&email).await? {
        CustomerCreation::Created => tracing::info!("created a shadow customer"),
        CustomerCreation::Refused => tracing::debug!("customer creation refused; it may exist"),
    }
    let token = particle
        .customer_token(&email, lifetime)
        .await?
        .ok_or_else(|| {
            tracing::warn!("Particle neither created the customer nor knows it");
            ApiError::new(
                ErrorCode::ParticleError,
                "The Particle API would not create this user's customer.",
            )
        })?;
    state.store.mark_customer_created(user).await?;
    Ok(token)
}

/// How long a call waits for a concurrent one to create the user's customer.
const CREATION_WAIT: Duration = Duration::from_secs(5);
/// How often it looks.
const CREATION_POLL: Duration = Duration::from_millis(50);

/// Until the row says the customer exists on Particle, or [`CREATION_WAIT`] has passed (the
/// creating call failed or its instance stopped: the caller then creates it).
async fn wait_for_creation(state: &AppState, user: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + CREATION_WAIT;
    while tokio::time::Instant::now() < deadline {
        if state
            .store
            .customer(user)
            .await?
            .is_some_and(|row| row.created_on_particle)
        {
            return Ok(());
        }
        tokio::time::sleep(CREATION_POLL).await;
    }
    Ok(())
}

/// `POST /v1/setup-token` → `{ access_token, expires_in }`, never cached.
pub async fn post_setup_token(
    State(state): State<AppState>,
    User(user): User,
) -> Result<Response, ApiError> {
    let token = setup_token(&state, &user).await?;
    let mut response = Json(json!({
        "access_token": token.access_token.expose(),
        "expires_in": token.expires_in,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::customer_email;

    #[test]
    fn emails_are_opaque_stable_and_per_key() {
        let a = customer_email(b"key one", "kim@example.com");
        assert_eq!(a, customer_email(b"key one", "kim@example.com"));
        assert_ne!(a, customer_email(b"key two", "kim@example.com"));
        assert_ne!(a, customer_email(b"key one", "lee@example.com"));
        assert!(a.ends_with("@customers.invalid"));
        assert_eq!(a.len(), 32 + "@customers.invalid".len());
        assert!(!a.contains("kim"));
        assert_eq!(a, a.to_ascii_lowercase(), "Particle lower-cases emails");
    }
}
