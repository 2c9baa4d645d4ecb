//! The model artifact: everything needed to predict, as a versioned JSON document. The
//! notebook writes it, the registry stores it as opaque bytes, and the server loads it to
//! serve predictions, so it is read defensively: any document, however edited, gives either
//! a model that predicts without panicking or an error saying what is wrong.

use std::collections::BTreeMap;

use oxbook_protocol::InvocationResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datetime::parse_datetime;
use crate::frame::{Column, ColumnData, DType, Frame};
use crate::model::{FittedModel, Matrix, Output, Settings, Task, ALGORITHMS};
use crate::recipe::Recipe;

/// The artifact format this kernel writes; it reads this and older ones. Bump it whenever
/// the document's shape changes so that an older kernel would misread it.
///
/// Still 1 with regressors: `task`, `target_dtype` and an absent `target` or empty
/// `class_labels` were added with defaults that make every earlier document a classifier
/// as before, and an older kernel refuses a regressor (or any newer algorithm) by its
/// algorithm name, with a clear error, rather than misreading it.
pub const ARTIFACT_FORMAT_VERSION: u32 = 1;

/// One class of a classifier, as the target column held it. Serializes as the plain JSON
/// value (`true`, `3`, `"yes"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassLabel {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl ClassLabel {
    pub fn dtype(&self) -> DType {
        match self {
            ClassLabel::Bool(_) => DType::Bool,
            ClassLabel::Int(_) => DType::Int,
            ClassLabel::Str(_) => DType::Str,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            ClassLabel::Bool(b) => Value::Bool(*b),
            ClassLabel::Int(i) => Value::from(*i),
            ClassLabel::Str(s) => Value::String(s.clone()),
        }
    }
}

impl std::fmt::Display for ClassLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassLabel::Bool(b) => write!(f, "{b}"),
            ClassLabel::Int(i) => write!(f, "{i}"),
            ClassLabel::Str(s) => f.write_str(s),
        }
    }
}

/// A model input: a column name and the type it had in training.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub name: String,
    pub dtype: DType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub format_version: u32,
    /// One of [`ALGORITHMS`]; also the variant of `settings` and `fitted`.
    pub algorithm: String,
    /// What the model does; the algorithm's task. Artifacts from before tasks existed are
    /// classifiers.
    #[serde(default)]
    pub task: Task,
    /// The kernel that fitted the model, e.g. `oxbook-kernel 0.1.0`.
    pub created_with: String,
    /// The column the model predicts; none for unsupervised models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The type the target column had in training: bool, int or str for a classifier,
    /// float or int for a regressor. Absent for unsupervised models and artifacts from
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_dtype: Option<DType>,
    /// The inputs, in the order the fitted parameters use them: columns of the frame the
    /// model was fitted on, after the recipe.
    pub features: Vec<FeatureSpec>,
    /// The raw columns a prediction needs, before the recipe: what an endpoint's rows
    /// hold. Artifacts from before recipes lack it, and then need `features`.
    #[serde(default)]
    pub input_features: Vec<FeatureSpec>,
    /// The preprocessing steps that turn raw rows into the features, replayed before
    /// predicting (see [`crate::recipe`]). Empty when the model reads raw columns.
    #[serde(default)]
    pub recipe: Recipe,
    /// A classifier's classes, sorted; probabilities are given in this order. Empty for
    /// every other task.
    #[serde(default)]
    pub class_labels: Vec<ClassLabel>,
    pub settings: Settings,
    pub fitted: FittedModel,
    /// Scores recorded alongside the model (e.g. `accuracy`). Not-finite values are left
    /// out when written, since JSON cannot hold them.
    #[serde(default, serialize_with = "finite_metrics")]
    pub metrics: BTreeMap<String, f64>,
    /// Where the model came from; absent in artifacts from before lineage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// The run that fitted a model and where it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// The experiment run (see [`oxbook_protocol::RunSpec`]).
    pub run_id: String,
    /// The bytes the training data came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<oxbook_protocol::DatasetRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_revision: Option<u64>,
    /// When it was fitted (RFC 3339, UTC), by the host's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

