//! The editor's Data panel (`#data-panel`): get a table into a notebook variable from a file
//! picked or dropped on the page, from a URL, or from the server's dataset store. The bytes
//! go to the kernel worker, which streams them through its push parser (the page only shows
//! progress, so it stays responsive however large the file); the outcome — a table preview
//! and the loader's diagnostics, or the error — shows in `#load-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use oxbook_protocol::{DatasetInfo, LoadRequest, LoadSource, Output, CANCELLED};
use send_wrapper::SendWrapper;
use serde_json::{Map, Value};
use wasm_bindgen::JsCast;
use web_sys::{Blob, DragEvent, File, HtmlInputElement};

use crate::api;
use crate::kernel_bridge::{KernelBridge, KernelError, LoadUpdate};
use crate::outputs::OutputList;
use crate::runner::{error_output, new_cell_id};
use crate::worker_wire::{FetchRoute, LoadRoute};

/// The formats the panel offers (`select#load-format`); `auto` guesses from the name.
pub const FORMATS: [&str; 6] = ["auto", "csv", "tsv", "json", "jsonl", "parquet"];

/// Whether `name` can be a cell variable: a letter or `_`, then letters, digits or `_`.
pub fn is_valid_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The loader options the panel's CSV fields give: a delimiter (blank: the format's own;
/// `\t` or `tab` for a tab) and whether the first row is a header (`yes`, the kernel's
/// default, is left out; `no`; or `auto`, detected by the kernel).
pub fn csv_options(delimiter: &str, header: &str) -> Map<String, Value> {
    let mut options = Map::new();
    let delimiter = match delimiter {
        "\\t" | "tab" => "\t",
        other => other,
    };
    if !delimiter.is_empty() {
        options.insert("delimiter".into(), Value::String(delimiter.into()));
    }
    match header {
        "no" => {
            options.insert("header".into(), Value::Bool(false));
        }
        "auto" => {
            options.insert("header".into(), Value::String("auto".into()));
        }
        _ => {}
    }
    options
}

pub use crate::loading::human_bytes;

/// Whole percent of `done` in `total` (100 when the total is 0).
pub fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        100
    } else {
        (done.min(total) as f64 * 100.0 / total as f64).floor() as u64
    }
}

/// Where a load stands (`#load-progress[data-state]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPhase {
    Running,
    Done,
    Failed,
}

impl LoadPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadPhase::Running => "running",
            LoadPhase::Done => "done",
            LoadPhase::Failed => "failed",
        }
    }
}

/// The load the panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadView {
    pub load_id: String,
    pub variable: String,
    /// What is being loaded, as shown: a file name, a URL, a dataset.
    pub label: String,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub phase: LoadPhase,
    pub route: Option<LoadRoute>,
    pub outputs: Vec<Output>,
    /// Cancel was pressed and the load has not ended yet.
    pub cancelling: bool,
}

impl LoadView {
    /// `42%` or, when the size is unknown, the bytes read so far.
    pub fn progress_text(&self) -> String {
        match self.bytes_total {
            Some(total) => format!(
                "{}% ({} of {})",
                percent(self.bytes_done, total),
                human_bytes(self.bytes_done),
                human_bytes(total)
            ),
            None => format!("{} read", human_bytes(self.bytes_done)),
        }
    }
}

/// How a kernel failure under a load is shown.
fn load_failure(error: &KernelError) -> Output {
    match error {
        KernelError::Crashed { reason } => error_output(
            "KernelCrashed",
            format!("The kernel crashed while loading ({reason}) and was restarted; variables are lost."),
        ),
        KernelError::Restarted => error_output(
            "KernelRestarted",
            "The kernel was restarted before the load finished.",
        ),
        KernelError::CancelledByRestart => {
            error_output(CANCELLED, format!("The load was {error}."))
        }
        other => error_output("LoadFailed", other.to_string()),
    }
}

/// What the panel acts with; `Copy`, so every handler can hold it.
#[derive(Clone, Copy)]
struct Panel {
    kernel: StoredValue<SendWrapper<KernelBridge>>,
    variable: RwSignal<String>,
    format: RwSignal<String>,
    delimiter: RwSignal<String>,
    header: RwSignal<String>,
    current: RwSignal<Option<LoadView>>,
}

fn running(current: &Option<LoadView>) -> bool {
    current
        .as_ref()
        .is_some_and(|c| c.phase == LoadPhase::Running)
}

impl Panel {
    /// Tracked: for the view.
    fn busy(&self) -> bool {
        self.current.with(running)
    }

