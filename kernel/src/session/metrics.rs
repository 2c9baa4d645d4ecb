//! Metric functions of the cell language: a classifier scored on a frame (precision,
//! recall, F1, ROC AUC, log loss, reports and curves), a regressor scored on a frame,
//! predicted numbers against true ones, and clusterings. The scoring itself is
//! [`crate::metrics`].
//!
//! This module shares its name with [`crate::metrics`] and so stands in for it among the
//! session's modules (`use super::*` finds this one); the re-export keeps every
//! `metrics::…` path in sibling modules pointing at the kernel's metrics.

pub(super) use crate::metrics::*;

use super::frames::strings;
use super::models::Model;
use super::*;
use crate::artifact::ClassPredictions;
use crate::frame::DType;
use crate::model::Task;

/// The truth and a classifier's predictions on `df`, for `metric` (named in the error a
/// model of another task gets).
fn scored(
    model: &Model,
    df: &Frame,
    metric: &'static str,
) -> Res<(Vec<ClassLabel>, ClassPredictions)> {
    require_task(&model.0, Task::Classification, metric).map_err(fail)?;
    truth_and_predictions(&model.0, df).map_err(fail)
}

/// The class probabilities `metric` needs, or an error naming the model that gives none.
fn probabilities<'a>(
    model: &Model,
    predictions: &'a ClassPredictions,
    metric: &'static str,
) -> Res<&'a [Vec<f64>]> {
    predictions.probabilities.as_deref().ok_or_else(|| {
        fail(MetricError::NoProbabilities {
            metric,
            algorithm: model.0.algorithm.clone(),
        })
    })
}

/// The class binary scores treat as positive: the second of a two-class model's sorted
/// classes (`true`, the larger number, the later string), as scikit-learn's default.
fn positive_class(model: &Model) -> ClassLabel {
    model
        .0
        .class_labels
        .last()
        .cloned()
        .unwrap_or(ClassLabel::Bool(true))
}

/// Binary for a two-class model, macro otherwise.
fn default_average(model: &Model) -> Average {
    if model.0.class_labels.len() == 2 {
        Average::Binary {
            positive: positive_class(model),
        }
    } else {
        Average::Macro
    }
}

fn scores(model: &Model, df: &Frame, average: Option<&str>, metric: &'static str) -> Res<Scores> {
    require_task(&model.0, Task::Classification, metric).map_err(fail)?;
    let average = match average {
        None => default_average(model),
        Some(name) => Average::from_name(name, positive_class(model)).map_err(fail)?,
    };
    let (truth, predictions) = scored(model, df, metric)?;
    precision_recall_f1(&truth, &predictions.labels, &average).map_err(fail)
}

/// A script value as a class label: a bool, an integer or a string.
fn class_label(value: &Dynamic, what: &str) -> Res<ClassLabel> {
    if let Some(b) = value.clone().try_cast::<bool>() {
        Ok(ClassLabel::Bool(b))
    } else if let Some(i) = value.clone().try_cast::<INT>() {
        Ok(ClassLabel::Int(i))
    } else if let Some(s) = value.clone().try_cast::<ImmutableString>() {
        Ok(ClassLabel::Str(s.to_string()))
    } else {
        Err(fail(format!(
            "{what} must be a bool, an integer or a string, not a {}",
            value.type_name()
        )))
    }
}