fn finite_metrics<S: serde::Serializer>(
    metrics: &BTreeMap<String, f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(metrics.iter().filter(|(_, v)| v.is_finite()))
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArtifactError {
    #[error("the model artifact is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "artifact format {found} is newer than this Oxbook supports ({supported}); upgrade \
         Oxbook to load it"
    )]
    TooNew { found: u64, supported: u32 },
    #[error("unknown model algorithm '{name}' in the artifact (this Oxbook knows: {})", ALGORITHMS.join(", "))]
    UnknownAlgorithm { name: String },
    #[error("not a model artifact: {0}")]
    Malformed(String),
    #[error("inconsistent model artifact: {0}")]
    Inconsistent(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictError {
    #[error("the model needs a column '{column}', which the frame lacks")]
    MissingColumn { column: String },
    #[error("column '{column}' is {found}, but the model was trained on {expected} values")]
    ColumnType {
        column: String,
        expected: DType,
        found: DType,
    },
    #[error("row {row}: missing feature '{column}'")]
    MissingField { row: usize, column: String },
    #[error("row {row}: '{column}' is null; the model needs a value")]
    Null { row: usize, column: String },
    #[error("row {row}: '{column}' is not a finite number")]
    NotFinite { row: usize, column: String },
    #[error("row {row}: '{column}' should be {expected}, got {found}")]
    FieldType {
        row: usize,
        column: String,
        expected: DType,
        found: String,
    },
    #[error("the model cannot predict: {0}")]
    InvalidModel(String),
    #[error("preparing the rows with the model's recipe failed: {0}")]
    Recipe(String),
    #[error("this needs {} model, but '{algorithm}' is {}", .expected.model_noun(), .found.model_noun())]
    WrongTask {
        expected: Task,
        found: Task,
        algorithm: String,
    },
    #[error("the model's prediction for row {row} is not a finite number")]
    NonFinitePrediction { row: usize },
    /// A user's algorithm failed to predict, or gave predictions of the wrong shape; the
    /// message says how (and where in its source).
    #[error("predict of algorithm '{algorithm}' failed: {message}")]
    Script { algorithm: String, message: String },
    #[error(
        "this frame was prepared differently from the model's training data (its step {step} \
         is '{found}', the model's is '{expected}'); predict on raw rows or rows prepared \
         the same way"
    )]
    RecipeMismatch {
        step: usize,
        found: String,
        expected: String,
    },
}

/// A classifier's predictions for some rows: per row the predicted class (for models
/// with probabilities, the most probable, the first in `class_labels` order on a tie) and,
/// where the algorithm defines them, the probability of each class in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPredictions {
    pub labels: Vec<ClassLabel>,
    pub probabilities: Option<Vec<Vec<f64>>>,
}

/// A model's predictions for some rows, shaped by its task.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// A classifier's classes and probabilities.
    Classes(ClassPredictions),
    /// A regressor's numbers, one per row.
    Values(Vec<f64>),
    /// A clustering's cluster per row (`-1` for noise).
    Clusters(Vec<i64>),
    /// A decomposition's coordinates per row, one per component.
    Components(Vec<Vec<f64>>),
}

impl Predictions {
    pub fn task(&self) -> Task {
        match self {
            Predictions::Classes(_) => Task::Classification,
            Predictions::Values(_) => Task::Regression,
            Predictions::Clusters(_) => Task::Clustering,
            Predictions::Components(_) => Task::Decomposition,
        }
    }

