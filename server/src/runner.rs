//! `oxbook run`: runs a notebook's code cells in order with the native kernel, prints their
//! outputs, and carries out what the cells ask for (files, model saves and deploys, and
//! experiment runs to record).
//!
//! Long fits print their progress to stderr (at most one line a second, plus each tenth
//! of the way), and Ctrl-C cancels the running cell ([`watch_ctrl_c`]): the kernel's
//! interrupt reads the flag the signal sets, the cell ends with a `Cancelled` error, and
//! the run stops naming it. A second Ctrl-C quits at once.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oxbook_kernel::{FitProgress, Session};
use oxbook_protocol::{
    CellKind, CellRun, CellStatus, Effect, EndpointInfo, EndpointSpec, ErrorBody, ModelId,
    Notebook, Output, RunContext, RunRecord, RunSpec, NOTEBOOK_SCHEMA_VERSION,
};
use reqwest::Url;

use crate::cli::RunArgs;
use crate::error::is_valid_name;
use crate::render::{render_error, render_output};

/// How many times one cell may be re-run after being handed files it asked for. Each
/// round provides at least one new file, so this only stops a cell that keeps inventing
/// new URLs.
const MAX_FETCH_ROUNDS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the notebook file {path}: {source}")]
    ReadNotebook {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name} is not an Oxbook notebook: {message}")]
    ParseNotebook {
        source_name: String,
        message: String,
    },
    #[error(
        "the notebook's schema_version {found} is newer than this oxbook understands \
         ({NOTEBOOK_SCHEMA_VERSION}); upgrade oxbook"
    )]
    NewerSchema { found: u32 },
    #[error(
        "`{0}` is not a notebook file, and without --server there is nowhere to fetch a \
         notebook with that id from"
    )]
    NoSuchNotebook(String),
    #[error("cell {index} (id `{id}`) was cancelled with Ctrl-C: {message}")]
    Cancelled {
        index: usize,
        id: String,
        message: String,
    },
    #[error("cell {index} (id `{id}`) failed: {message}")]
    CellFailed {
        index: usize,
        id: String,
        message: String,
    },
    #[error("cell {index} (id `{id}`): {message}")]
    Effect {
        index: usize,
        id: String,
        message: String,
    },
    #[error("{0}")]
    Server(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub cells_run: usize,
    /// Models stored on the server (saved or deployed).
    pub models: Vec<ModelId>,
    /// Endpoints created or repointed on the server.
    pub endpoints: Vec<EndpointInfo>,
    /// Model files written without a server.
    pub written: Vec<PathBuf>,
    /// Experiment runs recorded on the server, or written to [`RUNS_FILE_NAME`] without one,
    /// as stored (`created_at` is set only by a server).
    pub runs: Vec<RunRecord>,
}

/// Without a server, runs are appended to this file in `--out-dir`, one JSON
/// [`RunRecord`] per line.
pub const RUNS_FILE_NAME: &str = "runs.jsonl";

/// Where the session runs: a fresh random session id (run ids start with it, so two runs of
/// one notebook never share ids) and the notebook's id and revision.
pub fn run_context(notebook: &Notebook) -> RunContext {
    RunContext {
        session_id: uuid::Uuid::new_v4().to_string(),
        notebook_id: Some(notebook.id.clone()),
        notebook_revision: Some(notebook.revision),
    }
}

/// The kernel's clock: milliseconds since the Unix epoch (0 for a clock set before 1970).
pub fn epoch_millis() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0)
}

/// Where Ctrl-C is heard: raised by the first one, read by the kernel's interrupt.
pub type CancelFlag = Arc<AtomicBool>;

/// Listens for Ctrl-C in a task on `runtime`, which must have a worker thread of its own
/// (the thread that runs the notebook is busy inside a cell while one runs): the first
/// raises the returned flag, which cancels the running cell; a second quits at once with
/// status 130, as an uncaught SIGINT would.
pub fn watch_ctrl_c(runtime: &tokio::runtime::Handle) -> CancelFlag {
    let flag = CancelFlag::default();
    let raised = flag.clone();
    runtime.spawn(async move {
        loop {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "Ctrl-C will not cancel cells");
                return;
            }
            if raised.swap(true, Ordering::SeqCst) {
                eprintln!("oxbook: interrupted again; quitting");
                std::process::exit(130);
            }
            eprintln!("oxbook: cancelling the running cell (Ctrl-C again to quit at once)");
        }
    });
    flag
}

