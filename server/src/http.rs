//! The router and the layers around it: tracing without headers, CORS for the maker's
//! origins, a body limit, a timeout, and every error as JSON.

use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ErrorCode};
use crate::{customers, installations, keys, release, AppState};

/// Largest request body: names and ids, nothing more.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Whole-request deadline (Particle calls give up after 15 s each).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API.
pub fn router(state: AppState, allowed_origins: &[String]) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/setup-token", post(customers::post_setup_token))
        .route("/v1/device-key", get(keys::get_device_key))
        .route(
            "/v1/installations",
            get(installations::list).post(installations::create),
        )
        .route(
            "/v1/installations/{id}",
            get(installations::show)
                .patch(installations::rename)
                .delete(installations::delete),
        )
        .route(
            "/v1/installations/{id}/devices",
            post(installations::add_device),
        )
        .route(
            "/v1/installations/{id}/devices/{device_id}",
            patch(installations::rename_device).delete(installations::remove_device),
        )
        .route(
            "/v1/devices/{device_id}/release",
            post(release::post_release),
        )
        .fallback(|| async { ApiError::from_code(ErrorCode::NotFound) })
        .with_state(state);
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    // The extractors' limit, and tower-http's for any body at all (announced or streamed).
    api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
}

/// `GET /healthz`: the database answers.
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(_) => (StatusCode::OK, Json(json!({"ok": true}))).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// Rewrites an error that some layer or extractor answered as text (a malformed body, a
/// wrong method, the timeout) into the API's JSON error with a code for its status.
async fn json_errors(request: Request<Body>, next: Next) -> Response<Body> {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let mut error = ApiError::from_code(ErrorCode::for_status(status)).into_response();
    // The status stays as the layer meant it (405 stays 405, 422 stays 422).
    *error.status_mut() = status;
    for name in [axum::http::header::ALLOW, axum::http::header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            error.headers_mut().insert(name, value.clone());
        }
    }
    error
}
