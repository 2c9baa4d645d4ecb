//! Gradient boosting, support vector machines, k-means, DBSCAN and PCA as the rest of the
//! kernel sees them: fitted through `fit` and through cells, predicted on frames and on
//! endpoint records, and round-tripped through artifact JSON with identical predictions;
//! and `feature_importance` in cells. Runs natively and, with wasm-bindgen-test, in a
//! browser.

use oxbook_kernel::model::{
    DbscanSettings, GradientBoostingSettings, KMeansSettings, PcaSettings, SvmSettings, SvrSettings,
};
use oxbook_kernel::{
    fit, ColumnData, Frame, ModelArtifact, ModelError, Predictions, Session, Settings, Task,
};
use oxbook_protocol::{CellStatus, Output};
use serde_json::{json, Value};

mod common;
use common::{float, names, noise, string};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// `n` rows of two features in [0, 1): `label` is "hi" when x + y > 1, `value` is
/// 3x + 2y plus a little noise, and `group` puts the rows in two well-separated blobs
/// (`bx`, `by` around (0, 0) and (10, 10)).
fn rows(n: u64) -> Frame {
    let (mut x, mut y, mut bx, mut by, mut label, mut value) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let (a, b) = (noise(5 * i), noise(5 * i + 1));
        x.push(a);
        y.push(b);
        label.push(if a + b > 1.0 { "hi" } else { "lo" });
        value.push(3.0 * a + 2.0 * b + 0.05 * (noise(5 * i + 2) - 0.5));
        let centre = if i % 2 == 0 { 0.0 } else { 10.0 };
        bx.push(centre + noise(5 * i + 3));
        by.push(centre + noise(5 * i + 4));
    }
    Frame::new(vec![
        float("x", x),
        float("y", y),
        float("bx", bx),
        float("by", by),
        string("label", label),
        float("value", value),
    ])
    .unwrap()
}

