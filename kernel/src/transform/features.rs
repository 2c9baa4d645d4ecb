//! Feature transforms: encoding, scaling, log, binning. Each fits its parameters on the
//! frame, freezes them into a recipe step and applies the step.

use std::collections::HashSet;

use super::rows::{compare_at, Cell};
use super::{numeric_values, plural, TransformError};
use crate::frame::{ColumnData, Frame};
use crate::recipe::{Recipe, Step};

/// The most categories `one_hot` makes columns for.
pub const MAX_CATEGORIES: usize = 256;
/// The most bins `bin` makes.
pub const MAX_BINS: usize = 1000;

/// How `bin` cuts a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Bins {
    /// Equal-width bins over the values' range; values beyond it later (at prediction)
    /// go to the first or last bin.
    Count(usize),
    /// Bins between these edges (increasing); values outside are null.
    Edges(Vec<f64>),
}

impl Frame {
    /// The distinct values of `column` as text, in value order (numbers as numbers).
    pub fn categories(&self, column: &str) -> Result<Vec<String>, TransformError> {
        let data = &self.column(column)?.data;
        let mut seen = HashSet::new();
        let mut rows: Vec<usize> = (0..data.len())
            .filter(|&i| !data.is_null(i) && seen.insert(Cell::at(data, i)))
            .collect();
        rows.sort_by(|&a, &b| compare_at(data, a, b));
        let mut texts: Vec<String> = Vec::with_capacity(rows.len());
        for i in rows {
            // Floats show rounded, so two may read the same: one category.
            if let Some(text) = data.display_at(i) {
                if !texts.contains(&text) {
                    texts.push(text);
                }
            }
        }
        Ok(texts)
    }

    /// `column` replaced by a 0/1 int column `<column>_<value>` per distinct value.
    pub fn one_hot(&self, column: &str) -> Result<Frame, TransformError> {
        let categories = self.categories(column)?;
        if categories.len() > MAX_CATEGORIES {
            return Err(TransformError::TooManyCategories {
                column: column.to_string(),
                count: categories.len(),
            });
        }
        let step = Step::OneHot {
            column: column.to_string(),
            categories,
        };
        Recipe::apply_and_record(self, step)
    }

    /// `column` replaced by the position of each value among `order` (by default the
    /// distinct values in value order); nulls stay null, values not in `order` are -1,
    /// which the note counts.
    pub fn ordinal_encode(
        &self,
        column: &str,
        order: Option<Vec<String>>,
    ) -> Result<(Frame, Option<String>), TransformError> {
        let categories = match order {
            None => self.categories(column)?,
            Some(order) => {
                for (i, c) in order.iter().enumerate() {
                    if order[..i].contains(c) {
                        return Err(TransformError::Invalid(format!(
                            "'{c}' appears twice in the order of '{column}'"
                        )));
                    }
                }
                order
            }
        };
        let step = Step::Ordinal {
            column: column.to_string(),
            categories,
        };
        let out = Recipe::apply_and_record(self, step)?;
        let unknown = match &out.column(column)?.data {
            ColumnData::Int(v) => v.iter().filter(|x| *x == Some(-1)).count(),
            _ => 0,
        };
        let note = (unknown > 0).then(|| {
            format!(
                "ordinal_encode: {} of '{column}' not in the order became -1",
                plural(unknown, "value")
            )
        });
        Ok((out, note))
    }

    /// Each of `columns` as `(x - mean) / std` (the population standard deviation, as
    /// scikit-learn; 1 for a constant column).
    pub fn standard_scale(&self, columns: &[String]) -> Result<Frame, TransformError> {
        let mut out = self.clone();
        for column in columns {
            let values = self.fitted_values(column, "standard_scale")?;
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let std = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let std = if std > 0.0 && std.is_finite() {
                std
            } else {
                1.0
            };
            let step = Step::StandardScale {
                column: column.clone(),
                mean,
                std,
            };
            out = Recipe::apply_and_record(&out, step)?;
        }
        Ok(out)
    }

    /// Each of `columns` as `(x - min) / (max - min)`: 0 to 1 over the values seen.
    pub fn min_max_scale(&self, columns: &[String]) -> Result<Frame, TransformError> {
        let mut out = self.clone();
        for column in columns {
            let values = self.fitted_values(column, "min_max_scale")?;
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let step = Step::MinMaxScale {
                column: column.clone(),
                min,
                max,
            };
            out = Recipe::apply_and_record(&out, step)?;
        }
        Ok(out)
    }

    /// `column` as `ln(1 + x)`; a note counts values of -1 or less, which become null.
    pub fn log_transform(&self, column: &str) -> Result<(Frame, Option<String>), TransformError> {
        let values = numeric_values(self, column, "log_transform")?;
        let invalid = values.iter().filter(|&&x| x <= -1.0).count();
        let step = Step::Log {
            column: column.to_string(),
        };
        let note = (invalid > 0).then(|| {
            format!(
                "log_transform: {} of '{column}' at or below -1 became null",
                plural(invalid, "value")
            )
        });
        Ok((Recipe::apply_and_record(self, step)?, note))
    }

    /// `column` replaced by its bin number (int, from 0).
    pub fn bin(&self, column: &str, bins: &Bins) -> Result<Frame, TransformError> {
        let (edges, open_ends) = match bins {
            Bins::Count(n) => {
                if !(1..=MAX_BINS).contains(n) {
                    return Err(TransformError::Invalid(format!(
                        "the number of bins must be from 1 to {MAX_BINS}, not {n}"
                    )));
                }
                let values = self.fitted_values(column, "bin")?;
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let width = (max - min) / *n as f64;
                let mut edges: Vec<f64> = (0..*n).map(|i| min + width * i as f64).collect();
                edges.push(max);
                (edges, true)
            }
            Bins::Edges(edges) => {
                numeric_values(self, column, "bin")?;
                if edges.len() < 2 || edges.len() > MAX_BINS + 1 {
                    return Err(TransformError::Invalid(format!(
                        "bin edges must be from 2 to {} numbers, not {}",
                        MAX_BINS + 1,
                        edges.len()
                    )));
                }
                if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(TransformError::Invalid(
                        "bin edges must be finite and increasing".into(),
                    ));
                }
                (edges.clone(), false)
            }
        };
        let step = Step::Bin {
            column: column.to_string(),
            edges,
            open_ends,
        };
        Recipe::apply_and_record(self, step)
    }

    /// The finite values of a numeric column to fit a transform on; an error when there
    /// are none.
    fn fitted_values(&self, column: &str, operation: &str) -> Result<Vec<f64>, TransformError> {
        let values: Vec<f64> = numeric_values(self, column, operation)?
            .into_iter()
            .filter(|x| x.is_finite())
            .collect();
        if values.is_empty() {
            return Err(TransformError::NoValues {
                column: column.to_string(),
                operation: operation.to_string(),
            });
        }
        Ok(values)
    }
}
