//! Algorithms written by users: source code and a fitted state, both plain data, run by a
//! [`ScriptRunner`]. The model layer never sees the script language itself: it hands the
//! runner rows of feature values and targets, and checks what comes back (the state must
//! be data; predictions must be one per row, of the task's kind). The only runner is the
//! Rhai one in `session/custom.rs`; [`crate::script_runner`] finds it by the language an
//! artifact names, so an artifact read back from JSON predicts without any host wiring.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Matrix, ModelError, Output, Task, ALGORITHMS};
use crate::artifact::ClassLabel;

/// Runs users' algorithms. Implementations apply their own limits (operations, sizes), so
/// a runaway script ends with an error rather than hanging the caller.
pub trait ScriptRunner: Send + Sync {
    /// That the source compiles and defines `fit(x, y, settings)`, `predict(state, x)`
    /// and, optionally, `predict_proba(state, x)`; else what is wrong, and where.
    fn check(&self, source: &str) -> Result<(), String>;

    /// Runs the algorithm's `fit(x, y, settings)` and returns the state it gives, which
    /// must be plain data. The error message says what failed and where in the source.
    fn fit(
        &self,
        algorithm: &ScriptAlgorithm,
        x: &[Vec<f64>],
        y: ScriptTarget<'_>,
    ) -> Result<Value, String>;

    /// Runs `predict(state, x)` and, when the algorithm defines it, `predict_proba(state, x)`.
    fn predict(
        &self,
        algorithm: &ScriptAlgorithm,
        state: &Value,
        x: &[Vec<f64>],
    ) -> Result<ScriptPredictions, String>;
}

/// What `fit` learns from, per training row.
#[derive(Debug, Clone, Copy)]
pub enum ScriptTarget<'a> {
    /// Clustering: no target.
    None,
    /// Each row's class, as the target column held it.
    Classes(&'a [ClassLabel]),
    /// Each row's number.
    Values(&'a [f64]),
}

/// What a script's prediction functions returned, as data, before any checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptPredictions {
    /// `predict`'s array.
    pub predictions: Value,
    /// `predict_proba`'s array of rows, when the algorithm has one.
    pub probabilities: Option<Value>,
}

/// The language of every script model so far.
pub const RHAI: &str = "rhai";

/// A user's algorithm: its source and the settings a fit was given. Serialized into the
/// artifact (as the `script` variant of [`super::Settings`]), so the artifact alone can
/// predict.
#[derive(Clone, Serialize, Deserialize)]
pub struct ScriptAlgorithm {
    /// The name the user gave; what artifacts and runs call the algorithm.
    pub name: String,
    pub task: Task,
    /// The source's language: [`RHAI`].
    pub language: String,
    pub source: String,
    /// The settings the fit was given (a JSON object), passed to `fit` as they are.
    #[serde(default = "empty_object")]
    pub settings: Value,
    /// The runner to use instead of the language's default (a session passes its own, with
    /// the session's limits). Not part of the artifact.
    #[serde(skip)]
    pub runner: Option<Arc<dyn ScriptRunner>>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl std::fmt::Debug for ScriptAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptAlgorithm")
            .field("name", &self.name)
            .field("task", &self.task)
            .field("language", &self.language)
            .field("source", &self.source)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Equal when the data is: which runner runs it is not part of the algorithm.
impl PartialEq for ScriptAlgorithm {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.task == other.task
            && self.language == other.language
            && self.source == other.source
            && self.settings == other.settings
    }
}

/// A script model's fitted parameters: whatever data its `fit` returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptModel {
    pub state: Value,
}

/// Whether `name` may name a user's algorithm: letters, digits and `_`, starting with a
/// letter, and not a built-in algorithm's name (which would make runs and artifacts
/// ambiguous).
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    if !well_formed {
        return Err(format!(
            "'{name}' is not a valid algorithm name: use up to 64 letters, digits and _, \
             starting with a letter"
        ));
    }
    if ALGORITHMS.contains(&name) {
        return Err(format!(
            "'{name}' is a built-in algorithm; give yours another name"
        ));
    }
    Ok(())
}

impl ScriptAlgorithm {
    /// That the algorithm can be fitted and run: a valid name, a supervised or clustering
    /// task, source in a language this kernel runs that defines the functions it must,
    /// and settings that are a map.
    pub fn validate(&self) -> Result<(), String> {
        check_name(&self.name)?;
        if self.task == Task::Decomposition {
            return Err("user algorithms do classification, regression or clustering".into());
        }
        self.runner()?
            .check(&self.source)
            .map_err(|e| format!("algorithm '{}': {e}", self.name))?;
        if !self.settings.is_object() {
            return Err(format!(
                "the settings of algorithm '{}' must be a map",
                self.name
            ));
        }
        Ok(())
    }

    /// The runner given, else the language's own.
    fn runner(&self) -> Result<Arc<dyn ScriptRunner>, String> {
        match &self.runner {
            Some(runner) => Ok(runner.clone()),
            None => crate::script_runner(&self.language).ok_or_else(|| {
                format!(
                    "algorithm '{}' is written in '{}', which this Oxbook cannot run (it \
                     runs {RHAI})",
                    self.name, self.language
                )
            }),
        }
    }

