//! Missing values and outliers.

use super::{mean_std, numeric_values, plural, quantile, TransformError};
use crate::datetime::parse_datetime;
use crate::expr::Lit;
use crate::frame::{Column, ColumnData, DType, Frame};
use crate::recipe::{Recipe, Step};

/// How `fill_nulls` fills a column's nulls.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// The mean of the column's values (an int column becomes float).
    Mean,
    /// The median (an int column becomes float).
    Median,
    /// The most frequent value (the smallest on ties).
    Mode,
    /// The previous row's value; leading nulls stay null. Not recorded in the recipe:
    /// it depends on row order, which single rows sent to an endpoint do not have.
    Forward,
    Value(Lit),
}

impl Fill {
    /// A fill method by name: `mean`, `median`, `mode` or `ffill`.
    pub fn method(name: &str) -> Result<Fill, TransformError> {
        Ok(match name {
            "mean" => Fill::Mean,
            "median" => Fill::Median,
            "mode" => Fill::Mode,
            "ffill" => Fill::Forward,
            other => {
                return Err(TransformError::Invalid(format!(
                "unknown fill method '{other}' (use mean, median, mode or ffill, or pass a value)"
            )))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlierMethod {
    /// Further than `k` standard deviations from the mean.
    ZScore,
    /// Further than `k` interquartile ranges below the first or above the third quartile.
    Iqr,
}

impl OutlierMethod {
    pub fn parse(name: &str) -> Result<OutlierMethod, TransformError> {
        match name {
            "zscore" => Ok(OutlierMethod::ZScore),
            "iqr" => Ok(OutlierMethod::Iqr),
            other => Err(TransformError::Invalid(format!(
                "unknown outlier method '{other}' (use zscore or iqr)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OutlierMethod::ZScore => "zscore",
            OutlierMethod::Iqr => "iqr",
        }
    }

    /// The usual `k`: 3 standard deviations, 1.5 interquartile ranges.
    pub fn default_k(self) -> f64 {
        match self {
            OutlierMethod::ZScore => 3.0,
            OutlierMethod::Iqr => 1.5,
        }
    }
}

/// The range of non-outlying values of a column and how many values fall outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outliers {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
}

impl Frame {
    /// The frame without the columns whose fraction of nulls is more than `threshold`
    /// (0 drops every column with a null), and the names of the dropped columns.
    pub fn drop_columns_with_nulls(
        &self,
        threshold: f64,
    ) -> Result<(Frame, Vec<String>), TransformError> {
        if !(0.0..1.0).contains(&threshold) {
            return Err(TransformError::Invalid(format!(
                "the null threshold is a fraction of rows from 0 up to (not including) 1, not {threshold}"
            )));
        }
        let rows = self.row_count().max(1) as f64;
        let mut keep = Vec::new();
        let mut dropped = Vec::new();
        for column in self.columns() {
            let nulls = (0..self.row_count())
                .filter(|&i| column.data.is_null(i))
                .count();
            if nulls as f64 / rows > threshold {
                dropped.push(column.name.clone());
            } else {
                keep.push(column.name.clone());
            }
        }
        Ok((self.select(&keep)?, dropped))
    }

    /// The frame with the nulls of `column` filled, and a note saying how many and with
    /// what. Fills other than `Forward` are recorded in the recipe with the value used.
    pub fn fill_nulls(&self, column: &str, fill: &Fill) -> Result<(Frame, String), TransformError> {
        let data = &self.column(column)?.data;
        let nulls = (0..data.len()).filter(|&i| data.is_null(i)).count();
        let numeric = |what: &str| -> Result<Vec<f64>, TransformError> {
            if !matches!(data.dtype(), DType::Int | DType::Float) {
                return Err(TransformError::wrong_type(
                    column,
                    data.dtype(),
                    &format!("filling with the {what}"),
                    "an int or float column",
                ));
            }
            let values = numeric_values(self, column, "fill_nulls")?;
            if values.is_empty() {
                return Err(TransformError::NoValues {
                    column: column.to_string(),
                    operation: format!("filling with the {what}"),
                });
            }
            Ok(values)
        };
        let (value, how) = match fill {
            Fill::Forward => {
                let filled = forward_fill(data);
                let out = self.with_column(Column {
                    name: column.to_string(),
                    data: filled,
                })?;
                let still = (0..out.row_count())
                    .filter(|&i| out.column(column).is_ok_and(|c| c.data.is_null(i)))
                    .count();
                let mut note = format!(
                    "fill_nulls: filled {} in '{column}' from the row before",
                    plural(nulls - still, "null")
                );
                if still > 0 {
                    note.push_str(&format!(
                        " ({} at the start had none before)",
                        plural(still, "null")
                    ));
                }
                return Ok((out, note));
            }
            Fill::Mean => {
                let (mean, _) = mean_std(&numeric("mean")?);
                (Lit::Float(mean.unwrap_or_default()), "the mean ")
            }
            Fill::Median => {
                let mut values = numeric("median")?;
                values.sort_by(f64::total_cmp);
                (
                    Lit::Float(quantile(&values, 0.5).unwrap_or_default()),
                    "the median ",
                )
            }
            Fill::Mode => {
                let counts = self.value_counts(column)?;
                let first = counts
                    .columns()
                    .next()
                    .map(|c| Lit::at(&c.data, 0))
                    .unwrap_or(Lit::Null);
                if first == Lit::Null {
                    return Err(TransformError::NoValues {
                        column: column.to_string(),
                        operation: "filling with the mode".into(),
                    });
                }
                (first, "the mode ")
            }
            Fill::Value(Lit::Str(text)) if data.dtype() == DType::Datetime => {
                let ms = parse_datetime(text).ok_or_else(|| {
                    TransformError::Invalid(format!(
                        "'{column}' is a datetime column and {text:?} is not an ISO-8601 date"
                    ))
                })?;
                (Lit::Datetime(ms), "")
            }
            Fill::Value(Lit::Null) => {
                return Err(TransformError::Invalid(
                    "filling nulls with null changes nothing; give a value or a method".into(),
                ))
            }
            Fill::Value(value) => (value.clone(), ""),
        };
        let step = Step::FillNulls {
            column: column.to_string(),
            value: value.clone(),
        };
        let out = Recipe::apply_and_record(self, step)?;
        let note = format!(
            "fill_nulls: filled {} in '{column}' with {how}{value}",
            plural(nulls, "null")
        );
        Ok((out, note))
    }

    /// Where the outliers of a numeric column start, by `method` with factor `k`.
    pub fn outliers(
        &self,
        column: &str,
        method: OutlierMethod,
        k: f64,
    ) -> Result<Outliers, TransformError> {
        if !(k.is_finite() && k > 0.0) {
            return Err(TransformError::Invalid(format!(
                "k must be a number above 0, not {k}"
            )));
        }
        let data = &self.column(column)?.data;
        if !matches!(data.dtype(), DType::Int | DType::Float) {
            return Err(TransformError::wrong_type(
                column,
                data.dtype(),
                "outlier detection",
                "an int or float column",
            ));
        }
        let mut values = numeric_values(self, column, "outlier detection")?;
        if values.is_empty() {
            return Err(TransformError::NoValues {
                column: column.to_string(),
                operation: "outlier detection".into(),
            });
        }
        let (lower, upper) = match method {
            OutlierMethod::ZScore => {
                let (mean, std) = mean_std(&values);
                let (mean, std) = (mean.unwrap_or_default(), std.unwrap_or_default());
                (mean - k * std, mean + k * std)
            }
            OutlierMethod::Iqr => {
                values.sort_by(f64::total_cmp);
                let q1 = quantile(&values, 0.25).unwrap_or_default();
                let q3 = quantile(&values, 0.75).unwrap_or_default();
                (q1 - k * (q3 - q1), q3 + k * (q3 - q1))
            }
        };
        let count = values.iter().filter(|&&x| x < lower || x > upper).count();
        Ok(Outliers {
            lower,
            upper,
            count,
        })
    }

    /// The rows whose value of `column` is not an outlier (nulls are kept), and a note
    /// saying how many rows were removed.
    pub fn remove_outliers(
        &self,
        column: &str,
        method: OutlierMethod,
        k: f64,
    ) -> Result<(Frame, String), TransformError> {
        let o = self.outliers(column, method, k)?;
        let data = &self.column(column)?.data;
        let keep: Vec<usize> = (0..self.row_count())
            .filter(|&i| data.f64_at(i).is_none_or(|x| x >= o.lower && x <= o.upper))
            .collect();
        let note = format!(
            "remove_outliers: removed {} of {} ('{column}' outside [{}, {}] by {}, k = {})",
            o.count,
            plural(self.row_count(), "row"),
            Lit::Float(o.lower),
            Lit::Float(o.upper),
            method.name(),
            Lit::Float(k),
        );
        let out = if keep.len() == self.row_count() {
            self.clone()
        } else {
            self.take(&keep)
        };
        Ok((out, note))
    }

    /// The frame with the outliers of `column` replaced by the nearest bound (recorded in
    /// the recipe), and a note saying how many values changed.
    pub fn clip_outliers(
        &self,
        column: &str,
        method: OutlierMethod,
        k: f64,
    ) -> Result<(Frame, String), TransformError> {
        let o = self.outliers(column, method, k)?;
        let step = Step::Clip {
            column: column.to_string(),
            lower: o.lower,
            upper: o.upper,
        };
        let out = Recipe::apply_and_record(self, step)?;
        let note = format!(
            "clip_outliers: clipped {} of '{column}' to [{}, {}] ({}, k = {})",
            plural(o.count, "value"),
            Lit::Float(o.lower),
            Lit::Float(o.upper),
            method.name(),
            Lit::Float(k),
        );
        Ok((out, note))
    }
}

fn forward_fill(data: &ColumnData) -> ColumnData {
    fn run<T: Copy, C: FromIterator<Option<T>>>(v: impl Iterator<Item = Option<T>>) -> C {
        let mut last: Option<T> = None;
        v.map(|x| {
            if x.is_some() {
                last = x;
            }
            last
        })
        .collect()
    }
    match data {
        ColumnData::Float(v) => ColumnData::Float(run(v.iter())),
        ColumnData::Int(v) => ColumnData::Int(run(v.iter())),
        ColumnData::Bool(v) => ColumnData::Bool(run(v.iter())),
        ColumnData::Str(v) => ColumnData::Str(run(v.iter())),
        ColumnData::Datetime(v) => ColumnData::Datetime(run(v.iter())),
    }
}
