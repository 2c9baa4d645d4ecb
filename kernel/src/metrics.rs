//! Metrics: classification, regression and clustering scores, each defined as scikit-learn
//! (1.9) defines it, edge cases included; `kernel/tests/metrics.rs` checks them against
//! values scikit-learn computed (`scripts/make-metric-fixtures.py`).
//!
//! Where scikit-learn returns NaN with a warning (ROC AUC with one class, R² of one value,
//! a one-vs-rest macro average over a class the truth lacks), these functions return an
//! error saying why instead. Where it only warns about an ill-defined ratio (precision
//! with nothing predicted, say), they score 0 as its default `zero_division="warn"` does.

use std::collections::{BTreeMap, BTreeSet};

use crate::artifact::{ClassLabel, ClassPredictions, ModelArtifact, PredictError};
use crate::frame::{DType, Frame};
use crate::model::{target_labels, target_values, ModelError, Task};

/// Tolerance on a probability row's sum.
pub const PROBABILITY_SUM_TOLERANCE: f64 = 1e-6;

/// Silhouette compares every pair of points; past this many the quadratic work would stall
/// the notebook, so it asks for a sample instead.
pub const MAX_SILHOUETTE_POINTS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    #[error("{truth} true labels but {predicted} predictions; there must be as many of each")]
    LengthMismatch { truth: usize, predicted: usize },
    #[error("there are no rows to score")]
    Empty,
    #[error(
        "target column '{column}' holds {found} values, but the model's classes are {expected}"
    )]
    TargetType {
        column: String,
        expected: DType,
        found: DType,
    },
    #[error(transparent)]
    Target(#[from] ModelError),
    #[error(transparent)]
    Predict(#[from] PredictError),
    #[error(
        "{metric} needs {}, but '{algorithm}' is {}{}",
        .expected.model_noun(), .found.model_noun(), task_hint(*.found)
    )]
    WrongTask {
        metric: &'static str,
        expected: Task,
        found: Task,
        algorithm: String,
    },
    #[error("{metric} needs class probabilities, which '{algorithm}' does not give")]
    NoProbabilities {
        metric: &'static str,
        algorithm: String,
    },
    #[error("the labels mix {first} and {second} values; compare labels of one type")]
    MixedLabelTypes { first: DType, second: DType },
    #[error("unknown averaging '{0}'; use 'binary', 'micro', 'macro' or 'weighted'")]
    UnknownAverage(String),
    #[error("unknown averaging '{0}' for ROC AUC; use 'macro' or 'weighted'")]
    UnknownOvrAverage(String),
    #[error(
        "binary averaging needs at most two classes, but the labels hold {}: {}; use \
         'macro', 'weighted' or 'micro' averaging", .labels.len(), list(.labels)
    )]
    NotBinary { labels: Vec<ClassLabel> },
    #[error("the positive class '{positive}' is not one of the labels ({})", list(.labels))]
    UnknownPositive {
        positive: ClassLabel,
        labels: Vec<ClassLabel>,
    },
    #[error(
        "{metric} needs rows of the positive class '{positive}' and of other classes among \
         the true labels, but {}", if *.positives == 0 { "there are none of the positive class" } else { "all rows are of the positive class" }
    )]
    OneClass {
        metric: &'static str,
        positive: ClassLabel,
        positives: usize,
    },
    #[error("{metric} needs at least two classes among the true labels, but all are '{label}'")]
    SingleTrueClass {
        metric: &'static str,
        label: ClassLabel,
    },
    #[error(
        "class '{label}' does not occur among the true labels, so its one-vs-rest ROC AUC \
         is undefined; use 'weighted' averaging, which gives it no weight"
    )]
    AbsentClass { label: ClassLabel },
    #[error("true label '{label}' is not one of the classes ({})", list(.classes))]
    UnknownLabel {
        label: ClassLabel,
        classes: Vec<ClassLabel>,
    },
    #[error("{metric} needs at least two classes, got {found}")]
    TooFewClasses { metric: &'static str, found: usize },
    #[error("class '{label}' is listed twice")]
    DuplicateClass { label: ClassLabel },
    #[error("row {row} has {found} probabilities, but there are {expected} classes")]
    ProbabilityCount {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("row {row}: probability {value} is not between 0 and 1")]
    ProbabilityRange { row: usize, value: f64 },
    #[error(
        "row {row}: the probabilities sum to {sum}, not 1 (within {PROBABILITY_SUM_TOLERANCE})"
    )]
    ProbabilitySum { row: usize, sum: f64 },
    #[error("{what} {index} is {value}; metrics need finite numbers")]
    NotFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("{metric} needs at least {needed} values, got {found}")]
    TooFewValues {
        metric: &'static str,
        needed: usize,
        found: usize,
    },
    #[error("point {row} has {found} coordinates, but point 0 has {expected}")]
    Dimension {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("the points have no coordinates; give at least one feature")]
    NoCoordinates,
    #[error(
        "there are {clusters} cluster(s) among {points} points; silhouette needs between 2 and \
         {} clusters (one less than the points)", .points.saturating_sub(1)
    )]
    ClusterCount { clusters: usize, points: usize },
    #[error("point {row} is assigned to cluster {cluster}, but there are {clusters} centroids")]
    NoSuchCentroid {
        row: usize,
        cluster: usize,
        clusters: usize,
    },
    #[error(
        "silhouette compares every pair of points and {points} points are more than the \
         {MAX_SILHOUETTE_POINTS} it takes; score a sample of the rows"
    )]
    TooManyPoints { points: usize },
}

