//! Running cells: one at a time, in the order asked, on the kernel worker; carrying out the
//! effects a finished cell asks for (fetching files, storing and deploying models,
//! recording experiment runs); and turning a dead kernel into a failed cell instead of a
//! stuck page. The running cell shows its long fits' progress and can be cancelled
//! ([`Runner::cancel`]).

use std::cell::{Cell as StdCell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use leptos::prelude::*;
use oxbook_protocol::{
    Cell, CellError, CellId, CellKind, CellStatus, Effect, EffectOutcome, EndpointSpec, Output,
    RunContext, RunRecord, RunSpec, CANCELLED,
};

use crate::api;
use crate::kernel_bridge::{CellProgress, KernelBridge, KernelError};

/// A cell that asks for files again and again would otherwise never finish.
pub const MAX_FETCH_ROUNDS: u32 = 8;

/// One cell as the editor holds it: fixed identity, reactive contents.
#[derive(Debug, Clone)]
pub struct CellModel {
    pub id: CellId,
    pub kind: CellKind,
    pub source: RwSignal<String>,
    pub outputs: RwSignal<Vec<Output>>,
    pub status: RwSignal<CellStatus>,
    /// How far the running cell's current long fit has got (`None` when none reported).
    pub progress: RwSignal<Option<CellProgress>>,
    /// Cancel was pressed and the cell has not ended yet.
    pub cancelling: RwSignal<bool>,
}

impl CellModel {
    pub fn from_cell(cell: Cell) -> Self {
        CellModel {
            id: cell.id,
            kind: cell.kind,
            source: RwSignal::new(cell.source),
            outputs: RwSignal::new(cell.outputs),
            status: RwSignal::new(CellStatus::Idle),
            progress: RwSignal::new(None),
            cancelling: RwSignal::new(false),
        }
    }

    pub fn empty(kind: CellKind) -> Self {
        CellModel::from_cell(Cell {
            id: new_cell_id(),
            kind,
            source: String::new(),
            outputs: Vec::new(),
        })
    }

    /// The cell as saved (outputs included, run state not).
    pub fn to_cell(&self) -> Cell {
        Cell {
            id: self.id.clone(),
            kind: self.kind,
            source: self.source.get_untracked(),
            outputs: if self.kind == CellKind::Code {
                self.outputs.get_untracked()
            } else {
                Vec::new()
            },
        }
    }
}

/// A fresh cell id: 16 random hex digits (ids only need to be unique within a notebook).
pub fn new_cell_id() -> CellId {
    let mut id = String::with_capacity(16);
    for _ in 0..2 {
        let half = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
        id.push_str(&format!("{half:08x}"));
    }
    id
}

/// The name a cell's state has in `data-status`.
pub fn status_name(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Idle => "idle",
        CellStatus::Queued => "queued",
        CellStatus::Running => "running",
        CellStatus::Waiting => "waiting",
        CellStatus::Done => "done",
        CellStatus::Failed => "failed",
    }
}

pub fn error_output(ename: &str, message: impl Into<String>) -> Output {
    Output::Error(CellError {
        ename: ename.to_string(),
        message: message.into(),
        line: None,
        column: None,
    })
}

/// How a cell ends when the kernel itself failed under it.
pub fn kernel_failure(error: &KernelError) -> (CellStatus, Output) {
    let output = match error {
        KernelError::Crashed { reason } => error_output(
            "KernelCrashed",
            format!(
                "The kernel crashed while running this cell ({reason}) and was restarted; \
                 variables from earlier cells are lost — run them again."
            ),
        ),
        KernelError::Restarted => error_output(
            "KernelRestarted",
            "The kernel was restarted before this cell finished; variables from earlier cells are lost.",
        ),
        KernelError::Busy { running } => {
            error_output("KernelBusy", format!("The kernel is still running cell {running}."))
        }
        KernelError::Unavailable { reason } => error_output(
            "KernelUnavailable",
            format!("The kernel could not be started ({reason}). Use Restart kernel or reload the page."),
        ),
        KernelError::DuplicateLoad { .. } => error_output("KernelBusy", error.to_string()),
        KernelError::CancelledByRestart => error_output(
            CANCELLED,
            format!("The cell was {error}; run them again."),
        ),
    };
    (CellStatus::Failed, output)
}

