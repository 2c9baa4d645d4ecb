//! Regressors (linear, ridge, lasso, elastic net, decision tree, random forest, k-NN),
//! tasks in artifacts, fit progress and cancelling, through the kernel's public Rust API and
//! through cells. Runs natively and, with wasm-bindgen-test, in a browser:
//! `regressor_predictions_are_identical_on_every_platform` pins the predictions' bits to
//! values both must reproduce, and `linear_models_match_scikit_learn` compares fitted
//! coefficients with scikit-learn's (`scripts/make-regressor-fixtures.py`).

use std::ops::ControlFlow;

use oxbook_kernel::artifact::ArtifactError;
use oxbook_kernel::metrics::{evaluate_regression, regression_report};
use oxbook_kernel::model::{
    task_of, DecisionTreeSettings, ElasticNetSettings, FittedModel, KnnSettings, KnnWeights,
    LassoSettings, LinearRegressionSettings, RidgeSettings, TreeNode, ALGORITHMS,
};
use oxbook_kernel::{
    evaluate, fit, fit_monitored, FitProgress, Frame, LogisticRegressionSettings, MetricError,
    ModelArtifact, ModelError, PredictError, Predictions, RandomForestSettings, Session, Settings,
    Task,
};
use oxbook_protocol::{CellStatus, Output};
use serde_json::{json, Value};

mod common;
use common::{boolean, float, int, names, noise, string};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A linear signal with noise: price = 50 + 2·size + 10·rooms + 15·garden + noise, with
/// size in the tens and rooms small integers. `offset` picks other rows of the same kind.
fn houses(n: u64, offset: u64) -> Frame {
    let (mut size, mut rooms, mut garden, mut price) = (vec![], vec![], vec![], vec![]);
    for i in offset..offset + n {
        let s = 30.0 + 120.0 * noise(4 * i);
        let r = 1 + (noise(4 * i + 1) * 5.0) as i64;
        let g = noise(4 * i + 2) < 0.5;
        let jitter = 4.0 * (noise(4 * i + 3) - 0.5);
        size.push(s);
        rooms.push(r);
        garden.push(g);
        price.push(50.0 + 2.0 * s + 10.0 * r as f64 + if g { 15.0 } else { 0.0 } + jitter);
    }
    Frame::new(vec![
        float("size", size),
        int("rooms", rooms),
        boolean("garden", garden),
        float("price", price),
    ])
    .unwrap()
}

/// A step function of `x` (10, then 30, then 5) that no straight line follows, and a
/// feature `z` that carries nothing.
fn steps(n: u64, offset: u64) -> Frame {
    let (mut x, mut z, mut y) = (vec![], vec![], vec![]);
    for i in offset..offset + n {
        let a = noise(3 * i);
        x.push(a);
        z.push(noise(3 * i + 1));
        let level = if a < 0.3 {
            10.0
        } else if a < 0.7 {
            30.0
        } else {
            5.0
        };
        y.push(level + 0.5 * (noise(3 * i + 2) - 0.5));
    }
    Frame::new(vec![float("x", x), float("z", z), float("y", y)]).unwrap()
}

const HOUSE_FEATURES: [&str; 3] = ["size", "rooms", "garden"];

/// Every regressor, with settings that suit the small test sets.
fn regressors() -> Vec<Settings> {
    vec![
        Settings::LinearRegression(LinearRegressionSettings::default()),
        Settings::Ridge(RidgeSettings::default()),
        Settings::Lasso(LassoSettings {
            alpha: 0.1,
            ..LassoSettings::default()
        }),
        Settings::ElasticNet(ElasticNetSettings {
            alpha: 0.1,
            ..ElasticNetSettings::default()
        }),
        Settings::DecisionTreeRegressor(DecisionTreeSettings {
            max_depth: 6,
            ..DecisionTreeSettings::default()
        }),
        Settings::RandomForestRegressor(RandomForestSettings {
            trees: 20,
            max_depth: 6,
            ..RandomForestSettings::default()
        }),
        Settings::KnnRegressor(KnnSettings {
            k: 4,
            weights: KnnWeights::Distance,
        }),
    ]
}

