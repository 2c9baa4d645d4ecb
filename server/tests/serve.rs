//! The server as a whole: a real listening socket, persistence across a reopen, demo
//! seeding, the page and static files, database locations, and the `oxbook serve` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::{header, Method, StatusCode};
use common::{config_for, kernel_artifact, TestApp};
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::{EndpointInfo, InvocationResponse, Notebook, NotebookSummary};
use oxbook_server::seed::{seed_demo, SeedOutcome};
use oxbook_server::serve::open_state;
use oxbook_server::store::{DatabaseLocation, Store, StoreError, SQLITE_FILE_NAME};
use oxbook_server::{app, web};
use serde_json::json;

#[tokio::test]
async fn real_socket_round_trip() {
    let app_under_test = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving =
        axum::serve(listener, app(app_under_test.state.clone())).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(async move { serving.await });
    let client = reqwest::Client::new();

    let ping: serde_json::Value = client
        .get(format!("{base}/ping"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ping, json!({ "status": "ok" }));

    let created = client
        .post(format!("{base}/api/notebooks"))
        .json(&json!({ "title": "over the wire" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Notebook = created.json().await.unwrap();
    let list: Vec<NotebookSummary> = client
        .get(format!("{base}/api/notebooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, created.id);

    let artifact = kernel_artifact();
    let uploaded = client
        .post(format!("{base}/api/models/wire"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(artifact.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let endpoint: EndpointInfo = client
        .put(format!("{base}/api/endpoints/wire"))
        .json(&json!({ "model": "wire" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = json!([{ "x": 2 }, { "x": 8 }]);
    let predicted = client
        .post(format!("{base}{}", endpoint.invocations_path))
        .json(&json!({ "dataframe_records": rows }))
        .send()
        .await
        .unwrap();
    assert_eq!(predicted.status(), StatusCode::OK);
    let predicted: InvocationResponse = predicted.json().await.unwrap();
    let expected = ModelArtifact::from_json(&artifact)
        .unwrap()
        .predict_records(&serde_json::from_value::<Vec<_>>(rows).unwrap())
        .unwrap();
    assert_eq!(predicted, expected);

    let error = client
        .get(format!("{base}/api/notebooks/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(error.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        error.headers()[header::CONTENT_TYPE],
        "application/json",
        "errors are JSON over the wire too"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown finishes")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn everything_persists_across_a_reopen() {
    let first = TestApp::new().await;
    let artifact = kernel_artifact();
    let response = first
        .json(Method::POST, "/api/notebooks", &json!({ "title": "kept" }))
        .await;
    let notebook: Notebook = response.json();
    let saved = first
        .json(
            Method::PUT,
            &format!("/api/notebooks/{}", notebook.id),
            &json!(notebook),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let endpoint = first.deploy("kept-endpoint", "kept-model", &artifact).await;
    let dir = first.close().await;
    assert!(dir.path().join("data").join(SQLITE_FILE_NAME).is_file());

    let second = TestApp::in_dir(dir).await;
    assert!(
        second.state.artifacts.is_empty(),
        "a new process starts with an empty cache"
    );
    let reloaded: Notebook = second
        .get(&format!("/api/notebooks/{}", notebook.id))
        .await
        .json();
    assert_eq!(reloaded.title, "kept");
    assert_eq!(reloaded.revision, 2);
    let reloaded_endpoint: EndpointInfo = second.get("/api/endpoints/kept-endpoint").await.json();
    assert_eq!(reloaded_endpoint, endpoint);
    let download = second
        .get("/api/models/kept-model/versions/1/artifact")
        .await;
    assert_eq!(download.body.as_ref(), artifact.as_bytes());
    // The endpoint serves from the stored artifact.
    let response = second
        .json(
            Method::POST,
            "/endpoints/kept-endpoint/invocations",
            &json!({ "dataframe_records": [{ "x": 9 }] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.json::<InvocationResponse>().predictions[0].as_f64(),
        Some(1.0)
    );
    // Versions keep counting from what is stored.
    assert_eq!(
        second.upload_model("kept-model", &artifact).await.version,
        2
    );
}

fn demo_notebook() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "id": "hat-demo",
        "revision": 0,
        "title": "Hat demo",
        "cells": [
            { "id": "intro", "kind": "markdown", "source": "# Hats" },
            { "id": "load", "kind": "code", "source": "1 + 1", "outputs": [] }
        ]
    })
}

#[tokio::test]
async fn demo_notebook_is_seeded_once() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("static").join("demo");
    std::fs::create_dir_all(&demo_dir).unwrap();
    std::fs::write(
        demo_dir.join("hat-demo.oxbook.json"),
        demo_notebook().to_string(),
    )
    .unwrap();

    let app = TestApp::in_dir(dir).await;
    let seeded = app.get("/api/notebooks/hat-demo").await;
    assert_eq!(seeded.status, StatusCode::OK);
    let seeded: Notebook = seeded.json();
    assert_eq!(seeded.title, "Hat demo");
    assert_eq!(seeded.revision, 1);
    assert_eq!(seeded.cells.len(), 2);

    // An edit made since is not overwritten by the next start's seeding.
    let mut edited = seeded.clone();
    edited.title = "My hats".to_string();
    assert_eq!(
        app.json(Method::PUT, "/api/notebooks/hat-demo", &json!(edited))
            .await
            .status,
        StatusCode::OK
    );
    let outcome = seed_demo(&app.state.store, &app.state.config.static_dir)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SeedOutcome::AlreadyPresent {
            id: "hat-demo".to_string()
        }
    );
    let dir = app.close().await;
    let reopened = TestApp::in_dir(dir).await;
    let kept: Notebook = reopened.get("/api/notebooks/hat-demo").await.json();
    assert_eq!(kept.title, "My hats");
    assert_eq!(kept.revision, 2);
    let list: Vec<NotebookSummary> = reopened.get("/api/notebooks").await.json();
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn demo_seeding_without_a_file_or_with_a_broken_one() {
    let app = TestApp::new().await;
    let static_dir = app.state.config.static_dir.clone();
    assert_eq!(
        seed_demo(&app.state.store, &static_dir).await.unwrap(),
        SeedOutcome::NoDemo
    );
    std::fs::create_dir_all(static_dir.join("demo")).unwrap();
    std::fs::write(static_dir.join("demo/hat-demo.oxbook.json"), "{\"id\": 3}").unwrap();
    let error = seed_demo(&app.state.store, &static_dir).await.unwrap_err();
    assert!(
        error.to_string().contains("hat-demo.oxbook.json"),
        "{error}"
    );
    // A broken demo does not keep the server from starting.
    let dir = app.close().await;
    let reopened = TestApp::in_dir(dir).await;
    assert_eq!(reopened.get("/api/notebooks").await.value(), json!([]));
}

#[tokio::test]
async fn page_static_files_and_spa_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let frontend = dir.path().join("frontend");
    std::fs::create_dir_all(&frontend).unwrap();
    std::fs::write(
        frontend.join("index.html"),
        "<!doctype html><title>Oxbook</title>",
    )
    .unwrap();
    std::fs::write(frontend.join("app.js"), "console.log('hi')").unwrap();
    let static_dir = dir.path().join("static").join("demo");
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(static_dir.join("hats.csv"), "size,price\n1,2\n").unwrap();
    let app = TestApp::in_dir(dir).await;

    let index = app.get("/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.text(), "<!doctype html><title>Oxbook</title>");
    let script = app.get("/app.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.text(), "console.log('hi')");
    assert!(script.header(header::CONTENT_TYPE).contains("javascript"));
    // Client-side routes load the page.
    for path in [
        "/notebooks/0b3e7c1e-1111-4a4a-9c9c-123456789abc",
        "/models",
        "/endpoints",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.text().contains("<title>Oxbook</title>"), "{path}");
        assert!(
            page.header(header::CONTENT_TYPE).starts_with("text/html"),
            "{path}"
        );
    }
    // A missing asset is a 404, not the page.
    assert_eq!(
        app.get("/missing-123.wasm").await.status,
        StatusCode::NOT_FOUND
    );
    // API paths never fall back to the page.
    assert_eq!(app.get("/api/unknown").await.status, StatusCode::NOT_FOUND);

    let csv = app.get("/static/demo/hats.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.text(), "size,price\n1,2\n");
    assert_eq!(
        app.get("/static/demo/none.csv").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn missing_page_says_how_to_build_it() {
    let app = TestApp::new().await;
    for path in ["/", "/notebooks/abc"] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.text(), web::NOT_BUILT_PAGE);
        assert!(response.text().contains("trunk build"));
    }
    // The API works regardless.
    assert_eq!(app.get("/ping").await.status, StatusCode::OK);
}

#[tokio::test]
async fn database_locations() {
    let dir = tempfile::tempdir().unwrap();
    // A URL naming a SQLite file.
    let path = dir.path().join("by-url.sqlite");
    let location = DatabaseLocation::Url(format!("sqlite://{}", path.display()));
    let state = open_state(&location, config_for(dir.path())).await.unwrap();
    let response = post_empty_notebook(&state, "/api/notebooks").await;
    assert_eq!(response, StatusCode::CREATED);
    state.store.close().await;
    assert!(path.is_file());
    // The same file opened as a file sees the notebook.
    let store = Store::open(&DatabaseLocation::File(path)).await.unwrap();
    assert_eq!(store.list_notebooks().await.unwrap().len(), 1);
    store.close().await;

    let error = Store::open(&DatabaseLocation::Url(
        "postgres://u:secret@db/oxbook".into(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::UnsupportedUrl(ref scheme) if scheme == "postgres"));
    assert!(!error.to_string().contains("secret"), "{error}");
}

/// POSTs an empty notebook to `uri` of an app over `state`.
async fn post_empty_notebook(state: &oxbook_server::AppState, uri: &str) -> StatusCode {
    use tower::ServiceExt;
    let request = axum::http::Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    app(state.clone()).oneshot(request).await.unwrap().status()
}

/// `oxbook serve` as a process: logs its URL, serves, and exits cleanly on SIGTERM.
#[tokio::test]
async fn serve_binary_listens_logs_its_url_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(common::oxbook_binary())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--static-dir")
        .arg(dir.path().join("static"))
        .arg("--frontend-dir")
        .arg(dir.path().join("frontend"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oxbook serve");
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let url = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs where it listens");
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on ".len()..].trim().to_string();
        }
    };
    let body = reqwest::get(format!("{url}/ping"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "{\"status\":\"ok\"}");
    assert!(dir.path().join("data").join(SQLITE_FILE_NAME).is_file());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(status.success(), "exited with {status}");
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
