//! `/notebooks/:id`: the notebook editor. Cells are edited in textareas; code cells run on
//! the kernel worker (Shift+Enter, their run button, or Run all) and show their outputs;
//! markdown cells are rendered, sanitized, as they are typed. Save sends the notebook back
//! with the revision it was loaded at, so a concurrent edit is refused rather than lost.
//! The Data panel above the cells loads tables into variables (see [`super::data_panel`]);
//! a file dropped anywhere on the editor goes to it.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use oxbook_protocol::{CellKind, CellStatus, Notebook, NOTEBOOK_SCHEMA_VERSION};
use send_wrapper::SendWrapper;
use web_sys::{DragEvent, KeyboardEvent};

use crate::api;
use crate::kernel_bridge::{KernelBridge, KernelState};
use crate::markdown::render_markdown;
use crate::outputs::OutputList;
use crate::runner::{status_name, CellModel, Runner};
use crate::screens::data_panel::{allow_file_drop, take_dropped_file, DataPanel};
use crate::KERNEL_WORKER_URL;

/// The route: loads the notebook named in the path, then edits it.
#[component]
pub fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let notebook = LocalResource::new(move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        async move { api::get_notebook(&id).await }
    });
    move || match notebook.get() {
        None => view! { <p class="loading">"Loading notebook…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
        Some(Ok(notebook)) => {
            view! { <NotebookEditor notebook=notebook worker_url=KERNEL_WORKER_URL /> }.into_any()
        }
    }
}

/// Where the last save got to (`#save-status[data-state]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveState {
    Unsaved,
    Saving,
    Saved(u64),
    Conflict(String),
    Failed(String),
}

impl SaveState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SaveState::Unsaved => "idle",
            SaveState::Saving => "saving",
            SaveState::Saved(_) => "saved",
            SaveState::Conflict(_) => "conflict",
            SaveState::Failed(_) => "error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            SaveState::Unsaved => String::new(),
            SaveState::Saving => "Saving…".into(),
            SaveState::Saved(revision) => format!("Saved (revision {revision})"),
            SaveState::Conflict(message) | SaveState::Failed(message) => message.clone(),
        }
    }
}

/// What every cell's controls act on. `Runner` holds the worker (not `Send`); the page has
/// one thread, so wrapping it to satisfy leptos's `Send` bounds is sound.
#[derive(Clone)]
struct EditorCtx {
    runner: SendWrapper<Runner>,
    cells: RwSignal<Vec<CellModel>>,
}

impl EditorCtx {
    fn run(&self, cell: &CellModel) {
        self.runner.enqueue(cell.clone());
    }

    fn cancel(&self, cell: &CellModel) {
        self.runner.cancel(cell);
    }

    fn delete(&self, id: &str) {
        self.cells.update(|cells| cells.retain(|c| c.id != id));
    }

    /// Moves cell `id` one place up (`-1`) or down (`1`).
    fn shift(&self, id: &str, up: bool) {
        self.cells.update(|cells| {
            let Some(at) = cells.iter().position(|c| c.id == id) else {
                return;
            };
            let to = if up {
                at.checked_sub(1)
            } else {
                Some(at + 1).filter(|&to| to < cells.len())
            };
            if let Some(to) = to {
                cells.swap(at, to);
            }
        });
    }
}

