//! `/api/models`: the model registry. Each upload under a name is a new immutable version.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::{ModelId, ModelSummary};
use sha2::{Digest, Sha256};

use crate::error::{attachment, validate_name, ApiJson, ApiPath, AppError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_all))
        .route("/{name}", get(list_versions).post(upload))
        .route("/{name}/versions/{version}", get(version))
        .route("/{name}/versions/{version}/artifact", get(artifact))
}

/// Hex sha256 of `bytes`, as [`ModelId::sha256`] holds it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn list_all(State(state): State<AppState>) -> Result<ApiJson<Vec<ModelSummary>>, AppError> {
    Ok(ApiJson(state.store.list_models(None).await?))
}

async fn list_versions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<Vec<ModelSummary>>, AppError> {
    validate_name("model", &name)?;
    let versions = state.store.list_models(Some(&name)).await?;
    if versions.is_empty() {
        return Err(AppError::ModelNotFound(name));
    }
    Ok(ApiJson(versions))
}

async fn upload(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    validate_name("model", &name)?;
    let body = body?;
    // Parsing and hashing a large artifact is CPU work; keep it off the async workers.
    let (parsed, sha256, body) = tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&body)
            .map_err(|e| AppError::InvalidArtifact(format!("the body is not UTF-8 text: {e}")))?;
        let parsed =
            ModelArtifact::from_json(text).map_err(|e| AppError::InvalidArtifact(e.to_string()))?;
        let sha256 = sha256_hex(&body);
        Ok::<_, AppError>((parsed, sha256, body))
    })
    .await??;
    let summary = state
        .store
        .insert_model(
            &name,
            &body,
            &sha256,
            parsed.algorithm_name(),
            &parsed.input_names(),
        )
        .await?;
    // The model is likely to be deployed next; keep the parse.
    state.artifacts.insert(&sha256, Arc::new(parsed));
    tracing::info!(model = %name, version = summary.id.version, "stored model");
    let location = format!("/api/models/{name}/versions/{}", summary.id.version);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(summary.id),
    ))
}

async fn version(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, u32)>,
) -> Result<ApiJson<ModelSummary>, AppError> {
    validate_name("model", &name)?;
    match state.store.get_model(&name, Some(version)).await? {
        Some(summary) => Ok(ApiJson(summary)),
        None => Err(missing_version(&state, name, version).await?),
    }
}

/// The artifact of a version, or of the newest version for `latest` (as a notebook's
/// `load_model(name)` asks).
async fn artifact(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<impl IntoResponse, AppError> {
    validate_name("model", &name)?;
    let version = match version.as_str() {
        "latest" => match state.store.get_model(&name, None).await? {
            Some(summary) => summary.id.version,
            None => return Err(AppError::ModelNotFound(name)),
        },
        number => number
            .parse::<u32>()
            .map_err(|_| AppError::InvalidModelVersion(number.to_string()))?,
    };
    let Some(bytes) = state.store.model_artifact(&name, version).await? else {
        return Err(missing_version(&state, name, version).await?);
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            "application/json".parse().expect("a valid header value"),
        ),
        (
            header::CONTENT_DISPOSITION,
            attachment(&format!("{name}-v{version}.model.json")),
        ),
    ];
    Ok((headers, bytes))
}

/// The right 404 for a missing version: whether the model is unknown altogether or only
/// that version is.
async fn missing_version(
    state: &AppState,
    name: String,
    version: u32,
) -> Result<AppError, AppError> {
    Ok(if state.store.get_model(&name, None).await?.is_some() {
        AppError::ModelVersionNotFound { name, version }
    } else {
        AppError::ModelNotFound(name)
    })
}

/// Identity of a model version, for other routes.
pub async fn resolve(
    state: &AppState,
    name: &str,
    version: Option<u32>,
) -> Result<Option<ModelId>, AppError> {
    Ok(state
        .store
        .get_model(name, version)
        .await?
        .map(|summary| summary.id))
}
