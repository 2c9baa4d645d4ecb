//! Experiment runs: `/api/runs` in process over a real SQLite file, and the runner's
//! handling of `Effect::RecordRun` against a live server and without one.

mod common;

use std::collections::BTreeMap;

use axum::http::{header, Method, StatusCode};
use common::TestApp;
use oxbook_protocol::{DatasetRef, Effect, RunContext, RunKind, RunRecord, RunSpec};
use oxbook_server::runner::{EffectHost, Remote, RunError, RunSummary, RUNS_FILE_NAME};
use serde_json::{json, Value};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn spec(id: &str, kind: RunKind, algorithm: &str, metrics: &[(&str, f64)]) -> RunSpec {
    RunSpec {
        id: id.to_string(),
        kind,
        algorithm: algorithm.to_string(),
        settings: json!({ "n_trees": 100, "max_depth": 10 }),
        target: Some("bought".into()),
        features: vec!["price".into(), "colour".into()],
        dataset: Some(DatasetRef {
            name: "hats.csv".into(),
            sha256: SHA_A.into(),
        }),
        rows: 800,
        metrics: metrics
            .iter()
            .map(|(name, value)| (name.to_string(), *value))
            .collect(),
        duration_ms: 12.5,
    }
}

fn record(spec: RunSpec, notebook: &str, revision: u64) -> RunRecord {
    RunRecord {
        spec,
        notebook_id: Some(notebook.to_string()),
        notebook_revision: Some(revision),
        created_at: String::new(),
    }
}

async fn put(app: &TestApp, run: &RunRecord) -> common::TestResponse {
    app.json(
        Method::PUT,
        &format!("/api/runs/{}", run.spec.id),
        &serde_json::to_value(run).unwrap(),
    )
    .await
}

async fn put_ok(app: &TestApp, run: &RunRecord) -> RunRecord {
    let response = put(app, run).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/api/runs{query}")).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{query}: {}",
        response.text()
    );
    response
        .json::<Vec<RunRecord>>()
        .into_iter()
        .map(|run| run.spec.id)
        .collect()
}

/// Four runs, recorded in this order (so newest first is d, c, b, a).
async fn four_runs(app: &TestApp) {
    let mut b = spec(
        "s1.2",
        RunKind::CrossValidation,
        "random_forest",
        &[("cv_accuracy_mean", 0.8), ("cv_accuracy_std", 0.02)],
    );
    b.dataset = Some(DatasetRef {
        name: "other.csv".into(),
        sha256: SHA_B.into(),
    });
    let mut d = spec("s2.1", RunKind::Fit, "k_means", &[("inertia", 41.5)]);
    d.target = None;
    d.dataset = None;
    for run in [
        record(
            spec(
                "s1.1",
                RunKind::Fit,
                "random_forest",
                &[("train_accuracy", 0.9)],
            ),
            "nb-1",
            1,
        ),
        record(b, "nb-1", 2),
        record(
            spec(
                "s1.3",
                RunKind::Fit,
                "logistic_regression",
                &[("train_accuracy", 0.95)],
            ),
            "nb-1",
            2,
        ),
        record(d, "nb-2", 7),
    ] {
        put_ok(app, &run).await;
    }
}

#[tokio::test]
async fn record_get_and_delete_a_run() {
    let app = TestApp::new().await;
    let run = record(
        spec(
            "0b6c0f3e-8f7e.1",
            RunKind::Fit,
            "random_forest",
            &[("train_accuracy", 0.875), ("train_f1_macro", 0.5)],
        ),
        "nb-1",
        3,
    );
    let response = put(&app, &run).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(
        response.header(header::LOCATION),
        "/api/runs/0b6c0f3e-8f7e.1"
    );
    let stored: RunRecord = response.json();
    assert!(
        stored.created_at.ends_with('Z') && stored.created_at.len() == 27,
        "{}",
        stored.created_at
    );
    assert_eq!(
        RunRecord {
            created_at: String::new(),
            ..stored.clone()
        },
        run
    );

    let fetched = app.get("/api/runs/0b6c0f3e-8f7e.1").await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json::<RunRecord>(), stored);
    let value = fetched.value();
    assert_eq!(value["kind"], "fit");
    assert_eq!(value["notebook_id"], "nb-1");
    assert_eq!(value["notebook_revision"], 3);
    assert_eq!(
        value["dataset"],
        json!({ "name": "hats.csv", "sha256": SHA_A })
    );
    assert_eq!(value["metrics"]["train_accuracy"], 0.875);
    assert_eq!(
        value["settings"],
        json!({ "n_trees": 100, "max_depth": 10 })
    );

    let deleted = app.delete("/api/runs/0b6c0f3e-8f7e.1").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app.get("/api/runs/0b6c0f3e-8f7e.1").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error(), "no run with id `0b6c0f3e-8f7e.1`");
    let again = app.delete("/api/runs/0b6c0f3e-8f7e.1").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(ids(&app, "").await, Vec::<String>::new());
}