fn list(labels: &[ClassLabel]) -> String {
    labels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

// ----- summation ---------------------------------------------------------------------

/// The sum numpy computes (`np.sum`, and so `np.mean` and every scikit-learn average): 0
/// plus a pairwise sum of blocks of up to 128 values, each added in 8 interleaved running
/// sums. Matching its rounding matters where a result hinges on an exact value, e.g. R²
/// of a constant truth is 0 only when its mean is computed exactly.
pub fn numpy_sum(values: &[f64]) -> f64 {
    0.0 + pairwise_sum(values)
}

fn pairwise_sum(a: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        let mut sum = 0.0;
        for &x in a {
            sum += x;
        }
        sum
    } else if n <= BLOCK {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[i..] {
            sum += x;
        }
        sum
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
    }
}

pub fn numpy_mean(values: &[f64]) -> f64 {
    numpy_sum(values) / values.len() as f64
}

/// `np.average(values, weights=weights)`.
fn weighted_mean(values: &[f64], weights: &[f64]) -> f64 {
    let products: Vec<f64> = values.iter().zip(weights).map(|(v, w)| v * w).collect();
    numpy_sum(&products) / numpy_sum(weights)
}

// ----- classification ----------------------------------------------------------------

/// Counts of (true, predicted) label pairs: `counts[t][p]` rows of class `labels[t]` were
/// predicted as `labels[p]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    pub labels: Vec<ClassLabel>,
    pub counts: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
}

fn same_length(truth: &[ClassLabel], predicted: &[ClassLabel]) -> Result<(), MetricError> {
    if truth.len() != predicted.len() {
        return Err(MetricError::LengthMismatch {
            truth: truth.len(),
            predicted: predicted.len(),
        });
    }
    Ok(())
}

fn one_type<'a>(labels: impl IntoIterator<Item = &'a ClassLabel>) -> Result<(), MetricError> {
    let mut labels = labels.into_iter();
    if let Some(first) = labels.next() {
        if let Some(other) = labels.find(|l| l.dtype() != first.dtype()) {
            return Err(MetricError::MixedLabelTypes {
                first: first.dtype(),
                second: other.dtype(),
            });
        }
    }
    Ok(())
}

/// The fraction of predictions equal to the truth.
pub fn accuracy(truth: &[ClassLabel], predicted: &[ClassLabel]) -> Result<f64, MetricError> {
    same_length(truth, predicted)?;
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / truth.len() as f64)
}

/// The confusion matrix over every label that occurs in either list, sorted.
pub fn confusion_matrix(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
) -> Result<ConfusionMatrix, MetricError> {
    same_length(truth, predicted)?;
    let labels: Vec<ClassLabel> = truth
        .iter()
        .chain(predicted)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(confusion_over(labels, truth, predicted))
}

/// `labels` must hold every label of `truth` and `predicted`.
fn confusion_over(
    labels: Vec<ClassLabel>,
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
) -> ConfusionMatrix {
    let mut counts = vec![vec![0u64; labels.len()]; labels.len()];
    let position: BTreeMap<&ClassLabel, usize> =
        labels.iter().enumerate().map(|(i, l)| (l, i)).collect();
    for (t, p) in truth.iter().zip(predicted) {
        if let (Some(&t), Some(&p)) = (position.get(t), position.get(p)) {
            counts[t][p] += 1;
        }
    }
    ConfusionMatrix { labels, counts }
}

/// How precision, recall and F1 combine the classes' scores, as scikit-learn's `average`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Average {
    /// The score of one class, `positive`; the labels may hold at most two classes.
    Binary { positive: ClassLabel },
    /// From the counts summed over classes (for single-label data, every micro score is the
    /// accuracy).
    Micro,
    /// The unweighted mean of the classes' scores.
    Macro,
    /// The mean of the classes' scores weighted by their number of true rows.
    Weighted,
}

impl Average {
    /// The averaging named `name` (`binary`, `micro`, `macro`, `weighted`); `positive` is
    /// the class binary averaging scores.
    pub fn from_name(name: &str, positive: ClassLabel) -> Result<Average, MetricError> {
        match name {
            "binary" => Ok(Average::Binary { positive }),
            "micro" => Ok(Average::Micro),
            "macro" => Ok(Average::Macro),
            "weighted" => Ok(Average::Weighted),
            other => Err(MetricError::UnknownAverage(other.to_string())),
        }
    }
}

