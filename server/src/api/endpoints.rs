//! `/api/endpoints`: named prediction endpoints, each serving one model version.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use oxbook_protocol::{EndpointInfo, EndpointSpec};

use crate::api::models;
use crate::error::{validate_name, ApiJson, ApiPath, AppError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/{name}", get(fetch).put(upsert).delete(remove))
}

async fn list(State(state): State<AppState>) -> Result<ApiJson<Vec<EndpointInfo>>, AppError> {
    Ok(ApiJson(state.store.list_endpoints().await?))
}

async fn fetch(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<EndpointInfo>, AppError> {
    validate_name("endpoint", &name)?;
    match state.store.get_endpoint(&name).await? {
        Some(info) => Ok(ApiJson(info)),
        None => Err(AppError::EndpointNotFound(name)),
    }
}

/// Creates the endpoint (201) or repoints it (200) at the spec's model version, the
/// newest one when the spec names none.
async fn upsert(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(spec): ApiJson<EndpointSpec>,
) -> Result<impl IntoResponse, AppError> {
    validate_name("endpoint", &name)?;
    validate_name("model", &spec.model)?;
    let Some(model) = models::resolve(&state, &spec.model, spec.version).await? else {
        return Err(AppError::UnknownEndpointModel(match spec.version {
            Some(version) => {
                format!(
                    "model `{}` version {version}: the registry has no such version",
                    spec.model
                )
            }
            None => format!(
                "model `{}`: the registry has no model by that name",
                spec.model
            ),
        }));
    };
    let (info, created) = state.store.upsert_endpoint(&name, &model).await?;
    tracing::info!(endpoint = %name, model = %model.name, version = model.version, "endpoint set");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/endpoints/{name}");
    Ok((status, [(header::LOCATION, location)], ApiJson(info)))
}

async fn remove(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    validate_name("endpoint", &name)?;
    if state.store.delete_endpoint(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::EndpointNotFound(name))
    }
}
