//! The API's errors: `{ "error": { "code", "message" } }` with a stable code, 4xx for the
//! caller's mistakes, 502 when Particle fails. Messages are written here, never copied from
//! an underlying error, so no secret, query or stack trace can leak through them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::particle::ParticleError;
use crate::store::StoreError;

/// Every code the API answers with. The strings are the contract: never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No `Authorization: Bearer` session token.
    MissingToken,
    /// The session token is malformed, wrongly signed or lacks a claim.
    InvalidToken,
    /// The session token has expired.
    TokenExpired,
    /// Too many requests from this user.
    RateLimited,
    /// The body is not the JSON expected.
    InvalidJson,
    /// The body is too large.
    BodyTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// A name is empty, too long or has control characters.
    InvalidName,
    /// A device id is not 24 hex digits.
    InvalidDeviceId,
    /// `device=` is missing or malformed.
    InvalidDeviceQuery,
    /// No such route.
    NotFound,
    /// The route exists, not with this method.
    MethodNotAllowed,
    /// No such installation of this user.
    InstallationNotFound,
    /// The device is unknown (to the records, the installation or the product).
    DeviceNotFound,
    /// An access-point name matches several recorded devices.
    DeviceNameAmbiguous,
    /// Nobody owns the device yet: its setup has not reached the cloud.
    DeviceNotClaimed,
    /// Another customer owns the device.
    DeviceOwnedByAnotherCustomer,
    /// A device was added to the installation while it was being deleted.
    InstallationChanged,
    /// The maker's policy does not release another customer's device.
    ReleaseRefused,
    /// The Particle API could not be reached or timed out.
    ParticleUnreachable,
    /// The Particle API answered with an error.
    ParticleError,
    /// The Particle API refused the product's OAuth client (configuration).
    ParticleClientRejected,
    /// The request took too long.
    Timeout,
    /// Something failed on this side (details in the server's log).
    Internal,
}

impl ErrorCode {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing-token",
            Self::InvalidToken => "invalid-token",
            Self::TokenExpired => "token-expired",
            Self::RateLimited => "rate-limited",
            Self::InvalidJson => "invalid-json",
            Self::BodyTooLarge => "body-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::InvalidName => "invalid-name",
            Self::InvalidDeviceId => "invalid-device-id",
            Self::InvalidDeviceQuery => "invalid-device-query",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::InstallationNotFound => "installation-not-found",
            Self::DeviceNotFound => "device-not-found",
            Self::DeviceNameAmbiguous => "device-name-ambiguous",
            Self::DeviceNotClaimed => "device-not-claimed",
            Self::DeviceOwnedByAnotherCustomer => "device-owned-by-another-customer",
            Self::InstallationChanged => "installation-changed",
            Self::ReleaseRefused => "release-refused",
            Self::ParticleUnreachable => "particle-unreachable",
            Self::ParticleError => "particle-error",
            Self::ParticleClientRejected => "particle-client-rejected",
            Self::Timeout => "timeout",
            Self::Internal => "internal-error",
        }
    }

    /// The HTTP status that goes with it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken | Self::TokenExpired => {
                StatusCode::UNAUTHORIZED
            }
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::InvalidJson
            | Self::InvalidName
            | Self::InvalidDeviceId
            | Self::InvalidDeviceQuery => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound | Self::InstallationNotFound | Self::DeviceNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::DeviceNameAmbiguous
            | Self::DeviceNotClaimed
            | Self::DeviceOwnedByAnotherCustomer
            | Self::InstallationChanged => StatusCode::CONFLICT,
            Self::ReleaseRefused => StatusCode::FORBIDDEN,
            Self::ParticleUnreachable | Self::ParticleError | Self::ParticleClientRejected => {
                StatusCode::BAD_GATEWAY
            }
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code for a status some layer answered with on its own.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::InvalidToken,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::BodyTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            s if s.is_client_error() => Self::InvalidJson,
            _ => Self::Internal,
        }
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The code.
    pub code: ErrorCode,
    /// A human-readable message (English), written by this server.
    pub message: String,
    /// Seconds until a rate-limited caller may try again.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with its message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The generic message for a code (layers that answer on their own).
    pub fn from_code(code: ErrorCode) -> Self {
        let message = match code {
            ErrorCode::NotFound => "No such endpoint.",
            ErrorCode::MethodNotAllowed => "This endpoint does not take that method.",
            ErrorCode::BodyTooLarge => "The request body is too large.",
            ErrorCode::UnsupportedMediaType => "Send the body as application/json.",
            ErrorCode::InvalidJson => "The request body is not the JSON this endpoint expects.",
            ErrorCode::Timeout => "The request took too long.",
            ErrorCode::RateLimited => "Too many requests; try again shortly.",
            ErrorCode::InvalidToken => "The session token is not valid.",
            _ => "Something went wrong on the server.",
        };
        Self::new(code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code.as_str(), "message": self.message}});
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.code.status() == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ParticleError> for ApiError {
    fn from(error: ParticleError) -> Self {
        tracing::warn!(%error, "Particle API call failed");
        match error {
            ParticleError::Unreachable(_) => Self::new(
                ErrorCode::ParticleUnreachable,
                "The Particle API could not be reached.",
            ),
            ParticleError::ClientRejected => Self::new(
                ErrorCode::ParticleClientRejected,
                "The Particle API refused this server's OAuth client.",
            ),
            ParticleError::Status { status, .. } => Self::new(
                ErrorCode::ParticleError,
                format!("The Particle API answered with HTTP {status}."),
            ),
            ParticleError::InvalidResponse(_) => Self::new(
                ErrorCode::ParticleError,
                "The Particle API gave an answer this server cannot read.",
            ),
            ParticleError::Client(_) => {
                Self::new(ErrorCode::Internal, "Something went wrong on the server.")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "database");
        Self::from_code(ErrorCode::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_statuses() {
        assert_eq!(
            ErrorCode::ParticleUnreachable.status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            ErrorCode::DeviceOwnedByAnotherCustomer.as_str(),
            "device-owned-by-another-customer"
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::BodyTooLarge
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorCode::InvalidJson
        );
    }
}
