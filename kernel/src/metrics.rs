//! Classification metrics.

use std::collections::BTreeSet;

use crate::artifact::{ClassLabel, ModelArtifact, PredictError};
use crate::frame::{DType, Frame};
use crate::model::{target_labels, ModelError};

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
}

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
    let position = |label: &ClassLabel| labels.iter().position(|l| l == label);
    for (t, p) in truth.iter().zip(predicted) {
        if let (Some(t), Some(p)) = (position(t), position(p)) {
            counts[t][p] += 1;
        }
    }
    ConfusionMatrix { labels, counts }
}

/// Scores `artifact` on `frame`, which needs the model's features and its target column.
/// The confusion matrix lists the model's classes in order, then any class that only the
/// frame has.
pub fn evaluate(artifact: &ModelArtifact, frame: &Frame) -> Result<Evaluation, MetricError> {
    let truth = target_labels(frame, &artifact.target)?;
    let found = frame
        .column(&artifact.target)
        .map_err(ModelError::from)?
        .data
        .dtype();
    if let Some(expected) = artifact.class_labels.first().map(ClassLabel::dtype) {
        if found != expected {
            return Err(MetricError::TargetType {
                column: artifact.target.clone(),
                expected,
                found,
            });
        }
    }
    let predicted = artifact.predict(frame)?.labels;
    let accuracy = accuracy(&truth, &predicted)?;
    let mut labels = artifact.class_labels.clone();
    let unseen: BTreeSet<&ClassLabel> = truth.iter().filter(|t| !labels.contains(t)).collect();
    labels.extend(unseen.into_iter().cloned());
    Ok(Evaluation {
        accuracy,
        confusion: confusion_over(labels, &truth, &predicted),
    })
}
