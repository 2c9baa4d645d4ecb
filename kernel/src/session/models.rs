//! Model functions of the cell language: fitting, predicting, scoring, deploying.

use super::frames::strings;
use super::*;
use crate::artifact::Predictions;
use crate::model::{importance, FittedModel, Task};

/// A fitted model as a script value (behind `Arc`: scripts clone values freely).
#[derive(Debug, Clone)]
pub struct Model(pub Arc<ModelArtifact>);

impl Model {
    /// What the model is, in a few words: "ridge model predicting 'price'".
    pub fn headline(&self) -> String {
        match self.0.target() {
            Some(target) => format!("{} model predicting '{target}'", self.0.algorithm),
            None => format!("{} model", self.0.algorithm),
        }
    }

    /// Algorithm, target, task, features, classes, settings and recorded metrics, a line
    /// each.
    pub fn summary(&self) -> String {
        let a = &self.0;
        let list = |items: Vec<String>| items.join(", ");
        let mut lines = vec![
            self.headline(),
            format!("task: {}", a.task),
            format!(
                "features: {}",
                list(
                    a.features
                        .iter()
                        .map(|f| format!("{} ({})", f.name, f.dtype))
                        .collect()
                )
            ),
        ];
        if !a.recipe.is_empty() {
            lines.push(format!(
                "inputs: {}",
                list(
                    a.inputs()
                        .iter()
                        .map(|f| format!("{} ({})", f.name, f.dtype))
                        .collect()
                )
            ));
            lines.push(format!(
                "recipe: {} (recipe(model) lists them)",
                match a.recipe.steps.len() {
                    1 => "1 step".to_string(),
                    n => format!("{n} steps"),
                }
            ));
        }
        if a.task == Task::Classification {
            lines.push(format!(
                "classes: {}",
                list(a.class_labels.iter().map(ToString::to_string).collect())
            ));
        }
        if let FittedModel::LinearRegression(m)
        | FittedModel::Ridge(m)
        | FittedModel::Lasso(m)
        | FittedModel::ElasticNet(m) = &a.fitted
        {
            let coefficients = a
                .features
                .iter()
                .zip(&m.coefficients)
                .map(|(f, w)| format!("{}: {}", f.name, format_float(*w)))
                .collect();
            lines.push(format!(
                "coefficients: {}; intercept: {}",
                list(coefficients),
                format_float(m.intercept)
            ));
        }
        if let crate::model::Settings::Script(s) = &a.settings {
            lines.push(format!("user algorithm '{}' in {}", s.name, s.language));
        }
        // The settings' own field names, read back from their serialized form.
        if let serde_json::Value::Object(fields) = a.settings.fields() {
            let fields = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            lines.push(format!("settings: {}", list(fields)));
        }
        if !a.metrics.is_empty() {
            let metrics = a
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}: {}", format_float(*v)))
                .collect();
            lines.push(format!("metrics: {}", list(metrics)));
        }
        lines.join("\n")
    }
}

/// A registry name as the server accepts it (the rule lives in the protocol crate).
pub(super) fn registry_name(name: &str) -> Res<()> {
    if oxbook_protocol::is_valid_registry_name(name) {
        Ok(())
    } else {
        Err(fail(format!(
            "'{name}' is not a valid model name: use {}",
            oxbook_protocol::REGISTRY_NAME_RULE
        )))
    }
}

/// `algorithm`'s settings from a cell's map (all defaults without one), validated.
pub(super) fn settings_of(algorithm: &str, options: Option<Map>) -> Res<Settings> {
    let options = match options {
        None => serde_json::Value::Null,
        Some(map) => rhai::serde::from_dynamic::<serde_json::Value>(&Dynamic::from_map(map))?,
    };
    Settings::from_json(algorithm, options).map_err(fail)
}

/// Fits `algorithm` on `df`: predicting `target` for a classifier or regressor, without
/// one for an unsupervised model.
pub(super) fn train(
    shared: &SharedState,
    algorithm: &str,
    df: &Frame,
    features: &Array,
    target: Option<&str>,
    options: Option<Map>,
) -> Res<Model> {
    let settings = settings_of(algorithm, options)?;
    train_settings(shared, settings, df, features, target)
}

