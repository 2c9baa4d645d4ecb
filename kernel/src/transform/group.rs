//! Group-by with aggregates, and joins of two frames.

use std::collections::HashMap;
use std::sync::Arc;

use super::rows::{compare_at, row_key, Cell};
use super::{mean_std, quantile, TransformError};
use crate::expr::{Expr, ExprError};
use crate::frame::{Column, ColumnData, DType, Frame};
use crate::recipe::Recipe;

/// An aggregate of `group_by`: `count()`, or a function of an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub function: AggFn,
    /// `None` only for `count()`.
    pub of: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Median,
    Std,
    NUnique,
}

const AGGREGATES: [(&str, AggFn); 8] = [
    ("count", AggFn::Count),
    ("sum", AggFn::Sum),
    ("mean", AggFn::Mean),
    ("min", AggFn::Min),
    ("max", AggFn::Max),
    ("median", AggFn::Median),
    ("std", AggFn::Std),
    ("n_unique", AggFn::NUnique),
];

impl AggFn {
    pub fn name(self) -> &'static str {
        AGGREGATES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("count", |(n, _)| n)
    }
}

impl Aggregate {
    /// Reads `sum(income)`, `count()`, `mean(price * quantity)`...
    pub fn parse(spec: &str) -> Result<Aggregate, TransformError> {
        let names: Vec<&str> = AGGREGATES.iter().map(|(n, _)| *n).collect();
        let bad = |position: usize, message: String| {
            TransformError::Expr(ExprError {
                snippet: spec.to_string(),
                position,
                message,
            })
        };
        let trimmed = spec.trim_end();
        let lead = spec.len() - spec.trim_start().len();
        let Some(open) = trimmed.find('(') else {
            return Err(bad(
                1,
                format!(
                    "an aggregate is a call such as sum(income); functions: {}",
                    names.join(", ")
                ),
            ));
        };
        let name = trimmed[..open].trim();
        let Some(&(_, function)) = AGGREGATES.iter().find(|(n, _)| *n == name) else {
            return Err(bad(
                lead + 1,
                format!("unknown aggregate '{name}' (use {})", names.join(", ")),
            ));
        };
        if !trimmed.ends_with(')') {
            return Err(bad(
                trimmed.chars().count() + 1,
                "expected ')' at the end of the aggregate".into(),
            ));
        }
        let inner = &trimmed[open + 1..trimmed.len() - 1];
        let offset = trimmed[..open + 1].chars().count();
        let of = if inner.trim().is_empty() {
            None
        } else {
            Some(Expr::parse(inner).map_err(|mut e| {
                e.snippet = spec.to_string();
                e.position += offset;
                TransformError::Expr(e)
            })?)
        };
        if of.is_none() && function != AggFn::Count {
            return Err(bad(
                offset + 1,
                format!("{name} needs a column or expression, as in {name}(income)"),
            ));
        }
        Ok(Aggregate { function, of })
    }
}

/// The most rows a join makes.
pub const MAX_JOIN_ROWS: usize = 20_000_000;

/// Which rows `join` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Rows of the left frame with a match on the right.
    Inner,
    /// Every row of the left frame; the right's columns null where nothing matched.
    Left,
}

impl JoinKind {
    pub fn parse(name: &str) -> Result<JoinKind, TransformError> {
        match name {
            "inner" => Ok(JoinKind::Inner),
            "left" => Ok(JoinKind::Left),
            other => Err(TransformError::Invalid(format!(
                "unknown join '{other}' (use inner or left)"
            ))),
        }
    }
}