/// Runs cells on one kernel; clones share the queue.
#[derive(Clone)]
pub struct Runner {
    inner: Rc<RunnerInner>,
}

struct RunnerInner {
    kernel: KernelBridge,
    queue: RefCell<VecDeque<CellModel>>,
    driving: StdCell<bool>,
    /// The cell being run (executing, or fetching the files it asked for).
    current: RefCell<Option<CellId>>,
}

impl Runner {
    pub fn new(kernel: KernelBridge) -> Self {
        Runner {
            inner: Rc::new(RunnerInner {
                kernel,
                queue: RefCell::new(VecDeque::new()),
                driving: StdCell::new(false),
                current: RefCell::new(None),
            }),
        }
    }

    pub fn kernel(&self) -> &KernelBridge {
        &self.inner.kernel
    }

    /// Queues `cell` to run after the cells already queued. Markdown cells have nothing to
    /// run: they are rendered, so they are done at once.
    pub fn enqueue(&self, cell: CellModel) {
        if cell.kind == CellKind::Markdown {
            cell.status.try_set(CellStatus::Done);
            return;
        }
        let in_flight = matches!(
            cell.status.try_get_untracked(),
            Some(CellStatus::Queued | CellStatus::Running | CellStatus::Waiting) | None
        );
        if in_flight {
            return;
        }
        cell.status.try_set(CellStatus::Queued);
        self.inner.queue.borrow_mut().push_back(cell);
        if !self.inner.driving.replace(true) {
            leptos::task::spawn_local(self.clone().drive());
        }
    }

    /// Cells waiting their turn go back to idle.
    pub fn cancel_queued(&self) {
        let cancelled: Vec<CellModel> = self.inner.queue.borrow_mut().drain(..).collect();
        for cell in cancelled {
            cell.status.try_set(CellStatus::Idle);
        }
    }

    /// Stops `cell`: a queued cell goes back to idle; the running one is interrupted (it
    /// ends failed with a `Cancelled` error, the kernel's variables kept where the page can
    /// share memory with the worker). Cells queued after it are not run.
    pub fn cancel(&self, cell: &CellModel) {
        let queued = {
            let mut queue = self.inner.queue.borrow_mut();
            let before = queue.len();
            queue.retain(|c| c.id != cell.id);
            before != queue.len()
        };
        if queued {
            cell.status.try_set(CellStatus::Idle);
            return;
        }
        if self.inner.current.borrow().as_deref() != Some(cell.id.as_str()) {
            return;
        }
        // Also read after fetching files: a cancelled cell is not run again.
        cell.cancelling.try_set(true);
        self.inner.kernel.cancel_cell();
    }

    /// Starts a fresh kernel: queued cells are cancelled, the running one fails.
    pub fn restart_kernel(&self) {
        self.cancel_queued();
        self.inner.kernel.restart();
    }

    async fn drive(self) {
        loop {
            let next = self.inner.queue.borrow_mut().pop_front();
            let Some(cell) = next else { break };
            *self.inner.current.borrow_mut() = Some(cell.id.clone());
            let status = self.run_cell(&cell).await;
            *self.inner.current.borrow_mut() = None;
            cell.progress.try_set(None);
            cell.cancelling.try_set(false);
            if status == CellStatus::Failed {
                // Later cells most likely build on this one (as in Jupyter's run all).
                self.cancel_queued();
            }
        }
        self.inner.driving.set(false);
    }

