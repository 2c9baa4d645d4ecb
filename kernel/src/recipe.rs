//! The preprocessing recipe: the feature steps applied to a frame since it was loaded,
//! with every fitted parameter (means, categories, fill values) frozen into its step.
//!
//! A frame carries its recipe; a model fitted on the frame stores it in its artifact; and
//! predicting replays it on raw rows, so an endpoint sent `{"city": "Oslo", ...}` computes
//! exactly the features the notebook computed. The notebook's transforms themselves run
//! through [`Step::apply`], so the notebook and the endpoint share one code path.
//!
//! Only column steps are recorded. Row operations (filters, dedupe, dropping nulls or
//! outliers, sorting, sampling) make no sense for the single rows an endpoint receives,
//! and selecting or dropping columns changes nothing a model reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::artifact::FeatureSpec;
use crate::column::Values;
use crate::expr::{cast_column, Expr, Lit};
use crate::frame::{Column, ColumnData, DType, Frame};
use crate::transform::TransformError;

/// One recorded feature step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Nulls of `column` replaced by `value` (an int column filled with a float becomes
    /// float).
    FillNulls {
        column: String,
        value: Lit,
    },
    /// Values of a numeric column limited to `[lower, upper]`; an int column stays int,
    /// limited to the whole numbers inside the bounds.
    Clip {
        column: String,
        lower: f64,
        upper: f64,
    },
    /// `column` replaced by an int 0/1 column `<column>_<category>` per category (the
    /// values' text forms). A null or a value not among the categories sets none of them.
    OneHot {
        column: String,
        categories: Vec<String>,
    },
    /// `column` replaced by the position of its value (text form) in `categories`; null
    /// stays null, a value not among them is -1.
    Ordinal {
        column: String,
        categories: Vec<String>,
    },
    /// `(x - mean) / std` as float.
    StandardScale {
        column: String,
        mean: f64,
        std: f64,
    },
    /// `(x - min) / (max - min)` as float (0 when `max == min`).
    MinMaxScale {
        column: String,
        min: f64,
        max: f64,
    },
    /// `ln(1 + x)` as float; null for `x <= -1`.
    Log {
        column: String,
    },
    /// The number of the bin the value falls in (int): bin `i` holds `edges[i] <= x <
    /// edges[i + 1]`, the last bin also its upper edge. Values outside the edges are null,
    /// or with `open_ends` go to the first or last bin.
    Bin {
        column: String,
        edges: Vec<f64>,
        open_ends: bool,
    },
    /// A column computed from an expression (see [`crate::expr`]).
    Derive {
        name: String,
        expr: String,
    },
    Cast {
        column: String,
        to: DType,
    },
    Rename {
        from: String,
        to: String,
    },
}

impl Step {
    /// The columns the step reads.
    pub fn inputs(&self) -> Vec<String> {
        match self {
            Step::Derive { expr, .. } => Expr::parse(expr).map(|e| e.columns()).unwrap_or_default(),
            Step::Rename { from, .. } => vec![from.clone()],
            Step::FillNulls { column, .. }
            | Step::Clip { column, .. }
            | Step::OneHot { column, .. }
            | Step::Ordinal { column, .. }
            | Step::StandardScale { column, .. }
            | Step::MinMaxScale { column, .. }
            | Step::Log { column }
            | Step::Bin { column, .. }
            | Step::Cast { column, .. } => vec![column.clone()],
        }
    }

    /// The columns the step writes.
    pub fn outputs(&self) -> Vec<String> {
        match self {
            Step::OneHot { column, categories } => {
                categories.iter().map(|c| one_hot_name(column, c)).collect()
            }
            Step::Derive { name, .. } => vec![name.clone()],
            Step::Rename { to, .. } => vec![to.clone()],
            other => other.inputs(),
        }
    }