    /// How many rows were predicted.
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes(c) => c.labels.len(),
            Predictions::Values(v) => v.len(),
            Predictions::Clusters(c) => c.len(),
            Predictions::Components(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ModelArtifact {
    /// Reads an artifact and checks that it can predict.
    pub fn from_json(text: &str) -> Result<Self, ArtifactError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let position = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&position).unwrap_or(&full).to_string();
            ArtifactError::Syntax {
                line: e.line(),
                column: e.column(),
                message,
            }
        })?;
        // The version first: a newer format may differ in any other way.
        let Value::Object(object) = &value else {
            return Err(ArtifactError::Malformed(format!(
                "expected a JSON object, found {}",
                json_kind(&value)
            )));
        };
        let version = match object.get("format_version") {
            None => return Err(ArtifactError::Malformed("missing format_version".into())),
            Some(v) => v.as_u64().ok_or_else(|| {
                ArtifactError::Malformed(format!(
                    "format_version must be a whole number, found {v}"
                ))
            })?,
        };
        if version > u64::from(ARTIFACT_FORMAT_VERSION) {
            return Err(ArtifactError::TooNew {
                found: version,
                supported: ARTIFACT_FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(ArtifactError::Malformed(
                "format_version 0 does not exist".into(),
            ));
        }
        // A user's algorithm has a name of its own; its settings say it is one.
        let script = object
            .get("settings")
            .and_then(Value::as_object)
            .is_some_and(|settings| settings.contains_key("script"));
        match object.get("algorithm") {
            Some(Value::String(name)) if !script && !ALGORITHMS.contains(&name.as_str()) => {
                return Err(ArtifactError::UnknownAlgorithm { name: name.clone() });
            }
            Some(Value::String(_)) => {}
            _ => return Err(ArtifactError::Malformed("missing algorithm name".into())),
        }
        let artifact: ModelArtifact = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            ArtifactError::Malformed(if path == "." {
                e.inner().to_string()
            } else {
                format!("at {path}: {}", e.inner())
            })
        })?;
        artifact.validate()?;
        Ok(artifact)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("artifacts hold only finite numbers and string keys")
    }

    pub fn algorithm_name(&self) -> &str {
        &self.algorithm
    }

    /// The column the model predicts, for a classifier or regressor.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// The raw columns a prediction needs (the features, for a model without a recipe).
    pub fn inputs(&self) -> &[FeatureSpec] {
        if self.input_features.is_empty() {
            &self.features
        } else {
            &self.input_features
        }
    }

    /// The names of [`Self::inputs`]: what an endpoint's rows must hold.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs().iter().map(|f| f.name.clone()).collect()
    }

    /// That the parts agree with each other, so that predicting cannot fail on the model.
    pub fn validate(&self) -> Result<(), ArtifactError> {
        let inconsistent = |m: String| Err(ArtifactError::Inconsistent(m));
        if self.format_version == 0 || self.format_version > ARTIFACT_FORMAT_VERSION {
            return inconsistent(format!(
                "unsupported format_version {}",
                self.format_version
            ));
        }
        if let Settings::Script(s) = &self.settings {
            s.validate().map_err(ArtifactError::Inconsistent)?;
        }
        // A user's algorithm goes by its own name; its settings and parameters are both
        // "script" ones.
        if self.settings.name() != self.algorithm
            || self.fitted.algorithm_name() != self.settings.algorithm_name()
        {
            return inconsistent(format!(
                "algorithm is '{}' but settings are for '{}' and parameters for '{}'",
                self.algorithm,
                self.settings.name(),
                self.fitted.algorithm_name()
            ));
        }
        if self.settings.task() != self.task {
            return inconsistent(format!(
                "task is {} but '{}' does {}",
                self.task,
                self.algorithm,
                self.settings.task()
            ));
        }
        if self.features.is_empty() {
            return inconsistent("no features".into());
        }
        for (i, feature) in self.features.iter().enumerate() {
            if self.features[..i].iter().any(|f| f.name == feature.name) {
                return inconsistent(format!("feature '{}' appears twice", feature.name));
            }
            if matches!(feature.dtype, DType::Str | DType::Datetime) {
                return inconsistent(format!(
                    "feature '{}' cannot be {}",
                    feature.name, feature.dtype
                ));
            }
        }
        for (i, input) in self.input_features.iter().enumerate() {
            if self.input_features[..i]
                .iter()
                .any(|f| f.name == input.name)
            {
                return inconsistent(format!("input feature '{}' appears twice", input.name));
            }
        }
        if !self.recipe.is_empty() && self.input_features.is_empty() {
            return inconsistent("a recipe without input_features".into());
        }
        self.recipe
            .validate()
            .map_err(|e| ArtifactError::Inconsistent(format!("recipe: {e}")))?;
        self.validate_task()?;
        self.fitted
            .check(self.features.len(), self.class_labels.len())
            .map_err(ArtifactError::Inconsistent)
    }

    /// The parts that depend on the task: target and class labels.
    fn validate_task(&self) -> Result<(), ArtifactError> {
        let inconsistent = |m: String| Err(ArtifactError::Inconsistent(m));
        match (self.task.is_supervised(), &self.target) {
            (true, None) => return inconsistent(format!("{} without a target", self.task)),
            (false, Some(target)) => {
                return inconsistent(format!("{} with a target ('{target}')", self.task))
            }
            _ => {}
        }
        if self.task != Task::Classification && !self.class_labels.is_empty() {
            return inconsistent(format!("class labels in a {} model", self.task));
        }
        match (self.task, self.target_dtype) {
            (Task::Classification, Some(dtype @ (DType::Float | DType::Datetime)))
            | (Task::Regression, Some(dtype @ (DType::Bool | DType::Str | DType::Datetime))) => {
                return inconsistent(format!("a {} target of {dtype} values", self.task))
            }
            (Task::Clustering | Task::Decomposition, Some(dtype)) => {
                return inconsistent(format!("a target type ({dtype}) in a {} model", self.task))
            }
            _ => {}
        }
        if self.task != Task::Classification {
            return Ok(());
        }
        if self.class_labels.len() < 2 {
            return inconsistent("fewer than 2 class labels".into());
        }
        let dtype = self.class_labels[0].dtype();
        if self
            .class_labels
            .windows(2)
            .any(|w| w[0] >= w[1] || w[1].dtype() != dtype)
        {
            return inconsistent("class labels must be distinct, sorted and of one type".into());
        }
        if self.target_dtype.is_some_and(|t| t != dtype) {
            return inconsistent(format!(
                "the target was {} but the class labels are {dtype}",
                self.target_dtype.unwrap_or(dtype)
            ));
        }
        Ok(())
    }

    /// A classifier's predictions for every row of `frame` (see [`Self::predict`]); an
    /// error for any other model.
    pub fn predict_classes(&self, frame: &Frame) -> Result<ClassPredictions, PredictError> {
        match self.predict(frame)? {
            Predictions::Classes(classes) => Ok(classes),
            other => Err(self.wrong_task(Task::Classification, other.task())),
        }
    }

    /// A regressor's predictions for every row of `frame` (see [`Self::predict`]); an
    /// error for any other model.
    pub fn predict_values(&self, frame: &Frame) -> Result<Vec<f64>, PredictError> {
        match self.predict(frame)? {
            Predictions::Values(values) => Ok(values),
            other => Err(self.wrong_task(Task::Regression, other.task())),
        }
    }

    fn wrong_task(&self, expected: Task, found: Task) -> PredictError {
        PredictError::WrongTask {
            expected,
            found,
            algorithm: self.algorithm.clone(),
        }
    }

    /// Predicts for every row of `frame`: raw rows (the model's [`Self::inputs`]), rows
    /// part-way through the model's recipe, or rows prepared as the training rows were.
    /// Whichever steps of the recipe the frame has not had are replayed first; the frame's
    /// own recipe says which. The features must then be float or int columns for numeric
    /// features, bool for bool, without nulls; other columns are ignored.
    pub fn predict(&self, frame: &Frame) -> Result<Predictions, PredictError> {
        self.predict_prepared(&self.prepare(frame)?)
    }

    /// `frame` with whichever steps of the model's recipe it has not had replayed: the
    /// rows as the model's features see them (see [`Self::predict`]).
    pub fn prepare(&self, frame: &Frame) -> Result<Frame, PredictError> {
        let done = &frame.recipe().steps;
        let wanted = &self.recipe.steps;
        if let Some(step) = done.iter().zip(wanted).position(|(a, b)| a != b) {
            return Err(PredictError::RecipeMismatch {
                step: step + 1,
                found: done[step].describe(),
                expected: wanted[step].describe(),
            });
        }
        if done.len() < wanted.len() {
            return self
                .recipe
                .replay(frame, done.len(), &self.feature_names())
                .map_err(|e| PredictError::Recipe(e.to_string()));
        }
        Ok(frame.clone())
    }

    /// Predicts for a frame holding the features themselves.
    fn predict_prepared(&self, frame: &Frame) -> Result<Predictions, PredictError> {
        let rows = frame.row_count();
        let cols = self.features.len();
        let mut data = vec![0.0; rows * cols];
        for (j, spec) in self.features.iter().enumerate() {
            let column = frame
                .column(&spec.name)
                .map_err(|_| PredictError::MissingColumn {
                    column: spec.name.clone(),
                })?;
            let found = column.data.dtype();
            let compatible = match spec.dtype {
                DType::Float | DType::Int => matches!(found, DType::Float | DType::Int),
                DType::Bool => found == DType::Bool,
                DType::Str | DType::Datetime => false,
            };
            if !compatible {
                return Err(PredictError::ColumnType {
                    column: spec.name.clone(),
                    expected: spec.dtype,
                    found,
                });
            }
            for i in 0..rows {
                let value = column.data.f64_at(i).ok_or_else(|| PredictError::Null {
                    row: i,
                    column: spec.name.clone(),
                })?;
                if !value.is_finite() {
                    return Err(PredictError::NotFinite {
                        row: i,
                        column: spec.name.clone(),
                    });
                }
                data[i * cols + j] = value;
            }
        }
        self.predict_matrix(&Matrix { rows, cols, data })
    }

    /// Predicts for MLflow `dataframe_records`: one JSON object per row keyed by feature
    /// name (other keys are ignored). Numeric features take JSON numbers (whole numbers
    /// for int features), bool features take `true`/`false`.
    pub fn predict_records(
        &self,
        records: &[serde_json::Map<String, Value>],
    ) -> Result<InvocationResponse, PredictError> {
        if !self.recipe.is_empty() {
            let raw = records_frame(records, self.inputs())?;
            let predictions = self.predict(&raw)?;
            return Ok(self.response(predictions));
        }
        let cols = self.features.len();
        let mut data = Vec::with_capacity(records.len().saturating_mul(cols));
        for (row, record) in records.iter().enumerate() {
            for spec in &self.features {
                let value = record
                    .get(&spec.name)
                    .ok_or_else(|| PredictError::MissingField {
                        row,
                        column: spec.name.clone(),
                    })?;
                data.push(record_value(value, spec, row)?);
            }
        }
        let predictions = self.predict_matrix(&Matrix {
            rows: records.len(),
            cols,
            data,
        })?;
        Ok(self.response(predictions))
    }

    /// The response of an endpoint: classes (with probabilities where the model defines
    /// them and the class list), numbers, cluster ids or component coordinates.
    fn response(&self, predictions: Predictions) -> InvocationResponse {
        let plain = |predictions: Vec<Value>| InvocationResponse {
            predictions,
            probabilities: None,
            classes: None,
        };
        match predictions {
            Predictions::Classes(classes) => InvocationResponse {
                predictions: classes.labels.iter().map(ClassLabel::to_json).collect(),
                probabilities: classes.probabilities,
                classes: Some(self.class_labels.iter().map(ClassLabel::to_json).collect()),
            },
            // Finite: predict_matrix checked.
            Predictions::Values(values) => plain(values.into_iter().map(Value::from).collect()),
            Predictions::Clusters(ids) => plain(ids.into_iter().map(Value::from).collect()),
            Predictions::Components(rows) => plain(rows.into_iter().map(Value::from).collect()),
        }
    }

    fn predict_matrix(&self, x: &Matrix) -> Result<Predictions, PredictError> {
        // Fields are public: re-check rather than trust that nobody edited them.
        let classes = self.class_labels.len();
        let invalid = |m: &str| Err(PredictError::InvalidModel(m.into()));
        if x.cols != self.features.len() {
            return invalid("features do not match");
        }
        if (self.task == Task::Classification) != (classes >= 2) {
            return invalid("the task and the classes do not match");
        }
        let output = match (&self.settings, &self.fitted) {
            (Settings::Script(algorithm), FittedModel::Script(model)) => {
                if algorithm.task != self.task {
                    return invalid("the task and the algorithm do not match");
                }
                algorithm
                    .predict(model, x, &self.class_labels)
                    .map_err(|message| PredictError::Script {
                        algorithm: algorithm.name.clone(),
                        message,
                    })?
            }
            (Settings::Script(_), _) | (_, FittedModel::Script(_)) => {
                return invalid("the settings and the fitted parameters do not match")
            }
            _ => {
                if self.fitted.task() != self.task {
                    return invalid("the task and the classes do not match");
                }
                self.fitted
                    .check(x.cols, classes)
                    .map_err(PredictError::InvalidModel)?;
                self.fitted.predict(x, classes)
            }
        };
        let label = |c: usize| self.class_labels.get(c).cloned();
        let predictions = match output {
            Output::Probabilities(probabilities) => {
                let labels = probabilities
                    .iter()
                    .map(|p| {
                        let mut best = 0;
                        for (c, &value) in p.iter().enumerate() {
                            if value > p[best] {
                                best = c;
                            }
                        }
                        label(best)
                    })
                    .collect::<Option<Vec<_>>>();
                Predictions::Classes(ClassPredictions {
                    labels: labels.ok_or_else(|| {
                        PredictError::InvalidModel("a class index out of range".into())
                    })?,
                    probabilities: Some(probabilities),
                })
            }
            Output::Classes {
                indices,
                probabilities,
            } => Predictions::Classes(ClassPredictions {
                labels: indices
                    .into_iter()
                    .map(label)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        PredictError::InvalidModel("a class index out of range".into())
                    })?,
                probabilities,
            }),
            Output::Values(values) => {
                if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                    return Err(PredictError::NonFinitePrediction { row });
                }
                Predictions::Values(values)
            }
            Output::Clusters(ids) => Predictions::Clusters(ids),
            Output::Components(rows) => {
                if let Some(row) = rows.iter().position(|r| !r.iter().all(|v| v.is_finite())) {
                    return Err(PredictError::NonFinitePrediction { row });
                }
                Predictions::Components(rows)
            }
        };
        if predictions.task() != self.task {
            return invalid("the model predicted for another task");
        }
        if predictions.len() != x.rows {
            return invalid("the model gave the wrong number of predictions");
        }
        Ok(predictions)
    }
}

