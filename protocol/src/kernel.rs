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
    Failed {
        message: String,
    },
}
