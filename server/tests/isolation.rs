//! The built page is served cross-origin isolated (COOP and COEP on the page, its scripts
//! and the kernel worker's files), which the page needs to share memory with its worker
//! and so cancel a running cell.

mod common;

use axum::http::header::HeaderName;
use axum::http::StatusCode;
use common::TestApp;
use oxbook_server::web;

const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
const COEP: HeaderName = HeaderName::from_static("cross-origin-embedder-policy");

#[tokio::test]
async fn the_page_and_the_worker_scripts_are_cross_origin_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let frontend = dir.path().join("frontend");
    std::fs::create_dir_all(&frontend).unwrap();
    std::fs::write(
        frontend.join("index.html"),
        "<!doctype html><title>Oxbook</title>",
    )
    .unwrap();
    // What trunk builds for the kernel worker: a loader shim, the bindings, the wasm.
    std::fs::write(
        frontend.join("kernel-worker_loader.js"),
        "importScripts('./kernel-worker.js');",
    )
    .unwrap();
    std::fs::write(frontend.join("kernel-worker.js"), "let wasm_bindgen;").unwrap();
    std::fs::write(frontend.join("kernel-worker_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let app = TestApp::in_dir(dir).await;

    for path in [
        "/",
        "/notebooks/0b3e7c1e-1111-4a4a-9c9c-123456789abc",
        "/kernel-worker_loader.js",
        "/kernel-worker.js",
        "/kernel-worker_bg.wasm",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.header(COOP), "same-origin", "{path}");
        assert_eq!(response.header(COEP), "credentialless", "{path}");
    }
    assert_eq!(web::OPENER_POLICY, "same-origin");
    assert_eq!(web::EMBEDDER_POLICY, "credentialless");
}

#[tokio::test]
async fn the_not_built_page_is_isolated_too() {
    // Every answer of the page's service carries the headers, the fallback's too.
    let app = TestApp::new().await;
    let response = app.get("/").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.header(COOP), "same-origin");
    assert_eq!(response.header(COEP), "credentialless");
}
