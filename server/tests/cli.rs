//! The `oxbook` binary's command line: help texts and `oxbook run`, alone and against a
//! server.

mod common;

use std::path::Path;
use std::process::Output;

use common::{oxbook_binary, TestApp};
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::{EndpointInfo, InvocationResponse, ModelSummary, Notebook};
use serde_json::{json, Value};
use tokio::process::Command;

const CSV: &str = "x,y\n1,0\n2,0\n8,1\n9,1\n";

fn notebook(cells: Value) -> Value {
    json!({ "schema_version": 1, "id": "cli-test", "revision": 1, "title": "CLI test", "cells": cells })
}

fn code(id: &str, source: &str) -> Value {
    json!({ "id": id, "kind": "code", "source": source })
}

fn write_notebook(dir: &Path, cells: Value) -> std::path::PathBuf {
    let path = dir.join("notebook.oxbook.json");
    std::fs::write(&path, notebook(cells).to_string()).unwrap();
    path
}

async fn oxbook(args: &[&str], cwd: &Path) -> Output {
    Command::new(oxbook_binary())
        .args(args)
        .current_dir(cwd)
        // The tests must not pick up a developer's settings.
        .env_remove("OXBOOK_SERVER")
        .env_remove("OXBOOK_STATIC_DIR")
        .env_remove("OXBOOK_OUT_DIR")
        .output()
        .await
        .expect("run oxbook")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn help_documents_every_flag_and_its_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let top = oxbook(&["--help"], dir.path()).await;
    assert!(top.status.success());
    let serve = oxbook(&["serve", "--help"], dir.path()).await;
    assert!(serve.status.success());
    for text in [stdout(&top), stdout(&serve)] {
        for expected in [
            "--listen",
            "OXBOOK_LISTEN",
            "127.0.0.1:8080",
            "--data-dir",
            "OXBOOK_DATA_DIR",
            "--database-url",
            "OXBOOK_DATABASE_URL",
            "--static-dir",
            "OXBOOK_STATIC_DIR",
            "--frontend-dir",
            "OXBOOK_FRONTEND_DIR",
            "--dataset-store",
            "OXBOOK_DATASET_STORE",
            "s3://BUCKET[/PREFIX]",
            "AWS_ENDPOINT_URL",
            "AWS_ALLOW_HTTP",
            "--dataset-max-bytes",
            "OXBOOK_DATASET_MAX_BYTES",
            "--fetch-max-bytes",
            "OXBOOK_FETCH_MAX_BYTES",
            "--fetch-timeout-secs",
            "OXBOOK_FETCH_TIMEOUT_SECS",
            "--fetch-allow-loopback",
            "OXBOOK_FETCH_ALLOW_LOOPBACK",
            "FOR TESTS ONLY",
        ] {
            assert!(
                text.contains(expected),
                "`{expected}` missing from:\n{text}"
            );
        }
    }
    assert!(stdout(&top).contains("run"), "subcommands listed");
    let run = oxbook(&["run", "--help"], dir.path()).await;
    assert!(run.status.success());
    let text = stdout(&run);
    for expected in [
        "NOTEBOOK",
        "--server",
        "OXBOOK_SERVER",
        "--static-dir",
        "OXBOOK_STATIC_DIR",
        "--out-dir",
        "OXBOOK_OUT_DIR",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
}

#[tokio::test]
async fn run_prints_outputs_reads_static_files_and_writes_models() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("assets/demo")).unwrap();
    std::fs::write(dir.path().join("assets/demo/d.csv"), CSV).unwrap();
    let path = write_notebook(
        dir.path(),
        json!([
            { "id": "intro", "kind": "markdown", "source": "MARKDOWN-NOT-RUN" },
            code("load", "let df = read_csv(\"/static/demo/d.csv\");\ndf"),
            code("talk", "print(\"hello from a cell\");\n40 + 2"),
            code("plot", "histogram(df, \"x\")"),
            code("train", "let m = logistic_regression(df, [\"x\"], \"y\");\nsave_model(m, \"hats\")"),
        ]),
    );
    let output = oxbook(
        &[
            "run",
            path.to_str().unwrap(),
            "--static-dir",
            "assets",
            "--out-dir",
            "models",
        ],
        dir.path(),
    )
    .await;
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    assert!(!out.contains("MARKDOWN-NOT-RUN"));
    // The frame as a table, the printed line, the value, and the plot.
    assert!(out.contains("--- cell 2 (id load) ---"), "{out}");
    assert!(
        out.contains("x  y\n-  -\n1  0\n2  0\n8  1\n9  1\n[4 rows x 2 columns]"),
        "{out}"
    );
    assert!(out.contains("hello from a cell\n42\n"), "{out}");
    assert!(out.contains("[svg plot, "), "{out}");
    assert!(
        out.contains("wrote model `hats` to models/hats.model.json"),
        "{out}"
    );
    assert!(out.contains("ran 4 code cells"), "{out}");

    let written = std::fs::read_to_string(dir.path().join("models/hats.model.json")).unwrap();
    let artifact = ModelArtifact::from_json(&written).expect("the written file is an artifact");
    assert_eq!(artifact.feature_names(), ["x"]);
}

