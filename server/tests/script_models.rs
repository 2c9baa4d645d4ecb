//! Endpoints serving a user's own algorithm: the artifact a notebook saves carries the
//! algorithm's Rhai source and fitted state, and the server predicts with the kernel's
//! runner from raw rows (replaying the notebook's recipe), or answers the script's error
//! as JSON and keeps serving.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::InvocationResponse;
use serde_json::{json, Map, Value};

/// A notebook cell that scales two columns, fits a nearest-class-mean classifier written
/// in the cell on them, and saves it. Its `predict` refuses rows with `a` above 100 (on
/// the scaled value, which raw 1000 is), so an endpoint can be made to fail on purpose.
const CELL: &str = r#"
let df = parse_csv(`a,b,label
0,0,x
2,0,x
0,2,x
2,2,x
9,9,y
11,9,y
9,11,y
11,11,y
`).standard_scale(["a", "b"]);
let nearest_mean = algorithm("nearest_mean", "classification", `
fn fit(x, y, settings) {
    let classes = [];
    for label in y { if !classes.contains(label) { classes.push(label); } }
    classes.sort();
    let means = [];
    for c in classes {
        let sum = [0.0, 0.0];
        let n = 0;
        for i in 0..x.len() { if y[i] == c { sum[0] += x[i][0]; sum[1] += x[i][1]; n += 1; } }
        means.push([sum[0] / n, sum[1] / n]);
    }
    #{ classes: classes, means: means }
}
fn predict(state, x) {
    x.map(|row| {
        if row[0] > 100.0 { throw "a is out of range: " + row[0]; }
        let d = state.means.map(|m| (row[0] - m[0]) ** 2 + (row[1] - m[1]) ** 2);
        if d[0] <= d[1] { state.classes[0] } else { state.classes[1] }
    })
}
`);
save_model(fit(df, nearest_mean, ["a", "b"], "label"), "nearest")
"#;

fn script_artifact() -> String {
    common::artifact_of(CELL)
}

#[tokio::test]
async fn an_endpoint_predicts_with_the_users_algorithm() {
    let artifact = script_artifact();
    let app = TestApp::new().await;
    let info = app.deploy("nearest", "nearest", &artifact).await;
    assert_eq!(info.model.name, "nearest");
    // Raw rows: the endpoint scales them with the notebook's recipe before predicting.
    let rows =
        json!([{ "a": 1, "b": 2 }, { "a": 4, "b": 4 }, { "a": 6, "b": 6 }, { "a": 8, "b": 1 }]);
    let response = app.invoke(&info.invocations_path, &rows).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let got: InvocationResponse = response.json();
    // (6, 6) is nearer y's mean (10, 10) than x's (1, 1); (8, 1) is nearer x's.
    assert_eq!(
        got.predictions,
        vec![json!("x"), json!("x"), json!("y"), json!("x")]
    );
    assert_eq!(got.classes, Some(vec![json!("x"), json!("y")]));
    // No predict_proba, so no probabilities.
    assert_eq!(got.probabilities, None);
    let records: Vec<Map<String, Value>> = serde_json::from_value(rows).unwrap();
    let expected = ModelArtifact::from_json(&artifact)
        .unwrap()
        .predict_records(&records)
        .unwrap();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_failing_predict_is_a_json_error_and_the_server_keeps_serving() {
    let app = TestApp::new().await;
    let info = app.deploy("nearest", "nearest", &script_artifact()).await;
    let response = app
        .invoke(
            &info.invocations_path,
            json!([{ "a": 1, "b": 2 }, { "a": 1000, "b": 2 }]),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    let error = response.error();
    assert!(
        error.starts_with("predict of algorithm 'nearest_mean' failed: a is out of range: ")
            && error.ends_with("(line 16, column 29)"),
        "{error}"
    );

    let response = app
        .invoke(&info.invocations_path, json!([{ "a": 9, "b": 9 }]))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let got: InvocationResponse = response.json();
    assert_eq!(got.predictions, vec![json!("y")]);
}

#[tokio::test]
async fn an_uploaded_script_model_with_broken_code_is_refused() {
    let mut document: Value = serde_json::from_str(&script_artifact()).unwrap();
    document["settings"]["script"]["source"] = json!("fn fit(x, y, s) { 1 }\nfn predict(s, x) {");
    let app = TestApp::new().await;
    let response = app
        .raw(
            Method::POST,
            "/api/models/broken",
            Some("application/json"),
            document.to_string(),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    let error = response.error();
    assert!(
        error.contains("algorithm 'nearest_mean': syntax error") && error.contains("line 2"),
        "{error}"
    );
}