    /// A one-line description, as `recipe(df)` lists it.
    pub fn describe(&self) -> String {
        let list = |items: &[String]| items.join(", ");
        match self {
            Step::FillNulls { column, value } => format!("fill_nulls {column} with {value}"),
            Step::Clip {
                column,
                lower,
                upper,
            } => format!(
                "clip {column} to [{}, {}]",
                Lit::Float(*lower),
                Lit::Float(*upper)
            ),
            Step::OneHot { column, categories } => {
                format!("one_hot {column}: {}", list(categories))
            }
            Step::Ordinal { column, categories } => {
                format!("ordinal_encode {column}: {}", list(categories))
            }
            Step::StandardScale { column, mean, std } => format!(
                "standard_scale {column}: mean {}, std {}",
                Lit::Float(*mean),
                Lit::Float(*std)
            ),
            Step::MinMaxScale { column, min, max } => format!(
                "min_max_scale {column}: min {}, max {}",
                Lit::Float(*min),
                Lit::Float(*max)
            ),
            Step::Log { column } => format!("log_transform {column}"),
            Step::Bin {
                column,
                edges,
                open_ends,
            } => {
                let edges: Vec<String> = edges.iter().map(|e| Lit::Float(*e).to_string()).collect();
                let ends = if *open_ends { " (open ends)" } else { "" };
                format!("bin {column}: edges {}{ends}", list(&edges))
            }
            Step::Derive { name, expr } => format!("derive {name} = {expr}"),
            Step::Cast { column, to } => format!("cast {column} to {to}"),
            Step::Rename { from, to } => format!("rename {from} to {to}"),
        }
    }

    /// The step applied to `frame` (whose recipe is kept; recording is the caller's job).
    pub fn apply(&self, frame: &Frame) -> Result<Frame, TransformError> {
        let data = |column: &str| -> Result<&ColumnData, TransformError> {
            Ok(&frame.column(column)?.data)
        };
        let numbers = |column: &str, operation: &str| -> Result<Vec<Option<f64>>, TransformError> {
            let d = data(column)?;
            match d {
                ColumnData::Int(_) | ColumnData::Float(_) | ColumnData::Bool(_) => {
                    Ok((0..d.len()).map(|i| d.f64_at(i)).collect())
                }
                _ => Err(TransformError::WrongType {
                    column: column.to_string(),
                    dtype: d.dtype(),
                    operation: operation.to_string(),
                    wanted: "numbers".into(),
                }),
            }
        };
        let replace = |column: &str, values: ColumnData| -> Result<Frame, TransformError> {
            Ok(frame.with_column(Column {
                name: column.to_string(),
                data: values,
            })?)
        };
        let floats = |column: &str, operation: &str, f: &dyn Fn(f64) -> Option<f64>| {
            let values = numbers(column, operation)?
                .into_iter()
                .map(|x| x.and_then(f).filter(|y| y.is_finite()))
                .collect();
            replace(column, ColumnData::Float(values))
        };
        match self {
            Step::FillNulls { column, value } => {
                let filled =
                    fill(data(column)?, value).map_err(|dtype| TransformError::WrongType {
                        column: column.clone(),
                        dtype,
                        operation: "fill_nulls".into(),
                        wanted: format!("a value of that type, not {value}"),
                    })?;
                replace(column, filled)
            }
            Step::Clip {
                column,
                lower,
                upper,
            } => match data(column)? {
                ColumnData::Int(v) => {
                    // The whole numbers inside the bounds; saturating casts.
                    let (lo, hi) = (lower.ceil() as i64, upper.floor() as i64);
                    replace(column, ColumnData::Int(v.map(|x| x.max(lo).min(hi))))
                }
                _ => floats(column, "clip_outliers", &|x| {
                    Some(x.max(*lower).min(*upper))
                }),
            },
            Step::OneHot { column, categories } => {
                let d = data(column)?;
                let index: BTreeMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                let hits: Vec<Option<usize>> = (0..d.len())
                    .map(|i| d.display_at(i).and_then(|v| index.get(v.as_str()).copied()))
                    .collect();
                let mut new = Vec::with_capacity(categories.len());
                for (k, category) in categories.iter().enumerate() {
                    let name = one_hot_name(column, category);
                    if name != *column && frame.column(&name).is_ok() {
                        return Err(TransformError::ColumnExists {
                            column: name,
                            operation: "one_hot".into(),
                        });
                    }
                    let values = hits
                        .iter()
                        .map(|h| Some(i64::from(*h == Some(k))))
                        .collect();
                    new.push(Arc::new(Column {
                        name,
                        data: ColumnData::Int(values),
                    }));
                }
                splice(frame, column, new)
            }
            Step::Ordinal { column, categories } => {
                let d = data(column)?;
                let index: BTreeMap<&str, i64> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i as i64))
                    .collect();
                let values = (0..d.len())
                    .map(|i| {
                        d.display_at(i)
                            .map(|v| index.get(v.as_str()).copied().unwrap_or(-1))
                    })
                    .collect();
                replace(column, ColumnData::Int(values))
            }
            Step::StandardScale { column, mean, std } => {
                floats(column, "standard_scale", &|x| Some((x - mean) / std))
            }
            Step::MinMaxScale { column, min, max } => {
                let range = max - min;
                floats(column, "min_max_scale", &|x| {
                    Some(if range > 0.0 { (x - min) / range } else { 0.0 })
                })
            }
            // libm: the same bits natively and in wasm32.
            Step::Log { column } => floats(column, "log_transform", &|x| {
                (x > -1.0).then(|| libm::log1p(x))
            }),
            Step::Bin {
                column,
                edges,
                open_ends,
            } => {
                let values = numbers(column, "bin")?
                    .into_iter()
                    .map(|x| x.and_then(|x| bin_of(x, edges, *open_ends)))
                    .collect();
                replace(column, ColumnData::Int(values))
            }
            Step::Derive { name, expr } => {
                let values = Expr::parse(expr)?.evaluate(frame)?;
                replace(name, values)
            }
            Step::Cast { column, to } => replace(column, cast_column(data(column)?, *to).data),
            Step::Rename { from, to } => {
                let column = frame.column(from)?;
                if from != to && frame.column(to).is_ok() {
                    return Err(TransformError::ColumnExists {
                        column: to.clone(),
                        operation: "rename".into(),
                    });
                }
                let renamed = Arc::new(Column {
                    name: to.clone(),
                    data: column.data.clone(),
                });
                splice(frame, from, vec![renamed])
            }
        }
    }
}

