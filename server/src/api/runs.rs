//! `/api/runs`: experiment runs. Hosts record each fit and cross-validation a kernel did
//! (`PUT /api/runs/{id}`, idempotent); the page lists, filters, sorts and compares them.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use oxbook_protocol::{is_valid_run_id, RunKind, RunRecord};
use serde::Deserialize;

use crate::error::{ApiJson, ApiPath, ApiQuery, AppError};
use crate::store::{RecordOutcome, RunFilter};
use crate::AppState;

/// Runs listed when the query names no `limit`.
pub const DEFAULT_LIST_LIMIT: u32 = 500;
/// The most runs one listing returns; a larger `limit` is cut to this.
pub const MAX_LIST_LIMIT: u32 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/{id}", get(fetch).put(record).delete(remove))
}

pub fn validate_run_id(id: &str) -> Result<(), AppError> {
    if is_valid_run_id(id) {
        Ok(())
    } else {
        Err(AppError::InvalidRunId(id.to_string()))
    }
}

/// The rules a recorded run keeps beyond its JSON shape. JSON cannot carry NaN or
/// infinities, but a metric can still be out of range for what the page shows, and the
/// kernel promises finite values, so anything else is a bug worth refusing loudly.
pub fn check_run(run: &RunRecord) -> Result<(), String> {
    let spec = &run.spec;
    if spec.algorithm.trim().is_empty() {
        return Err("`algorithm` is empty".into());
    }
    if !spec.settings.is_object() {
        return Err(format!(
            "`settings` must be a JSON object of setting names to values, not {}",
            json_kind(&spec.settings)
        ));
    }
    if let Some(dataset) = &spec.dataset {
        if dataset.name.is_empty() {
            return Err("`dataset.name` is empty".into());
        }
        let is_hex = dataset.sha256.len() == 64
            && dataset
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hex {
            return Err(format!(
                "`dataset.sha256` of dataset `{}` must be 64 lowercase hex digits",
                dataset.name
            ));
        }
    }
    for (name, value) in &spec.metrics {
        if name.is_empty() {
            return Err("a metric has an empty name".into());
        }
        if !value.is_finite() {
            return Err(format!("metric `{name}` is {value}, not a finite number"));
        }
    }
    if !(spec.duration_ms.is_finite() && spec.duration_ms >= 0.0) {
        return Err(format!(
            "`duration_ms` is {}; it must be a finite number of milliseconds, at least 0",
            spec.duration_ms
        ));
    }
    // SQLite integers are signed 64-bit.
    if i64::try_from(spec.rows).is_err() {
        return Err(format!("`rows` {} is too large", spec.rows));
    }
    if let Some(revision) = run.notebook_revision {
        if i64::try_from(revision).is_err() {
            return Err(format!("`notebook_revision` {revision} is too large"));
        }
    }
    if run.notebook_id.as_deref() == Some("") {
        return Err("`notebook_id` is empty; leave it out when there is no notebook".into());
    }
    Ok(())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `PUT /api/runs/{id}`: the body is a [`RunRecord`] without `created_at` (one sent is
/// ignored). 201 with the stored record for a new run; 200 with the stored record when the
/// same run was recorded before; 409 when a different run holds the id.
async fn record(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(run): ApiJson<RunRecord>,
) -> Result<impl IntoResponse, AppError> {
    validate_run_id(&id)?;
    if run.spec.id != id {
        return Err(AppError::InvalidRun(format!(
            "the body's id `{}` differs from the id `{id}` in the path",
            run.spec.id
        )));
    }
    check_run(&run).map_err(AppError::InvalidRun)?;
    let (status, stored) = match state.store.record_run(&run).await? {
        RecordOutcome::Created(stored) => {
            tracing::info!(run = %id, algorithm = %stored.spec.algorithm, "recorded run");
            (StatusCode::CREATED, stored)
        }
        RecordOutcome::Unchanged(stored) => (StatusCode::OK, stored),
        RecordOutcome::Differs(fields) => return Err(AppError::RunConflict { id, fields }),
    };
    let location = format!("/api/runs/{id}");
    Ok((status, [(header::LOCATION, location)], ApiJson(stored)))
}

/// The query of `GET /api/runs`. Everything is text here so that each bad value gets a
/// message naming its parameter (serde's number errors do not); empty values mean "any",
/// as an HTML form's "all" option sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    algorithm: Option<String>,
    kind: Option<String>,
    notebook_id: Option<String>,
    dataset_sha256: Option<String>,
    has_metric: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    pub fn filter(self) -> Result<RunFilter, AppError> {
        let given = |value: Option<String>| value.filter(|v| !v.is_empty());
        let kind = given(self.kind)
            .map(|kind| {
                RunKind::from_name(&kind).ok_or_else(|| {
                    AppError::InvalidRunQuery(format!(
                        "unknown run kind `{kind}` in `kind`: expected `fit` or `cross_validation`"
                    ))
                })
            })
            .transpose()?;
        let descending = match given(self.order).as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(AppError::InvalidRunQuery(format!(
                    "unknown `order` `{other}`: expected `asc` or `desc`"
                )))
            }
        };
        let limit = match given(self.limit) {
            None => DEFAULT_LIST_LIMIT,
            Some(text) => match text.parse::<u64>() {
                Ok(0) => {
                    return Err(AppError::InvalidRunQuery(
                        "`limit` must be at least 1".into(),
                    ))
                }
                Ok(n) => u32::try_from(n.min(u64::from(MAX_LIST_LIMIT))).unwrap_or(MAX_LIST_LIMIT),
                Err(_) => {
                    return Err(AppError::InvalidRunQuery(format!(
                        "`limit` must be a whole number from 1 to {MAX_LIST_LIMIT}, not `{text}`"
                    )))
                }
            },
        };
        Ok(RunFilter {
            algorithm: given(self.algorithm),
            kind,
            notebook_id: given(self.notebook_id),
            dataset_sha256: given(self.dataset_sha256),
            has_metric: given(self.has_metric),
            sort: given(self.sort),
            descending,
            limit,
        })
    }
}

/// `GET /api/runs?algorithm=&kind=&notebook_id=&dataset_sha256=&has_metric=&sort=&order=&limit=`:
/// newest first, or by the metric `sort` names (runs without it last).
async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<RunRecord>>, AppError> {
    let filter = query.filter()?;
    Ok(ApiJson(state.store.list_runs(&filter).await?))
}

async fn fetch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<RunRecord>, AppError> {
    validate_run_id(&id)?;
    match state.store.get_run(&id).await? {
        Some(run) => Ok(ApiJson(run)),
        None => Err(AppError::RunNotFound(id)),
    }
}

async fn remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    validate_run_id(&id)?;
    if state.store.delete_run(&id).await? {
        tracing::info!(run = %id, "deleted run");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::RunNotFound(id))
    }
}