/// Precision, recall and F1 of one class or an average of classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// One class's scores and its number of true rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    pub label: ClassLabel,
    pub scores: Scores,
    pub support: u64,
}

/// Per class: true positives, predicted count and true count.
struct ClassCounts {
    labels: Vec<ClassLabel>,
    tp: Vec<u64>,
    predicted: Vec<u64>,
    actual: Vec<u64>,
}

/// The sorted labels of both lists and their counts, after checking the lists fit.
fn class_counts(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
) -> Result<ClassCounts, MetricError> {
    same_length(truth, predicted)?;
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    one_type(truth.iter().chain(predicted))?;
    let matrix = confusion_matrix(truth, predicted)?;
    let k = matrix.labels.len();
    let tp = (0..k).map(|c| matrix.counts[c][c]).collect();
    let predicted = (0..k)
        .map(|c| matrix.counts.iter().map(|row| row[c]).sum())
        .collect();
    let actual = matrix.counts.iter().map(|row| row.iter().sum()).collect();
    Ok(ClassCounts {
        labels: matrix.labels,
        tp,
        predicted,
        actual,
    })
}

/// `numerator / denominator`, or 0 for 0/0 as scikit-learn's default `zero_division`.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// The scores from counts. F1 is `2·tp / (true + predicted)` (scikit-learn's form, which is
/// 0 rather than undefined when precision and recall are both 0).
fn scores_of(tp: u64, predicted: u64, actual: u64) -> Scores {
    let (tp, predicted, actual) = (tp as f64, predicted as f64, actual as f64);
    Scores {
        precision: ratio(tp, predicted),
        recall: ratio(tp, actual),
        f1: ratio(2.0 * tp, actual + predicted),
    }
}

/// Each class's scores, for every label in either list, sorted (scikit-learn's
/// `precision_recall_fscore_support(average=None)`).
pub fn per_class_scores(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
) -> Result<Vec<ClassScores>, MetricError> {
    let counts = class_counts(truth, predicted)?;
    Ok(counts
        .labels
        .iter()
        .enumerate()
        .map(|(c, label)| ClassScores {
            label: label.clone(),
            scores: scores_of(counts.tp[c], counts.predicted[c], counts.actual[c]),
            support: counts.actual[c],
        })
        .collect())
}

/// Precision, recall and F1 averaged as `average` says, over every label in either list.
pub fn precision_recall_f1(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
    average: &Average,
) -> Result<Scores, MetricError> {
    let counts = class_counts(truth, predicted)?;
    match average {
        Average::Binary { positive } => {
            if counts.labels.len() > 2 {
                return Err(MetricError::NotBinary {
                    labels: counts.labels,
                });
            }
            match counts.labels.iter().position(|l| l == positive) {
                Some(c) => Ok(scores_of(
                    counts.tp[c],
                    counts.predicted[c],
                    counts.actual[c],
                )),
                // As scikit-learn: with both classes present the positive one must be one
                // of them; with a single class present, an absent positive scores 0.
                None if counts.labels.len() == 2 => Err(MetricError::UnknownPositive {
                    positive: positive.clone(),
                    labels: counts.labels,
                }),
                None => {
                    one_type(counts.labels.iter().chain([positive]))?;
                    Ok(scores_of(0, 0, 0))
                }
            }
        }
        Average::Micro => Ok(scores_of(
            counts.tp.iter().sum(),
            counts.predicted.iter().sum(),
            counts.actual.iter().sum(),
        )),
        Average::Macro | Average::Weighted => {
            let per_class: Vec<Scores> = (0..counts.labels.len())
                .map(|c| scores_of(counts.tp[c], counts.predicted[c], counts.actual[c]))
                .collect();
            let average_of = |pick: fn(&Scores) -> f64| {
                let values: Vec<f64> = per_class.iter().map(pick).collect();
                if *average == Average::Macro {
                    numpy_mean(&values)
                } else {
                    let weights: Vec<f64> = counts.actual.iter().map(|&n| n as f64).collect();
                    weighted_mean(&values, &weights)
                }
            };
            Ok(Scores {
                precision: average_of(|s| s.precision),
                recall: average_of(|s| s.recall),
                f1: average_of(|s| s.f1),
            })
        }
    }
}

/// The fraction of predictions of the class(es) that were right.
pub fn precision(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
    average: &Average,
) -> Result<f64, MetricError> {
    Ok(precision_recall_f1(truth, predicted, average)?.precision)
}

/// The fraction of the class(es)' true rows that were predicted so.
pub fn recall(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
    average: &Average,
) -> Result<f64, MetricError> {
    Ok(precision_recall_f1(truth, predicted, average)?.recall)
}

/// The harmonic mean of precision and recall.
pub fn f1(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
    average: &Average,
) -> Result<f64, MetricError> {
    Ok(precision_recall_f1(truth, predicted, average)?.f1)
}