/// The name of one-hot column for `category` of `column`.
pub fn one_hot_name(column: &str, category: &str) -> String {
    format!("{column}_{category}")
}

/// `frame` with `column` replaced, where it stood, by `new` columns.
fn splice(frame: &Frame, column: &str, new: Vec<Arc<Column>>) -> Result<Frame, TransformError> {
    let mut columns = Vec::with_capacity(frame.shared_columns().len() + new.len());
    let mut new = Some(new);
    for c in frame.shared_columns() {
        if c.name == column {
            columns.extend(new.take().unwrap_or_default());
        } else {
            columns.push(c.clone());
        }
    }
    Ok(Frame::from_shared(
        columns,
        Arc::new(frame.recipe().clone()),
    )?)
}

/// The bin of `x` (see [`Step::Bin`]).
pub(crate) fn bin_of(x: f64, edges: &[f64], open_ends: bool) -> Option<i64> {
    let last = edges.len().checked_sub(2)?;
    if x.is_nan() {
        return None;
    }
    if x < edges[0] {
        return open_ends.then_some(0);
    }
    if x > edges[last + 1] {
        return open_ends.then_some(last as i64);
    }
    // The number of edges <= x, minus one: the bin whose lower edge is the last such edge.
    let above = edges.partition_point(|&e| e <= x);
    Some((above.saturating_sub(1)).min(last) as i64)
}

/// `data` with its nulls replaced by `value`; the column's type when the value does not
/// fit it.
pub(crate) fn fill(data: &ColumnData, value: &Lit) -> Result<ColumnData, DType> {
    fn fill_with<T: Copy + Default>(v: &Values<T>, x: T) -> Values<T> {
        v.iter().map(|o| Some(o.unwrap_or(x))).collect()
    }
    Ok(match (data, value) {
        (_, Lit::Null) => data.clone(),
        (ColumnData::Int(v), Lit::Int(x)) => ColumnData::Int(fill_with(v, *x)),
        (ColumnData::Int(v), Lit::Float(x)) => {
            ColumnData::Float(v.iter().map(|o| Some(o.map_or(*x, |i| i as f64))).collect())
        }
        (ColumnData::Float(v), Lit::Float(x)) => ColumnData::Float(fill_with(v, *x)),
        (ColumnData::Float(v), Lit::Int(x)) => ColumnData::Float(fill_with(v, *x as f64)),
        (ColumnData::Bool(v), Lit::Bool(x)) => ColumnData::Bool(fill_with(v, *x)),
        (ColumnData::Str(v), Lit::Str(x)) => {
            ColumnData::Str(v.iter().map(|o| Some(o.unwrap_or(x))).collect())
        }
        (ColumnData::Datetime(v), Lit::Datetime(x)) => ColumnData::Datetime(fill_with(v, *x)),
        (other, _) => return Err(other.dtype()),
    })
}

