//! `POST /endpoints/{name}/invocations`: predictions in MLflow's `dataframe_records` form,
//! computed by the native kernel.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::{InvocationRequest, InvocationResponse, ModelId};

use crate::api::with_body_limit;
use crate::error::{validate_name, ApiJson, ApiPath, AppError};
use crate::AppState;

/// Routes under `/endpoints`. No fallback of its own: other paths there belong to the page.
pub fn router(limit: usize) -> Router<AppState> {
    with_body_limit(
        Router::new().route("/{name}/invocations", post(invoke)),
        limit,
    )
}

async fn invoke(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<InvocationRequest>,
) -> Result<ApiJson<InvocationResponse>, AppError> {
    validate_name("endpoint", &name)?;
    let Some(endpoint) = state.store.get_endpoint(&name).await? else {
        return Err(AppError::EndpointNotFound(name));
    };
    if request.dataframe_records.is_empty() {
        return Err(AppError::EmptyRecords);
    }
    let artifact = load_artifact(&state, &endpoint.model).await?;
    // Prediction is CPU-bound and may take a while on many rows. A user's own algorithm
    // runs here too, in the kernel's Rhai runner under the cells' limits: a script that
    // fails or loops ends as a `PredictError` (its operation limit), never a panic or hang.
    let response =
        tokio::task::spawn_blocking(move || artifact.predict_records(&request.dataframe_records))
            .await?
            .map_err(|e| AppError::Prediction(e.to_string()))?;
    Ok(ApiJson(response))
}

/// The parsed artifact of `model`, from the cache or else from the registry.
async fn load_artifact(state: &AppState, model: &ModelId) -> Result<Arc<ModelArtifact>, AppError> {
    if let Some(artifact) = state.artifacts.get(&model.sha256) {
        return Ok(artifact);
    }
    let Some(bytes) = state
        .store
        .model_artifact(&model.name, model.version)
        .await?
    else {
        return Err(AppError::ModelVersionNotFound {
            name: model.name.clone(),
            version: model.version,
        });
    };
    let unloadable = |message: String| AppError::UnloadableArtifact {
        name: model.name.clone(),
        version: model.version,
        message,
    };
    let parsed = tokio::task::spawn_blocking(move || {
        let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        ModelArtifact::from_json(&text).map_err(|e| e.to_string())
    })
    .await?
    .map_err(unloadable)?;
    let parsed = Arc::new(parsed);
    state.artifacts.insert(&model.sha256, parsed.clone());
    Ok(parsed)
}