/// Decides which fit progress to print: each fit's first and last report, the first
/// report in each further tenth of the way, and otherwise at most one a second.
#[derive(Debug)]
pub struct ProgressLines {
    interval: Duration,
    last: Option<(Instant, usize)>,
}

impl ProgressLines {
    pub fn new(interval: Duration) -> Self {
        ProgressLines {
            interval,
            last: None,
        }
    }

    /// Whether to print `progress` heard at `now`.
    pub fn ready(&mut self, progress: &FitProgress, now: Instant) -> bool {
        let tenth = |done: usize| done * 10 / progress.total.max(1);
        let due = match self.last {
            // A new fit (its count went back) or the first report.
            Some((_, last)) if progress.done < last => true,
            None => true,
            Some((at, last)) => {
                progress.done >= progress.total
                    || tenth(progress.done) > tenth(last)
                    || now.duration_since(at) >= self.interval
            }
        };
        if due {
            self.last = Some((now, progress.done));
        }
        due
    }
}

/// Runs the notebook named by `args`, printing to `out`. Stops at the first failing cell.
pub async fn run(args: &RunArgs, out: &mut dyn Write) -> Result<RunSummary, RunError> {
    run_cancellable(args, out, CancelFlag::default()).await
}

/// [`run`], cancelling the running cell once `cancel` is raised (see [`watch_ctrl_c`]),
/// and printing fit progress to stderr.
pub async fn run_cancellable(
    args: &RunArgs,
    out: &mut dyn Write,
    cancel: CancelFlag,
) -> Result<RunSummary, RunError> {
    let remote = args.server.clone().map(Remote::new).transpose()?;
    let notebook = load_notebook(&args.notebook, remote.as_ref()).await?;
    let files = FileSource {
        remote: remote.as_ref(),
        static_dir: &args.static_dir,
    };
    let context = run_context(&notebook);
    let mut session = Session::new();
    session.set_context(context.clone());
    session.set_clock(epoch_millis);
    // The running cell, as progress lines name it.
    let running = Rc::new(RefCell::new(String::new()));
    session.set_progress({
        let running = running.clone();
        let lines = RefCell::new(ProgressLines::new(Duration::from_secs(1)));
        move |progress: FitProgress| {
            if lines.borrow_mut().ready(&progress, Instant::now()) {
                eprintln!(
                    "{}: {} of {} {}",
                    running.borrow(),
                    progress.done,
                    progress.total,
                    progress.unit
                );
            }
        }
    });
    session.set_interrupt({
        let cancel = cancel.clone();
        move || cancel.load(Ordering::SeqCst)
    });
    let host = EffectHost {
        remote: remote.as_ref(),
        out_dir: &args.out_dir,
        context: &context,
    };
    let mut summary = RunSummary::default();
    writeln!(
        out,
        "notebook: {} ({} cells)",
        notebook.title,
        notebook.cells.len()
    )?;
    for (position, cell) in notebook.cells.iter().enumerate() {
        if cell.kind != CellKind::Code {
            continue;
        }
        // 1-based, as a person counts cells on the page.
        let index = position + 1;
        if cancel.load(Ordering::SeqCst) {
            // Ctrl-C between cells (while effects were carried out): stop before this one.
            return Err(RunError::Cancelled {
                index,
                id: cell.id.clone(),
                message: "cancelled before it started".into(),
            });
        }
        writeln!(out, "--- cell {index} (id {}) ---", cell.id)?;
        *running.borrow_mut() = format!("cell {index} (id {})", cell.id);
        let run = run_cell(&mut session, index, &cell.id, &cell.source, &files).await?;
        for output in &run.outputs {
            writeln!(out, "{}", render_output(output))?;
        }
        if run.status != CellStatus::Done {
            let error = run.outputs.iter().find_map(|output| match output {
                Output::Error(error) => Some(error),
                Output::DisplayData { .. } => None,
            });
            let message = error
                .map(render_error)
                .unwrap_or_else(|| format!("the cell ended {:?}", run.status).to_lowercase());
            if error.is_some_and(|e| e.ename == oxbook_protocol::CANCELLED) {
                return Err(RunError::Cancelled {
                    index,
                    id: cell.id.clone(),
                    message,
                });
            }
            return Err(RunError::CellFailed {
                index,
                id: cell.id.clone(),
                message,
            });
        }
        summary.cells_run += 1;
        for effect in &run.effects {
            host.carry_out(effect, index, &cell.id, &mut summary, out)
                .await?;
        }
    }
    writeln!(out, "ran {} code cells", summary.cells_run)?;
    Ok(summary)
}

