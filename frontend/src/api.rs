//! The page's only door to the server: notebooks, the model registry, endpoints, the
//! dataset store, experiment runs, and the files cells ask for. Every function names what it was doing in its error, so the page
//! can show the error as is.

use gloo_net::http::{Request, Response};
use oxbook_protocol::{
    DatasetInfo, EndpointInfo, EndpointSpec, ErrorBody, ModelSummary, Notebook, NotebookId,
    NotebookSummary, RunKind, RunRecord,
};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const NOTEBOOKS: &str = "/api/notebooks";
const MODELS: &str = "/api/models";
const ENDPOINTS: &str = "/api/endpoints";
const DATASETS: &str = "/api/datasets";
const RUNS: &str = "/api/runs";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{what}: could not reach the server ({message})")]
    Network { what: String, message: String },
    /// HTTP 409 on a save: someone saved a newer revision since this one was loaded.
    #[error(
        "{what}: your changes are not saved because the notebook was changed elsewhere ({message})"
    )]
    Conflict { what: String, message: String },
    #[error("{what}: the server answered {status}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    #[error("{what}: unexpected answer from the server ({message})")]
    Decode { what: String, message: String },
}

/// The page's origin, e.g. `http://127.0.0.1:8080`, for building absolute prediction URLs.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// Resolves `url` against the server's origin (not against the current page, which lives
/// under `/notebooks/...`): `data/iris.csv` means `<origin>/data/iris.csv`.
pub fn resolve_against_origin(url: &str) -> String {
    let base = format!("{}/", origin());
    web_sys::Url::new_with_base(url, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| url.to_string())
}

/// Percent-encodes one path segment (model and endpoint names come from cells).
fn segment(name: &str) -> String {
    String::from(js_sys::encode_uri_component(name))
}

/// The server's `{"error": ...}` message of an error body, else the body or status text.
fn error_message(body: &str, status_text: impl FnOnce() -> String) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => error,
        Err(_) if body.trim().is_empty() => status_text(),
        Err(_) => body.chars().take(300).collect(),
    }
}

async fn send(what: &str, request: Result<Request, gloo_net::Error>) -> Result<Response, ApiError> {
    let request = request.map_err(|e| ApiError::Network {
        what: what.into(),
        message: e.to_string(),
    })?;
    let response = request.send().await.map_err(|e| ApiError::Network {
        what: what.into(),
        message: e.to_string(),
    })?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let message = error_message(&body, || response.status_text());
    if status == 409 {
        Err(ApiError::Conflict {
            what: what.into(),
            message,
        })
    } else {
        Err(ApiError::Status {
            what: what.into(),
            status,
            message,
        })
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    what: &str,
    response: Response,
) -> Result<T, ApiError> {
    response.json::<T>().await.map_err(|e| ApiError::Decode {
        what: what.into(),
        message: e.to_string(),
    })
}

pub async fn list_notebooks() -> Result<Vec<NotebookSummary>, ApiError> {
    let what = "listing notebooks";
    json(what, send(what, Request::get(NOTEBOOKS).build()).await?).await
}

/// Creates an empty notebook and returns its id.
pub async fn create_notebook(title: &str) -> Result<NotebookId, ApiError> {
    let what = "creating a notebook";
    let response = send(
        what,
        Request::post(NOTEBOOKS).json(&serde_json::json!({ "title": title })),
    )
    .await?;
    let created: Value = json(what, response).await?;
    created
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::Decode {
            what: what.into(),
            message: "no \"id\" in the answer".into(),
        })
}

pub async fn get_notebook(id: &str) -> Result<Notebook, ApiError> {
    let what = format!("opening notebook {id}");
    let url = format!("{NOTEBOOKS}/{}", segment(id));
    json(&what, send(&what, Request::get(&url).build()).await?).await
}

/// Saves `notebook` (whose `revision` is the one it was loaded at) and returns the
/// revision the server gave the saved version.
pub async fn save_notebook(notebook: &Notebook) -> Result<u64, ApiError> {
    let what = "saving the notebook";
    let url = format!("{NOTEBOOKS}/{}", segment(&notebook.id));
    let saved: Value = json(what, send(what, Request::put(&url).json(notebook)).await?).await?;
    Ok(saved
        .get("revision")
        .and_then(Value::as_u64)
        .unwrap_or(notebook.revision + 1))
}

