//! k-fold and stratified k-fold cross-validation: fit on all folds but one, score on the
//! one left out, for every fold, and summarise each score by its mean and standard
//! deviation over the folds.

use std::collections::BTreeMap;

use crate::artifact::ModelArtifact;
use crate::frame::Frame;
use crate::metrics::{self, Average, MetricError, OvrAverage};
use crate::model::{fit, FitProgress, ModelError, Monitor, Settings, Task};
use crate::split::{self, FoldError};
use crate::transform::Cell;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrossValidationError {
    #[error(transparent)]
    Folds(#[from] FoldError),
    #[error("fold {fold}: {source}")]
    Fit { fold: usize, source: ModelError },
    #[error("fold {fold}: scoring failed: {source}")]
    Score { fold: usize, source: MetricError },
    #[error("cross-validation scores predictions against a target; {algorithm} has none")]
    Unsupervised { algorithm: String },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// How to cut the rows into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldPlan {
    pub folds: usize,
    /// Keep the target's classes in proportion in every fold (classifiers only).
    pub stratified: bool,
    pub seed: u64,
}

/// Each score per fold, in fold order, by score name.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    pub scores: BTreeMap<String, Vec<f64>>,
    /// Something the user should know (such as a class rarer than the folds).
    pub note: Option<String>,
}

impl CrossValidation {
    /// The mean of a score over the folds.
    pub fn mean(&self, score: &str) -> Option<f64> {
        let values = self.scores.get(score)?;
        Some(metrics::numpy_mean(values))
    }

    /// The population standard deviation (numpy's default, `ddof=0`) over the folds.
    pub fn std(&self, score: &str) -> Option<f64> {
        let values = self.scores.get(score)?;
        let mean = metrics::numpy_mean(values);
        let squares: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
        Some(metrics::numpy_mean(&squares).sqrt())
    }
}

/// Cross-validates `settings` predicting `target` from `features`. Classifiers are
/// scored by accuracy, macro and weighted F1, macro precision and recall, and — when
/// the model gives probabilities and every class is in the fold — ROC AUC (one-vs-rest
/// for more than two classes) and log loss; regressors by MAE, MSE, RMSE, R² and (when
/// no true value is 0) MAPE. A score that a fold cannot define is left out of every
/// fold, so each score has one value per fold. The monitor sees folds done of all.
pub fn cross_validate(
    frame: &Frame,
    features: &[String],
    target: &str,
    settings: &Settings,
    plan: FoldPlan,
    monitor: &mut Monitor<'_>,
) -> Result<CrossValidation, CrossValidationError> {
    settings.validate()?;
    let task = settings.task();
    if matches!(task, Task::Clustering | Task::Decomposition) {
        return Err(CrossValidationError::Unsupervised {
            algorithm: settings.name().to_string(),
        });
    }
    let rows = frame.row_count();
    let (test_folds, note) = if plan.stratified && task == Task::Classification {
        let data = &frame.column(target).map_err(ModelError::from)?.data;
        let labels: Vec<Cell> = (0..rows).map(|i| Cell::at(data, i)).collect();
        split::stratified_k_fold_indices(&labels, plan.folds, plan.seed)?
    } else {
        (split::k_fold_indices(rows, plan.folds, plan.seed)?, None)
    };
    let mut per_fold: Vec<BTreeMap<String, f64>> = Vec::with_capacity(plan.folds);
    for (f, test_rows) in test_folds.iter().enumerate() {
        let fold = f + 1;
        let train = frame.take(&split::complement(rows, test_rows));
        let test = frame.take(test_rows);
        let model = fit(&train, features, target, settings)
            .map_err(|source| CrossValidationError::Fit { fold, source })?;
        let scores = score(&model, &test, task)
            .map_err(|source| CrossValidationError::Score { fold, source })?;
        per_fold.push(scores);
        let progress = FitProgress {
            done: fold,
            total: plan.folds,
            unit: "folds",
        };
        if monitor(progress).is_break() {
            return Err(progress.cancelled().into());
        }
    }
    // Only the scores every fold could compute.
    let mut scores: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    if let Some(first) = per_fold.first() {
        for name in first.keys() {
            if per_fold.iter().all(|s| s.contains_key(name)) {
                scores.insert(name.clone(), per_fold.iter().map(|s| s[name]).collect());
            }
        }
    }
    Ok(CrossValidation {
        folds: plan.folds,
        scores,
        note,
    })
}

fn score(
    model: &ModelArtifact,
    test: &Frame,
    task: Task,
) -> Result<BTreeMap<String, f64>, MetricError> {
    let mut out = BTreeMap::new();
    match task {
        Task::Classification => {
            let (truth, predictions) = metrics::truth_and_predictions(model, test)?;
            let predicted = &predictions.labels;
            out.insert("accuracy".into(), metrics::accuracy(&truth, predicted)?);
            for (name, average) in [("macro", Average::Macro), ("weighted", Average::Weighted)] {
                let s = metrics::precision_recall_f1(&truth, predicted, &average)?;
                out.insert(format!("f1_{name}"), s.f1);
                if name == "macro" {
                    out.insert("precision_macro".into(), s.precision);
                    out.insert("recall_macro".into(), s.recall);
                }
            }
            if let Some(probabilities) = &predictions.probabilities {
                let classes = &model.class_labels;
                let auc = if classes.len() == 2 {
                    let positive: Vec<f64> = probabilities.iter().map(|p| p[1]).collect();
                    metrics::roc_auc(&truth, &positive, &classes[1])
                } else {
                    metrics::roc_auc_ovr(&truth, probabilities, classes, OvrAverage::Macro)
                };
                // Undefined when a fold lacks a class: left out rather than failing.
                if let Ok(auc) = auc {
                    out.insert("roc_auc".into(), auc);
                }
                if let Ok(loss) = metrics::log_loss(&truth, probabilities, classes) {
                    out.insert("log_loss".into(), loss);
                }
            }
        }
        Task::Regression => {
            let (truth, predicted) = metrics::truth_and_values(model, test)?;
            out.insert("mae".into(), metrics::mae(&truth, &predicted)?);
            out.insert("mse".into(), metrics::mse(&truth, &predicted)?);
            out.insert("rmse".into(), metrics::rmse(&truth, &predicted)?);
            if let Ok(r2) = metrics::r2(&truth, &predicted) {
                out.insert("r2".into(), r2);
            }
            if truth.iter().all(|&t| t != 0.0) {
                if let Ok(mape) = metrics::mape(&truth, &predicted) {
                    out.insert("mape".into(), mape);
                }
            }
        }
        Task::Clustering | Task::Decomposition => {}
    }
    Ok(out)
}
