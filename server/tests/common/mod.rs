//! Helpers shared by the integration tests: an app over a real SQLite file in a tempdir,
//! request shorthands, and a real model artifact made by the kernel.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use oxbook_kernel::Session;
use oxbook_protocol::{CellStatus, Effect, ErrorBody};
use oxbook_server::datasets::{DatasetStoreLocation, DatasetsConfig};
use oxbook_server::serve::open_state;
use oxbook_server::store::DatabaseLocation;
use oxbook_server::{app, AppConfig, AppState};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// The training cell of the tests' model: a logistic regression of `y` on `x`, where
/// small `x` is class 0 and large `x` class 1.
pub const TRAIN_CELL: &str = r#"let df = parse_csv("x,y\n1,0\n2,0\n8,1\n9,1");
let m = logistic_regression(df, ["x"], "y");
save_model(m, "m")"#;

/// A real artifact, made by the kernel exactly as a notebook cell makes one.
pub fn kernel_artifact() -> String {
    artifact_of(TRAIN_CELL)
}

/// The artifact `cell` saves with `save_model`, run in a fresh kernel session.
pub fn artifact_of(cell: &str) -> String {
    let mut session = Session::new();
    let run = session.execute("train", cell);
    assert_eq!(
        run.status,
        CellStatus::Done,
        "the training cell failed: {run:?}"
    );
    run.effects
        .into_iter()
        .find_map(|effect| match effect {
            Effect::SaveModel { artifact, .. } => Some(artifact),
            _ => None,
        })
        .expect("save_model yields a SaveModel effect")
}

pub struct TestApp {
    pub dir: TempDir,
    pub state: AppState,
    pub router: Router,
}

impl TestApp {
    /// A fresh app whose data, static and frontend directories live in a new tempdir.
    pub async fn new() -> TestApp {
        TestApp::in_dir(tempfile::tempdir().expect("tempdir")).await
    }

    /// An app over `dir` (which may already hold a database, static files or a page).
    pub async fn in_dir(dir: TempDir) -> TestApp {
        TestApp::in_dir_with(dir, |_| {}).await
    }

    /// A fresh app whose [`config_for`] settings `adjust` changes first.
    pub async fn with(adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
        TestApp::in_dir_with(tempfile::tempdir().expect("tempdir"), adjust).await
    }

    /// An app over `dir` with [`config_for`] settings that `adjust` changes first.
    pub async fn in_dir_with(dir: TempDir, adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
        let mut config = config_for(dir.path());
        adjust(&mut config);
        let state = open_state(&DatabaseLocation::DataDir(dir.path().join("data")), config)
            .await
            .expect("open the state");
        let router = app(state.clone());
        TestApp { dir, state, router }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The local dataset store's directory.
    pub fn datasets_dir(&self) -> PathBuf {
        datasets_dir(self.dir.path())
    }

    /// Closes the database and hands back the directory, for a reopen.
    pub async fn close(self) -> TempDir {
        self.state.store.close().await;
        self.dir
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.send(Request::delete(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Asks the endpoint at `path` (its invocations URL) to predict `rows`.
    pub async fn invoke(&self, path: &str, rows: impl serde::Serialize) -> TestResponse {
        let body = serde_json::json!({ "dataframe_records": rows });
        self.json(Method::POST, path, &body).await
    }

    pub async fn json(&self, method: Method, uri: &str, body: &Value) -> TestResponse {
        self.raw(method, uri, Some("application/json"), body.to_string())
            .await
    }

    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        self.send(builder.body(body.into()).unwrap()).await
    }

    /// Uploads `artifact` as model `name`; asserts it was stored.
    pub async fn upload_model(&self, name: &str, artifact: &str) -> oxbook_protocol::ModelId {
        let response = self
            .raw(
                Method::POST,
                &format!("/api/models/{name}"),
                Some("application/json"),
                artifact.to_string(),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()
    }

    /// Uploads `artifact` as model `name` and points endpoint `endpoint` at it.
    pub async fn deploy(
        &self,
        endpoint: &str,
        name: &str,
        artifact: &str,
    ) -> oxbook_protocol::EndpointInfo {
        let model = self.upload_model(name, artifact).await;
        let response = self
            .json(
                Method::PUT,
                &format!("/api/endpoints/{endpoint}"),
                &serde_json::json!({ "model": name, "version": model.version }),
            )
            .await;
        assert!(response.status.is_success(), "{}", response.text());
        response.json()
    }
}

/// Where [`config_for`] keeps dataset bytes.
pub fn datasets_dir(dir: &Path) -> PathBuf {
    dir.join("data").join("datasets")
}

pub fn config_for(dir: &Path) -> AppConfig {
    AppConfig {
        static_dir: dir.join("static"),
        frontend_dir: dir.join("frontend"),
        datasets: DatasetsConfig {
            location: DatasetStoreLocation::Local(datasets_dir(dir)),
            ..DatasetsConfig::default()
        },
        ..AppConfig::default()
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not the expected JSON ({e}): {}", self.text()))
    }

    pub fn value(&self) -> Value {
        self.json()
    }

    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The message of a JSON error body; asserts the body is one.
    pub fn error(&self) -> String {
        assert!(
            self.header(header::CONTENT_TYPE)
                .starts_with("application/json"),
            "error body is not JSON: {}",
            self.text()
        );
        let body: ErrorBody = self.json();
        body.error
    }
}

/// Path of the built `oxbook` binary.
pub fn oxbook_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oxbook"))
}