pub async fn delete_notebook(id: &str) -> Result<(), ApiError> {
    let what = format!("deleting notebook {id}");
    let url = format!("{NOTEBOOKS}/{}", segment(id));
    send(&what, Request::delete(&url).build()).await.map(drop)
}

pub async fn list_models() -> Result<Vec<ModelSummary>, ApiError> {
    let what = "listing models";
    json(what, send(what, Request::get(MODELS).build()).await?).await
}

pub async fn list_endpoints() -> Result<Vec<EndpointInfo>, ApiError> {
    let what = "listing endpoints";
    json(what, send(what, Request::get(ENDPOINTS).build()).await?).await
}

/// Stores a model artifact (JSON, opaque here) as the next version of `name`; returns that
/// version.
pub async fn register_model(name: &str, artifact: &str) -> Result<u32, ApiError> {
    let what = format!("saving model '{name}'");
    let url = format!("{MODELS}/{}", segment(name));
    let request = Request::post(&url)
        .header("content-type", "application/json")
        .body(artifact.to_string());
    let stored: Value = json(&what, send(&what, request).await?).await?;
    stored
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| ApiError::Decode {
            what,
            message: "no \"version\" in the answer".into(),
        })
}

/// Points `endpoint` at `spec` (creating it if needed); returns the path of its prediction
/// URL when the server says it.
pub async fn put_endpoint(endpoint: &str, spec: &EndpointSpec) -> Result<Option<String>, ApiError> {
    let what = format!("deploying to endpoint '{endpoint}'");
    let url = format!("{ENDPOINTS}/{}", segment(endpoint));
    let response = send(&what, Request::put(&url).json(spec)).await?;
    let info: Value = response.json().await.unwrap_or(Value::Null);
    Ok(info
        .get("invocations_path")
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// The bytes at `url` (relative URLs are against the origin), for a cell's `FetchFile`.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, ApiError> {
    let what = format!("fetching {url}");
    let response = send(&what, Request::get(&resolve_against_origin(url)).build()).await?;
    response.binary().await.map_err(|e| ApiError::Network {
        what,
        message: e.to_string(),
    })
}

pub async fn list_datasets() -> Result<Vec<DatasetInfo>, ApiError> {
    let what = "listing datasets";
    json(what, send(what, Request::get(DATASETS).build()).await?).await
}

pub async fn delete_dataset(name: &str) -> Result<(), ApiError> {
    let what = format!("deleting dataset '{name}'");
    let url = format!("{DATASETS}/{}", segment(name));
    send(&what, Request::delete(&url).build()).await.map(drop)
}

/// Where a stored dataset's bytes are served.
pub fn dataset_data_path(name: &str) -> String {
    oxbook_protocol::dataset_data_path(&segment(name))
}

/// Uploads `file` as dataset `name` (replacing one of that name), in the `format` given or
/// else the one the name's extension says. `on_progress(sent, total)` hears the upload's
/// progress: it goes by `XMLHttpRequest` because `fetch` does not report upload progress.
pub async fn upload_dataset(
    name: &str,
    format: Option<&str>,
    file: &web_sys::Blob,
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<DatasetInfo, ApiError> {
    let what = format!("uploading dataset '{name}'");
    let network = |message: String| ApiError::Network {
        what: what.clone(),
        message,
    };
    let mut url = format!("{DATASETS}/{}", segment(name));
    if let Some(format) = format {
        url.push_str(&format!("?format={}", segment(format)));
    }
    let xhr = web_sys::XmlHttpRequest::new().map_err(|e| network(js_message(&e)))?;
    xhr.open_with_async("PUT", &url, true)
        .map_err(|e| network(js_message(&e)))?;
    let (done_tx, done_rx) = futures_channel::oneshot::channel::<Result<(), String>>();
    let done_tx = std::rc::Rc::new(std::cell::RefCell::new(Some(done_tx)));
    let settle = move |result: Result<(), String>| {
        if let Some(tx) = done_tx.borrow_mut().take() {
            let _ = tx.send(result);
        }
    };
    let (on_load, on_error, on_abort) = {
        let (a, b, c) = (settle.clone(), settle.clone(), settle);
        (
            Closure::<dyn FnMut()>::new(move || a(Ok(()))),
            Closure::<dyn FnMut()>::new(move || b(Err("the connection failed".into()))),
            Closure::<dyn FnMut()>::new(move || c(Err("the upload was aborted".into()))),
        )
    };
    let on_upload_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |event: web_sys::ProgressEvent| {
            if event.length_computable() {
                on_progress(event.loaded(), event.total());
            }
        });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_upload_progress.as_ref().unchecked_ref()));
    }
    xhr.send_with_opt_blob(Some(file))
        .map_err(|e| network(js_message(&e)))?;
    // The closures must outlive the request: they are dropped only after it settled.
    let settled = done_rx
        .await
        .unwrap_or_else(|_| Err("the upload was dropped".into()));
    drop((on_load, on_error, on_abort, on_upload_progress));
    settled.map_err(network)?;
    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    if !(200..300).contains(&status) {
        let message = error_message(&body, || xhr.status_text().unwrap_or_default());
        return Err(ApiError::Status {
            what,
            status,
            message,
        });
    }
    serde_json::from_str(&body).map_err(|e| ApiError::Decode {
        what,
        message: e.to_string(),
    })
}

