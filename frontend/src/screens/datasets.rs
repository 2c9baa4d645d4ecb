//! `/datasets`: the server's dataset store. Upload a file once under a name (with upload
//! progress), see each dataset's format, size, rows and column types, delete it, and use it
//! from a notebook: a new notebook whose first cell loads it, or the snippet to paste.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use oxbook_protocol::{is_valid_dataset_name, DatasetInfo, DATASET_NAME_RULE};
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};

use crate::api;
use crate::screens::data_panel::{human_bytes, percent, FORMATS};

/// The cell line that loads dataset `name` into `df`.
pub fn load_snippet(name: &str) -> String {
    let quoted = serde_json::to_string(name).unwrap_or_else(|_| format!("\"{name}\""));
    format!("let df = load_dataset({quoted});")
}

/// A dataset name made from a file name: characters outside the allowed set become `_`,
/// leading dots go, and it is cut to 128 characters.
pub fn name_from_file(file_name: &str) -> String {
    let cleaned: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.trim_start_matches('.').chars().take(128).collect()
}

/// Where an upload stands (`#upload-status[data-state]`).
#[derive(Debug, Clone, PartialEq)]
enum Upload {
    Idle,
    Sending { sent: f64, total: f64 },
    Done(String),
    Failed(String),
}

#[component]
pub fn DatasetsPage() -> impl IntoView {
    let datasets =
        LocalResource::new(|| async { api::list_datasets().await.map_err(|e| e.to_string()) });
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();

    let on_delete = Callback::new(move |name: String| {
        spawn_local(async move {
            match api::delete_dataset(&name).await {
                Ok(()) => datasets.refetch(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    let navigate = SendWrapper::new(navigate);
    let on_open = Callback::new(move |name: String| {
        let navigate = navigate.clone();
        spawn_local(async move {
            let source = format!("{}\ndf", load_snippet(&name));
            match api::create_notebook_with_cell(&format!("Dataset {name}"), &source).await {
                Ok(id) => (*navigate)(&format!("/notebooks/{id}"), Default::default()),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    let on_uploaded = Callback::new(move |_: DatasetInfo| datasets.refetch());

    view! {
        <section class="datasets-page">
            <header class="screen-header">
                <h1>"Datasets"</h1>
            </header>
            <p class="hint">
                "Upload a table once and load it from any notebook: the editor's Data panel, or "
                <code>"let df = load_dataset(\"name\");"</code>
                " in a cell."
            </p>
            <UploadForm on_uploaded=on_uploaded />
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match datasets.get() {
                None => view! { <p class="loading">"Loading datasets…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(list)) => {
                    view! { <DatasetsTable datasets=list on_delete=on_delete on_open=on_open /> }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The upload form: `input#dataset-upload` (the file), `input#dataset-name` (filled from
/// the file's name), `select#dataset-format`, `button#dataset-upload-button`, and
/// `progress#upload-progress` while it goes.
#[component]
pub fn UploadForm(#[prop(into)] on_uploaded: Callback<DatasetInfo>) -> impl IntoView {
    let file = RwSignal::new(None::<SendWrapper<File>>);
    let name = RwSignal::new(String::new());
    let format = RwSignal::new("auto".to_string());
    let state = RwSignal::new(Upload::Idle);

    let on_file = move |ev: leptos::ev::Event| {
        let picked = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        if let Some(picked) = &picked {
            name.set(name_from_file(&picked.name()));
        }
        file.set(picked.map(SendWrapper::new));
        state.set(Upload::Idle);
    };
    let upload = move |_| {
        let Some(chosen) = file.get_untracked() else {
            state.set(Upload::Failed("Choose a file to upload.".into()));
            return;
        };
        let dataset = name.get_untracked().trim().to_string();
        if !is_valid_dataset_name(&dataset) {
            state.set(Upload::Failed(format!(
                "'{dataset}' cannot name a dataset: {DATASET_NAME_RULE}."
            )));
            return;
        }
        let format = Some(format.get_untracked()).filter(|f| f != "auto");
        let total = chosen.size();
        state.set(Upload::Sending { sent: 0.0, total });
        spawn_local(async move {
            let blob: &web_sys::Blob = &chosen;
            let result =
                api::upload_dataset(&dataset, format.as_deref(), blob, move |sent, total| {
                    state.set(Upload::Sending { sent, total })
                })
                .await;
            match result {
                Ok(info) => {
                    let rows = info
                        .row_count
                        .map(|n| format!(", {n} rows"))
                        .unwrap_or_default();
                    state.set(Upload::Done(format!(
                        "Stored {} ({}{rows})",
                        info.name,
                        human_bytes(info.size_bytes)
                    )));
                    on_uploaded.run(info);
                }
                Err(e) => state.set(Upload::Failed(e.to_string())),
            }
        });
    };
    let sending = move || matches!(state.get(), Upload::Sending { .. });
    let state_name = move || match state.get() {
        Upload::Idle => "idle",
        Upload::Sending { .. } => "uploading",
        Upload::Done(_) => "done",
        Upload::Failed(_) => "error",
    };
    let status_text = move || match state.get() {
        Upload::Idle => String::new(),
        Upload::Sending { sent, total } => format!(
            "Uploading… {}% ({} of {})",
            percent(sent as u64, total as u64),
            human_bytes(sent as u64),
            human_bytes(total as u64)
        ),
        Upload::Done(message) | Upload::Failed(message) => message,
    };
    view! {
        <div class="upload-form">
            <input id="dataset-upload" type="file" on:change=on_file />
            <label>
                "Name "
                <input
                    id="dataset-name"
                    type="text"
                    spellcheck="false"
                    placeholder="hats.csv"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Format "
                <select
                    id="dataset-format"
                    prop:value=move || format.get()
                    on:change=move |ev| format.set(event_target_value(&ev))
                >
                    {FORMATS.into_iter().map(|f| view! { <option value=f>{f}</option> }).collect_view()}
                </select>
            </label>
            <button id="dataset-upload-button" prop:disabled=sending on:click=upload>
                "Upload"
            </button>
            {move || match state.get() {
                Upload::Sending { sent, total } => Some(view! {
                    <progress id="upload-progress" value=sent.to_string() max=total.max(1.0).to_string()></progress>
                }),
                _ => None,
            }}
            <span id="upload-status" data-state=state_name role="status">
                {status_text}
            </span>
        </div>
    }
}

/// The stored datasets (`#datasets-table`), one `tr.dataset-row[data-dataset]` each.
#[component]
pub fn DatasetsTable(
    datasets: Vec<DatasetInfo>,
    #[prop(into)] on_delete: Callback<String>,
    #[prop(into)] on_open: Callback<String>,
) -> impl IntoView {
    if datasets.is_empty() {
        return view! { <p class="empty">"No datasets yet: upload one above."</p> }.into_any();
    }
    let rows = datasets
        .into_iter()
        .map(|d| view! { <DatasetRow dataset=d on_delete=on_delete on_open=on_open /> })
        .collect_view();
    view! {
        <table id="datasets-table" class="registry">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Format"</th>
                    <th>"Size"</th>
                    <th>"Rows"</th>
                    <th>"Columns"</th>
                    <th>"SHA-256"</th>
                    <th>"Created"</th>
                    <th>"Use"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn DatasetRow(
    dataset: DatasetInfo,
    on_delete: Callback<String>,
    on_open: Callback<String>,
) -> impl IntoView {
    let DatasetInfo {
        name,
        format,
        size_bytes,
        sha256,
        row_count,
        schema,
        diagnostics,
        created_at,
        ..
    } = dataset;
    let short_sha: String = sha256.chars().take(12).collect();
    let rows = row_count.map_or_else(|| "?".to_string(), |n| n.to_string());
    let columns = match schema {
        Some(columns) => columns
            .into_iter()
            .map(|c| {
                let dtype = c.dtype.clone();
                view! {
                    <span class="dataset-column" data-dtype=dtype>
                        <span class="column-name">{c.name}</span>
                        ": "
                        <span class="dtype">{c.dtype}</span>
                    </span>
                }
            })
            .collect_view()
            .into_any(),
        None => view! { <span class="unknown">"unknown"</span> }.into_any(),
    };
    let diagnostics = (!diagnostics.is_empty()).then(|| {
        view! {
            <ul class="dataset-diagnostics">
                {diagnostics.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}
            </ul>
        }
    });
    let snippet = load_snippet(&name);
    let copied = RwSignal::new(false);
    let copy = {
        let snippet = snippet.clone();
        move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&snippet);
                copied.set(true);
            }
        }
    };
    let (delete_name, open_name) = (name.clone(), name.clone());
    view! {
        <tr class="dataset-row" data-dataset=name.clone()>
            <td class="dataset-name">{name.clone()} {diagnostics}</td>
            <td class="dataset-format">{format.name()}</td>
            <td class="dataset-size" title=format!("{size_bytes} bytes")>
                {human_bytes(size_bytes)}
            </td>
            <td class="dataset-rows">{rows}</td>
            <td class="dataset-columns">{columns}</td>
            <td>
                <code class="dataset-sha" title=sha256>
                    {short_sha}
                </code>
            </td>
            <td class="dataset-created">{created_at}</td>
            <td>
                <div class="dataset-actions">
                <code class="dataset-snippet">{snippet}</code>
                <button class="copy-snippet" title="Copy the snippet" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
                <button
                    class="load-dataset"
                    title="Open a new notebook whose first cell loads this dataset"
                    on:click=move |_| on_open.run(open_name.clone())
                >
                    "Load into notebook"
                </button>
                <button class="delete-dataset" on:click=move |_| on_delete.run(delete_name.clone())>
                    "Delete"
                </button>
                </div>
            </td>
        </tr>
    }
}