/// The model's probabilities of `class`, one per row.
fn class_scores(
    model: &Model,
    predictions: &ClassPredictions,
    class: &ClassLabel,
    metric: &'static str,
) -> Res<Vec<f64>> {
    let probabilities = probabilities(model, predictions, metric)?;
    let classes = &model.0.class_labels;
    let c = classes.iter().position(|l| l == class).ok_or_else(|| {
        fail(format!(
            "'{class}' is not one of the model's classes ({})",
            classes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok(probabilities
        .iter()
        .map(|p| p.get(c).copied().unwrap_or(f64::NAN))
        .collect())
}

fn roc_auc_of(model: &Model, df: &Frame, average: Option<&str>) -> Res<FLOAT> {
    let average = average
        .map(OvrAverage::from_name)
        .transpose()
        .map_err(fail)?;
    let (truth, predictions) = scored(model, df, "roc_auc")?;
    let classes = &model.0.class_labels;
    if classes.len() == 2 {
        // One area for two classes; scikit-learn ignores the averaging then too.
        let positive = positive_class(model);
        let scores = class_scores(model, &predictions, &positive, "roc_auc")?;
        roc_auc(&truth, &scores, &positive).map_err(fail)
    } else {
        roc_auc_ovr(
            &truth,
            probabilities(model, &predictions, "roc_auc")?,
            classes,
            average.unwrap_or(OvrAverage::Macro),
        )
        .map_err(fail)
    }
}

/// The positive class of a curve: the one named, or a two-class model's second class.
fn curve_class(model: &Model, class: Option<Dynamic>, metric: &'static str) -> Res<ClassLabel> {
    require_task(&model.0, Task::Classification, metric).map_err(fail)?;
    match class {
        Some(value) => class_label(&value, "the positive class"),
        None if model.0.class_labels.len() == 2 => Ok(positive_class(model)),
        None => Err(fail(format!(
            "the model has {} classes; name the positive one, e.g. roc_curve(model, df, \"{}\")",
            model.0.class_labels.len(),
            positive_class(model)
        ))),
    }
}

fn float_column(name: &str, values: Vec<Option<f64>>) -> Column {
    Column {
        name: name.to_string(),
        data: ColumnData::Float(values.into()),
    }
}

fn some(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().copied().map(Some).collect()
}

fn roc_curve_frame(model: &Model, df: &Frame, class: Option<Dynamic>) -> Res<Frame> {
    const METRIC: &str = "roc_curve";
    let positive = curve_class(model, class, METRIC)?;
    let (truth, predictions) = scored(model, df, METRIC)?;
    let scores = class_scores(model, &predictions, &positive, METRIC)?;
    let curve = roc_curve(&truth, &scores, &positive).map_err(fail)?;
    Frame::new(vec![
        float_column("threshold", some(&curve.thresholds)),
        float_column("fpr", some(&curve.fpr)),
        float_column("tpr", some(&curve.tpr)),
    ])
    .map_err(fail)
}

fn precision_recall_curve_frame(model: &Model, df: &Frame, class: Option<Dynamic>) -> Res<Frame> {
    const METRIC: &str = "precision_recall_curve";
    let positive = curve_class(model, class, METRIC)?;
    let (truth, predictions) = scored(model, df, METRIC)?;
    let scores = class_scores(model, &predictions, &positive, METRIC)?;
    let curve = precision_recall_curve(&truth, &scores, &positive).map_err(fail)?;
    // The last point (recall 0, precision 1) has no threshold.
    let mut thresholds = some(&curve.thresholds);
    thresholds.push(None);
    Frame::new(vec![
        float_column("threshold", thresholds),
        float_column("precision", some(&curve.precision)),
        float_column("recall", some(&curve.recall)),
    ])
    .map_err(fail)
}

/// scikit-learn's report as a frame: a row per class, then `accuracy` (in the f1 column,
/// as scikit-learn prints it), `macro avg` and `weighted avg`.
fn classification_report_frame(model: &Model, df: &Frame) -> Res<Frame> {
    let (truth, predictions) = scored(model, df, "classification_report")?;
    let report = classification_report(&truth, &predictions.labels).map_err(fail)?;
    let mut names: Vec<Option<String>> = Vec::new();
    let (mut precision, mut recall, mut f1, mut support) = (vec![], vec![], vec![], vec![]);
    let mut row = |name: String, scores: Option<Scores>, f: f64, n: u64| {
        names.push(Some(name));
        precision.push(scores.map(|s| s.precision));
        recall.push(scores.map(|s| s.recall));
        f1.push(Some(f));
        support.push(Some(INT::try_from(n).unwrap_or(INT::MAX)));
    };
    for class in &report.classes {
        row(
            class.label.to_string(),
            Some(class.scores),
            class.scores.f1,
            class.support,
        );
    }
    row("accuracy".into(), None, report.accuracy, report.support);
    for (name, scores) in [
        ("macro avg", report.macro_average),
        ("weighted avg", report.weighted_average),
    ] {
        row(name.into(), Some(scores), scores.f1, report.support);
    }
    Frame::new(vec![
        Column {
            name: "class".into(),
            data: ColumnData::Str(names.into()),
        },
        float_column("precision", precision),
        float_column("recall", recall),
        float_column("f1", f1),
        Column {
            name: "support".into(),
            data: ColumnData::Int(support.into()),
        },
    ])
    .map_err(fail)
}

/// A script array of numbers as floats.
fn numbers(array: &Array, what: &str) -> Res<Vec<f64>> {
    array
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if let Some(x) = v.clone().try_cast::<FLOAT>() {
                Ok(x)
            } else if let Some(x) = v.clone().try_cast::<INT>() {
                Ok(x as f64)
            } else {
                Err(fail(format!(
                    "{what} must be numbers, but item {i} is a {}",
                    v.type_name()
                )))
            }
        })
        .collect()
}

fn regression(
    metric: fn(&[f64], &[f64]) -> Result<f64, MetricError>,
    truth: &Array,
    predicted: &Array,
) -> Res<FLOAT> {
    let truth = numbers(truth, "the true values")?;
    let predicted = numbers(predicted, "the predicted values")?;
    metric(&truth, &predicted).map_err(fail)
}

/// A regression report as a script map.
fn report_map(report: &RegressionReport) -> Map {
    let mut map = Map::new();
    for (key, value) in [
        ("mae", report.mae),
        ("mse", report.mse),
        ("rmse", report.rmse),
        ("r2", report.r2),
        ("mape", report.mape),
    ] {
        map.insert(key.into(), Dynamic::from_float(value));
    }
    map
}

/// The rows of `df` as points with the `features` columns as coordinates.
fn points(df: &Frame, features: &Array) -> Res<Vec<Vec<f64>>> {
    let features = strings(features, "feature names")?;
    if features.is_empty() {
        return Err(fail("no feature columns given; name at least one"));
    }
    let mut points = vec![Vec::with_capacity(features.len()); df.row_count()];
    for name in &features {
        let data = &df.column(name).map_err(fail)?.data;
        if !matches!(data.dtype(), DType::Float | DType::Int | DType::Bool) {
            return Err(fail(format!(
                "feature column '{name}' holds {} values; distances need numbers",
                data.dtype()
            )));
        }
        for (row, point) in points.iter_mut().enumerate() {
            let value = data.f64_at(row).ok_or_else(|| {
                fail(format!(
                    "feature column '{name}' is null in row {row}; remove nulls first with drop_nulls"
                ))
            })?;
            point.push(value);
        }
    }
    Ok(points)
}

fn cluster_labels(labels: &Array) -> Res<Vec<ClassLabel>> {
    labels
        .iter()
        .map(|v| class_label(v, "cluster labels"))
        .collect()
}

fn column_labels(df: &Frame, column: &str) -> Res<Vec<ClassLabel>> {
    crate::model::target_labels(df, column).map_err(fail)
}

pub(super) fn register(engine: &mut Engine) {
    type Pick = fn(&Scores) -> f64;
    let picks: [(&str, Pick); 3] = [
        ("precision", |s| s.precision),
        ("recall", |s| s.recall),
        ("f1", |s| s.f1),
    ];
    for (name, pick) in picks {
        engine.register_fn(name, move |model: Model, df: Frame| -> Res<FLOAT> {
            Ok(pick(&scores(&model, &df, None, name)?))
        });
        engine.register_fn(
            name,
            move |model: Model, df: Frame, average: &str| -> Res<FLOAT> {
                Ok(pick(&scores(&model, &df, Some(average), name)?))
            },
        );
    }
    engine.register_fn("roc_auc", |model: Model, df: Frame| {
        roc_auc_of(&model, &df, None)
    });
    engine.register_fn("roc_auc", |model: Model, df: Frame, average: &str| {
        roc_auc_of(&model, &df, Some(average))
    });
    engine.register_fn("log_loss", |model: Model, df: Frame| -> Res<FLOAT> {
        let (truth, predictions) = scored(&model, &df, "log_loss")?;
        let probabilities = probabilities(&model, &predictions, "log_loss")?;
        log_loss(&truth, probabilities, &model.0.class_labels).map_err(fail)
    });
    engine.register_fn("classification_report", |model: Model, df: Frame| {
        classification_report_frame(&model, &df)
    });
    engine.register_fn("roc_curve", |model: Model, df: Frame| {
        roc_curve_frame(&model, &df, None)
    });
    engine.register_fn("roc_curve", |model: Model, df: Frame, class: Dynamic| {
        roc_curve_frame(&model, &df, Some(class))
    });
    engine.register_fn("precision_recall_curve", |model: Model, df: Frame| {
        precision_recall_curve_frame(&model, &df, None)
    });
    engine.register_fn(
        "precision_recall_curve",
        |model: Model, df: Frame, class: Dynamic| {
            precision_recall_curve_frame(&model, &df, Some(class))
        },
    );

    type Regression = fn(&[f64], &[f64]) -> Result<f64, MetricError>;
    let regressions: [(&str, Regression); 5] = [
        ("mae", mae),
        ("mse", mse),
        ("rmse", rmse),
        ("r2", r2),
        ("mape", mape),
    ];
    for (name, metric) in regressions {
        engine.register_fn(name, move |truth: Array, predicted: Array| {
            regression(metric, &truth, &predicted)
        });
        // A regressor scored on a frame holding its features and target.
        engine.register_fn(name, move |model: Model, df: Frame| -> Res<FLOAT> {
            require_task(&model.0, Task::Regression, name).map_err(fail)?;
            let (truth, predicted) = truth_and_values(&model.0, &df).map_err(fail)?;
            metric(&truth, &predicted).map_err(fail)
        });
    }
    engine.register_fn(
        "regression_report",
        |truth: Array, predicted: Array| -> Res<Map> {
            let truth = numbers(&truth, "the true values")?;
            let predicted = numbers(&predicted, "the predicted values")?;
            Ok(report_map(
                &regression_report(&truth, &predicted).map_err(fail)?,
            ))
        },
    );
    engine.register_fn(
        "regression_metrics",
        |model: Model, df: Frame| -> Res<Map> {
            Ok(report_map(
                &evaluate_regression(&model.0, &df).map_err(fail)?,
            ))
        },
    );

    engine.register_fn(
        "silhouette",
        |df: Frame, features: Array, labels: Array| -> Res<FLOAT> {
            silhouette_score(&points(&df, &features)?, &cluster_labels(&labels)?).map_err(fail)
        },
    );
    engine.register_fn(
        "silhouette",
        |df: Frame, features: Array, column: &str| -> Res<FLOAT> {
            silhouette_score(&points(&df, &features)?, &column_labels(&df, column)?).map_err(fail)
        },
    );
    engine.register_fn(
        "inertia",
        |df: Frame, features: Array, labels: Array| -> Res<FLOAT> {
            inertia_about_means(&points(&df, &features)?, &cluster_labels(&labels)?).map_err(fail)
        },
    );
    engine.register_fn(
        "inertia",
        |df: Frame, features: Array, column: &str| -> Res<FLOAT> {
            inertia_about_means(&points(&df, &features)?, &column_labels(&df, column)?)
                .map_err(fail)
        },
    );
}
