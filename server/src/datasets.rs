//! The dataset store: files uploaded once and reused from any notebook.
//!
//! The bytes go to an [`ObjectStore`] (a local folder by default, an S3-compatible bucket
//! when configured); the metadata (name, format, size, sha256, schema, row count) goes to
//! the database through [`Store`]. Every upload writes its bytes under a fresh object key,
//! then swaps the metadata row in one transaction, then deletes the object the row used to
//! point at: readers see the old dataset or the new one, never a mix, and a failed upload
//! leaves the old one untouched.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use oxbook_protocol::{DatasetColumn, DatasetFormat, DatasetInfo};
use sha2::{Digest, Sha256};

use crate::store::{now_timestamp, Store, StoreError};

/// Where dataset bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetStoreLocation {
    /// A directory on the server's disk (created when missing).
    Local(PathBuf),
    /// An S3 bucket (or an S3-compatible server's), configured from the `AWS_*`
    /// environment variables; keys go under `prefix` when it is not empty.
    S3 { bucket: String, prefix: String },
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetStoreError {
    #[error(
        "unsupported dataset store `{0}`: give a directory, or s3://BUCKET[/PREFIX] for an \
         S3-compatible bucket"
    )]
    Unsupported(String),
    #[error("the dataset store URL `{0}` names no bucket: expected s3://BUCKET[/PREFIX]")]
    NoBucket(String),
    #[error("cannot create the dataset directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the dataset store {location}: {source}")]
    Open {
        location: String,
        source: object_store::Error,
    },
}

impl FromStr for DatasetStoreLocation {
    type Err = DatasetStoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(DatasetStoreError::NoBucket(text.to_string()));
            }
            return Ok(DatasetStoreLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(DatasetStoreLocation::Local(PathBuf::from(path)));
        }
        // Anything else that looks like a URL (gs://, https://) is a store this build does
        // not speak; better to say so than to create a directory named `gs:`.
        if text.contains("://") {
            return Err(DatasetStoreError::Unsupported(text.to_string()));
        }
        Ok(DatasetStoreLocation::Local(PathBuf::from(text)))
    }
}

impl fmt::Display for DatasetStoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetStoreLocation::Local(path) => write!(f, "{}", path.display()),
            DatasetStoreLocation::S3 { bucket, prefix } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            DatasetStoreLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Settings of the dataset store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetsConfig {
    pub location: DatasetStoreLocation,
    /// Largest upload accepted, in bytes; larger ones are answered 413.
    pub max_upload_bytes: u64,
    /// Largest file whose schema the server infers. The kernel parses a whole file in
    /// memory, so bigger files are stored with their schema unknown rather than risk the
    /// server's memory.
    pub infer_max_bytes: u64,
}

pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
pub const DEFAULT_INFER_MAX_BYTES: u64 = 256 * 1024 * 1024;

impl Default for DatasetsConfig {
    fn default() -> Self {
        DatasetsConfig {
            location: DatasetStoreLocation::Local(PathBuf::from("data/datasets")),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            infer_max_bytes: DEFAULT_INFER_MAX_BYTES,
        }
    }
}

/// The object store holding dataset bytes; cheap to clone.
#[derive(Debug, Clone)]
pub struct DatasetObjects {
    objects: Arc<dyn ObjectStore>,
    description: Arc<str>,
}

