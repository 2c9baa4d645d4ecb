//! The notebook document as stored by the server and edited by the page.

use serde::{Deserialize, Serialize};

/// Bumped whenever the document's shape changes; readers refuse newer versions.
pub const NOTEBOOK_SCHEMA_VERSION: u32 = 1;

pub type NotebookId = String;
pub type CellId = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notebook {
    pub schema_version: u32,
    pub id: NotebookId,
    /// Incremented by the server on every save; a save must name the revision it edited.
    pub revision: u64,
    pub title: String,
    pub cells: Vec<Cell>,
}

impl Notebook {
    pub fn new(id: NotebookId, title: String, cells: Vec<Cell>) -> Self {
        Notebook {
            schema_version: NOTEBOOK_SCHEMA_VERSION,
            id,
            revision: 0,
            title,
            cells,
        }
    }
}

/// One line of the notebook list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotebookSummary {
    pub id: NotebookId,
    pub title: String,
    pub revision: u64,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Stable for the life of the cell: outputs, run state and kernel messages refer to it.
    pub id: CellId,
    pub kind: CellKind,
    pub source: String,
    #[serde(default)]
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Code,
    Markdown,
}

/// A cell output: a MIME bundle to display, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output_type", rename_all = "snake_case")]
pub enum Output {
    DisplayData { data: MimeBundle },
    Error(CellError),
}

impl Output {
    pub fn text(text: impl Into<String>) -> Self {
        Output::DisplayData {
            data: MimeBundle {
                text: Some(text.into()),
                ..MimeBundle::default()
            },
        }
    }
}

/// The representations of one displayed value, keyed by MIME type on the wire; a viewer
/// shows the richest one it understands and falls back to `text/plain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MimeBundle {
    #[serde(
        rename = "text/plain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<String>,
    /// Already sanitized HTML.
    #[serde(rename = "text/html", default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(
        rename = "image/svg+xml",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub svg: Option<String>,
    #[serde(
        rename = "application/vnd.oxbook.table+json",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub table: Option<TableData>,
}

/// A table as displayed: column names and types, and the first rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableData {
    pub columns: Vec<TableColumn>,
    /// Row-major cells; JSON null for a missing value.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows in the whole frame; `rows` may hold fewer.
    pub total_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableColumn {
    pub name: String,
    /// The column's type as the kernel names it (`float`, `int`, `bool`, `str`).
    pub dtype: String,
}

/// The `ename` of a cell or load the user cancelled: the kernel gives it, hosts act on it.
pub const CANCELLED: &str = "Cancelled";

/// An error shown under a cell, with where in the cell it happened when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellError {
    /// A short class of error: `SyntaxError`, `RuntimeError`, `LimitExceeded`, `KernelCrashed`, ...
    pub ename: String,
    pub message: String,
    /// 1-based line in the cell's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in that line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}
