//! Bytes → [`Frame`]: push parsers for CSV/TSV, JSON (an array of records, or one record
//! per line) and Parquet.
//!
//! A [`Loader`] takes the file in chunks of any size ([`Loader::push`]) and gives the frame
//! at the end ([`Loader::finish`]). Values are stored typed as they arrive (see [`infer`]
//! for the type rules), so the text is never held whole: extra memory is bounded by the
//! longest record, except for Parquet, whose index sits at the end of the file and which
//! is therefore buffered until `finish`. Chunk boundaries never change the result.
//!
//! Problems either stop the load with a [`LoadError`] naming the line (and column where
//! known), or, when the frame is still useful, come with it as [`Diagnostic`]s. Nothing
//! panics or loops forever, whatever the bytes.

use std::collections::BTreeMap;

use oxbook_protocol::DatasetRef;
use sha2::{Digest, Sha256};

use crate::frame::{DType, Frame};

mod csv;
pub mod infer;
mod json;
mod parquet;

pub use infer::DEFAULT_NULLS;
pub use parquet::codec_name as parquet_codec_name;
pub use parquet::reads_codec as parquet_reads_codec;

/// A file format the kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    /// An array of records (objects); a stream of objects is read too.
    Json,
    /// One record (object) per line.
    JsonLines,
    Parquet,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::JsonLines,
        Format::Parquet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The format a file name (or URL) says by its extension, ignoring case, a query
    /// string and a `.gz`-less path's directories: `data/sales.TSV?v=2` → TSV.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let path = name.split(['?', '#']).next().unwrap_or(name);
        let file = path.rsplit('/').next().unwrap_or(path);
        let (_, extension) = file.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format named `format` when given, else the one `file_name` implies.
    pub fn resolve(format: Option<&str>, file_name: &str) -> Result<Format, LoadError> {
        match format {
            Some(name) => name.parse(),
            None => Format::from_file_name(file_name).ok_or_else(|| LoadError::NoFormat {
                name: file_name.to_string(),
            }),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = LoadError;

    fn from_str(name: &str) -> Result<Format, LoadError> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" | "json_lines" => Ok(Format::JsonLines),
            "parquet" => Ok(Format::Parquet),
            _ => Err(LoadError::UnknownFormat(name.to_string())),
        }
    }
}

/// Whether the first CSV row names the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    #[default]
    Yes,
    /// Columns are named `column_1`, `column_2`, ...
    No,
    /// The first row is a header when a value of it does not fit its column's type (a
    /// name on top of numbers), or when every column is text and the row's values are
    /// distinct and not null.
    Auto,
}

/// How to read a file; every field has a default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadOptions {
    /// The field separator of CSV and TSV (`,` and tab by default).
    pub delimiter: Option<u8>,
    pub header: Header,
    /// The texts read as null (ignoring ASCII case); `None` means [`DEFAULT_NULLS`].
    pub nulls: Option<Vec<String>>,
    /// Column types to use instead of inferring them.
    pub types: BTreeMap<String, DType>,
}

