//! The one error type of the HTTP API, its mapping to statuses and `{"error": "..."}`
//! bodies, and the extractors that route malformed input through it.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oxbook_protocol::ErrorBody;
use serde::Serialize;

use crate::datasets::IngestError;
use crate::fetch::FetchError;
use crate::store::StoreError;

/// Longest stretch of client-supplied text echoed back in an error message.
const ECHO_LIMIT: usize = 80;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON, or not JSON of the expected shape, or has the wrong content type.
    #[error("{}", .0.body_text())]
    Json(#[from] JsonRejection),
    /// A path parameter does not parse (e.g. a version that is not a number).
    #[error("{}", .0.body_text())]
    Path(#[from] PathRejection),
    /// The body could not be read (too large, or the connection broke).
    #[error("{}", .0.body_text())]
    Body(#[from] BytesRejection),
    /// The query string does not parse (an unknown parameter, a limit that is not a number).
    #[error("{}", .0.body_text())]
    Query(#[from] QueryRejection),

    #[error("no notebook with id `{}`", echo(.0))]
    NotebookNotFound(String),
    #[error(
        "revision conflict: notebook `{id}` is at revision {stored} but this save is based on \
         revision {given}; reload the notebook and apply the changes again"
    )]
    RevisionConflict { id: String, stored: u64, given: u64 },
    /// A notebook document that parses but breaks a rule (schema version, ids).
    #[error("invalid notebook: {0}")]
    InvalidNotebook(String),

    #[error(
        "invalid {kind} name `{}`: a name is 1 to 64 characters, each a lowercase letter a-z, \
         a digit 0-9, `-` or `_`",
        echo(name)
    )]
    InvalidName { kind: &'static str, name: String },
    #[error("no model named `{0}`")]
    ModelNotFound(String),
    #[error("model `{name}` has no version {version}")]
    ModelVersionNotFound { name: String, version: u32 },
    #[error("`{}` is not a model version: use a whole number from 1, or `latest`", echo(.0))]
    InvalidModelVersion(String),
    /// An endpoint spec names a model (version) that the registry does not hold.
    #[error("cannot point the endpoint at {0}")]
    UnknownEndpointModel(String),
    #[error("no endpoint named `{0}`")]
    EndpointNotFound(String),
    /// An uploaded artifact the kernel refuses; the message is the kernel's.
    #[error("invalid model artifact: {0}")]
    InvalidArtifact(String),
    /// A stored artifact that this server's kernel can no longer read.
    #[error("the stored artifact of model `{name}` version {version} cannot be loaded: {message}")]
    UnloadableArtifact {
        name: String,
        version: u32,
        message: String,
    },
    /// Rows the model cannot predict on; the message is the kernel's and names row and column.
    #[error("{0}")]
    Prediction(String),
    #[error("dataframe_records is empty: send at least one row to predict on")]
    EmptyRecords,

    #[error(
        "invalid dataset name `{}`: a name is {} (e.g. `hats.csv`)",
        echo(.0),
        oxbook_protocol::DATASET_NAME_RULE
    )]
    InvalidDatasetName(String),
    #[error("no dataset named `{0}`")]
    DatasetNotFound(String),
    #[error(
        "cannot tell the format of dataset `{0}`: end its name with .csv, .tsv, .json, \
         .jsonl or .parquet, or add ?format=csv|tsv|json|jsonl|parquet"
    )]
    UnknownDatasetFormat(String),
    #[error("unknown dataset format `{}`: expected csv, tsv, json, jsonl or parquet", echo(.0))]
    InvalidDatasetFormat(String),
    #[error("request body is too large: datasets may be at most {}", limit_text(*.limit))]
    DatasetTooLarge { limit: u64 },
    /// The upload's body broke off before its end.
    #[error("the upload broke off before its end: {0}")]
    UploadBody(String),
    /// The metadata names bytes the object store does not have.
    #[error("the bytes of dataset `{0}` are missing from the dataset store")]
    DatasetBytesMissing(String),
    /// The object store (local folder or bucket) failed.
    #[error("dataset store error: {0}")]
    Objects(#[from] object_store::Error),
    #[error(
        "invalid run id `{}`: a run id is {}",
        echo(.0),
        oxbook_protocol::RUN_ID_RULE
    )]
    InvalidRunId(String),
    /// A run that parses but breaks a rule (a non-finite metric, an id differing from the path).
    #[error("invalid run: {0}")]
    InvalidRun(String),
    #[error("no run with id `{0}`")]
    RunNotFound(String),
    #[error(
        "run `{id}` is already recorded with a different {}; a run id names one run, so \
         record a different run under a new id",
        .fields.join(", ")
    )]
    RunConflict {
        id: String,
        fields: Vec<&'static str>,
    },
    /// A query parameter of `GET /api/runs` that parses but has no meaning.
    #[error("{0}")]
    InvalidRunQuery(String),
    #[error("missing query parameter `url`: call /api/fetch?url=https://...")]
    FetchNoUrl,
    #[error("`{}` is not a valid URL: {reason}", echo(.url))]
    FetchInvalidUrl { url: String, reason: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),

    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<IngestError> for AppError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::TooLarge { limit } => AppError::DatasetTooLarge { limit },
            IngestError::Body(message) => AppError::UploadBody(message),
            IngestError::Objects(e) => AppError::Objects(e),
            IngestError::Store(e) => AppError::Store(e),
            IngestError::Task(e) => AppError::Task(e),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Json(rejection) => rejection.status(),
            // A parameter that does not parse (a version `abc`) is a 400 in axum; kept.
            AppError::Path(rejection) => rejection.status(),
            AppError::Body(rejection) => rejection.status(),
            AppError::Query(rejection) => rejection.status(),
            AppError::RunNotFound(_) => StatusCode::NOT_FOUND,
            AppError::RunConflict { .. } => StatusCode::CONFLICT,
            // As axum answers a version that does not parse elsewhere.
            AppError::InvalidModelVersion(_) => StatusCode::BAD_REQUEST,
            AppError::InvalidRunId(_) | AppError::InvalidRun(_) | AppError::InvalidRunQuery(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::NotebookNotFound(_)
            | AppError::ModelNotFound(_)
            | AppError::ModelVersionNotFound { .. }
            | AppError::EndpointNotFound(_) => StatusCode::NOT_FOUND,
            AppError::RevisionConflict { .. } => StatusCode::CONFLICT,
            AppError::DatasetNotFound(_) => StatusCode::NOT_FOUND,
            AppError::DatasetTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UploadBody(_) => StatusCode::BAD_REQUEST,
            AppError::InvalidDatasetName(_)
            | AppError::UnknownDatasetFormat(_)
            | AppError::InvalidDatasetFormat(_)
            | AppError::FetchNoUrl
            | AppError::FetchInvalidUrl { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Fetch(error) => match error {
                FetchError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                FetchError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                FetchError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                FetchError::TooManyRedirects { .. }
                | FetchError::Upstream { .. }
                | FetchError::Connect { .. } => StatusCode::BAD_GATEWAY,
            },
            AppError::DatasetBytesMissing(_) | AppError::Objects(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AppError::InvalidNotebook(_)
            | AppError::InvalidName { .. }
            | AppError::UnknownEndpointModel(_)
            | AppError::InvalidArtifact(_)
            | AppError::Prediction(_)
            | AppError::EmptyRecords => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnloadableArtifact { .. } | AppError::Store(_) | AppError::Task(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            // Database and task failures are about the server, not the request: the details
            // go to the log, the client learns only that it was not their fault.
            AppError::Store(_) | AppError::Task(_) | AppError::Objects(_) => {
                tracing::error!(error = %self, "request failed inside the server");
                "internal server error; the details are in the server's log".to_string()
            }
            _ => {
                if status.is_server_error() {
                    tracing::error!(error = %self, "request failed inside the server");
                }
                self.to_string()
            }
        };
        error_response(status, message)
    }
}

/// A response with `status` and the JSON body `{"error": message}`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(ErrorBody {
            error: message.into(),
        }),
    )
        .into_response()
}

