//! The server's dataset store: files uploaded once and reused from any notebook.

use serde::{Deserialize, Serialize};

/// How a dataset's bytes are laid out. Given by `?format=` on upload, or else by the
/// name's extension (`.csv`, `.tsv`, `.json`, `.jsonl`/`.ndjson`, `.parquet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    Csv,
    Tsv,
    Json,
    Jsonl,
    Parquet,
}

impl DatasetFormat {
    /// The lowercase name, as `?format=` and load requests take it.
    pub fn name(self) -> &'static str {
        match self {
            DatasetFormat::Csv => "csv",
            DatasetFormat::Tsv => "tsv",
            DatasetFormat::Json => "json",
            DatasetFormat::Jsonl => "jsonl",
            DatasetFormat::Parquet => "parquet",
        }
    }

    /// The format named `text` (any case); `ndjson` is another name for `jsonl`.
    pub fn from_name(text: &str) -> Option<DatasetFormat> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(DatasetFormat::Csv),
            "tsv" => Some(DatasetFormat::Tsv),
            "json" => Some(DatasetFormat::Json),
            "jsonl" | "ndjson" => Some(DatasetFormat::Jsonl),
            "parquet" => Some(DatasetFormat::Parquet),
            _ => None,
        }
    }
}

/// One column of a dataset's inferred schema. `dtype` is the kernel's type name
/// (`int`, `float`, `bool`, `str`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetColumn {
    pub name: String,
    pub dtype: String,
}

/// A stored dataset, as `GET /api/datasets` lists it and `PUT /api/datasets/{name}` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// 1–128 characters of `[A-Za-z0-9._-]`, not starting with a dot (e.g. `hats.csv`).
    pub name: String,
    pub format: DatasetFormat,
    pub size_bytes: u64,
    /// Hex sha256 of the bytes as stored.
    pub sha256: String,
    /// `None` when the server could not read the file (see `diagnostics`).
    pub row_count: Option<u64>,
    /// `None` when the schema is unknown: the server could not read the file (see `diagnostics`).
    pub schema: Option<Vec<DatasetColumn>>,
    /// Why the schema is unknown (a parse error naming line and column, or a format the
    /// server cannot read), or other notes about the file. Empty when all is well.
    #[serde(default)]
    pub diagnostics: Vec<String>,
    pub created_at: String,
    /// Path of the dataset's bytes, relative to the server's origin
    /// (`/api/datasets/{name}/data`).
    pub data_path: String,
}

/// The rule for dataset names, shared so the page can check a name before uploading: 1 to
/// 128 characters of `[A-Za-z0-9._-]`, not starting with a dot. Such names are safe in URLs,
/// object keys, file names and headers without escaping, and are never `.`, `..` or hidden.
pub fn is_valid_dataset_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The path of a stored dataset's bytes, relative to the server's origin.
pub fn dataset_data_path(name: &str) -> String {
    format!("/api/datasets/{name}/data")
}

/// The stored dataset whose bytes `url` (a path, or a whole URL, the server's own under any
/// prefix) names with [`dataset_data_path`], if it names one.
pub fn dataset_of_url(url: &str) -> Option<&str> {
    const PREFIX: &str = "/api/datasets/";
    let path = url.split(['?', '#']).next()?;
    let rest = &path[path.find(PREFIX)? + PREFIX.len()..];
    let name = rest.strip_suffix("/data")?;
    is_valid_dataset_name(name).then_some(name)
}

/// The rule of [`is_valid_dataset_name`] in words, for error messages.
pub const DATASET_NAME_RULE: &str =
    "1 to 128 characters of letters, digits, '.', '-' or '_', not starting with '.'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_urls_name_their_dataset() {
        assert_eq!(
            dataset_of_url(&dataset_data_path("hats.csv")),
            Some("hats.csv")
        );
        assert_eq!(
            dataset_of_url("https://oxbook.example/team/api/datasets/a-b_1.parquet/data?x=1"),
            Some("a-b_1.parquet")
        );
        assert_eq!(dataset_of_url("/api/datasets/hats.csv"), None);
        assert_eq!(dataset_of_url("/api/datasets/a/b/data"), None);
        assert_eq!(dataset_of_url("/api/datasets/.hidden/data"), None);
        assert_eq!(dataset_of_url("/static/demo/hats.csv"), None);
    }
}
