//! Users' own algorithms at the cell boundary: an algorithm defined in a cell fits,
//! predicts, scores, cross-validates and is recorded like a built-in one; its artifact
//! carries the source and the fitted state, so it predicts again after a JSON round trip
//! and from raw rows as an endpoint gets them; and every way it can go wrong is a clear
//! error.

use oxbook_kernel::{Limits, ModelArtifact, PredictError, Session};
use oxbook_protocol::{CellRun, CellStatus, Effect, Output, RunKind, RunSpec};
use serde_json::{json, Map, Value};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Two clusters of training rows: class "x" around (1, 1), class "y" around (10, 10).
const TRAIN: &str = "a,b,label\n0,0,x\n2,0,x\n0,2,x\n2,2,x\n9,9,y\n11,9,y\n9,11,y\n11,11,y\n";
/// Rows to score: the nearest class means are x, x, y, x, so against the truth x, x, y, y
/// the accuracy is 3/4.
const TEST: &str = "a,b,label\n1,2,x\n4,4,x\n6,6,y\n8,1,y\n";

/// The nearest class mean: the state is each class's mean row; `predict_proba` weights
/// each class by the inverse of its squared distance.
const NEAREST_MEAN: &str = r#"
let nearest_mean = algorithm("nearest_mean", "classification", `
fn fit(x, y, settings) {
    let classes = [];
    for label in y { if !classes.contains(label) { classes.push(label); } }
    classes.sort();
    let means = [];
    for c in classes {
        let sum = [];
        for j in 0..x[0].len() { sum.push(0.0); }
        let n = 0;
        for i in 0..x.len() {
            if y[i] == c {
                for j in 0..sum.len() { sum[j] += x[i][j]; }
                n += 1;
            }
        }
        for j in 0..sum.len() { sum[j] /= n.to_float(); }
        means.push(sum);
    }
    #{ classes: classes, means: means, scale: settings.get("scale") ?? 1.0 }
}
fn distances(state, row) {
    let out = [];
    for m in state.means {
        let d = 0.0;
        for j in 0..row.len() { d += (row[j] - m[j]) ** 2; }
        out.push(d * state.scale);
    }
    out
}
fn predict(state, x) {
    let out = [];
    for row in x {
        let d = distances(state, row);
        let best = 0;
        for c in 0..d.len() { if d[c] < d[best] { best = c; } }
        out.push(state.classes[best]);
    }
    out
}
fn predict_proba(state, x) {
    let out = [];
    for row in x {
        let w = distances(state, row).map(|d| 1.0 / (d + 0.000001));
        let total = w.reduce(|s, v| s + v, 0.0);
        out.push(w.map(|v| v / total));
    }
    out
}
`);
"#;

fn session() -> Session {
    let mut session = Session::new();
    run_ok(&mut session, &format!("let train = parse_csv(`{TRAIN}`);"));
    run_ok(&mut session, &format!("let test = parse_csv(`{TEST}`);"));
    run_ok(&mut session, NEAREST_MEAN);
    session
}

fn run(session: &mut Session, code: &str) -> CellRun {
    session.execute("cell", code)
}

