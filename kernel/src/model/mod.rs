//! Models: their settings, fitting, and the fitted parameters that artifacts store.
//!
//! Every algorithm has one [`Task`]: classification, regression, clustering or
//! decomposition. The task decides what `fit` needs (a class column, a numeric column or no
//! target at all) and what predicting gives ([`crate::artifact::Predictions`]). Adding an
//! algorithm means a [`Settings`] and a [`FittedModel`] variant, a name in [`ALGORITHMS`]
//! with its task in [`task_of`], an arm in [`fit_monitored`], and what it computes (an
//! `Output`) in `FittedModel::predict`.
//!
//! Everything here is deterministic down to the bit on every platform: no `HashMap`
//! iteration order reaches an output, randomness comes from [`crate::rng::SeededRng`],
//! and transcendental functions come from `libm` rather than the platform's C library.

pub mod cluster;
pub mod forest;
pub mod gbt;
pub mod importance;
pub mod knn;
pub mod linear;
pub mod logistic;
pub mod naive_bayes;
pub mod pca;
pub mod script;
pub mod svm;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::artifact::{ClassLabel, FeatureSpec, ModelArtifact, ARTIFACT_FORMAT_VERSION};
use crate::frame::{ColumnData, DType, Frame, FrameError};
use crate::recipe::Recipe;

pub use cluster::{DbscanModel, DbscanSettings, KMeansModel, KMeansSettings};
pub use forest::{ForestModel, RandomForestSettings, Tree, TreeNode};
pub use gbt::{GbtModel, GradientBoostingSettings};
pub use knn::{KnnModel, KnnRegressorModel, KnnSettings, KnnWeights};
pub use linear::{
    ElasticNetSettings, LassoSettings, LinearModel, LinearRegressionSettings, RidgeSettings,
};
pub use logistic::{LogisticModel, LogisticRegressionSettings};
pub use naive_bayes::{GaussianNbModel, GaussianNbSettings};
pub use pca::{PcaModel, PcaSettings};
pub use script::{ScriptAlgorithm, ScriptModel, ScriptPredictions, ScriptRunner, ScriptTarget};
pub use svm::{SvmModel, SvmSettings, SvrModel, SvrSettings};
pub use tree::{DecisionTreeModel, DecisionTreeSettings};

/// The algorithm names, as artifacts and scripts spell them.
pub const ALGORITHMS: [&str; 19] = [
    "logistic_regression",
    "random_forest",
    "decision_tree",
    "knn",
    "gaussian_nb",
    "linear_regression",
    "ridge",
    "lasso",
    "elastic_net",
    "decision_tree_regressor",
    "random_forest_regressor",
    "knn_regressor",
    "gradient_boosting",
    "gradient_boosting_regressor",
    "svm",
    "svr",
    "kmeans",
    "dbscan",
    "pca",
];

/// What a model learns, which decides what fitting needs and what predicting gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Predicts a class (a bool, int or str value) from a target column of classes, with
    /// the probability of each class where the algorithm defines them. Artifacts from
    /// before tasks existed are classifiers, hence the default.
    #[default]
    Classification,
    /// Predicts a number from a numeric (float or int) target column.
    Regression,
    /// Groups rows into clusters, without a target; predicts a cluster id per row.
    Clustering,
    /// Re-expresses rows in fewer dimensions, without a target; predicts components.
    Decomposition,
}