#[tokio::test]
async fn recording_the_same_run_again_is_a_200_and_a_different_one_a_409() {
    let app = TestApp::new().await;
    let run = record(
        spec("s.1", RunKind::Fit, "knn", &[("train_accuracy", 0.1 + 0.2)]),
        "nb",
        1,
    );
    let first = put_ok(&app, &run).await;
    // The same body again, even one claiming another time: the stored record, unchanged.
    let mut repeated = run.clone();
    repeated.created_at = "1999-01-01T00:00:00Z".into();
    let again = put(&app, &repeated).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json::<RunRecord>(), first);

    let mut changed = run.clone();
    changed.spec.metrics.insert("train_accuracy".into(), 0.5);
    changed.notebook_revision = Some(2);
    let conflict = put(&app, &changed).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    let message = conflict.error();
    assert!(
        message.contains("run `s.1` is already recorded"),
        "{message}"
    );
    assert!(
        message.contains("metrics, notebook_revision"),
        "names what differs: {message}"
    );
    // The first record stands.
    let stored: RunRecord = app.get("/api/runs/s.1").await.json();
    assert_eq!(stored, first);
}

#[tokio::test]
async fn list_is_newest_first_and_filters() {
    let app = TestApp::new().await;
    four_runs(&app).await;
    assert_eq!(ids(&app, "").await, ["s2.1", "s1.3", "s1.2", "s1.1"]);
    assert_eq!(
        ids(&app, "?order=asc").await,
        ["s1.1", "s1.2", "s1.3", "s2.1"]
    );
    assert_eq!(
        ids(&app, "?algorithm=random_forest").await,
        ["s1.2", "s1.1"]
    );
    assert_eq!(ids(&app, "?kind=cross_validation").await, ["s1.2"]);
    assert_eq!(ids(&app, "?kind=fit").await, ["s2.1", "s1.3", "s1.1"]);
    assert_eq!(ids(&app, "?notebook_id=nb-2").await, ["s2.1"]);
    assert_eq!(
        ids(&app, &format!("?dataset_sha256={SHA_A}")).await,
        ["s1.3", "s1.1"]
    );
    assert_eq!(
        ids(&app, "?has_metric=train_accuracy").await,
        ["s1.3", "s1.1"]
    );
    assert_eq!(
        ids(&app, "?has_metric=no_such_metric").await,
        Vec::<String>::new()
    );
    // Filters combine; empty values (a form's "any") are no filter.
    assert_eq!(
        ids(&app, "?algorithm=random_forest&kind=fit&notebook_id=").await,
        ["s1.1"]
    );
    assert_eq!(ids(&app, "?limit=2").await, ["s2.1", "s1.3"]);
    // A limit above the cap is cut to it, not refused.
    assert_eq!(ids(&app, "?limit=1000000").await.len(), 4);

    let runs: Vec<RunRecord> = app.get("/api/runs?notebook_id=nb-2").await.json();
    assert_eq!(runs[0].spec.target, None);
    assert_eq!(runs[0].spec.dataset, None);
    assert_eq!(runs[0].notebook_revision, Some(7));
}

#[tokio::test]
async fn list_sorts_by_a_metric_with_runs_lacking_it_last() {
    let app = TestApp::new().await;
    four_runs(&app).await;
    // s1.1 has 0.9, s1.3 has 0.95; the others lack it and come last, newest first.
    assert_eq!(
        ids(&app, "?sort=train_accuracy").await,
        ["s1.3", "s1.1", "s2.1", "s1.2"]
    );
    assert_eq!(
        ids(&app, "?sort=train_accuracy&order=desc").await,
        ["s1.3", "s1.1", "s2.1", "s1.2"]
    );
    assert_eq!(
        ids(&app, "?sort=train_accuracy&order=asc").await,
        ["s1.1", "s1.3", "s2.1", "s1.2"]
    );
    assert_eq!(
        ids(
            &app,
            "?sort=train_accuracy&order=asc&has_metric=train_accuracy&limit=1"
        )
        .await,
        ["s1.1"]
    );
    // A metric no run has: every run lacks it, so the order is newest first.
    assert_eq!(
        ids(&app, "?sort=nothing_has_this").await,
        ["s2.1", "s1.3", "s1.2", "s1.1"]
    );
    // Metric names are matched as values, not as JSON paths.
    let odd = record(
        spec("odd", RunKind::Fit, "ridge", &[("r2 \"adj\".x", -0.25)]),
        "nb-3",
        1,
    );
    put_ok(&app, &odd).await;
    assert_eq!(ids(&app, "?has_metric=r2%20%22adj%22.x").await, ["odd"]);
    assert_eq!(
        ids(&app, "?sort=r2%20%22adj%22.x&order=asc").await[0],
        "odd"
    );
}

