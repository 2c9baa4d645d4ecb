//! The JSON push parser: an array of records (`[{...}, {...}]`) or a stream of records,
//! one per line (JSON Lines) or otherwise separated by whitespace.
//!
//! A scanner finds where each record ends (tracking strings and nesting byte by byte,
//! across chunks); serde_json then reads that record alone, so extra memory is one record.
//! Columns appear in the order their keys first appear; a record without a key has a null
//! there. JSON numbers, booleans and strings keep their types (an ISO-8601 string becomes
//! a datetime); nested arrays and objects are kept as their JSON text.

use std::collections::{BTreeMap, HashMap};

use std::borrow::Cow;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::infer::{ColumnBuilder, Value};
use super::{build_frame, Diagnostic, LoadError, LoadOptions, Loaded};
use crate::frame::DType;

/// Where the scanner is, outside records.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Top {
    /// Nothing but whitespace yet.
    Start,
    /// Inside `[`, before a record (`first`: `]` may close the array here).
    ArrayValue { first: bool },
    /// Inside `[`, after a record: `,` or `]`.
    ArrayAfter,
    /// Records one after another, not in an array.
    Stream,
    /// After the array's `]`.
    Done,
}

pub(crate) struct JsonParser {
    top: Top,
    /// Inside a record: its nesting depth, and the string state.
    depth: u32,
    in_string: bool,
    escape: bool,
    /// The record's bytes so far, when it started in an earlier chunk.
    buf: Vec<u8>,
    /// Position of the next byte (1-based line; column in bytes).
    line: u64,
    column: u64,
    record_line: u64,
    record_column: u64,
    columns: Vec<ColumnBuilder>,
    index: HashMap<String, usize>,
    rows: usize,
    types: BTreeMap<String, DType>,
}

/// Reads one record's fields, in the order written, straight into the columns: keys and
/// strings are borrowed from the record's bytes (copied only when they hold escapes), so
/// a value costs no allocation of its own.
struct RecordSeed<'p> {
    parser: &'p mut JsonParser,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record (an object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let line = self.parser.record_line;
        while let Some(Key(key)) = map.next_key()? {
            let index = self.parser.column_index(&key);
            let column = &mut self.parser.columns[index];
            if column.len() > self.parser.rows {
                // A key repeated within the record: the first value stands.
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(ValueSeed { column, line })?;
        }
        Ok(())
    }
}

/// A key, borrowed from the record's bytes unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// One value, pushed to its column as it is read. Nested arrays and objects are kept as
/// their JSON text.
struct ValueSeed<'c> {
    column: &'c mut ColumnBuilder,
    line: u64,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.column.push(Value::Null, self.line);
        Ok(())
    }
    fn visit_bool<E>(self, x: bool) -> Result<(), E> {
        self.column.push(Value::Bool(x), self.line);
        Ok(())
    }
    fn visit_i64<E>(self, x: i64) -> Result<(), E> {
        self.column.push(Value::Int(x), self.line);
        Ok(())
    }
    fn visit_u64<E>(self, x: u64) -> Result<(), E> {
        // Past i64: a float, as serde_json's own numbers read it.
        let value = i64::try_from(x).map_or(Value::Float(x as f64), Value::Int);
        self.column.push(value, self.line);
        Ok(())
    }
    fn visit_f64<E>(self, x: f64) -> Result<(), E> {
        self.column.push(Value::Float(x), self.line);
        Ok(())
    }
    fn visit_str<E>(self, text: &str) -> Result<(), E> {
        self.column.push(Value::Str(text), self.line);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let nested = serde_json::Value::deserialize(SeqAccessDeserializer::new(seq))?;
        self.column.push_nested(&nested.to_string(), self.line);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let nested = serde_json::Value::deserialize(MapAccessDeserializer::new(map))?;
        self.column.push_nested(&nested.to_string(), self.line);
        Ok(())
    }
}

fn describe(byte: u8) -> String {
    match byte {
        b'[' => "an array".into(),
        b'"' => "a string".into(),
        b't' | b'f' => "a boolean".into(),
        b'n' => "null".into(),
        b'-' | b'0'..=b'9' => "a number".into(),
        b if b.is_ascii_graphic() => format!("'{}'", char::from(b)),
        b => format!("byte 0x{b:02X}"),
    }
}

impl JsonParser {
    pub(crate) fn new(options: &LoadOptions) -> JsonParser {
        JsonParser {
            top: Top::Start,
            depth: 0,
            in_string: false,
            escape: false,
            buf: Vec::new(),
            line: 1,
            column: 1,
            record_line: 1,
            record_column: 1,
            columns: Vec::new(),
            index: HashMap::new(),
            rows: 0,
            types: options.types.clone(),
        }
    }