/// Client text cut to a length that is safe to echo in a message.
fn echo(text: &str) -> String {
    if text.chars().count() <= ECHO_LIMIT {
        text.to_string()
    } else {
        let cut: String = text.chars().take(ECHO_LIMIT).collect();
        format!("{cut}…")
    }
}

/// `axum::Json`, but rejections become [`AppError`]s, so malformed and mistyped bodies are
/// answered with 400/415/422 and a JSON error body.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, with rejections as [`AppError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path`, with rejections as [`AppError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Names of models and endpoints: 1 to 64 characters of `[a-z0-9-_]`, so they are safe in
/// URLs, file names and headers without escaping.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), AppError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(AppError::InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

/// Whether `name` follows the rule of [`validate_name`].
pub fn is_valid_name(name: &str) -> bool {
    oxbook_protocol::is_valid_registry_name(name)
}

/// Response mapper for API routes: any error response that is not already JSON (axum's
/// own 405s and plain-text rejections, tower-http's 413) gets a JSON error body, so every
/// API error has the same shape. A 413 names the route's limit, which `limit` carries.
pub async fn json_errors(State(limit): State<Option<usize>>, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // The layer that knows the route's limit rewrites every 413 (tower-http's plain one and
    // the extractors' JSON one alike) to name it; outer layers keep that message.
    if let (StatusCode::PAYLOAD_TOO_LARGE, Some(limit)) = (status, limit) {
        let message = format!(
            "request body is too large: this route accepts at most {}",
            limit_text(u64::try_from(limit).unwrap_or(u64::MAX))
        );
        return error_response(status, message);
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = match status {
        // axum adds the Allow header after this layer runs, so the list cannot be quoted.
        StatusCode::METHOD_NOT_ALLOWED => {
            "method not allowed on this path; the Allow header lists the methods it takes"
                .to_string()
        }
        // Plain-text client errors are axum's rejections, about the request; a server error's text
        // could be about the server, so it is not echoed.
        _ if status.is_client_error() && !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    error_response(status, message)
}

/// A byte limit for a message: `32 MiB (33554432 bytes)`, or `1000 bytes` when there is
/// no rounder way to say it.
fn limit_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB ({bytes} bytes)", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB ({bytes} bytes)", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The value of a `Content-Disposition` header offering `file_name` as a download.
/// `file_name` must be header-safe (validated names are).
pub fn attachment(file_name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
