//! The dataset store: `/api/datasets`, in process over a real SQLite file and a real
//! local-folder object store in a tempdir.

mod common;

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;
use oxbook_protocol::{DatasetColumn, DatasetFormat, DatasetInfo};
use sha2::{Digest, Sha256};

const IRIS: &str = "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn column(name: &str, dtype: &str) -> DatasetColumn {
    DatasetColumn {
        name: name.into(),
        dtype: dtype.into(),
    }
}

async fn put(app: &TestApp, uri: &str, body: impl Into<Body>) -> common::TestResponse {
    app.raw(Method::PUT, uri, Some("application/octet-stream"), body)
        .await
}

/// The files in the dataset directory (the stored objects, staging files included).
fn stored_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn upload_list_get_download_delete() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/api/datasets").await.json::<Vec<DatasetInfo>>(),
        []
    );

    let response = put(&app, "/api/datasets/iris.csv", IRIS).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.header(header::LOCATION), "/api/datasets/iris.csv");
    let info: DatasetInfo = response.json();
    assert_eq!(info.name, "iris.csv");
    assert_eq!(info.format, DatasetFormat::Csv);
    assert_eq!(info.size_bytes, IRIS.len() as u64);
    assert_eq!(info.sha256, sha256(IRIS.as_bytes()));
    assert_eq!(info.row_count, Some(3));
    assert_eq!(
        info.schema,
        Some(vec![
            column("sepal", "float"),
            column("petal", "float"),
            column("species", "str")
        ])
    );
    assert_eq!(info.diagnostics, Vec::<String>::new());
    assert_eq!(info.data_path, "/api/datasets/iris.csv/data");
    assert!(info.created_at.ends_with('Z'), "{}", info.created_at);

    let list: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(list, std::slice::from_ref(&info));
    let fetched = app.get("/api/datasets/iris.csv").await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json::<DatasetInfo>(), info);

    let data = app.get(&info.data_path).await;
    assert_eq!(data.status, StatusCode::OK);
    assert_eq!(data.body, IRIS.as_bytes());
    assert_eq!(data.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert_eq!(data.header(header::CONTENT_LENGTH), IRIS.len().to_string());
    assert_eq!(data.header(header::ETAG), format!("\"{}\"", info.sha256));
    assert_eq!(
        data.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"iris.csv\""
    );
    // The bytes are in the local store, under a key of their own.
    let files = stored_files(&app.datasets_dir());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("-iris.csv"), "{files:?}");
    assert_eq!(
        std::fs::read(app.datasets_dir().join(&files[0])).unwrap(),
        IRIS.as_bytes()
    );

    let deleted = app.delete("/api/datasets/iris.csv").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    for uri in ["/api/datasets/iris.csv", "/api/datasets/iris.csv/data"] {
        let gone = app.get(uri).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(gone.error(), "no dataset named `iris.csv`");
    }
    assert_eq!(
        app.delete("/api/datasets/iris.csv").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/datasets").await.json::<Vec<DatasetInfo>>(),
        []
    );
    assert_eq!(stored_files(&app.datasets_dir()), Vec::<String>::new());
}

