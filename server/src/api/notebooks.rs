//! `/api/notebooks`: create, list, fetch, save (with revision check) and delete notebooks.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use oxbook_protocol::{Cell, Notebook, NotebookSummary, NOTEBOOK_SCHEMA_VERSION};
use serde::{Deserialize, Serialize};

use crate::error::{ApiJson, ApiPath, AppError};
use crate::store::SaveOutcome;
use crate::AppState;

/// Title of a notebook created without one.
pub const DEFAULT_TITLE: &str = "Untitled notebook";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(fetch).put(save).delete(remove))
}

/// Body of `POST /api/notebooks`; both fields may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewNotebook {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub cells: Option<Vec<Cell>>,
}

/// The rules a stored notebook keeps, beyond its JSON shape.
pub fn check_notebook(notebook: &Notebook) -> Result<(), String> {
    if notebook.schema_version > NOTEBOOK_SCHEMA_VERSION {
        return Err(format!(
            "schema_version {} is newer than this server understands ({NOTEBOOK_SCHEMA_VERSION}); \
             upgrade the server",
            notebook.schema_version
        ));
    }
    check_cells(&notebook.cells)
}

/// Cell ids name cells in outputs and kernel messages, so they must be present and unique.
fn check_cells(cells: &[Cell]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for (index, cell) in cells.iter().enumerate() {
        if cell.id.trim().is_empty() {
            return Err(format!("cell {index} has an empty id"));
        }
        if !seen.insert(cell.id.as_str()) {
            return Err(format!(
                "cell id `{}` is used by more than one cell",
                cell.id
            ));
        }
    }
    Ok(())
}

async fn list(State(state): State<AppState>) -> Result<ApiJson<Vec<NotebookSummary>>, AppError> {
    Ok(ApiJson(state.store.list_notebooks().await?))
}

async fn create(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewNotebook>,
) -> Result<impl IntoResponse, AppError> {
    let cells = new.cells.unwrap_or_default();
    check_cells(&cells).map_err(AppError::InvalidNotebook)?;
    let notebook = Notebook {
        schema_version: NOTEBOOK_SCHEMA_VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        revision: 1,
        title: new.title.unwrap_or_else(|| DEFAULT_TITLE.to_string()),
        cells,
    };
    state.store.insert_notebook(&notebook).await?;
    let location = format!("/api/notebooks/{}", notebook.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(notebook),
    ))
}

async fn fetch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Notebook>, AppError> {
    match state.store.get_notebook(&id).await? {
        Some(notebook) => Ok(ApiJson(notebook)),
        None => Err(AppError::NotebookNotFound(id)),
    }
}

async fn save(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(notebook): ApiJson<Notebook>,
) -> Result<ApiJson<Notebook>, AppError> {
    if notebook.id != id {
        return Err(AppError::InvalidNotebook(format!(
            "the body's id `{}` differs from the id `{id}` in the path",
            notebook.id
        )));
    }
    check_notebook(&notebook).map_err(AppError::InvalidNotebook)?;
    match state.store.save_notebook(&notebook).await? {
        SaveOutcome::Saved(saved) => Ok(ApiJson(saved)),
        SaveOutcome::NotFound => Err(AppError::NotebookNotFound(id)),
        SaveOutcome::Conflict { stored } => Err(AppError::RevisionConflict {
            id,
            stored,
            given: notebook.revision,
        }),
    }
}

async fn remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    if state.store.delete_notebook(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotebookNotFound(id))
    }
}
