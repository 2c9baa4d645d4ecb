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
use parquet::errors::ParquetError;
use sha2::{Digest, Sha256};
use tokio_util::io::ReaderStream;

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
///
/// Parquet files are spooled to a temporary file first and stored re-encoded when they
/// use a codec the browser kernel cannot decode (see [`prepare_parquet`]).
pub async fn ingest<S, E>(
    store: &Store,
    objects: &DatasetObjects,
    config: &DatasetsConfig,
    name: &str,
    format: DatasetFormat,
    body: S,
) -> Result<(DatasetInfo, bool), IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    // A fresh key per upload is what makes a replacement atomic (S3 has no rename).
    let key = format!("{}-{name}", uuid::Uuid::new_v4().simple());
    // What the store did to the file on the way, and the codecs of a Parquet file stored
    // in codecs the kernel cannot decode.
    let (received, notes, undecodable) = if format == DatasetFormat::Parquet {
        let spooled = spool(config, body).await?;
        let prepared = tokio::task::spawn_blocking(move || prepare_parquet(spooled)).await??;
        let file = tokio::fs::File::from_std(prepared.file);
        let stream = ReaderStream::with_capacity(file, SPOOL_CHUNK);
        // The cap was the upload's; a conversion may come out a little larger.
        let received = put_stream(objects, config, u64::MAX, &key, stream).await?;
        (received, prepared.notes, prepared.undecodable)
    } else {
        let received = put_stream(objects, config, config.max_upload_bytes, &key, body).await?;
        (received, Vec::new(), None)
    };

    let limit = config.infer_max_bytes;
    let kept = received.kept;
    let inferred = tokio::task::spawn_blocking(move || match (undecodable, kept) {
        // The kernel would refuse it, with a hint to upload it here.
        (Some(codecs), _) => Inferred::unknown(format!(
            "schema unknown: the file is compressed with {codecs}, which the kernel cannot \
             decode: save it with snappy, gzip, lz4 or brotli compression and upload it again"
        )),
        (None, Some(bytes)) => infer_schema(format, &bytes),
        (None, None) => Inferred::unknown(format!(
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
    let mut diagnostics = notes;
    diagnostics.extend(inferred.diagnostics);
    let info = DatasetInfo {
        name: name.to_string(),
        format,
        size_bytes: received.size,
        sha256: received.sha256,
        row_count: inferred.row_count,
        schema: inferred.schema,
        diagnostics,
        created_at: now_timestamp(),
        data_path: oxbook_protocol::dataset_data_path(name),
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

/// What was written under a key.
struct Received {
    size: u64,
    sha256: String,
    /// The bytes, while they are small enough to infer a schema from.
    kept: Option<Vec<u8>>,
}

/// The next chunk of `body`, added to the running `size`; an error once `size` passes
/// `limit` or the body breaks off.
async fn next_chunk<S, E>(
    body: &mut S,
    size: &mut u64,
    limit: u64,
) -> Result<Option<Bytes>, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    let Some(chunk) = body.next().await else {
        return Ok(None);
    };
    let chunk = chunk.map_err(|e| IngestError::Body(e.to_string()))?;
    *size = size.saturating_add(chunk.len() as u64);
    if *size > limit {
        return Err(IngestError::TooLarge { limit });
    }
    Ok(Some(chunk))
}

/// Streams `body` into the object store under `key`, hashing and counting it. Refuses
/// bodies over `limit` bytes; on failure nothing is left under `key`.
async fn put_stream<S, E>(
    objects: &DatasetObjects,
    config: &DatasetsConfig,
    limit: u64,
    key: &str,
    mut body: S,
) -> Result<Received, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    let path = ObjectPath::from(key);
    let mut writer = WriteMultipart::new(objects.objects.put_multipart(&path).await?);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    // Kept for schema inference while the file is small enough to parse in memory.
    let mut kept: Option<Vec<u8>> = Some(Vec::new());
    let failure = loop {
        let chunk = match next_chunk(&mut body, &mut size, limit).await {
            Ok(None) => break None,
            Err(e) => break Some(e),
            Ok(Some(chunk)) => chunk,
        };
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
    Ok(Received {
        size,
        sha256: hex::encode(hasher.finalize()),
        kept,
    })
}

/// Bytes read from a spool file at a time.
const SPOOL_CHUNK: usize = 1024 * 1024;

/// An upload written to an unnamed temporary file (in the system's temporary directory,
/// `TMPDIR`), which the system removes once it is closed, whatever happens.
struct Spooled {
    file: std::fs::File,
    size: u64,
}

fn spool_error(source: std::io::Error) -> IngestError {
    // The spool is part of the store's machinery; its failures are the store's.
    IngestError::Objects(object_store::Error::Generic {
        store: "upload spool",
        source: Box::new(source),
    })
}

/// Writes `body` to a temporary file, counting it, with the same size cap as a direct
/// upload. The upload is hashed only if it is converted: otherwise storing it hashes it.
async fn spool<S, E>(config: &DatasetsConfig, mut body: S) -> Result<Spooled, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    use tokio::io::AsyncWriteExt;
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await?
        .map_err(spool_error)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut size: u64 = 0;
    while let Some(chunk) = next_chunk(&mut body, &mut size, config.max_upload_bytes).await? {
        file.write_all(&chunk).await.map_err(spool_error)?;
    }
    file.flush().await.map_err(spool_error)?;
    Ok(Spooled {
        file: file.into_std().await,
        size,
    })
}

/// A Parquet upload ready to store, and what was done to it.
struct PreparedParquet {
    /// Positioned at its start.
    file: std::fs::File,
    notes: Vec<String>,
    /// The codecs the kernel cannot decode, when the file is stored with them.
    undecodable: Option<String>,
}

/// The Parquet file to store for `spooled`: the upload itself when the browser kernel
/// reads all of its codecs (or when it is no Parquet file at all: schema inference then
/// says why), else the upload re-encoded with snappy by [`convert_parquet`]. A failed
/// conversion stores the upload as it came, with a note saying why. Fails only when the
/// spool file cannot be read back.
fn prepare_parquet(spooled: Spooled) -> Result<PreparedParquet, IngestError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::io::Seek;
    let Spooled { mut file, size } = spooled;
    let as_uploaded = |mut file: std::fs::File, notes, undecodable| {
        file.rewind().map_err(spool_error)?;
        Ok(PreparedParquet {
            file,
            notes,
            undecodable,
        })
    };
    // Filled once the footer is read: a failure before that is no Parquet file.
    let mut codecs = String::new();
    // The crate asserts on some malformed files; a corrupt upload must cost its
    // conversion, never the request.
    let converted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let reader = SerializedFileReader::new(file.try_clone().ok()?).ok()?;
        codecs = undecodable_codecs(reader.metadata()).join(", ");
        (!codecs.is_empty()).then(|| convert_to_spool(&reader))
    }));
    let converted = match converted {
        Ok(None) => return as_uploaded(file, Vec::new(), None),
        Err(_) if codecs.is_empty() => return as_uploaded(file, Vec::new(), None),
        Ok(Some(converted)) => converted,
        Err(_) => Err("the file is corrupt".to_string()),
    };
    match converted {
        Ok(output) => {
            file.rewind().map_err(spool_error)?;
            let mut hasher = Sha256::new();
            std::io::copy(&mut file, &mut hasher).map_err(spool_error)?;
            let sha256 = hex::encode(hasher.finalize());
            as_uploaded(
                output,
                vec![format!(
                    "converted from {codecs} to snappy compression, which the browser kernel \
                     reads; the file as uploaded had {size} bytes and sha256 {sha256}"
                )],
                None,
            )
        }
        Err(e) => as_uploaded(
            file,
            vec![format!(
                "stored as uploaded, in {codecs}, which the browser kernel cannot decode: \
                 converting it failed: {e}"
            )],
            Some(codecs),
        ),
    }
}