#[tokio::test]
async fn runs_persist_across_a_reopen() {
    let app = TestApp::new().await;
    four_runs(&app).await;
    let before: Vec<RunRecord> = app.get("/api/runs").await.json();
    let dir = app.close().await;
    let app = TestApp::in_dir(dir).await;
    let after: Vec<RunRecord> = app.get("/api/runs").await.json();
    assert_eq!(after, before);
    assert_eq!(after.len(), 4);
    // Still idempotent after the reopen.
    let again = put(
        &app,
        &record(
            spec(
                "s1.1",
                RunKind::Fit,
                "random_forest",
                &[("train_accuracy", 0.9)],
            ),
            "nb-1",
            1,
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
}

/// `PUT /api/runs/{id}` with `body` as raw text; the status and error message.
async fn refused(app: &TestApp, id: &str, body: &str) -> (StatusCode, String) {
    let response = app
        .raw(
            Method::PUT,
            &format!("/api/runs/{id}"),
            Some("application/json"),
            body.to_string(),
        )
        .await;
    (response.status, response.error())
}

fn body_with(id: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut value = serde_json::to_value(record(
        spec(id, RunKind::Fit, "knn", &[("train_accuracy", 1.0)]),
        "nb",
        1,
    ))
    .unwrap();
    change(&mut value);
    value.to_string()
}

#[tokio::test]
async fn bad_runs_are_refused_naming_the_problem() {
    let app = TestApp::new().await;
    let long = "x".repeat(101);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "a%20b",
            body_with("a b", |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid run id `a b`: a run id is 1 to 100 characters",
        ),
        (
            &long,
            body_with(&long, |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid run id",
        ),
        (
            "r1",
            body_with("r2", |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body's id `r2` differs from the id `r1` in the path",
        ),
        (
            "r1",
            body_with("r1", |v| v["kind"] = json!("tune")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown variant `tune`",
        ),
        (
            "r1",
            body_with("r1", |v| v["settings"] = json!([1, 2])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`settings` must be a JSON object",
        ),
        (
            "r1",
            body_with("r1", |v| v["duration_ms"] = json!(-1.0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`duration_ms` is -1",
        ),
        (
            "r1",
            body_with("r1", |v| v["dataset"]["sha256"] = json!("abc")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`dataset.sha256` of dataset `hats.csv` must be 64 lowercase hex digits",
        ),
        (
            "r1",
            body_with("r1", |v| v["metrics"] = json!({ "": 1.0 })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a metric has an empty name",
        ),
        (
            "r1",
            body_with("r1", |v| v["metrics"] = json!({ "acc": "high" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type: string \"high\", expected f64",
        ),
        (
            "r1",
            body_with("r1", |v| {
                v.as_object_mut().unwrap().remove("algorithm");
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `algorithm`",
        ),
        // JSON has no NaN or infinity: the parser refuses a number that overflows.
        (
            "r1",
            body_with("r1", |_| {}).replace("1.0", "1e999"),
            StatusCode::BAD_REQUEST,
            "number out of range",
        ),
        (
            "r1",
            "{\"id\": \"r1\",".to_string(),
            StatusCode::BAD_REQUEST,
            "EOF while parsing",
        ),
    ];
    for (id, body, status, expected) in cases {
        let (got, message) = refused(&app, id, &body).await;
        assert_eq!(got, status, "{id} {body}: {message}");
        assert!(
            message.contains(expected),
            "expected `{expected}` in: {message}"
        );
    }
    let without_type = app
        .raw(Method::PUT, "/api/runs/r1", None, body_with("r1", |_| {}))
        .await;
    assert_eq!(without_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        without_type.error().contains("Content-Type"),
        "{}",
        without_type.error()
    );
    // Nothing was stored by any of them.
    assert_eq!(ids(&app, "").await, Vec::<String>::new());

    let bad_get = app.get("/api/runs/a%2Fb").await;
    assert_eq!(bad_get.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_get.error().contains("invalid run id `a/b`"),
        "{}",
        bad_get.error()
    );
    let bad_delete = app.delete("/api/runs/a%20b").await;
    assert_eq!(bad_delete.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bad_list_queries_are_refused_naming_the_parameter() {
    let app = TestApp::new().await;
    for (query, status, expected) in [
        (
            "kind=tune",
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown run kind `tune` in `kind`: expected `fit` or `cross_validation`",
        ),
        (
            "order=up",
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown `order` `up`: expected `asc` or `desc`",
        ),
        (
            "limit=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`limit` must be a whole number from 1 to 1000, not `abc`",
        ),
        (
            "limit=-3",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`limit` must be a whole number",
        ),
        (
            "limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`limit` must be at least 1",
        ),
        (
            "sort_by=accuracy",
            StatusCode::BAD_REQUEST,
            "unknown field `sort_by`",
        ),
    ] {
        let response = app.get(&format!("/api/runs?{query}")).await;
        assert_eq!(response.status, status, "{query}: {}", response.text());
        let message = response.error();
        assert!(message.contains(expected), "{query}: {message}");
    }
}

// ----- the runner's RecordRun handling -------------------------------------------------

fn context() -> RunContext {
    RunContext {
        session_id: "s".into(),
        notebook_id: Some("nb-cli".into()),
        notebook_revision: Some(4),
    }
}

fn effect(id: &str) -> Effect {
    Effect::RecordRun {
        run: spec(
            id,
            RunKind::CrossValidation,
            "random_forest",
            &[("cv_accuracy_mean", 0.8125)],
        ),
    }
}

/// Spawns the app on a real port; returns its base URL.
async fn spawn_server(app: &TestApp) -> reqwest::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = oxbook_server::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_records_runs_on_the_server_with_its_context() {
    let app = TestApp::new().await;
    let remote = Remote::new(spawn_server(&app).await).unwrap();
    let work = tempfile::tempdir().unwrap();
    let context = context();
    let host = EffectHost::new(Some(&remote), work.path(), &context);
    let mut summary = RunSummary::default();
    let mut out = Vec::new();
    host.carry_out(&effect("s.1"), 3, "train", &mut summary, &mut out)
        .await
        .expect("the run is recorded");
    let printed = String::from_utf8(out).unwrap();
    assert_eq!(
        printed,
        "recorded run `s.1`: cross_validation random_forest on hats.csv, 800 rows, 12 ms: \
         cv_accuracy_mean=0.8125\n"
    );
    let stored: RunRecord = app.get("/api/runs/s.1").await.json();
    assert_eq!(stored.notebook_id.as_deref(), Some("nb-cli"));
    assert_eq!(stored.notebook_revision, Some(4));
    assert_eq!(
        stored.spec.metrics,
        BTreeMap::from([("cv_accuracy_mean".to_string(), 0.8125)])
    );
    assert_eq!(summary.runs, std::slice::from_ref(&stored));
    // Nothing is written locally when there is a server.
    assert!(!work.path().join(RUNS_FILE_NAME).exists());

    // Recording it again (a retried run) is fine; a different run under its id is not.
    let mut out = Vec::new();
    host.carry_out(&effect("s.1"), 3, "train", &mut summary, &mut out)
        .await
        .expect("idempotent");
    let Effect::RecordRun { run: mut changed } = effect("s.1") else {
        unreachable!()
    };
    changed.rows = 1;
    let error = host
        .carry_out(
            &Effect::RecordRun { run: changed },
            5,
            "again",
            &mut summary,
            &mut Vec::new(),
        )
        .await
        .expect_err("a different run under a used id");
    let message = error.to_string();
    assert!(
        matches!(error, RunError::Effect { index: 5, .. }),
        "{message}"
    );
    assert!(
        message.starts_with("cell 5 (id `again`): cannot record run `s.1`:"),
        "{message}"
    );
    assert!(message.contains("409"), "{message}");
    assert!(message.contains("different rows"), "{message}");
}

#[tokio::test]
async fn without_a_server_the_runner_appends_runs_to_runs_jsonl() {
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    let context = context();
    let host = EffectHost::new(None, &out_dir, &context);
    let mut summary = RunSummary::default();
    let mut out = Vec::new();
    for id in ["s.1", "s.2"] {
        host.carry_out(&effect(id), 2, "cv", &mut summary, &mut out)
            .await
            .expect("written");
    }
    let path = out_dir.join(RUNS_FILE_NAME);
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed.starts_with(&format!(
            "no --server to record run `s.1` on: appended it to {} (cross_validation random_forest",
            path.display()
        )),
        "{printed}"
    );
    assert_eq!(printed.lines().count(), 2, "{printed}");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<RunRecord> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a run"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].spec.id, "s.1");
    assert_eq!(lines[1].spec.id, "s.2");
    assert_eq!(lines[1].notebook_id.as_deref(), Some("nb-cli"));
    assert_eq!(lines[1].notebook_revision, Some(4));
    assert!(!text.contains("created_at"), "no server set a time: {text}");
    assert_eq!(summary.runs, lines);
}