#[tokio::test]
async fn binary_bytes_come_back_identical() {
    let app = TestApp::new().await;
    // Every byte value, and more than one multipart chunk's worth (5 MiB).
    let bytes: Vec<u8> = (0..6 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    let response = put(&app, "/api/datasets/blob.parquet", bytes.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let info: DatasetInfo = response.json();
    assert_eq!(info.format, DatasetFormat::Parquet);
    assert_eq!(info.size_bytes, bytes.len() as u64);
    assert_eq!(info.sha256, sha256(&bytes));
    assert_eq!(info.schema, None);
    assert_eq!(info.row_count, None);
    assert!(
        info.diagnostics[0].contains("cannot read this parquet file"),
        "{:?}",
        info.diagnostics
    );
    let data = app.get(&info.data_path).await;
    assert_eq!(data.status, StatusCode::OK);
    assert_eq!(
        data.header(header::CONTENT_TYPE),
        "application/vnd.apache.parquet"
    );
    assert!(
        data.body == bytes,
        "downloaded bytes differ from the upload"
    );
}

#[tokio::test]
async fn replacing_swaps_bytes_and_metadata_and_drops_the_old_object() {
    let app = TestApp::new().await;
    let first = put(&app, "/api/datasets/d.csv", "a\n1\n").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let first: DatasetInfo = first.json();
    let files_before = stored_files(&app.datasets_dir());

    let second_body = "a,b\n1,x\n2,y\n3,z\n";
    let second = put(&app, "/api/datasets/d.csv", second_body).await;
    assert_eq!(second.status, StatusCode::OK, "a replacement is 200");
    let second: DatasetInfo = second.json();
    assert_ne!(second.sha256, first.sha256);
    assert_eq!(second.sha256, sha256(second_body.as_bytes()));
    assert_eq!(second.row_count, Some(3));
    assert_eq!(second.schema.as_ref().unwrap().len(), 2);

    assert_eq!(app.get("/api/datasets/d.csv/data").await.body, second_body);
    let list: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(list, [second]);
    let files_after = stored_files(&app.datasets_dir());
    assert_eq!(files_after.len(), 1, "{files_after:?}");
    assert_ne!(files_after, files_before, "the new bytes have a new key");
}

#[tokio::test]
async fn racing_replacements_leave_one_consistent_dataset() {
    let app = TestApp::new().await;
    let bodies: Vec<String> = (0..6).map(|i| format!("n\n{i}\n")).collect();
    let uploads = bodies
        .iter()
        .map(|body| put(&app, "/api/datasets/race.csv", body.clone()));
    for response in futures_util::future::join_all(uploads).await {
        assert!(response.status.is_success(), "{}", response.text());
    }
    let info: DatasetInfo = app.get("/api/datasets/race.csv").await.json();
    let data = app.get(&info.data_path).await;
    // Whichever upload won, the metadata describes the bytes served.
    assert_eq!(info.sha256, sha256(&data.body));
    assert!(bodies.iter().any(|body| body.as_bytes() == data.body));
    assert_eq!(stored_files(&app.datasets_dir()).len(), 1);
}

#[tokio::test]
async fn demo_csv_is_seeded_with_its_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/demo/hats.csv");
    let demo_bytes = std::fs::read(&demo).expect("the repository's demo CSV");
    std::fs::create_dir_all(dir.path().join("static/demo")).unwrap();
    std::fs::write(dir.path().join("static/demo/hats.csv"), &demo_bytes).unwrap();

    let app = TestApp::in_dir(dir).await;
    let list: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(list.len(), 1);
    let hats = &list[0];
    assert_eq!(hats.name, "hats.csv");
    assert_eq!(hats.format, DatasetFormat::Csv);
    assert_eq!(hats.size_bytes, demo_bytes.len() as u64);
    assert_eq!(hats.sha256, sha256(&demo_bytes));
    // One record per line after the header (the demo has no quoted newlines).
    let text = std::str::from_utf8(&demo_bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(hats.row_count, Some(lines.len() as u64 - 1));
    assert_eq!(hats.row_count, Some(3000));
    let schema = hats.schema.clone().expect("the demo CSV parses");
    let names: Vec<&str> = schema.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, lines[0].split(',').collect::<Vec<_>>());
    let dtypes: Vec<&str> = schema.iter().map(|c| c.dtype.as_str()).collect();
    assert_eq!(
        dtypes,
        ["int", "int", "float", "str", "bool", "int", "int", "int", "float", "int", "bool"]
    );
    assert_eq!(hats.diagnostics, Vec::<String>::new());
    assert_eq!(app.get(&hats.data_path).await.body, demo_bytes);

    // Starting again changes nothing: same row, same single object.
    let hats = hats.clone();
    let dir = app.close().await;
    let app = TestApp::in_dir(dir).await;
    let list: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(list, std::slice::from_ref(&hats));
    assert_eq!(stored_files(&app.datasets_dir()).len(), 1);

    // A user's own `hats.csv` is theirs: a restart does not put the demo back over it.
    let own = put(&app, "/api/datasets/hats.csv", "mine\n1\n").await;
    assert_eq!(own.status, StatusCode::OK);
    let dir = app.close().await;
    let app = TestApp::in_dir(dir).await;
    assert_eq!(app.get(&hats.data_path).await.body, "mine\n1\n");
}

#[tokio::test]
async fn an_unparseable_file_is_stored_with_a_diagnostic() {
    let app = TestApp::new().await;
    let ragged = "a,b\n1,2\n3\n";
    let response = put(&app, "/api/datasets/ragged.csv", ragged).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let info: DatasetInfo = response.json();
    assert_eq!(info.schema, None);
    assert_eq!(info.row_count, None);
    assert_eq!(info.size_bytes, ragged.len() as u64);
    assert_eq!(info.diagnostics.len(), 1);
    assert!(
        info.diagnostics[0].contains("line 3: expected 2 fields"),
        "{:?}",
        info.diagnostics
    );
    assert_eq!(app.get(&info.data_path).await.body, ragged);

    let binary = [0xff_u8, 0xfe, 0x00, b',', b'\n', 0x80];
    let response = put(&app, "/api/datasets/bin.csv", binary.to_vec()).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let info: DatasetInfo = response.json();
    assert_eq!(info.schema, None);
    assert!(
        info.diagnostics[0].contains("not valid UTF-8"),
        "{:?}",
        info.diagnostics
    );
    assert_eq!(app.get(&info.data_path).await.body, binary.as_slice());

    let empty = put(&app, "/api/datasets/empty.csv", "").await;
    assert_eq!(empty.status, StatusCode::CREATED);
    let info: DatasetInfo = empty.json();
    assert_eq!(info.size_bytes, 0);
    assert!(
        info.diagnostics[0].contains("empty"),
        "{:?}",
        info.diagnostics
    );
    assert_eq!(app.get(&info.data_path).await.body, "");
}

#[tokio::test]
async fn format_comes_from_the_query_or_the_extension() {
    let app = TestApp::new().await;
    let response = put(&app, "/api/datasets/plain?format=CSV", "x\n1\n").await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let info: DatasetInfo = response.json();
    assert_eq!(info.format, DatasetFormat::Csv);
    assert_eq!(info.row_count, Some(1));

    // The query wins over the extension.
    let response = put(&app, "/api/datasets/rows.csv?format=jsonl", "{\"a\":1}\n").await;
    let info: DatasetInfo = response.json();
    assert_eq!(info.format, DatasetFormat::Jsonl);
    // Read as JSON Lines, not CSV: one record with an int column `a`.
    assert_eq!(info.row_count, Some(1), "{:?}", info.diagnostics);
    let schema = info.schema.expect("the kernel reads JSON Lines");
    assert_eq!(
        (schema[0].name.as_str(), schema[0].dtype.as_str()),
        ("a", "int")
    );
    assert_eq!(
        app.get(&info.data_path).await.header(header::CONTENT_TYPE),
        "application/x-ndjson"
    );
    for (name, format) in [
        ("t.tsv", DatasetFormat::Tsv),
        ("j.json", DatasetFormat::Json),
        ("n.ndjson", DatasetFormat::Jsonl),
    ] {
        let info: DatasetInfo = put(&app, &format!("/api/datasets/{name}"), "x")
            .await
            .json();
        assert_eq!(info.format, format, "{name}");
    }

    let unknown = put(&app, "/api/datasets/noext", "x").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .error()
            .contains("cannot tell the format of dataset `noext`"),
        "{}",
        unknown.error()
    );
    let bad = put(&app, "/api/datasets/a.csv?format=xlsx", "x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error(),
        "unknown dataset format `xlsx`: expected csv, tsv, json, jsonl or parquet"
    );
    // Nothing was stored for the refused uploads.
    let names: Vec<String> = app
        .get("/api/datasets")
        .await
        .json::<Vec<DatasetInfo>>()
        .into_iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(names, ["j.json", "n.ndjson", "plain", "rows.csv", "t.tsv"]);
}

