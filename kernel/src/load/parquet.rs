//! Parquet → frame, with the `parquet` crate's pure-Rust codecs (snappy, gzip, lz4,
//! brotli; not zstd, whose only implementation the crate offers is C and does not build
//! for the browser). A Parquet file's index is its footer, so the bytes are buffered until
//! `finish` and decoded column by column, row group by row group.
//!
//! Types: booleans → bool; integers → int (dates, timestamps → datetime; decimals →
//! float); floats and doubles → float; UTF-8 byte arrays → str. Nested columns (lists,
//! maps) and other binary columns are left out, with a diagnostic.

use std::collections::BTreeMap;

use parquet::basic::{LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::infer::{ColumnBuilder, Value};
use super::{build_frame, check_types, Diagnostic, LoadError, LoadOptions, Loaded};
use crate::frame::DType;

/// Values read per call of the column reader.
const BATCH: usize = 8192;

pub(crate) struct ParquetBuffer {
    bytes: Vec<u8>,
    types: BTreeMap<String, DType>,
}

/// How a kept column's physical values become the kernel's.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Plain,
    /// Days since the epoch.
    Date,
    /// Units per millisecond (1 for millis, 1000 for micros, 1e6 for nanos).
    Timestamp(i64),
    /// Divide by 10^scale.
    Decimal(i32),
    Unsigned,
    Utf8,
}

fn error(e: ParquetError) -> LoadError {
    LoadError::Parquet(e.to_string())
}

/// The kind of a flat column, or why it is left out.
fn kind(column: &ColumnDescriptor) -> Result<Kind, String> {
    let physical = column.physical_type();
    let logical = column.logical_type_ref();
    if column.max_rep_level() > 0 {
        return Err("it is a list (nested)".into());
    }
    Ok(match (physical, logical) {
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Date)) => Kind::Date,
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Timestamp(t))) => {
            Kind::Timestamp(match t.unit {
                TimeUnit::MILLIS => 1,
                TimeUnit::MICROS => 1000,
                TimeUnit::NANOS => 1_000_000,
            })
        }
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Decimal(d))) => {
            Kind::Decimal(d.scale)
        }
        (PhysicalType::INT64, Some(LogicalType::Integer(i))) if !i.is_signed => Kind::Unsigned,
        (PhysicalType::BYTE_ARRAY, Some(LogicalType::Decimal(_)))
        | (PhysicalType::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Decimal(_))) => {
            return Err("decimals stored as bytes are not supported".into())
        }
        (
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Kind::Utf8,
        (PhysicalType::BYTE_ARRAY, None)
            if column.converted_type() == parquet::basic::ConvertedType::UTF8 =>
        {
            Kind::Utf8
        }
        // Untyped byte arrays are usually text in files written by pandas and Spark.
        (PhysicalType::BYTE_ARRAY, None) => Kind::Utf8,
        (PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY, _) => {
            return Err("binary values are not supported".into())
        }
        _ => Kind::Plain,
    })
}

