//! Puts the demo notebook into a fresh database, so it is there on first start.

use std::path::{Path, PathBuf};

use oxbook_protocol::Notebook;

use crate::api::notebooks::check_notebook;
use crate::store::{Store, StoreError};

/// Where the demo notebook lives, relative to the static directory.
pub const DEMO_NOTEBOOK: &str = "demo/hat-demo.oxbook.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    /// There is no demo file; nothing to do.
    NoDemo,
    /// A notebook with the demo's id exists already (left as it is).
    AlreadyPresent { id: String },
    Inserted { id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the demo notebook {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
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
    let invalid = |message: String| SeedError::Invalid { path: path.clone(), message };
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