impl Task {
    /// Whether fitting needs a target column.
    pub fn is_supervised(self) -> bool {
        matches!(self, Task::Classification | Task::Regression)
    }

    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::Clustering => "clustering",
            Task::Decomposition => "decomposition",
        }
    }

    /// What such a model is called in messages: "a classifier", "a regressor", ...
    pub fn model_noun(self) -> &'static str {
        match self {
            Task::Classification => "a classifier",
            Task::Regression => "a regressor",
            Task::Clustering => "a clustering model",
            Task::Decomposition => "a decomposition model",
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The task of a known algorithm, by its name in [`ALGORITHMS`].
pub fn task_of(algorithm: &str) -> Option<Task> {
    Some(match algorithm {
        "logistic_regression"
        | "random_forest"
        | "decision_tree"
        | "knn"
        | "gaussian_nb"
        | "gradient_boosting"
        | "svm" => Task::Classification,
        "linear_regression"
        | "ridge"
        | "lasso"
        | "elastic_net"
        | "decision_tree_regressor"
        | "random_forest_regressor"
        | "knn_regressor"
        | "gradient_boosting_regressor"
        | "svr" => Task::Regression,
        "kmeans" | "dbscan" => Task::Clustering,
        "pca" => Task::Decomposition,
        _ => return None,
    })
}

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
         values; convert it first, or fit a regressor to predict numbers"
    )]
    FloatTarget { column: String },
    #[error(
        "target column '{column}' holds {dtype} values, but a regressor predicts numbers from \
         a float or int column; fit a classifier to predict classes"
    )]
    NonNumericTarget { column: String, dtype: DType },
    #[error("target column '{column}' has NaN or infinite values in {count} row(s)")]
    NonFiniteTarget { column: String, count: usize },
    #[error("'{algorithm}' is {noun}: it learns from a target column, so name one")]
    TargetRequired {
        algorithm: String,
        noun: &'static str,
    },
    #[error(
        "'{algorithm}' is {noun}: it learns without a target, but target column '{column}' \
         was given; leave it out"
    )]
    TargetNotUsed {
        algorithm: String,
        noun: &'static str,
        column: String,
    },
    #[error("target column '{column}' has {found} class(es); a classifier needs at least 2")]
    TooFewClasses { column: String, found: usize },
    #[error("fitting failed: {0}")]
    FitFailed(String),
    /// A user's algorithm that cannot be fitted as it is (its name, task or language).
    #[error("{0}")]
    InvalidScript(String),
    /// A user's algorithm failed to fit; the message says how and where in its source.
    #[error("fit of algorithm '{algorithm}' failed: {message}")]
    Script { algorithm: String, message: String },
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
    LinearRegression(LinearRegressionSettings),
    Ridge(RidgeSettings),
    Lasso(LassoSettings),
    ElasticNet(ElasticNetSettings),
    /// The same settings as the classification tree; splits minimise squared error.
    DecisionTreeRegressor(DecisionTreeSettings),
    /// The same settings as the classification forest, except that `features_per_split`
    /// defaults to every feature (as scikit-learn's regressor).
    RandomForestRegressor(RandomForestSettings),
    KnnRegressor(KnnSettings),
    GradientBoosting(GradientBoostingSettings),
    /// The same settings as the classifier; the loss is half the squared error.
    GradientBoostingRegressor(GradientBoostingSettings),
    Svm(SvmSettings),
    Svr(SvrSettings),
    Kmeans(KMeansSettings),
    Dbscan(DbscanSettings),
    Pca(PcaSettings),
    /// A user's algorithm: its source, task and the settings given to its `fit`.
    Script(ScriptAlgorithm),
}

impl Settings {
    /// What artifacts and runs call the algorithm: its name in [`ALGORITHMS`], or the name
    /// a user gave their own.
    pub fn name(&self) -> &str {
        match self {
            Settings::Script(s) => &s.name,
            _ => self.algorithm_name(),
        }
    }