    async fn run_cell(&self, cell: &CellModel) -> CellStatus {
        let kernel = &self.inner.kernel;
        let Some(code) = cell.source.try_get_untracked() else {
            return CellStatus::Idle;
        };
        cell.outputs.try_set(Vec::new());
        cell.status.try_set(CellStatus::Running);
        let mut fetch_rounds = 0;
        loop {
            if cell.cancelling.try_get_untracked() == Some(true) {
                // Cancelled while its files were being fetched: not run again.
                return finish(
                    cell,
                    vec![error_output(CANCELLED, "the cell was cancelled")],
                    CellStatus::Failed,
                );
            }
            let progress = cell.progress;
            let shown = move |p: CellProgress| {
                progress.try_set(Some(p));
            };
            let run = match kernel.execute_with_progress(&cell.id, &code, shown).await {
                Ok(run) => run,
                Err(error) => {
                    return finish(cell, vec![kernel_failure(&error).1], CellStatus::Failed)
                }
            };
            let wanted: Vec<String> = run
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::FetchFile { url } => Some(url.clone()),
                    _ => None,
                })
                .collect();
            if let Err(output) = self.fetch_all(cell, &wanted).await {
                return finish(cell, vec![output], CellStatus::Failed);
            }
            if run.status == CellStatus::Waiting {
                fetch_rounds += 1;
                if wanted.is_empty() || fetch_rounds > MAX_FETCH_ROUNDS {
                    let why = if wanted.is_empty() {
                        "The cell is waiting for files but named none.".to_string()
                    } else {
                        format!("The cell still needs files after {MAX_FETCH_ROUNDS} rounds of fetching.")
                    };
                    return finish(
                        cell,
                        vec![error_output("FetchFailed", why)],
                        CellStatus::Failed,
                    );
                }
                cell.status.try_set(CellStatus::Running);
                continue;
            }
            let mut outputs = run.outputs;
            let mut status = run.status;
            let context = kernel.run_context();
            let mut recorded = Vec::new();
            for effect in run.effects {
                let output = match effect {
                    Effect::RecordRun { run } => {
                        match record_run(run.clone(), context.as_ref()).await {
                            EffectOutcome::Recorded { .. } => {
                                recorded.push(run);
                                None
                            }
                            outcome => Some(outcome_output(&outcome)),
                        }
                    }
                    effect => carry_out(effect).await,
                };
                if let Some(output) = output {
                    if matches!(output, Output::Error(_)) {
                        status = CellStatus::Failed;
                    }
                    outputs.push(output);
                }
            }
            outputs.extend(recorded_outputs(&recorded));
            return finish(cell, outputs, status);
        }
    }

    /// Fetches each url and hands it to the kernel; the first failure becomes the output.
    async fn fetch_all(&self, cell: &CellModel, urls: &[String]) -> Result<(), Output> {
        if urls.is_empty() {
            return Ok(());
        }
        cell.status.try_set(CellStatus::Waiting);
        for url in urls {
            match api::fetch_bytes(url).await {
                Ok(bytes) => self.inner.kernel.provide_file(url, bytes),
                Err(e) => return Err(error_output("FetchFailed", e.to_string())),
            }
        }
        Ok(())
    }
}

fn finish(cell: &CellModel, outputs: Vec<Output>, status: CellStatus) -> CellStatus {
    cell.outputs.try_set(outputs);
    cell.status.try_set(status);
    status
}

/// Carries out a model effect and says how it went (files are fetched before this, runs
/// recorded by [`record_run`]).
async fn carry_out(effect: Effect) -> Option<Output> {
    match effect {
        Effect::FetchFile { .. } => None,
        // Recorded by the cell's run, which sums the recorded runs up in one place.
        Effect::RecordRun { .. } => None,
        Effect::SaveModel {
            model_name,
            artifact,
        } => Some(match api::register_model(&model_name, &artifact).await {
            Ok(version) => Output::text(format!("Saved model {model_name} v{version}")),
            Err(e) => error_output("SaveModelFailed", e.to_string()),
        }),
        Effect::Deploy {
            endpoint,
            model_name,
            artifact,
        } => Some(deploy(&endpoint, &model_name, &artifact).await),
    }
}