impl LoadOptions {
    /// The option keys, as [`LoadOptions::from_json`] reads them.
    pub const KEYS: [&'static str; 4] = ["delimiter", "header", "nulls", "types"];

    /// Options from a JSON object (the worker's `LoadRequest::options`, or a cell's
    /// options map): `delimiter` (a one-character string), `header` (`true`, `false` or
    /// `"auto"`), `nulls` (an array of strings), `types` (an object of column name to
    /// `"int"`, `"float"`, `"bool"`, `"str"` or `"datetime"`).
    pub fn from_json(
        map: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<LoadOptions, LoadError> {
        use serde_json::Value;
        let bad = |key: &str, message: String| LoadError::Option {
            key: key.to_string(),
            message,
        };
        let mut options = LoadOptions::default();
        for (key, value) in map {
            match key.as_str() {
                "delimiter" => {
                    let text = value.as_str().unwrap_or("");
                    match text.as_bytes() {
                        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => {
                            options.delimiter = Some(*b)
                        }
                        _ => {
                            return Err(bad(
                                key,
                                format!(
                                    "expected one ASCII character other than a quote or a \
                                     line break, such as \";\" or \"\\t\", not {value}"
                                ),
                            ))
                        }
                    }
                }
                "header" => {
                    options.header = match value {
                        Value::Bool(true) => Header::Yes,
                        Value::Bool(false) => Header::No,
                        Value::String(s) if s == "auto" => Header::Auto,
                        other => {
                            return Err(bad(
                                key,
                                format!("expected true, false or \"auto\", not {other}"),
                            ))
                        }
                    }
                }
                "nulls" => {
                    let items = value.as_array().ok_or_else(|| {
                        bad(key, format!("expected an array of strings, not {value}"))
                    })?;
                    let markers = items
                        .iter()
                        .map(|item| {
                            item.as_str().map(str::to_string).ok_or_else(|| {
                                bad(key, format!("expected an array of strings, found {item}"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    options.nulls = Some(markers);
                }
                "types" => {
                    let columns = value.as_object().ok_or_else(|| {
                        bad(
                            key,
                            format!("expected a map of column name to type, not {value}"),
                        )
                    })?;
                    for (column, dtype) in columns {
                        let dtype = dtype.as_str().and_then(parse_dtype).ok_or_else(|| {
                            bad(
                                key,
                                format!(
                                    "column '{column}': unknown type {dtype} (use \"int\", \
                                         \"float\", \"bool\", \"str\" or \"datetime\")"
                                ),
                            )
                        })?;
                        options.types.insert(column.clone(), dtype);
                    }
                }
                other => {
                    return Err(LoadError::UnknownOption {
                        key: other.to_string(),
                    })
                }
            }
        }
        Ok(options)
    }

    fn nulls(&self) -> infer::Nulls {
        match &self.nulls {
            Some(markers) => infer::Nulls::new(markers),
            None => infer::Nulls::new(&DEFAULT_NULLS),
        }
    }
}

fn parse_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "int" => DType::Int,
        "float" => DType::Float,
        "bool" => DType::Bool,
        "str" | "string" => DType::Str,
        "datetime" | "date" => DType::Datetime,
        _ => return None,
    })
}

/// Why bytes are not a table. Lines are 1-based lines of the input (a quoted field may
/// span lines: the line is where its record starts); columns are 1-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("the {format} is empty: expected {expected}")]
    Empty {
        format: &'static str,
        expected: &'static str,
    },
    #[error("line {line}, column {column}{}: the text is not valid UTF-8", name_suffix(.name))]
    InvalidUtf8 {
        line: u64,
        column: usize,
        name: Option<String>,
    },
    #[error("line {line}: expected {expected} fields (as in the header), found {found}")]
    Ragged {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: duplicate column name '{name}' (columns {first} and {second})")]
    DuplicateHeader {
        line: u64,
        name: String,
        first: usize,
        second: usize,
    },
    #[error("line {line}, column {column}: the quoted field starting here is never closed (a '\"' is missing)")]
    UnterminatedQuote { line: u64, column: usize },
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: u64,
        column: u64,
        message: String,
    },
    #[error("the load was cancelled")]
    Cancelled,
    /// A Parquet column in a codec the kernel lacks (zstd): `stored` when the file came
    /// from the dataset store, which converts such files on upload, so it failed there.
    #[error("the Parquet file cannot be read: column '{column}' is compressed with {codec}, which the browser kernel cannot decode: {}", codec_hint(*.stored))]
    Codec {
        column: String,
        codec: String,
        stored: bool,
    },
    #[error("the Parquet file cannot be read: {0}")]
    Parquet(String),
    #[error("types: no column named '{name}' (columns: {available})")]
    NoSuchColumn { name: String, available: String },
    #[error("option '{key}': {message}")]
    Option { key: String, message: String },
    #[error("unknown option '{key}' (options: delimiter, header, nulls, types)")]
    UnknownOption { key: String },
    #[error("unknown format '{0}' (formats: csv, tsv, json, jsonl, parquet)")]
    UnknownFormat(String),
    #[error("cannot tell the format of '{name}' from its name: give it (csv, tsv, json, jsonl or parquet)")]
    NoFormat { name: String },
    #[error("'{0}' cannot be a variable name: use letters, digits and _, not starting with a digit, and not a keyword")]
    BadVariable(String),
}

fn codec_hint(stored: bool) -> &'static str {
    if stored {
        "the dataset store could not convert it on upload (the dataset's notes say why); \
         save it with snappy, gzip, lz4 or brotli compression and upload it again"
    } else {
        "upload the file to the dataset store, which converts it, or save it with snappy, \
         gzip, lz4 or brotli compression"
    }
}

impl LoadError {
    /// The error for bytes fetched from `url`: one of the dataset store's (which converts
    /// on upload what the kernel cannot read) says the store failed (see
    /// [`LoadError::Codec`]).
    pub fn for_url(self, url: &str) -> LoadError {
        match self {
            LoadError::Codec { column, codec, .. }
                if oxbook_protocol::dataset_of_url(url).is_some() =>
            {
                LoadError::Codec {
                    column,
                    codec,
                    stored: true,
                }
            }
            other => other,
        }
    }
}

fn name_suffix(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" ('{n}')"))
        .unwrap_or_default()
}

/// Something a load noticed that did not stop it, such as values that did not fit their
/// column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The column it is about, if any.
    pub column: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn column(name: &str, message: String) -> Diagnostic {
        Diagnostic {
            column: Some(name.to_string()),
            message,
        }
    }