fn text(run: &CellRun) -> String {
    run.outputs
        .iter()
        .map(|o| match o {
            Output::DisplayData { data } => data.text.clone().unwrap_or_default(),
            Output::Error(e) => {
                format!("{} at {:?}:{:?}: {}", e.ename, e.line, e.column, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_ok(session: &mut Session, code: &str) -> CellRun {
    let run = run(session, code);
    assert_eq!(run.status, CellStatus::Done, "{code}\n{}", text(&run));
    run
}

/// The error message of a cell that must fail.
fn run_err(session: &mut Session, code: &str) -> String {
    let run = run(session, code);
    assert_eq!(run.status, CellStatus::Failed, "{code}\n{}", text(&run));
    match run.outputs.last() {
        Some(Output::Error(e)) => e.message.clone(),
        other => panic!("no error output: {other:?}"),
    }
}

fn runs(run: &CellRun) -> Vec<RunSpec> {
    run.effects
        .iter()
        .filter_map(|e| match e {
            Effect::RecordRun { run } => Some(run.clone()),
            _ => None,
        })
        .collect()
}

/// The artifact a `save_model` cell hands the host.
fn saved(session: &mut Session, model: &str) -> ModelArtifact {
    let run = run_ok(session, &format!("save_model({model}, \"m\")"));
    let artifact = run
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::SaveModel { artifact, .. } => Some(artifact.clone()),
            _ => None,
        })
        .expect("a save effect");
    ModelArtifact::from_json(&artifact).expect("the saved artifact reads back")
}

fn records(rows: Value) -> Vec<Map<String, Value>> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| r.as_object().expect("an object").clone())
        .collect()
}

#[test]
fn fits_predicts_and_scores_like_a_built_in() {
    let mut s = session();
    let fitted = run_ok(
        &mut s,
        r#"let m = fit(train, nearest_mean, ["a", "b"], "label", #{ scale: 2.0 }); m"#,
    );
    let summary = text(&fitted);
    assert!(
        summary.starts_with("nearest_mean model predicting 'label'"),
        "{summary}"
    );
    assert!(summary.contains("classes: x, y"), "{summary}");
    assert!(summary.contains("settings: scale: 2.0"), "{summary}");
    assert!(summary.contains("train_accuracy: 1"), "{summary}");

    let predicted = run_ok(&mut s, r#"m.predict(test).column("prediction")"#);
    assert_eq!(text(&predicted), r#"["x", "x", "y", "x"]"#);
    let accuracy = run_ok(&mut s, "accuracy(m, test)");
    assert_eq!(text(&accuracy), "0.75");
    // predict_proba gives probabilities, so probability scores work. The third test row
    // (6, 6) has squared distances 50 and 32, doubled by the scale setting.
    let p = run_ok(&mut s, r#"m.predict(test).column("p_y")[2]"#);
    let (w_x, w_y) = (1.0 / (100.0 + 0.000001), 1.0 / (64.0 + 0.000001));
    let expected = w_y / (w_x + w_y);
    let got: f64 = text(&p).parse().expect("a number");
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    // p(y) is about 0.007 and 0.2 for the two x rows, 0.61 and 0.37 for the two y rows:
    // every y row ranks above every x row although the last is predicted x.
    let auc = run_ok(&mut s, "roc_auc(m, test)");
    assert_eq!(text(&auc).parse::<f64>(), Ok(1.0), "{}", text(&auc));
    let confusion = run_ok(&mut s, "confusion_matrix(m, test)");
    assert!(text(&confusion).contains('x'), "{}", text(&confusion));
}

#[test]
fn a_fit_and_a_cross_validation_are_recorded_as_runs() {
    let mut s = session();
    let fitted = run_ok(
        &mut s,
        r#"let m = fit(train, nearest_mean, ["a", "b"], "label", #{ scale: 2.0 });"#,
    );
    let recorded = runs(&fitted);
    assert_eq!(recorded.len(), 1, "{:?}", fitted.effects);
    assert_eq!(recorded[0].kind, RunKind::Fit);
    assert_eq!(recorded[0].algorithm, "nearest_mean");
    assert_eq!(recorded[0].settings, json!({ "scale": 2.0 }));
    assert_eq!(recorded[0].features, ["a", "b"]);
    assert_eq!(recorded[0].metrics.get("train_accuracy"), Some(&1.0));

    let cv = run_ok(
        &mut s,
        r#"cross_validate(train, nearest_mean, ["a", "b"], "label", #{}, #{ folds: 2, seed: 1 })"#,
    );
    let recorded = runs(&cv);
    assert_eq!(recorded.len(), 1, "{:?}", cv.effects);
    assert_eq!(recorded[0].kind, RunKind::CrossValidation);
    assert_eq!(recorded[0].algorithm, "nearest_mean");
    // Stratified folds keep two of each class in each; the class means separate them.
    assert_eq!(recorded[0].metrics.get("cv_accuracy_mean"), Some(&1.0));
    assert!(
        recorded[0].metrics.contains_key("cv_roc_auc_mean"),
        "{:?}",
        recorded[0].metrics
    );
    assert!(text(&cv).contains("accuracy"), "{}", text(&cv));
}

#[test]
fn the_artifact_round_trips_and_predicts_raw_rows_through_its_recipe() {
    let mut s = session();
    // Scaled in the notebook: an endpoint's raw rows must be scaled the same way.
    run_ok(
        &mut s,
        r#"
        let scaled = train.standard_scale(["a", "b"]);
        let m = fit(scaled, nearest_mean, ["a", "b"], "label");
        let scaled_test = test.standard_scale(["a", "b"]);
        "#,
    );
    let artifact = saved(&mut s, "m");
    assert_eq!(artifact.algorithm_name(), "nearest_mean");
    let text_form = artifact.to_json();
    assert!(text_form.contains(r#""language":"rhai""#), "{text_form}");
    let again = ModelArtifact::from_json(&text_form).expect("reads back");
    assert_eq!(again, artifact);
    assert_eq!(again.to_json(), text_form);

    // Raw rows, as an endpoint gets them: the recipe scales them as the notebook did.
    let response = again
        .predict_records(&records(json!([
            { "a": 1, "b": 2 }, { "a": 4, "b": 4 }, { "a": 6, "b": 6 }, { "a": 8, "b": 1 }
        ])))
        .expect("predicts");
    assert_eq!(
        response.predictions,
        vec![json!("x"), json!("x"), json!("y"), json!("x")]
    );
    assert_eq!(response.classes, Some(vec![json!("x"), json!("y")]));
    // The notebook's own predictions on the raw test rows (the model scales them), to
    // the bit: Rust's `{:?}` of a float is the shortest text that parses back to it.
    let probabilities = response.probabilities.expect("probabilities");
    let p_x: Vec<String> = probabilities
        .iter()
        .map(|p| format!("{:?}", p[0]))
        .collect();
    assert_eq!(p_x[0], "0.9931505413774109", "{p_x:?}");
    let same = run_ok(
        &mut s,
        &format!(r#"m.predict(test).column("p_x") == [{}]"#, p_x.join(", ")),
    );
    assert_eq!(
        text(&same),
        "true",
        "the endpoint's probabilities are the notebook's"
    );
}

#[test]
fn a_regressor_and_a_clustering() {
    let mut s = session();
    run_ok(
        &mut s,
        r#"
        let mean_of = algorithm("mean_of", "regression", `
            fn fit(x, y, settings) { #{ mean: y.reduce(|s, v| s + v, 0.0) / y.len() } }
            fn predict(state, x) { x.map(|row| state.mean + row[0] * 0.0) }
        `);
        let halves = algorithm("halves", "clustering", `
            fn fit(x, y, settings) { #{ cut: settings.cut } }
            fn predict(state, x) { x.map(|row| if row[0] < state.cut { 0 } else { 1 }) }
        `);
        "#,
    );
    // b's mean over the training rows is 5.5; MAE on the test's b (2, 4, 6, 1) is
    // (3.5 + 1.5 + 0.5 + 4.5) / 4 = 2.5.
    let r = run_ok(
        &mut s,
        r#"let r = fit(train, mean_of, ["a"], "b"); regression_metrics(r, test)"#,
    );
    assert!(text(&r).contains("2.5"), "{}", text(&r));
    let values = run_ok(&mut s, r#"r.predict(test).column("prediction")"#);
    assert_eq!(text(&values), "[5.5, 5.5, 5.5, 5.5]");
    let c = run_ok(
        &mut s,
        r#"let c = fit(train, halves, ["a", "b"], #{ cut: 5 }); c.predict(test).column("cluster")"#,
    );
    assert_eq!(text(&c), "[0, 0, 1, 1]");
    let artifact = saved(&mut s, "c");
    let response = artifact
        .predict_records(&records(json!([{ "a": 7, "b": 0 }, { "a": 3, "b": 0 }])))
        .expect("predicts");
    assert_eq!(response.predictions, vec![json!(1), json!(0)]);
}

#[test]
fn errors_in_the_source_name_the_problem_and_place() {
    let mut s = session();
    let message = run_err(
        &mut s,
        "algorithm(\"bad\", \"classification\", \"fn fit(x, y, s) {\\n  let = 1;\\n}\")",
    );
    assert!(
        message.starts_with("algorithm 'bad': syntax error:")
            && message.contains("(line 2, column"),
        "{message}"
    );
    let message = run_err(
        &mut s,
        r#"algorithm("half", "classification", "fn fit(x, y, s) { 1 }")"#,
    );
    assert_eq!(
        message,
        "algorithm 'half': it defines no function `predict(state, x)`"
    );
    let message = run_err(
        &mut s,
        r#"algorithm("odd", "regression", "fn fit(x, y) { 1 } fn predict(s, x) { x }")"#,
    );
    assert_eq!(
        message,
        "algorithm 'odd': its `fit` takes 2 parameter(s); it must be `fit(x, y, settings)`"
    );
    let message = run_err(
        &mut s,
        r#"algorithm("knn", "classification", "fn fit(x, y, s) { 1 } fn predict(s, x) { x }")"#,
    );
    assert!(
        message.contains("'knn' is a built-in algorithm"),
        "{message}"
    );
    let message = run_err(
        &mut s,
        r#"algorithm("p", "ranking", "fn fit(x, y, s) { 1 } fn predict(s, x) { x }")"#,
    );
    assert!(message.starts_with("unknown task 'ranking'"), "{message}");
}

#[test]
fn a_state_that_is_not_data_is_refused() {
    let mut s = session();
    let message = run_err(
        &mut s,
        r#"
        let f = algorithm("fp", "classification", `
            fn fit(x, y, settings) { #{ classes: ["x", "y"], f: Fn("predict") } }
            fn predict(state, x) { x.map(|r| "x") }
        `);
        fit(train, f, ["a", "b"], "label")
        "#,
    );
    assert_eq!(
        message,
        "fit of algorithm 'fp' failed: the state.f is a function pointer (Fn); fit must \
         return plain data (maps, arrays, numbers, strings and bools)"
    );
}

#[test]
fn runtime_errors_and_wrong_predictions_are_clear() {
    let mut s = session();
    // Fitting predicts the training rows (for the training scores), so a broken predict
    // shows at fit.
    let message = run_err(
        &mut s,
        "let boom = algorithm(\"boom\", \"classification\", \"fn fit(x, y, s) { 0 }\\n\
         fn predict(state, x) {\\n    throw \\\"no luck\\\";\\n}\");\n\
         fit(train, boom, [\"a\"], \"label\")",
    );
    assert_eq!(
        message,
        "predict of algorithm 'boom' failed: no luck (line 3, column 5)"
    );
    let message = run_err(
        &mut s,
        r#"
        let short = algorithm("short", "classification", `
            fn fit(x, y, s) { 0 }
            fn predict(state, x) { ["x"] }
        `);
        fit(train, short, ["a"], "label")
        "#,
    );
    assert_eq!(
        message,
        "predict of algorithm 'short' failed: predict gave 1 value(s) for 8 row(s); it must \
         give one per row"
    );
    let message = run_err(
        &mut s,
        r#"
        let other = algorithm("other", "classification", `
            fn fit(x, y, s) { 0 }
            fn predict(state, x) { x.map(|r| "z") }
        `);
        fit(train, other, ["a"], "label")
        "#,
    );
    assert_eq!(
        message,
        "predict of algorithm 'other' failed: predict gave the string \"z\" for row 0, which \
         is not one of the classes (x, y)"
    );
    let message = run_err(
        &mut s,
        r#"
        let words = algorithm("words", "regression", `
            fn fit(x, y, s) { 0 }
            fn predict(state, x) { x.map(|r| "many") }
        `);
        fit(train, words, ["a"], "b")
        "#,
    );
    assert_eq!(
        message,
        "predict of algorithm 'words' failed: predict gave the string \"many\" for row 0; a \
         regressor predicts finite numbers"
    );
    let message = run_err(
        &mut s,
        r#"
        let thrown = algorithm("thrown", "regression", `
            fn fit(x, y, s) { throw "cannot fit " + y.len() + " rows"; }
            fn predict(state, x) { x }
        `);
        fit(train, thrown, ["a"], "b")
        "#,
    );
    assert_eq!(
        message,
        // Rhai drops the line break right after an opening backtick: line 1 is `fn fit`.
        "fit of algorithm 'thrown' failed: cannot fit 8 rows (line 1, column 31)"
    );
}

#[test]
fn an_endless_loop_stops_at_the_operation_limit() {
    let mut s = Session::with_limits(Limits {
        max_operations: 20_000,
        ..Limits::default()
    });
    run_ok(&mut s, &format!("let train = parse_csv(`{TRAIN}`);"));
    let message = run_err(
        &mut s,
        r#"
        let forever = algorithm("forever", "classification", `
            fn fit(x, y, s) { loop { } }
            fn predict(state, x) { x }
        `);
        fit(train, forever, ["a"], "label")
        "#,
    );
    assert!(
        message.starts_with(
            "fit of algorithm 'forever' failed: it ran more than 20000 operations and was \
             stopped (an endless loop?)"
        ),
        "{message}"
    );
}

#[test]
fn an_endpoint_gets_the_scripts_error() {
    let mut s = session();
    run_ok(
        &mut s,
        r#"
        let picky = algorithm("picky", "regression", `
            fn fit(x, y, s) { #{ limit: 100.0 } }
            fn predict(state, x) {
                x.map(|row| {
                    if row[0] > state.limit { throw "a is too large: " + row[0]; }
                    row[0] * 2.0
                })
            }
        `);
        let m = fit(train, picky, ["a"], "b");
        "#,
    );
    let artifact = saved(&mut s, "m");
    let ok = artifact
        .predict_records(&records(json!([{ "a": 3 }, { "a": 4 }])))
        .expect("predicts");
    assert_eq!(ok.predictions, vec![json!(6.0), json!(8.0)]);
    let err = artifact
        .predict_records(&records(json!([{ "a": 3 }, { "a": 500 }])))
        .expect_err("fails");
    assert!(matches!(err, PredictError::Script { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "predict of algorithm 'picky' failed: a is too large: 500.0 (line 4, column 47)"
    );
}

#[test]
fn an_artifact_with_broken_code_or_an_unknown_language_is_refused() {
    let mut s = session();
    run_ok(
        &mut s,
        r#"let m = fit(train, nearest_mean, ["a", "b"], "label");"#,
    );
    let good = saved(&mut s, "m").to_json();
    let mut document: Value = serde_json::from_str(&good).expect("JSON");
    document["settings"]["script"]["source"] = json!("fn fit(x, y, s) { 1 }");
    let err = ModelArtifact::from_json(&document.to_string()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "inconsistent model artifact: algorithm 'nearest_mean': it defines no function \
         `predict(state, x)`"
    );
    let mut document: Value = serde_json::from_str(&good).expect("JSON");
    document["settings"]["script"]["language"] = json!("python");
    let err = ModelArtifact::from_json(&document.to_string()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "inconsistent model artifact: algorithm 'nearest_mean' is written in 'python', which \
         this Oxbook cannot run (it runs rhai)"
    );
}

/// An artifact read back from JSON (as the server reads one) runs under the cells' default
/// limits: a predict that never ends stops at 100 million operations with an error.
#[test]
fn a_deployed_endless_predict_stops_at_the_default_operation_limit() {
    let mut s = session();
    run_ok(
        &mut s,
        r#"
        let stuck = algorithm("stuck", "regression", `
            fn fit(x, y, s) { #{ stuck: false } }
            fn predict(state, x) {
                if state.stuck { loop { } }
                x.map(|row| 1.0)
            }
        `);
        let m = fit(train, stuck, ["a"], "b");
        "#,
    );
    let mut document: Value = serde_json::from_str(&saved(&mut s, "m").to_json()).unwrap();
    document["fitted"]["script"]["state"]["stuck"] = json!(true);
    let artifact = ModelArtifact::from_json(&document.to_string()).expect("reads");
    let err = artifact
        .predict_records(&records(json!([{ "a": 3 }])))
        .expect_err("stops");
    assert_eq!(
        err.to_string(),
        format!(
            "predict of algorithm 'stuck' failed: it ran more than {} operations and was \
             stopped (an endless loop?)",
            Limits::default().max_operations
        )
    );
}