#[tokio::test]
async fn bad_names_are_refused() {
    let app = TestApp::new().await;
    let long = "x".repeat(129);
    for name in [
        ".hidden.csv",
        "a%20b.csv",
        "%C3%A9.csv",
        "a%2Fb.csv",
        long.as_str(),
    ] {
        for method in [Method::PUT, Method::GET, Method::DELETE] {
            let response = app
                .raw(
                    method.clone(),
                    &format!("/api/datasets/{name}"),
                    None,
                    "x,y\n",
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {name}"
            );
            assert!(
                response.error().starts_with("invalid dataset name"),
                "{}",
                response.error()
            );
        }
    }
    let longest = "x".repeat(124) + ".csv";
    let response = put(&app, &format!("/api/datasets/{longest}"), "a\n1\n").await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "128 characters are allowed"
    );
    assert_eq!(stored_files(&app.datasets_dir()).len(), 1);
}

#[tokio::test]
async fn uploads_over_the_cap_are_refused_and_leave_nothing_behind() {
    let app = TestApp::with(|config| config.datasets.max_upload_bytes = 1000).await;
    let exactly = "a\n".repeat(500);
    let response = put(&app, "/api/datasets/ok.csv", exactly.clone()).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "the cap itself is allowed"
    );

    // Announced too large: refused before reading (this body never yields a byte, so
    // reading it would hang the test).
    let request = Request::put("/api/datasets/big.csv")
        .header(header::CONTENT_LENGTH, "1001")
        .body(Body::from_stream(futures_util::stream::pending::<
            Result<Bytes, std::io::Error>,
        >()))
        .unwrap();
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), app.send(request))
        .await
        .expect("refused without reading the body");
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.error(),
        "request body is too large: datasets may be at most 1000 bytes"
    );

    // Streamed without a length: refused once it crosses the cap.
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..20).map(|_| Ok(Bytes::from(vec![b'a'; 100]))).collect();
    let request = Request::put("/api/datasets/streamed.csv")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response.error().contains("at most 1000 bytes"),
        "{}",
        response.error()
    );

    let names: Vec<String> = app
        .get("/api/datasets")
        .await
        .json::<Vec<DatasetInfo>>()
        .into_iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(names, ["ok.csv"]);
    // The abandoned upload's bytes and staging file are gone.
    assert_eq!(stored_files(&app.datasets_dir()).len(), 1);
}

