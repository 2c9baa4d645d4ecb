//! Classifiers: their settings, fitting, and the fitted parameters that artifacts store.
//!
//! Everything here is deterministic down to the bit on every platform: no `HashMap`
//! iteration order reaches an output, randomness comes from [`crate::rng::SeededRng`],
//! and transcendental functions come from `libm` rather than the platform's C library.

pub mod cluster;
pub mod forest;
pub mod gbt;
pub mod knn;
pub mod logistic;
pub mod naive_bayes;
pub mod pca;
pub mod svm;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::artifact::{ClassLabel, FeatureSpec, ModelArtifact, ARTIFACT_FORMAT_VERSION};
use crate::frame::{ColumnData, DType, Frame, FrameError};
use crate::recipe::Recipe;

pub use forest::{ForestModel, RandomForestSettings, Tree, TreeNode};
pub use knn::{KnnModel, KnnSettings, KnnWeights};
pub use logistic::{LogisticModel, LogisticRegressionSettings};
pub use naive_bayes::{GaussianNbModel, GaussianNbSettings};
pub use tree::{DecisionTreeModel, DecisionTreeSettings};

/// The algorithm names, as artifacts and scripts spell them.
pub const ALGORITHMS: [&str; 5] = [
    "logistic_regression",
    "random_forest",
    "decision_tree",
    "knn",
    "gaussian_nb",
];

/// What the kernel crate calls itself in artifacts' `created_with`.
pub const CREATED_WITH: &str = concat!("oxbook-kernel ", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model algorithm '{name}' (known: {})", ALGORITHMS.join(", "))]
    UnknownAlgorithm { name: String },
    #[error("setting '{setting}' {message}")]
    InvalidSetting { setting: String, message: String },
    /// A setting that is unknown or of the wrong type; the message names it.
    #[error("{message}")]
    UnreadableSettings { message: String },
    #[error("no feature columns given; name at least one")]
    NoFeatures,
    #[error("feature column '{column}' is listed more than once")]
    DuplicateFeature { column: String },
    #[error("column '{column}' is the target, so it cannot also be a feature")]
    TargetIsFeature { column: String },
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(
        "feature column '{column}' holds strings; models need numbers, so encode it first \
         (for example as one 0/1 column per category)"
    )]
    StringFeature { column: String },
    #[error("the frame has no rows to train on")]
    EmptyFrame,
    #[error("column '{column}' has nulls in {count} row(s); remove them first with drop_nulls")]
    NullValues { column: String, count: usize },
    #[error("feature column '{column}' has NaN or infinite values in {count} row(s)")]
    NonFinite { column: String, count: usize },
    #[error(
        "target column '{column}' is float, but a classifier needs classes: bool, int or str \
         values; convert it first"
    )]
    FloatTarget { column: String },
    #[error("target column '{column}' has {found} class(es); a classifier needs at least 2")]
    TooFewClasses { column: String, found: usize },
    #[error("fitting failed: {0}")]
    FitFailed(String),
    #[error("the fit was cancelled after {done} of {total} {unit}")]
    Cancelled {
        done: usize,
        total: usize,
        unit: &'static str,
    },
    #[error("the frame's preprocessing recipe cannot be stored with the model: {0}")]
    Recipe(String),
}

impl ModelError {
    pub(crate) fn setting(setting: &str, message: impl Into<String>) -> ModelError {
        ModelError::InvalidSetting {
            setting: setting.to_string(),
            message: message.into(),
        }
    }
}

/// Which algorithm to fit, with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settings {
    LogisticRegression(LogisticRegressionSettings),
    RandomForest(RandomForestSettings),
    DecisionTree(DecisionTreeSettings),
    Knn(KnnSettings),
    GaussianNb(GaussianNbSettings),
}

impl Settings {
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Settings::LogisticRegression(_) => ALGORITHMS[0],
            Settings::RandomForest(_) => ALGORITHMS[1],
            Settings::DecisionTree(_) => ALGORITHMS[2],
            Settings::Knn(_) => ALGORITHMS[3],
            Settings::GaussianNb(_) => ALGORITHMS[4],
        }
    }

    /// Checks every setting's range; [`fit`] calls this first.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            Settings::LogisticRegression(s) => s.validate(),
            Settings::RandomForest(s) => s.validate(),
            Settings::DecisionTree(s) => s.validate(),
            Settings::Knn(s) => s.validate(),
            Settings::GaussianNb(s) => s.validate(),
        }
    }

    /// The settings of `algorithm` from a JSON object of settings as a script passes them
    /// (absent ones take their defaults; `null` means all defaults), validated. Unknown
    /// settings, wrong types and out-of-range values are errors naming the setting.
    pub fn from_json(algorithm: &str, options: serde_json::Value) -> Result<Settings, ModelError> {
        let options = match options {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            other => other,
        };
        let settings = match algorithm {
            "logistic_regression" => Settings::LogisticRegression(read_settings(options)?),
            "random_forest" => Settings::RandomForest(read_settings(options)?),
            "decision_tree" => Settings::DecisionTree(read_settings(options)?),
            "knn" => Settings::Knn(read_settings(options)?),
            "gaussian_nb" => Settings::GaussianNb(read_settings(options)?),
            other => {
                return Err(ModelError::UnknownAlgorithm {
                    name: other.to_string(),
                })
            }
        };
        settings.validate()?;
        Ok(settings)
    }
}