impl DatasetObjects {
    /// Opens the store at `location`. Opening an S3 store only checks its settings; the
    /// first request is what reaches the bucket.
    pub fn open(location: &DatasetStoreLocation) -> Result<DatasetObjects, DatasetStoreError> {
        let open_error = |source| DatasetStoreError::Open {
            location: location.to_string(),
            source,
        };
        let objects: Arc<dyn ObjectStore> = match location {
            DatasetStoreLocation::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| DatasetStoreError::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
                Arc::new(LocalFileSystem::new_with_prefix(dir).map_err(open_error)?)
            }
            DatasetStoreLocation::S3 { bucket, prefix } => {
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(open_error)?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                }
            }
        };
        Ok(DatasetObjects {
            objects,
            description: location.to_string().into(),
        })
    }

    /// Wraps an object store opened elsewhere.
    pub fn from_store(objects: Arc<dyn ObjectStore>, description: &str) -> DatasetObjects {
        DatasetObjects {
            objects,
            description: description.into(),
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    /// The stored bytes under `key`, as a stream.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, object_store::Error>> + Send + 'static, IngestError>
    {
        let result = self.objects.get(&ObjectPath::from(key)).await?;
        Ok(result.into_stream())
    }

    /// Deletes the object under `key`; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.objects.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Why an upload was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the dataset is larger than the {limit} bytes this server accepts")]
    TooLarge { limit: u64 },
    /// The request body broke off (the client went away, or sent a malformed body).
    #[error("the upload broke off: {0}")]
    Body(String),
    #[error("dataset store error: {0}")]
    Objects(#[from] object_store::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How many parts of a multipart upload may be in flight at once; bounds the memory an
/// upload holds when the store is slower than the client.
const UPLOAD_CONCURRENCY: usize = 4;

/// Streams `body` into the store as dataset `name` (replacing any dataset of that name),
/// hashing and counting while it goes, then infers its schema and records its metadata.
///
/// Refuses bodies over `config.max_upload_bytes` as soon as they cross it. On any
/// failure the new bytes are removed and a dataset of the same name stays as it was.
pub async fn ingest<S, E>(
    store: &Store,
    objects: &DatasetObjects,
    config: &DatasetsConfig,
    name: &str,
    format: DatasetFormat,
    mut body: S,
) -> Result<(DatasetInfo, bool), IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    // A fresh key per upload is what makes a replacement atomic (S3 has no rename).
    let key = format!("{}-{name}", uuid::Uuid::new_v4().simple());
    let path = ObjectPath::from(key.as_str());
    let mut writer = WriteMultipart::new(objects.objects.put_multipart(&path).await?);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    // Kept for schema inference while the file is small enough to parse in memory.
    let mut kept: Option<Vec<u8>> = Some(Vec::new());
    let failure = loop {
        let chunk = match body.next().await {
            None => break None,
            Some(Err(e)) => break Some(IngestError::Body(e.to_string())),
            Some(Ok(chunk)) => chunk,
        };
        size = size.saturating_add(chunk.len() as u64);
        if size > config.max_upload_bytes {
            break Some(IngestError::TooLarge {
                limit: config.max_upload_bytes,
            });
        }
        hasher.update(&chunk);
        if size > config.infer_max_bytes {
            kept = None;
        } else if let Some(kept) = kept.as_mut() {
            kept.extend_from_slice(&chunk);
        }
        if let Err(e) = writer.wait_for_capacity(UPLOAD_CONCURRENCY).await {
            break Some(e.into());
        }
        writer.put(chunk);
    };
    if let Some(error) = failure {
        if let Err(e) = writer.abort().await {
            tracing::warn!(error = %e, key, "cannot clean up an abandoned dataset upload");
        }
        return Err(error);
    }
    writer.finish().await?;

    let sha256 = hex::encode(hasher.finalize());
    let limit = config.infer_max_bytes;
    let inferred = tokio::task::spawn_blocking(move || match kept {
        Some(bytes) => infer_schema(format, &bytes),
        None => Inferred::unknown(format!(
            "schema unknown: the file is larger than the {limit} bytes the server reads to \
             infer a schema"
        )),
    })
    .await;
    let inferred = match inferred {
        Ok(inferred) => inferred,
        Err(e) => {
            discard(objects, &key).await;
            return Err(e.into());
        }
    };
    let info = DatasetInfo {
        name: name.to_string(),
        format,
        size_bytes: size,
        sha256,
        row_count: inferred.row_count,
        schema: inferred.schema,
        diagnostics: inferred.diagnostics,
        created_at: now_timestamp(),
        data_path: data_path(name),
    };
    let replaced = match store.replace_dataset(&info, &key).await {
        Ok(replaced) => replaced,
        Err(e) => {
            discard(objects, &key).await;
            return Err(e.into());
        }
    };
    let was_replacement = replaced.is_some();
    if let Some(old_key) = replaced {
        // The row no longer points at it; failing here only leaves an orphan behind.
        if let Err(e) = objects.delete(&old_key).await {
            tracing::warn!(error = %e, key = old_key, "cannot delete a replaced dataset's bytes");
        }
    }
    Ok((info, was_replacement))
}

async fn discard(objects: &DatasetObjects, key: &str) {
    if let Err(e) = objects.delete(key).await {
        tracing::warn!(error = %e, key, "cannot delete the bytes of a failed dataset upload");
    }
}

/// What the server learned of a file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    pub row_count: Option<u64>,
    pub schema: Option<Vec<DatasetColumn>>,
    pub diagnostics: Vec<String>,
}

impl Inferred {
    fn unknown(diagnostic: String) -> Inferred {
        Inferred {
            row_count: None,
            schema: None,
            diagnostics: vec![diagnostic],
        }
    }
}

/// Reads the schema and row count of `bytes` with the kernel, for the formats it parses;
/// for the others, and for files it refuses, says why the schema is unknown.
pub fn infer_schema(format: DatasetFormat, bytes: &[u8]) -> Inferred {
    use oxbook_kernel::load::{load, Format, LoadOptions};
    let kernel_format = match format {
        DatasetFormat::Csv => Format::Csv,
        DatasetFormat::Tsv => Format::Tsv,
        DatasetFormat::Json => Format::Json,
        DatasetFormat::Jsonl => Format::JsonLines,
        DatasetFormat::Parquet => Format::Parquet,
    };
    // The kernel never panics on CSV or JSON, but the `parquet` crate may on a malformed
    // file; a bad upload must cost its schema, never the request.
    let loaded = std::panic::catch_unwind(|| load(kernel_format, LoadOptions::default(), bytes));
    match loaded {
        Ok(Ok(loaded)) => Inferred {
            row_count: Some(loaded.frame.row_count() as u64),
            schema: Some(
                loaded
                    .frame
                    .columns()
                    .map(|column| DatasetColumn {
                        name: column.name.clone(),
                        dtype: column.data.dtype().name().to_string(),
                    })
                    .collect(),
            ),
            diagnostics: loaded.diagnostics.iter().map(ToString::to_string).collect(),
        },
        Ok(Err(e)) => Inferred::unknown(format!(
            "schema unknown: the kernel cannot read this {} file: {e}",
            format.name()
        )),
        Err(_) => Inferred::unknown(format!(
            "schema unknown: the kernel failed reading this {} file",
            format.name()
        )),
    }
}

/// The format a file name's extension names, if any.
pub fn format_from_name(name: &str) -> Option<DatasetFormat> {
    let (_, extension) = name.rsplit_once('.')?;
    DatasetFormat::from_name(extension)
}

/// The content type the bytes of a dataset are served with.
pub fn content_type(format: DatasetFormat) -> &'static str {
    match format {
        DatasetFormat::Csv => "text/csv; charset=utf-8",
        DatasetFormat::Tsv => "text/tab-separated-values; charset=utf-8",
        DatasetFormat::Json => "application/json",
        DatasetFormat::Jsonl => "application/x-ndjson",
        DatasetFormat::Parquet => "application/vnd.apache.parquet",
    }
}