#[tokio::test]
async fn a_broken_upload_keeps_the_old_dataset() {
    let app = TestApp::new().await;
    put(&app, "/api/datasets/keep.csv", "a\n1\n").await;
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"a\n2\n")),
        Err(std::io::Error::other("the client went away")),
    ];
    let request = Request::put("/api/datasets/keep.csv")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        response.error().contains("broke off"),
        "{}",
        response.error()
    );
    assert_eq!(app.get("/api/datasets/keep.csv/data").await.body, "a\n1\n");
    assert_eq!(stored_files(&app.datasets_dir()).len(), 1);
}

#[tokio::test]
async fn datasets_persist_across_a_reopen() {
    let app = TestApp::new().await;
    let info: DatasetInfo = put(&app, "/api/datasets/iris.csv", IRIS).await.json();
    let dir = app.close().await;
    let app = TestApp::in_dir(dir).await;
    let list: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(list, std::slice::from_ref(&info));
    assert_eq!(app.get(&info.data_path).await.body, IRIS);
}

#[tokio::test]
async fn missing_bytes_are_a_server_error_naming_the_dataset() {
    let app = TestApp::new().await;
    put(&app, "/api/datasets/lost.csv", "a\n1\n").await;
    for file in stored_files(&app.datasets_dir()) {
        std::fs::remove_file(app.datasets_dir().join(file)).unwrap();
    }
    let response = app.get("/api/datasets/lost.csv/data").await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.error(),
        "the bytes of dataset `lost.csv` are missing from the dataset store"
    );
    // Deleting still works: the metadata goes, the missing object is no error.
    assert_eq!(
        app.delete("/api/datasets/lost.csv").await.status,
        StatusCode::NO_CONTENT
    );
}