    /// The built-in algorithm's name in [`ALGORITHMS`]; `"script"` for a user's algorithm
    /// (whose own name is [`Self::name`]).
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Settings::Script(_) => "script",
            Settings::LogisticRegression(_) => ALGORITHMS[0],
            Settings::RandomForest(_) => ALGORITHMS[1],
            Settings::DecisionTree(_) => ALGORITHMS[2],
            Settings::Knn(_) => ALGORITHMS[3],
            Settings::GaussianNb(_) => ALGORITHMS[4],
            Settings::LinearRegression(_) => ALGORITHMS[5],
            Settings::Ridge(_) => ALGORITHMS[6],
            Settings::Lasso(_) => ALGORITHMS[7],
            Settings::ElasticNet(_) => ALGORITHMS[8],
            Settings::DecisionTreeRegressor(_) => ALGORITHMS[9],
            Settings::RandomForestRegressor(_) => ALGORITHMS[10],
            Settings::KnnRegressor(_) => ALGORITHMS[11],
            Settings::GradientBoosting(_) => ALGORITHMS[12],
            Settings::GradientBoostingRegressor(_) => ALGORITHMS[13],
            Settings::Svm(_) => ALGORITHMS[14],
            Settings::Svr(_) => ALGORITHMS[15],
            Settings::Kmeans(_) => ALGORITHMS[16],
            Settings::Dbscan(_) => ALGORITHMS[17],
            Settings::Pca(_) => ALGORITHMS[18],
        }
    }

    /// The settings' own fields as a JSON object (without the algorithm's tag): what runs
    /// record and summaries show. For a user's algorithm, the settings its fit was given.
    pub fn fields(&self) -> serde_json::Value {
        if let Settings::Script(s) = self {
            return s.settings.clone();
        }
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(outer)) => outer.into_iter().next().map(|(_, v)| v),
            _ => None,
        }
        .unwrap_or(serde_json::Value::Null)
    }

    /// What the algorithm learns.
    pub fn task(&self) -> Task {
        if let Settings::Script(s) = self {
            return s.task;
        }
        // Every name in ALGORITHMS has a task (a test checks it).
        task_of(self.algorithm_name()).unwrap_or_default()
    }

    /// Checks every setting's range; [`fit`] calls this first.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            Settings::LogisticRegression(s) => s.validate(),
            Settings::RandomForest(s) | Settings::RandomForestRegressor(s) => s.validate(),
            Settings::DecisionTree(s) | Settings::DecisionTreeRegressor(s) => s.validate(),
            Settings::Knn(s) | Settings::KnnRegressor(s) => s.validate(),
            Settings::GaussianNb(s) => s.validate(),
            Settings::LinearRegression(s) => s.validate(),
            Settings::Ridge(s) => s.validate(),
            Settings::Lasso(s) => s.validate(),
            Settings::ElasticNet(s) => s.validate(),
            Settings::GradientBoosting(s) | Settings::GradientBoostingRegressor(s) => s.validate(),
            Settings::Svm(s) => s.validate(),
            Settings::Svr(s) => s.validate(),
            Settings::Kmeans(s) => s.validate(),
            Settings::Dbscan(s) => s.validate(),
            Settings::Pca(s) => s.validate(),
            Settings::Script(s) => s.validate().map_err(ModelError::InvalidScript),
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
            "linear_regression" => Settings::LinearRegression(read_settings(options)?),
            "ridge" => Settings::Ridge(read_settings(options)?),
            "lasso" => Settings::Lasso(read_settings(options)?),
            "elastic_net" => Settings::ElasticNet(read_settings(options)?),
            "decision_tree_regressor" => Settings::DecisionTreeRegressor(read_settings(options)?),
            "random_forest_regressor" => Settings::RandomForestRegressor(read_settings(options)?),
            "knn_regressor" => Settings::KnnRegressor(read_settings(options)?),
            "gradient_boosting" => Settings::GradientBoosting(read_settings(options)?),
            "gradient_boosting_regressor" => {
                Settings::GradientBoostingRegressor(read_settings(options)?)
            }
            "svm" => Settings::Svm(read_settings(options)?),
            "svr" => Settings::Svr(read_settings(options)?),
            "kmeans" => Settings::Kmeans(read_settings(options)?),
            "dbscan" => Settings::Dbscan(read_settings(options)?),
            "pca" => Settings::Pca(read_settings(options)?),
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
    LinearRegression(LinearModel),
    Ridge(LinearModel),
    Lasso(LinearModel),
    ElasticNet(LinearModel),
    /// A tree whose leaves hold the mean target of their training rows.
    DecisionTreeRegressor(DecisionTreeModel),
    /// Trees whose leaves hold means; a prediction is the mean over trees.
    RandomForestRegressor(ForestModel),
    KnnRegressor(KnnRegressorModel),
    /// Boosted trees on the log-odds (two classes) or per-class scores (more).
    GradientBoosting(GbtModel),
    /// Boosted trees whose scores are the predictions.
    GradientBoostingRegressor(GbtModel),
    Svm(SvmModel),
    Svr(SvrModel),
    Kmeans(KMeansModel),
    Dbscan(DbscanModel),
    Pca(PcaModel),
    /// The state a user's algorithm fitted; its source is in the artifact's settings.
    Script(ScriptModel),
}