/// Reads a whole column chunk, handing each value (or null, as `None`) to `push`.
fn read_column<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    max_def: i16,
    mut push: impl FnMut(Option<&T::T>),
) -> Result<(), ParquetError> {
    let mut defs: Vec<i16> = Vec::new();
    let mut values: Vec<T::T> = Vec::new();
    loop {
        defs.clear();
        values.clear();
        let levels = (max_def > 0).then_some(&mut defs);
        let (records, values_read, levels_read) =
            reader.read_records(BATCH, levels, None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        if max_def > 0 {
            let mut next = values[..values_read].iter();
            for &level in &defs[..levels_read] {
                push(if level == max_def { next.next() } else { None });
            }
        } else {
            values[..values_read].iter().for_each(|v| push(Some(v)));
        }
    }
}

fn push_i64(column: &mut ColumnBuilder, kind: Kind, x: i64, row: u64) {
    let value = match kind {
        Kind::Date => Value::Datetime(x.saturating_mul(86_400_000)),
        Kind::Timestamp(per_ms) => Value::Datetime(x.div_euclid(per_ms)),
        Kind::Decimal(scale) => Value::Float(x as f64 / 10f64.powi(scale)),
        Kind::Unsigned if x < 0 => Value::Float(x as u64 as f64),
        _ => Value::Int(x),
    };
    column.push(value, row);
}

fn read_chunk(
    row_group: &dyn RowGroupReader,
    index: usize,
    kind: Kind,
    column: &mut ColumnBuilder,
    first_row: u64,
) -> Result<(), ParquetError> {
    let max_def = row_group
        .metadata()
        .column(index)
        .column_descr()
        .max_def_level();
    let mut row = first_row;
    let mut next = || {
        row += 1;
        row
    };
    match row_group.get_column_reader(index)? {
        ColumnReader::BoolColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(v.map_or(Value::Null, |&b| Value::Bool(b)), next())
        }),
        ColumnReader::Int32ColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(&x) => push_i64(column, kind, i64::from(x), next()),
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::Int64ColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(&x) => push_i64(column, kind, x, next()),
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::Int96ColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(
                v.map_or(Value::Null, |t| Value::Datetime(t.to_millis())),
                next(),
            )
        }),
        ColumnReader::FloatColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(
                v.map_or(Value::Null, |&x| Value::Float(f64::from(x))),
                next(),
            )
        }),
        ColumnReader::DoubleColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(v.map_or(Value::Null, |&x| Value::Float(x)), next())
        }),
        ColumnReader::ByteArrayColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(bytes) => {
                let text = String::from_utf8_lossy(bytes.data());
                column.push(Value::Str(&text), next())
            }
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::FixedLenByteArrayColumnReader(_) => Ok(()),
    }
}

impl ParquetBuffer {
    pub(crate) fn new(options: &LoadOptions) -> ParquetBuffer {
        ParquetBuffer {
            bytes: Vec::new(),
            types: options.types.clone(),
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    pub(crate) fn finish(self) -> Result<Loaded, LoadError> {
        if self.bytes.is_empty() {
            return Err(LoadError::Empty {
                format: "Parquet file",
                expected: "a Parquet file",
            });
        }
        let reader = SerializedFileReader::new(bytes::Bytes::from(self.bytes)).map_err(error)?;
        let metadata = reader.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let mut diagnostics = Vec::new();
        let mut kept: Vec<(usize, Kind)> = Vec::new();
        let mut columns: Vec<ColumnBuilder> = Vec::new();
        for index in 0..schema.num_columns() {
            let descr = schema.column(index);
            let name = descr.path().string();
            match kind(&descr) {
                Ok(kind) => {
                    if columns.iter().any(|c| c.name == name) {
                        return Err(LoadError::Parquet(format!(
                            "duplicate column name '{name}'"
                        )));
                    }
                    kept.push((index, kind));
                    let forced = self.types.get(&name).copied();
                    columns.push(ColumnBuilder::new(name, forced));
                }
                Err(why) => diagnostics.push(Diagnostic::column(&name, format!("left out: {why}"))),
            }
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        check_types(&self.types, &names)?;
        let mut rows = 0u64;
        for group in 0..metadata.num_row_groups() {
            let row_group = reader.get_row_group(group).map_err(error)?;
            let group_rows = u64::try_from(row_group.metadata().num_rows()).unwrap_or(0);
            for ((index, kind), column) in kept.iter().zip(&mut columns) {
                read_chunk(row_group.as_ref(), *index, *kind, column, rows).map_err(error)?;
                // A chunk with fewer values than its row group says is a broken file.
                let expected = usize::try_from(rows + group_rows).unwrap_or(usize::MAX);
                if column.len() != expected {
                    return Err(LoadError::Parquet(format!(
                        "column '{}' has {} values in row group {} of {group_rows} rows",
                        column.name,
                        (column.len() as u64).saturating_sub(rows),
                        group + 1
                    )));
                }
            }
            rows += group_rows;
        }
        build_frame(columns, diagnostics)
    }
}
