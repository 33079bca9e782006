//! The maker's session tokens: JWTs from the maker's own login, `sub` = the user id, `exp`
//! required; HS256 with a shared secret or RS256 with the maker's public key. This server
//! never sees a password.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{JwtConfig, JwtKey};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// Longest session token read from a header.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest user id (`sub`) accepted.
pub const MAX_USER_ID: usize = 255;

/// The session key is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not an RSA public key in PEM.
    #[error("MAKER_JWT_PUBLIC_KEY is not an RSA public key in PEM")]
    NotRsaPem,
    /// `dev-token` needs the HS256 secret.
    #[error("dev-token needs MAKER_JWT_SECRET (HS256)")]
    NoSecret,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
    /// The secret cannot be used as a key.
    #[error("MAKER_JWT_SECRET cannot be used as a key")]
    Unusable,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// Verifies session tokens.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    /// A verifier for the configured key.
    ///
    /// # Errors
    /// [`KeyError::NotRsaPem`] for an unusable RS256 key.
    pub fn new(config: &JwtConfig) -> Result<Self, KeyError> {
        let (key, algorithm) = match &config.key {
            JwtKey::Hs256(secret) => (
                DecodingKey::from_secret(secret.expose().as_bytes())
                    .map_err(|_| KeyError::Unusable)?,
                Algorithm::HS256,
            ),
            JwtKey::Rs256(pem) => (
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::NotRsaPem)?,
                Algorithm::RS256,
            ),
        };
        // Only the configured algorithm: a token cannot choose HS256 with the public key.
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        match &config.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        Ok(Self { key, validation })
    }

    /// The user id of a valid token.
    ///
    /// # Errors
    /// `token-expired`, or `invalid-token` for anything else wrong.
    pub fn verify(&self, token: &str) -> Result<String, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::new(ErrorCode::TokenExpired, "The session token has expired.")
                }
                _ => ApiError::new(ErrorCode::InvalidToken, "The session token is not valid."),
            },
        )?;
        let user = data.claims.sub;
        if user.is_empty() || user.len() > MAX_USER_ID || user.chars().any(char::is_control) {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "The session token's subject is not a usable user id.",
            ));
        }
        Ok(user)
    }
}

/// A session token for `user`, valid for `lifetime`, signed with the HS256 secret: what
/// `softap-maker dev-token` prints for the demo and tests.
///
/// # Errors
/// [`KeyError::NoSecret`] when the key is RS256 (this server has no private key).
pub fn dev_token(config: &JwtConfig, user: &str, lifetime: Duration) -> Result<String, KeyError> {
    let JwtKey::Hs256(secret) = &config.key else {
        return Err(KeyError::NoSecret);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let claims = Claims {
        sub: user.to_owned(),
        exp: (now + lifetime).as_secs(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()).map_err(|_| KeyError::Unusable)?,
    )
    .map_err(|_| KeyError::Signing)
}

/// The authenticated caller: a verified session token's user id, within the rate limit.
pub struct User(pub String);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let missing = || {
            ApiError::new(
                ErrorCode::MissingToken,
                "Send the maker's session as Authorization: Bearer <token>.",
            )
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
        if header.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "The session token is not valid.",
            ));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(missing)?;
        let user = state.verifier.verify(token)?;
        state.limiter.check(&user)?;
        Ok(Self(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn hs256(secret: &str) -> JwtConfig {
        JwtConfig {
            key: JwtKey::Hs256(Secret::new(secret)),
            issuer: None,
            audience: None,
        }
    }

    #[test]
    fn dev_tokens_verify_and_other_secrets_do_not() {
        let config = hs256("a-session-secret-of-at-least-32-bytes");
        let token = dev_token(&config, "user-7", Duration::from_secs(600)).unwrap();
        assert_eq!(
            Verifier::new(&config).unwrap().verify(&token).unwrap(),
            "user-7"
        );
        let other = Verifier::new(&hs256("another-session-secret-of-32-bytes!!")).unwrap();
        assert_eq!(
            other.verify(&token).unwrap_err().code,
            ErrorCode::InvalidToken
        );
        assert_eq!(
            Verifier::new(&config)
                .unwrap()
                .verify("not.a.jwt")
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
    }

    #[test]
    fn a_required_issuer_is_checked() {
        let mut config = hs256("a-session-secret-of-at-least-32-bytes");
        let token = dev_token(&config, "user-7", Duration::from_secs(600)).unwrap();
        config.issuer = Some("https://login.lumen.example".into());
        assert_eq!(
            Verifier::new(&config)
                .unwrap()
                .verify(&token)
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
    }
}