/// What a fitted model computes for rows of features, before the artifact puts names
/// (class labels) on it. Which variant a model gives is fixed by its task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// Classification: per row, the probability of each class; the prediction is the most
    /// probable class (the first in class order on a tie).
    Probabilities(Vec<Vec<f64>>),
    /// Classification by a model whose predicted class is not simply the most probable
    /// one (or that defines no probabilities): per row, the class's index.
    Classes {
        indices: Vec<usize>,
        probabilities: Option<Vec<Vec<f64>>>,
    },
    /// Regression: per row, the predicted number.
    Values(Vec<f64>),
    /// Clustering: per row, its cluster (`-1` for noise, as DBSCAN marks it).
    Clusters(Vec<i64>),
    /// Decomposition: per row, its coordinates on the components.
    Components(Vec<Vec<f64>>),
}

impl FittedModel {
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            FittedModel::LogisticRegression(_) => ALGORITHMS[0],
            FittedModel::RandomForest(_) => ALGORITHMS[1],
            FittedModel::DecisionTree(_) => ALGORITHMS[2],
            FittedModel::Knn(_) => ALGORITHMS[3],
            FittedModel::GaussianNb(_) => ALGORITHMS[4],
            FittedModel::LinearRegression(_) => ALGORITHMS[5],
            FittedModel::Ridge(_) => ALGORITHMS[6],
            FittedModel::Lasso(_) => ALGORITHMS[7],
            FittedModel::ElasticNet(_) => ALGORITHMS[8],
            FittedModel::DecisionTreeRegressor(_) => ALGORITHMS[9],
            FittedModel::RandomForestRegressor(_) => ALGORITHMS[10],
            FittedModel::KnnRegressor(_) => ALGORITHMS[11],
            FittedModel::GradientBoosting(_) => ALGORITHMS[12],
            FittedModel::GradientBoostingRegressor(_) => ALGORITHMS[13],
            FittedModel::Svm(_) => ALGORITHMS[14],
            FittedModel::Svr(_) => ALGORITHMS[15],
            FittedModel::Kmeans(_) => ALGORITHMS[16],
            FittedModel::Dbscan(_) => ALGORITHMS[17],
            FittedModel::Pca(_) => ALGORITHMS[18],
            // Named by the user, in the artifact's settings.
            FittedModel::Script(_) => "script",
        }
    }

    /// What the model learnt to do.
    pub fn task(&self) -> Task {
        task_of(self.algorithm_name()).unwrap_or_default()
    }

    /// That the parameters fit `features` inputs and (for a classifier) `classes` outputs,
    /// so that predicting cannot index out of bounds even for an artifact edited by hand.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        match self {
            FittedModel::LogisticRegression(m) => m.check(features, classes),
            FittedModel::RandomForest(m) => m.check(features, TreeLeaves::Classes(classes)),
            FittedModel::DecisionTree(m) => m.check(features, TreeLeaves::Classes(classes)),
            FittedModel::Knn(m) => m.check(features, classes),
            FittedModel::GaussianNb(m) => m.check(features, classes),
            FittedModel::LinearRegression(m)
            | FittedModel::Ridge(m)
            | FittedModel::Lasso(m)
            | FittedModel::ElasticNet(m) => m.check(features),
            FittedModel::DecisionTreeRegressor(m) => m.check(features, TreeLeaves::Means),
            FittedModel::RandomForestRegressor(m) => m.check(features, TreeLeaves::Means),
            FittedModel::KnnRegressor(m) => m.check(features),
            FittedModel::GradientBoosting(m) => m.check(features, classes),
            FittedModel::GradientBoostingRegressor(m) => m.check(features, 1),
            FittedModel::Svm(m) => m.check(features, classes),
            FittedModel::Svr(m) => m.check(features),
            FittedModel::Kmeans(m) => m.check(features),
            FittedModel::Dbscan(m) => m.check(features),
            FittedModel::Pca(m) => m.check(features),
            // Any data is a state; its script checks it when predicting.
            FittedModel::Script(_) => Ok(()),
        }
    }

    /// What the model computes for each row of `x`. Only call after [`Self::check`].
    pub(crate) fn predict(&self, x: &Matrix, classes: usize) -> Output {
        match self {
            FittedModel::LogisticRegression(m) => {
                Output::Probabilities(m.probabilities(x, classes))
            }
            FittedModel::RandomForest(m) => Output::Probabilities(m.probabilities(x, classes)),
            FittedModel::DecisionTree(m) => Output::Probabilities(m.probabilities(x)),
            FittedModel::Knn(m) => Output::Probabilities(m.probabilities(x, classes)),
            FittedModel::GaussianNb(m) => Output::Probabilities(m.probabilities(x, classes)),
            FittedModel::LinearRegression(m)
            | FittedModel::Ridge(m)
            | FittedModel::Lasso(m)
            | FittedModel::ElasticNet(m) => Output::Values(m.predict(x)),
            FittedModel::DecisionTreeRegressor(m) => Output::Values(m.values(x)),
            FittedModel::RandomForestRegressor(m) => Output::Values(m.values(x)),
            FittedModel::KnnRegressor(m) => Output::Values(m.values(x)),
            FittedModel::GradientBoosting(m) => Output::Probabilities(m.probabilities(x, classes)),
            FittedModel::GradientBoostingRegressor(m) => Output::Values(m.predict_values(x)),
            // The vote decides the class, as scikit-learn's `predict`: Platt probabilities
            // may, rarely, favour another class. Without Platt scaling there are none.
            FittedModel::Svm(m) => Output::Classes {
                indices: m.predict_classes(x),
                probabilities: m.platt.is_some().then(|| m.probabilities(x, classes)),
            },
            FittedModel::Svr(m) => Output::Values(m.predict_values(x)),
            FittedModel::Kmeans(m) => {
                Output::Clusters(m.predict(x).into_iter().map(|c| c as i64).collect())
            }
            FittedModel::Dbscan(m) => Output::Clusters(m.predict(x)),
            FittedModel::Pca(m) => {
                let projected = m.transform(x);
                Output::Components(
                    (0..projected.rows)
                        .map(|i| projected.row(i).to_vec())
                        .collect(),
                )
            }
            // Script models predict through their algorithm (`ScriptAlgorithm::predict`),
            // which needs the source; the artifact never calls this for them, and an empty
            // output would fail its row count check if it did.
            FittedModel::Script(_) => Output::Clusters(Vec::new()),
        }
    }
}