/// Records an experiment run (`created_at` is the server's to set); returns it as stored.
/// Recording the same run again is fine: the server answers with the stored record.
pub async fn record_run(run: &RunRecord) -> Result<RunRecord, ApiError> {
    let what = format!("recording run '{}'", run.spec.id);
    let url = format!("{RUNS}/{}", segment(&run.spec.id));
    json(&what, send(&what, Request::put(&url).json(run)).await?).await
}

/// Which runs to list and in what order (`GET /api/runs`'s query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    pub algorithm: Option<String>,
    pub kind: Option<RunKind>,
    pub notebook_id: Option<String>,
    /// A metric to order by (runs without it last); newest first when `None`.
    pub sort: Option<String>,
    pub ascending: bool,
    pub limit: Option<u32>,
}

impl RunQuery {
    /// The URL of the listing, e.g. `/api/runs?kind=fit&sort=train_accuracy&order=desc`.
    pub fn url(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(algorithm) = &self.algorithm {
            params.push(("algorithm", algorithm.clone()));
        }
        if let Some(kind) = self.kind {
            params.push(("kind", kind.name().to_string()));
        }
        if let Some(notebook_id) = &self.notebook_id {
            params.push(("notebook_id", notebook_id.clone()));
        }
        if let Some(sort) = &self.sort {
            params.push(("sort", sort.clone()));
            let order = if self.ascending { "asc" } else { "desc" };
            params.push(("order", order.to_string()));
        }
        if let Some(limit) = self.limit {
            params.push(("limit", limit.to_string()));
        }
        if params.is_empty() {
            return RUNS.to_string();
        }
        let query: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{name}={}", segment(value)))
            .collect();
        format!("{RUNS}?{}", query.join("&"))
    }
}

pub async fn list_runs(query: &RunQuery) -> Result<Vec<RunRecord>, ApiError> {
    let what = "listing runs";
    json(what, send(what, Request::get(&query.url()).build()).await?).await
}

pub async fn delete_run(id: &str) -> Result<(), ApiError> {
    let what = format!("deleting run '{id}'");
    let url = format!("{RUNS}/{}", segment(id));
    send(&what, Request::delete(&url).build()).await.map(drop)
}

/// Creates a notebook titled `title` whose one code cell is `source`; returns its id.
pub async fn create_notebook_with_cell(title: &str, source: &str) -> Result<NotebookId, ApiError> {
    let id = create_notebook(title).await?;
    let mut notebook = get_notebook(&id).await?;
    notebook.cells.push(oxbook_protocol::Cell {
        id: crate::runner::new_cell_id(),
        kind: oxbook_protocol::CellKind::Code,
        source: source.to_string(),
        outputs: Vec::new(),
    });
    save_notebook(&notebook).await?;
    Ok(id)
}

fn js_message(value: &JsValue) -> String {
    crate::loading::js_text(value)
}