/// scikit-learn's `classification_report`: per class scores and support, the accuracy,
/// and the macro and weighted averages.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    pub classes: Vec<ClassScores>,
    pub accuracy: f64,
    pub macro_average: Scores,
    pub weighted_average: Scores,
    /// The number of rows.
    pub support: u64,
}

pub fn classification_report(
    truth: &[ClassLabel],
    predicted: &[ClassLabel],
) -> Result<ClassificationReport, MetricError> {
    Ok(ClassificationReport {
        classes: per_class_scores(truth, predicted)?,
        accuracy: accuracy(truth, predicted)?,
        macro_average: precision_recall_f1(truth, predicted, &Average::Macro)?,
        weighted_average: precision_recall_f1(truth, predicted, &Average::Weighted)?,
        support: truth.len() as u64,
    })
}

// ----- scores and probabilities ------------------------------------------------------

fn check_finite(values: &[f64], what: &'static str) -> Result<(), MetricError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricError::NotFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// The ROC curve: false and true positive rates as the threshold falls through the scores.
/// `thresholds[0]` is infinite (nothing predicted positive), as in scikit-learn.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// Precision and recall as the threshold falls; scikit-learn's order: recall decreasing,
/// ending at the point (recall 0, precision 1), which has no threshold (so there is one
/// threshold fewer than points).
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionRecallCurve {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// Whether each row is of the positive class, after checking the scores.
fn positives(
    truth: &[ClassLabel],
    scores: &[f64],
    positive: &ClassLabel,
) -> Result<Vec<bool>, MetricError> {
    if truth.len() != scores.len() {
        return Err(MetricError::LengthMismatch {
            truth: truth.len(),
            predicted: scores.len(),
        });
    }
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    one_type(truth.iter().chain([positive]))?;
    check_finite(scores, "score")?;
    Ok(truth.iter().map(|t| t == positive).collect())
}

/// scikit-learn's `confusion_matrix_at_thresholds`: at each distinct score, from the
/// highest, the false and true positives among rows scoring at least that much; tied
/// scores form one step.
fn counts_at_thresholds(is_positive: &[bool], scores: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fps, mut tps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let mut true_positives = 0u64;
    for (rank, &i) in order.iter().enumerate() {
        true_positives += u64::from(is_positive[i]);
        let last_of_tie = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_tie {
            tps.push(true_positives as f64);
            fps.push((rank as u64 + 1 - true_positives) as f64);
            thresholds.push(scores[i]);
        }
    }
    (fps, tps, thresholds)
}

/// The ROC curve of `scores` (higher meaning more likely `positive`) against the truth,
/// without the points between collinear ones (scikit-learn's `drop_intermediate=True`).
pub fn roc_curve(
    truth: &[ClassLabel],
    scores: &[f64],
    positive: &ClassLabel,
) -> Result<RocCurve, MetricError> {
    let is_positive = positives(truth, scores, positive)?;
    let count = is_positive.iter().filter(|&&p| p).count();
    if count == 0 || count == truth.len() {
        return Err(MetricError::OneClass {
            metric: "a ROC curve",
            positive: positive.clone(),
            positives: count,
        });
    }
    let (mut fps, mut tps, mut thresholds) = counts_at_thresholds(&is_positive, scores);
    if fps.len() > 2 {
        // A point is kept where either rate's second difference is not zero: a corner.
        let corner = |v: &[f64], i: usize| (v[i + 1] - v[i]) - (v[i] - v[i - 1]) != 0.0;
        let keep: Vec<usize> = (0..fps.len())
            .filter(|&i| i == 0 || i == fps.len() - 1 || corner(&fps, i) || corner(&tps, i))
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thresholds = keep.iter().map(|&i| thresholds[i]).collect();
    }
    let (negatives, positives) = (fps[fps.len() - 1], tps[tps.len() - 1]);
    Ok(RocCurve {
        fpr: std::iter::once(0.0)
            .chain(fps.iter().map(|f| f / negatives))
            .collect(),
        tpr: std::iter::once(0.0)
            .chain(tps.iter().map(|t| t / positives))
            .collect(),
        thresholds: std::iter::once(f64::INFINITY).chain(thresholds).collect(),
    })
}

/// The area under the curve through the points, by the trapezoidal rule (numpy's
/// `trapezoid`); `x` must not decrease.
fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    let areas: Vec<f64> = (1..x.len())
        .map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0)
        .collect();
    numpy_sum(&areas)
}

/// The area under the ROC curve of `scores` for the class `positive`: the chance that a
/// random positive row scores higher than a random other one, ties counting half.
pub fn roc_auc(
    truth: &[ClassLabel],
    scores: &[f64],
    positive: &ClassLabel,
) -> Result<f64, MetricError> {
    let curve = roc_curve(truth, scores, positive).map_err(|e| match e {
        MetricError::OneClass {
            positive,
            positives,
            ..
        } => MetricError::OneClass {
            metric: "ROC AUC",
            positive,
            positives,
        },
        other => other,
    })?;
    Ok(trapezoid(&curve.fpr, &curve.tpr))
}

