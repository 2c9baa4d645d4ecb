//! Experiment runs, cross-validation and the evaluation plots of the cell language.
//!
//! Every fit and cross-validation is recorded: the cell emits [`Effect::RecordRun`], and
//! its host stores the run (on the server, or in a file). The kernel names the run from
//! the host's session id and a counter, so a model carries its run's id in its lineage
//! before the host has recorded it.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use oxbook_protocol::{DatasetRef, RunKind, RunSpec};

use super::models::Model;
use super::*;
use crate::artifact::Predictions;
use crate::model::{FitProgress, Settings, Task};
use crate::plot::model::{self as model_plots, Curve, CurveKind};
use crate::validation::{self, FoldPlan};

/// A fit's monitor: reports to the host's progress and stops when its interrupt says so.
pub(super) fn monitor(shared: &SharedState) -> impl FnMut(FitProgress) -> ControlFlow<()> {
    let progress = shared.borrow().host.progress.clone();
    move |done| {
        if let Some(progress) = &progress {
            progress(done);
        }
        if RunningCell::interrupted() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A failed fit as a script error. A fit that fails while the host is interrupting the
/// cell (a built-in one that stopped between units, a user's algorithm whose engine was
/// stopped, a cross-validation fold) stops the cell as cancelled, saying how far it got.
pub(super) fn fit_failed(error: impl std::fmt::Display) -> Box<EvalAltResult> {
    if RunningCell::interrupted() {
        Box::new(EvalAltResult::ErrorTerminated(
            error.to_string().into(),
            Position::NONE,
        ))
    } else {
        fail(error)
    }
}

/// The host's clock now, or `None` when it gave none.
pub(super) fn now(shared: &SharedState) -> Option<f64> {
    let clock = shared.borrow().host.clock.clone();
    clock.map(|clock| clock())
}

/// A fresh run id: the host's session id (or `local` without one) and a counter that
/// survives resets, so ids never repeat within a session.
pub(super) fn next_run_id(shared: &SharedState) -> String {
    let mut shared = shared.borrow_mut();
    shared.host.runs += 1;
    let session = match shared.host.context.session_id.as_str() {
        "" => "local",
        id => id,
    };
    format!("{session}-{}", shared.host.runs)
}

/// Queues the run on `data` for the host to record.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_run(
    shared: &SharedState,
    id: String,
    kind: RunKind,
    settings: &Settings,
    target: Option<&str>,
    features: &[String],
    data: &Frame,
    metrics: BTreeMap<String, f64>,
    started: Option<f64>,
) {
    let duration_ms = match (started, now(shared)) {
        (Some(start), Some(end)) => (end - start).max(0.0),
        _ => 0.0,
    };
    let run = RunSpec {
        id,
        kind,
        algorithm: settings.name().to_string(),
        settings: settings.fields(),
        target: target.map(str::to_string),
        features: features.to_vec(),
        dataset: data.dataset().cloned(),
        rows: data.row_count() as u64,
        metrics: metrics.into_iter().filter(|(_, v)| v.is_finite()).collect(),
        duration_ms,
    };
    shared.borrow_mut().effects.push(Effect::RecordRun { run });
}

fn fold_plan(options: &Map) -> Res<FoldPlan> {
    let mut plan = FoldPlan {
        folds: 5,
        stratified: true,
        seed: 0,
    };
    for (key, value) in options {
        match key.as_str() {
            "folds" => {
                plan.folds = value
                    .as_int()
                    .ok()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| fail("'folds' must be a whole number of 2 or more"))?
            }
            "stratified" => {
                plan.stratified = value
                    .as_bool()
                    .map_err(|_| fail("'stratified' must be true or false"))?
            }
            "seed" => {
                plan.seed = value
                    .as_int()
                    .ok()
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| fail("'seed' must be a whole number of 0 or more"))?
            }
            other => {
                return Err(fail(format!(
                    "unknown cross-validation option '{other}' (known: folds, stratified, seed)"
                )))
            }
        }
    }
    Ok(plan)
}

fn cross_validate(
    shared: &SharedState,
    df: &Frame,
    algorithm: &str,
    features: &Array,
    target: &str,
    settings: Option<Map>,
    options: Option<Map>,
) -> Res<Frame> {
    let settings = super::models::settings_of(algorithm, settings)?;
    cross_validate_settings(shared, df, settings, features, target, options)
}