/// Runs one cell, handing it the files it asks for and running it again until it finishes.
async fn run_cell(
    session: &mut Session,
    index: usize,
    id: &str,
    source: &str,
    files: &FileSource<'_>,
) -> Result<CellRun, RunError> {
    let mut provided: HashSet<String> = HashSet::new();
    for _ in 0..MAX_FETCH_ROUNDS {
        let run = session.execute(id, source);
        if run.status != CellStatus::Waiting {
            return Ok(run);
        }
        let wanted: Vec<&String> = run
            .effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::FetchFile { url } => Some(url),
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return Err(RunError::Effect {
                index,
                id: id.to_string(),
                message: "the cell is waiting but asked for no file".to_string(),
            });
        }
        for url in wanted {
            if !provided.insert(url.clone()) {
                return Err(RunError::Effect {
                    index,
                    id: id.to_string(),
                    message: format!("the cell asked for `{url}` again after it was provided"),
                });
            }
            let bytes = files.fetch(url).await.map_err(|message| RunError::Effect {
                index,
                id: id.to_string(),
                message: format!("cannot fetch `{url}`: {message}"),
            })?;
            session.provide_file(url, bytes);
        }
    }
    Err(RunError::Effect {
        index,
        id: id.to_string(),
        message: format!("the cell asked for files more than {MAX_FETCH_ROUNDS} times"),
    })
}

/// Where a run's effects go: the server when there is one, else files in `out_dir`.
pub struct EffectHost<'a> {
    remote: Option<&'a Remote>,
    out_dir: &'a Path,
    /// Added to each recorded run.
    context: &'a RunContext,
}