/// A record's value for a feature as a number, or why not.
fn record_value(value: &Value, spec: &FeatureSpec, row: usize) -> Result<f64, PredictError> {
    let wrong = || PredictError::FieldType {
        row,
        column: spec.name.clone(),
        expected: spec.dtype,
        found: describe(value),
    };
    match (spec.dtype, value) {
        (_, Value::Null) => Err(PredictError::Null {
            row,
            column: spec.name.clone(),
        }),
        (DType::Bool, Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        (DType::Float, Value::Number(n)) => n.as_f64().ok_or_else(wrong),
        (DType::Int, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(i as f64)
            } else if let Some(u) = n.as_u64() {
                Ok(u as f64)
            } else {
                // Whole numbers written as 3.0 (as pandas often does) are accepted.
                n.as_f64().filter(|f| f.fract() == 0.0).ok_or_else(wrong)
            }
        }
        _ => Err(wrong()),
    }
    .and_then(|v| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(PredictError::NotFinite {
                row,
                column: spec.name.clone(),
            })
        }
    })
}

/// Records as a frame of the raw `inputs` columns, for a recipe to replay on. Nulls are
/// allowed here (a recipe may fill them); values of the wrong type are errors naming the
/// row. Numbers for a str input are refused rather than turned into text: `"01"` and `1`
/// are different categories.
fn records_frame(
    records: &[serde_json::Map<String, Value>],
    inputs: &[FeatureSpec],
) -> Result<Frame, PredictError> {
    let mut columns = Vec::with_capacity(inputs.len());
    for spec in inputs {
        let mut values = Vec::with_capacity(records.len());
        for (row, record) in records.iter().enumerate() {
            let value = record
                .get(&spec.name)
                .ok_or_else(|| PredictError::MissingField {
                    row,
                    column: spec.name.clone(),
                })?;
            values.push(value);
        }
        let wrong = |row: usize, value: &Value| PredictError::FieldType {
            row,
            column: spec.name.clone(),
            expected: spec.dtype,
            found: describe(value),
        };
        let data = match spec.dtype {
            DType::Str => ColumnData::Str(
                values
                    .iter()
                    .enumerate()
                    .map(|(row, v)| match v {
                        Value::Null => Ok(None),
                        Value::String(s) => Ok(Some(s.clone())),
                        other => Err(wrong(row, other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            DType::Bool => ColumnData::Bool(
                values
                    .iter()
                    .enumerate()
                    .map(|(row, v)| match v {
                        Value::Null => Ok(None),
                        Value::Bool(b) => Ok(Some(*b)),
                        other => Err(wrong(row, other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            DType::Datetime => ColumnData::Datetime(
                values
                    .iter()
                    .enumerate()
                    .map(|(row, v)| match v {
                        Value::Null => Ok(None),
                        Value::String(s) => {
                            parse_datetime(s).map(Some).ok_or_else(|| wrong(row, v))
                        }
                        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| wrong(row, v)),
                        other => Err(wrong(row, other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            DType::Int => ColumnData::Int(
                values
                    .iter()
                    .enumerate()
                    .map(|(row, v)| match v {
                        Value::Null => Ok(None),
                        Value::Number(_) => {
                            let x = record_value(v, spec, row)?;
                            // Whole and in range, checked by record_value.
                            if x.abs() < 9.2e18 {
                                Ok(Some(x as i64))
                            } else {
                                Err(wrong(row, v))
                            }
                        }
                        other => Err(wrong(row, other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            DType::Float => ColumnData::Float(
                values
                    .iter()
                    .enumerate()
                    .map(|(row, v)| match v {
                        Value::Null => Ok(None),
                        other => record_value(other, spec, row).map(Some),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        columns.push(Column {
            name: spec.name.clone(),
            data,
        });
    }
    Frame::new(columns).map_err(|e| PredictError::Recipe(e.to_string()))
}

fn describe(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".to_string(),
        Value::String(s) => format!("the string {s:?}"),
        other => json_kind(other).to_string(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
