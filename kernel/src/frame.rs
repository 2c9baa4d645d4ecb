//! The columnar data frame: named, typed columns with nulls.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::column::{Strings, Values};
use crate::datetime::{format_datetime, parse_datetime};
use crate::recipe::Recipe;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Float,
    Int,
    Bool,
    Str,
    /// Milliseconds since the Unix epoch, UTC (see [`crate::datetime`]).
    Datetime,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::Float => "float",
            DType::Int => "int",
            DType::Bool => "bool",
            DType::Str => "str",
            DType::Datetime => "datetime",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One column's values, nulls included. The storage is compact (see [`crate::column`]):
/// read a row with `get(i)` (an `Option`), all rows with `iter()`; build one with
/// `collect()` from `Option`s or `From<Vec<Option<T>>>`.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Float(Values<f64>),
    Int(Values<i64>),
    Bool(Values<bool>),
    Str(Strings),
    /// Milliseconds since the Unix epoch, UTC.
    Datetime(Values<i64>),
}

impl ColumnData {
    pub fn dtype(&self) -> DType {
        match self {
            ColumnData::Float(_) => DType::Float,
            ColumnData::Int(_) => DType::Int,
            ColumnData::Bool(_) => DType::Bool,
            ColumnData::Str(_) => DType::Str,
            ColumnData::Datetime(_) => DType::Datetime,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnData::Float(v) => v.len(),
            ColumnData::Int(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(v) => v.len(),
            ColumnData::Datetime(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `row` is null (or past the end).
    #[inline]
    pub fn is_null(&self, row: usize) -> bool {
        match self {
            ColumnData::Float(v) => v.is_null(row),
            ColumnData::Int(v) => v.is_null(row),
            ColumnData::Bool(v) => v.is_null(row),
            ColumnData::Str(v) => v.is_null(row),
            ColumnData::Datetime(v) => v.is_null(row),
        }
    }

    /// How many rows are null.
    pub fn null_count(&self) -> usize {
        match self {
            ColumnData::Float(v) => v.null_count(),
            ColumnData::Int(v) => v.null_count(),
            ColumnData::Bool(v) => v.null_count(),
            ColumnData::Str(v) => v.null_count(),
            ColumnData::Datetime(v) => v.null_count(),
        }
    }

    /// The heap bytes the values take (by capacity; the allocator's own overhead left out).
    pub fn heap_bytes(&self) -> usize {
        match self {
            ColumnData::Float(v) => v.heap_bytes(),
            ColumnData::Int(v) => v.heap_bytes(),
            ColumnData::Bool(v) => v.heap_bytes(),
            ColumnData::Str(v) => v.heap_bytes(),
            ColumnData::Datetime(v) => v.heap_bytes(),
        }
    }

    /// The value at `row` as a number, for numeric and bool columns (true = 1); `None`
    /// for str and datetime columns.
    #[inline]
    pub fn f64_at(&self, row: usize) -> Option<f64> {
        match self {
            ColumnData::Float(v) => v.get(row),
            ColumnData::Int(v) => v.get(row).map(|x| x as f64),
            ColumnData::Bool(v) => v.get(row).map(|x| if x { 1.0 } else { 0.0 }),
            ColumnData::Str(_) | ColumnData::Datetime(_) => None,
        }
    }

    /// The value at `row` as JSON (null for a missing value).
    pub fn json_at(&self, row: usize) -> serde_json::Value {
        use serde_json::Value;
        match self {
            ColumnData::Float(v) => v
                .get(row)
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            ColumnData::Int(v) => v.get(row).map_or(Value::Null, Value::from),
            ColumnData::Bool(v) => v.get(row).map_or(Value::Null, Value::Bool),
            ColumnData::Str(v) => v
                .get(row)
                .map_or(Value::Null, |s| Value::String(s.to_string())),
            ColumnData::Datetime(v) => v
                .get(row)
                .map_or(Value::Null, |x| Value::String(format_datetime(x))),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn take(&self, indices: &[usize]) -> ColumnData {
        match self {
            ColumnData::Float(v) => ColumnData::Float(v.take(indices)),
            ColumnData::Int(v) => ColumnData::Int(v.take(indices)),
            ColumnData::Bool(v) => ColumnData::Bool(v.take(indices)),
            ColumnData::Str(v) => ColumnData::Str(v.take(indices)),
            ColumnData::Datetime(v) => ColumnData::Datetime(v.take(indices)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
}

/// A table of equally long named columns. Columns sit behind `Arc` so that a frame is
/// cheap to clone (script values are cloned when passed around) and to select from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    columns: Vec<Arc<Column>>,
    rows: usize,
    /// The feature steps applied since the data was loaded, which a model fitted on the
    /// frame replays on raw rows (see [`crate::recipe`]). Row operations keep it.
    recipe: Arc<Recipe>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("no column named '{name}' (columns: {available})")]
    NoSuchColumn { name: String, available: String },
    #[error("column '{name}' has {found} rows but the frame has {expected}")]
    LengthMismatch {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("duplicate column name '{0}'")]
    DuplicateColumn(String),
    #[error("column '{name}' is {dtype}; {wanted}")]
    WrongType {
        name: String,
        dtype: DType,
        wanted: String,
    },
    #[error("unknown comparison '{0}' (use one of == != < <= > >=)")]
    UnknownOperator(String),
}

impl Frame {
    /// Builds a frame, checking that names are unique and lengths agree.
    pub fn new(columns: Vec<Column>) -> Result<Frame, FrameError> {
        let rows = columns.first().map_or(0, |c| c.data.len());
        for (i, column) in columns.iter().enumerate() {
            if column.data.len() != rows {
                return Err(FrameError::LengthMismatch {
                    name: column.name.clone(),
                    expected: rows,
                    found: column.data.len(),
                });
            }
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(FrameError::DuplicateColumn(column.name.clone()));
            }
        }
        Ok(Frame {
            columns: columns.into_iter().map(Arc::new).collect(),
            rows,
            recipe: Arc::default(),
        })
    }

    pub fn row_count(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().map(|c| c.as_ref())
    }

    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    pub fn column(&self, name: &str) -> Result<&Column, FrameError> {
        self.columns
            .iter()
            .map(|c| c.as_ref())
            .find(|c| c.name == name)
            .ok_or_else(|| FrameError::NoSuchColumn {
                name: name.to_string(),
                available: self.column_names().join(", "),
            })
    }

    /// The named columns, sharing their data with `self`.
    pub fn select(&self, names: &[String]) -> Result<Frame, FrameError> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            self.column(name)?;
            if columns.iter().any(|c: &Arc<Column>| &c.name == name) {
                return Err(FrameError::DuplicateColumn(name.clone()));
            }
            let shared = self.columns.iter().find(|c| &c.name == name).cloned();
            columns.extend(shared);
        }
        Ok(Frame {
            columns,
            rows: self.rows,
            recipe: self.recipe.clone(),
        })
    }

    /// A frame of columns shared with other frames (no data is copied), checked as
    /// [`Frame::new`] checks.
    pub(crate) fn from_shared(
        columns: Vec<Arc<Column>>,
        recipe: Arc<Recipe>,
    ) -> Result<Frame, FrameError> {
        let rows = columns.first().map_or(0, |c| c.data.len());
        for (i, column) in columns.iter().enumerate() {
            if column.data.len() != rows {
                return Err(FrameError::LengthMismatch {
                    name: column.name.clone(),
                    expected: rows,
                    found: column.data.len(),
                });
            }
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(FrameError::DuplicateColumn(column.name.clone()));
            }
        }
        Ok(Frame {
            columns,
            rows,
            recipe,
        })
    }

    /// The columns as shared pointers, to build other frames without copying data.
    pub(crate) fn shared_columns(&self) -> &[Arc<Column>] {
        &self.columns
    }

    /// The feature steps applied to the frame since it was loaded.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The frame with its recipe replaced.
    pub fn with_recipe(mut self, recipe: Recipe) -> Frame {
        self.recipe = Arc::new(recipe);
        self
    }

    /// The frame as loaded from `dataset`, which frames made from it keep naming (see
    /// [`Recipe::dataset`]).
    pub fn from_dataset(self, dataset: oxbook_protocol::DatasetRef) -> Frame {
        let recipe = Recipe {
            dataset: Some(dataset),
            ..self.recipe().clone()
        };
        self.with_recipe(recipe)
    }

    /// The bytes the frame was loaded from, when a named load made it.
    pub fn dataset(&self) -> Option<&oxbook_protocol::DatasetRef> {
        self.recipe.dataset.as_ref()
    }

    /// The rows at `indices`, in that order.
    pub fn take(&self, indices: &[usize]) -> Frame {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                Arc::new(Column {
                    name: c.name.clone(),
                    data: c.data.take(indices),
                })
            })
            .collect();
        Frame {
            columns,
            rows: indices.len(),
            recipe: self.recipe.clone(),
        }
    }
}

/// One value to compare a column with (see [`Frame::filter`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Int(x) => write!(f, "{x}"),
            Scalar::Float(x) => f.write_str(&format_float(*x)),
            Scalar::Bool(x) => write!(f, "{x}"),
            Scalar::Str(x) => write!(f, "{x:?}"),
        }
    }
}

