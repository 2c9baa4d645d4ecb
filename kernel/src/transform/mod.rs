//! Cleaning and transforming frames: the Rust side of the cell functions that fill and
//! drop nulls, handle outliers, filter, sort, dedupe, derive, encode, scale, group and
//! join. Each is an `impl Frame` method returning a new frame; column transforms record
//! a [`crate::recipe::Step`] on the result so that models can replay them.

use crate::expr::ExprError;
use crate::frame::{DType, FrameError};

mod clean;
mod columns;
mod features;
mod group;
mod rows;

pub use columns::parse_dtype;
pub use rows::Cell;

pub use clean::{Fill, OutlierMethod, Outliers};
pub use features::{Bins, MAX_CATEGORIES};
pub use group::{Aggregate, JoinKind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Expr(#[from] ExprError),
    #[error("column '{column}' is {dtype}; {operation} needs {wanted}")]
    WrongType {
        column: String,
        dtype: DType,
        operation: String,
        wanted: String,
    },
    #[error("column '{column}' has no values (it is empty or all null), so {operation} has nothing to go by")]
    NoValues { column: String, operation: String },
    #[error("{operation} would make a column '{column}', but the frame has one already")]
    ColumnExists { column: String, operation: String },
    #[error(
        "column '{column}' has {count} distinct values; one_hot makes a column for each and \
         takes at most {MAX_CATEGORIES} (ordinal_encode has no limit)"
    )]
    TooManyCategories { column: String, count: usize },
    #[error("{0}")]
    Invalid(String),
}

impl TransformError {
    pub(crate) fn wrong_type(
        column: &str,
        dtype: DType,
        operation: &str,
        wanted: &str,
    ) -> TransformError {
        TransformError::WrongType {
            column: column.to_string(),
            dtype,
            operation: operation.to_string(),
            wanted: wanted.to_string(),
        }
    }
}

/// The non-null values of a numeric (int, float or bool) column, or why not.
pub(crate) fn numeric_values(
    frame: &crate::frame::Frame,
    column: &str,
    operation: &str,
) -> Result<Vec<f64>, TransformError> {
    use crate::frame::ColumnData;
    let data = &frame.column(column)?.data;
    match data {
        ColumnData::Int(_) | ColumnData::Float(_) | ColumnData::Bool(_) => {
            Ok((0..data.len()).filter_map(|i| data.f64_at(i)).collect())
        }
        other => Err(TransformError::wrong_type(
            column,
            other.dtype(),
            operation,
            "numbers",
        )),
    }
}

/// The `q` quantile (0 to 1) of sorted values, interpolating linearly as pandas.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Mean and sample standard deviation (`None` for fewer than two values).
pub(crate) fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (n > 1)
        .then(|| (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    (Some(mean), std)
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