impl Frame {
    /// A row per distinct combination of the `keys` columns' values (sorted by them, nulls
    /// last, a null key forming its own group), with a column per aggregate.
    pub fn group_by(
        &self,
        keys: &[String],
        aggregates: &[(String, Aggregate)],
    ) -> Result<Frame, TransformError> {
        if keys.is_empty() {
            return Err(TransformError::Invalid(
                "group_by needs at least one key column".into(),
            ));
        }
        let key_data: Vec<&ColumnData> = keys
            .iter()
            .map(|k| self.column(k).map(|c| &c.data))
            .collect::<Result<_, _>>()?;
        let mut index: HashMap<Vec<Cell>, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for row in 0..self.row_count() {
            let g = *index.entry(row_key(&key_data, row)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(row);
        }
        groups.sort_by(|a, b| {
            let (a, b) = (a[0], b[0]);
            for d in &key_data {
                let o = match (d.is_null(a), d.is_null(b)) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => compare_at(d, a, b),
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        let firsts: Vec<usize> = groups.iter().map(|g| g[0]).collect();
        let mut columns: Vec<Column> = keys
            .iter()
            .zip(&key_data)
            .map(|(name, d)| Column {
                name: name.clone(),
                data: d.take(&firsts),
            })
            .collect();
        for (name, aggregate) in aggregates {
            let data = match &aggregate.of {
                None => None,
                Some(expr) => Some(expr.evaluate(self)?),
            };
            columns.push(Column {
                name: name.clone(),
                data: aggregate_groups(
                    name,
                    aggregate.function,
                    aggregate.of.as_ref().map_or("", |e| e.source()),
                    data.as_ref(),
                    &groups,
                )?,
            });
        }
        Ok(Frame::new(columns)?)
    }

    /// The rows of `self` matched with the rows of `right` with equal values in the `on`
    /// columns (nulls match nothing): each left row once per match, in left order. Right
    /// columns other than the keys follow the left's; a name the left already has gets
    /// `_right` appended.
    pub fn join(
        &self,
        right: &Frame,
        on: &[String],
        kind: JoinKind,
    ) -> Result<Frame, TransformError> {
        if on.is_empty() {
            return Err(TransformError::Invalid(
                "join needs at least one key column".into(),
            ));
        }
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        for key in on {
            let (l, r) = (&self.column(key)?.data, &right.column(key)?.data);
            if l.dtype() != r.dtype() {
                return Err(TransformError::Invalid(format!(
                    "join key '{key}' is {} on the left but {} on the right; cast one first",
                    l.dtype(),
                    r.dtype()
                )));
            }
            left_keys.push(l);
            right_keys.push(r);
        }
        let mut matches: HashMap<Vec<Cell>, Vec<usize>> = HashMap::new();
        for row in 0..right.row_count() {
            if right_keys.iter().any(|d| d.is_null(row)) {
                continue;
            }
            matches
                .entry(row_key(&right_keys, row))
                .or_default()
                .push(row);
        }
        // Count first: a key repeated on both sides multiplies rows, and a careless join
        // of two large frames must fail, not exhaust the browser tab's memory.
        let total: usize = (0..self.row_count())
            .map(|row| {
                let found = if left_keys.iter().any(|d| d.is_null(row)) {
                    None
                } else {
                    matches.get(&row_key(&left_keys, row)).map(Vec::len)
                };
                match (found, kind) {
                    (Some(n), _) => n,
                    (None, JoinKind::Left) => 1,
                    (None, JoinKind::Inner) => 0,
                }
            })
            .fold(0usize, usize::saturating_add);
        if total > MAX_JOIN_ROWS {
            return Err(TransformError::Invalid(format!(
                "the join would make {total} rows (keys repeat on both sides); it makes at \
                 most {MAX_JOIN_ROWS}, so dedupe or group one side first"
            )));
        }
        let mut left_rows = Vec::with_capacity(total);
        let mut right_rows: Vec<Option<usize>> = Vec::with_capacity(total);
        for row in 0..self.row_count() {
            let found = if left_keys.iter().any(|d| d.is_null(row)) {
                None
            } else {
                matches.get(&row_key(&left_keys, row))
            };
            match found {
                Some(rows) => {
                    for &r in rows {
                        left_rows.push(row);
                        right_rows.push(Some(r));
                    }
                }
                None if kind == JoinKind::Left => {
                    left_rows.push(row);
                    right_rows.push(None);
                }
                None => {}
            }
        }
        let left = self.take(&left_rows);
        let mut columns: Vec<Arc<Column>> = left.shared_columns().to_vec();
        for column in right.columns().filter(|c| !on.contains(&c.name)) {
            let mut name = column.name.clone();
            while columns.iter().any(|c| c.name == name) {
                name.push_str("_right");
            }
            columns.push(Arc::new(Column {
                name,
                data: take_or_null(&column.data, &right_rows),
            }));
        }
        Ok(Frame::from_shared(
            columns,
            Arc::new(Recipe::combine(self, right)),
        )?)
    }
}

fn take_or_null(data: &ColumnData, rows: &[Option<usize>]) -> ColumnData {
    // A missing row is an index past the end, which `take` reads as null.
    let indices: Vec<usize> = rows.iter().map(|r| r.unwrap_or(usize::MAX)).collect();
    data.take(&indices)
}

/// One aggregate's value per group.
fn aggregate_groups(
    name: &str,
    function: AggFn,
    of: &str,
    data: Option<&ColumnData>,
    groups: &[Vec<usize>],
) -> Result<ColumnData, TransformError> {
    let Some(data) = data else {
        return Ok(ColumnData::Int(
            groups.iter().map(|g| Some(g.len() as i64)).collect(),
        ));
    };
    let dtype = data.dtype();
    let numeric = matches!(dtype, DType::Int | DType::Float | DType::Bool);
    let needs_numbers = || {
        Err(TransformError::Invalid(format!(
            "aggregate '{name}': {}({of}) needs numbers, but {of} is {dtype}",
            function.name()
        )))
    };
    let values =
        |g: &Vec<usize>| -> Vec<f64> { g.iter().filter_map(|&i| data.f64_at(i)).collect() };
    Ok(match function {
        AggFn::Count => ColumnData::Int(
            groups
                .iter()
                .map(|g| Some(g.iter().filter(|&&i| !data.is_null(i)).count() as i64))
                .collect(),
        ),
        AggFn::NUnique => ColumnData::Int(
            groups
                .iter()
                .map(|g| {
                    let distinct: std::collections::HashSet<Cell> = g
                        .iter()
                        .filter(|&&i| !data.is_null(i))
                        .map(|&i| Cell::at(data, i))
                        .collect();
                    Some(distinct.len() as i64)
                })
                .collect(),
        ),
        AggFn::Sum => match data {
            // Exact for ints; null on overflow, as the expression language.
            ColumnData::Int(v) => ColumnData::Int(
                groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .filter_map(|&i| v.get(i))
                            .try_fold(0i64, |acc, x| acc.checked_add(x))
                    })
                    .collect(),
            ),
            ColumnData::Bool(v) => ColumnData::Int(
                groups
                    .iter()
                    .map(|g| Some(g.iter().filter(|&&i| v.get(i) == Some(true)).count() as i64))
                    .collect(),
            ),
            ColumnData::Float(_) => ColumnData::Float(
                groups
                    .iter()
                    .map(|g| Some(values(g).iter().sum::<f64>()).filter(|x| x.is_finite()))
                    .collect(),
            ),
            _ => return needs_numbers(),
        },
        AggFn::Mean | AggFn::Std | AggFn::Median => {
            if !numeric {
                return needs_numbers();
            }
            ColumnData::Float(
                groups
                    .iter()
                    .map(|g| {
                        let mut v = values(g);
                        match function {
                            AggFn::Mean => mean_std(&v).0,
                            AggFn::Std => mean_std(&v).1,
                            _ => {
                                v.sort_by(f64::total_cmp);
                                quantile(&v, 0.5)
                            }
                        }
                    })
                    .collect(),
            )
        }
        AggFn::Min | AggFn::Max => {
            let firsts: Vec<usize> = groups
                .iter()
                .map(|g| {
                    let present = g.iter().copied().filter(|&i| !data.is_null(i));
                    let best = if function == AggFn::Min {
                        present.min_by(|&a, &b| compare_at(data, a, b))
                    } else {
                        present.max_by(|&a, &b| compare_at(data, a, b))
                    };
                    // A group of nulls: any of its rows gives null.
                    best.unwrap_or(g[0])
                })
                .collect();
            data.take(&firsts)
        }
    })
}