    /// Shows `message` as the outcome, without loading anything.
    fn refuse(&self, label: String, message: String) {
        self.current.set(Some(LoadView {
            load_id: String::new(),
            variable: self.variable.get_untracked(),
            label,
            bytes_done: 0,
            bytes_total: None,
            phase: LoadPhase::Failed,
            route: None,
            outputs: vec![error_output("LoadFailed", message)],
            cancelling: false,
        }));
    }

    /// Starts loading `source` into the panel's variable. `format` overrides the select
    /// (a stored dataset knows its own).
    fn start(&self, label: String, source: LoadSource, file: Option<Blob>, format: Option<String>) {
        // Untracked throughout: a load started from an effect must not make that effect
        // depend on the load's own progress.
        if self.current.with_untracked(running) {
            return;
        }
        let variable = self.variable.get_untracked().trim().to_string();
        if !is_valid_variable(&variable) {
            self.refuse(
                label,
                format!(
                    "'{variable}' cannot be a variable name: use a letter or '_', then letters, digits or '_'."
                ),
            );
            return;
        }
        let format = format.unwrap_or_else(|| self.format.get_untracked());
        let options = if matches!(format.as_str(), "auto" | "csv" | "tsv") {
            csv_options(
                &self.delimiter.get_untracked(),
                &self.header.get_untracked(),
            )
        } else {
            Map::new()
        };
        let load_id = new_cell_id();
        let request = LoadRequest {
            load_id: load_id.clone(),
            variable: variable.clone(),
            source,
            format: Some(format).filter(|f| f != "auto"),
            options,
        };
        let current = self.current;
        current.set(Some(LoadView {
            load_id: load_id.clone(),
            variable,
            label,
            bytes_done: 0,
            bytes_total: None,
            phase: LoadPhase::Running,
            route: None,
            outputs: Vec::new(),
            cancelling: false,
        }));
        let kernel = self.kernel.with_value(|k| (**k).clone());
        let is_this = move |view: &LoadView| view.load_id == load_id;
        let is_this_too = is_this.clone();
        spawn_local(async move {
            let outcome = kernel
                .load(request, file, move |update| {
                    current.update(|c| {
                        let Some(view) = c.as_mut().filter(|v| is_this(v)) else {
                            return;
                        };
                        match update {
                            LoadUpdate::Progress {
                                bytes_done,
                                bytes_total,
                            } => {
                                view.bytes_done = bytes_done;
                                view.bytes_total = bytes_total;
                            }
                            LoadUpdate::Route(route) => view.route = Some(route),
                        }
                    })
                })
                .await;
            current.update(|c| {
                let Some(view) = c.as_mut().filter(|v| is_this_too(v)) else {
                    return;
                };
                match outcome {
                    Ok(outcome) => {
                        view.phase = if outcome.ok {
                            LoadPhase::Done
                        } else {
                            LoadPhase::Failed
                        };
                        if outcome.ok {
                            // The whole input was read, whatever the last progress said.
                            view.bytes_total =
                                Some(view.bytes_done.max(view.bytes_total.unwrap_or(0)));
                        }
                        view.outputs = outcome.outputs;
                    }
                    Err(error) => {
                        view.phase = LoadPhase::Failed;
                        view.outputs = vec![load_failure(&error)];
                    }
                }
            });
        });
    }

    /// Stops the running load (see [`KernelBridge::cancel_load`]).
    fn cancel(&self) {
        if !self.current.with_untracked(running) {
            return;
        }
        self.current.update(|c| {
            if let Some(view) = c.as_mut() {
                view.cancelling = true;
            }
        });
        self.kernel.with_value(|k| k.cancel_load());
    }

    fn start_file(&self, file: File) {
        let name = file.name();
        let source = LoadSource::File {
            name: name.clone(),
            size: file.size() as u64,
        };
        self.start(name, source, Some(file.into()), None);
    }

    fn start_url(&self, url: String) {
        let url = url.trim().to_string();
        if url.is_empty() {
            self.refuse(String::new(), "Type the URL of a table to load.".into());
            return;
        }
        self.start(url.clone(), LoadSource::Url { url }, None, None);
    }

    fn start_dataset(&self, dataset: &DatasetInfo) {
        let url = if dataset.data_path.is_empty() {
            api::dataset_data_path(&dataset.name)
        } else {
            dataset.data_path.clone()
        };
        self.start(
            format!("dataset {}", dataset.name),
            LoadSource::Url { url },
            None,
            Some(dataset.format.name().to_string()),
        );
    }
}

/// The first file of a drop, if it carries any.
fn dropped_file(event: &DragEvent) -> Option<File> {
    event.data_transfer()?.files()?.get(0)
}

