//! Messages between the page and a kernel (in the browser's worker, or any other host).
//! Serialized as JSON strings across the worker boundary.

use serde::{Deserialize, Serialize};

use crate::notebook::{CellId, Output};

/// What the page asks of the kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KernelRequest {
    /// Run a code cell in the kernel's persistent scope.
    Execute { cell_id: CellId, code: String },
    /// Forget every variable (and every provided file).
    Reset,
    /// The bytes behind `url`, which a cell asked for with [`Effect::FetchFile`].
    ProvideFile { url: String, bytes: Vec<u8> },
    /// Load a table into the variable `variable`, streaming it through the kernel's push
    /// parser in chunks. The bytes do not travel in this message: the page posts the
    /// browser `File` (or the worker fetches `source` when it is a URL) beside it.
    Load(LoadRequest),
    /// Where the kernel runs; sent once after start (and again when the notebook is saved
    /// under a new revision). Runs and model lineage carry it.
    SetContext(crate::run::RunContext),
}

/// A table to stream into a notebook variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRequest {
    /// Chosen by the page; progress and the result name it.
    pub load_id: String,
    /// The script variable that receives the frame.
    pub variable: String,
    pub source: LoadSource,
    /// `csv`, `tsv`, `json`, `jsonl` or `parquet`; guessed from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Loader options as the cell function takes them (delimiter, null markers, types...).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LoadSource {
    /// A file the user picked or dropped; the `File` object is posted with the message.
    File { name: String, size: u64 },
    /// A URL the worker fetches (relative URLs are against the server's origin). When the
    /// browser's fetch fails, the worker retries through the server's `/api/fetch`.
    Url { url: String },
}

impl LoadSource {
    /// What the bytes are called: the file's name or the URL.
    pub fn name(&self) -> &str {
        match self {
            LoadSource::File { name, .. } => name,
            LoadSource::Url { url } => url,
        }
    }
}

/// What the kernel tells the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KernelEvent {
    /// The kernel is loaded and takes requests.
    Ready,
    /// A cell began running.
    Started { cell_id: CellId },
    /// A cell ended; effects are for the host to carry out.
    Finished(CellRun),
    /// A long fit or cross-validation in the running cell has done `done` of `total`
    /// units (`unit`, plural: "trees", "rounds", "iterations", "folds"). Hosts throttle
    /// these (the worker posts at most about ten a second).
    Progress {
        cell_id: CellId,
        done: u64,
        total: u64,
        unit: String,
    },
    /// Streaming a load: bytes parsed so far of `bytes_total` (when known).
    LoadProgress {
        load_id: String,
        bytes_done: u64,
        bytes_total: Option<u64>,
    },
    /// A load ended: on success the variable holds the frame and `outputs` describe it
    /// (a table preview and any diagnostics); on failure `outputs` holds the error.
    LoadFinished {
        load_id: String,
        variable: String,
        ok: bool,
        outputs: Vec<Output>,
    },
}

/// The result of running one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRun {
    pub cell_id: CellId,
    pub status: CellStatus,
    pub outputs: Vec<Output>,
    /// Things the cell asked for outside the kernel, in the order asked.
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    Idle,
    Queued,
    Running,
    /// The cell needs files it asked for with [`Effect::FetchFile`]; it was rolled back
    /// (its changes to the scope undone) and runs again once they are provided.
    Waiting,
    Done,
    Failed,
}

/// A request from a cell for something the kernel cannot do itself (it does no I/O).
/// Its host — the page, the server or the command line — carries it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Fetch the bytes at `url` (relative URLs are against the server's origin) and hand
    /// them to the kernel with [`KernelRequest::ProvideFile`], then run the cell again.
    FetchFile { url: String },
    /// Store the model in the registry under `model_name` and point the endpoint
    /// `endpoint` at that new version (creating the endpoint if needed).
    Deploy {
        endpoint: String,
        model_name: String,
        /// The model artifact document (JSON), opaque to hosts.
        artifact: String,
    },
    /// Store the model in the registry without deploying it.
    SaveModel {
        model_name: String,
        artifact: String,
    },
    /// Record an experiment run (a fit or a cross-validation) on the server, adding the
    /// host's [`crate::run::RunContext`]. Hosts without a server may skip it.
    RecordRun { run: crate::run::RunSpec },
}

/// How the host reports having carried out an effect, shown under the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EffectOutcome {
    Deployed {
        endpoint: String,
        model: crate::model::ModelId,
        url: String,
    },
    Saved {
        model: crate::model::ModelId,
    },
    Recorded {
        run_id: String,
    },
    Failed {
        message: String,
    },
}