/// The path serving a dataset's bytes, relative to the server's origin.
pub fn data_path(name: &str) -> String {
    format!("/api/datasets/{name}/data")
}

/// Dataset names: the protocol's rule, shared with the page.
pub use oxbook_protocol::is_valid_dataset_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            "s3://bucket".parse::<DatasetStoreLocation>().unwrap(),
            DatasetStoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            "s3://bucket/a/b/".parse::<DatasetStoreLocation>().unwrap(),
            DatasetStoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            "data/datasets".parse::<DatasetStoreLocation>().unwrap(),
            DatasetStoreLocation::Local(PathBuf::from("data/datasets"))
        );
        assert_eq!(
            "file:///srv/ds".parse::<DatasetStoreLocation>().unwrap(),
            DatasetStoreLocation::Local(PathBuf::from("/srv/ds"))
        );
        assert!(matches!(
            "s3://".parse::<DatasetStoreLocation>(),
            Err(DatasetStoreError::NoBucket(_))
        ));
        let error = "gs://bucket".parse::<DatasetStoreLocation>().unwrap_err();
        assert!(error.to_string().contains("s3://BUCKET"), "{error}");
    }

    #[test]
    fn names() {
        for good in ["hats.csv", "a", "A-b_c.1.parquet", &"x".repeat(128)] {
            assert!(is_valid_dataset_name(good), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "..",
            "a/b",
            "a b",
            "é.csv",
            "a\\b",
            &"x".repeat(129),
        ] {
            assert!(!is_valid_dataset_name(bad), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_from_name("hats.csv"), Some(DatasetFormat::Csv));
        assert_eq!(
            format_from_name("x.tar.PARQUET"),
            Some(DatasetFormat::Parquet)
        );
        assert_eq!(format_from_name("rows.ndjson"), Some(DatasetFormat::Jsonl));
        assert_eq!(format_from_name("noext"), None);
        assert_eq!(format_from_name("a.xlsx"), None);
        for format in [
            DatasetFormat::Csv,
            DatasetFormat::Tsv,
            DatasetFormat::Json,
            DatasetFormat::Jsonl,
            DatasetFormat::Parquet,
        ] {
            assert_eq!(DatasetFormat::from_name(format.name()), Some(format));
            // The wire name and the query name are the same word.
            assert_eq!(
                serde_json::to_value(format).unwrap(),
                serde_json::Value::String(format.name().into())
            );
        }
    }

    #[test]
    fn csv_schema_and_errors() {
        let inferred = infer_schema(DatasetFormat::Csv, b"a,b\n1,x\n2,y\n");
        assert_eq!(inferred.row_count, Some(2));
        assert_eq!(
            inferred.schema.unwrap(),
            [
                DatasetColumn {
                    name: "a".into(),
                    dtype: "int".into()
                },
                DatasetColumn {
                    name: "b".into(),
                    dtype: "str".into()
                }
            ]
        );
        let broken = infer_schema(DatasetFormat::Csv, b"a,b\n1,2\n3\n");
        assert_eq!(broken.schema, None);
        assert_eq!(broken.row_count, None);
        assert!(broken.diagnostics[0].contains("line 3"), "{broken:?}");
    }
}