/// Fits `settings` (a built-in algorithm's or a user's) and records the run.
pub(super) fn train_settings(
    shared: &SharedState,
    settings: Settings,
    df: &Frame,
    features: &Array,
    target: Option<&str>,
) -> Res<Model> {
    let features = strings(features, "feature names")?;
    let started = super::evaluate::now(shared);
    let mut artifact = crate::model::fit_monitored(
        df,
        &features,
        target,
        &settings,
        &mut super::evaluate::monitor(shared),
    )
    .map_err(super::evaluate::fit_failed)?;
    record_training_scores(&mut artifact, df)?;
    let run_id = super::evaluate::next_run_id(shared);
    artifact.lineage = Some(super::evaluate::lineage(shared, &run_id, df.dataset()));
    super::evaluate::record_run(
        shared,
        run_id,
        oxbook_protocol::RunKind::Fit,
        &settings,
        target,
        &features,
        df,
        artifact.metrics.clone(),
        started,
    );
    Ok(Model(Arc::new(artifact)))
}

/// The scores on the training rows, recorded with the model so that its summary and the
/// registry show how well it fits at least the data it saw: accuracy for a classifier;
/// MAE, RMSE and R² (when there are rows enough for it) for a regressor.
fn record_training_scores(artifact: &mut ModelArtifact, df: &Frame) -> Res<()> {
    match artifact.task {
        Task::Classification => {
            let evaluation = metrics::evaluate(artifact, df).map_err(fail)?;
            artifact
                .metrics
                .insert("train_accuracy".to_string(), evaluation.accuracy);
        }
        Task::Regression => {
            let (truth, predicted) = metrics::truth_and_values(artifact, df).map_err(fail)?;
            let mae = metrics::mae(&truth, &predicted).map_err(fail)?;
            let rmse = metrics::rmse(&truth, &predicted).map_err(fail)?;
            artifact.metrics.insert("train_mae".to_string(), mae);
            artifact.metrics.insert("train_rmse".to_string(), rmse);
            // R² needs two rows; a model fitted on one is still a model.
            if let Ok(r2) = metrics::r2(&truth, &predicted) {
                artifact.metrics.insert("train_r2".to_string(), r2);
            }
        }
        Task::Clustering | Task::Decomposition => {}
    }
    Ok(())
}