/// What the leaves of a fitted tree must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeLeaves {
    /// Class counts, this many per leaf.
    Classes(usize),
    /// Target means.
    Means,
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

/// Fits a model on the `features` columns of `frame`: a classifier or regressor predicting
/// the `target` column, or (with no target) an unsupervised model. Same as
/// [`fit_monitored`] without watching progress.
pub fn fit<'a>(
    frame: &Frame,
    features: &[String],
    target: impl Into<Option<&'a str>>,
    settings: &Settings,
) -> Result<ModelArtifact, ModelError> {
    fit_monitored(frame, features, target, settings, &mut unmonitored)
}

/// The training target, in the form the task needs.
enum TrainingTarget {
    None,
    /// Each row's class, as an index into `labels` (sorted).
    Classes {
        y: Vec<usize>,
        labels: Vec<ClassLabel>,
    },
    Values(Vec<f64>),
}

/// Fits a model, calling `monitor` as the fit progresses (per tree of a forest, per
/// iteration of an iterative solver); a monitor that breaks cancels the fit with
/// [`ModelError::Cancelled`].
///
/// Features must be float, int or bool columns (bool counts as 0/1) without nulls. A
/// classifier's target must be a bool, int or str column without nulls holding at least
/// two classes; a regressor's a float or int column of finite numbers without nulls.
/// Clustering and decomposition take no target.
pub fn fit_monitored<'a>(
    frame: &Frame,
    features: &[String],
    target: impl Into<Option<&'a str>>,
    settings: &Settings,
    monitor: &mut Monitor<'_>,
) -> Result<ModelArtifact, ModelError> {
    let target: Option<&str> = target.into();
    settings.validate()?;
    let task = settings.task();
    let algorithm = settings.name();
    match (task.is_supervised(), target) {
        (true, None) => {
            return Err(ModelError::TargetRequired {
                algorithm: algorithm.to_string(),
                noun: task.model_noun(),
            })
        }
        (false, Some(column)) => {
            return Err(ModelError::TargetNotUsed {
                algorithm: algorithm.to_string(),
                noun: task.model_noun(),
                column: column.to_string(),
            })
        }
        _ => {}
    }
    if features.is_empty() {
        return Err(ModelError::NoFeatures);
    }
    for (i, name) in features.iter().enumerate() {
        if features[..i].contains(name) {
            return Err(ModelError::DuplicateFeature {
                column: name.clone(),
            });
        }
        if Some(name.as_str()) == target {
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
    let target_dtype = match target {
        None => None,
        Some(column) => {
            let dtype = frame.column(column)?.data.dtype();
            match (task, dtype) {
                (Task::Classification, DType::Float) => {
                    return Err(ModelError::FloatTarget {
                        column: column.to_string(),
                    })
                }
                (Task::Regression, DType::Float | DType::Int) => {}
                (Task::Regression, dtype) => {
                    return Err(ModelError::NonNumericTarget {
                        column: column.to_string(),
                        dtype,
                    })
                }
                _ => {}
            }
            Some(dtype)
        }
    };
    if frame.row_count() == 0 {
        return Err(ModelError::EmptyFrame);
    }
    let x = feature_matrix(frame, &specs)?;

    let training = match (task, target) {
        (Task::Classification, Some(column)) => {
            let labels = target_labels(frame, column)?;
            let classes: Vec<ClassLabel> = labels
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if classes.len() < 2 {
                return Err(ModelError::TooFewClasses {
                    column: column.to_string(),
                    found: classes.len(),
                });
            }
            // Every label is among `classes`, which is sorted.
            let y = labels
                .iter()
                .map(|label| classes.binary_search(label).unwrap_or(0))
                .collect();
            TrainingTarget::Classes { y, labels: classes }
        }
        (Task::Regression, Some(column)) => TrainingTarget::Values(target_values(frame, column)?),
        _ => TrainingTarget::None,
    };

    let fitted = match (settings, &training) {
        (Settings::LogisticRegression(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::LogisticRegression(logistic::fit(&x, y, labels.len(), s, monitor)?)
        }
        (Settings::RandomForest(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::RandomForest(forest::fit(&x, y, labels.len(), s, monitor)?)
        }
        (Settings::DecisionTree(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::DecisionTree(tree::fit(&x, y, labels.len(), s)?)
        }
        (Settings::Knn(s), TrainingTarget::Classes { y, .. }) => {
            FittedModel::Knn(knn::fit(&x, y, s)?)
        }
        (Settings::GaussianNb(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::GaussianNb(naive_bayes::fit(&x, y, labels.len(), s)?)
        }
        (Settings::LinearRegression(s), TrainingTarget::Values(y)) => {
            FittedModel::LinearRegression(linear::fit_ordinary(&x, y, s)?)
        }
        (Settings::Ridge(s), TrainingTarget::Values(y)) => {
            FittedModel::Ridge(linear::fit_ridge(&x, y, s)?)
        }
        (Settings::Lasso(s), TrainingTarget::Values(y)) => {
            FittedModel::Lasso(linear::fit_lasso(&x, y, s, monitor)?)
        }
        (Settings::ElasticNet(s), TrainingTarget::Values(y)) => {
            FittedModel::ElasticNet(linear::fit_elastic_net(&x, y, s, monitor)?)
        }
        (Settings::DecisionTreeRegressor(s), TrainingTarget::Values(y)) => {
            FittedModel::DecisionTreeRegressor(tree::fit_regressor(&x, y, s)?)
        }
        (Settings::RandomForestRegressor(s), TrainingTarget::Values(y)) => {
            FittedModel::RandomForestRegressor(forest::fit_regressor(&x, y, s, monitor)?)
        }
        (Settings::KnnRegressor(s), TrainingTarget::Values(y)) => {
            FittedModel::KnnRegressor(knn::fit_regressor(&x, y, s)?)
        }
        (Settings::GradientBoosting(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::GradientBoosting(gbt::fit_classifier(&x, y, labels.len(), s, monitor)?)
        }
        (Settings::GradientBoostingRegressor(s), TrainingTarget::Values(y)) => {
            FittedModel::GradientBoostingRegressor(gbt::fit_regressor(&x, y, s, monitor)?)
        }
        (Settings::Svm(s), TrainingTarget::Classes { y, labels }) => {
            FittedModel::Svm(svm::fit_classifier(&x, y, labels.len(), s, monitor)?)
        }
        (Settings::Svr(s), TrainingTarget::Values(y)) => {
            FittedModel::Svr(svm::fit_regressor(&x, y, s, monitor)?)
        }
        (Settings::Kmeans(s), TrainingTarget::None) => {
            FittedModel::Kmeans(cluster::fit_kmeans(&x, s, monitor)?)
        }
        (Settings::Dbscan(s), TrainingTarget::None) => {
            FittedModel::Dbscan(cluster::fit_dbscan(&x, s, monitor)?)
        }
        (Settings::Pca(s), TrainingTarget::None) => FittedModel::Pca(pca::fit_pca(&x, s)?),
        (Settings::Script(s), training) => {
            let per_row: Vec<ClassLabel>;
            let y = match training {
                TrainingTarget::None => ScriptTarget::None,
                TrainingTarget::Classes { y, labels } => {
                    per_row = y.iter().map(|&c| labels[c].clone()).collect();
                    ScriptTarget::Classes(&per_row)
                }
                TrainingTarget::Values(values) => ScriptTarget::Values(values),
            };
            FittedModel::Script(s.fit(&x, y)?)
        }
        (settings, _) => {
            // Unreachable while `task_of` agrees with the arms above.
            return Err(ModelError::FitFailed(format!(
                "'{}' was given the wrong kind of target for {}",
                settings.algorithm_name(),
                settings.task()
            )));
        }
    };
    // The data set is named once, in the artifact's lineage.
    let recipe = Recipe {
        dataset: None,
        ..frame.recipe().clone()
    };
    recipe.validate().map_err(ModelError::Recipe)?;
    let input_features = if recipe.is_empty() {
        specs.clone()
    } else {
        input_features(frame, &recipe, features)?
    };
    let class_labels = match training {
        TrainingTarget::Classes { labels, .. } => labels,
        _ => Vec::new(),
    };
    Ok(ModelArtifact {
        format_version: ARTIFACT_FORMAT_VERSION,
        algorithm: algorithm.to_string(),
        task,
        created_with: CREATED_WITH.to_string(),
        target: target.map(str::to_string),
        target_dtype,
        features: specs,
        input_features,
        recipe,
        class_labels,
        settings: settings.clone(),
        fitted,
        metrics: BTreeMap::new(),
        lineage: None,
    })
}

/// The `specs` columns of `frame` as a row-major matrix, refusing nulls and non-finite
/// values with the column named.
fn feature_matrix(frame: &Frame, specs: &[FeatureSpec]) -> Result<Matrix, ModelError> {
    /// A feature column's values, every row holding one (nulls were refused).
    enum Numbers<'a> {
        Float(&'a [f64]),
        Int(&'a [i64]),
        Bool(&'a [bool]),
    }
    let rows = frame.row_count();
    let cols = specs.len();
    let mut columns = Vec::with_capacity(cols);
    for spec in specs {
        let column = &frame.column(&spec.name)?.data;
        let nulls = column.null_count();
        if nulls > 0 {
            return Err(ModelError::NullValues {
                column: spec.name.clone(),
                count: nulls,
            });
        }
        columns.push(match column {
            ColumnData::Float(v) => {
                let non_finite = v.slots().iter().filter(|x| !x.is_finite()).count();
                if non_finite > 0 {
                    return Err(ModelError::NonFinite {
                        column: spec.name.clone(),
                        count: non_finite,
                    });
                }
                Numbers::Float(v.slots())
            }
            // The caller refuses datetimes; were one let through, its numbers are its
            // milliseconds.
            ColumnData::Int(v) | ColumnData::Datetime(v) => Numbers::Int(v.slots()),
            ColumnData::Bool(v) => Numbers::Bool(v.slots()),
            ColumnData::Str(_) => {
                return Err(ModelError::StringFeature {
                    column: spec.name.clone(),
                })
            }
        });
    }
    // Row-major from columns, a block of rows at a time: the block being written stays in
    // cache while each column's values go into it, rather than every column sweeping the
    // whole matrix.
    const BLOCK_ROWS: usize = 512;
    let mut data = vec![0.0; rows * cols];
    for (block, out) in data.chunks_mut(BLOCK_ROWS * cols).enumerate() {
        let start = block * BLOCK_ROWS;
        for (j, column) in columns.iter().enumerate() {
            let cells = out.iter_mut().skip(j).step_by(cols);
            match column {
                Numbers::Float(v) => cells.zip(&v[start..]).for_each(|(c, &x)| *c = x),
                Numbers::Int(v) => cells.zip(&v[start..]).for_each(|(c, &x)| *c = x as f64),
                Numbers::Bool(v) => cells
                    .zip(&v[start..])
                    .for_each(|(c, &x)| *c = f64::from(u8::from(x))),
            }
        }
    }
    Ok(Matrix { rows, cols, data })
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

/// The values of a numeric target column (float or int, without nulls, finite) as
/// numbers: what a regressor learns from, and what it is scored against.
pub fn target_values(frame: &Frame, column: &str) -> Result<Vec<f64>, ModelError> {
    let data = &frame.column(column)?.data;
    let dtype = data.dtype();
    if !matches!(dtype, DType::Float | DType::Int) {
        return Err(ModelError::NonNumericTarget {
            column: column.to_string(),
            dtype,
        });
    }
    let (mut nulls, mut non_finite) = (0, 0);
    let mut values = Vec::with_capacity(data.len());
    for i in 0..data.len() {
        match data.f64_at(i) {
            None => nulls += 1,
            Some(v) if !v.is_finite() => non_finite += 1,
            Some(v) => values.push(v),
        }
    }
    if nulls > 0 {
        return Err(ModelError::NullValues {
            column: column.to_string(),
            count: nulls,
        });
    }
    if non_finite > 0 {
        return Err(ModelError::NonFiniteTarget {
            column: column.to_string(),
            count: non_finite,
        });
    }
    Ok(values)
}
