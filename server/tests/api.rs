//! Every API route, in process (`tower::ServiceExt::oneshot`) over a real SQLite file.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{kernel_artifact, TestApp};
use oxbook_kernel::ModelArtifact;
use oxbook_protocol::{
    EndpointInfo, InvocationResponse, ModelId, ModelSummary, Notebook, NotebookSummary,
    NOTEBOOK_SCHEMA_VERSION,
};
use serde_json::{json, Map, Value};

fn code_cell(id: &str, source: &str) -> Value {
    json!({ "id": id, "kind": "code", "source": source, "outputs": [] })
}

async fn create_notebook(app: &TestApp, title: &str) -> Notebook {
    let response = app
        .json(
            Method::POST,
            "/api/notebooks",
            &json!({ "title": title, "cells": [code_cell("a", "1 + 1"), {
                "id": "b", "kind": "markdown", "source": "# Notes"
            }] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

fn records(rows: Value) -> Vec<Map<String, Value>> {
    serde_json::from_value(rows).unwrap()
}

// ----- health -------------------------------------------------------------------------

#[tokio::test]
async fn ping_answers_ok() {
    let app = TestApp::new().await;
    let response = app.get("/ping").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.value(), json!({ "status": "ok" }));
}

// ----- notebooks ----------------------------------------------------------------------

#[tokio::test]
async fn notebook_create_get_save_delete() {
    let app = TestApp::new().await;
    let created = create_notebook(&app, "Iris").await;
    assert_eq!(created.revision, 1);
    assert_eq!(created.title, "Iris");
    assert_eq!(created.schema_version, NOTEBOOK_SCHEMA_VERSION);
    assert!(
        uuid::Uuid::parse_str(&created.id).is_ok(),
        "id is a uuid: {}",
        created.id
    );
    assert_eq!(created.cells.len(), 2);
    assert_eq!(created.cells[1].source, "# Notes");

    let fetched = app.get(&format!("/api/notebooks/{}", created.id)).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json::<Notebook>(), created);

    let mut edited = created.clone();
    edited.title = "Iris, edited".to_string();
    edited.cells[0].source = "40 + 2".to_string();
    let saved = app
        .json(
            Method::PUT,
            &format!("/api/notebooks/{}", created.id),
            &json!(edited),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let saved: Notebook = saved.json();
    assert_eq!(saved.revision, 2);
    assert_eq!(saved.title, "Iris, edited");
    let fetched: Notebook = app
        .get(&format!("/api/notebooks/{}", created.id))
        .await
        .json();
    assert_eq!(fetched, saved);
    assert_eq!(fetched.cells[0].source, "40 + 2");

    let deleted = app.delete(&format!("/api/notebooks/{}", created.id)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    let gone = app.get(&format!("/api/notebooks/{}", created.id)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.error().contains(&created.id), "{}", gone.error());
    let again = app.delete(&format!("/api/notebooks/{}", created.id)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn notebook_created_without_fields_gets_defaults() {
    let app = TestApp::new().await;
    let response = app.json(Method::POST, "/api/notebooks", &json!({})).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let notebook: Notebook = response.json();
    assert_eq!(notebook.title, "Untitled notebook");
    assert!(notebook.cells.is_empty());
    assert_eq!(
        response.header(header::LOCATION),
        format!("/api/notebooks/{}", notebook.id)
    );
}

#[tokio::test]
async fn notebook_list_is_newest_first() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/api/notebooks").await.value(), json!([]));
    let first = create_notebook(&app, "first").await;
    let second = create_notebook(&app, "second").await;
    let list: Vec<NotebookSummary> = app.get("/api/notebooks").await.json();
    let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()]);

    // Saving the first makes it the most recently updated.
    let saved = app
        .json(
            Method::PUT,
            &format!("/api/notebooks/{}", first.id),
            &json!(first),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let list: Vec<NotebookSummary> = app.get("/api/notebooks").await.json();
    assert_eq!(list[0].id, first.id);
    assert_eq!(list[0].title, "first");
    assert_eq!(list[0].revision, 2);
    assert_eq!(list[1].id, second.id);
    assert!(list[0].updated_at > list[1].updated_at, "{list:?}");
}

#[tokio::test]
async fn notebook_save_of_a_stale_revision_is_a_409_naming_both() {
    let app = TestApp::new().await;
    let created = create_notebook(&app, "shared").await;
    let uri = format!("/api/notebooks/{}", created.id);
    // Two editors load revision 1; the first save wins.
    let first = app.json(Method::PUT, &uri, &json!(created)).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = app.json(Method::PUT, &uri, &json!(created)).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let message = second.error();
    assert!(
        message.contains("revision 2") && message.contains("revision 1"),
        "{message}"
    );
    // The losing save changed nothing.
    let stored: Notebook = app.get(&uri).await.json();
    assert_eq!(stored.revision, 2);
    // A revision beyond any stored one is a conflict too, not a crash.
    let mut far = created.clone();
    far.revision = u64::MAX;
    let response = app.json(Method::PUT, &uri, &json!(far)).await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
}

#[tokio::test]
async fn notebook_save_rules_are_422s() {
    let app = TestApp::new().await;
    let created = create_notebook(&app, "rules").await;
    let uri = format!("/api/notebooks/{}", created.id);

    let mut newer = created.clone();
    newer.schema_version = NOTEBOOK_SCHEMA_VERSION + 1;
    let response = app.json(Method::PUT, &uri, &json!(newer)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("schema_version"),
        "{}",
        response.error()
    );

    let mut other_id = created.clone();
    other_id.id = "someone-else".to_string();
    let response = app.json(Method::PUT, &uri, &json!(other_id)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("someone-else"),
        "{}",
        response.error()
    );

    let mut duplicate = created.clone();
    duplicate.cells[1].id = "a".to_string();
    let response = app.json(Method::PUT, &uri, &json!(duplicate)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("`a`"), "{}", response.error());

    let response = app
        .json(
            Method::POST,
            "/api/notebooks",
            &json!({ "cells": [code_cell("same", "1"), code_cell("same", "2")] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("same"), "{}", response.error());

    // None of these saves went through.
    assert_eq!(app.get(&uri).await.json::<Notebook>(), created);
}

#[tokio::test]
async fn notebook_unknown_ids_are_404s() {
    let app = TestApp::new().await;
    let missing = app.get("/api/notebooks/no-such-notebook").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error(), "no notebook with id `no-such-notebook`");
    let notebook = json!({
        "schema_version": 1, "id": "no-such-notebook", "revision": 1, "title": "t", "cells": []
    });
    let response = app
        .json(Method::PUT, "/api/notebooks/no-such-notebook", &notebook)
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.error().contains("no-such-notebook"));
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_problem() {
    let app = TestApp::new().await;
    let response = app
        .raw(
            Method::POST,
            "/api/notebooks",
            Some("application/json"),
            "{\"title\": ",
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let message = response.error();
    assert!(
        message.contains("EOF") || message.contains("parse"),
        "{message}"
    );

    let response = app
        .raw(
            Method::PUT,
            "/api/notebooks/x",
            Some("application/json"),
            "[1,",
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.error();
}

#[tokio::test]
async fn mistyped_fields_are_422s_naming_the_field() {
    let app = TestApp::new().await;
    let response = app
        .json(Method::POST, "/api/notebooks", &json!({ "title": 5 }))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = response.error();
    assert!(
        message.contains("title") && message.contains("integer"),
        "{message}"
    );

    let response = app
        .json(
            Method::POST,
            "/api/notebooks",
            &json!({ "cells": [{ "id": "c", "kind": "python" }] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("cells[0]"),
        "{}",
        response.error()
    );

    let created = create_notebook(&app, "typed").await;
    let mut body = json!(created);
    body["revision"] = json!("one");
    let response = app
        .json(
            Method::PUT,
            &format!("/api/notebooks/{}", created.id),
            &body,
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("revision"),
        "{}",
        response.error()
    );
}

#[tokio::test]
async fn wrong_content_type_method_and_path_answer_json() {
    let app = TestApp::new().await;
    let response = app
        .raw(Method::POST, "/api/notebooks", Some("text/plain"), "{}")
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        response.error().contains("application/json"),
        "{}",
        response.error()
    );

    let response = app.raw(Method::PATCH, "/api/notebooks", None, "").await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        response.error().contains("method not allowed"),
        "{}",
        response.error()
    );

    let response = app.get("/api/nothing-here").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error(), "no API route for GET /api/nothing-here");

    let response = app.get("/endpoints/e/invocations").await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    response.error();
}

// ----- models -------------------------------------------------------------------------

#[tokio::test]
async fn model_upload_versions_listing_and_download() {
    let app = TestApp::new().await;
    let artifact = kernel_artifact();
    let parsed = ModelArtifact::from_json(&artifact).unwrap();

    let first = app.upload_model("churn", &artifact).await;
    assert_eq!(first.name, "churn");
    assert_eq!(first.version, 1);
    assert_eq!(
        first.sha256,
        oxbook_server::api::models::sha256_hex(artifact.as_bytes())
    );
    assert_eq!(first.sha256.len(), 64);
    let second = app.upload_model("churn", &artifact).await;
    assert_eq!(second.version, 2);
    let other = app.upload_model("other_model-2", &artifact).await;
    assert_eq!(other.version, 1);

    let all: Vec<ModelSummary> = app.get("/api/models").await.json();
    let ids: Vec<(&str, u32)> = all
        .iter()
        .map(|m| (m.id.name.as_str(), m.id.version))
        .collect();
    assert_eq!(ids, [("churn", 1), ("churn", 2), ("other_model-2", 1)]);
    assert_eq!(all[0].algorithm, parsed.algorithm_name());
    assert_eq!(all[0].features, vec!["x".to_string()]);

    let versions: Vec<ModelSummary> = app.get("/api/models/churn").await.json();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].id, second);

    let one = app.get("/api/models/churn/versions/1").await;
    assert_eq!(one.status, StatusCode::OK);
    let one: ModelSummary = one.json();
    assert_eq!(one.id, first);
    assert!(!one.created_at.is_empty());

    let download = app.get("/api/models/churn/versions/2/artifact").await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.as_ref(), artifact.as_bytes());
    assert_eq!(download.header(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        download.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"churn-v2.model.json\""
    );
    // A notebook's load_model(name) asks for the newest version as `latest`.
    let latest = app.get("/api/models/churn/versions/latest/artifact").await;
    assert_eq!(latest.status, StatusCode::OK);
    assert_eq!(latest.body.as_ref(), artifact.as_bytes());
    assert_eq!(
        latest.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"churn-v2.model.json\""
    );
}

#[tokio::test]
async fn model_lookups_of_missing_things_are_404s() {
    let app = TestApp::new().await;
    app.upload_model("m", &kernel_artifact()).await;
    for (uri, expected) in [
        ("/api/models/nope", "no model named `nope`"),
        ("/api/models/nope/versions/1", "no model named `nope`"),
        ("/api/models/m/versions/3", "model `m` has no version 3"),
        (
            "/api/models/m/versions/3/artifact",
            "model `m` has no version 3",
        ),
        (
            "/api/models/nope/versions/latest/artifact",
            "no model named `nope`",
        ),
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(response.error(), expected, "{uri}");
    }
    let response = app.get("/api/models/m/versions/latest").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error().contains("latest"), "{}", response.error());
    let response = app.get("/api/models/m/versions/x1/artifact").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.error(),
        "`x1` is not a model version: use a whole number from 1, or `latest`"
    );
}

#[tokio::test]
async fn invalid_artifacts_are_422s_with_the_kernels_message() {
    let app = TestApp::new().await;
    for body in ["{\"format_version\": 1}", "not json at all", "[]"] {
        let kernel_message = ModelArtifact::from_json(body).unwrap_err().to_string();
        let response = app
            .raw(
                Method::POST,
                "/api/models/m",
                Some("application/json"),
                body,
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            response.error(),
            format!("invalid model artifact: {kernel_message}")
        );
    }
    let response = app
        .raw(
            Method::POST,
            "/api/models/m",
            None,
            vec![0xff_u8, 0xfe, 0x00],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("UTF-8"), "{}", response.error());
    assert_eq!(app.get("/api/models").await.value(), json!([]));
}

#[tokio::test]
async fn bad_names_are_422s_naming_the_rule() {
    let app = TestApp::new().await;
    let artifact = kernel_artifact();
    let long = "a".repeat(65);
    for name in ["Upper", "has%20space", "dot.dot", long.as_str()] {
        let response = app
            .raw(
                Method::POST,
                &format!("/api/models/{name}"),
                None,
                artifact.clone(),
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let message = response.error();
        assert!(
            message.contains("invalid model name") && message.contains("1 to 64"),
            "{message}"
        );
        let response = app
            .json(
                Method::PUT,
                &format!("/api/endpoints/{name}"),
                &json!({ "model": "m" }),
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            response.error().contains("invalid endpoint name"),
            "{}",
            response.error()
        );
    }
    // Exactly 64 characters is allowed.
    app.upload_model(&"a".repeat(64), &artifact).await;
}

// ----- endpoints ----------------------------------------------------------------------

#[tokio::test]
async fn endpoint_create_repoint_list_delete() {
    let app = TestApp::new().await;
    let artifact = kernel_artifact();
    let v1 = app.upload_model("m", &artifact).await;
    let v2 = app.upload_model("m", &artifact).await;

    // No version: the newest.
    let created = app
        .json(Method::PUT, "/api/endpoints/prod", &json!({ "model": "m" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created: EndpointInfo = created.json();
    assert_eq!(created.name, "prod");
    assert_eq!(created.model, v2);
    assert_eq!(created.invocations_path, "/endpoints/prod/invocations");
    assert_eq!(created.created_at, created.updated_at);

    let repointed = app
        .json(
            Method::PUT,
            "/api/endpoints/prod",
            &json!({ "model": "m", "version": 1 }),
        )
        .await;
    assert_eq!(repointed.status, StatusCode::OK, "{}", repointed.text());
    let repointed: EndpointInfo = repointed.json();
    assert_eq!(repointed.model, v1);
    assert_eq!(repointed.created_at, created.created_at);
    assert!(repointed.updated_at > created.updated_at);

    let fetched: EndpointInfo = app.get("/api/endpoints/prod").await.json();
    assert_eq!(fetched, repointed);
    app.json(
        Method::PUT,
        "/api/endpoints/a-first",
        &json!({ "model": "m" }),
    )
    .await;
    let list: Vec<EndpointInfo> = app.get("/api/endpoints").await.json();
    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a-first", "prod"]);

    assert_eq!(
        app.delete("/api/endpoints/prod").await.status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get("/api/endpoints/prod").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error(), "no endpoint named `prod`");
    assert_eq!(
        app.delete("/api/endpoints/prod").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn endpoint_specs_naming_missing_models_or_mistyped_are_422s() {
    let app = TestApp::new().await;
    app.upload_model("m", &kernel_artifact()).await;
    let response = app
        .json(
            Method::PUT,
            "/api/endpoints/e",
            &json!({ "model": "ghost" }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("`ghost`"), "{}", response.error());
    let response = app
        .json(
            Method::PUT,
            "/api/endpoints/e",
            &json!({ "model": "m", "version": 9 }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("version 9"),
        "{}",
        response.error()
    );
    let response = app
        .json(Method::PUT, "/api/endpoints/e", &json!({ "model": 5 }))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("model"), "{}", response.error());
    let response = app
        .json(
            Method::PUT,
            "/api/endpoints/e",
            &json!({ "model": "m", "version": -1 }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("version"), "{}", response.error());
    assert_eq!(app.get("/api/endpoints").await.value(), json!([]));
}

// ----- invocations --------------------------------------------------------------------

#[tokio::test]
async fn invocation_predicts_like_the_kernel() {
    let app = TestApp::new().await;
    let artifact = kernel_artifact();
    let info = app.deploy("iris", "m", &artifact).await;
    let rows = json!([{ "x": 1 }, { "x": 9 }, { "x": 5 }]);
    let response = app.invoke(&info.invocations_path, &rows).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let got: InvocationResponse = response.json();
    let expected = ModelArtifact::from_json(&artifact)
        .unwrap()
        .predict_records(&records(rows))
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(got.predictions.len(), 3);
    // The training data separates the classes at small and large x.
    assert_eq!(got.predictions[0].as_f64(), Some(0.0), "{got:?}");
    assert_eq!(got.predictions[1].as_f64(), Some(1.0), "{got:?}");
    let probabilities = got.probabilities.expect("a classifier gives probabilities");
    assert!(probabilities[1][1] > 0.5, "{probabilities:?}");

    // The parsed artifact is cached by content hash.
    assert!(app.state.artifacts.get(&info.model.sha256).is_some());
}

/// A regressor made by a notebook cell, served by an endpoint, answers with numbers (the
/// kernel's predictions) and neither probabilities nor classes.
#[tokio::test]
async fn invocation_of_a_regressor_answers_numbers() {
    use oxbook_protocol::{CellStatus, Effect};

    let mut session = oxbook_kernel::Session::new();
    let run = session.execute(
        "train",
        r#"let df = parse_csv("size,rooms,price\n50,2,150\n80,3,240\n65,2,190\n120,4,350\n95,3,280\n");
save_model(ridge(df, ["size", "rooms"], "price", #{alpha: 0.1}), "prices")"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{run:?}");
    let artifact = run
        .effects
        .into_iter()
        .find_map(|effect| match effect {
            Effect::SaveModel { artifact, .. } => Some(artifact),
            _ => None,
        })
        .expect("save_model yields a SaveModel effect");

    let app = TestApp::new().await;
    let info = app.deploy("prices", "prices", &artifact).await;
    let rows = json!([{ "size": 60, "rooms": 2 }, { "size": 110, "rooms": 4 }]);
    let response = app.invoke(&info.invocations_path, &rows).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    // Only predictions on the wire: the optional fields are absent, not null.
    let body = response.value();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["predictions"],
        "{body}"
    );
    let got: InvocationResponse = response.json();
    let expected = ModelArtifact::from_json(&artifact)
        .unwrap()
        .predict_records(&records(rows))
        .unwrap();
    assert_eq!(got, expected);
    let values: Vec<f64> = got
        .predictions
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    // About 3 per unit of size: a small flat and a large one.
    assert!(values[0] > 150.0 && values[0] < 200.0, "{values:?}");
    assert!(values[1] > 300.0 && values[1] < 360.0, "{values:?}");

    // A row missing a feature is refused, naming it.
    let response = app
        .invoke(&info.invocations_path, json!([{ "size": 60 }]))
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    assert!(response.text().contains("rooms"), "{}", response.text());
}

#[tokio::test]
async fn invocation_errors_name_the_problem() {
    let app = TestApp::new().await;
    let artifact = kernel_artifact();
    let model = ModelArtifact::from_json(&artifact).unwrap();
    app.deploy("e", "m", &artifact).await;

    let response = app
        .invoke("/endpoints/ghost/invocations", json!([{ "x": 1 }]))
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error(), "no endpoint named `ghost`");

    let response = app.invoke("/endpoints/e/invocations", json!([])).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().contains("empty"), "{}", response.error());

    // A row whose x is text, and a row without x: the kernel's messages, row and column named.
    for rows in [
        json!([{ "x": 1 }, { "x": "tall" }]),
        json!([{ "x": 1 }, { "y": 2 }]),
    ] {
        let kernel_message = model
            .predict_records(&records(rows.clone()))
            .unwrap_err()
            .to_string();
        let response = app.invoke("/endpoints/e/invocations", &rows).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{rows}");
        let message = response.error();
        assert_eq!(message, kernel_message);
        assert!(message.contains('1') && message.contains('x'), "{message}");
    }

    let response = app
        .raw(
            Method::POST,
            "/endpoints/e/invocations",
            Some("application/json"),
            "{\"dataframe_records\": [",
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.error();
    let response = app
        .json(
            Method::POST,
            "/endpoints/e/invocations",
            &json!({ "instances": [[1]] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.error().contains("dataframe_records"),
        "{}",
        response.error()
    );
    let response = app.invoke("/endpoints/e/invocations", json!([[1]])).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.error();
}

// ----- body limits --------------------------------------------------------------------

#[tokio::test]
async fn oversized_bodies_are_413s_naming_the_limit() {
    let app = TestApp::new().await;
    let limits = app.state.config.limits;
    // Declared length over the limit: refused before the body is read.
    let big = vec![b' '; limits.default + 1];
    let response = app
        .raw(
            Method::POST,
            "/endpoints/e/invocations",
            Some("application/json"),
            big.clone(),
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error().contains("32 MiB"), "{}", response.error());
    let response = app
        .raw(
            Method::PUT,
            "/api/notebooks/x",
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response.error();

    // Model uploads get the larger limit: 40 MB passes the limit (and fails as an artifact)...
    let response = app
        .raw(
            Method::POST,
            "/api/models/m",
            None,
            vec![b' '; 40 * 1024 * 1024],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    // ...and more than 64 MiB does not.
    let response = app
        .raw(
            Method::POST,
            "/api/models/m",
            None,
            vec![b' '; limits.model_upload + 1],
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error().contains("64 MiB"), "{}", response.error());

    // A streamed body with no declared length is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 1024 * 1024])).collect();
    let request = Request::post("/endpoints/e/invocations")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error().contains("32 MiB"), "{}", response.error());
}

#[tokio::test]
async fn model_id_json_shape_is_the_protocols() {
    let app = TestApp::new().await;
    let id: ModelId = app.upload_model("shape", &kernel_artifact()).await;
    let value = app.get("/api/models/shape/versions/1").await.value();
    assert_eq!(value["name"], json!("shape"));
    assert_eq!(value["version"], json!(1));
    assert_eq!(value["sha256"], json!(id.sha256));
    assert_eq!(value["features"], json!(["x"]));
}