/// Edits and runs `notebook` with a kernel started from `worker_url` (a parameter so that
/// tests can give it a stand-in worker).
#[component]
pub fn NotebookEditor(notebook: Notebook, #[prop(into)] worker_url: String) -> impl IntoView {
    let Notebook {
        id,
        revision,
        title,
        cells,
        ..
    } = notebook;
    let title = RwSignal::new(title);
    let revision = RwSignal::new(revision);
    let cells = RwSignal::new(
        cells
            .into_iter()
            .map(CellModel::from_cell)
            .collect::<Vec<_>>(),
    );
    let kernel_state = RwSignal::new(KernelState::Starting);
    let save_state = RwSignal::new(SaveState::Unsaved);

    let kernel = KernelBridge::spawn(worker_url, move |state| kernel_state.set(state));
    // Runs the kernel records name this notebook and revision (sent once the worker is ready).
    kernel.set_notebook(&id, revision.get_untracked());
    let context_kernel = SendWrapper::new(kernel.clone());
    let runner = Runner::new(kernel.clone());
    let panel_kernel = SendWrapper::new(kernel.clone());
    let closing = SendWrapper::new(kernel);
    on_cleanup(move || closing.shutdown());
    let dropped = RwSignal::new(None::<SendWrapper<web_sys::File>>);
    let datasets =
        LocalResource::new(|| async { api::list_datasets().await.map_err(|e| e.to_string()) });
    let refresh_datasets = Callback::new(move |_| datasets.refetch());

    let ctx = EditorCtx {
        runner: SendWrapper::new(runner.clone()),
        cells,
    };
    let owner = Owner::current();
    let add_cell = move |kind: CellKind| {
        // Owned by the editor, so the new cell's signals go when the editor goes.
        let cell = match &owner {
            Some(owner) => owner.with(|| CellModel::empty(kind)),
            None => CellModel::empty(kind),
        };
        cells.update(|cells| cells.push(cell));
    };
    let add_cell_too = add_cell.clone();

    let run_all = {
        let runner = runner.clone();
        move |_| {
            for cell in cells.get_untracked() {
                runner.enqueue(cell);
            }
        }
    };
    let restart = move |_| runner.restart_kernel();

    let save = move |_| {
        let notebook = Notebook {
            schema_version: NOTEBOOK_SCHEMA_VERSION,
            id: id.clone(),
            revision: revision.get_untracked(),
            title: title.get_untracked(),
            cells: cells
                .get_untracked()
                .iter()
                .map(CellModel::to_cell)
                .collect(),
        };
        save_state.set(SaveState::Saving);
        let context_kernel = context_kernel.clone();
        spawn_local(async move {
            match api::save_notebook(&notebook).await {
                Ok(saved) => {
                    revision.set(saved);
                    context_kernel.set_notebook(&notebook.id, saved);
                    save_state.set(SaveState::Saved(saved));
                }
                Err(e @ api::ApiError::Conflict { .. }) => {
                    save_state.set(SaveState::Conflict(e.to_string()))
                }
                Err(e) => save_state.set(SaveState::Failed(e.to_string())),
            }
        });
    };

    view! {
        <div
            class="editor"
            on:dragover=move |ev: DragEvent| {
                allow_file_drop(&ev);
            }
            on:drop=move |ev: DragEvent| {
                if let Some(file) = take_dropped_file(&ev) {
                    dropped.set(Some(SendWrapper::new(file)));
                }
            }
        >
            <header class="toolbar">
                <input
                    id="notebook-title"
                    type="text"
                    aria-label="Notebook title"
                    prop:value=title.get_untracked()
                    on:input=move |ev| title.set(event_target_value(&ev))
                />
                <span
                    id="kernel-status"
                    data-state=move || kernel_state.get().as_str()
                    title="The kernel runs in a Web Worker"
                >
                    {move || kernel_state.get().label()}
                </span>
                <button id="run-all" on:click=run_all>
                    "Run all"
                </button>
                <button id="restart-kernel" on:click=restart>
                    "Restart kernel"
                </button>
                <button id="save" on:click=save>
                    "Save"
                </button>
                <span id="save-status" data-state=move || save_state.with(SaveState::as_str) role="status">
                    {move || save_state.with(SaveState::message)}
                </span>
            </header>
            <DataPanel
                kernel=panel_kernel
                dropped=dropped
                datasets=Signal::derive(move || datasets.get())
                on_refresh_datasets=refresh_datasets
            />
            <div id="cells">
                <For each=move || cells.get() key=|cell| cell.id.clone() let(cell)>
                    <CellView cell=cell ctx=ctx.clone() />
                </For>
                <Show when=move || cells.with(Vec::is_empty)>
                    <p class="empty">"This notebook has no cells yet: add one below."</p>
                </Show>
            </div>
            <footer class="add-cells">
                <button id="add-code-cell" on:click=move |_| add_cell(CellKind::Code)>
                    "+ Code cell"
                </button>
                <button id="add-markdown-cell" on:click=move |_| add_cell_too(CellKind::Markdown)>
                    "+ Markdown cell"
                </button>
            </footer>
        </div>
    }
}

