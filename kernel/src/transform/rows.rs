//! Row operations: filtering by expression, sorting, deduplicating, sampling. None is
//! recorded in the recipe (an endpoint predicts for every row it is sent).

use std::cmp::Ordering;
use std::collections::HashSet;

use super::TransformError;
use crate::expr::Expr;
use crate::frame::{ColumnData, Frame};
use crate::rng::SeededRng;

impl Frame {
    /// The rows for which the expression `condition` is true (not false, not null).
    pub fn filter_expr(&self, condition: &str) -> Result<Frame, TransformError> {
        let mask = Expr::parse(condition)?.evaluate_mask(self)?;
        let keep: Vec<usize> = (0..self.row_count()).filter(|&i| mask[i]).collect();
        Ok(if keep.len() == self.row_count() {
            self.clone()
        } else {
            self.take(&keep)
        })
    }

    /// The rows sorted by `columns` (by the first, ties by the next...), ascending or
    /// descending; nulls last either way. Stable: equal rows keep their order.
    pub fn sort_by(&self, columns: &[String], descending: bool) -> Result<Frame, TransformError> {
        if columns.is_empty() {
            return Err(TransformError::Invalid(
                "sort needs at least one column".into(),
            ));
        }
        let data: Vec<&ColumnData> = columns
            .iter()
            .map(|c| self.column(c).map(|c| &c.data))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..self.row_count()).collect();
        order.sort_by(|&a, &b| {
            for d in &data {
                let o = match (d.is_null(a), d.is_null(b)) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => {
                        let o = compare_at(d, a, b);
                        if descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        Ok(self.take(&order))
    }

    /// The rows without repeats of an earlier row (in `columns`, or in all columns when
    /// `None`); the first of each kept.
    pub fn dedupe(&self, columns: Option<&[String]>) -> Result<Frame, TransformError> {
        let data: Vec<&ColumnData> = match columns {
            Some(names) => names
                .iter()
                .map(|c| self.column(c).map(|c| &c.data))
                .collect::<Result<_, _>>()?,
            None => self.columns().map(|c| &c.data).collect(),
        };
        let mut seen = HashSet::new();
        let keep: Vec<usize> = (0..self.row_count())
            .filter(|&i| seen.insert(row_key(&data, i)))
            .collect();
        Ok(if keep.len() == self.row_count() {
            self.clone()
        } else {
            self.take(&keep)
        })
    }

    /// `n` rows picked at random (seeded: the same rows on every machine), in their
    /// original order; all rows when the frame has no more than `n`.
    pub fn sample(&self, n: usize, seed: u64) -> Frame {
        if n >= self.row_count() {
            return self.clone();
        }
        let mut order: Vec<usize> = (0..self.row_count()).collect();
        SeededRng::new(seed).shuffle(&mut order);
        let mut picked = order[..n].to_vec();
        picked.sort_unstable();
        self.take(&picked)
    }

    /// The last `n` rows (all of them when the frame is shorter).
    pub fn tail(&self, n: usize) -> Frame {
        let start = self.row_count().saturating_sub(n);
        if start == 0 {
            return self.clone();
        }
        let indices: Vec<usize> = (start..self.row_count()).collect();
        self.take(&indices)
    }
}

/// Two non-null values of one column compared.
pub(crate) fn compare_at(data: &ColumnData, a: usize, b: usize) -> Ordering {
    match data {
        ColumnData::Float(v) => match (v.get(a), v.get(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => Ordering::Equal,
        },
        ColumnData::Int(v) | ColumnData::Datetime(v) => v.get(a).cmp(&v.get(b)),
        ColumnData::Bool(v) => v.get(a).cmp(&v.get(b)),
        ColumnData::Str(v) => v.get(a).cmp(&v.get(b)),
    }
}

/// A hashable value of one cell (floats by their bits, -0.0 as 0.0 so they match).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    Float(u64),
    Bool(bool),
    Str(String),
    Datetime(i64),
}

impl Cell {
    pub fn at(data: &ColumnData, i: usize) -> Cell {
        let cell = match data {
            ColumnData::Float(v) => v.get(i).map(|x| Cell::Float((x + 0.0).to_bits())),
            ColumnData::Int(v) => v.get(i).map(Cell::Int),
            ColumnData::Bool(v) => v.get(i).map(Cell::Bool),
            ColumnData::Str(v) => v.get(i).map(|s| Cell::Str(s.to_string())),
            ColumnData::Datetime(v) => v.get(i).map(Cell::Datetime),
        };
        cell.unwrap_or(Cell::Null)
    }
}

pub(crate) fn row_key(data: &[&ColumnData], i: usize) -> Vec<Cell> {
    data.iter().map(|d| Cell::at(d, i)).collect()
}