impl Scalar {
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
            Scalar::Str(_) => "str",
        }
    }
}

/// A comparison operator of [`Frame::filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Whether `ordering` (of the column's value against the scalar) satisfies the operator.
    fn accepts(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ordering == Equal,
            CompareOp::Ne => ordering != Equal,
            CompareOp::Lt => ordering == Less,
            CompareOp::Le => ordering != Greater,
            CompareOp::Gt => ordering == Greater,
            CompareOp::Ge => ordering != Less,
        }
    }
}

impl std::str::FromStr for CompareOp {
    type Err = FrameError;
    fn from_str(s: &str) -> Result<Self, FrameError> {
        Ok(match s {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            other => return Err(FrameError::UnknownOperator(other.to_string())),
        })
    }
}

/// Rows shown by [`Frame::to_text`] when asked for a summary.
pub const TEXT_ROWS: usize = 10;

impl Frame {
    /// `self` with `column` added at the end, or replacing the column of that name.
    pub fn with_column(&self, column: Column) -> Result<Frame, FrameError> {
        if !self.columns.is_empty() && column.data.len() != self.rows {
            return Err(FrameError::LengthMismatch {
                name: column.name,
                expected: self.rows,
                found: column.data.len(),
            });
        }
        let rows = column.data.len();
        let mut columns = self.columns.clone();
        match columns.iter().position(|c| c.name == column.name) {
            Some(i) => columns[i] = Arc::new(column),
            None => columns.push(Arc::new(column)),
        }
        Ok(Frame {
            columns,
            rows,
            recipe: self.recipe.clone(),
        })
    }

