//! Puts the demo notebook and its dataset into a fresh installation, so they are there on
//! first start.

use std::path::{Path, PathBuf};

use oxbook_protocol::{DatasetFormat, DatasetInfo, Notebook};

use crate::api::notebooks::check_notebook;
use crate::datasets::{ingest, DatasetObjects, DatasetsConfig, IngestError};
use crate::store::{Store, StoreError};

/// Where the demo notebook lives, relative to the static directory.
pub const DEMO_NOTEBOOK: &str = "demo/hat-demo.oxbook.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    /// There is no demo file; nothing to do.
    NoDemo,
    /// A notebook with the demo's id exists already (left as it is).
    AlreadyPresent {
        id: String,
    },
    Inserted {
        id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the demo notebook {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the demo notebook {path} is not a valid notebook: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Inserts `<static_dir>/demo/hat-demo.oxbook.json` unless a notebook with its id exists.
/// Idempotent: run it on every start.
pub async fn seed_demo(store: &Store, static_dir: &Path) -> Result<SeedOutcome, SeedError> {
    let path = static_dir.join(DEMO_NOTEBOOK);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SeedOutcome::NoDemo),
        Err(source) => return Err(SeedError::Read { path, source }),
    };
    let invalid = |message: String| SeedError::Invalid {
        path: path.clone(),
        message,
    };
    let mut notebook: Notebook = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    check_notebook(&notebook).map_err(invalid)?;
    if notebook.id.trim().is_empty() {
        return Err(invalid("its id is empty".to_string()));
    }
    // Saves name the revision they edited, and the first stored revision is 1.
    notebook.revision = notebook.revision.max(1);
    let id = notebook.id.clone();
    if store.insert_notebook_if_absent(&notebook).await? {
        Ok(SeedOutcome::Inserted { id })
    } else {
        Ok(SeedOutcome::AlreadyPresent { id })
    }
}

/// Where the demo dataset lives, relative to the static directory.
pub const DEMO_DATASET_FILE: &str = "demo/hats.csv";
/// The name the demo dataset is stored under.
pub const DEMO_DATASET_NAME: &str = "hats.csv";

#[derive(Debug, Clone, PartialEq)]
pub enum DatasetSeedOutcome {
    /// There is no demo file; nothing to do.
    NoDemo,
    /// A dataset of the demo's name exists already (left as it is).
    AlreadyPresent,
    Inserted(DatasetInfo),
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetSeedError {
    #[error("cannot read the demo dataset {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot store the demo dataset: {0}")]
    Ingest(#[from] IngestError),
}

/// Stores `<static_dir>/demo/hats.csv` as dataset `hats.csv` unless a dataset of that name
/// exists, so a fresh install has a dataset to reuse. Idempotent: run it on every start.
pub async fn seed_demo_dataset(
    store: &Store,
    objects: &DatasetObjects,
    config: &DatasetsConfig,
    static_dir: &Path,
) -> Result<DatasetSeedOutcome, DatasetSeedError> {
    if store.get_dataset(DEMO_DATASET_NAME).await?.is_some() {
        return Ok(DatasetSeedOutcome::AlreadyPresent);
    }
    let path = static_dir.join(DEMO_DATASET_FILE);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DatasetSeedOutcome::NoDemo)
        }
        Err(source) => return Err(DatasetSeedError::Read { path, source }),
    };
    let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
        axum::body::Bytes::from(bytes),
    )]);
    let (info, _) = ingest(
        store,
        objects,
        config,
        DEMO_DATASET_NAME,
        DatasetFormat::Csv,
        body,
    )
    .await?;
    Ok(DatasetSeedOutcome::Inserted(info))
}