/// Cross-validates `settings` (a built-in algorithm's or a user's) and records the run.
pub(super) fn cross_validate_settings(
    shared: &SharedState,
    df: &Frame,
    settings: Settings,
    features: &Array,
    target: &str,
    options: Option<Map>,
) -> Res<Frame> {
    let features = super::frames::strings(features, "feature names")?;
    let plan = fold_plan(&options.unwrap_or_default())?;
    let started = now(shared);
    let _quiet = RunningCell::without_progress();
    let result =
        validation::cross_validate(df, &features, target, &settings, plan, &mut monitor(shared))
            .map_err(fit_failed)?;
    let names: Vec<&String> = result.scores.keys().collect();
    let mut summary = BTreeMap::new();
    for name in &names {
        summary.insert(
            format!("cv_{name}_mean"),
            result.mean(name).unwrap_or(f64::NAN),
        );
        summary.insert(
            format!("cv_{name}_std"),
            result.std(name).unwrap_or(f64::NAN),
        );
    }
    let id = next_run_id(shared);
    record_run(
        shared,
        id,
        RunKind::CrossValidation,
        &settings,
        Some(target),
        &features,
        df,
        summary,
        started,
    );
    if let Some(note) = &result.note {
        shared.borrow_mut().notes.push(note.clone());
    }
    let mut columns = vec![Column {
        name: "score".into(),
        data: ColumnData::Str(names.iter().map(|n| Some(n.to_string())).collect()),
    }];
    let stat = |name: &str, f: &dyn Fn(&str) -> Option<f64>| Column {
        name: name.into(),
        data: ColumnData::Float(names.iter().map(|n| f(n)).collect()),
    };
    columns.push(stat("mean", &|n| result.mean(n)));
    columns.push(stat("std", &|n| result.std(n)));
    for fold in 0..result.folds {
        columns.push(stat(&format!("fold_{}", fold + 1), &|n| {
            result.scores.get(n).and_then(|v| v.get(fold).copied())
        }));
    }
    Frame::new(columns).map_err(fail)
}

fn plot(svg: Result<String, crate::plot::PlotError>, title: String) -> Res<Plot> {
    Ok(Plot {
        svg: svg.map_err(fail)?.into(),
        title,
    })
}

fn require(model: &Model, task: Task, what: &str) -> Res<()> {
    if model.0.task == task {
        Ok(())
    } else {
        Err(fail(format!(
            "{what} needs a {} model; this {} model does {}",
            task.name(),
            model.0.algorithm,
            model.0.task.name()
        )))
    }
}

fn confusion_plot(model: &Model, df: &Frame) -> Res<Plot> {
    require(model, Task::Classification, "plot_confusion")?;
    let confusion = metrics::evaluate(&model.0, df).map_err(fail)?.confusion;
    let labels: Vec<String> = confusion.labels.iter().map(ToString::to_string).collect();
    plot(
        model_plots::confusion_heatmap(&labels, &confusion.counts),
        "confusion matrix".into(),
    )
}

/// The ROC or precision-recall curve of each class (one for a binary classifier: its
/// second class, the positive one).
fn curve_plot(model: &Model, df: &Frame, kind: CurveKind) -> Res<Plot> {
    let what = match kind {
        CurveKind::Roc => "plot_roc",
        CurveKind::PrecisionRecall => "plot_pr",
    };
    require(model, Task::Classification, what)?;
    let (truth, predictions) = metrics::truth_and_predictions(&model.0, df).map_err(fail)?;
    let probabilities = predictions.probabilities.ok_or_else(|| {
        fail(format!(
            "{what} needs probabilities, which this {} model does not give",
            model.0.algorithm
        ))
    })?;
    let classes = &model.0.class_labels;
    let positives: Vec<usize> = if classes.len() == 2 {
        vec![1]
    } else {
        (0..classes.len()).collect()
    };
    let mut curves = Vec::new();
    for c in positives {
        let scores: Vec<f64> = probabilities.iter().map(|p| p[c]).collect();
        let class = &classes[c];
        let curve = match kind {
            CurveKind::Roc => {
                let roc = metrics::roc_curve(&truth, &scores, class).map_err(fail)?;
                let area = metrics::roc_auc(&truth, &scores, class).map_err(fail)?;
                Curve {
                    label: class.to_string(),
                    points: roc
                        .fpr
                        .iter()
                        .copied()
                        .zip(roc.tpr.iter().copied())
                        .collect(),
                    area,
                }
            }
            CurveKind::PrecisionRecall => {
                let pr = metrics::precision_recall_curve(&truth, &scores, class).map_err(fail)?;
                let area = metrics::average_precision(&truth, &scores, class).map_err(fail)?;
                Curve {
                    label: class.to_string(),
                    points: pr
                        .recall
                        .iter()
                        .copied()
                        .zip(pr.precision.iter().copied())
                        .collect(),
                    area,
                }
            }
        };
        curves.push(curve);
    }
    let title = match kind {
        CurveKind::Roc => "ROC curve",
        CurveKind::PrecisionRecall => "precision-recall curve",
    };
    plot(model_plots::curves(kind, &curves), title.into())
}

fn residual_plot(model: &Model, df: &Frame) -> Res<Plot> {
    require(model, Task::Regression, "plot_residuals")?;
    let (truth, predicted) = metrics::truth_and_values(&model.0, df).map_err(fail)?;
    plot(
        model_plots::residuals(&predicted, &truth),
        "residuals against predictions".into(),
    )
}

