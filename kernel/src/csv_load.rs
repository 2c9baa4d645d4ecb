//! CSV bytes → [`Frame`]: a header row, then one record per line, each column's type
//! inferred from its values.
//!
//! Inference, per column, over the non-null values: all integers → `int`; all numbers →
//! `float`; all `true`/`false` (any case) → `bool`; anything else → `str`. A column with
//! no value at all is `float`, as in pandas. Null tokens (any case, after trimming): the
//! empty field, `NA`, `N/A`, `null`, `NaN`. Fields are trimmed of surrounding
//! whitespace; a UTF-8 byte order mark and CRLF line ends are accepted.

use crate::frame::{Column, ColumnData, Frame};

/// Why bytes are not a CSV table. Lines are 1-based lines of the input (a quoted field
/// may span lines: the line is where its record starts); columns are 1-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("the CSV is empty: expected a header row")]
    Empty,
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
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

fn name_suffix(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" ('{n}')"))
        .unwrap_or_default()
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a whole CSV document. Never panics, whatever the bytes.
pub fn parse_csv(bytes: &[u8]) -> Result<Frame, LoadError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // Headers are read as an ordinary record so that every record, the header included,
    // goes through the same UTF-8 and length checks with its own line number.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    // The reader's own line numbers drift on CRLF input (a record "starts" at the `\n`
    // that ended the previous line), so lines are counted from byte offsets instead.
    let line_at = |offset: u64| -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let start = bytes[offset..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(bytes.len(), |skip| offset + skip);
        1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64
    };
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    let mut raw: Vec<Vec<Option<String>>> = Vec::new();
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = line_at(e.position().map_or(start, |p| p.byte()));
                return Err(LoadError::Malformed {
                    line,
                    message: e.to_string(),
                });
            }
        }
        let line = line_at(record.position().map_or(start, |p| p.byte()));
        match &header {
            None => header = Some(read_header(&record, line)?),
            Some(names) => {
                if record.len() != names.len() {
                    return Err(LoadError::Ragged {
                        line,
                        expected: names.len(),
                        found: record.len(),
                    });
                }
                if raw.is_empty() {
                    raw = vec![Vec::new(); names.len()];
                }
                for (i, field) in record.iter().enumerate() {
                    let text = std::str::from_utf8(field).map_err(|_| LoadError::InvalidUtf8 {
                        line,
                        column: i + 1,
                        name: Some(names[i].clone()),
                    })?;
                    raw[i].push((!is_null(text)).then(|| text.to_string()));
                }
            }
        }
    }
    let names = header.ok_or(LoadError::Empty)?;
    if raw.is_empty() {
        raw = vec![Vec::new(); names.len()];
    }
    let columns = names
        .into_iter()
        .zip(raw)
        .map(|(name, values)| Column {
            name,
            data: infer(values),
        })
        .collect();
    // Names are unique and every column has one value per record, checked above.
    Frame::new(columns).map_err(|e| LoadError::Malformed {
        line: 1,
        message: e.to_string(),
    })
}

/// Column names from the header record; an empty name becomes `column_N`.
fn read_header(record: &csv::ByteRecord, line: u64) -> Result<Vec<String>, LoadError> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| LoadError::InvalidUtf8 {
            line,
            column: i + 1,
            name: None,
        })?;
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.to_string()
        };
        if let Some(first) = names.iter().position(|n| *n == name) {
            return Err(LoadError::DuplicateHeader {
                line,
                name,
                first: first + 1,
                second: i + 1,
            });
        }
        names.push(name);
    }
    Ok(names)
}

fn is_null(field: &str) -> bool {
    field.is_empty()
        || ["NA", "N/A", "null", "NaN"]
            .iter()
            .any(|token| field.eq_ignore_ascii_case(token))
}

/// A float as CSV writes it: digits with optional sign, point and exponent. Rust's
/// parser alone would also take `inf` and `infinity`, which are more likely words.
fn parse_float(text: &str) -> Option<f64> {
    let looks_numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    looks_numeric.then(|| text.parse::<f64>().ok()).flatten()
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The narrowest type that holds every value (see the module's documentation).
fn infer(values: Vec<Option<String>>) -> ColumnData {
    let present = || values.iter().flatten();
    if present().next().is_none() {
        return ColumnData::Float(vec![None; values.len()]);
    }
    if present().all(|v| v.parse::<i64>().is_ok()) {
        return ColumnData::Int(
            values
                .iter()
                .map(|v| v.as_deref().and_then(|v| v.parse().ok()))
                .collect(),
        );
    }
    if present().all(|v| parse_float(v).is_some()) {
        return ColumnData::Float(
            values
                .iter()
                .map(|v| v.as_deref().and_then(parse_float))
                .collect(),
        );
    }
    if present().all(|v| parse_bool(v).is_some()) {
        return ColumnData::Bool(
            values
                .iter()
                .map(|v| v.as_deref().and_then(parse_bool))
                .collect(),
        );
    }
    ColumnData::Str(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::DType;

    #[test]
    fn infers_types_and_nulls() {
        let frame = parse_csv(b"a,b,c,d,e\n1,1.5,true,x,\n2,NA,FALSE,,null\n").unwrap();
        let types: Vec<DType> = frame.columns().map(|c| c.data.dtype()).collect();
        assert_eq!(
            types,
            [
                DType::Int,
                DType::Float,
                DType::Bool,
                DType::Str,
                DType::Float
            ]
        );
        assert_eq!(
            frame.column("b").unwrap().data,
            ColumnData::Float(vec![Some(1.5), None])
        );
        assert_eq!(
            frame.column("d").unwrap().data,
            ColumnData::Str(vec![Some("x".into()), None])
        );
    }

    #[test]
    fn words_like_inf_stay_strings() {
        let frame = parse_csv(b"w\ninf\n1\n").unwrap();
        assert_eq!(frame.column("w").unwrap().data.dtype(), DType::Str);
    }

    #[test]
    fn bom_and_crlf() {
        let frame = parse_csv(b"\xEF\xBB\xBFa,b\r\n1,2\r\n").unwrap();
        assert_eq!(frame.column_names(), ["a", "b"]);
        assert_eq!(
            frame.column("b").unwrap().data,
            ColumnData::Int(vec![Some(2)])
        );
    }
}