/// The feature steps applied to a frame, and the columns of the frame they started from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Recipe {
    /// The columns (with their types) of the frame the first step was applied to: the raw
    /// inputs a replay can ask for.
    #[serde(default)]
    pub source: Vec<FeatureSpec>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The bytes the frame was loaded from (name and sha256), kept through row and column
    /// operations so that runs and model lineage can name their data. A fitted model's
    /// recipe leaves it out: the artifact names it once, in its lineage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<oxbook_protocol::DatasetRef>,
}

impl Recipe {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// `before`'s recipe followed by `step`: what a transform records on its result.
    pub fn record(before: &Frame, step: Step) -> Recipe {
        let mut recipe = before.recipe().clone();
        if recipe.steps.is_empty() {
            recipe.source = schema(before);
        }
        recipe.steps.push(step);
        recipe
    }

    /// `before` transformed into `after` by `step`, with the step recorded.
    pub(crate) fn apply_and_record(before: &Frame, step: Step) -> Result<Frame, TransformError> {
        let after = step.apply(before)?;
        Ok(after.with_recipe(Recipe::record(before, step)))
    }

    /// Which of the steps from `from` on are needed to compute `columns`, in order:
    /// walking back from the wanted columns, a step is needed when it writes one of them,
    /// and then the columns it reads are wanted instead.
    pub fn needed_steps(&self, from: usize, columns: &[String]) -> Vec<usize> {
        let mut wanted: Vec<String> = columns.to_vec();
        let mut needed = Vec::new();
        for (i, step) in self.steps.iter().enumerate().skip(from).rev() {
            let outputs = step.outputs();
            if outputs.iter().any(|o| wanted.contains(o)) {
                wanted.retain(|w| !outputs.contains(w));
                for input in step.inputs() {
                    if !wanted.contains(&input) {
                        wanted.push(input);
                    }
                }
                needed.push(i);
            }
        }
        needed.reverse();
        needed
    }

    /// The raw columns a replay needs to compute `columns`, in the order of `source`
    /// then of first need.
    pub fn raw_inputs(&self, columns: &[String]) -> Vec<String> {
        let mut wanted: Vec<String> = columns.to_vec();
        for i in self.needed_steps(0, columns).into_iter().rev() {
            let step = &self.steps[i];
            let outputs = step.outputs();
            wanted.retain(|w| !outputs.contains(w));
            for input in step.inputs() {
                if !wanted.contains(&input) {
                    wanted.push(input);
                }
            }
        }
        let mut ordered: Vec<String> = self
            .source
            .iter()
            .filter(|s| wanted.contains(&s.name))
            .map(|s| s.name.clone())
            .collect();
        for w in wanted {
            if !ordered.contains(&w) {
                ordered.push(w);
            }
        }
        ordered
    }

    /// Applies the steps from `from` on that `columns` need to `frame`.
    pub fn replay(
        &self,
        frame: &Frame,
        from: usize,
        columns: &[String],
    ) -> Result<Frame, TransformError> {
        let mut out = frame.clone();
        for i in self.needed_steps(from, columns) {
            out = self.steps[i].apply(&out)?;
        }
        Ok(out)
    }