    /// The first `n` rows (all of them when the frame is shorter).
    pub fn head(&self, n: usize) -> Frame {
        if n >= self.rows {
            return self.clone();
        }
        let indices: Vec<usize> = (0..n).collect();
        self.take(&indices)
    }

    /// The rows with no null in `columns` (in any column when `None`).
    pub fn drop_nulls(&self, columns: Option<&[String]>) -> Result<Frame, FrameError> {
        let checked: Vec<&Column> = match columns {
            Some(names) => names
                .iter()
                .map(|n| self.column(n))
                .collect::<Result<_, _>>()?,
            None => self.columns().collect(),
        };
        let keep: Vec<usize> = (0..self.rows)
            .filter(|&row| checked.iter().all(|c| !c.data.is_null(row)))
            .collect();
        Ok(if keep.len() == self.rows {
            self.clone()
        } else {
            self.take(&keep)
        })
    }

    /// The rows whose value in `column` compares to `value` as `op` says. Nulls never
    /// match, not even `!=`, as in SQL. Int and float compare as numbers; bools only with
    /// bools (false < true); strings only with strings, by code point; datetimes with
    /// ISO-8601 strings (`"2024-03-05"`).
    pub fn filter(&self, column: &str, op: CompareOp, value: &Scalar) -> Result<Frame, FrameError> {
        use std::cmp::Ordering;
        let col = self.column(column)?;
        let mismatch = || FrameError::WrongType {
            name: column.to_string(),
            dtype: col.data.dtype(),
            wanted: format!(
                "it cannot be compared with the {} value {value}",
                value.type_name()
            ),
        };
        let number = match value {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            _ => None,
        };
        let data = &col.data;
        let ordering_at: Box<dyn Fn(usize) -> Option<Ordering>> = match (data, value, number) {
            // Exact for large ints, which f64 would round.
            (ColumnData::Int(v), Scalar::Int(x), _) => {
                Box::new(move |r| v.get(r).map(|a| a.cmp(x)))
            }
            (ColumnData::Int(_) | ColumnData::Float(_), _, Some(x)) => {
                Box::new(move |r| data.f64_at(r).and_then(|a| a.partial_cmp(&x)))
            }
            (ColumnData::Bool(v), Scalar::Bool(x), _) => {
                Box::new(move |r| v.get(r).map(|a| a.cmp(x)))
            }
            (ColumnData::Datetime(v), Scalar::Str(x), _) => {
                let x = parse_datetime(x).ok_or_else(mismatch)?;
                Box::new(move |r| v.get(r).map(|a| a.cmp(&x)))
            }
            (ColumnData::Str(v), Scalar::Str(x), _) => {
                Box::new(move |r| v.get(r).map(|a| a.cmp(x.as_str())))
            }
            _ => return Err(mismatch()),
        };
        let keep: Vec<usize> = (0..self.rows)
            .filter(|&r| ordering_at(r).is_some_and(|o| op.accepts(o)))
            .collect();
        Ok(self.take(&keep))
    }

