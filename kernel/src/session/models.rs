//! Model functions of the cell language: fitting, predicting, scoring, deploying.

use super::frames::strings;
use super::*;

/// A fitted model as a script value (behind `Arc`: scripts clone values freely).
#[derive(Debug, Clone)]
pub struct Model(pub Arc<ModelArtifact>);

impl Model {
    /// Algorithm, target, features, classes, settings and recorded metrics, a line each.
    pub fn summary(&self) -> String {
        let a = &self.0;
        let list = |items: Vec<String>| items.join(", ");
        let mut lines = vec![
            format!("{} model predicting '{}'", a.algorithm, a.target),
            format!(
                "features: {}",
                list(
                    a.features
                        .iter()
                        .map(|f| format!("{} ({})", f.name, f.dtype))
                        .collect()
                )
            ),
            format!(
                "classes: {}",
                list(a.class_labels.iter().map(ToString::to_string).collect())
            ),
        ];
        if !a.recipe.is_empty() {
            lines.insert(
                2,
                format!(
                    "inputs: {}",
                    list(
                        a.inputs()
                            .iter()
                            .map(|f| format!("{} ({})", f.name, f.dtype))
                            .collect()
                    )
                ),
            );
            lines.insert(
                3,
                format!(
                    "recipe: {} (recipe(model) lists them)",
                    match a.recipe.steps.len() {
                        1 => "1 step".to_string(),
                        n => format!("{n} steps"),
                    }
                ),
            );
        }
        // The settings' own field names, read back from their serialized form.
        if let Ok(serde_json::Value::Object(outer)) = serde_json::to_value(&a.settings) {
            if let Some(serde_json::Value::Object(fields)) = outer.values().next() {
                let fields = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                lines.push(format!("settings: {}", list(fields)));
            }
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

pub(super) fn train(
    algorithm: &str,
    df: &Frame,
    features: &Array,
    target: &str,
    options: Option<Map>,
) -> Res<Model> {
    let features = strings(features, "feature names")?;
    let options = match options {
        None => serde_json::Value::Null,
        Some(map) => rhai::serde::from_dynamic::<serde_json::Value>(&Dynamic::from_map(map))?,
    };
    let settings = Settings::from_json(algorithm, options).map_err(fail)?;
    let mut artifact = fit(df, &features, target, &settings).map_err(fail)?;
    // The score on the training rows, recorded with the model so that its summary and
    // the registry show how well it fits at least the data it saw.
    let evaluation = metrics::evaluate(&artifact, df).map_err(fail)?;
    artifact
        .metrics
        .insert("train_accuracy".to_string(), evaluation.accuracy);
    Ok(Model(Arc::new(artifact)))
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

/// `df` with the model's `prediction` column and a `p_<class>` probability column per
/// class added (replacing columns of those names).
pub(super) fn predict(model: &Model, df: &Frame) -> Res<Frame> {
    let predictions = model.0.predict(df).map_err(fail)?;
    let mut out = df
        .with_column(label_column("prediction", &predictions.labels))
        .map_err(fail)?;
    for (c, class) in model.0.class_labels.iter().enumerate() {
        let probabilities = predictions
            .probabilities
            .iter()
            .map(|p| p.get(c).copied())
            .collect();
        let column = Column {
            name: format!("p_{class}"),
            data: ColumnData::Float(probabilities),
        };
        out = out.with_column(column).map_err(fail)?;
    }
    Ok(out)
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

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
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
    for algorithm in crate::model::ALGORITHMS {
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str| {
                train(algorithm, &df, &features, target, None)
            },
        );
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str, settings: Map| {
                train(algorithm, &df, &features, target, Some(settings))
            },
        );
    }
    engine.register_fn("predict", |model: Model, df: Frame| predict(&model, &df));
    engine.register_fn("accuracy", |model: Model, df: Frame| -> Res<FLOAT> {
        Ok(metrics::evaluate(&model.0, &df).map_err(fail)?.accuracy)
    });
    engine.register_fn(
        "confusion_matrix",
        |model: Model, df: Frame| -> Res<Frame> {
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