    /// Fits on `x` (one row per training row) and `y`.
    pub(crate) fn fit(&self, x: &Matrix, y: ScriptTarget<'_>) -> Result<ScriptModel, ModelError> {
        let failed = |message: String| ModelError::Script {
            algorithm: self.name.clone(),
            message,
        };
        let runner = self.runner().map_err(failed)?;
        let state = runner.fit(self, &rows(x), y).map_err(failed)?;
        Ok(ScriptModel { state })
    }

    /// Predicts for `x`, checking that the script gave one prediction of the task's kind
    /// per row (for a classifier, one of `classes`, with probabilities in their order).
    pub(crate) fn predict(
        &self,
        model: &ScriptModel,
        x: &Matrix,
        classes: &[ClassLabel],
    ) -> Result<Output, String> {
        let runner = self.runner()?;
        let output = runner.predict(self, &model.state, &rows(x))?;
        self.check_output(output, x.rows, classes)
    }

    fn check_output(
        &self,
        output: ScriptPredictions,
        rows: usize,
        classes: &[ClassLabel],
    ) -> Result<Output, String> {
        let predictions = per_row(&output.predictions, rows, "predict")?;
        match self.task {
            Task::Classification => {
                let indices = predictions
                    .iter()
                    .enumerate()
                    .map(|(row, value)| class_index(value, classes, row))
                    .collect::<Result<Vec<_>, _>>()?;
                let probabilities = match &output.probabilities {
                    None => None,
                    Some(p) => Some(
                        per_row(p, rows, "predict_proba")?
                            .iter()
                            .enumerate()
                            .map(|(row, value)| probability_row(value, classes, row))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                };
                Ok(Output::Classes {
                    indices,
                    probabilities,
                })
            }
            Task::Regression => predictions
                .iter()
                .enumerate()
                .map(|(row, value)| match value.as_f64() {
                    Some(v) if v.is_finite() => Ok(v),
                    _ => Err(format!(
                        "predict gave {} for row {row}; a regressor predicts finite numbers",
                        describe(value)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Output::Values),
            Task::Clustering => predictions
                .iter()
                .enumerate()
                .map(|(row, value)| match value.as_i64() {
                    Some(id) if id >= -1 => Ok(id),
                    _ => Err(format!(
                        "predict gave {} for row {row}; a clustering predicts a cluster \
                         number (0 or more, -1 for noise)",
                        describe(value)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Output::Clusters),
            Task::Decomposition => Err("user algorithms cannot do decomposition".into()),
        }
    }
}

fn rows(x: &Matrix) -> Vec<Vec<f64>> {
    (0..x.rows).map(|i| x.row(i).to_vec()).collect()
}

/// `value` as an array of one item per row.
fn per_row<'v>(value: &'v Value, rows: usize, function: &str) -> Result<&'v Vec<Value>, String> {
    match value {
        Value::Array(items) if items.len() == rows => Ok(items),
        Value::Array(items) => Err(format!(
            "{function} gave {} value(s) for {rows} row(s); it must give one per row",
            items.len()
        )),
        other => Err(format!(
            "{function} gave {}; it must give an array with one item per row",
            describe(other)
        )),
    }
}

/// The index of the class `value` names, or why it names none.
fn class_index(value: &Value, classes: &[ClassLabel], row: usize) -> Result<usize, String> {
    let label = match value {
        Value::Bool(b) => Some(ClassLabel::Bool(*b)),
        Value::String(s) => Some(ClassLabel::Str(s.clone())),
        Value::Number(n) => n.as_i64().map(ClassLabel::Int),
        _ => None,
    };
    label
        .and_then(|label| classes.binary_search(&label).ok())
        .ok_or_else(|| {
            format!(
                "predict gave {} for row {row}, which is not one of the classes ({})",
                describe(value),
                class_list(classes)
            )
        })
}

fn probability_row(value: &Value, classes: &[ClassLabel], row: usize) -> Result<Vec<f64>, String> {
    let bad = || {
        format!(
            "predict_proba gave {} for row {row}; it must give {} probabilities between 0 \
             and 1, one per class in the order {}",
            describe(value),
            classes.len(),
            class_list(classes)
        )
    };
    let Value::Array(items) = value else {
        return Err(bad());
    };
    if items.len() != classes.len() {
        return Err(bad());
    }
    items
        .iter()
        .map(|p| match p.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(bad()),
        })
        .collect()
}

fn class_list(classes: &[ClassLabel]) -> String {
    classes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A script's value in a message.
fn describe(value: &Value) -> String {
    let text = value.to_string();
    let short = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    };
    match value {
        Value::Null => "nothing (())".to_string(),
        Value::Array(_) => format!("the array {short}"),
        Value::Object(_) => format!("the map {short}"),
        Value::String(_) => format!("the string {short}"),
        Value::Number(_) => format!("the number {short}"),
        Value::Bool(_) => short,
    }
}