pub(super) fn label_column(name: &str, labels: &[ClassLabel]) -> Column {
    let data = match labels.first() {
        Some(ClassLabel::Bool(_)) => ColumnData::Bool(
            labels
                .iter()
                .map(|l| {
                    if let ClassLabel::Bool(b) = l {
                        Some(*b)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        Some(ClassLabel::Int(_)) => ColumnData::Int(
            labels
                .iter()
                .map(|l| {
                    if let ClassLabel::Int(i) = l {
                        Some(*i)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        _ => ColumnData::Str(labels.iter().map(|l| Some(l.to_string())).collect()),
    };
    Column {
        name: name.to_string(),
        data,
    }
}

/// `df` with the model's predictions added (replacing columns of the same names): for a
/// classifier a `prediction` column and, where it gives probabilities, a `p_<class>`
/// column per class; for a regressor a float `prediction` column; for a clustering an
/// int `cluster` column; for a decomposition `pc1`, `pc2`, ... columns.
pub(super) fn predict(model: &Model, df: &Frame) -> Res<Frame> {
    let float_column = |name: String, values: Vec<Option<f64>>| Column {
        name,
        data: ColumnData::Float(values.into()),
    };
    match model.0.predict(df).map_err(fail)? {
        Predictions::Classes(predictions) => {
            let mut out = df
                .with_column(label_column("prediction", &predictions.labels))
                .map_err(fail)?;
            let probabilities = predictions.probabilities.unwrap_or_default();
            if probabilities.is_empty() {
                return Ok(out);
            }
            for (c, class) in model.0.class_labels.iter().enumerate() {
                let values = probabilities.iter().map(|p| p.get(c).copied()).collect();
                out = out
                    .with_column(float_column(format!("p_{class}"), values))
                    .map_err(fail)?;
            }
            Ok(out)
        }
        Predictions::Values(values) => df
            .with_column(float_column(
                "prediction".into(),
                values.into_iter().map(Some).collect(),
            ))
            .map_err(fail),
        Predictions::Clusters(ids) => df
            .with_column(Column {
                name: "cluster".into(),
                data: ColumnData::Int(ids.into_iter().map(Some).collect()),
            })
            .map_err(fail),
        Predictions::Components(rows) => {
            let components = rows.first().map_or(0, Vec::len);
            let mut out = df.clone();
            for c in 0..components {
                let values = rows.iter().map(|r| r.get(c).copied()).collect();
                out = out
                    .with_column(float_column(format!("pc{}", c + 1), values))
                    .map_err(fail)?;
            }
            Ok(out)
        }
    }
}

/// The model's importances or coefficients, or an error naming the models that have them.
pub(super) fn importances(model: &Model) -> Res<importance::Importance> {
    let a = &model.0;
    importance::feature_importances(&a.fitted, a.features.len()).ok_or_else(|| {
        fail(format!(
            "'{}' gives no feature importances; trees, forests, gradient boosting, linear \
             models and logistic regression do",
            a.algorithm
        ))
    })
}

/// The model's feature importances as a frame of a row per feature: an `importance`
/// column (shares summing to 1) for trees, forests and gradient boosting; a `coefficient`
/// column for linear models and two-class logistic regression, a `coefficient_<class>`
/// column per class for more classes.
pub(super) fn importance_frame(model: &Model) -> Res<Frame> {
    let a = &model.0;
    let importance = importances(model)?;
    let names = a.features.iter().map(|f| Some(f.name.clone())).collect();
    let mut columns = vec![Column {
        name: "feature".into(),
        data: ColumnData::Str(names),
    }];
    let float = |name: String, values: &[f64]| Column {
        name,
        data: ColumnData::Float(values.iter().copied().map(Some).collect()),
    };
    match importance {
        importance::Importance::Shares(shares) => columns.push(float("importance".into(), &shares)),
        importance::Importance::Coefficients(rows) if rows.len() == 1 => {
            columns.push(float("coefficient".into(), &rows[0]))
        }
        importance::Importance::Coefficients(rows) => {
            for (class, row) in a.class_labels.iter().zip(&rows) {
                columns.push(float(format!("coefficient_{class}"), row));
            }
        }
    }
    Frame::new(columns).map_err(fail)
}

/// The confusion matrix as a frame: a row per true class, a count column per predicted class.
pub(super) fn confusion_frame(matrix: &metrics::ConfusionMatrix) -> Res<Frame> {
    let mut columns = vec![label_column("actual \\ predicted", &matrix.labels)];
    for (p, label) in matrix.labels.iter().enumerate() {
        let counts = matrix
            .counts
            .iter()
            .map(|row| row.get(p).map(|&n| n as INT))
            .collect();
        columns.push(Column {
            name: label.to_string(),
            data: ColumnData::Int(counts),
        });
    }
    Frame::new(columns).map_err(fail)
}

/// A model from the server's registry: `version` of `name`, or its newest. The artifact
/// is fetched like a file (the cell waits for it), then read as strictly as the server
/// reads uploads, so a corrupted artifact or one of a newer format is a clear error.
fn load_model(shared: &SharedState, name: &str, version: Option<INT>) -> Res<Dynamic> {
    registry_name(name)?;
    let version = match version {
        None => "latest".to_string(),
        Some(v) if v >= 1 => v.to_string(),
        Some(v) => return Err(fail(format!("model versions count from 1, not {v}"))),
    };
    let url = format!("/api/models/{name}/versions/{version}/artifact");
    let Some(bytes) = super::load::provided_bytes(shared, &url) else {
        // A stand-in while the cell waits for the artifact; the run is rolled back.
        return Ok(Dynamic::UNIT);
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        fail(format!(
            "model '{name}' version {version}: the artifact is not UTF-8 text"
        ))
    })?;
    let artifact = ModelArtifact::from_json(text)
        .map_err(|e| fail(format!("model '{name}' version {version}: {e}")))?;
    Ok(Dynamic::from(Model(Arc::new(artifact))))
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
    let loads = shared.clone();
    engine.register_fn("load_model", move |name: &str| {
        load_model(&loads, name, None)
    });
    let loads = shared.clone();
    engine.register_fn("load_model", move |name: &str, version: INT| {
        load_model(&loads, name, Some(version))
    });
    engine.register_type_with_name::<Model>("Model");
    fn parts(split: Result<(Frame, Frame), split::SplitError>) -> Res<Map> {
        let (train, test) = split.map_err(fail)?;
        let mut parts = Map::new();
        parts.insert("train".into(), Dynamic::from(train));
        parts.insert("test".into(), Dynamic::from(test));
        Ok(parts)
    }
    fn seed(seed: INT) -> Res<u64> {
        u64::try_from(seed).map_err(|_| fail(format!("seed must be 0 or more, not {seed}")))
    }
    engine.register_fn(
        "split",
        |df: Frame, test_fraction: FLOAT, s: INT| -> Res<Map> {
            parts(split::train_test_split(&df, test_fraction, seed(s)?))
        },
    );
    engine.register_fn(
        "split",
        |df: Frame, test_fraction: FLOAT, s: INT, stratify_by: &str| -> Res<Map> {
            parts(split::stratified_train_test_split(
                &df,
                test_fraction,
                seed(s)?,
                stratify_by,
            ))
        },
    );
    engine.register_fn("recipe", |model: Model| model.0.recipe.describe());
    // One function per algorithm, with a target (for a classifier or regressor) or without
    // (for an unsupervised model). Both shapes exist for every algorithm so that the wrong
    // one gets `fit`'s error saying what the algorithm learns from, not "function not found".
    for algorithm in crate::model::ALGORITHMS {
        let s = shared.clone();
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str| {
                train(&s, algorithm, &df, &features, Some(target), None)
            },
        );
        let s = shared.clone();
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str, settings: Map| {
                train(&s, algorithm, &df, &features, Some(target), Some(settings))
            },
        );
        let s = shared.clone();
        engine.register_fn(algorithm, move |df: Frame, features: Array| {
            train(&s, algorithm, &df, &features, None, None)
        });
        let s = shared.clone();
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, settings: Map| {
                train(&s, algorithm, &df, &features, None, Some(settings))
            },
        );
    }
    // The same with the algorithm named: fit(df, "ridge", features, target, settings),
    // and without a target for unsupervised algorithms.
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, algorithm: &str, features: Array, target: &str| {
            train(&s, algorithm, &df, &features, Some(target), None)
        },
    );
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, algorithm: &str, features: Array, target: &str, settings: Map| {
            train(&s, algorithm, &df, &features, Some(target), Some(settings))
        },
    );
    let s = shared.clone();
    engine.register_fn("fit", move |df: Frame, algorithm: &str, features: Array| {
        train(&s, algorithm, &df, &features, None, None)
    });
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, algorithm: &str, features: Array, settings: Map| {
            train(&s, algorithm, &df, &features, None, Some(settings))
        },
    );
    engine.register_fn("predict", |model: Model, df: Frame| predict(&model, &df));
    engine.register_fn("feature_importance", |model: Model| {
        importance_frame(&model)
    });
    engine.register_fn("accuracy", |model: Model, df: Frame| -> Res<FLOAT> {
        Ok(metrics::evaluate(&model.0, &df).map_err(fail)?.accuracy)
    });
    engine.register_fn(
        "confusion_matrix",
        |model: Model, df: Frame| -> Res<Frame> {
            metrics::require_task(&model.0, Task::Classification, "confusion_matrix")
                .map_err(fail)?;
            confusion_frame(&metrics::evaluate(&model.0, &df).map_err(fail)?.confusion)
        },
    );
    let deploys = shared.clone();
    engine.register_fn("deploy", move |model: Model, name: &str| -> Res<String> {
        registry_name(name)?;
        deploys.borrow_mut().effects.push(Effect::Deploy {
            endpoint: name.to_string(),
            model_name: name.to_string(),
            artifact: model.0.to_json(),
        });
        Ok(format!("deploying model '{name}'…"))
    });
    let saves = shared.clone();
    engine.register_fn(
        "save_model",
        move |model: Model, name: &str| -> Res<String> {
            registry_name(name)?;
            saves.borrow_mut().effects.push(Effect::SaveModel {
                model_name: name.to_string(),
                artifact: model.0.to_json(),
            });
            Ok(format!("saving model '{name}'…"))
        },
    );
    engine.register_fn("to_string", |m: &mut Model| m.summary());
    engine.register_fn("to_debug", |m: &mut Model| m.summary());
}