fn carries_files(event: &DragEvent) -> bool {
    event
        .data_transfer()
        .map(|dt| dt.types().includes(&"Files".into(), 0))
        .unwrap_or(false)
}

/// The Data panel of the editor whose kernel is `kernel`. `dropped` is a file the editor
/// caught being dropped anywhere on the page; `datasets` is the store's list (a parameter
/// so that tests can mount the panel without a server).
#[component]
pub fn DataPanel(
    kernel: SendWrapper<KernelBridge>,
    #[prop(into)] dropped: Signal<Option<SendWrapper<File>>>,
    #[prop(into)] datasets: Signal<Option<Result<Vec<DatasetInfo>, String>>>,
    #[prop(optional, into)] on_refresh_datasets: Option<Callback<()>>,
) -> impl IntoView {
    let panel = Panel {
        kernel: StoredValue::new(kernel),
        variable: RwSignal::new("df".to_string()),
        format: RwSignal::new("auto".to_string()),
        delimiter: RwSignal::new(String::new()),
        header: RwSignal::new("yes".to_string()),
        current: RwSignal::new(None),
    };
    let url = RwSignal::new(String::new());
    let chosen_dataset = RwSignal::new(String::new());

    // A file dropped anywhere on the editor loads like a picked one.
    Effect::new(move |_| {
        if let Some(file) = dropped.get() {
            untrack(|| panel.start_file(file.take()));
        }
    });

    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            panel.start_file(file);
        }
        // So that picking the same file again loads it again.
        input.set_value("");
    };
    let load_url = move || panel.start_url(url.get_untracked());
    let load_dataset = move |_| {
        let name = chosen_dataset.get_untracked();
        let found = datasets.with_untracked(|list| {
            list.as_ref()
                .and_then(|l| l.as_ref().ok())
                .and_then(|l| l.iter().find(|d| d.name == name).cloned())
        });
        match found {
            Some(dataset) => panel.start_dataset(&dataset),
            None => panel.refuse(
                String::new(),
                "Choose a dataset from the store first.".into(),
            ),
        }
    };
    let busy = move || panel.busy();
    let dataset_options = move || {
        datasets.with(|list| match list {
            None => view! { <option value="">"Loading datasets…"</option> }.into_any(),
            Some(Err(e)) => {
                view! { <option value="" title=e.clone()>"(datasets unavailable)"</option> }
                    .into_any()
            }
            Some(Ok(list)) if list.is_empty() => {
                view! { <option value="">"(no stored datasets)"</option> }.into_any()
            }
            Some(Ok(list)) => {
                let options = list
                    .iter()
                    .map(|d| {
                        let label = format!(
                            "{} ({}, {})",
                            d.name,
                            d.format.name(),
                            human_bytes(d.size_bytes)
                        );
                        view! { <option value=d.name.clone()>{label}</option> }
                    })
                    .collect_view();
                view! {
                    <option value="">"Choose a dataset…"</option>
                    {options}
                }
                .into_any()
            }
        })
    };
    let is_csv_like = move || matches!(panel.format.get().as_str(), "auto" | "csv" | "tsv");

    view! {
        <section id="data-panel" aria-label="Load data">
            <div class="data-row">
                <label>
                    "Variable "
                    <input
                        id="load-variable"
                        type="text"
                        size="8"
                        spellcheck="false"
                        prop:value=move || panel.variable.get()
                        on:input=move |ev| panel.variable.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    "Format "
                    <select
                        id="load-format"
                        prop:value=move || panel.format.get()
                        on:change=move |ev| panel.format.set(event_target_value(&ev))
                    >
                        {FORMATS.into_iter().map(|f| view! { <option value=f>{f}</option> }).collect_view()}
                    </select>
                </label>
                <Show when=is_csv_like>
                    <label title="Blank: the format's own (',' for CSV, tab for TSV); \\t for a tab">
                        "Delimiter "
                        <input
                            id="load-delimiter"
                            type="text"
                            size="2"
                            maxlength="2"
                            prop:value=move || panel.delimiter.get()
                            on:input=move |ev| panel.delimiter.set(event_target_value(&ev))
                        />
                    </label>
                    <label>
                        "Header "
                        <select
                            id="load-header"
                            prop:value=move || panel.header.get()
                            on:change=move |ev| panel.header.set(event_target_value(&ev))
                        >
                            <option value="yes">"first row"</option>
                            <option value="auto">"detect"</option>
                            <option value="no">"none"</option>
                        </select>
                    </label>
                </Show>
            </div>
            <div class="data-row">
                <div id="drop-zone" class="drop-zone">
                    "Drop a file on the page, or "
                    <label class="file-pick">
                        <span>"choose a file"</span>
                        <input
                            id="load-file"
                            type="file"
                            accept=".csv,.tsv,.tab,.txt,.json,.jsonl,.ndjson,.parquet"
                            prop:disabled=busy
                            on:change=on_file
                        />
                    </label>
                </div>
            </div>
            <div class="data-row">
                <input
                    id="load-url"
                    type="url"
                    placeholder="https://example.com/table.csv or /static/demo/hats.csv"
                    spellcheck="false"
                    prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev))
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            load_url();
                        }
                    }
                />
                <button id="load-url-button" prop:disabled=busy on:click=move |_| load_url()>
                    "Load URL"
                </button>
            </div>
            <div class="data-row">
                <select
                    id="load-dataset"
                    aria-label="Stored dataset"
                    prop:value=move || chosen_dataset.get()
                    on:change=move |ev| chosen_dataset.set(event_target_value(&ev))
                >
                    {dataset_options}
                </select>
                <button id="load-dataset-button" prop:disabled=busy on:click=load_dataset>
                    "Load dataset"
                </button>
                {on_refresh_datasets.map(|refresh| view! {
                    <button id="refresh-datasets" title="Refresh the list" on:click=move |_| refresh.run(())>
                        "↻"
                    </button>
                })}
                <a class="datasets-link" href="/datasets">"Manage datasets"</a>
            </div>
            {move || {
                panel
                    .current
                    .get()
                    .map(|view| {
                        view! { <LoadStatus view=view on_cancel=Callback::new(move |_| panel.cancel()) /> }
                    })
            }}
        </section>
    }
}