/// Every newly wired algorithm with settings that keep the fits quick, its features and its
/// target (none for the unsupervised ones).
fn cases() -> Vec<(Settings, [&'static str; 2], Option<&'static str>)> {
    let gbt = GradientBoostingSettings {
        max_iter: 30,
        min_samples_leaf: 5,
        ..GradientBoostingSettings::default()
    };
    vec![
        (
            Settings::GradientBoosting(gbt.clone()),
            ["x", "y"],
            Some("label"),
        ),
        (
            Settings::GradientBoostingRegressor(gbt),
            ["x", "y"],
            Some("value"),
        ),
        (
            Settings::Svm(SvmSettings::default()),
            ["x", "y"],
            Some("label"),
        ),
        (
            Settings::Svm(SvmSettings {
                probability: false,
                ..SvmSettings::default()
            }),
            ["x", "y"],
            Some("label"),
        ),
        (
            Settings::Svr(SvrSettings::default()),
            ["x", "y"],
            Some("value"),
        ),
        (
            Settings::Kmeans(KMeansSettings {
                n_clusters: 2,
                ..KMeansSettings::default()
            }),
            ["bx", "by"],
            None,
        ),
        (
            Settings::Dbscan(DbscanSettings {
                eps: 1.0,
                min_samples: 3,
                ..DbscanSettings::default()
            }),
            ["bx", "by"],
            None,
        ),
        (Settings::Pca(PcaSettings::default()), ["x", "bx"], None),
    ]
}

fn records(frame: &Frame, features: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    (0..frame.row_count())
        .map(|i| {
            features
                .iter()
                .map(|name| {
                    let column = frame.column(name).unwrap();
                    (name.to_string(), json!(column.data.f64_at(i).unwrap()))
                })
                .collect()
        })
        .collect()
}

/// Predictions with floats as bits, so that equality is bit-for-bit.
fn fingerprint(p: &Predictions) -> Value {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    match p {
        Predictions::Classes(c) => json!({
            "labels": c.labels.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "p": c.probabilities.as_ref().map(|p| p.iter().map(|r| bits(r)).collect::<Vec<_>>()),
        }),
        Predictions::Values(v) => json!(bits(v)),
        Predictions::Clusters(c) => json!(c),
        Predictions::Components(c) => json!(c.iter().map(|r| bits(r)).collect::<Vec<_>>()),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn artifacts_round_trip_with_identical_predictions() {
    let train = rows(120);
    // Rows the models did not see.
    let fresh = rows(160).take(&(120..160).collect::<Vec<_>>());
    for (settings, features, target) in cases() {
        let name = settings.algorithm_name();
        let model = fit(&train, &names(&features), target, &settings)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.task, settings.task(), "{name}");
        let loaded = ModelArtifact::from_json(&model.to_json()).unwrap();
        assert_eq!(loaded, model, "{name}");
        let before = model.predict(&fresh).unwrap();
        let after = loaded.predict(&fresh).unwrap();
        assert_eq!(fingerprint(&before), fingerprint(&after), "{name}");
        assert_eq!(before.len(), 40, "{name}");

        // The endpoint answers the same, in the task's shape.
        let response = loaded.predict_records(&records(&fresh, &features)).unwrap();
        assert_eq!(response.predictions.len(), 40, "{name}");
        match &before {
            Predictions::Classes(c) => {
                let labels: Vec<Value> = c.labels.iter().map(|l| l.to_json()).collect();
                assert_eq!(response.predictions, labels, "{name}");
                assert_eq!(response.classes, Some(vec![json!("hi"), json!("lo")]));
                assert_eq!(response.probabilities, c.probabilities, "{name}");
            }
            Predictions::Values(v) => {
                let values: Vec<Value> = v.iter().map(|&x| json!(x)).collect();
                assert_eq!(response.predictions, values, "{name}");
            }
            Predictions::Clusters(ids) => {
                let ids: Vec<Value> = ids.iter().map(|&c| json!(c)).collect();
                assert_eq!(response.predictions, ids, "{name}");
                assert!(response.predictions.iter().all(Value::is_i64), "{name}");
            }
            Predictions::Components(rows) => {
                let rows: Vec<Value> = rows.iter().map(|r| json!(r)).collect();
                assert_eq!(response.predictions, rows, "{name}");
                assert!(response
                    .predictions
                    .iter()
                    .all(|r| r.as_array().map(Vec::len) == Some(2)));
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fitted_models_predict_what_they_learnt() {
    let train = rows(200);
    let truth: Vec<String> = match &train.column("label").unwrap().data {
        ColumnData::Str(v) => v.iter().map(|s| s.unwrap().to_string()).collect(),
        _ => unreachable!(),
    };
    for (settings, features, target) in cases() {
        let name = settings.algorithm_name();
        let model = fit(&train, &names(&features), target, &settings).unwrap();
        match model.predict(&train).unwrap() {
            Predictions::Classes(c) => {
                let right = c
                    .labels
                    .iter()
                    .zip(&truth)
                    .filter(|(p, t)| p.to_string() == **t)
                    .count();
                assert!(right >= 185, "{name}: {right} of 200 right");
                // Platt probabilities sum to 1; without them, there are none.
                match &settings {
                    Settings::Svm(s) if !s.probability => assert!(c.probabilities.is_none()),
                    _ => {
                        let p = c.probabilities.unwrap();
                        assert!(p.iter().all(|r| (r.iter().sum::<f64>() - 1.0).abs() < 1e-9));
                    }
                }
            }
            Predictions::Values(v) => {
                let worst = (0..200)
                    .map(|i| {
                        let t = train.column("value").unwrap().data.f64_at(i).unwrap();
                        (v[i] - t).abs()
                    })
                    .fold(0.0, f64::max);
                assert!(worst < 0.6, "{name}: off by {worst}");
            }
            Predictions::Clusters(ids) => {
                // The blobs alternate by row: clusters must follow them exactly.
                assert!(ids[0] >= 0 && ids[1] >= 0 && ids[0] != ids[1], "{name}");
                for (i, id) in ids.iter().enumerate() {
                    assert_eq!(*id, ids[i % 2], "{name}: row {i}");
                }
            }
            Predictions::Components(rows) => {
                // bx spreads far more than x, so it dominates the first component.
                let spread = |c: usize| {
                    let mean = rows.iter().map(|r| r[c]).sum::<f64>() / 200.0;
                    rows.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / 199.0
                };
                assert!(spread(0) > 20.0 && spread(1) < 0.2, "{name}");
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn each_task_takes_its_kind_of_target() {
    let train = rows(40);
    let kmeans = Settings::Kmeans(KMeansSettings::default());
    let err = fit(&train, &names(&["bx", "by"]), Some("label"), &kmeans).unwrap_err();
    assert!(matches!(err, ModelError::TargetNotUsed { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "'kmeans' is a clustering model: it learns without a target, but target column \
         'label' was given; leave it out"
    );
    let svm = Settings::Svm(SvmSettings::default());
    let err = fit(&train, &names(&["x"]), None, &svm).unwrap_err();
    assert!(matches!(err, ModelError::TargetRequired { .. }), "{err}");
    let svr = Settings::Svr(SvrSettings::default());
    let err = fit(&train, &names(&["x"]), Some("label"), &svr).unwrap_err();
    assert!(matches!(err, ModelError::NonNumericTarget { .. }), "{err}");
    let err = Settings::from_json("pca", json!({"n_components": 0})).unwrap_err();
    assert!(err.to_string().contains("n_components"), "{err}");
    assert_eq!(
        Settings::from_json("dbscan", Value::Null).unwrap().task(),
        Task::Clustering
    );
}

// ----- cells -------------------------------------------------------------------------------

const DATA_URL: &str = "/data/rows.csv";

/// A session with `rows(n)` as a CSV file at [`DATA_URL`].
fn session(n: u64) -> Session {
    let frame = rows(n);
    let mut csv = String::from("x,y,bx,by,label,value\n");
    for i in 0..frame.row_count() {
        let get = |c: &str| frame.column(c).unwrap().data.f64_at(i).unwrap();
        let label = match &frame.column("label").unwrap().data {
            ColumnData::Str(v) => v.get(i).unwrap().to_string(),
            _ => unreachable!(),
        };
        csv.push_str(&format!(
            "{},{},{},{},{label},{}\n",
            get("x"),
            get("y"),
            get("bx"),
            get("by"),
            get("value")
        ));
    }
    let mut session = Session::new();
    session.provide_file(DATA_URL, csv.into_bytes());
    session
}

fn run(session: &mut Session, code: &str) -> (CellStatus, String) {
    let run = session.execute("c", &format!("let df = read_csv(\"{DATA_URL}\");\n{code}"));
    let text = run
        .outputs
        .iter()
        .map(|o| match o {
            Output::DisplayData { data } => data.text.clone().unwrap_or_default(),
            Output::Error(e) => format!("Error: {}", e.message),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (run.status, text)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_fit_and_predict_classifiers_and_regressors() {
    let mut s = session(120);
    for (call, column) in [
        (
            r#"gradient_boosting(df, ["x", "y"], "label", #{max_iter: 20, min_samples_leaf: 5})"#,
            "p_hi",
        ),
        (r#"svm(df, ["x", "y"], "label", #{c: 10.0})"#, "p_hi"),
        (r#"svm(df, ["x", "y"], "label")"#, "p_lo"),
        (
            r#"gradient_boosting_regressor(df, ["x", "y"], "value", #{max_iter: 20, min_samples_leaf: 5})"#,
            "",
        ),
        (r#"svr(df, ["x", "y"], "value", #{epsilon: 0.05})"#, ""),
    ] {
        let (status, text) = run(
            &mut s,
            &format!(
                "let m = {call};\nprint(m);\nlet p = m.predict(df);\n\
                 print(p.columns());\n\
                 if \"{column}\" != \"\" {{ [accuracy(m, df) > 0.9] }} else {{ [r2(m, df) > 0.95] }}"
            ),
        );
        assert_eq!(status, CellStatus::Done, "{call}: {text}");
        let algorithm = call.split('(').next().unwrap();
        assert!(
            text.starts_with(&format!("{algorithm} model predicting '")),
            "{text}"
        );
        assert!(text.ends_with("[true]"), "{call}: {text}");
        if column.is_empty() {
            assert!(text.contains("task: regression"), "{text}");
            assert!(text.contains(r#""value", "prediction"]"#), "{text}");
            assert!(text.contains("train_r2"), "{text}");
        } else {
            assert!(text.contains("task: classification"), "{text}");
            assert!(
                text.contains(r#""prediction", "p_hi", "p_lo"]"#),
                "{call}: {text}"
            );
            assert!(text.contains("train_accuracy"), "{text}");
        }
    }
    // Without Platt scaling an SVM votes and gives no probabilities.
    let (status, text) = run(
        &mut s,
        r#"let m = svm(df, ["x", "y"], "label", #{probability: false});
m.predict(df).columns()"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert!(text.ends_with(r#""value", "prediction"]"#), "{text}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_cluster_and_decompose_without_a_target() {
    let mut s = session(60);
    let (status, text) = run(
        &mut s,
        r#"let k = kmeans(df, ["bx", "by"], #{n_clusters: 2});
print(k);
let c = k.predict(df).column("cluster");
let d = dbscan(df, ["bx", "by"], #{eps: 1.0, min_samples: 3}).predict(df).column("cluster");
let f = fit(df, "kmeans", ["bx", "by"], #{n_clusters: 2}).predict(df).column("cluster");
[c[0] != c[1], c[0] == c[2], c[1] == c[3], d[0] != d[1], d[0] == d[2], f == c, type_of(c[0])]"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert!(
        text.starts_with("kmeans model\ntask: clustering\n"),
        "{text}"
    );
    assert!(text.contains("settings: "), "{text}");
    assert!(!text.contains("classes"), "{text}");
    assert!(
        text.ends_with(r#"[true, true, true, true, true, true, "i64"]"#),
        "{text}"
    );

    // Default settings too: k-means' default 8 clusters, DBSCAN's eps 0.5.
    let (status, text) = run(
        &mut s,
        r#"let k = kmeans(df, ["bx", "by"]).predict(df).column("cluster");
let d = dbscan(df, ["bx", "by"]).predict(df);
[k.len(), d.column("cluster").len()]"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert_eq!(text, "[60, 60]");

    let (status, text) = run(
        &mut s,
        r#"let p = pca(df, ["x", "bx", "by"], #{n_components: 2});
print(p);
let out = p.predict(df);
print(out.columns());
let all = pca(df, ["x", "bx", "by"]).predict(df);
[type_of(out.column("pc1")[0]), all.columns().len()]"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    assert!(
        text.starts_with("pca model\ntask: decomposition\n"),
        "{text}"
    );
    assert!(text.contains(r#""value", "pc1", "pc2"]"#), "{text}");
    assert!(text.ends_with(r#"["f64", 9]"#), "{text}");

    // A target given to an unsupervised algorithm, or none to a supervised one, is refused.
    let (status, text) = run(&mut s, r#"kmeans(df, ["bx"], "label")"#);
    assert_eq!(status, CellStatus::Failed);
    assert!(
        text.contains("'kmeans' is a clustering model: it learns without a target"),
        "{text}"
    );
    let (status, text) = run(&mut s, r#"gradient_boosting(df, ["x"])"#);
    assert_eq!(status, CellStatus::Failed);
    assert!(
        text.contains("'gradient_boosting' is a classifier: it learns from a target column"),
        "{text}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_show_feature_importance() {
    let mut s = session(120);
    // `value` depends on x and y only; bx carries nothing.
    let (status, text) = run(
        &mut s,
        r#"let fi = [];
for m in [
    decision_tree_regressor(df, ["x", "y", "bx"], "value", #{max_depth: 4}),
    random_forest_regressor(df, ["x", "y", "bx"], "value", #{trees: 10}),
    gradient_boosting_regressor(df, ["x", "y", "bx"], "value", #{max_iter: 20}),
    random_forest(df, ["x", "y", "bx"], "label", #{trees: 10}),
] {
    let i = feature_importance(m).column("importance");
    fi.push(i[0] > i[2] && i[1] > i[2] && (i[0] + i[1] + i[2] - 1.0).abs() < 1e-9);
}
print(feature_importance(linear_regression(df, ["x", "y"], "value")));
print(feature_importance(logistic_regression(df, ["x", "y"], "label")).columns());
fi"#,
    );
    assert_eq!(status, CellStatus::Done, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "feature  coefficient", "{text}");
    assert_eq!(lines[1], "str      float", "{text}");
    assert!(lines[2].starts_with("x             2.9"), "{text}");
    assert!(lines[3].starts_with("y             2.0"), "{text}");
    assert!(text.contains(r#"["feature", "coefficient"]"#), "{text}");
    assert!(text.ends_with("[true, true, true, true]"), "{text}");

    let (status, text) = run(&mut s, r#"feature_importance(svm(df, ["x"], "label"))"#);
    assert_eq!(status, CellStatus::Failed);
    assert!(
        text.contains("'svm' gives no feature importances"),
        "{text}"
    );
}
