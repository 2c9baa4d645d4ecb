//! Models, artifacts, splits and metrics through the kernel's public Rust API. Runs natively
//! and, with wasm-bindgen-test, in a browser; `determinism` compares both against one
//! committed fixture, proving that fits and predictions are bit-identical on both.

use oxbook_kernel::artifact::ArtifactError;
use oxbook_kernel::model::{FittedModel, ModelError};
use oxbook_kernel::{
    accuracy, confusion_matrix, evaluate, fit, split_indices, train_test_split, ClassLabel, Column,
    ColumnData, Frame, LogisticRegressionSettings, MetricError, ModelArtifact, PredictError,
    RandomForestSettings, Settings, SplitError, ARTIFACT_FORMAT_VERSION,
};
use serde_json::{json, Value};

mod common;
use common::{bits, boolean, float, int, names, noise, string};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Linearly separable with a margin: `bought` iff 2·age/10 − income/10000 + member > 1,
/// with income in the tens of thousands (unscaled on purpose).
fn customers(n: u64) -> Frame {
    let mut age = Vec::new();
    let mut income = Vec::new();
    let mut member = Vec::new();
    let mut bought = Vec::new();
    let mut i = 0;
    while (age.len() as u64) < n {
        let a = 18.0 + 60.0 * noise(3 * i);
        let inc = 20_000 + (80_000.0 * noise(3 * i + 1)) as i64;
        let m = noise(3 * i + 2) < 0.4;
        let score = 2.0 * a / 10.0 - inc as f64 / 10_000.0 + if m { 1.0 } else { 0.0 } - 1.0;
        i += 1;
        if score.abs() < 0.3 {
            continue; // keep a margin so the classes are separable
        }
        age.push(a);
        income.push(inc);
        member.push(m);
        bought.push(score > 0.0);
    }
    Frame::new(vec![
        float("age", age),
        int("income", income),
        boolean("member", member),
        boolean("bought", bought),
    ])
    .unwrap()
}

/// Three classes from two features, with a little label noise.
fn flowers(n: u64) -> Frame {
    let mut length = Vec::new();
    let mut width = Vec::new();
    let mut species = Vec::new();
    for i in 0..n {
        let l = 10.0 * noise(5 * i);
        let w = 4.0 * noise(5 * i + 1);
        let s = l + 1.5 * w + 2.0 * (noise(5 * i + 2) - 0.5);
        length.push(l);
        width.push(w);
        species.push(if s < 5.0 {
            "setosa"
        } else if s < 10.0 {
            "versicolor"
        } else {
            "virginica"
        });
    }
    Frame::new(vec![
        float("length", length),
        float("width", width),
        string("species", species),
    ])
    .unwrap()
}

/// Not linearly separable: class 1 inside a square band (an XOR-like layout).
fn checkerboard(n: u64) -> Frame {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut class = Vec::new();
    for i in 0..n {
        let a = noise(2 * i);
        let b = noise(2 * i + 1);
        x.push(a);
        y.push(b);
        class.push(i64::from((a < 0.5) != (b < 0.5)));
    }
    Frame::new(vec![float("x", x), float("y", y), int("class", class)]).unwrap()
}

fn logistic() -> Settings {
    Settings::LogisticRegression(LogisticRegressionSettings::default())
}