fn r2_on(model: &ModelArtifact, frame: &Frame) -> f64 {
    evaluate_regression(model, frame).unwrap().r2
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_algorithm_has_a_task_and_settings() {
    for name in ALGORITHMS {
        let task = task_of(name).unwrap_or_else(|| panic!("{name} has no task"));
        let settings = Settings::from_json(name, Value::Null).unwrap();
        assert_eq!(settings.algorithm_name(), name);
        assert_eq!(settings.task(), task, "{name}");
    }
    assert_eq!(task_of("ridge"), Some(Task::Regression));
    assert_eq!(task_of("knn"), Some(Task::Classification));
    assert_eq!(task_of("xgboost"), None);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn regressors_learn_a_linear_signal() {
    let train = houses(200, 0);
    let test = houses(100, 10_000);
    let features = names(&HOUSE_FEATURES);
    for settings in regressors() {
        let model = fit(&train, &features, "price", &settings).unwrap();
        assert_eq!(model.task, Task::Regression);
        assert!(model.class_labels.is_empty());
        assert_eq!(model.target(), Some("price"));
        let r2 = r2_on(&model, &test);
        // The signal spans ~300; the noise ±2. Neighbours and trees approximate the plane
        // piecewise, linear models recover it.
        let floor = match settings {
            Settings::KnnRegressor(_) | Settings::DecisionTreeRegressor(_) => 0.95,
            Settings::RandomForestRegressor(_) => 0.97,
            _ => 0.999,
        };
        assert!(
            r2 > floor,
            "{}: held-out R² {r2}",
            settings.algorithm_name()
        );
    }
    // The least-squares coefficients are close to the generating ones.
    let model = fit(
        &train,
        &features,
        "price",
        &Settings::LinearRegression(LinearRegressionSettings::default()),
    )
    .unwrap();
    let FittedModel::LinearRegression(fitted) = &model.fitted else {
        panic!("{:?}", model.fitted)
    };
    for (got, want) in fitted.coefficients.iter().zip([2.0, 10.0, 15.0]) {
        assert!((got - want).abs() < 0.3, "{:?}", fitted.coefficients);
    }
    assert!(
        (fitted.intercept - 50.0).abs() < 2.0,
        "{}",
        fitted.intercept
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn trees_and_neighbours_follow_what_a_line_cannot() {
    let train = steps(300, 0);
    let test = steps(200, 50_000);
    let features = names(&["x", "z"]);
    let linear = fit(
        &train,
        &features,
        "y",
        &Settings::LinearRegression(LinearRegressionSettings::default()),
    )
    .unwrap();
    assert!(r2_on(&linear, &test) < 0.3, "{}", r2_on(&linear, &test));
    for settings in &regressors()[4..] {
        let model = fit(&train, &features, "y", settings).unwrap();
        let r2 = r2_on(&model, &test);
        // k-NN measures distance in `z` too, which only blurs the steps.
        let floor = if matches!(settings, Settings::KnnRegressor(_)) {
            0.8
        } else {
            0.95
        };
        assert!(
            r2 > floor,
            "{}: held-out R² {r2}",
            settings.algorithm_name()
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn regression_tree_leaves_hold_means() {
    let train = Frame::new(vec![
        float("x", vec![1.0, 2.0, 3.0, 10.0, 11.0, 12.0]),
        float("y", vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]),
    ])
    .unwrap();
    let stump = Settings::DecisionTreeRegressor(DecisionTreeSettings {
        max_depth: 1,
        ..DecisionTreeSettings::default()
    });
    let model = fit(&train, &names(&["x"]), "y", &stump).unwrap();
    let FittedModel::DecisionTreeRegressor(fitted) = &model.fitted else {
        panic!("{:?}", model.fitted)
    };
    // The split that lowers the squared error most: {1, 2, 3, 10} (squared error 50)
    // against {20, 30} (50), not {1, 2, 3} (2) against {10, 20, 30} (200).
    assert_eq!(
        fitted.tree.nodes,
        vec![
            TreeNode::Split {
                feature: 0,
                threshold: 10.5,
                left: 1,
                right: 2
            },
            TreeNode::Mean {
                value: 4.0,
                samples: 4
            },
            TreeNode::Mean {
                value: 25.0,
                samples: 2
            },
        ]
    );
    let query = Frame::new(vec![float("x", vec![0.0, 10.5, 10.6, 100.0])]).unwrap();
    assert_eq!(
        model.predict_values(&query).unwrap(),
        vec![4.0, 4.0, 25.0, 25.0]
    );
    // Unlimited depth fits every distinct training row exactly.
    let deep = fit(
        &train,
        &names(&["x"]),
        "y",
        &Settings::DecisionTreeRegressor(DecisionTreeSettings::default()),
    )
    .unwrap();
    assert_eq!(
        deep.predict_values(&train).unwrap(),
        vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn forest_regressor_averages_its_trees() {
    let train = steps(120, 0);
    let settings = RandomForestSettings {
        trees: 7,
        max_depth: 3,
        ..RandomForestSettings::default()
    };
    let model = fit(
        &train,
        &names(&["x", "z"]),
        "y",
        &Settings::RandomForestRegressor(settings),
    )
    .unwrap();
    let FittedModel::RandomForestRegressor(forest) = &model.fitted else {
        panic!("{:?}", model.fitted)
    };
    assert_eq!(forest.trees.len(), 7);
    // Each tree alone, as a one-tree forest of the same artifact, predicts its leaf mean;
    // the forest predicts their average.
    let query = steps(5, 900);
    let mut sums = [0.0; 5];
    for tree in &forest.trees {
        let mut alone = model.clone();
        alone.fitted = FittedModel::RandomForestRegressor(oxbook_kernel::model::ForestModel {
            trees: vec![tree.clone()],
        });
        for (s, v) in sums.iter_mut().zip(alone.predict_values(&query).unwrap()) {
            *s += v;
        }
    }
    let expected: Vec<f64> = sums.iter().map(|s| s / 7.0).collect();
    assert_eq!(model.predict_values(&query).unwrap(), expected);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn knn_regressor_averages_its_neighbours() {
    // One feature: standardizing scales every distance alike, so neighbours and the
    // ratios of distance weights stay as on the raw values.
    let train = Frame::new(vec![
        float("v", vec![0.0, 1.0, 2.0, 10.0, 11.0]),
        float("y", vec![1.0, 2.0, 3.0, 10.0, 20.0]),
    ])
    .unwrap();
    let query = Frame::new(vec![float("v", vec![0.4, 10.0])]).unwrap();
    let uniform = fit(
        &train,
        &names(&["v"]),
        "y",
        &Settings::KnnRegressor(KnnSettings {
            k: 2,
            weights: KnnWeights::Uniform,
        }),
    )
    .unwrap();
    let got = uniform.predict_values(&query).unwrap();
    assert_eq!(got[0], 1.5, "0.4's neighbours are 0 and 1");
    assert_eq!(got[1], 15.0, "10's neighbours are 10 and 11");
    let weighted = fit(
        &train,
        &names(&["v"]),
        "y",
        &Settings::KnnRegressor(KnnSettings {
            k: 2,
            weights: KnnWeights::Distance,
        }),
    )
    .unwrap();
    let got = weighted.predict_values(&query).unwrap();
    // Weights 1/0.4 and 1/0.6: (2.5 · 1 + 5/3 · 2) / (2.5 + 5/3) = 1.4.
    assert!((got[0] - 1.4).abs() < 1e-12, "{got:?}");
    // An exact match takes the whole vote.
    assert_eq!(got[1], 10.0);
}

// ----- parity with scikit-learn -----------------------------------------------------------

const SKLEARN: &str = include_str!("fixtures/regressors.json");

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn linear_models_match_scikit_learn() {
    let fixture: Value = serde_json::from_str(SKLEARN).unwrap();
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let mut checked = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let rows: Vec<Vec<f64>> = case["x"].as_array().unwrap().iter().map(numbers).collect();
        let width = rows[0].len();
        let mut columns: Vec<_> = (0..width)
            .map(|j| float(&format!("x{j}"), rows.iter().map(|r| r[j]).collect()))
            .collect();
        columns.push(float("y", numbers(&case["y"])));
        let frame = Frame::new(columns).unwrap();
        let features: Vec<String> = (0..width).map(|j| format!("x{j}")).collect();
        for expected in case["fits"].as_array().unwrap() {
            let algorithm = expected["algorithm"].as_str().unwrap();
            let settings = Settings::from_json(algorithm, expected["settings"].clone()).unwrap();
            let model = fit(&frame, &features, "y", &settings).unwrap();
            let fitted = match &model.fitted {
                FittedModel::LinearRegression(m)
                | FittedModel::Ridge(m)
                | FittedModel::Lasso(m)
                | FittedModel::ElasticNet(m) => m,
                other => panic!("{other:?}"),
            };
            if let Some(converged) = fitted.converged {
                assert!(converged, "{} {}", case["name"], expected["settings"]);
            }
            // Direct solves agree to rounding; coordinate descent to its (tight) tolerance.
            let tolerance = if fitted.iterations.is_some() {
                1e-7
            } else {
                1e-9
            };
            let want = numbers(&expected["coefficients"]);
            let want_intercept = expected["intercept"].as_f64().unwrap();
            let what = format!("{} {algorithm} {}", case["name"], expected["settings"]);
            for (j, (got, want)) in fitted.coefficients.iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() <= tolerance * want.abs().max(1.0),
                    "{what}: coefficient {j} is {got}, scikit-learn's {want}"
                );
            }
            assert!(
                (fitted.intercept - want_intercept).abs()
                    <= tolerance * want_intercept.abs().max(1.0),
                "{what}: intercept {} vs scikit-learn's {want_intercept}",
                fitted.intercept
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 22, "the fixture lost cases?");
}

// ----- artifacts ------------------------------------------------------------------------

fn records(frame: &Frame, features: &[&str], rows: usize) -> Vec<serde_json::Map<String, Value>> {
    (0..rows)
        .map(|i| {
            features
                .iter()
                .map(|name| {
                    let data = &frame.column(name).unwrap().data;
                    let value = match data.dtype() {
                        oxbook_kernel::DType::Bool => json!(data.f64_at(i) == Some(1.0)),
                        oxbook_kernel::DType::Int => json!(data.f64_at(i).unwrap() as i64),
                        _ => json!(data.f64_at(i)),
                    };
                    (name.to_string(), value)
                })
                .collect()
        })
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_regressor_round_trips_with_identical_predictions() {
    let train = houses(80, 0);
    let query = houses(30, 3_000);
    let features = names(&HOUSE_FEATURES);
    for settings in regressors() {
        let name = settings.algorithm_name();
        let model = fit(&train, &features, "price", &settings).unwrap();
        let text = model.to_json();
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["task"], json!("regression"), "{name}");
        assert_eq!(document["target"], json!("price"), "{name}");
        assert_eq!(document["target_dtype"], json!("float"), "{name}");
        assert_eq!(document["class_labels"], json!([]), "{name}");
        let loaded = ModelArtifact::from_json(&text).unwrap();
        assert_eq!(loaded, model, "{name}");
        assert_eq!(loaded.to_json(), text, "{name}");
        let before = model.predict_values(&query).unwrap();
        let after = loaded.predict_values(&query).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&before), bits(&after), "{name}");
        assert!(matches!(
            loaded.predict(&query).unwrap(),
            Predictions::Values(v) if v.len() == 30
        ));
        // As an endpoint answers: numbers, and neither probabilities nor classes.
        let response = loaded
            .predict_records(&records(&query, &HOUSE_FEATURES, 5))
            .unwrap();
        assert_eq!(response.probabilities, None, "{name}");
        assert_eq!(response.classes, None, "{name}");
        let answered: Vec<f64> = response
            .predictions
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(bits(&answered), bits(&before[..5]), "{name}");
        let wire = serde_json::to_value(&response).unwrap();
        assert_eq!(
            wire.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["predictions"],
            "{name}"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn artifacts_check_their_task() {
    let frame = houses(40, 0);
    let features = names(&HOUSE_FEATURES);
    let ridge = fit(
        &frame,
        &features,
        "price",
        &Settings::Ridge(RidgeSettings::default()),
    )
    .unwrap();
    let good: Value = serde_json::from_str(&ridge.to_json()).unwrap();
    let inconsistent =
        |document: &Value, needle: &str| match ModelArtifact::from_json(&document.to_string()) {
            Err(e @ ArtifactError::Inconsistent(_)) => {
                assert!(e.to_string().contains(needle), "{e} lacks {needle:?}")
            }
            other => panic!("expected an inconsistency about {needle:?}, got {other:?}"),
        };
    let mut labelled = good.clone();
    labelled["class_labels"] = json!(["cheap", "dear"]);
    inconsistent(&labelled, "class labels in a regression model");
    let mut retasked = good.clone();
    retasked["task"] = json!("classification");
    inconsistent(
        &retasked,
        "task is classification but 'ridge' does regression",
    );
    let mut string_target = good.clone();
    string_target["target_dtype"] = json!("str");
    inconsistent(&string_target, "a regression target of str values");
    let mut untargeted = good.clone();
    untargeted.as_object_mut().unwrap().remove("target");
    inconsistent(&untargeted, "regression without a target");
    let mut unknown_task = good.clone();
    unknown_task["task"] = json!("forecasting");
    assert!(matches!(
        ModelArtifact::from_json(&unknown_task.to_string()),
        Err(ArtifactError::Malformed(m)) if m.contains("task")
    ));

    // A classifier: its target cannot be float.
    let bought = Frame::new(vec![
        float("age", vec![20.0, 30.0, 40.0, 50.0]),
        boolean("bought", vec![false, false, true, true]),
    ])
    .unwrap();
    let logistic = fit(
        &bought,
        &names(&["age"]),
        "bought",
        &Settings::LogisticRegression(LogisticRegressionSettings::default()),
    )
    .unwrap();
    let classifier: Value = serde_json::from_str(&logistic.to_json()).unwrap();
    assert_eq!(classifier["task"], json!("classification"));
    let mut float_target = classifier.clone();
    float_target["target_dtype"] = json!("float");
    inconsistent(&float_target, "a classification target of float values");
    let mut mismatched = classifier.clone();
    mismatched["target_dtype"] = json!("int");
    inconsistent(
        &mismatched,
        "the target was int but the class labels are bool",
    );
    // A classifier as the kernel wrote them before tasks: it loads as a classifier and
    // predicts the same.
    let mut older = classifier.clone();
    older.as_object_mut().unwrap().remove("task");
    older.as_object_mut().unwrap().remove("target_dtype");
    let loaded = ModelArtifact::from_json(&older.to_string()).unwrap();
    assert_eq!(loaded.task, Task::Classification);
    assert_eq!(
        loaded.predict_classes(&bought).unwrap(),
        logistic.predict_classes(&bought).unwrap()
    );

    // Leaves of the wrong kind for the task.
    let tree = fit(
        &frame,
        &features,
        "price",
        &Settings::DecisionTreeRegressor(DecisionTreeSettings {
            max_depth: 2,
            ..DecisionTreeSettings::default()
        }),
    )
    .unwrap();
    let mut counted: Value = serde_json::from_str(&tree.to_json()).unwrap();
    counted["fitted"]["decision_tree_regressor"]["tree"]["nodes"][1] =
        json!({"leaf": {"counts": [1, 2]}});
    inconsistent(
        &counted,
        "holds class counts, but the model predicts numbers",
    );
    let forest = fit(
        &bought,
        &names(&["age"]),
        "bought",
        &Settings::RandomForest(RandomForestSettings {
            trees: 2,
            ..RandomForestSettings::default()
        }),
    )
    .unwrap();
    let mut meaned: Value = serde_json::from_str(&forest.to_json()).unwrap();
    meaned["fitted"]["random_forest"]["trees"][0]["nodes"][1] =
        json!({"mean": {"value": 1.5, "samples": 2}});
    inconsistent(&meaned, "holds a mean, but the model predicts classes");
    let mut empty = serde_json::from_str::<Value>(&tree.to_json()).unwrap();
    empty["fitted"]["decision_tree_regressor"]["tree"]["nodes"][1] =
        json!({"mean": {"value": 1.5, "samples": 0}});
    inconsistent(&empty, "empty leaf");
    let mut short = good.clone();
    short["fitted"]["ridge"]["coefficients"] = json!([1.0]);
    inconsistent(&short, "needs 3 coefficients");
}

// ----- fitting errors and settings --------------------------------------------------------

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fit_checks_the_target_for_the_task() {
    let frame = Frame::new(vec![
        float("x", vec![1.0, 2.0, 3.0, 4.0]),
        string("colour", vec!["red", "blue", "red", "blue"]),
        boolean("flag", vec![true, false, true, false]),
        int("count", vec![3, 5, 7, 9]),
        float("gappy", vec![1.0, f64::NAN, 2.0, 3.0]),
        float("level", vec![0.5, 1.5, 2.5, 3.5]),
    ])
    .unwrap();
    let x = names(&["x"]);
    let ridge = Settings::Ridge(RidgeSettings::default());
    for (column, dtype) in [("colour", "str"), ("flag", "bool")] {
        let error = fit(&frame, &x, column, &ridge).unwrap_err();
        assert!(
            matches!(&error, ModelError::NonNumericTarget { column: c, .. } if c == column),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "target column '{column}' holds {dtype} values, but a regressor predicts \
                 numbers from a float or int column; fit a classifier to predict classes"
            )
        );
    }
    assert_eq!(
        fit(&frame, &x, "gappy", &ridge).unwrap_err(),
        ModelError::NonFiniteTarget {
            column: "gappy".into(),
            count: 1
        }
    );
    let error = fit(&frame, &x, None, &ridge).unwrap_err();
    assert_eq!(
        error.to_string(),
        "'ridge' is a regressor: it learns from a target column, so name one"
    );
    // An int target is numbers to a regressor.
    let model = fit(&frame, &x, "count", &ridge).unwrap();
    assert_eq!(model.target_dtype, Some(oxbook_kernel::DType::Int));
    assert_eq!(
        fit(&frame, &names(&["x", "count"]), "count", &ridge).unwrap_err(),
        ModelError::TargetIsFeature {
            column: "count".into()
        }
    );
    // A classifier refuses a float target and says what to use instead.
    let error = fit(
        &frame,
        &x,
        "level",
        &Settings::LogisticRegression(LogisticRegressionSettings::default()),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("or fit a regressor to predict numbers"),
        "{error}"
    );
}

fn setting_error(algorithm: &str, settings: Value) -> String {
    match Settings::from_json(algorithm, settings) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("{algorithm} accepted {s:?}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn regressor_settings_are_validated_naming_the_setting() {
    for (algorithm, settings, named) in [
        ("linear_regression", json!({"alpha": 1.0}), "alpha"),
        (
            "linear_regression",
            json!({"fit_intercept": 1}),
            "'fit_intercept'",
        ),
        ("ridge", json!({"alpha": -1.0}), "'alpha'"),
        ("ridge", json!({"alpha": "big"}), "'alpha'"),
        ("lasso", json!({"alpha": 0.0}), "'alpha'"),
        ("lasso", json!({"max_iter": 0}), "'max_iter'"),
        ("lasso", json!({"tol": 0.0}), "'tol'"),
        ("elastic_net", json!({"l1_ratio": 1.5}), "'l1_ratio'"),
        ("elastic_net", json!({"l1_ratio": -0.1}), "'l1_ratio'"),
        ("elastic_net", json!({"tol": -1.0}), "'tol'"),
        (
            "decision_tree_regressor",
            json!({"max_depth": 0}),
            "'max_depth'",
        ),
        ("random_forest_regressor", json!({"trees": 0}), "'trees'"),
        (
            "random_forest_regressor",
            json!({"features_per_split": 0}),
            "'features_per_split'",
        ),
        ("knn_regressor", json!({"k": 0}), "'k'"),
        ("knn_regressor", json!({"weights": "cubic"}), "'weights'"),
    ] {
        let message = setting_error(algorithm, settings.clone());
        assert!(message.contains(named), "{algorithm} {settings}: {message}");
    }
    assert!(setting_error("lasso", json!({"alpha": 0.0})).contains("linear_regression"));
    // Defaults, as documented.
    assert_eq!(
        Settings::from_json("ridge", Value::Null).unwrap(),
        Settings::Ridge(RidgeSettings {
            alpha: 1.0,
            fit_intercept: true
        })
    );
    assert_eq!(
        Settings::from_json("lasso", json!({})).unwrap(),
        Settings::Lasso(LassoSettings {
            alpha: 1.0,
            max_iter: 1000,
            tol: 1e-4,
            fit_intercept: true
        })
    );
    assert_eq!(
        Settings::from_json("elastic_net", json!({})).unwrap(),
        Settings::ElasticNet(ElasticNetSettings {
            alpha: 1.0,
            l1_ratio: 0.5,
            max_iter: 1000,
            tol: 1e-4,
            fit_intercept: true
        })
    );
    assert_eq!(
        Settings::from_json("random_forest_regressor", json!({})).unwrap(),
        Settings::RandomForestRegressor(RandomForestSettings::default())
    );
    // Settings that depend on the data are checked when fitting.
    let small = houses(3, 0);
    let error = fit(
        &small,
        &names(&HOUSE_FEATURES),
        "price",
        &Settings::KnnRegressor(KnnSettings {
            k: 5,
            weights: KnnWeights::Uniform,
        }),
    )
    .unwrap_err();
    assert!(error.to_string().contains("'k' is 5"), "{error}");
    let error = fit(
        &small,
        &names(&HOUSE_FEATURES),
        "price",
        &Settings::RandomForestRegressor(RandomForestSettings {
            features_per_split: Some(4),
            ..RandomForestSettings::default()
        }),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("'features_per_split' is 4"),
        "{error}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn linear_regression_handles_dependent_features() {
    // `both` is exactly `a + b`, so many coefficient vectors fit equally well; least
    // squares gives the one of smallest norm, as scikit-learn's solver does.
    let (mut a, mut b, mut both, mut y) = (vec![], vec![], vec![], vec![]);
    for i in 0..30u64 {
        let av = (noise(2 * i) * 20.0).round();
        let bv = (noise(2 * i + 1) * 20.0).round();
        a.push(av);
        b.push(bv);
        both.push(av + bv);
        y.push(3.0 * av - bv + 4.0);
    }
    let frame = Frame::new(vec![
        float("a", a.clone()),
        float("b", b.clone()),
        float("both", both),
        float("y", y.clone()),
    ])
    .unwrap();
    let model = fit(
        &frame,
        &names(&["a", "b", "both"]),
        "y",
        &Settings::LinearRegression(LinearRegressionSettings::default()),
    )
    .unwrap();
    let FittedModel::LinearRegression(fitted) = &model.fitted else {
        panic!()
    };
    // y = 3a − b + 4 = w_a a + w_b b + w_ab (a + b) with w_a + w_ab = 3, w_b + w_ab = −1;
    // the smallest ‖w‖ has w_ab = 2/3: (7/3, −5/3, 2/3).
    for (got, want) in fitted
        .coefficients
        .iter()
        .zip([7.0 / 3.0, -5.0 / 3.0, 2.0 / 3.0])
    {
        assert!((got - want).abs() < 1e-9, "{:?}", fitted.coefficients);
    }
    assert!(
        (fitted.intercept - 4.0).abs() < 1e-9,
        "{}",
        fitted.intercept
    );
    // Everything constant but the intercept: coefficients 0.
    let flat = Frame::new(vec![
        float("c", vec![2.0; 4]),
        float("y", vec![1.0, 2.0, 3.0, 4.0]),
    ])
    .unwrap();
    let model = fit(
        &flat,
        &names(&["c"]),
        "y",
        &Settings::LinearRegression(LinearRegressionSettings::default()),
    )
    .unwrap();
    assert_eq!(model.predict_values(&flat).unwrap(), vec![2.5; 4]);
}

// ----- progress and cancelling -----------------------------------------------------------

/// Fits with a monitor that records every report and breaks at `stop_at` units done.
fn fit_watched(
    frame: &Frame,
    features: &[&str],
    target: &str,
    settings: &Settings,
    stop_at: Option<usize>,
) -> (Result<ModelArtifact, ModelError>, Vec<FitProgress>) {
    let mut reports = Vec::new();
    let mut monitor = |progress: FitProgress| {
        reports.push(progress);
        if Some(progress.done) == stop_at {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let result = fit_monitored(frame, &names(features), target, settings, &mut monitor);
    (result, reports)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn long_fits_report_progress_and_can_be_cancelled() {
    let houses = houses(120, 0);
    let classes = Frame::new(vec![
        float("size", (0..60).map(|i| noise(i) * 10.0).collect()),
        boolean(
            "big",
            (0..60)
                .map(|i| noise(i) * 10.0 + noise(100 + i) > 5.5)
                .collect(),
        ),
    ])
    .unwrap();
    let forest = RandomForestSettings {
        trees: 6,
        max_depth: 3,
        ..RandomForestSettings::default()
    };
    let hard_lasso = LassoSettings {
        alpha: 0.01,
        tol: 1e-14,
        max_iter: 50,
        ..LassoSettings::default()
    };
    let hard_net = ElasticNetSettings {
        alpha: 0.01,
        tol: 1e-14,
        max_iter: 50,
        ..ElasticNetSettings::default()
    };
    // Frame, features, target, settings, units in all, unit.
    type Case<'a> = (
        &'a Frame,
        &'static [&'static str],
        &'static str,
        Settings,
        usize,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            &houses,
            &HOUSE_FEATURES,
            "price",
            Settings::RandomForestRegressor(forest.clone()),
            6,
            "trees",
        ),
        (
            &classes,
            &["size"],
            "big",
            Settings::RandomForest(forest),
            6,
            "trees",
        ),
        (
            &classes,
            &["size"],
            "big",
            Settings::LogisticRegression(LogisticRegressionSettings::default()),
            200,
            "iterations",
        ),
        (
            &houses,
            &HOUSE_FEATURES,
            "price",
            Settings::Lasso(hard_lasso),
            50,
            "iterations",
        ),
        (
            &houses,
            &HOUSE_FEATURES,
            "price",
            Settings::ElasticNet(hard_net),
            50,
            "iterations",
        ),
    ];
    for (frame, features, target, settings, total, unit) in cases {
        let name = settings.algorithm_name();
        // Watched to the end: one report per unit, in order.
        let (result, reports) = fit_watched(frame, features, target, &settings, None);
        let model = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(reports.len() >= 3, "{name}: {reports:?}");
        for (i, report) in reports.iter().enumerate() {
            assert_eq!(
                *report,
                FitProgress {
                    done: i + 1,
                    total,
                    unit
                },
                "{name}"
            );
        }
        let units_done = match &model.fitted {
            FittedModel::RandomForest(f) | FittedModel::RandomForestRegressor(f) => f.trees.len(),
            FittedModel::LogisticRegression(m) => m.iterations,
            FittedModel::Lasso(m) | FittedModel::ElasticNet(m) => m.iterations.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(reports.len(), units_done, "{name}");
        // Broken off after 3 units: cancelled, with as many reports.
        let (result, reports) = fit_watched(frame, features, target, &settings, Some(3));
        assert_eq!(
            result.unwrap_err(),
            ModelError::Cancelled {
                done: 3,
                total,
                unit
            },
            "{name}"
        );
        assert_eq!(
            reports.iter().map(|r| r.done).collect::<Vec<_>>(),
            vec![1, 2, 3],
            "{name}"
        );
    }
    assert_eq!(
        ModelError::Cancelled {
            done: 3,
            total: 6,
            unit: "trees"
        }
        .to_string(),
        "the fit was cancelled after 3 of 6 trees"
    );
}

// ----- scoring by task ---------------------------------------------------------------------

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn scoring_checks_the_task() {
    let frame = houses(50, 0);
    let ridge = fit(
        &frame,
        &names(&HOUSE_FEATURES),
        "price",
        &Settings::Ridge(RidgeSettings::default()),
    )
    .unwrap();
    let error = evaluate(&ridge, &frame).unwrap_err();
    assert!(matches!(error, MetricError::WrongTask { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "accuracy needs a classifier, but 'ridge' is a regressor; score regressors with \
         regression_metrics(model, df), or mae, mse, rmse, r2 and mape"
    );
    assert_eq!(
        ridge.predict_classes(&frame).unwrap_err(),
        PredictError::WrongTask {
            expected: Task::Classification,
            found: Task::Regression,
            algorithm: "ridge".into()
        }
    );
    let report = evaluate_regression(&ridge, &frame).unwrap();
    let truth = oxbook_kernel::target_values(&frame, "price").unwrap();
    let predicted = ridge.predict_values(&frame).unwrap();
    assert_eq!(report, regression_report(&truth, &predicted).unwrap());
    assert!(report.r2 > 0.99 && report.mae < 2.0, "{report:?}");

    let bought = Frame::new(vec![
        float("age", vec![20.0, 30.0, 40.0, 50.0]),
        boolean("bought", vec![false, false, true, true]),
    ])
    .unwrap();
    let classifier = fit(
        &bought,
        &names(&["age"]),
        "bought",
        &Settings::LogisticRegression(LogisticRegressionSettings::default()),
    )
    .unwrap();
    let error = evaluate_regression(&classifier, &bought).unwrap_err();
    assert_eq!(
        error.to_string(),
        "regression_metrics needs a regressor, but 'logistic_regression' is a classifier; \
         score classifiers with accuracy, f1, classification_report and the like"
    );
    assert!(matches!(
        classifier.predict_values(&bought),
        Err(PredictError::WrongTask { .. })
    ));
}

// ----- the same on every platform ------------------------------------------------------

/// FNV-1a over the values' bits: one number both platforms must reproduce.
fn fingerprint(values: &[f64]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for byte in v.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn regressor_predictions_are_identical_on_every_platform() {
    let train = houses(150, 0);
    let query = houses(60, 7_000);
    let features = names(&HOUSE_FEATURES);
    let found: Vec<(&str, u64)> = regressors()
        .into_iter()
        .map(|settings| {
            let model = fit(&train, &features, "price", &settings).unwrap();
            let mut values = model.predict_values(&query).unwrap();
            // The fitted parameters too, where they are a few numbers.
            match &model.fitted {
                FittedModel::LinearRegression(m)
                | FittedModel::Ridge(m)
                | FittedModel::Lasso(m)
                | FittedModel::ElasticNet(m) => {
                    values.extend(&m.coefficients);
                    values.push(m.intercept);
                }
                _ => {}
            }
            (settings.algorithm_name(), fingerprint(&values))
        })
        .collect();
    assert_eq!(found, EXPECTED_FINGERPRINTS);
}

/// From a native run; wasm32 must give the same.
const EXPECTED_FINGERPRINTS: [(&str, u64); 7] = [
    ("linear_regression", 10791775391052205390),
    ("ridge", 2651576241840987048),
    ("lasso", 17754495706203112794),
    ("elastic_net", 7428625523153784696),
    ("decision_tree_regressor", 4637917884713196710),
    ("random_forest_regressor", 1219595304263837258),
    ("knn_regressor", 3038952356287445833),
];

// ----- cells ------------------------------------------------------------------------------

fn outputs(run: &oxbook_protocol::CellRun) -> String {
    run.outputs
        .iter()
        .map(|o| match o {
            Output::DisplayData { data } => data.text.clone().unwrap_or_default(),
            Output::Error(e) => format!("Error: {}", e.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const HOUSES_CSV: &str = r#"let df = parse_csv("size,rooms,garden,price\n50,2,true,195\n80,3,false,240\n65,2,false,200\n120,4,true,345\n95,3,true,290\n40,1,false,140\n110,4,false,315\n70,3,true,250\n");"#;

fn run(session: &mut Session, code: &str) -> (CellStatus, String) {
    let run = session.execute("c", code);
    let text = outputs(&run);
    (run.status, text)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_fit_score_and_predict_regressors() {
    let mut session = Session::new();
    let (status, text) = run(
        &mut session,
        &format!(
            "{HOUSES_CSV}\nlet m = ridge(df, [\"size\", \"rooms\", \"garden\"], \"price\", \
             #{{alpha: 0.5}});\nm"
        ),
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ridge model predicting 'price'");
    assert_eq!(lines[1], "task: regression");
    assert_eq!(lines[2], "features: size (int), rooms (int), garden (bool)");
    assert!(
        lines[3].starts_with("coefficients: size: 1.8")
            && lines[3].contains(", rooms: ")
            && lines[3].contains(", garden: ")
            && lines[3].contains("; intercept: "),
        "{text}"
    );
    assert_eq!(lines[4], "settings: alpha: 0.5, fit_intercept: true");
    assert!(
        lines[5].starts_with("metrics: train_mae: ")
            && lines[5].contains("train_r2: 0.99")
            && lines[5].contains("train_rmse: "),
        "{text}"
    );
    assert!(!text.contains("classes"), "{text}");

    // Predictions are a float column; scores come whole or one by one.
    let (status, text) = run(
        &mut session,
        r#"let scored = m.predict(df);
print(scored.select(["price", "prediction"]).head(2));
let report = regression_metrics(m, df);
[report.mae == mae(m, df), report.rmse == rmse(m, df), report.r2 == r2(m, df),
 report.mse == mse(m, df), report.mape == mape(m, df), report.r2 > 0.99]"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert!(text.contains("price  prediction\nint    float"), "{text}");
    assert!(
        text.ends_with("[true, true, true, true, true, true]"),
        "{text}"
    );

    // The generic call shape fits the same model as the algorithm's own function.
    let (status, text) = run(
        &mut session,
        r#"let g = fit(df, "ridge", ["size", "rooms", "garden"], "price", #{alpha: 0.5});
let o = fit(df, "linear_regression", ["size"], "price");
print(o);
g.predict(df).column("prediction") == m.predict(df).column("prediction")"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert!(
        text.starts_with("linear_regression model predicting 'price'"),
        "{text}"
    );
    assert!(text.ends_with("true"), "{text}");

    // Every regressor's function, with and without settings.
    for algorithm in [
        "linear_regression",
        "ridge",
        "lasso",
        "elastic_net",
        "decision_tree_regressor",
        "random_forest_regressor",
        "knn_regressor",
    ] {
        let (status, text) = run(
            &mut session,
            &format!(
                "let a = {algorithm}(df, [\"size\", \"rooms\"], \"price\");
                 let b = {algorithm}(df, [\"size\", \"rooms\"], \"price\", #{{}});
                 [a.predict(df).column(\"prediction\") == b.predict(df).column(\"prediction\"),
                  r2(a, df) > 0.5]"
            ),
        );
        assert_eq!(status, CellStatus::Done, "{algorithm}: {text}");
        assert_eq!(text, "[true, true]", "{algorithm}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_name_the_task_when_a_score_does_not_fit_the_model() {
    let mut session = Session::new();
    let (status, text) = run(
        &mut session,
        &format!(
            "{HOUSES_CSV}\nlet m = lasso(df, [\"size\"], \"price\");
             let c = logistic_regression(df, [\"size\"], \"garden\");"
        ),
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    for (code, message) in [
        (
            "accuracy(m, df)",
            "accuracy needs a classifier, but 'lasso' is a regressor; score regressors with \
             regression_metrics(model, df), or mae, mse, rmse, r2 and mape",
        ),
        (
            "f1(m, df)",
            "f1 needs a classifier, but 'lasso' is a regressor",
        ),
        (
            "roc_auc(m, df)",
            "roc_auc needs a classifier, but 'lasso' is a regressor",
        ),
        (
            "confusion_matrix(m, df)",
            "confusion_matrix needs a classifier, but 'lasso' is a regressor",
        ),
        (
            "roc_curve(m, df)",
            "roc_curve needs a classifier, but 'lasso' is a regressor",
        ),
        (
            "classification_report(m, df)",
            "classification_report needs a classifier, but 'lasso' is a regressor",
        ),
        (
            "regression_metrics(c, df)",
            "regression_metrics needs a regressor, but 'logistic_regression' is a classifier; \
             score classifiers with accuracy, f1, classification_report and the like",
        ),
        (
            "mae(c, df)",
            "mae needs a regressor, but 'logistic_regression' is a classifier",
        ),
        (
            r#"fit(df, "ridge", ["size"])"#,
            "'ridge' is a regressor: it learns from a target column, so name one",
        ),
        (
            r#"fit(df, "xgboost", ["size"], "price")"#,
            "unknown model algorithm 'xgboost'",
        ),
        (
            r#"ridge(df, ["size"], "garden")"#,
            "target column 'garden' holds bool values, but a regressor predicts numbers",
        ),
        (
            r#"lasso(df, ["size"], "price", #{alpha: 0})"#,
            "setting 'alpha'",
        ),
    ] {
        let (status, text) = run(&mut session, code);
        assert_eq!(status, CellStatus::Failed, "{code}: {text}");
        assert!(text.contains(message), "{code}: {text}");
    }
}