impl<'a> EffectHost<'a> {
    /// A host carrying effects out on `remote` (see [`Remote::new`]), or into `out_dir`
    /// without one.
    pub fn new(
        remote: Option<&'a Remote>,
        out_dir: &'a Path,
        context: &'a RunContext,
    ) -> EffectHost<'a> {
        EffectHost {
            remote,
            out_dir,
            context,
        }
    }

    /// Carries out what cell `index` (id `cell_id`) asked for, printing one line per thing
    /// done to `out` and noting it in `summary`.
    pub async fn carry_out(
        &self,
        effect: &Effect,
        index: usize,
        cell_id: &str,
        summary: &mut RunSummary,
        out: &mut dyn Write,
    ) -> Result<(), RunError> {
        let fail = |message: String| RunError::Effect {
            index,
            id: cell_id.to_string(),
            message,
        };
        match effect {
            // Files were handed over before the cell finished; nothing is left to do.
            Effect::FetchFile { .. } => Ok(()),
            Effect::SaveModel {
                model_name,
                artifact,
            } => self
                .store_model(model_name, artifact, None, summary, out)
                .await
                .map_err(fail),
            Effect::Deploy {
                endpoint,
                model_name,
                artifact,
            } => self
                .store_model(model_name, artifact, Some(endpoint), summary, out)
                .await
                .map_err(fail),
            Effect::RecordRun { run } => self.record_run(run, summary, out).await.map_err(fail),
        }
    }

    /// Saves or deploys a model the cell produced.
    async fn store_model(
        &self,
        model_name: &str,
        artifact: &str,
        endpoint: Option<&String>,
        summary: &mut RunSummary,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        if !is_valid_name(model_name) {
            return Err(format!(
                "invalid model name `{model_name}`: use 1 to 64 characters of a-z, 0-9, `-` and `_`"
            ));
        }
        let io = |e: std::io::Error| format!("cannot write the output: {e}");
        match self.remote {
            Some(remote) => {
                let model = remote.upload_model(model_name, artifact).await?;
                match endpoint {
                    Some(endpoint) => {
                        let info = remote.put_endpoint(endpoint, &model).await?;
                        let url = remote.url_of(&info.invocations_path)?;
                        writeln!(
                            out,
                            "deployed model `{}` version {} to endpoint `{}`: POST {url}",
                            model.name, model.version, info.name
                        )
                        .map_err(io)?;
                        summary.endpoints.push(info);
                    }
                    None => writeln!(
                        out,
                        "saved model `{}` version {}",
                        model.name, model.version
                    )
                    .map_err(io)?,
                }
                summary.models.push(model);
            }
            None => {
                self.create_out_dir()?;
                let path = self.out_dir.join(format!("{model_name}.model.json"));
                std::fs::write(&path, artifact)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                match endpoint {
                    Some(endpoint) => writeln!(
                        out,
                        "no --server to deploy endpoint `{endpoint}` to: wrote model `{model_name}` to {}",
                        path.display()
                    ),
                    None => writeln!(out, "wrote model `{model_name}` to {}", path.display()),
                }
                .map_err(io)?;
                summary.written.push(path);
            }
        }
        Ok(())
    }

    /// Records an experiment run with the session's notebook and revision: on the server,
    /// else as one more line of `runs.jsonl` in the output directory.
    async fn record_run(
        &self,
        spec: &RunSpec,
        summary: &mut RunSummary,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let record = RunRecord {
            spec: spec.clone(),
            notebook_id: self.context.notebook_id.clone(),
            notebook_revision: self.context.notebook_revision,
            created_at: String::new(),
        };
        let io = |e: std::io::Error| format!("cannot write the output: {e}");
        let stored = match self.remote {
            Some(remote) => {
                let stored = remote.put_run(&record).await?;
                writeln!(
                    out,
                    "recorded run `{}`: {}",
                    stored.spec.id,
                    describe_run(spec)
                )
                .map_err(io)?;
                stored
            }
            None => {
                self.create_out_dir()?;
                let path = self.out_dir.join(RUNS_FILE_NAME);
                let line = serde_json::to_string(&record)
                    .map_err(|e| format!("cannot encode run `{}`: {e}", spec.id))?;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                // One write per line, so a reader never sees half a run.
                file.write_all(format!("{line}\n").as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                writeln!(
                    out,
                    "no --server to record run `{}` on: appended it to {} ({})",
                    spec.id,
                    path.display(),
                    describe_run(spec)
                )
                .map_err(io)?;
                record
            }
        };
        summary.runs.push(stored);
        Ok(())
    }

    fn create_out_dir(&self) -> Result<(), String> {
        std::fs::create_dir_all(self.out_dir).map_err(|e| {
            format!(
                "cannot create the output directory {}: {e}",
                self.out_dir.display()
            )
        })
    }
}

/// A run in a few words: `fit random_forest on hats.csv, 800 rows, 12 ms: train_accuracy=0.93`.
pub fn describe_run(spec: &RunSpec) -> String {
    let mut text = format!("{} {}", spec.kind.name(), spec.algorithm);
    if let Some(dataset) = &spec.dataset {
        text.push_str(&format!(" on {}", dataset.name));
    }
    text.push_str(&format!(", {} rows, {:.0} ms", spec.rows, spec.duration_ms));
    let metrics: Vec<String> = spec
        .metrics
        .iter()
        .map(|(name, value)| format!("{name}={}", short_number(*value)))
        .collect();
    if !metrics.is_empty() {
        text.push_str(": ");
        text.push_str(&metrics.join(", "));
    }
    text
}

/// At most four decimals, without trailing zeros.
fn short_number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Reads the notebook from a file, or else fetches it by id from the server.
async fn load_notebook(name: &str, remote: Option<&Remote>) -> Result<Notebook, RunError> {
    let path = Path::new(name);
    let notebook: Notebook = if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|source| RunError::ReadNotebook {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| RunError::ParseNotebook {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?
    } else if let Some(remote) = remote {
        remote.get_notebook(name).await?
    } else {
        return Err(RunError::NoSuchNotebook(name.to_string()));
    };
    if notebook.schema_version > NOTEBOOK_SCHEMA_VERSION {
        return Err(RunError::NewerSchema {
            found: notebook.schema_version,
        });
    }
    Ok(notebook)
}

/// Where a cell's file URLs are read from.
struct FileSource<'a> {
    remote: Option<&'a Remote>,
    static_dir: &'a Path,
}