/// Precision and recall at every distinct score, for the class `positive`.
pub fn precision_recall_curve(
    truth: &[ClassLabel],
    scores: &[f64],
    positive: &ClassLabel,
) -> Result<PrecisionRecallCurve, MetricError> {
    let is_positive = positives(truth, scores, positive)?;
    // scikit-learn makes recall 1 everywhere when there are no positives; a curve of
    // nothing to find is no use, so that is an error here.
    if !is_positive.contains(&true) {
        return Err(MetricError::OneClass {
            metric: "a precision-recall curve",
            positive: positive.clone(),
            positives: 0,
        });
    }
    let (fps, tps, thresholds) = counts_at_thresholds(&is_positive, scores);
    let all_positives = tps[tps.len() - 1];
    let mut precision: Vec<f64> = fps
        .iter()
        .zip(&tps)
        .rev()
        .map(|(f, t)| ratio(*t, t + f))
        .collect();
    precision.push(1.0);
    let mut recall: Vec<f64> = tps.iter().rev().map(|t| t / all_positives).collect();
    recall.push(0.0);
    Ok(PrecisionRecallCurve {
        precision,
        recall,
        thresholds: thresholds.into_iter().rev().collect(),
    })
}

/// Average precision, scikit-learn's `average_precision_score`: the precision at each
/// threshold weighted by the recall gained there, −Σ (R[i+1] − R[i]) · P[i] over the
/// curve (recall falling), with no interpolation.
pub fn average_precision(
    truth: &[ClassLabel],
    scores: &[f64],
    positive: &ClassLabel,
) -> Result<f64, MetricError> {
    let curve = precision_recall_curve(truth, scores, positive)?;
    let terms: Vec<f64> = curve
        .recall
        .windows(2)
        .zip(&curve.precision)
        .map(|(r, p)| (r[0] - r[1]) * p)
        .collect();
    Ok(numpy_sum(&terms))
}

/// How one-vs-rest ROC AUC combines the classes' areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OvrAverage {
    /// The unweighted mean; every class must occur in the truth.
    Macro,
    /// Weighted by the classes' numbers of true rows (a class the truth lacks counts 0).
    Weighted,
}

impl OvrAverage {
    pub fn from_name(name: &str) -> Result<OvrAverage, MetricError> {
        match name {
            "macro" => Ok(OvrAverage::Macro),
            "weighted" => Ok(OvrAverage::Weighted),
            other => Err(MetricError::UnknownOvrAverage(other.to_string())),
        }
    }
}

/// Checks a probability matrix (a row per true label, a column per class of `classes`)
/// and gives each row's class position.
fn class_positions(
    truth: &[ClassLabel],
    probabilities: &[Vec<f64>],
    classes: &[ClassLabel],
    metric: &'static str,
) -> Result<Vec<usize>, MetricError> {
    if truth.len() != probabilities.len() {
        return Err(MetricError::LengthMismatch {
            truth: truth.len(),
            predicted: probabilities.len(),
        });
    }
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    if classes.len() < 2 {
        return Err(MetricError::TooFewClasses {
            metric,
            found: classes.len(),
        });
    }
    one_type(classes.iter().chain(truth))?;
    let mut position = BTreeMap::new();
    for (c, label) in classes.iter().enumerate() {
        if position.insert(label, c).is_some() {
            return Err(MetricError::DuplicateClass {
                label: label.clone(),
            });
        }
    }
    for (row, p) in probabilities.iter().enumerate() {
        if p.len() != classes.len() {
            return Err(MetricError::ProbabilityCount {
                row,
                found: p.len(),
                expected: classes.len(),
            });
        }
        if let Some(&value) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(MetricError::ProbabilityRange { row, value });
        }
        let sum: f64 = p.iter().sum();
        if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            return Err(MetricError::ProbabilitySum { row, sum });
        }
    }
    truth
        .iter()
        .map(|t| {
            position
                .get(t)
                .copied()
                .ok_or_else(|| MetricError::UnknownLabel {
                    label: t.clone(),
                    classes: classes.to_vec(),
                })
        })
        .collect()
}