async fn deploy(endpoint: &str, model_name: &str, artifact: &str) -> Output {
    let version = match api::register_model(model_name, artifact).await {
        Ok(version) => version,
        Err(e) => return error_output("DeployFailed", e.to_string()),
    };
    let spec = EndpointSpec {
        model: model_name.to_string(),
        version: Some(version),
    };
    match api::put_endpoint(endpoint, &spec).await {
        Ok(path) => {
            let path = path.unwrap_or_else(|| {
                format!(
                    "/endpoints/{}/invocations",
                    js_sys::encode_uri_component(endpoint)
                )
            });
            Output::text(deployed_message(
                endpoint,
                model_name,
                version,
                &format!("{}{path}", api::origin()),
            ))
        }
        Err(e) => error_output("DeployFailed", e.to_string()),
    }
}

/// The line shown under a cell after a deployment.
pub fn deployed_message(endpoint: &str, model_name: &str, version: u32, url: &str) -> String {
    if endpoint == model_name {
        format!("Deployed {model_name} v{version} — prediction URL: {url}")
    } else {
        format!("Deployed {model_name} v{version} to endpoint {endpoint} — prediction URL: {url}")
    }
}

/// Records a run the kernel did on the server, with the notebook and revision the kernel
/// was told it runs.
pub async fn record_run(run: RunSpec, context: Option<&RunContext>) -> EffectOutcome {
    let record = RunRecord {
        spec: run,
        notebook_id: context.and_then(|c| c.notebook_id.clone()),
        notebook_revision: context.and_then(|c| c.notebook_revision),
        created_at: String::new(),
    };
    match api::record_run(&record).await {
        Ok(stored) => EffectOutcome::Recorded {
            run_id: stored.spec.id,
        },
        Err(e) => EffectOutcome::Failed {
            message: e.to_string(),
        },
    }
}

/// How an effect's outcome shows under its cell.
pub fn outcome_output(outcome: &EffectOutcome) -> Output {
    match outcome {
        EffectOutcome::Deployed {
            endpoint,
            model,
            url,
        } => Output::text(deployed_message(endpoint, &model.name, model.version, url)),
        EffectOutcome::Saved { model } => {
            Output::text(format!("Saved model {} v{}", model.name, model.version))
        }
        EffectOutcome::Recorded { run_id } => Output::text(format!("Recorded run {run_id}")),
        EffectOutcome::Failed { message } => error_output("RecordRunFailed", message.clone()),
    }
}

/// Up to this many recorded runs get a line each under their cell; more (a sweep over
/// settings) get one line together.
pub const RUN_LINES_MAX: usize = 3;

/// The lines under a cell for the runs it recorded.
pub fn recorded_outputs(runs: &[RunSpec]) -> Vec<Output> {
    match runs {
        [] => Vec::new(),
        [first, .., last] if runs.len() > RUN_LINES_MAX => vec![Output::text(format!(
            "Recorded {} runs ({} … {}): compare them on the Runs page",
            runs.len(),
            first.id,
            last.id
        ))],
        _ => runs
            .iter()
            .map(|run| Output::text(recorded_message(run)))
            .collect(),
    }
}

/// `Recorded run ID: fit random_forest on hats.csv, train_accuracy=0.93`.
pub fn recorded_message(run: &RunSpec) -> String {
    let mut text = format!(
        "Recorded run {}: {} {}",
        run.id,
        run.kind.name(),
        run.algorithm
    );
    if let Some(dataset) = &run.dataset {
        text.push_str(&format!(" on {}", dataset.name));
    }
    for (name, value) in &run.metrics {
        text.push_str(&format!(", {name}={}", short_number(*value)));
    }
    text
}

/// At most four decimals, without trailing zeros: `0.9`, `0.8125`, `41.5`.
pub fn short_number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" => "0".to_string(),
        _ => text.to_string(),
    }
}