    fn error(&self, message: String) -> LoadError {
        LoadError::Syntax {
            line: self.line,
            column: self.column,
            message,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), LoadError> {
        // Where the current record starts in this chunk, when it is inside one.
        let mut start = (self.depth > 0).then_some(0);
        for (i, &b) in chunk.iter().enumerate() {
            if self.depth > 0 {
                if self.in_string {
                    if self.escape {
                        self.escape = false;
                    } else if b == b'\\' {
                        self.escape = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth -= 1;
                            if self.depth == 0 {
                                let from = start.take().unwrap_or(0);
                                let mut buf = std::mem::take(&mut self.buf);
                                let result = if buf.is_empty() {
                                    self.record(&chunk[from..=i])
                                } else {
                                    buf.extend_from_slice(&chunk[from..=i]);
                                    self.record(&buf)
                                };
                                buf.clear();
                                self.buf = buf;
                                result?;
                                if self.top == (Top::ArrayValue { first: false }) {
                                    self.top = Top::ArrayAfter;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            } else if !b.is_ascii_whitespace() {
                match (self.top, b) {
                    (Top::Start, b'[') => self.top = Top::ArrayValue { first: true },
                    (Top::Start | Top::Stream, b'{') => {
                        self.top = Top::Stream;
                        start = Some(i);
                        self.begin_record();
                    }
                    (Top::ArrayValue { .. }, b'{') => {
                        self.top = Top::ArrayValue { first: false };
                        start = Some(i);
                        self.begin_record();
                    }
                    (Top::ArrayValue { first: true }, b']') | (Top::ArrayAfter, b']') => {
                        self.top = Top::Done
                    }
                    (Top::ArrayAfter, b',') => self.top = Top::ArrayValue { first: false },
                    (Top::ArrayAfter, other) => {
                        return Err(self.error(format!(
                            "expected ',' or ']' after record {}, found {}",
                            self.rows,
                            describe(other)
                        )))
                    }
                    (Top::ArrayValue { first: false }, b']') => {
                        return Err(self.error(format!(
                        "a ',' after record {} is followed by ']' (JSON allows no trailing comma)",
                        self.rows
                    )))
                    }
                    (Top::ArrayValue { .. }, other) => {
                        return Err(self.error(format!(
                            "record {} is {}, not an object",
                            self.rows + 1,
                            describe(other)
                        )))
                    }
                    (Top::Done, other) => {
                        return Err(
                            self.error(format!("{} after the end of the array", describe(other)))
                        )
                    }
                    (Top::Start | Top::Stream, other) => {
                        return Err(self.error(format!(
                            "expected an array of records or a record (an object), found {}",
                            describe(other)
                        )))
                    }
                }
            }
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        if let Some(from) = start {
            self.buf.extend_from_slice(&chunk[from..]);
        }
        Ok(())
    }

    fn begin_record(&mut self) {
        self.depth = 1;
        self.in_string = false;
        self.escape = false;
        self.record_line = self.line;
        self.record_column = self.column;
    }

    /// The column of `key`, made (null so far) when it is new.
    fn column_index(&mut self, key: &str) -> usize {
        if let Some(&index) = self.index.get(key) {
            return index;
        }
        let forced = self.types.get(key).copied();
        let mut column = ColumnBuilder::new(key.to_string(), forced);
        column.push_nulls(self.rows);
        self.columns.push(column);
        self.index.insert(key.to_string(), self.columns.len() - 1);
        self.columns.len() - 1
    }

    fn record(&mut self, bytes: &[u8]) -> Result<(), LoadError> {
        let (record_line, record_column) = (self.record_line, self.record_column);
        RecordSeed { parser: self }
            .deserialize(&mut serde_json::Deserializer::from_slice(bytes))
            .map_err(|e| {
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                // serde_json's word for a misspelt `true`, `false` or `null`.
                let message = if message == "expected ident" {
                    "expected true, false or null"
                } else {
                    message
                };
                let (line, column) = (e.line() as u64, e.column() as u64);
                LoadError::Syntax {
                    line: record_line + line.saturating_sub(1),
                    column: if line <= 1 {
                        record_column + column.saturating_sub(1)
                    } else {
                        column
                    },
                    message: message.to_string(),
                }
            })?;
        self.rows += 1;
        for column in &mut self.columns {
            if column.len() < self.rows {
                column.push_nulls(1);
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Loaded, LoadError> {
        if self.depth > 0 {
            return Err(LoadError::Syntax {
                line: self.record_line,
                column: self.record_column,
                message: format!(
                    "record {} is never closed (a '}}' is missing)",
                    self.rows + 1
                ),
            });
        }
        match self.top {
            Top::Start => {
                return Err(LoadError::Empty {
                    format: "JSON",
                    expected: "an array of records or one record per line",
                })
            }
            Top::ArrayValue { .. } | Top::ArrayAfter => {
                return Err(self.error("the array is never closed (a ']' is missing)".into()))
            }
            Top::Stream | Top::Done => {}
        }
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        super::check_types(&self.types, &names)?;
        let mut diagnostics = Vec::new();
        if self.rows == 0 {
            diagnostics.push(Diagnostic::general("the JSON holds no records".into()));
        }
        build_frame(self.columns, diagnostics)
    }
}
