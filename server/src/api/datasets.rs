//! `/api/datasets`: the dataset store. Upload a file once under a name, list it, read it
//! from any notebook, replace or delete it.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::TryStreamExt;
use oxbook_protocol::{DatasetFormat, DatasetInfo};
use serde::Deserialize;

use crate::datasets::{self, content_type, format_from_name, is_valid_dataset_name};
use crate::error::{attachment, ApiJson, ApiPath, AppError};
use crate::AppState;

/// The routes; uploads are capped by [`crate::datasets::DatasetsConfig::max_upload_bytes`],
/// which the upload handler enforces itself while streaming (no whole-body limit layer).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/{name}", get(info).put(upload).delete(remove))
        .route("/{name}/data", get(data))
}

pub fn validate_dataset_name(name: &str) -> Result<(), AppError> {
    if is_valid_dataset_name(name) {
        Ok(())
    } else {
        Err(AppError::InvalidDatasetName(name.to_string()))
    }
}

async fn list(State(state): State<AppState>) -> Result<ApiJson<Vec<DatasetInfo>>, AppError> {
    Ok(ApiJson(state.store.list_datasets().await?))
}

async fn info(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<DatasetInfo>, AppError> {
    validate_dataset_name(&name)?;
    match state.store.get_dataset(&name).await? {
        Some((info, _)) => Ok(ApiJson(info)),
        None => Err(AppError::DatasetNotFound(name)),
    }
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    format: Option<String>,
}

/// The format `?format=` names, or else the one the name's extension names.
fn upload_format(name: &str, query: &UploadQuery) -> Result<DatasetFormat, AppError> {
    match &query.format {
        Some(text) => DatasetFormat::from_name(text)
            .ok_or_else(|| AppError::InvalidDatasetFormat(text.clone())),
        None => format_from_name(name).ok_or_else(|| AppError::UnknownDatasetFormat(name.into())),
    }
}

/// `PUT /api/datasets/{name}`: the raw body is the file. 201 for a new name, 200 for a
/// replacement; the body is the stored [`DatasetInfo`].
async fn upload(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, AppError> {
    validate_dataset_name(&name)?;
    let format = upload_format(&name, &query)?;
    let config = state.config.datasets.clone();
    // Refuse an announced oversize body before reading any of it.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > config.max_upload_bytes) {
        return Err(AppError::DatasetTooLarge {
            limit: config.max_upload_bytes,
        });
    }
    // Its own task: if the client goes away mid-upload the handler's future is dropped, but
    // the ingest still runs to its end and cleans up the partial upload.
    let task_name = name.clone();
    let ingest = tokio::spawn(async move {
        datasets::ingest(
            &state.store,
            &state.datasets,
            &config,
            &task_name,
            format,
            body.into_data_stream(),
        )
        .await
    });
    let (info, replaced) = ingest.await??;
    tracing::info!(
        dataset = %name,
        bytes = info.size_bytes,
        replaced,
        "stored dataset"
    );
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = format!("/api/datasets/{name}");
    Ok((status, [(header::LOCATION, location)], ApiJson(info)))
}

/// `GET /api/datasets/{name}/data`: the bytes as uploaded, streamed from the store.
async fn data(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    validate_dataset_name(&name)?;
    let Some((info, key)) = state.store.get_dataset(&name).await? else {
        return Err(AppError::DatasetNotFound(name));
    };
    let stream = match state.datasets.read(&key).await {
        Ok(stream) => stream,
        Err(datasets::IngestError::Objects(object_store::Error::NotFound { .. })) => {
            return Err(AppError::DatasetBytesMissing(name));
        }
        Err(e) => return Err(e.into()),
    };
    let body = Body::from_stream(stream.map_err(|e| {
        tracing::error!(error = %e, "reading a dataset's bytes failed mid-stream");
        std::io::Error::other(e)
    }));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(info.format)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size_bytes));
    headers.insert(header::CONTENT_DISPOSITION, attachment(&info.name));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", info.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    Ok((headers, body))
}

/// `DELETE /api/datasets/{name}`: 204. The metadata goes first, so a failure to delete
/// the bytes leaves an orphan object, never a listed dataset without bytes.
async fn remove(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    validate_dataset_name(&name)?;
    let Some(key) = state.store.delete_dataset(&name).await? else {
        return Err(AppError::DatasetNotFound(name));
    };
    if let Err(e) = state.datasets.delete(&key).await {
        tracing::warn!(error = %e, dataset = %name, key, "cannot delete a dataset's bytes");
    }
    tracing::info!(dataset = %name, "deleted dataset");
    Ok(StatusCode::NO_CONTENT)
}