/// The names of the codecs a Parquet file's column chunks use that the kernel cannot
/// decode, each once.
fn undecodable_codecs(metadata: &parquet::file::metadata::ParquetMetaData) -> Vec<String> {
    let mut names = Vec::new();
    for row_group in metadata.row_groups() {
        for chunk in row_group.columns() {
            let codec = chunk.compression();
            if oxbook_kernel::load::parquet_reads_codec(codec) {
                continue;
            }
            let name = oxbook_kernel::load::parquet_codec_name(codec);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Converts the Parquet file `reader` reads into a new temporary file.
fn convert_to_spool(
    reader: &parquet::file::reader::SerializedFileReader<std::fs::File>,
) -> Result<std::fs::File, String> {
    use std::io::Write;
    let mut output = std::io::BufWriter::new(tempfile::tempfile().map_err(|e| e.to_string())?);
    convert_reader(reader, &mut output).map_err(|e| e.to_string())?;
    output.flush().map_err(|e| e.to_string())?;
    output.into_inner().map_err(|e| e.to_string())
}

/// Re-encodes a Parquet file with snappy compression, row group by row group and column
/// by column, keeping its schema (nested columns too: values are copied with their
/// definition and repetition levels), row groups and key-value metadata (such as pandas'
/// or Arrow's schema). Memory is bounded by a column chunk, not the file: pages are read
/// from `input` as they are needed, and the writer holds at most a chunk's pages.
pub fn convert_parquet<W: std::io::Write + Send>(
    input: std::fs::File,
    output: W,
) -> Result<(), ParquetError> {
    let reader = parquet::file::reader::SerializedFileReader::new(input)?;
    convert_reader(&reader, output)
}

/// [`convert_parquet`] from a reader whose footer is already read.
fn convert_reader<W: std::io::Write + Send>(
    reader: &parquet::file::reader::SerializedFileReader<std::fs::File>,
    output: W,
) -> Result<(), ParquetError> {
    use std::sync::Arc;

    use parquet::basic::Compression;
    use parquet::column::reader::ColumnReader as R;
    use parquet::column::writer::ColumnWriter as W;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::FileReader;
    use parquet::file::writer::SerializedFileWriter;

    let metadata = reader.metadata();
    let file_metadata = metadata.file_metadata();
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(file_metadata.key_value_metadata().cloned())
        .build();
    let schema = file_metadata.schema_descr().root_schema_ptr();
    let mut writer = SerializedFileWriter::new(output, schema, Arc::new(properties))?;
    for group in 0..reader.num_row_groups() {
        let row_group = reader.get_row_group(group)?;
        let mut group_writer = writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = group_writer.next_column()? {
            let descr = row_group.metadata().column(index).column_descr_ptr();
            let levels = (descr.max_def_level(), descr.max_rep_level());
            match (row_group.get_column_reader(index)?, column.untyped()) {
                (R::BoolColumnReader(mut r), W::BoolColumnWriter(w)) => copy(&mut r, w, levels),
                (R::Int32ColumnReader(mut r), W::Int32ColumnWriter(w)) => copy(&mut r, w, levels),
                (R::Int64ColumnReader(mut r), W::Int64ColumnWriter(w)) => copy(&mut r, w, levels),
                (R::Int96ColumnReader(mut r), W::Int96ColumnWriter(w)) => copy(&mut r, w, levels),
                (R::FloatColumnReader(mut r), W::FloatColumnWriter(w)) => copy(&mut r, w, levels),
                (R::DoubleColumnReader(mut r), W::DoubleColumnWriter(w)) => copy(&mut r, w, levels),
                (R::ByteArrayColumnReader(mut r), W::ByteArrayColumnWriter(w)) => {
                    copy(&mut r, w, levels)
                }
                (R::FixedLenByteArrayColumnReader(mut r), W::FixedLenByteArrayColumnWriter(w)) => {
                    copy(&mut r, w, levels)
                }
                _ => Err(ParquetError::General(format!(
                    "column {} is read and written as different types",
                    descr.path()
                ))),
            }?;
            column.close()?;
            index += 1;
        }
        group_writer.close()?;
    }
    writer.close()?;
    Ok(())
}

/// Copies one column chunk, a batch of records at a time.
fn copy<T: parquet::data_type::DataType>(
    reader: &mut parquet::column::reader::ColumnReaderImpl<T>,
    writer: &mut parquet::column::writer::ColumnWriterImpl<'_, T>,
    (max_def, max_rep): (i16, i16),
) -> Result<(), ParquetError> {
    const RECORDS: usize = 8192;
    let mut defs: Vec<i16> = Vec::new();
    let mut reps: Vec<i16> = Vec::new();
    let mut values: Vec<T::T> = Vec::new();
    loop {
        defs.clear();
        reps.clear();
        values.clear();
        let (records, values_read, levels_read) = reader.read_records(
            RECORDS,
            (max_def > 0).then_some(&mut defs),
            (max_rep > 0).then_some(&mut reps),
            &mut values,
        )?;
        if records == 0 {
            return Ok(());
        }
        writer.write_batch(
            &values[..values_read],
            (max_def > 0).then(|| &defs[..levels_read]),
            (max_rep > 0).then(|| &reps[..levels_read]),
        )?;
    }
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