/// Rows of `df` coloured by the model's clusters, on the first two principal components
/// of the model's features (or on the two features themselves when there are two).
fn cluster_plot(model: &Model, df: &Frame) -> Res<Plot> {
    require(model, Task::Clustering, "plot_clusters")?;
    let Predictions::Clusters(labels) = model.0.predict(df).map_err(fail)? else {
        return Err(fail("the model did not predict clusters"));
    };
    let features = model.0.feature_names();
    let columns = |a: &Frame, x: &str, y: &str| -> Res<Vec<(f64, f64)>> {
        let (xs, ys) = (
            &a.column(x).map_err(fail)?.data,
            &a.column(y).map_err(fail)?.data,
        );
        Ok((0..a.row_count())
            .map(|i| {
                (
                    xs.f64_at(i).unwrap_or(f64::NAN),
                    ys.f64_at(i).unwrap_or(f64::NAN),
                )
            })
            .collect())
    };
    let (points, x_desc, y_desc) = if features.len() == 2 {
        let prepared = model.0.prepare(df).map_err(fail)?;
        (
            columns(&prepared, &features[0], &features[1])?,
            features[0].clone(),
            features[1].clone(),
        )
    } else {
        let settings =
            Settings::from_json("pca", serde_json::json!({ "n_components": 2 })).map_err(fail)?;
        let prepared = model.0.prepare(df).map_err(fail)?;
        let pca = crate::model::fit(&prepared, &features, None, &settings).map_err(fail)?;
        let Predictions::Components(rows) = pca.predict(&prepared).map_err(fail)? else {
            return Err(fail("principal components were not computed"));
        };
        (
            rows.iter()
                .map(|r| {
                    (
                        r.first().copied().unwrap_or(f64::NAN),
                        r.get(1).copied().unwrap_or(f64::NAN),
                    )
                })
                .collect(),
            "PC1".to_string(),
            "PC2".to_string(),
        )
    };
    plot(
        model_plots::clusters(&points, &labels, &x_desc, &y_desc),
        "clusters".into(),
    )
}

/// Feature importances (shares) or coefficients as bars, largest magnitude first; for a
/// logistic regression of more than two classes, the coefficients of `class`.
fn importance_plot(model: &Model) -> Res<Plot> {
    use crate::model::importance::Importance;
    let names = model.0.feature_names();
    let (title, values) = match super::models::importances(model)? {
        Importance::Shares(shares) => ("feature importance".to_string(), shares),
        Importance::Coefficients(rows) if rows.len() == 1 => (
            "coefficients".to_string(),
            rows.into_iter().next().unwrap_or_default(),
        ),
        Importance::Coefficients(_) => {
            return Err(fail(
                "plot_importance draws one set of coefficients; this model has one per \
                 class, so use feature_importance(model) for the table",
            ))
        }
    };
    plot(model_plots::bars(&title, &names, &values), title.clone())
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
    engine.register_fn("plot_importance", |m: Model| importance_plot(&m));
    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame, algorithm: &str, features: Array, target: &str| {
            cross_validate(&cv, &df, algorithm, &features, target, None, None)
        },
    );
    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame, algorithm: &str, features: Array, target: &str, settings: Map| {
            cross_validate(&cv, &df, algorithm, &features, target, Some(settings), None)
        },
    );
    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame,
              algorithm: &str,
              features: Array,
              target: &str,
              settings: Map,
              options: Map| {
            cross_validate(
                &cv,
                &df,
                algorithm,
                &features,
                target,
                Some(settings),
                Some(options),
            )
        },
    );
    engine.register_fn("plot_confusion", |m: Model, df: Frame| {
        confusion_plot(&m, &df)
    });
    engine.register_fn("plot_roc", |m: Model, df: Frame| {
        curve_plot(&m, &df, CurveKind::Roc)
    });
    engine.register_fn("plot_pr", |m: Model, df: Frame| {
        curve_plot(&m, &df, CurveKind::PrecisionRecall)
    });
    engine.register_fn("plot_residuals", |m: Model, df: Frame| {
        residual_plot(&m, &df)
    });
    engine.register_fn("plot_clusters", |m: Model, df: Frame| cluster_plot(&m, &df));
}

/// A model's lineage: its run and where the session runs.
pub(super) fn lineage(
    shared: &SharedState,
    run_id: &str,
    dataset: Option<&DatasetRef>,
) -> crate::artifact::Lineage {
    let created_at = now(shared).map(|ms| format_datetime(ms as i64));
    let context = shared.borrow().host.context.clone();
    crate::artifact::Lineage {
        run_id: run_id.to_string(),
        dataset: dataset.cloned(),
        notebook_id: context.notebook_id,
        notebook_revision: context.notebook_revision,
        created_at,
    }
}