    pub(crate) fn general(message: String) -> Diagnostic {
        Diagnostic {
            column: None,
            message,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(name) => write!(f, "column '{name}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A loaded table and what the load noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub frame: Frame,
    pub diagnostics: Vec<Diagnostic>,
}

enum Parser {
    // Boxed: the CSV parser's byte tables make it much larger than the others.
    Csv(Box<csv::CsvParser>),
    Json(json::JsonParser),
    Parquet(parquet::ParquetBuffer),
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A push parser: feed it a file's bytes in chunks of any size, then take the frame.
///
/// ```
/// use oxbook_kernel::load::{Format, LoadOptions, Loader};
/// let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
/// loader.push(b"a,b\n1,x\n2,").unwrap();
/// loader.push(b"y\n").unwrap();
/// let loaded = loader.finish().unwrap();
/// assert_eq!(loaded.frame.row_count(), 2);
/// ```
pub struct Loader {
    parser: Parser,
    consumed: u64,
    /// The first bytes until there are enough to tell whether they are a byte order mark.
    head: Option<Vec<u8>>,
    /// The first error: every later call gives it again.
    failed: Option<LoadError>,
    /// What the bytes are called (a file name, URL or dataset), and their hash so far:
    /// a named load's frame names the dataset it came from (see [`Loader::named`]).
    source: Option<(String, Sha256)>,
}

impl Loader {
    pub fn new(format: Format, options: LoadOptions) -> Result<Loader, LoadError> {
        let parser = match format {
            Format::Csv | Format::Tsv => {
                let delimiter =
                    options
                        .delimiter
                        .unwrap_or(if format == Format::Tsv { b'\t' } else { b',' });
                Parser::Csv(Box::new(csv::CsvParser::new(delimiter, &options)))
            }
            Format::Json | Format::JsonLines => Parser::Json(json::JsonParser::new(&options)),
            Format::Parquet => Parser::Parquet(parquet::ParquetBuffer::new(&options)),
        };
        Ok(Loader {
            head: (!matches!(parser, Parser::Parquet(_))).then(Vec::new),
            parser,
            consumed: 0,
            failed: None,
            source: None,
        })
    }

    /// The loader, for bytes called `name`: the frame it gives records that name and the
    /// sha256 of the bytes as its dataset (`Recipe::dataset`), which runs and the lineage
    /// of models fitted on it name. Hashing costs time, so unnamed loads (text in a cell)
    /// skip it.
    pub fn named(mut self, name: impl Into<String>) -> Loader {
        self.source = Some((name.into(), Sha256::new()));
        self
    }

    /// A loader for the worker's [`LoadRequest`](oxbook_protocol::LoadRequest): its
    /// format, or the one the file name or URL implies, and its options. It is unnamed:
    /// the caller names it ([`Loader::named`]) for the kernel to hash the bytes, or hashes
    /// them itself and gives the frame [`Frame::from_dataset`] (the browser's worker has
    /// WebCrypto hash them natively, off its one thread).
    pub fn for_request(request: &oxbook_protocol::LoadRequest) -> Result<Loader, LoadError> {
        let name = request.source.name();
        let format = Format::resolve(request.format.as_deref(), name)?;
        Loader::new(format, LoadOptions::from_json(&request.options)?)
    }

    /// Parses the next bytes of the file. After an error, every call gives that error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), LoadError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.consumed += chunk.len() as u64;
        let mut source = self.source.take();
        let result = self.parse(chunk, source.as_mut().map(|(_, hasher)| hasher));
        self.source = source;
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// Parses (and hashes, with a `hasher`) the next bytes, holding back the first few
    /// until they can be told from a byte order mark.
    fn parse(&mut self, chunk: &[u8], mut hasher: Option<&mut Sha256>) -> Result<(), LoadError> {
        let mut chunk = chunk;
        match self.head.as_mut() {
            Some(head) => {
                let take = (BOM.len() - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if let Some(hasher) = hasher.as_deref_mut() {
                    hasher.update(&chunk[..take]);
                }
                chunk = &chunk[take..];
                if head.len() < BOM.len() {
                    return Ok(());
                }
                let head = self.head.take().unwrap_or_default();
                let start = if head == BOM { &[][..] } else { &head[..] };
                self.feed(start, None)
                    .and_then(|()| self.feed(chunk, hasher))
            }
            None => self.feed(chunk, hasher),
        }
    }

    /// Parses `bytes`, hashing them with `hasher` on the way.
    fn feed(&mut self, bytes: &[u8], hasher: Option<&mut Sha256>) -> Result<(), LoadError> {
        if bytes.is_empty() {
            return Ok(());
        }
        match &mut self.parser {
            Parser::Csv(p) => p.push(bytes, hasher),
            Parser::Json(p) => hash_while(hasher, bytes, || p.push(bytes)),
            Parser::Parquet(p) => {
                // Pushing only buffers the bytes (they are decoded at the end): no thread
                // to overlap with.
                if let Some(hasher) = hasher {
                    hash(hasher, bytes);
                }
                p.push(bytes);
                Ok(())
            }
        }
    }

    /// Tells the loader the file's size in bytes, when known (a picked file's size, a
    /// response's length), so that it can make room for the columns once rather than
    /// growing them as it goes. Only a hint: a wrong one costs time or memory, not results.
    pub fn size_hint(&mut self, total_bytes: u64) {
        if let Parser::Csv(p) = &mut self.parser {
            p.size_hint(total_bytes);
        }
    }

    /// The bytes pushed so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// Loads a whole file held in memory: one push, then [`Loader::finish`].
    pub fn load_all(mut self, bytes: &[u8]) -> Result<Loaded, LoadError> {
        self.size_hint(bytes.len() as u64);
        self.push(bytes)?;
        self.finish()
    }

    /// Ends the file: the frame, or why there is none.
    pub fn finish(self) -> Result<Loaded, LoadError> {
        self.finish_unless(&|| false)
    }

    /// [`Loader::finish`], giving up with [`LoadError::Cancelled`] when `cancelled` says so:
    /// it is asked between the parts of the work left at the end (a Parquet file's column
    /// chunks: the whole file is decoded there), so that a host can stop a long finish.
    pub fn finish_unless(mut self, cancelled: &dyn Fn() -> bool) -> Result<Loaded, LoadError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if let Some(head) = self.head.take() {
            if head != BOM {
                // Hashed when pushed.
                self.feed(&head, None)?;
            }
        }
        let loaded = match self.parser {
            Parser::Csv(p) => p.finish(),
            Parser::Json(p) => p.finish(),
            Parser::Parquet(p) => p.finish(cancelled),
        }?;
        Ok(match self.source {
            Some((name, hasher)) => Loaded {
                frame: loaded.frame.from_dataset(DatasetRef {
                    name,
                    sha256: hex::encode(hasher.finalize()),
                }),
                ..loaded
            },
            None => loaded,
        })
    }
}

/// Chunks below this are hashed on the parsing thread: a thread costs more than it saves.
#[cfg(not(target_arch = "wasm32"))]
const HASH_ON_A_THREAD_FROM: usize = 256 * 1024;

/// Runs `parse` while `hasher` (if any) takes in `chunk`: natively, large chunks are
/// hashed on a thread of their own, which takes the hash off the load's critical path;
/// wasm32 has one thread, and hashes first. (The CSV parser, whose pipeline already has
/// a second thread, hashes there instead: see [`ChunkHash`].)
fn hash_while(
    hasher: Option<&mut Sha256>,
    chunk: &[u8],
    parse: impl FnOnce() -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let Some(hasher) = hasher else {
        return parse();
    };
    #[cfg(not(target_arch = "wasm32"))]
    if chunk.len() >= HASH_ON_A_THREAD_FROM {
        return std::thread::scope(|scope| {
            scope.spawn(|| hash(hasher, chunk));
            parse()
        });
    }
    hash(hasher, chunk);
    parse()
}

/// Hashes `bytes` a kilobyte at a time, reading a byte of each cache line of the next
/// kilobyte before hashing one. SHA-256 reads its input in order, yet the hardware's
/// prefetching alone left it waiting on memory: it hashed the benchmark's file at
/// 1.0–1.1 GB/s from memory against 1.86 GB/s from the cache; with these reads, which
/// the processor runs alongside the hashing, 1.3–1.57 GB/s, and the CSV pipeline (whose
/// converting thread hashes) loads it 4–5% faster. (A prefetch instruction did a little
/// better alone, 1.5–1.66 GB/s, but needs `unsafe`.)
fn hash(hasher: &mut Sha256, bytes: &[u8]) {
    const STEP: usize = 1024;
    const LINE: usize = 64;
    for (i, part) in bytes.chunks(STEP).enumerate() {
        if let Some(next) = bytes.get((i + 1) * STEP..) {
            let touched = next
                .iter()
                .take(STEP)
                .step_by(LINE)
                .fold(0u8, |acc, &b| acc ^ b);
            std::hint::black_box(touched);
        }
        hasher.update(part);
    }
}

/// A chunk's bytes being hashed in parts, in order, as a parser goes through it: the CSV
/// parser's converting thread hashes its share of the chunk before each batch it
/// converts, so that the hash is part of the work the pipeline balances between its two
/// threads (on two cores, a third thread for the hash would take time from both).
pub(crate) struct ChunkHash<'a> {
    hasher: &'a mut Sha256,
    bytes: &'a [u8],
    hashed: usize,
}

impl<'a> ChunkHash<'a> {
    pub(crate) fn new(hasher: &'a mut Sha256, bytes: &'a [u8]) -> ChunkHash<'a> {
        ChunkHash {
            hasher,
            bytes,
            hashed: 0,
        }
    }

    /// Hashes the chunk up to the fraction `done / total` of its length.
    pub(crate) fn up_to(&mut self, done: usize, total: usize) {
        let len = self.bytes.len();
        let end = match total {
            0 => len,
            _ => (len as u128 * done.min(total) as u128 / total as u128) as usize,
        };
        if end > self.hashed {
            hash(self.hasher, &self.bytes[self.hashed..end]);
            self.hashed = end;
        }
    }

    /// Hashes what is left of the chunk.
    pub(crate) fn rest(&mut self) {
        self.up_to(1, 1);
    }
}

/// Loads a whole file held in memory.
pub fn load(format: Format, options: LoadOptions, bytes: &[u8]) -> Result<Loaded, LoadError> {
    Loader::new(format, options)?.load_all(bytes)
}

/// Parses a whole CSV document with the default options. Never panics, whatever the bytes.
pub fn parse_csv(bytes: &[u8]) -> Result<Frame, LoadError> {
    load(Format::Csv, LoadOptions::default(), bytes).map(|loaded| loaded.frame)
}

/// Frame building shared by the parsers: names and override checks.
pub(crate) fn check_types(
    types: &BTreeMap<String, DType>,
    names: &[String],
) -> Result<(), LoadError> {
    match types.keys().find(|key| !names.contains(key)) {
        Some(name) => Err(LoadError::NoSuchColumn {
            name: name.clone(),
            available: names.join(", "),
        }),
        None => Ok(()),
    }
}

/// The frame of finished columns; names were checked unique and lengths equal.
pub(crate) fn build_frame(
    columns: Vec<infer::ColumnBuilder>,
    mut diagnostics: Vec<Diagnostic>,
) -> Result<Loaded, LoadError> {
    let columns = columns
        .into_iter()
        .map(|c| c.finish(&mut diagnostics))
        .collect();
    let frame = Frame::new(columns).map_err(|e| LoadError::Malformed {
        line: 1,
        message: e.to_string(),
    })?;
    Ok(Loaded { frame, diagnostics })
}