fn read_settings<T: serde::de::DeserializeOwned>(
    options: serde_json::Value,
) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(options).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("bad settings: {inner}")
        } else {
            format!("setting '{path}': {inner}")
        };
        ModelError::UnreadableSettings { message }
    })
}

/// The fitted parameters of one model, per algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FittedModel {
    LogisticRegression(LogisticModel),
    RandomForest(ForestModel),
    DecisionTree(DecisionTreeModel),
    Knn(KnnModel),
    GaussianNb(GaussianNbModel),
}

impl FittedModel {
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            FittedModel::LogisticRegression(_) => ALGORITHMS[0],
            FittedModel::RandomForest(_) => ALGORITHMS[1],
            FittedModel::DecisionTree(_) => ALGORITHMS[2],
            FittedModel::Knn(_) => ALGORITHMS[3],
            FittedModel::GaussianNb(_) => ALGORITHMS[4],
        }
    }

    /// That the parameters fit `features` inputs and `classes` outputs, so that predicting
    /// cannot index out of bounds even for an artifact edited by hand.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        match self {
            FittedModel::LogisticRegression(m) => m.check(features, classes),
            FittedModel::RandomForest(m) => m.check(features, classes),
            FittedModel::DecisionTree(m) => m.check(features, classes),
            FittedModel::Knn(m) => m.check(features, classes),
            FittedModel::GaussianNb(m) => m.check(features, classes),
        }
    }

    /// Per row of `x`, the probability of each class. Only call after [`Self::check`].
    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        match self {
            FittedModel::LogisticRegression(m) => m.probabilities(x, classes),
            FittedModel::RandomForest(m) => m.probabilities(x, classes),
            FittedModel::DecisionTree(m) => m.probabilities(x),
            FittedModel::Knn(m) => m.probabilities(x, classes),
            FittedModel::GaussianNb(m) => m.probabilities(x, classes),
        }
    }
}

/// How far a long fit has got: `done` of `total` units (trees, boosting rounds,
/// iterations), reported between units so a host can show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    pub done: usize,
    pub total: usize,
    /// What is counted, plural: "trees", "rounds", "iterations".
    pub unit: &'static str,
}

impl FitProgress {
    /// The error a fit returns when its monitor asked it to stop here.
    pub fn cancelled(self) -> ModelError {
        ModelError::Cancelled {
            done: self.done,
            total: self.total,
            unit: self.unit,
        }
    }
}

/// What a fit calls after each unit of work. Returning `ControlFlow::Break` cancels the
/// fit, which then returns [`ModelError::Cancelled`]. The host decides what cancelling
/// means (a button in the page, a signal on the command line).
pub type Monitor<'a> = dyn FnMut(FitProgress) -> std::ops::ControlFlow<()> + 'a;

/// A monitor that never cancels, for callers that do not watch progress.
pub fn unmonitored(_: FitProgress) -> std::ops::ControlFlow<()> {
    std::ops::ControlFlow::Continue(())
}

/// Feature values, row-major, as models consume them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.data[row * self.cols + col]
    }
}