impl FileSource<'_> {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let is_absolute = url.starts_with("http://") || url.starts_with("https://");
        if let Some(remote) = self.remote {
            let target = if is_absolute {
                Url::parse(url).map_err(|e| e.to_string())?
            } else {
                remote.url_of(url)?
            };
            return remote.get_bytes(target).await;
        }
        if is_absolute {
            let target = Url::parse(url).map_err(|e| e.to_string())?;
            return Remote::new(target.clone())
                .map_err(|e| e.to_string())?
                .get_bytes(target)
                .await;
        }
        let path = match url.strip_prefix("/static/") {
            Some(rest) => self.static_dir.join(rest),
            None => PathBuf::from(url),
        };
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// An Oxbook server's HTTP API.
pub struct Remote {
    client: reqwest::Client,
    base: Url,
}

impl Remote {
    /// The server at `base` (e.g. `http://127.0.0.1:8080`, or one under a path prefix).
    pub fn new(base: Url) -> Result<Remote, RunError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| RunError::Server(format!("cannot create an HTTP client: {e}")))?;
        Ok(Remote { client, base })
    }

    /// `path` (absolute, like `/api/models/m`) under the server's base URL, keeping any
    /// prefix the base has (a server behind `https://host/oxbook/`).
    fn url_of(&self, path: &str) -> Result<Url, String> {
        let base = self.base.as_str().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        Url::parse(&format!("{base}/{path}")).map_err(|e| format!("bad URL for `{path}`: {e}"))
    }

    fn api_url(&self, segments: &[&str]) -> Result<Url, String> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| format!("{} cannot be a server URL", self.base))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn get_bytes(&self, url: Url) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let response = check(response).await?;
        Ok(response.bytes().await.map_err(|e| e.to_string())?.to_vec())
    }

    async fn get_notebook(&self, id: &str) -> Result<Notebook, RunError> {
        let url = self
            .api_url(&["api", "notebooks", id])
            .map_err(RunError::Server)?;
        let fail =
            |message: String| RunError::Server(format!("cannot fetch notebook `{id}`: {message}"));
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let response = check(response).await.map_err(fail)?;
        let text = response.text().await.map_err(|e| fail(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| RunError::ParseNotebook {
            source_name: format!("notebook `{id}` from the server"),
            message: e.to_string(),
        })
    }

    async fn upload_model(&self, name: &str, artifact: &str) -> Result<ModelId, String> {
        let url = self.api_url(&["api", "models", name])?;
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(artifact.to_string())
            .send()
            .await
            .map_err(|e| format!("cannot store model `{name}`: {e}"))?;
        let response = check(response)
            .await
            .map_err(|e| format!("cannot store model `{name}`: {e}"))?;
        response
            .json()
            .await
            .map_err(|e| format!("cannot store model `{name}`: {e}"))
    }

    async fn put_run(&self, run: &RunRecord) -> Result<RunRecord, String> {
        let id = &run.spec.id;
        let fail = |e: String| format!("cannot record run `{id}`: {e}");
        let url = self.api_url(&["api", "runs", id]).map_err(fail)?;
        let response = self
            .client
            .put(url)
            .json(run)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let response = check(response).await.map_err(fail)?;
        response.json().await.map_err(|e| fail(e.to_string()))
    }

    async fn put_endpoint(&self, endpoint: &str, model: &ModelId) -> Result<EndpointInfo, String> {
        let url = self.api_url(&["api", "endpoints", endpoint])?;
        let spec = EndpointSpec {
            model: model.name.clone(),
            version: Some(model.version),
        };
        let fail = |e: String| format!("cannot deploy endpoint `{endpoint}`: {e}");
        let response = self
            .client
            .put(url)
            .json(&spec)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let response = check(response).await.map_err(fail)?;
        response.json().await.map_err(|e| fail(e.to_string()))
    }
}

/// The response if it succeeded, else the server's error message with its status.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, String> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = response.url().clone();
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&body)
        .map(|e| e.error)
        .unwrap_or_else(|_| body.chars().take(200).collect());
    Err(format!("{url} answered {status}: {message}"))
}