/// The progress bar and, once done, the outcome of the panel's load.
#[component]
fn LoadStatus(view: LoadView, on_cancel: Callback<()>) -> impl IntoView {
    let phase = view.phase.as_str();
    let (value, max) = match view.bytes_total {
        Some(total) => (
            Some(view.bytes_done.min(total).to_string()),
            Some(total.max(1).to_string()),
        ),
        // No value: an indeterminate bar, since the end is unknown.
        None if view.phase == LoadPhase::Running => (None, None),
        None => (Some("1".to_string()), Some("1".to_string())),
    };
    let route = view.route.clone().map(|route| {
        let text = match (&route.route, &route.note) {
            (FetchRoute::Browser, _) => "Fetched by the browser".to_string(),
            (FetchRoute::Server, Some(note)) => format!("Fetched through the server: {note}"),
            (FetchRoute::Server, None) => "Fetched through the server".to_string(),
        };
        view! {
            <p id="load-route" data-route=route.route.as_str() title=route.fetched.clone()>
                {text}
            </p>
        }
    });
    let heading = match view.phase {
        LoadPhase::Running => format!("Loading {} into {}…", view.label, view.variable),
        LoadPhase::Done => format!("Loaded {} into {}", view.label, view.variable),
        LoadPhase::Failed => format!("Could not load {} into {}", view.label, view.variable),
    };
    let outputs = view.outputs.clone();
    let result = (view.phase != LoadPhase::Running).then(|| {
        view! {
            <div
                id="load-result"
                data-load-id=view.load_id.clone()
                data-variable=view.variable.clone()
                data-ok=(view.phase == LoadPhase::Done).to_string()
            >
                <OutputList outputs=Signal::stored(outputs) />
            </div>
        }
    });
    view! {
        <div class="load-status" data-state=phase>
            <p class="load-heading">{heading}</p>
            <div class="load-bar">
                <progress
                    id="load-progress"
                    data-load-id=view.load_id.clone()
                    data-state=phase
                    value=value
                    max=max
                ></progress>
                <span id="load-percent">{view.progress_text()}</span>
                {(view.phase == LoadPhase::Running).then(|| {
                    let cancelling = view.cancelling;
                    view! {
                        <button
                            id="load-cancel"
                            class="cancel-load"
                            title="Stop this load"
                            prop:disabled=cancelling
                            on:click=move |_| on_cancel.run(())
                        >
                            {if cancelling { "Cancelling…" } else { "■ Cancel" }}
                        </button>
                    }
                })}
            </div>
            {route}
            {result}
        </div>
    }
}

/// Reads the first file of a drop on the editor, when it is one (else lets it be).
pub fn take_dropped_file(event: &DragEvent) -> Option<File> {
    if !carries_files(event) {
        return None;
    }
    event.prevent_default();
    dropped_file(event)
}

/// Lets files be dropped (the browser would otherwise open them in place of the page).
pub fn allow_file_drop(event: &DragEvent) -> bool {
    if carries_files(event) {
        event.prevent_default();
        true
    } else {
        false
    }
}