#[tokio::test]
async fn run_stops_at_the_first_failing_cell_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_notebook(
        dir.path(),
        json!([
            code("fine", "1 + 1"),
            { "id": "note", "kind": "markdown", "source": "text" },
            code("broken", "let a = 1;\nlet b = no_such_variable + 1;"),
            code("never", "print(\"SHOULD-NOT-RUN\")"),
        ]),
    );
    let output = oxbook(&["run", path.to_str().unwrap()], dir.path()).await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("cell 3 (id `broken`) failed"), "{err}");
    assert!(err.contains("no_such_variable"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    let out = stdout(&output);
    assert!(
        out.contains("2\n"),
        "the first cell's output is printed: {out}"
    );
    assert!(!out.contains("SHOULD-NOT-RUN"), "{out}");

    let path = write_notebook(dir.path(), json!([code("syntax", "let = 5;")]));
    let output = oxbook(&["run", path.to_str().unwrap()], dir.path()).await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("cell 1 (id `syntax`) failed: SyntaxError at line 1, column"),
        "{err}"
    );
}

#[tokio::test]
async fn run_reports_missing_notebooks_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let output = oxbook(&["run", "no-such-notebook"], dir.path()).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("`no-such-notebook` is not a notebook file"),
        "{}",
        stderr(&output)
    );

    std::fs::write(dir.path().join("bad.json"), "{\"cells\": 3}").unwrap();
    let output = oxbook(&["run", "bad.json"], dir.path()).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("bad.json is not an Oxbook notebook"),
        "{}",
        stderr(&output)
    );

    let path = write_notebook(
        dir.path(),
        json!([code("load", "read_csv(\"/static/missing.csv\")")]),
    );
    let output = oxbook(&["run", path.to_str().unwrap()], dir.path()).await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("cell 1 (id `load`)") && err.contains("missing.csv"),
        "{err}"
    );
}

/// Spawns the app on a real port; returns its base URL.
async fn spawn_server(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = oxbook_server::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_against_a_server_fetches_files_and_deploys() {
    let app = TestApp::new().await;
    // The data is only on the server: the run must fetch it from there.
    std::fs::create_dir_all(app.path().join("static/demo")).unwrap();
    std::fs::write(app.path().join("static/demo/d.csv"), CSV).unwrap();
    let base = spawn_server(&app).await;
    let work = tempfile::tempdir().unwrap();
    let path = write_notebook(
        work.path(),
        json!([
            code("load", "let df = read_csv(\"/static/demo/d.csv\");\ndf.rows()"),
            code("deploy", "let m = logistic_regression(df, [\"x\"], \"y\");\nsave_model(m, \"saved\");\ndeploy(m, \"hats\")"),
        ]),
    );
    let output = oxbook(
        &["run", path.to_str().unwrap(), "--server", &base],
        work.path(),
    )
    .await;
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    assert!(out.contains("saved model `saved` version 1"), "{out}");
    assert!(
        out.contains(&format!(
            "to endpoint `hats`: POST {base}/endpoints/hats/invocations"
        )),
        "{out}"
    );
    // Nothing was written locally.
    assert!(!work.path().join("hats.model.json").exists());

    let endpoint = app.get("/api/endpoints/hats").await;
    assert_eq!(
        endpoint.status,
        axum::http::StatusCode::OK,
        "{}",
        endpoint.text()
    );
    let endpoint: EndpointInfo = endpoint.json();
    let models: Vec<ModelSummary> = app.get("/api/models").await.json();
    assert!(models.iter().any(|m| m.id == endpoint.model), "{models:?}");
    assert!(models.iter().any(|m| m.id.name == "saved"), "{models:?}");
    let response = app
        .json(
            axum::http::Method::POST,
            &endpoint.invocations_path,
            &json!({ "dataframe_records": [{ "x": 1 }, { "x": 9 }] }),
        )
        .await;
    let predictions: InvocationResponse = response.json();
    assert_eq!(predictions.predictions, [json!(0), json!(1)]);

    // A notebook stored on the server runs by its id; deploying again adds a version.
    let stored: Notebook = serde_json::from_value(notebook(json!([
        code("load", "let df = read_csv(\"/static/demo/d.csv\");"),
        code(
            "deploy",
            "deploy(logistic_regression(df, [\"x\"], \"y\"), \"hats\")"
        ),
    ])))
    .unwrap();
    let created = app
        .json(
            axum::http::Method::POST,
            "/api/notebooks",
            &json!({ "cells": stored.cells }),
        )
        .await;
    let created: Notebook = created.json();
    let output = oxbook(&["run", &created.id, "--server", &base], work.path()).await;
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let endpoint: EndpointInfo = app.get("/api/endpoints/hats").await.json();
    assert_eq!(endpoint.model.version, 2);

    let output = oxbook(&["run", "not-a-stored-id", "--server", &base], work.path()).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no notebook with id `not-a-stored-id`"),
        "{}",
        stderr(&output)
    );
}