/// Multiclass ROC AUC, one class against the rest, from a probability per class of
/// `classes` per row (each row summing to 1).
pub fn roc_auc_ovr(
    truth: &[ClassLabel],
    probabilities: &[Vec<f64>],
    classes: &[ClassLabel],
    average: OvrAverage,
) -> Result<f64, MetricError> {
    let rows = class_positions(truth, probabilities, classes, "ROC AUC")?;
    let mut support = vec![0usize; classes.len()];
    for &c in &rows {
        support[c] += 1;
    }
    if let Some(c) = support.iter().position(|&n| n == truth.len()) {
        return Err(MetricError::SingleTrueClass {
            metric: "ROC AUC",
            label: classes[c].clone(),
        });
    }
    let mut areas = Vec::with_capacity(classes.len());
    for (c, class) in classes.iter().enumerate() {
        if support[c] == 0 {
            match average {
                OvrAverage::Macro => {
                    return Err(MetricError::AbsentClass {
                        label: class.clone(),
                    })
                }
                // scikit-learn forces a weightless class's (undefined) area to 0.
                OvrAverage::Weighted => {
                    areas.push(0.0);
                    continue;
                }
            }
        }
        let scores: Vec<f64> = probabilities.iter().map(|p| p[c]).collect();
        areas.push(roc_auc(truth, &scores, class)?);
    }
    Ok(match average {
        OvrAverage::Macro => numpy_mean(&areas),
        OvrAverage::Weighted => {
            let weights: Vec<f64> = support.iter().map(|&n| n as f64).collect();
            weighted_mean(&areas, &weights)
        }
    })
}

/// The mean negative log of the probability given to the true class, each probability
/// first clipped to [ε, 1 − ε] with ε the f64 machine epsilon (scikit-learn ≥ 1.5), so a
/// confident mistake costs about 36 rather than infinity.
pub fn log_loss(
    truth: &[ClassLabel],
    probabilities: &[Vec<f64>],
    classes: &[ClassLabel],
) -> Result<f64, MetricError> {
    let rows = class_positions(truth, probabilities, classes, "log loss")?;
    let losses: Vec<f64> = rows
        .iter()
        .zip(probabilities)
        .map(|(&c, p)| -libm::log(p[c].clamp(f64::EPSILON, 1.0 - f64::EPSILON)))
        .collect();
    Ok(numpy_mean(&losses))
}

// ----- evaluating a model ------------------------------------------------------------

/// How to score a model of `task` instead, for [`MetricError::WrongTask`].
fn task_hint(task: Task) -> &'static str {
    match task {
        Task::Classification => {
            "; score classifiers with accuracy, f1, classification_report and the like"
        }
        Task::Regression => {
            "; score regressors with regression_metrics(model, df), or mae, mse, rmse, r2 \
             and mape"
        }
        Task::Clustering => "; score clusterings with inertia or silhouette",
        Task::Decomposition => "",
    }
}

/// That `artifact` is a model of the `expected` task, which `metric` scores.
pub fn require_task(
    artifact: &ModelArtifact,
    expected: Task,
    metric: &'static str,
) -> Result<(), MetricError> {
    if artifact.task == expected {
        Ok(())
    } else {
        Err(MetricError::WrongTask {
            metric,
            expected,
            found: artifact.task,
            algorithm: artifact.algorithm.clone(),
        })
    }
}

/// The column a supervised model predicts, or the wrong-task error for `metric`.
fn scored_target<'a>(
    artifact: &'a ModelArtifact,
    expected: Task,
    metric: &'static str,
) -> Result<&'a str, MetricError> {
    require_task(artifact, expected, metric)?;
    // A validated classifier or regressor has a target.
    artifact.target().ok_or_else(|| MetricError::WrongTask {
        metric,
        expected,
        found: artifact.task,
        algorithm: artifact.algorithm.clone(),
    })
}

/// The truth in `frame`'s target column and a classifier's predictions for `frame`, after
/// checking that the target holds the model's type of class.
pub fn truth_and_predictions(
    artifact: &ModelArtifact,
    frame: &Frame,
) -> Result<(Vec<ClassLabel>, ClassPredictions), MetricError> {
    let target = scored_target(artifact, Task::Classification, "scoring classes")?;
    let truth = target_labels(frame, target)?;
    let found = frame.column(target).map_err(ModelError::from)?.data.dtype();
    if let Some(expected) = artifact.class_labels.first().map(ClassLabel::dtype) {
        if found != expected {
            return Err(MetricError::TargetType {
                column: target.to_string(),
                expected,
                found,
            });
        }
    }
    let predictions = artifact.predict_classes(frame)?;
    Ok((truth, predictions))
}

/// The numbers in `frame`'s target column and a regressor's predictions for `frame`.
pub fn truth_and_values(
    artifact: &ModelArtifact,
    frame: &Frame,
) -> Result<(Vec<f64>, Vec<f64>), MetricError> {
    let target = scored_target(artifact, Task::Regression, "scoring numbers")?;
    let truth = target_values(frame, target)?;
    let predicted = artifact.predict_values(frame)?;
    Ok((truth, predicted))
}

/// MAE, MSE, RMSE, R² and MAPE of a regressor on `frame`, which needs the model's
/// features and its target column (R² needs at least two rows).
pub fn evaluate_regression(
    artifact: &ModelArtifact,
    frame: &Frame,
) -> Result<RegressionReport, MetricError> {
    require_task(artifact, Task::Regression, "regression_metrics")?;
    let (truth, predicted) = truth_and_values(artifact, frame)?;
    regression_report(&truth, &predicted)
}