fn forest(trees: usize, seed: u64) -> Settings {
    Settings::RandomForest(RandomForestSettings {
        trees,
        seed,
        ..RandomForestSettings::default()
    })
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn logistic_regression_learns_a_separable_problem() {
    let frame = customers(300);
    let model = fit(
        &frame,
        &names(&["age", "income", "member"]),
        "bought",
        &logistic(),
    )
    .unwrap();
    assert_eq!(model.algorithm_name(), "logistic_regression");
    assert_eq!(model.feature_names(), names(&["age", "income", "member"]));
    assert_eq!(
        model.class_labels,
        vec![ClassLabel::Bool(false), ClassLabel::Bool(true)]
    );
    let scores = evaluate(&model, &frame).unwrap();
    assert!(scores.accuracy > 0.95, "accuracy {}", scores.accuracy);
    let total: u64 = scores.confusion.counts.iter().flatten().sum();
    assert_eq!(total, 300);
    // Held-out rows from the same rule.
    let unseen = evaluate(
        &model,
        &customers(400).take(&(300..400).collect::<Vec<_>>()),
    )
    .unwrap();
    assert!(
        unseen.accuracy > 0.95,
        "held-out accuracy {}",
        unseen.accuracy
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn logistic_probabilities_match_hand_computation() {
    // Binary: P(true) = sigmoid(b + Σ w·(x − mean)/scale).
    let frame = customers(120);
    let features = names(&["age", "income", "member"]);
    let settings = Settings::LogisticRegression(LogisticRegressionSettings {
        max_iter: 50,
        l2_penalty: 0.1,
    });
    let model = fit(&frame, &features, "bought", &settings).unwrap();
    let FittedModel::LogisticRegression(params) = &model.fitted else {
        panic!("not logistic")
    };
    assert_eq!(params.coefficients.len(), 1);
    assert!(params.converged, "{params:?}");
    let predicted = model.predict_classes(&frame).unwrap();
    for row in 0..frame.row_count() {
        let mut z = params.intercepts[0];
        for (j, name) in features.iter().enumerate() {
            let x = frame.column(name).unwrap().data.f64_at(row).unwrap();
            z += params.coefficients[0][j] * (x - params.means[j]) / params.scales[j];
        }
        let p = 1.0 / (1.0 + (-z).exp());
        let got = &predicted.probabilities.as_ref().unwrap()[row];
        assert!(
            (got[1] - p).abs() < 1e-12 && (got[0] - (1.0 - p)).abs() < 1e-12,
            "row {row}"
        );
        assert_eq!(predicted.labels[row], ClassLabel::Bool(p > 0.5));
    }

    // Multiclass: softmax over one score per class.
    let frame = flowers(150);
    let features = names(&["length", "width"]);
    let model = fit(&frame, &features, "species", &logistic()).unwrap();
    let FittedModel::LogisticRegression(params) = &model.fitted else {
        panic!("not logistic")
    };
    assert_eq!(params.coefficients.len(), 3);
    let predicted = model.predict_classes(&frame).unwrap();
    for row in 0..frame.row_count() {
        let scores: Vec<f64> = (0..3)
            .map(|c| {
                let mut z = params.intercepts[c];
                for (j, name) in features.iter().enumerate() {
                    let x = frame.column(name).unwrap().data.f64_at(row).unwrap();
                    z += params.coefficients[c][j] * (x - params.means[j]) / params.scales[j];
                }
                z
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
        for (c, score) in scores.iter().enumerate() {
            let p = (score - max).exp() / sum;
            assert!(
                (predicted.probabilities.as_ref().unwrap()[row][c] - p).abs() < 1e-12,
                "row {row} class {c}"
            );
        }
    }
    let scores = evaluate(&model, &frame).unwrap();
    assert!(scores.accuracy > 0.85, "accuracy {}", scores.accuracy);
    assert_eq!(
        scores.confusion.labels,
        vec![
            ClassLabel::Str("setosa".into()),
            ClassLabel::Str("versicolor".into()),
            ClassLabel::Str("virginica".into())
        ]
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn logistic_regression_reports_running_out_of_iterations() {
    let frame = flowers(150);
    let settings = Settings::LogisticRegression(LogisticRegressionSettings {
        max_iter: 2,
        l2_penalty: 0.0,
    });
    let model = fit(&frame, &names(&["length", "width"]), "species", &settings).unwrap();
    let FittedModel::LogisticRegression(params) = &model.fitted else {
        panic!("not logistic")
    };
    assert_eq!(params.iterations, 2);
    assert!(!params.converged);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn forest_learns_a_nonlinear_problem() {
    let frame = checkerboard(400);
    let (train, test) = train_test_split(&frame, 0.25, 1).unwrap();
    let model = fit(&train, &names(&["x", "y"]), "class", &forest(30, 5)).unwrap();
    assert_eq!(model.algorithm_name(), "random_forest");
    assert_eq!(
        model.class_labels,
        vec![ClassLabel::Int(0), ClassLabel::Int(1)]
    );
    let scores = evaluate(&model, &test).unwrap();
    assert!(scores.accuracy > 0.9, "accuracy {}", scores.accuracy);
    let predicted = model.predict_classes(&test).unwrap();
    for p in predicted.probabilities.as_ref().unwrap() {
        assert!((p[0] + p[1] - 1.0).abs() < 1e-12 && p.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    // A linear model cannot do this; the forest is not doing it by accident.
    let linear = fit(&train, &names(&["x", "y"]), "class", &logistic()).unwrap();
    assert!(evaluate(&linear, &test).unwrap().accuracy < 0.75);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn forest_is_deterministic_for_a_seed() {
    let frame = flowers(120);
    let features = names(&["length", "width"]);
    let a = fit(&frame, &features, "species", &forest(10, 7)).unwrap();
    let b = fit(&frame, &features, "species", &forest(10, 7)).unwrap();
    let c = fit(&frame, &features, "species", &forest(10, 8)).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_ne!(a.to_json(), c.to_json());
    // Tree t depends only on (seed, t): a bigger forest starts with the same trees.
    let bigger = fit(&frame, &features, "species", &forest(12, 7)).unwrap();
    let (FittedModel::RandomForest(small), FittedModel::RandomForest(big)) =
        (&a.fitted, &bigger.fitted)
    else {
        panic!("not forests")
    };
    assert_eq!(small.trees[..], big.trees[..10]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn forest_respects_depth_and_split_settings() {
    let frame = checkerboard(200);
    let features = names(&["x", "y"]);
    let stumps = Settings::RandomForest(RandomForestSettings {
        trees: 5,
        max_depth: 1,
        ..RandomForestSettings::default()
    });
    let model = fit(&frame, &features, "class", &stumps).unwrap();
    let FittedModel::RandomForest(params) = &model.fitted else {
        panic!("not a forest")
    };
    assert!(
        params.trees.iter().all(|t| t.nodes.len() == 3),
        "one split per tree"
    );
    let no_split = Settings::RandomForest(RandomForestSettings {
        trees: 3,
        min_samples_split: 1000,
        ..RandomForestSettings::default()
    });
    let model = fit(&frame, &features, "class", &no_split).unwrap();
    let FittedModel::RandomForest(params) = &model.fitted else {
        panic!("not a forest")
    };
    assert!(
        params.trees.iter().all(|t| t.nodes.len() == 1),
        "rows < min_samples_split"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn artifact_round_trip_gives_identical_predictions() {
    let frame = customers(150);
    let features = names(&["age", "income", "member"]);
    for settings in [logistic(), forest(15, 3)] {
        let mut model = fit(&frame, &features, "bought", &settings).unwrap();
        model.metrics.insert("accuracy".into(), 0.5);
        model.metrics.insert("broken".into(), f64::NAN);
        let text = model.to_json();
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["format_version"], json!(ARTIFACT_FORMAT_VERSION));
        assert_eq!(document["class_labels"], json!([false, true]));
        assert_eq!(
            document["features"][1],
            json!({"name": "income", "dtype": "int"})
        );
        assert_eq!(
            document["metrics"],
            json!({"accuracy": 0.5}),
            "NaN metrics are dropped"
        );
        let loaded = ModelArtifact::from_json(&text).unwrap();
        assert_eq!(loaded.to_json(), text);
        let before = model.predict_classes(&frame).unwrap();
        let after = loaded.predict_classes(&frame).unwrap();
        assert_eq!(before.labels, after.labels);
        assert_eq!(
            bits(before.probabilities.as_ref().unwrap()),
            bits(after.probabilities.as_ref().unwrap())
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn from_json_reports_what_is_wrong() {
    let model = fit(
        &flowers(60),
        &names(&["length", "width"]),
        "species",
        &forest(2, 1),
    )
    .unwrap();
    let good: Value = serde_json::from_str(&model.to_json()).unwrap();

    match ModelArtifact::from_json("model, please") {
        Err(ArtifactError::Syntax {
            line: 1, column: 1, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let text = serde_json::to_string_pretty(&good).unwrap();
    let truncated = &text[..text.len() / 2];
    match ModelArtifact::from_json(truncated) {
        Err(e @ ArtifactError::Syntax { .. }) => {
            assert!(e.to_string().contains("EOF while parsing"), "{e}");
            // The line the text ends on (a cut right after a newline ends on an empty one).
            let lines = truncated.matches('\n').count() + 1;
            assert!(e.to_string().contains(&format!("line {lines}")), "{e}");
        }
        other => panic!("{other:?}"),
    }

    let mut newer = good.clone();
    newer["format_version"] = json!(99);
    newer["fitted"] = json!("something new");
    let err = ModelArtifact::from_json(&newer.to_string()).unwrap_err();
    assert_eq!(
        err,
        ArtifactError::TooNew {
            found: 99,
            supported: ARTIFACT_FORMAT_VERSION
        }
    );
    assert_eq!(
        err.to_string(),
        "artifact format 99 is newer than this Oxbook supports (1); upgrade Oxbook to load it"
    );

    let mut unknown = good.clone();
    unknown["algorithm"] = json!("xgboost");
    let err = ModelArtifact::from_json(&unknown.to_string()).unwrap_err();
    assert_eq!(
        err,
        ArtifactError::UnknownAlgorithm {
            name: "xgboost".into()
        }
    );
    assert!(
        err.to_string()
            .contains("logistic_regression, random_forest"),
        "{err}"
    );

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("features");
    let err = ModelArtifact::from_json(&missing.to_string()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Malformed(m) if m.contains("missing field `features`")),
        "{err}"
    );

    let mut mistyped = good.clone();
    mistyped["fitted"]["random_forest"]["trees"][0]["nodes"][0] = json!({"leaf": {"counts": "x"}});
    let err = ModelArtifact::from_json(&mistyped.to_string()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Malformed(m) if m.contains("fitted.random_forest.trees[0].nodes[0]")),
        "{err}"
    );

    let mut cyclic = good.clone();
    cyclic["fitted"]["random_forest"]["trees"][0]["nodes"][0] =
        json!({"split": {"feature": 0, "threshold": 1.0, "left": 0, "right": 0}});
    let err = ModelArtifact::from_json(&cyclic.to_string()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Inconsistent(m) if m.contains("tree 0 node 0")),
        "{err}"
    );

    let mut out_of_range = good.clone();
    out_of_range["fitted"]["random_forest"]["trees"][1]["nodes"][0] =
        json!({"split": {"feature": 9, "threshold": 1.0, "left": 1, "right": 2}});
    let err = ModelArtifact::from_json(&out_of_range.to_string()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Inconsistent(m) if m.contains("feature 9")),
        "{err}"
    );

    let mut mismatched = good.clone();
    mismatched["algorithm"] = json!("logistic_regression");
    assert!(matches!(
        ModelArtifact::from_json(&mismatched.to_string()),
        Err(ArtifactError::Inconsistent(_))
    ));

    assert!(matches!(
        ModelArtifact::from_json("[1, 2]"),
        Err(ArtifactError::Malformed(_))
    ));
    assert!(ModelArtifact::from_json(&good.to_string()).is_ok());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn predict_records_checks_each_value() {
    let frame = customers(100);
    let model = fit(
        &frame,
        &names(&["age", "income", "member"]),
        "bought",
        &logistic(),
    )
    .unwrap();
    let records = |rows: Value| -> Vec<serde_json::Map<String, Value>> {
        serde_json::from_value(rows).unwrap()
    };
    let good = records(json!([
        {"age": 70, "income": 21000, "member": true, "name": "ignored"},
        {"age": 19.5, "income": 99000.0, "member": false},
    ]));
    let response = model.predict_records(&good).unwrap();
    assert_eq!(response.predictions, vec![json!(true), json!(false)]);
    assert_eq!(response.classes, Some(vec![json!(false), json!(true)]));
    let probabilities = response.probabilities.unwrap();
    assert!(
        probabilities[0][1] > 0.9 && probabilities[1][0] > 0.9,
        "{probabilities:?}"
    );
    // Same numbers as predicting on a frame.
    let same = Frame::new(vec![
        float("age", vec![70.0, 19.5]),
        int("income", vec![21000, 99000]),
        boolean("member", vec![true, false]),
    ])
    .unwrap();
    assert_eq!(
        bits(&model.predict_classes(&same).unwrap().probabilities.unwrap()),
        bits(&probabilities)
    );

    let cases = [
        (
            json!([{"age": 30, "income": 1, "member": true}, {"age": 30, "member": true}]),
            PredictError::MissingField {
                row: 1,
                column: "income".into(),
            },
            "row 1: missing feature 'income'",
        ),
        (
            json!([{"age": null, "income": 1, "member": true}]),
            PredictError::Null {
                row: 0,
                column: "age".into(),
            },
            "row 0: 'age' is null",
        ),
        (
            json!([{"age": 1, "income": 1, "member": true}, {"age": "old", "income": 1, "member": true}]),
            PredictError::FieldType {
                row: 1,
                column: "age".into(),
                expected: oxbook_kernel::DType::Float,
                found: "the string \"old\"".into(),
            },
            "row 1: 'age' should be float, got the string \"old\"",
        ),
        (
            json!([{"age": 1, "income": 1.5, "member": true}]),
            PredictError::FieldType {
                row: 0,
                column: "income".into(),
                expected: oxbook_kernel::DType::Int,
                found: "the number 1.5".into(),
            },
            "row 0: 'income' should be int, got the number 1.5",
        ),
        (
            json!([{"age": 1, "income": 1, "member": 1}]),
            PredictError::FieldType {
                row: 0,
                column: "member".into(),
                expected: oxbook_kernel::DType::Bool,
                found: "the number 1".into(),
            },
            "row 0: 'member' should be bool, got the number 1",
        ),
    ];
    for (rows, expected, message) in cases {
        let err = model.predict_records(&records(rows)).unwrap_err();
        assert_eq!(err, expected);
        assert!(err.to_string().starts_with(message), "{err}");
    }
    assert_eq!(
        model.predict_records(&[]).unwrap().predictions,
        Vec::<Value>::new()
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn predict_on_frames_checks_columns() {
    let frame = customers(80);
    let model = fit(
        &frame,
        &names(&["age", "income", "member"]),
        "bought",
        &forest(3, 1),
    )
    .unwrap();
    let without = frame.select(&names(&["age", "member"])).unwrap();
    assert_eq!(
        model.predict_classes(&without).unwrap_err(),
        PredictError::MissingColumn {
            column: "income".into()
        }
    );
    let wrong = Frame::new(vec![
        float("age", vec![1.0]),
        string("income", vec!["lots"]),
        boolean("member", vec![true]),
    ])
    .unwrap();
    assert!(
        matches!(model.predict_classes(&wrong), Err(PredictError::ColumnType { column, .. }) if column == "income")
    );
    let nulls = Frame::new(vec![
        float("age", vec![1.0, 2.0]),
        Column {
            name: "income".into(),
            data: ColumnData::Int(vec![Some(5), None].into()),
        },
        boolean("member", vec![true, false]),
    ])
    .unwrap();
    assert_eq!(
        model.predict_classes(&nulls).unwrap_err(),
        PredictError::Null {
            row: 1,
            column: "income".into()
        }
    );
    // Int values for a float feature (and the reverse) are fine.
    let ints = Frame::new(vec![
        int("age", vec![30]),
        float("income", vec![50000.0]),
        boolean("member", vec![true]),
    ])
    .unwrap();
    assert_eq!(model.predict_classes(&ints).unwrap().labels.len(), 1);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn settings_are_validated_and_errors_name_the_setting() {
    let invalid = |settings: Settings| match settings.validate() {
        Err(ModelError::InvalidSetting { setting, message }) => (setting, message),
        other => panic!("{other:?}"),
    };
    let (setting, message) = invalid(forest(0, 1));
    assert_eq!(setting, "trees");
    assert!(message.contains("got 0"), "{message}");
    let (setting, message) = invalid(forest(10_001, 1));
    assert_eq!(setting, "trees");
    assert!(message.contains("between 1 and 10000"), "{message}");
    let (setting, _) = invalid(Settings::RandomForest(RandomForestSettings {
        features_per_split: Some(0),
        ..RandomForestSettings::default()
    }));
    assert_eq!(setting, "features_per_split");
    let (setting, _) = invalid(Settings::RandomForest(RandomForestSettings {
        max_depth: 0,
        ..RandomForestSettings::default()
    }));
    assert_eq!(setting, "max_depth");
    let (setting, _) = invalid(Settings::RandomForest(RandomForestSettings {
        min_samples_split: 1,
        ..RandomForestSettings::default()
    }));
    assert_eq!(setting, "min_samples_split");
    let (setting, _) = invalid(Settings::LogisticRegression(LogisticRegressionSettings {
        max_iter: 0,
        l2_penalty: 0.0,
    }));
    assert_eq!(setting, "max_iter");
    let (setting, _) = invalid(Settings::LogisticRegression(LogisticRegressionSettings {
        max_iter: 5,
        l2_penalty: -1.0,
    }));
    assert_eq!(setting, "l2_penalty");

    // As a script passes them.
    let parsed = Settings::from_json("random_forest", json!({"trees": 5, "seed": 9})).unwrap();
    assert_eq!(
        parsed,
        Settings::RandomForest(RandomForestSettings {
            trees: 5,
            seed: 9,
            ..RandomForestSettings::default()
        })
    );
    assert_eq!(
        Settings::from_json("logistic_regression", Value::Null).unwrap(),
        Settings::LogisticRegression(LogisticRegressionSettings {
            max_iter: 200,
            l2_penalty: 0.0
        })
    );
    let message = |algorithm: &str, options: Value| {
        Settings::from_json(algorithm, options)
            .unwrap_err()
            .to_string()
    };
    let m = message("random_forest", json!({"tres": 5}));
    assert!(
        m.contains("unknown field `tres`") && m.contains("`trees`"),
        "{m}"
    );
    let m = message("random_forest", json!({"trees": "many"}));
    assert!(
        m.starts_with("setting 'trees': invalid type: string \"many\""),
        "{m}"
    );
    let m = message("random_forest", json!({"seed": -1}));
    assert!(m.starts_with("setting 'seed'"), "{m}");
    let m = message("random_forest", json!({"trees": 0}));
    assert!(m.starts_with("setting 'trees' must be between 1"), "{m}");
    let m = message("logistic_regression", json!({"l2_penalty": "high"}));
    assert!(m.starts_with("setting 'l2_penalty'"), "{m}");
    let m = message("xgboost", json!({}));
    assert!(m.contains("unknown model algorithm 'xgboost'"), "{m}");

    // features_per_split is checked against the data at fit time.
    let too_many = Settings::RandomForest(RandomForestSettings {
        features_per_split: Some(3),
        ..RandomForestSettings::default()
    });
    let err = fit(&checkerboard(20), &names(&["x", "y"]), "class", &too_many).unwrap_err();
    assert!(
        matches!(&err, ModelError::InvalidSetting { setting, .. } if setting == "features_per_split"),
        "{err}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fit_rejects_unusable_data_naming_the_column() {
    let frame = Frame::new(vec![
        float("x", vec![1.0, 2.0, 3.0, 4.0]),
        Column {
            name: "gappy".into(),
            data: ColumnData::Float(vec![Some(1.0), None, None, Some(4.0)].into()),
        },
        string("colour", vec!["red", "blue", "red", "blue"]),
        float("price", vec![1.5, 2.5, 3.5, 4.5]),
        int("label", vec![0, 1, 0, 1]),
        int("same", vec![1, 1, 1, 1]),
        Column {
            name: "maybe".into(),
            data: ColumnData::Bool(vec![Some(true), None, Some(false), Some(true)].into()),
        },
    ])
    .unwrap();
    let go = |features: &[&str], target: &str| {
        fit(&frame, &names(features), target, &logistic()).unwrap_err()
    };
    assert_eq!(
        go(&["colour"], "label"),
        ModelError::StringFeature {
            column: "colour".into()
        }
    );
    assert!(go(&["colour"], "label").to_string().contains("encode"));
    assert_eq!(
        go(&["x", "gappy"], "label"),
        ModelError::NullValues {
            column: "gappy".into(),
            count: 2
        }
    );
    assert!(go(&["gappy"], "label").to_string().contains("drop_nulls"));
    assert_eq!(
        go(&["x"], "maybe"),
        ModelError::NullValues {
            column: "maybe".into(),
            count: 1
        }
    );
    assert_eq!(
        go(&["x"], "price"),
        ModelError::FloatTarget {
            column: "price".into()
        }
    );
    assert_eq!(
        go(&["x"], "same"),
        ModelError::TooFewClasses {
            column: "same".into(),
            found: 1
        }
    );
    assert_eq!(go(&[], "label"), ModelError::NoFeatures);
    assert_eq!(
        go(&["x", "x"], "label"),
        ModelError::DuplicateFeature { column: "x".into() }
    );
    assert_eq!(
        go(&["label"], "label"),
        ModelError::TargetIsFeature {
            column: "label".into()
        }
    );
    assert!(go(&["nope"], "label").to_string().contains("nope"));
    let nan = Frame::new(vec![
        float("x", vec![1.0, f64::NAN]),
        int("label", vec![0, 1]),
    ])
    .unwrap();
    assert_eq!(
        fit(&nan, &names(&["x"]), "label", &logistic()).unwrap_err(),
        ModelError::NonFinite {
            column: "x".into(),
            count: 1
        }
    );
    let empty = frame.take(&[]);
    assert_eq!(
        fit(&empty, &names(&["x"]), "label", &forest(2, 1)).unwrap_err(),
        ModelError::EmptyFrame
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn split_sizes_and_determinism() {
    let s = split_indices(10, 0.3, 42).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (7, 3));
    let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert!(s.train.windows(2).all(|w| w[0] < w[1]) && s.test.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(split_indices(10, 0.3, 42).unwrap(), s);
    let others: Vec<_> = (0..5)
        .map(|seed| split_indices(100, 0.2, seed).unwrap().test)
        .collect();
    assert!(others.windows(2).all(|w| w[0] != w[1]));
    assert_eq!(split_indices(101, 0.2, 0).unwrap().test.len(), 20);

    let frame = Frame::new(vec![int("id", (0..10).collect())]).unwrap();
    let (train, test) = train_test_split(&frame, 0.3, 42).unwrap();
    let ids = |f: &Frame| -> Vec<usize> {
        (0..f.row_count())
            .map(|i| f.column("id").unwrap().data.f64_at(i).unwrap() as usize)
            .collect()
    };
    assert_eq!((ids(&train), ids(&test)), (s.train, s.test));

    for bad in [0.0, 1.0, -0.5, 2.0, f64::NAN] {
        let err = split_indices(10, bad, 1).unwrap_err();
        assert!(
            matches!(err, SplitError::FractionOutOfRange { .. }),
            "{bad}"
        );
        assert!(err.to_string().contains("between 0 and 1"));
    }
    assert_eq!(
        split_indices(10, 0.01, 1).unwrap_err(),
        SplitError::EmptySide {
            rows: 10,
            test_fraction: 0.01,
            test_rows: 0,
            train_rows: 10
        }
    );
    assert!(matches!(
        split_indices(1, 0.5, 1),
        Err(SplitError::EmptySide { .. })
    ));
    assert!(matches!(
        split_indices(10, 0.99, 1),
        Err(SplitError::EmptySide { train_rows: 0, .. })
    ));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn accuracy_and_confusion_on_known_labels() {
    let l = |s: &str| ClassLabel::Str(s.into());
    let truth = [l("cat"), l("cat"), l("dog"), l("dog"), l("dog"), l("eel")];
    let predicted = [l("cat"), l("dog"), l("dog"), l("dog"), l("cat"), l("fox")];
    assert_eq!(accuracy(&truth, &predicted).unwrap(), 0.5);
    let m = confusion_matrix(&truth, &predicted).unwrap();
    assert_eq!(m.labels, vec![l("cat"), l("dog"), l("eel"), l("fox")]);
    assert_eq!(
        m.counts,
        vec![
            vec![1, 1, 0, 0],
            vec![1, 2, 0, 0],
            vec![0, 0, 0, 1],
            vec![0, 0, 0, 0]
        ]
    );
    assert_eq!(
        accuracy(&truth, &predicted[..2]).unwrap_err(),
        MetricError::LengthMismatch {
            truth: 6,
            predicted: 2
        }
    );
    assert_eq!(accuracy(&[], &[]).unwrap_err(), MetricError::Empty);
    let ints = [ClassLabel::Int(2), ClassLabel::Int(10), ClassLabel::Int(2)];
    let m = confusion_matrix(&ints, &ints).unwrap();
    assert_eq!(
        m.labels,
        vec![ClassLabel::Int(2), ClassLabel::Int(10)],
        "numeric order"
    );
    assert_eq!(m.counts, vec![vec![2, 0], vec![0, 1]]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn evaluate_uses_the_artifact_target() {
    let frame = checkerboard(100);
    let model = fit(&frame, &names(&["x", "y"]), "class", &forest(5, 2)).unwrap();
    let result = evaluate(&model, &frame).unwrap();
    let predicted = model.predict_classes(&frame).unwrap().labels;
    let truth = oxbook_kernel::target_labels(&frame, "class").unwrap();
    assert_eq!(result.accuracy, accuracy(&truth, &predicted).unwrap());
    assert_eq!(
        result.confusion,
        confusion_matrix(&truth, &predicted).unwrap()
    );
    // A class the model never saw gets its own row after the model's classes.
    let class = vec![7, 1, 1, 0];
    let unseen = Frame::new(vec![
        float("x", vec![0.1, 0.9, 0.1, 0.9]),
        float("y", vec![0.1, 0.1, 0.9, 0.9]),
        int("class", class),
    ])
    .unwrap();
    let result = evaluate(&model, &unseen).unwrap();
    assert_eq!(
        result.confusion.labels,
        vec![ClassLabel::Int(0), ClassLabel::Int(1), ClassLabel::Int(7)]
    );
    let wrong_type = Frame::new(vec![
        float("x", vec![0.1]),
        float("y", vec![0.1]),
        string("class", vec!["0"]),
    ])
    .unwrap();
    assert!(matches!(
        evaluate(&model, &wrong_type),
        Err(MetricError::TargetType { .. })
    ));
    let no_target = frame.select(&names(&["x", "y"])).unwrap();
    assert!(evaluate(&model, &no_target)
        .unwrap_err()
        .to_string()
        .contains("class"));
}

// ----- determinism snapshot --------------------------------------------------------------

const FIXTURE: &str = include_str!("fixtures/determinism.json");

/// A dataset of every feature type, built without any random generator.
fn determinism_data() -> Frame {
    let n = 240;
    let (mut a, mut b, mut income, mut member, mut kind, mut bought) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let av = 10.0 * noise(4 * i) - 5.0;
        let bv = 4.0 * noise(4 * i + 1);
        let inc = 20_000 + (100_000.0 * noise(4 * i + 2)) as i64;
        let m = noise(4 * i + 3) < 0.4;
        let jitter = 3.0 * (noise(1_000_000 + i) - 0.5);
        let s = av + 0.8 * bv + if m { 1.5 } else { 0.0 } - inc as f64 / 40_000.0 + jitter;
        a.push(av);
        b.push(bv);
        income.push(inc);
        member.push(m);
        kind.push(if s < -1.0 {
            "low"
        } else if s < 2.0 {
            "mid"
        } else {
            "high"
        });
        bought.push(av - bv + 2.0 * jitter > 0.0);
    }
    Frame::new(vec![
        float("a", a),
        float("b", b),
        int("income", income),
        boolean("member", member),
        string("kind", kind),
        boolean("bought", bought),
    ])
    .unwrap()
}

fn hex(values: &[Vec<f64>]) -> Value {
    json!(values
        .iter()
        .map(|row| row
            .iter()
            .map(|v| format!("{:016x}", v.to_bits()))
            .collect::<Vec<_>>())
        .collect::<Vec<_>>())
}

/// The artifact (without `created_with`, which changes with every release) and its
/// predictions on `test`, with probabilities as exact bits.
fn model_fingerprint(model: &ModelArtifact, test: &Frame) -> Value {
    let mut artifact: Value = serde_json::from_str(&model.to_json()).unwrap();
    artifact.as_object_mut().unwrap().remove("created_with");
    let predicted = model.predict_classes(test).unwrap();
    json!({
        "artifact": artifact,
        "labels": predicted.labels.iter().map(ClassLabel::to_json).collect::<Vec<_>>(),
        "probabilities": hex(predicted.probabilities.as_ref().unwrap()),
    })
}

fn determinism_fingerprint() -> Value {
    let frame = determinism_data();
    let split = split_indices(frame.row_count(), 0.25, 7).unwrap();
    let (train, test) = (frame.take(&split.train), frame.take(&split.test));
    let features = names(&["a", "b", "income", "member"]);
    let forest = Settings::RandomForest(RandomForestSettings {
        trees: 20,
        max_depth: 4,
        ..RandomForestSettings::default()
    });
    let forest = fit(&train, &features, "kind", &forest).unwrap();
    let multiclass = fit(&train, &features, "kind", &logistic()).unwrap();
    let binary = fit(&train, &features, "bought", &logistic()).unwrap();
    json!({
        "test_indices": split.test,
        "random_forest": model_fingerprint(&forest, &test),
        "logistic_multiclass": model_fingerprint(&multiclass, &test),
        "logistic_binary": model_fingerprint(&binary, &test),
    })
}

/// Pretty JSON, but short values and arrays of plain values on one line: a readable,
/// diffable fixture a fraction of `to_string_pretty`'s size.
#[cfg(not(target_arch = "wasm32"))]
fn layout(value: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    let compact = value.to_string();
    if compact.len() + 2 * indent <= 100 {
        return compact;
    }
    match value {
        Value::Object(map) if !map.is_empty() => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}",
                        Value::from(k.as_str()),
                        layout(v, indent + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{close}}}", items.join(",\n"))
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", layout(v, indent + 1)))
                .collect();
            format!("[\n{}\n{close}]", items.join(",\n"))
        }
        other => other.to_string(),
    }
}

/// The first place where two JSON values differ, as a path.
fn first_difference(expected: &Value, actual: &Value, path: String) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys()) {
                let (Some(ev), Some(av)) = (e.get(key), a.get(key)) else {
                    return Some(format!("{path}.{key}: present on one side only"));
                };
                if let Some(d) = first_difference(ev, av, format!("{path}.{key}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Some(format!(
                    "{path}: {} items expected, {} found",
                    e.len(),
                    a.len()
                ));
            }
            e.iter()
                .zip(a)
                .enumerate()
                .find_map(|(i, (ev, av))| first_difference(ev, av, format!("{path}[{i}]")))
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, found {actual}")),
    }
}

/// The same fits and predictions, to the bit, natively and in wasm32 (the fixture is
/// compiled in). `UPDATE_EXPECT=1 cargo test -p oxbook-kernel --test models determinism`
/// rewrites the fixture after an intended change.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn determinism() {
    let actual = determinism_fingerprint();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/determinism.json"
        );
        let text = layout(&actual, 0) + "\n";
        std::fs::write(path, text).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    if let Some(difference) = first_difference(&expected, &actual, String::new()) {
        panic!(
            "determinism fingerprint changed at {difference}; if intended, rerun natively \
             with UPDATE_EXPECT=1"
        );
    }
    // The fingerprint is not trivially equal: it holds real predictions.
    assert_eq!(expected["test_indices"].as_array().map(Vec::len), Some(60));
}