    /// Summary statistics, one row per column of `self`: `count` (non-null values),
    /// `nulls`; for int and float columns `mean`, `std` (sample), `min`, quartiles
    /// (linear interpolation, as pandas) and `max`; for every column `distinct` (non-null
    /// values); for all but float columns `top` (the most frequent value, the smallest on
    /// ties) and `freq` (how often it occurs).
    pub fn describe(&self) -> Frame {
        let n = self.columns.len();
        let mut names = Vec::with_capacity(n);
        let mut dtypes = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        let mut nulls = Vec::with_capacity(n);
        let mut stats: [Vec<Option<f64>>; 7] = Default::default();
        let mut distinct = Vec::with_capacity(n);
        let mut top = Vec::with_capacity(n);
        let mut freq = Vec::with_capacity(n);
        for column in self.columns() {
            let data = &column.data;
            let present = (0..self.rows).filter(|&r| !data.is_null(r)).count();
            names.push(Some(column.name.clone()));
            dtypes.push(Some(data.dtype().name().to_string()));
            counts.push(Some(present as i64));
            nulls.push(Some((self.rows - present) as i64));
            let numeric = matches!(data, ColumnData::Int(_) | ColumnData::Float(_));
            let summary = if numeric {
                let mut values: Vec<f64> = (0..self.rows).filter_map(|r| data.f64_at(r)).collect();
                values.sort_by(f64::total_cmp);
                numeric_summary(&values)
            } else {
                [None; 7]
            };
            for (stat, value) in stats.iter_mut().zip(summary) {
                stat.push(value);
            }
            // Every column's distinct count (a few distinct ints are likely codes); the
            // most frequent value of all but floats, whose top value means little.
            let counted = count_values(data);
            distinct.push(Some(counted.len() as i64));
            let most = counted.first().filter(|_| data.dtype() != DType::Float);
            top.push(most.map(|(key, _)| key.display()));
            freq.push(most.map(|(_, n)| *n as i64));
        }
        let [mean, std, min, q1, q2, q3, max] = stats;
        let float = |name: &str, v: Vec<Option<f64>>| Column {
            name: name.to_string(),
            data: ColumnData::Float(v.into()),
        };
        Frame::new(vec![
            Column {
                name: "column".into(),
                data: ColumnData::Str(names.into()),
            },
            Column {
                name: "dtype".into(),
                data: ColumnData::Str(dtypes.into()),
            },
            Column {
                name: "count".into(),
                data: ColumnData::Int(counts.into()),
            },
            Column {
                name: "nulls".into(),
                data: ColumnData::Int(nulls.into()),
            },
            float("mean", mean),
            float("std", std),
            float("min", min),
            float("25%", q1),
            float("50%", q2),
            float("75%", q3),
            float("max", max),
            Column {
                name: "distinct".into(),
                data: ColumnData::Int(distinct.into()),
            },
            Column {
                name: "top".into(),
                data: ColumnData::Str(top.into()),
            },
            Column {
                name: "freq".into(),
                data: ColumnData::Int(freq.into()),
            },
        ])
        .expect("describe builds unique, equally long columns")
    }