/// Scores `artifact` on `frame`, which needs the model's features and its target column.
/// The confusion matrix lists the model's classes in order, then any class that only the
/// frame has.
pub fn evaluate(artifact: &ModelArtifact, frame: &Frame) -> Result<Evaluation, MetricError> {
    require_task(artifact, Task::Classification, "accuracy")?;
    let (truth, predictions) = truth_and_predictions(artifact, frame)?;
    let predicted = predictions.labels;
    let accuracy = accuracy(&truth, &predicted)?;
    let mut labels = artifact.class_labels.clone();
    let unseen: BTreeSet<&ClassLabel> = truth.iter().filter(|t| !labels.contains(t)).collect();
    labels.extend(unseen.into_iter().cloned());
    Ok(Evaluation {
        accuracy,
        confusion: confusion_over(labels, &truth, &predicted),
    })
}

// ----- regression --------------------------------------------------------------------

fn check_regression(truth: &[f64], predicted: &[f64]) -> Result<(), MetricError> {
    if truth.len() != predicted.len() {
        return Err(MetricError::LengthMismatch {
            truth: truth.len(),
            predicted: predicted.len(),
        });
    }
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    check_finite(truth, "true value")?;
    check_finite(predicted, "predicted value")
}

/// Mean absolute error.
pub fn mae(truth: &[f64], predicted: &[f64]) -> Result<f64, MetricError> {
    check_regression(truth, predicted)?;
    let errors: Vec<f64> = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (p - t).abs())
        .collect();
    Ok(numpy_mean(&errors))
}

/// Mean squared error.
pub fn mse(truth: &[f64], predicted: &[f64]) -> Result<f64, MetricError> {
    check_regression(truth, predicted)?;
    Ok(numpy_mean(&squared_errors(truth, predicted)))
}

fn squared_errors(truth: &[f64], predicted: &[f64]) -> Vec<f64> {
    truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p) * (t - p))
        .collect()
}

/// Root mean squared error.
pub fn rmse(truth: &[f64], predicted: &[f64]) -> Result<f64, MetricError> {
    Ok(mse(truth, predicted)?.sqrt())
}

/// The coefficient of determination, 1 − SS_residual / SS_total. With a constant truth
/// (SS_total = 0) it is 1 for an exact prediction and 0 otherwise, as scikit-learn's
/// default `force_finite=True`.
pub fn r2(truth: &[f64], predicted: &[f64]) -> Result<f64, MetricError> {
    check_regression(truth, predicted)?;
    if truth.len() < 2 {
        return Err(MetricError::TooFewValues {
            metric: "R²",
            needed: 2,
            found: truth.len(),
        });
    }
    let residual = numpy_sum(&squared_errors(truth, predicted));
    let mean = numpy_mean(truth);
    let deviations: Vec<f64> = truth.iter().map(|t| (t - mean) * (t - mean)).collect();
    let total = numpy_sum(&deviations);
    Ok(if residual == 0.0 {
        1.0
    } else if total == 0.0 {
        0.0
    } else {
        1.0 - residual / total
    })
}

/// Mean absolute percentage error as a fraction (0.1 is 10 %): the mean of
/// |predicted − true| / max(|true|, ε), ε the f64 machine epsilon, so a true 0 gives a
/// huge but finite term, as in scikit-learn.
pub fn mape(truth: &[f64], predicted: &[f64]) -> Result<f64, MetricError> {
    check_regression(truth, predicted)?;
    let errors: Vec<f64> = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (p - t).abs() / t.abs().max(f64::EPSILON))
        .collect();
    Ok(numpy_mean(&errors))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionReport {
    pub mae: f64,
    pub mse: f64,
    pub rmse: f64,
    pub r2: f64,
    pub mape: f64,
}

pub fn regression_report(
    truth: &[f64],
    predicted: &[f64],
) -> Result<RegressionReport, MetricError> {
    Ok(RegressionReport {
        mae: mae(truth, predicted)?,
        mse: mse(truth, predicted)?,
        rmse: rmse(truth, predicted)?,
        r2: r2(truth, predicted)?,
        mape: mape(truth, predicted)?,
    })
}

// ----- clustering --------------------------------------------------------------------