#[component]
fn CellView(cell: CellModel, ctx: EditorCtx) -> impl IntoView {
    let kind = match cell.kind {
        CellKind::Code => "code",
        CellKind::Markdown => "markdown",
    };
    let source = cell.source;
    let status = cell.status;
    let rows = move || source.with(|s| s.lines().count() + 1).clamp(2, 40);
    let body = match cell.kind {
        CellKind::Markdown => Either::Left(view! {
            <div class="markdown-rendered" inner_html=move || render_markdown(&source.get())></div>
        }),
        CellKind::Code => Either::Right(view! { <OutputList outputs=cell.outputs /> }),
    };
    let on_keydown = {
        let (ctx, cell) = (ctx.clone(), cell.clone());
        move |ev: KeyboardEvent| {
            if ev.key() == "Enter" && ev.shift_key() {
                ev.prevent_default();
                ctx.run(&cell);
            }
        }
    };
    let on_run = {
        let (ctx, cell) = (ctx.clone(), cell.clone());
        move |_| ctx.run(&cell)
    };
    // Cancel shows while the cell is queued or running; the bar once a fit reports.
    let in_flight = move || {
        matches!(
            status.get(),
            CellStatus::Queued | CellStatus::Running | CellStatus::Waiting
        )
    };
    let cancel_button = {
        let (ctx, cell) = (ctx.clone(), cell.clone());
        move || {
            let (ctx, cell) = (ctx.clone(), cell.clone());
            let cancelling = cell.cancelling;
            in_flight().then(move || {
                view! {
                    <button
                        class="cancel-cell"
                        title="Stop this cell"
                        prop:disabled=move || cancelling.get()
                        on:click=move |_| ctx.cancel(&cell)
                    >
                        {move || if cancelling.get() { "Cancelling…" } else { "■ Cancel" }}
                    </button>
                }
            })
        }
    };
    let progress = cell.progress;
    let progress_bar = move || {
        let shown = progress
            .get()
            .filter(|_| status.get() == CellStatus::Running)?;
        Some(view! {
            <div class="cell-progress-row">
                <progress
                    class="cell-progress"
                    data-progress=shown.done.to_string()
                    data-total=shown.total.to_string()
                    data-unit=shown.unit.clone()
                    value=shown.done.to_string()
                    max=shown.total.max(1).to_string()
                ></progress>
                <span class="cell-progress-text">{shown.text()}</span>
            </div>
        })
    };
    let (up_ctx, down_ctx, delete_ctx) = (ctx.clone(), ctx.clone(), ctx);
    let (up_id, down_id, delete_id) = (cell.id.clone(), cell.id.clone(), cell.id.clone());

    view! {
        <div
            class="cell"
            data-cell-id=cell.id.clone()
            data-kind=kind
            data-status=move || status_name(status.get())
        >
            <div class="cell-toolbar">
                <span class="cell-kind">{kind}</span>
                <span class="cell-state">{move || status_label(status.get())}</span>
                <button class="run-cell" title="Run (Shift+Enter)" on:click=on_run>
                    "▶ Run"
                </button>
                {cancel_button}
                <button class="move-up" title="Move up" on:click=move |_| up_ctx.shift(&up_id, true)>
                    "↑"
                </button>
                <button class="move-down" title="Move down" on:click=move |_| down_ctx.shift(&down_id, false)>
                    "↓"
                </button>
                <button class="delete-cell" title="Delete cell" on:click=move |_| delete_ctx.delete(&delete_id)>
                    "Delete"
                </button>
            </div>
            <textarea
                class="cell-source"
                spellcheck="false"
                rows=rows
                prop:value=source.get_untracked()
                on:input=move |ev| source.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            {progress_bar}
            {body}
        </div>
    }
}

fn status_label(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Idle => "",
        CellStatus::Queued => "queued",
        CellStatus::Running => "running…",
        CellStatus::Waiting => "fetching files…",
        CellStatus::Done => "done",
        CellStatus::Failed => "failed",
    }
}
