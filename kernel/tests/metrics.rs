//! Metric parity with scikit-learn: every metric of `oxbook_kernel::metrics` on the cases in
//! `fixtures/metrics/` must equal the value scikit-learn computed on them (recorded there by
//! `scripts/make-metric-fixtures.py`, with its version) to 1e-9, relative for values beyond
//! ±1. Then the errors, and the cell functions against the Rust API. Runs natively and, with
//! wasm-bindgen-test, in a browser.

use oxbook_kernel::metrics::{
    accuracy, classification_report, confusion_matrix, f1, inertia, inertia_about_means, log_loss,
    mae, mape, mse, numpy_sum, per_class_scores, precision, precision_recall_curve,
    precision_recall_f1, r2, recall, regression_report, rmse, roc_auc, roc_auc_ovr, roc_curve,
    silhouette_score, Average, MetricError, OvrAverage,
};
use oxbook_kernel::{ClassLabel, Session};
use oxbook_protocol::Output;
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const CLASSIFICATION: &str = include_str!("fixtures/metrics/classification.json");
const REGRESSION: &str = include_str!("fixtures/metrics/regression.json");
const CLUSTERING: &str = include_str!("fixtures/metrics/clustering.json");

/// Equal to 1e-9, relative to the expected value when that is beyond ±1 (MAPE over a true 0
/// is about 1e15, one R² about −1e31); infinities must match exactly.
fn close(actual: f64, expected: f64) -> bool {
    if expected.is_infinite() {
        return actual == expected;
    }
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

/// A fixture number; the script writes infinities and NaN as strings.
fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("a number"),
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Value::String(s) if s == "nan" => f64::NAN,
        other => panic!("not a fixture number: {other}"),
    }
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(number).collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().expect("rows").iter().map(numbers).collect()
}

fn labels(v: &Value) -> Vec<ClassLabel> {
    serde_json::from_value(v.clone()).expect("labels")
}

fn label(v: &Value) -> ClassLabel {
    serde_json::from_value(v.clone()).expect("a label")
}

/// Collects every comparison, so that one run lists all the metrics that differ.
#[derive(Default)]
struct Parity {
    checked: usize,
    wrong: Vec<String>,
}

impl Parity {
    fn value(&mut self, what: String, actual: Result<f64, MetricError>, expected: &Value) {
        self.number(what, actual, number(expected));
    }

    fn number(&mut self, what: String, actual: Result<f64, MetricError>, expected: f64) {
        self.checked += 1;
        match actual {
            Ok(actual) if close(actual, expected) => {}
            Ok(actual) => self
                .wrong
                .push(format!("{what}: {actual:e}, scikit-learn {expected:e}")),
            Err(e) => self
                .wrong
                .push(format!("{what}: error '{e}', scikit-learn {expected:e}")),
        }
    }

    fn values(&mut self, what: String, actual: &[f64], expected: &Value) {
        let expected = numbers(expected);
        if actual.len() != expected.len() {
            self.checked += 1;
            self.wrong.push(format!(
                "{what}: {} values, scikit-learn {}",
                actual.len(),
                expected.len()
            ));
            return;
        }
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            self.number(format!("{what}[{i}]"), Ok(*a), *e);
        }
    }

    fn finish(self, least: usize) {
        assert!(
            self.wrong.is_empty(),
            "{} of {} values differ from scikit-learn's:\n{}",
            self.wrong.len(),
            self.checked,
            self.wrong.join("\n")
        );
        assert!(
            self.checked >= least,
            "only {} values checked; the fixtures lost cases?",
            self.checked
        );
    }
}

