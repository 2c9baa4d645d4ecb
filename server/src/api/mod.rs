//! The JSON API: `/api/notebooks`, `/api/models`, `/api/endpoints`, `/api/datasets`,
//! `/api/runs`, `/api/fetch`, and the prediction route `/endpoints/{name}/invocations`.

pub mod datasets;
pub mod endpoints;
pub mod fetch;
pub mod invocations;
pub mod models;
pub mod notebooks;
pub mod runs;

use axum::extract::DefaultBodyLimit;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::middleware::map_response_with_state;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::{error_response, json_errors, ApiJson};
use crate::{AppState, BodyLimits};

/// Everything under `/api`.
pub fn router(limits: &BodyLimits) -> Router<AppState> {
    Router::new()
        .nest(
            "/notebooks",
            with_body_limit(notebooks::router(), limits.default),
        )
        .nest(
            "/models",
            with_body_limit(models::router(), limits.model_upload),
        )
        .nest(
            "/endpoints",
            with_body_limit(endpoints::router(), limits.default),
        )
        // The upload handler streams the body to the store and enforces the dataset limit
        // itself, so no whole-body limit applies here.
        .nest(
            "/datasets",
            datasets::router().layer(DefaultBodyLimit::disable()),
        )
        .nest("/runs", with_body_limit(runs::router(), limits.default))
        .route("/fetch", get(fetch::fetch))
        // Unknown API paths answer JSON, never the page's index.html.
        .fallback(not_found)
        .layer(map_response_with_state(None, json_errors))
}

/// `GET /ping`, for health checks.
pub fn ping_router() -> Router<AppState> {
    Router::new()
        .route("/ping", get(ping))
        .layer(map_response_with_state(None, json_errors))
}

async fn ping() -> ApiJson<serde_json::Value> {
    ApiJson(serde_json::json!({ "status": "ok" }))
}

/// Caps the request body of every route in `router` at `limit` bytes.
///
/// tower-http's layer enforces it for every request however its body is read (and refuses
/// an over-long `Content-Length` before reading anything); axum's own 2 MB default is
/// disabled so the two limits do not fight. Over-limit answers become JSON naming the limit.
pub(crate) fn with_body_limit(router: Router<AppState>, limit: usize) -> Router<AppState> {
    router
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(map_response_with_state(Some(limit), json_errors))
}

async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no API route for {method} {}", uri.path()),
    )
}