/// That the points are a non-empty table of finite coordinates.
fn check_points(points: &[Vec<f64>]) -> Result<usize, MetricError> {
    let first = points.first().ok_or(MetricError::Empty)?;
    let dimension = first.len();
    if dimension == 0 {
        return Err(MetricError::NoCoordinates);
    }
    for (row, point) in points.iter().enumerate() {
        if point.len() != dimension {
            return Err(MetricError::Dimension {
                row,
                found: point.len(),
                expected: dimension,
            });
        }
        if let Some(&value) = point.iter().find(|v| !v.is_finite()) {
            return Err(MetricError::NotFinite {
                what: "coordinate of point",
                index: row,
                value,
            });
        }
    }
    Ok(dimension)
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The sum of squared distances from each point to its cluster's centroid
/// (`centroids[labels[i]]`), k-means' objective (scikit-learn's `KMeans.inertia_`).
pub fn inertia(
    points: &[Vec<f64>],
    labels: &[usize],
    centroids: &[Vec<f64>],
) -> Result<f64, MetricError> {
    if points.len() != labels.len() {
        return Err(MetricError::LengthMismatch {
            truth: points.len(),
            predicted: labels.len(),
        });
    }
    let dimension = check_points(points)?;
    for (row, centroid) in centroids.iter().enumerate() {
        if centroid.len() != dimension {
            return Err(MetricError::Dimension {
                row,
                found: centroid.len(),
                expected: dimension,
            });
        }
    }
    let mut total = 0.0;
    for (row, (point, &cluster)) in points.iter().zip(labels).enumerate() {
        let centroid = centroids.get(cluster).ok_or(MetricError::NoSuchCentroid {
            row,
            cluster,
            clusters: centroids.len(),
        })?;
        total += squared_distance(point, centroid);
    }
    Ok(total)
}

/// The sorted distinct labels, each point's position among them, and their counts.
fn encode<L: Ord>(labels: &[L]) -> (Vec<&L>, Vec<usize>, Vec<usize>) {
    let distinct: Vec<&L> = labels.iter().collect::<BTreeSet<_>>().into_iter().collect();
    let position: BTreeMap<&L, usize> = distinct.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let codes: Vec<usize> = labels.iter().map(|l| position[l]).collect();
    let mut counts = vec![0; distinct.len()];
    for &c in &codes {
        counts[c] += 1;
    }
    (distinct, codes, counts)
}

/// Each cluster's mean point, clusters in label order.
pub fn cluster_means<L: Ord + Clone>(
    points: &[Vec<f64>],
    labels: &[L],
) -> Result<(Vec<L>, Vec<Vec<f64>>), MetricError> {
    if points.len() != labels.len() {
        return Err(MetricError::LengthMismatch {
            truth: points.len(),
            predicted: labels.len(),
        });
    }
    let dimension = check_points(points)?;
    let (distinct, codes, counts) = encode(labels);
    let mut sums = vec![vec![0.0; dimension]; distinct.len()];
    for (point, &c) in points.iter().zip(&codes) {
        for (s, x) in sums[c].iter_mut().zip(point) {
            *s += x;
        }
    }
    let means = sums
        .into_iter()
        .zip(&counts)
        .map(|(sum, &n)| sum.into_iter().map(|s| s / n as f64).collect())
        .collect();
    Ok((distinct.into_iter().cloned().collect(), means))
}

/// The inertia of a clustering given only its labels: squared distances to each cluster's
/// mean (k-means' centroids once it has converged).
pub fn inertia_about_means<L: Ord + Clone>(
    points: &[Vec<f64>],
    labels: &[L],
) -> Result<f64, MetricError> {
    let (_, means) = cluster_means(points, labels)?;
    let (_, codes, _) = encode(labels);
    inertia(points, &codes, &means)
}

/// The mean silhouette coefficient with Euclidean distances: per point, (b − a) / max(a, b)
/// with a its mean distance to the rest of its cluster and b its mean distance to the
/// nearest other cluster; 0 for a point alone in its cluster (scikit-learn's convention).
/// Needs 2 to n − 1 clusters. Takes time quadratic in the points.
pub fn silhouette_score<L: Ord>(points: &[Vec<f64>], labels: &[L]) -> Result<f64, MetricError> {
    if points.len() != labels.len() {
        return Err(MetricError::LengthMismatch {
            truth: points.len(),
            predicted: labels.len(),
        });
    }
    check_points(points)?;
    let n = points.len();
    if n > MAX_SILHOUETTE_POINTS {
        return Err(MetricError::TooManyPoints { points: n });
    }
    let (distinct, codes, counts) = encode(labels);
    let k = distinct.len();
    if !(2..n).contains(&k) {
        return Err(MetricError::ClusterCount {
            clusters: k,
            points: n,
        });
    }
    // sums[i * k + c]: the distances from point i to the points of cluster c, added in
    // the points' order (as scikit-learn's bincount does). Each pair is measured once.
    let mut sums = vec![0.0; n * k];
    for i in 0..n {
        for j in i + 1..n {
            let d = squared_distance(&points[i], &points[j]).sqrt();
            sums[i * k + codes[j]] += d;
            sums[j * k + codes[i]] += d;
        }
    }
    let coefficients: Vec<f64> = (0..n)
        .map(|i| {
            let own = codes[i];
            let row = &sums[i * k..(i + 1) * k];
            let a = row[own] / (counts[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own)
                .map(|c| row[c] / counts[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let s = (b - a) / a.max(b);
            // 0/0: a singleton cluster (a is 0/0), or a point whose cluster and nearest
            // other cluster all sit on it.
            if s.is_nan() {
                0.0
            } else {
                s
            }
        })
        .collect();
    Ok(numpy_mean(&coefficients))
}