    /// That every step can run as written: finite parameters (JSON cannot hold others),
    /// expressions that parse, increasing bin edges, distinct categories, a positive
    /// scale. Artifacts are checked with this when read, and recipes when a model is fitted.
    pub fn validate(&self) -> Result<(), String> {
        for (i, step) in self.steps.iter().enumerate() {
            let fail =
                |message: String| Err(format!("step {} ({}): {message}", i + 1, step.describe()));
            let finite = |values: &[f64]| values.iter().all(|x| x.is_finite());
            match step {
                Step::FillNulls { value, .. } => {
                    if matches!(value, Lit::Float(x) if !x.is_finite()) {
                        return fail("the fill value is not a finite number".into());
                    }
                }
                Step::Clip { lower, upper, .. } => {
                    if !finite(&[*lower, *upper]) || lower > upper {
                        return fail("the bounds must be finite, the lower one first".into());
                    }
                }
                Step::OneHot { categories, .. } | Step::Ordinal { categories, .. } => {
                    let mut sorted: Vec<&String> = categories.iter().collect();
                    sorted.sort();
                    if sorted.windows(2).any(|w| w[0] == w[1]) {
                        return fail("a category appears twice".into());
                    }
                }
                Step::StandardScale { mean, std, .. } => {
                    if !finite(&[*mean, *std]) || *std <= 0.0 {
                        return fail("the mean and std must be finite, the std above 0".into());
                    }
                }
                Step::MinMaxScale { min, max, .. } => {
                    if !finite(&[*min, *max]) || min > max {
                        return fail("min and max must be finite, min first".into());
                    }
                }
                Step::Bin { edges, .. } => {
                    if edges.len() < 2 || !finite(edges) || edges.windows(2).any(|w| w[0] > w[1]) {
                        return fail(
                            "the edges must be at least two finite, increasing numbers".into(),
                        );
                    }
                }
                Step::Derive { expr, .. } => {
                    if let Err(e) = Expr::parse(expr) {
                        return fail(e.to_string());
                    }
                }
                Step::Log { .. } | Step::Cast { .. } | Step::Rename { .. } => {}
            }
        }
        Ok(())
    }

    /// The recipe as text, a step a line.
    pub fn describe(&self) -> String {
        if self.steps.is_empty() {
            return "no steps".to_string();
        }
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, s.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The recipe of a frame combining the columns of `left` and `right` (a join): both
    /// recipes' steps, the sources' columns, and the right's own columns as raw inputs
    /// when it has no recipe (and the left has one), and the reverse.
    pub(crate) fn combine(left: &Frame, right: &Frame) -> Recipe {
        let (l, r) = (left.recipe(), right.recipe());
        // A join of one dataset with itself still comes from it; of two, from neither.
        let dataset = l.dataset.clone().filter(|_| l.dataset == r.dataset);
        if l.is_empty() && r.is_empty() {
            return Recipe {
                dataset,
                ..Recipe::default()
            };
        }
        let source_of = |frame: &Frame| {
            if frame.recipe().is_empty() {
                schema(frame)
            } else {
                frame.recipe().source.clone()
            }
        };
        let mut source = source_of(left);
        for spec in source_of(right) {
            if !source.iter().any(|s| s.name == spec.name) {
                source.push(spec);
            }
        }
        Recipe {
            source,
            steps: l.steps.iter().chain(&r.steps).cloned().collect(),
            dataset,
        }
    }
}

/// The columns of `frame` with their types.
pub fn schema(frame: &Frame) -> Vec<FeatureSpec> {
    frame
        .columns()
        .map(|c| FeatureSpec {
            name: c.name.clone(),
            dtype: c.data.dtype(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_by_edges() {
        let edges = [0.0, 10.0, 20.0];
        let got: Vec<Option<i64>> = [-1.0, 0.0, 9.99, 10.0, 20.0, 20.5]
            .iter()
            .map(|&x| bin_of(x, &edges, false))
            .collect();
        assert_eq!(got, [None, Some(0), Some(0), Some(1), Some(1), None]);
        assert_eq!(bin_of(-5.0, &edges, true), Some(0));
        assert_eq!(bin_of(25.0, &edges, true), Some(1));
        assert_eq!(bin_of(1.0, &[1.0], true), None);
    }

    #[test]
    fn needed_steps_walk_back_from_the_features() {
        let recipe = Recipe {
            dataset: None,
            source: vec![],
            steps: vec![
                Step::OneHot {
                    column: "city".into(),
                    categories: vec!["Oslo".into(), "Rome".into()],
                },
                Step::Log {
                    column: "income".into(),
                },
                Step::Derive {
                    name: "ratio".into(),
                    expr: "income / age".into(),
                },
                Step::Rename {
                    from: "ratio".into(),
                    to: "r".into(),
                },
            ],
        };
        assert_eq!(recipe.needed_steps(0, &["r".into()]), [1, 2, 3]);
        assert_eq!(recipe.needed_steps(0, &["city_Rome".into()]), [0]);
        assert_eq!(recipe.needed_steps(2, &["r".into(), "x".into()]), [2, 3]);
        assert_eq!(
            recipe.raw_inputs(&["r".into(), "city_Oslo".into()]),
            ["age", "income", "city"]
        );
    }
}