/// A fixture's cases, after checking that it records where its values came from.
fn cases(fixture: &str) -> Vec<Value> {
    let document: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    let version = document["sklearn_version"].as_str().unwrap_or_default();
    assert!(
        !version.is_empty(),
        "the fixture records scikit-learn's version"
    );
    document["cases"].as_array().expect("cases").clone()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn classification_metrics_equal_scikit_learns() {
    let mut parity = Parity::default();
    for case in cases(CLASSIFICATION) {
        let name = case["name"].as_str().unwrap().to_string();
        let truth = labels(&case["truth"]);
        let predicted = labels(&case["predicted"]);
        parity.value(
            format!("{name} accuracy"),
            accuracy(&truth, &predicted),
            &case["accuracy"],
        );

        let confusion = confusion_matrix(&truth, &predicted).unwrap();
        assert_eq!(confusion.labels, labels(&case["labels"]), "{name} labels");
        let expected: Vec<Vec<u64>> =
            serde_json::from_value(case["confusion_matrix"].clone()).expect("confusion matrix");
        assert_eq!(confusion.counts, expected, "{name} confusion matrix");

        let positive = case.get("positive").map(label);
        let mut averages = vec![
            ("micro", Average::Micro),
            ("macro", Average::Macro),
            ("weighted", Average::Weighted),
        ];
        if let Some(positive) = &positive {
            averages.push((
                "binary",
                Average::Binary {
                    positive: positive.clone(),
                },
            ));
        }
        for (key, average) in &averages {
            let expected = &case[*key];
            let what = |metric: &str| format!("{name} {metric} ({key})");
            parity.value(
                what("precision"),
                precision(&truth, &predicted, average),
                &expected["precision"],
            );
            parity.value(
                what("recall"),
                recall(&truth, &predicted, average),
                &expected["recall"],
            );
            parity.value(what("f1"), f1(&truth, &predicted, average), &expected["f1"]);
        }

        let per_class = per_class_scores(&truth, &predicted).unwrap();
        let pick = |f: fn(&oxbook_kernel::metrics::ClassScores) -> f64| {
            per_class.iter().map(f).collect::<Vec<f64>>()
        };
        let expected = &case["per_class"];
        parity.values(
            format!("{name} per-class precision"),
            &pick(|c| c.scores.precision),
            &expected["precision"],
        );
        parity.values(
            format!("{name} per-class recall"),
            &pick(|c| c.scores.recall),
            &expected["recall"],
        );
        parity.values(
            format!("{name} per-class f1"),
            &pick(|c| c.scores.f1),
            &expected["f1"],
        );
        parity.values(
            format!("{name} support"),
            &pick(|c| c.support as f64),
            &expected["support"],
        );

        if let (Some(scores), Some(positive)) = (case.get("scores"), &positive) {
            let scores = numbers(scores);
            parity.value(
                format!("{name} roc_auc"),
                roc_auc(&truth, &scores, positive),
                &case["roc_auc"],
            );
            let curve = roc_curve(&truth, &scores, positive).unwrap();
            let expected = &case["roc_curve"];
            parity.values(format!("{name} roc fpr"), &curve.fpr, &expected["fpr"]);
            parity.values(format!("{name} roc tpr"), &curve.tpr, &expected["tpr"]);
            parity.values(
                format!("{name} roc thresholds"),
                &curve.thresholds,
                &expected["thresholds"],
            );
            let curve = precision_recall_curve(&truth, &scores, positive).unwrap();
            let expected = &case["precision_recall_curve"];
            parity.values(
                format!("{name} pr precision"),
                &curve.precision,
                &expected["precision"],
            );
            parity.values(
                format!("{name} pr recall"),
                &curve.recall,
                &expected["recall"],
            );
            parity.values(
                format!("{name} pr thresholds"),
                &curve.thresholds,
                &expected["thresholds"],
            );
        }

        if let Some(probabilities) = case.get("probabilities") {
            let probabilities = matrix(probabilities);
            let classes = labels(&case["classes"]);
            parity.value(
                format!("{name} log_loss"),
                log_loss(&truth, &probabilities, &classes),
                &case["log_loss"],
            );
            if let Some(ovr) = case.get("roc_auc_ovr") {
                for (key, expected) in ovr.as_object().unwrap() {
                    let average = OvrAverage::from_name(key).unwrap();
                    parity.value(
                        format!("{name} roc_auc ovr ({key})"),
                        roc_auc_ovr(&truth, &probabilities, &classes, average),
                        expected,
                    );
                }
            }
        }
    }
    parity.finish(500);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn regression_metrics_equal_scikit_learns() {
    let mut parity = Parity::default();
    type Metric = fn(&[f64], &[f64]) -> Result<f64, MetricError>;
    let metrics: [(&str, Metric); 5] = [
        ("mae", mae),
        ("mse", mse),
        ("rmse", rmse),
        ("r2", r2),
        ("mape", mape),
    ];
    for case in cases(REGRESSION) {
        let name = case["name"].as_str().unwrap();
        let truth = numbers(&case["truth"]);
        let predicted = numbers(&case["predicted"]);
        for (key, metric) in metrics {
            parity.value(
                format!("{name} {key}"),
                metric(&truth, &predicted),
                &case[key],
            );
        }
        let report = regression_report(&truth, &predicted).unwrap();
        assert_eq!(report.r2, r2(&truth, &predicted).unwrap());
        assert_eq!(report.mape, mape(&truth, &predicted).unwrap());
    }
    parity.finish(40);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn clustering_metrics_equal_scikit_learns() {
    let mut parity = Parity::default();
    for case in cases(CLUSTERING) {
        let name = case["name"].as_str().unwrap();
        let points = matrix(&case["points"]);
        let cluster_labels = labels(&case["labels"]);
        parity.value(
            format!("{name} silhouette"),
            silhouette_score(&points, &cluster_labels),
            &case["silhouette"],
        );
        if let Some(centroids) = case.get("centroids") {
            let indices: Vec<usize> =
                serde_json::from_value(case["labels"].clone()).expect("k-means labels");
            parity.value(
                format!("{name} inertia"),
                inertia(&points, &indices, &matrix(centroids)),
                &case["inertia"],
            );
            parity.value(
                format!("{name} inertia about means"),
                inertia_about_means(&points, &cluster_labels),
                &case["inertia_about_means"],
            );
        }
    }
    parity.finish(9);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn sums_round_as_numpys() {
    // np.sum([0.1] * 3) and np.mean: the rounding R² of a constant truth depends on.
    assert_eq!(numpy_sum(&[0.1; 3]), 0.30000000000000004);
    assert_eq!(numpy_sum(&[0.1; 3]) / 3.0, 0.10000000000000002);
    // Values numpy sums to exactly 1e16 + 8·1 in 8 interleaved sums (a plain left-to-right
    // sum loses every 1 against 1e16): numpy.sum([1e16] + [1.0] * 8 + [-1e16]) == 8.0.
    let mut values = vec![1e16];
    values.extend([1.0; 8]);
    values.push(-1e16);
    assert_eq!(values.iter().sum::<f64>(), 0.0);
    assert_eq!(numpy_sum(&values), 8.0);
    assert_eq!(numpy_sum(&[]), 0.0);
}

fn strs(values: &[&str]) -> Vec<ClassLabel> {
    values
        .iter()
        .map(|s| ClassLabel::Str(s.to_string()))
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_inputs_are_errors_naming_the_problem() {
    let yes = ClassLabel::Str("yes".into());
    let truth = strs(&["yes", "no", "yes"]);
    let message = |e: MetricError| e.to_string();

    assert_eq!(
        message(precision(&truth, &strs(&["yes"]), &Average::Macro).unwrap_err()),
        "3 true labels but 1 predictions; there must be as many of each"
    );
    assert_eq!(
        recall(&[], &[], &Average::Macro).unwrap_err(),
        MetricError::Empty
    );
    assert_eq!(
        message(
            f1(
                &truth,
                &strs(&["yes", "maybe", "no"]),
                &Average::Binary {
                    positive: yes.clone()
                }
            )
            .unwrap_err()
        ),
        "binary averaging needs at most two classes, but the labels hold 3: maybe, no, yes; \
         use 'macro', 'weighted' or 'micro' averaging"
    );
    assert_eq!(
        message(
            precision(
                &truth,
                &truth,
                &Average::Binary {
                    positive: ClassLabel::Str("Yes".into())
                }
            )
            .unwrap_err()
        ),
        "the positive class 'Yes' is not one of the labels (no, yes)"
    );
    assert_eq!(
        message(
            precision_recall_f1(
                &truth,
                &[yes.clone(), ClassLabel::Int(1), yes.clone()],
                &Average::Micro
            )
            .unwrap_err()
        ),
        "the labels mix str and int values; compare labels of one type"
    );
    assert_eq!(
        message(Average::from_name("mean", yes.clone()).unwrap_err()),
        "unknown averaging 'mean'; use 'binary', 'micro', 'macro' or 'weighted'"
    );

    let all_yes = strs(&["yes", "yes"]);
    assert_eq!(
        message(roc_auc(&all_yes, &[0.2, 0.9], &yes).unwrap_err()),
        "ROC AUC needs rows of the positive class 'yes' and of other classes among the true \
         labels, but all rows are of the positive class"
    );
    assert_eq!(
        message(roc_auc(&truth, &[0.2, f64::NAN, 0.1], &yes).unwrap_err()),
        "score 1 is NaN; metrics need finite numbers"
    );

    let classes = strs(&["no", "yes"]);
    let probabilities = |rows: &[[f64; 2]]| rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        message(
            log_loss(
                &truth,
                &probabilities(&[[0.5, 0.5], [1.2, -0.2], [0.0, 1.0]]),
                &classes
            )
            .unwrap_err()
        ),
        "row 1: probability 1.2 is not between 0 and 1"
    );
    assert_eq!(
        message(
            log_loss(
                &truth,
                &probabilities(&[[0.5, 0.5], [0.3, 0.6], [0.0, 1.0]]),
                &classes
            )
            .unwrap_err()
        ),
        "row 1: the probabilities sum to 0.8999999999999999, not 1 (within 0.000001)"
    );
    assert_eq!(
        message(
            log_loss(
                &strs(&["yes", "maybe", "no"]),
                &probabilities(&[[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]]),
                &classes
            )
            .unwrap_err()
        ),
        "true label 'maybe' is not one of the classes (no, yes)"
    );
    assert_eq!(
        message(log_loss(&truth, &vec![vec![1.0]; 3], &strs(&["yes"])).unwrap_err()),
        "log loss needs at least two classes, got 1"
    );
    let three = strs(&["a", "b", "c"]);
    let uniform = vec![vec![0.5, 0.25, 0.25]; 4];
    assert_eq!(
        message(
            roc_auc_ovr(
                &strs(&["a", "b", "a", "b"]),
                &uniform,
                &three,
                OvrAverage::Macro
            )
            .unwrap_err()
        ),
        "class 'c' does not occur among the true labels, so its one-vs-rest ROC AUC is \
         undefined; use 'weighted' averaging, which gives it no weight"
    );
    assert_eq!(
        message(roc_auc_ovr(&strs(&["a"; 4]), &uniform, &three, OvrAverage::Weighted).unwrap_err()),
        "ROC AUC needs at least two classes among the true labels, but all are 'a'"
    );

    assert_eq!(
        message(r2(&[1.0], &[2.0]).unwrap_err()),
        "R² needs at least 2 values, got 1"
    );
    assert_eq!(
        message(mae(&[1.0, f64::INFINITY], &[1.0, 2.0]).unwrap_err()),
        "true value 1 is inf; metrics need finite numbers"
    );

    let points = vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![5.0, 5.0]];
    assert_eq!(
        message(silhouette_score(&points, &[1, 1, 1]).unwrap_err()),
        "there are 1 cluster(s) among 3 points; silhouette needs between 2 and 2 clusters (one \
         less than the points)"
    );
    assert_eq!(
        message(silhouette_score(&points, &[1, 2, 3]).unwrap_err()),
        "there are 3 cluster(s) among 3 points; silhouette needs between 2 and 2 clusters (one \
         less than the points)"
    );
    assert_eq!(
        message(silhouette_score(&[vec![0.0], vec![1.0, 2.0]], &[1, 2]).unwrap_err()),
        "point 1 has 2 coordinates, but point 0 has 1"
    );
    assert_eq!(
        message(inertia(&points, &[0, 1, 2], &[vec![0.0, 0.0], vec![1.0, 1.0]]).unwrap_err()),
        "point 2 is assigned to cluster 2, but there are 2 centroids"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn hand_computed_cases() {
    // 2 of 3 predicted "yes" are right; 2 of 4 true "yes" are found.
    let truth = strs(&["yes", "yes", "yes", "yes", "no", "no"]);
    let predicted = strs(&["yes", "yes", "no", "no", "yes", "no"]);
    let binary = Average::Binary {
        positive: ClassLabel::Str("yes".into()),
    };
    let scores = precision_recall_f1(&truth, &predicted, &binary).unwrap();
    assert_eq!((scores.precision, scores.recall), (2.0 / 3.0, 0.5));
    assert!((scores.f1 - 4.0 / 7.0).abs() < 1e-15);
    let report = classification_report(&truth, &predicted).unwrap();
    assert_eq!(report.accuracy, 0.5);
    assert_eq!(report.classes[0].support, 2);
    assert_eq!(report.support, 6);

    // Every positive outscores every negative but one tie: AUC = (5 + 0.5) / 6.
    let truth = strs(&["p", "p", "p", "n", "n"]);
    let auc = roc_auc(
        &truth,
        &[0.9, 0.8, 0.4, 0.4, 0.1],
        &ClassLabel::Str("p".into()),
    )
    .unwrap();
    assert!((auc - 5.5 / 6.0).abs() < 1e-15, "{auc}");

    // Two tight pairs far apart: a = 1 for every point, b = 10.5 for the outer and 9.5 for
    // the inner ones; k-means inertia 4 · 0.5².
    let points = vec![
        vec![0.0, 0.0],
        vec![1.0, 0.0],
        vec![10.0, 0.0],
        vec![11.0, 0.0],
    ];
    let s = silhouette_score(&points, &["a", "a", "b", "b"]).unwrap();
    assert!(
        (s - (1.0 - (1.0 / 10.5 + 1.0 / 9.5) / 2.0)).abs() < 1e-12,
        "{s}"
    );
    assert_eq!(inertia_about_means(&points, &[0, 0, 1, 1]).unwrap(), 1.0);
}

// ----- the cell functions --------------------------------------------------------------

/// Customers whose `bought` depends on age and income with some noise, and a three-way
/// `tier` target.
fn customers_csv() -> String {
    let mut csv = String::from("age,income,bought,tier\n");
    for i in 0..60u64 {
        let age = 20 + (i * 37) % 45;
        let income = 20_000 + ((i * 7919) % 60) * 1_000;
        let bought =
            (age as f64) / 60.0 + (income as f64) / 100_000.0 + ((i * 13) % 7) as f64 / 10.0 > 1.3;
        let tier = ["basic", "plus", "pro"][((age + income / 10_000 + i % 3) % 3) as usize];
        csv.push_str(&format!("{age},{income},{bought},{tier}\n"));
    }
    csv
}

/// The text of a cell's single output (or its error).
fn run(session: &mut Session, code: &str) -> String {
    let run = session.execute("cell", code);
    run.outputs
        .iter()
        .map(|output| match output {
            Output::DisplayData { data } => data.text.clone().unwrap_or_default(),
            Output::Error(e) => format!("{}: {}", e.ename, e.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn session() -> Session {
    let mut session = Session::new();
    session.provide_file("/customers.csv", customers_csv().into_bytes());
    let setup = "let df = read_csv(\"/customers.csv\");\n\
                 let model = logistic_regression(df, [\"age\", \"income\"], \"bought\");\n\
                 let tiers = random_forest(df, [\"age\", \"income\"], \"tier\", #{trees: 10});\n\
                 let scored = model.predict(df);\n\
                 let tiered = tiers.predict(df);";
    let setup_run = run(&mut session, setup);
    assert_eq!(setup_run, "", "setup failed");
    session
}

fn value(session: &mut Session, code: &str) -> f64 {
    let text = run(session, code);
    text.parse()
        .unwrap_or_else(|_| panic!("`{code}` gave '{text}', not a number"))
}

fn bools(session: &mut Session, code: &str) -> Vec<ClassLabel> {
    let text = run(session, code);
    let values: Vec<bool> = serde_json::from_str(&text).expect("an array of bools");
    values.into_iter().map(ClassLabel::Bool).collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cell_functions_agree_with_the_rust_api() {
    let mut s = session();
    let truth = bools(&mut s, "df.column(\"bought\")");
    let predicted = bools(&mut s, "scored.column(\"prediction\")");
    let scores: Vec<f64> =
        serde_json::from_str(&run(&mut s, "scored.column(\"p_true\")")).expect("scores");
    let positive = ClassLabel::Bool(true);
    let binary = Average::Binary {
        positive: positive.clone(),
    };
    // Two classes: binary scores of `true` by default.
    assert_eq!(
        value(&mut s, "precision(model, df)"),
        precision(&truth, &predicted, &binary).unwrap()
    );
    assert_eq!(
        value(&mut s, "recall(model, df, \"macro\")"),
        recall(&truth, &predicted, &Average::Macro).unwrap()
    );
    assert_eq!(
        value(&mut s, "f1(model, df, \"weighted\")"),
        f1(&truth, &predicted, &Average::Weighted).unwrap()
    );
    assert_eq!(
        value(&mut s, "roc_auc(model, df)"),
        roc_auc(&truth, &scores, &positive).unwrap()
    );
    let probabilities: Vec<Vec<f64>> = scores.iter().map(|p| vec![1.0 - p, *p]).collect();
    let loss = value(&mut s, "log_loss(model, df)");
    let expected = log_loss(
        &truth,
        &probabilities,
        &[ClassLabel::Bool(false), positive.clone()],
    )
    .unwrap();
    assert!((loss - expected).abs() < 1e-12, "{loss} vs {expected}");
    let curve = roc_curve(&truth, &scores, &positive).unwrap();
    assert_eq!(
        value(&mut s, "roc_curve(model, df).rows()"),
        curve.fpr.len() as f64
    );
    let curve = precision_recall_curve(&truth, &scores, &positive).unwrap();
    assert_eq!(
        value(&mut s, "precision_recall_curve(model, df).rows()"),
        curve.precision.len() as f64
    );

    // Three classes: macro by default, one-vs-rest ROC AUC.
    let tiers = |text: String| -> Vec<ClassLabel> {
        let values: Vec<String> = serde_json::from_str(&text).expect("strings");
        values.into_iter().map(ClassLabel::Str).collect()
    };
    let truth = tiers(run(&mut s, "df.column(\"tier\")"));
    let predicted = tiers(run(&mut s, "tiered.column(\"prediction\")"));
    assert_eq!(
        value(&mut s, "precision(tiers, df)"),
        precision(&truth, &predicted, &Average::Macro).unwrap()
    );
    let classes = strs(&["basic", "plus", "pro"]);
    let mut probabilities = vec![Vec::new(); truth.len()];
    for class in ["basic", "plus", "pro"] {
        let column: Vec<f64> =
            serde_json::from_str(&run(&mut s, &format!("tiered.column(\"p_{class}\")"))).unwrap();
        for (row, p) in probabilities.iter_mut().zip(column) {
            row.push(p);
        }
    }
    assert_eq!(
        value(&mut s, "roc_auc(tiers, df, \"weighted\")"),
        roc_auc_ovr(&truth, &probabilities, &classes, OvrAverage::Weighted).unwrap()
    );
    let report = run(&mut s, "classification_report(tiers, df)");
    for row in [
        "basic",
        "plus",
        "pro",
        "accuracy",
        "macro avg",
        "weighted avg",
    ] {
        assert!(report.contains(row), "no '{row}' row in\n{report}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cell_regression_and_clustering_functions() {
    let mut s = session();
    let truth = [3.0, -0.5, 2.0, 7.0];
    let predicted = [2.5, 0.0, 2.0, 8.0];
    let arrays = "[3, -0.5, 2, 7], [2.5, 0.0, 2, 8]";
    type Metric = fn(&[f64], &[f64]) -> Result<f64, MetricError>;
    let metrics: [(&str, Metric); 5] = [
        ("mae", mae),
        ("mse", mse),
        ("rmse", rmse),
        ("r2", r2),
        ("mape", mape),
    ];
    for (name, metric) in metrics {
        assert_eq!(
            value(&mut s, &format!("{name}({arrays})")),
            metric(&truth, &predicted).unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        value(&mut s, &format!("regression_report({arrays}).rmse")),
        rmse(&truth, &predicted).unwrap()
    );
    assert_eq!(
        run(&mut s, "mae([1, 2], [1, \"2\"])"),
        "RuntimeError: the predicted values must be numbers, but item 1 is a string"
    );
    assert_eq!(
        run(&mut s, "r2([1], [2])"),
        "RuntimeError: R² needs at least 2 values, got 1"
    );

    let by_column = value(&mut s, "silhouette(df, [\"age\", \"income\"], \"tier\")");
    let by_array = value(
        &mut s,
        "silhouette(df, [\"age\", \"income\"], df.column(\"tier\"))",
    );
    assert_eq!(by_column, by_array);
    assert!((-1.0..=1.0).contains(&by_column));
    let inertia = value(&mut s, "inertia(df, [\"age\"], df.column(\"bought\"))");
    assert!(inertia > 0.0);
    assert_eq!(
        run(&mut s, "silhouette(df, [\"age\", \"tier\"], \"bought\")"),
        "RuntimeError: feature column 'tier' holds str values; distances need numbers"
    );
    assert_eq!(
        run(&mut s, "precision(model, df, \"mean\")"),
        "RuntimeError: unknown averaging 'mean'; use 'binary', 'micro', 'macro' or 'weighted'"
    );
    assert_eq!(
        run(&mut s, "roc_curve(tiers, df)"),
        "RuntimeError: the model has 3 classes; name the positive one, e.g. roc_curve(model, \
         df, \"pro\")"
    );
    assert!(value(&mut s, "roc_curve(tiers, df, \"plus\").rows()") > 2.0);
}
