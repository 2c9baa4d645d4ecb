//! Wire types of Oxbook: what crosses the boundaries between the page, the kernel worker,
//! the server and the command line. Plain data with public fields and serde, nothing else:
//! this crate does no computation, so the page's bundle can depend on it without pulling
//! in the kernel.

pub mod dataset;
pub mod kernel;
pub mod model;
pub mod notebook;
pub mod run;

pub use dataset::{
    dataset_data_path, dataset_of_url, is_valid_dataset_name, DatasetColumn, DatasetFormat,
    DatasetInfo, DATASET_NAME_RULE,
};
pub use kernel::{
    CellRun, CellStatus, Effect, EffectOutcome, KernelEvent, KernelRequest, LoadRequest, LoadSource,
};
pub use model::{
    is_valid_registry_name, EndpointInfo, EndpointSpec, InvocationRequest, InvocationResponse,
    ModelId, ModelSummary, REGISTRY_NAME_RULE,
};
pub use notebook::{
    Cell, CellError, CellId, CellKind, MimeBundle, Notebook, NotebookId, NotebookSummary, Output,
    TableColumn, TableData, CANCELLED, NOTEBOOK_SCHEMA_VERSION,
};
pub use run::{is_valid_run_id, DatasetRef, RunContext, RunKind, RunRecord, RunSpec, RUN_ID_RULE};

/// A JSON error body as every Oxbook HTTP route returns it: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