/// Fits a classifier predicting `target` from the `features` columns of `frame`.
///
/// Features must be float, int or bool columns (bool counts as 0/1) without nulls; the
/// target a bool, int or str column without nulls, holding at least two classes.
pub fn fit(
    frame: &Frame,
    features: &[String],
    target: &str,
    settings: &Settings,
) -> Result<ModelArtifact, ModelError> {
    settings.validate()?;
    if features.is_empty() {
        return Err(ModelError::NoFeatures);
    }
    for (i, name) in features.iter().enumerate() {
        if features[..i].contains(name) {
            return Err(ModelError::DuplicateFeature {
                column: name.clone(),
            });
        }
        if name == target {
            return Err(ModelError::TargetIsFeature {
                column: name.clone(),
            });
        }
    }
    let mut specs = Vec::with_capacity(features.len());
    for name in features {
        let column = frame.column(name)?;
        let dtype = column.data.dtype();
        if dtype == DType::Str {
            return Err(ModelError::StringFeature {
                column: name.clone(),
            });
        }
        if dtype == DType::Datetime {
            return Err(FrameError::WrongType {
                name: name.clone(),
                dtype,
                wanted: "models need numbers, so derive some from it first (such as the year)"
                    .into(),
            }
            .into());
        }
        specs.push(FeatureSpec {
            name: name.clone(),
            dtype,
        });
    }
    if frame.column(target)?.data.dtype() == DType::Float {
        return Err(ModelError::FloatTarget {
            column: target.to_string(),
        });
    }
    if frame.row_count() == 0 {
        return Err(ModelError::EmptyFrame);
    }

    let rows = frame.row_count();
    let cols = specs.len();
    let mut data = vec![0.0; rows * cols];
    for (j, spec) in specs.iter().enumerate() {
        let column = &frame.column(&spec.name)?.data;
        let (mut nulls, mut non_finite) = (0, 0);
        for i in 0..rows {
            match column.f64_at(i) {
                None => nulls += 1,
                Some(v) if !v.is_finite() => non_finite += 1,
                Some(v) => data[i * cols + j] = v,
            }
        }
        if nulls > 0 {
            return Err(ModelError::NullValues {
                column: spec.name.clone(),
                count: nulls,
            });
        }
        if non_finite > 0 {
            return Err(ModelError::NonFinite {
                column: spec.name.clone(),
                count: non_finite,
            });
        }
    }
    let x = Matrix { rows, cols, data };

    let labels = target_labels(frame, target)?;
    let classes: Vec<ClassLabel> = labels
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if classes.len() < 2 {
        return Err(ModelError::TooFewClasses {
            column: target.to_string(),
            found: classes.len(),
        });
    }
    // Every label is among `classes`, which is sorted.
    let y: Vec<usize> = labels
        .iter()
        .map(|label| classes.binary_search(label).unwrap_or(0))
        .collect();

    let fitted = match settings {
        Settings::LogisticRegression(s) => {
            FittedModel::LogisticRegression(logistic::fit(&x, &y, classes.len(), s)?)
        }
        Settings::RandomForest(s) => {
            FittedModel::RandomForest(forest::fit(&x, &y, classes.len(), s)?)
        }
        Settings::DecisionTree(s) => {
            FittedModel::DecisionTree(tree::fit(&x, &y, classes.len(), s)?)
        }
        Settings::Knn(s) => FittedModel::Knn(knn::fit(&x, &y, s)?),
        Settings::GaussianNb(s) => {
            FittedModel::GaussianNb(naive_bayes::fit(&x, &y, classes.len(), s)?)
        }
    };
    let recipe = frame.recipe().clone();
    recipe.validate().map_err(ModelError::Recipe)?;
    let input_features = if recipe.is_empty() {
        specs.clone()
    } else {
        input_features(frame, &recipe, features)?
    };
    Ok(ModelArtifact {
        format_version: ARTIFACT_FORMAT_VERSION,
        algorithm: settings.algorithm_name().to_string(),
        created_with: CREATED_WITH.to_string(),
        target: target.to_string(),
        features: specs,
        input_features,
        recipe,
        class_labels: classes,
        settings: settings.clone(),
        fitted,
        metrics: BTreeMap::new(),
    })
}

/// The raw columns (with their types) that `recipe` computes `features` from: types as
/// the recipe's source frame had them, or, for a column that joined later and no step
/// touched, as the frame has it.
fn input_features(
    frame: &Frame,
    recipe: &Recipe,
    features: &[String],
) -> Result<Vec<FeatureSpec>, ModelError> {
    recipe
        .raw_inputs(features)
        .into_iter()
        .map(|name| {
            let dtype = recipe
                .source
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.dtype)
                .or_else(|| frame.column(&name).ok().map(|c| c.data.dtype()))
                .ok_or_else(|| {
                    ModelError::Recipe(format!(
                        "a step reads column '{name}', which neither the loaded data nor the \
                         frame has"
                    ))
                })?;
            Ok(FeatureSpec { name, dtype })
        })
        .collect()
}

/// The values of a class column (bool, int or str, without nulls) as labels.
pub fn target_labels(frame: &Frame, column: &str) -> Result<Vec<ClassLabel>, ModelError> {
    let data = &frame.column(column)?.data;
    let nulls = (0..data.len()).filter(|&i| data.is_null(i)).count();
    if data.dtype() == DType::Datetime {
        return Err(FrameError::WrongType {
            name: column.to_string(),
            dtype: DType::Datetime,
            wanted: "a class column must hold bool, int or str values".into(),
        }
        .into());
    }
    if data.dtype() == DType::Float {
        return Err(ModelError::FloatTarget {
            column: column.to_string(),
        });
    }
    if nulls > 0 {
        return Err(ModelError::NullValues {
            column: column.to_string(),
            count: nulls,
        });
    }
    Ok(match data {
        ColumnData::Bool(v) => v
            .iter()
            .map(|x| ClassLabel::Bool(x.unwrap_or_default()))
            .collect(),
        ColumnData::Int(v) => v
            .iter()
            .map(|x| ClassLabel::Int(x.unwrap_or_default()))
            .collect(),
        ColumnData::Str(v) => v
            .iter()
            .map(|x| ClassLabel::Str(x.unwrap_or_default().to_string()))
            .collect(),
        ColumnData::Float(_) | ColumnData::Datetime(_) => Vec::new(),
    })
}