    /// How often each non-null value of `column` occurs: a frame of the values (same
    /// type as the column) and `count`, most frequent first, ties by ascending value.
    pub fn value_counts(&self, column: &str) -> Result<Frame, FrameError> {
        let col = self.column(column)?;
        let counted = count_values(&col.data);
        let counts = ColumnData::Int(counted.iter().map(|(_, n)| Some(*n as i64)).collect());
        let values = match &col.data {
            ColumnData::Float(_) => ColumnData::Float(
                counted
                    .iter()
                    .map(|(k, _)| {
                        if let Key::Float(x) = k {
                            Some(x.0)
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            ColumnData::Int(_) => ColumnData::Int(
                counted
                    .iter()
                    .map(|(k, _)| if let Key::Int(x) = k { Some(*x) } else { None })
                    .collect(),
            ),
            ColumnData::Bool(_) => ColumnData::Bool(
                counted
                    .iter()
                    .map(|(k, _)| if let Key::Bool(x) = k { Some(*x) } else { None })
                    .collect(),
            ),
            ColumnData::Str(_) => ColumnData::Str(
                counted
                    .iter()
                    .map(|(k, _)| if let Key::Str(x) = k { Some(*x) } else { None })
                    .collect(),
            ),
            ColumnData::Datetime(_) => ColumnData::Datetime(
                counted
                    .iter()
                    .map(|(k, _)| {
                        if let Key::Datetime(x) = k {
                            Some(*x)
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
        };
        // A column literally named `count` would collide with the counts.
        let count_name = if column == "count" { "count_" } else { "count" };
        Frame::new(vec![
            Column {
                name: column.to_string(),
                data: values,
            },
            Column {
                name: count_name.to_string(),
                data: counts,
            },
        ])
    }

    /// The first `max_rows` rows as the notebook's table output.
    pub fn to_table(&self, max_rows: usize) -> oxbook_protocol::TableData {
        let shown = self.rows.min(max_rows);
        oxbook_protocol::TableData {
            columns: self
                .columns()
                .map(|c| oxbook_protocol::TableColumn {
                    name: c.name.clone(),
                    dtype: c.data.dtype().name().to_string(),
                })
                .collect(),
            rows: (0..shown)
                .map(|r| self.columns().map(|c| c.data.json_at(r)).collect())
                .collect(),
            total_rows: self.rows,
        }
    }

    /// The first `max_rows` rows as an aligned text table: a header line of names, a
    /// line of types, the rows (`null` for a missing value; numbers right-aligned), an
    /// ellipsis line when rows were left out, and a `[R rows × C columns]` line.
    pub fn to_text(&self, max_rows: usize) -> String {
        let footer = format!(
            "[{} × {}]",
            plural(self.rows, "row"),
            plural(self.columns.len(), "column")
        );
        if self.columns.is_empty() {
            return footer;
        }
        let shown = self.rows.min(max_rows);
        let mut cells: Vec<Vec<String>> = Vec::with_capacity(self.columns.len());
        for column in self.columns() {
            let mut cell = vec![column.name.clone(), column.data.dtype().name().to_string()];
            cell.extend(
                (0..shown).map(|r| column.data.display_at(r).unwrap_or_else(|| "null".into())),
            );
            cells.push(cell);
        }
        let widths: Vec<usize> = cells
            .iter()
            .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for line in 0..shown + 2 {
            let mut text = String::new();
            for ((cell, width), column) in cells.iter().zip(&widths).zip(self.columns()) {
                if !text.is_empty() {
                    text.push_str("  ");
                }
                let value = &cell[line];
                let right = line >= 2 && matches!(column.data.dtype(), DType::Int | DType::Float);
                if right {
                    text.push_str(&format!("{value:>width$}"));
                } else {
                    text.push_str(&format!("{value:<width$}"));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        if shown < self.rows {
            out.push_str("…\n");
        }
        out.push_str(&footer);
        out
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl ColumnData {
    /// The value at `row` as text for display (`None` for a null); floats are rounded
    /// to four decimals so that summaries stay readable.
    pub fn display_at(&self, row: usize) -> Option<String> {
        match self {
            ColumnData::Float(v) => v.get(row).map(format_float),
            ColumnData::Int(v) => v.get(row).map(|x| x.to_string()),
            ColumnData::Bool(v) => v.get(row).map(|x| x.to_string()),
            ColumnData::Str(v) => v.get(row).map(str::to_string),
            ColumnData::Datetime(v) => v.get(row).map(format_datetime),
        }
    }
}

/// A float as people read it: at most four decimals, trailing zeros dropped but one
/// decimal kept so that it still reads as a float (`3.0`, `0.3333`, `1.5e-7`).
pub fn format_float(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e15).contains(&magnitude) {
        // Four decimals of the mantissa, trailing zeros dropped: 6.0409e-5, 1e20.
        let text = format!("{x:.4e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exponent}");
    }
    let mut text = format!("{x:.4}");
    while text.ends_with('0') && !text.ends_with(".0") {
        text.pop();
    }
    if text == "-0.0" {
        text = "0.0".into();
    }
    text
}

/// mean, std, min, 25%, 50%, 75%, max of sorted values (all `None` when empty; `std`
/// also when there is a single value, as pandas).
fn numeric_summary(sorted: &[f64]) -> [Option<f64>; 7] {
    let n = sorted.len();
    if n == 0 {
        return [None; 7];
    }
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let std = (n > 1)
        .then(|| (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let quantile = |q: f64| {
        let pos = q * (n - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    [
        Some(mean),
        std,
        Some(sorted[0]),
        Some(quantile(0.25)),
        Some(quantile(0.5)),
        Some(quantile(0.75)),
        Some(sorted[n - 1]),
    ]
}

/// A non-null value as a totally ordered key, for counting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Float(TotalF64),
    Int(i64),
    Bool(bool),
    Str(&'a str),
    Datetime(i64),
}

impl Key<'_> {
    fn display(&self) -> String {
        match self {
            Key::Float(x) => format_float(x.0),
            Key::Int(x) => x.to_string(),
            Key::Bool(x) => x.to_string(),
            Key::Str(x) => x.to_string(),
            Key::Datetime(x) => format_datetime(*x),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct TotalF64(f64);
impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for TotalF64 {}
impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Each distinct non-null value with its count, most frequent first, ties by value. A
/// BTreeMap keeps the order independent of hashing.
fn count_values<'a>(data: &'a ColumnData) -> Vec<(Key<'a>, usize)> {
    let mut counts: std::collections::BTreeMap<Key<'a>, usize> = std::collections::BTreeMap::new();
    let mut add = |key: Key<'a>| *counts.entry(key).or_default() += 1;
    match data {
        ColumnData::Float(v) => v
            .iter()
            .flatten()
            .for_each(|x| add(Key::Float(TotalF64(x)))),
        ColumnData::Int(v) => v.iter().flatten().for_each(|x| add(Key::Int(x))),
        ColumnData::Bool(v) => v.iter().flatten().for_each(|x| add(Key::Bool(x))),
        ColumnData::Str(v) => v.iter().flatten().for_each(|x| add(Key::Str(x))),
        ColumnData::Datetime(v) => v.iter().flatten().for_each(|x| add(Key::Datetime(x))),
    }
    let mut counted: Vec<(Key<'a>, usize)> = counts.into_iter().collect();
    // Stable sort: equal counts keep the map's ascending value order.
    counted.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    counted
}
