//! The page: `/static/*` from the static directory, and the built frontend at `/` with
//! the single-page-app fallback (any other GET path gets `index.html`, so a reload of
//! `/notebooks/ID` loads the page, whose router then shows that notebook).
//!
//! The built page is served cross-origin isolated (COOP `same-origin`, COEP
//! `credentialless`): only then may the page share a `SharedArrayBuffer` with its kernel
//! worker, which is how it cancels a running cell without a message (a busy worker reads
//! none). `credentialless` rather than `require-corp`, so that images a markdown cell
//! links from other sites still load (without cookies); the worker's cross-origin URL
//! loads are CORS requests, which either policy allows.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;

/// `Cross-Origin-Opener-Policy` of the page: no window of another origin shares its
/// browsing context group.
pub const OPENER_POLICY: &str = "same-origin";
/// `Cross-Origin-Embedder-Policy` of the page and its scripts: what it embeds from other
/// origins comes either with their consent (CORS, CORP) or without credentials.
pub const EMBEDDER_POLICY: &str = "credentialless";

/// A service whose every response says the page is cross-origin isolated.
pub type Isolated<S> = SetResponseHeader<SetResponseHeader<S, HeaderValue>, HeaderValue>;

/// Adds COOP and COEP (see the module's notes) to every response of `service`.
pub fn cross_origin_isolated<S>(service: S) -> Isolated<S> {
    let coop = SetResponseHeader::overriding(
        service,
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static(OPENER_POLICY),
    );
    SetResponseHeader::overriding(
        coop,
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static(EMBEDDER_POLICY),
    )
}

/// Shown in place of the page when the frontend has not been built.
pub const NOT_BUILT_PAGE: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Oxbook: page not built</title></head>
<body>
<h1>The Oxbook page has not been built</h1>
<p>The server is running, but it found no built frontend to serve. Build it with
<code>trunk build --release</code> in the <code>frontend/</code> directory, or start the
server with <code>--frontend-dir</code> (or <code>OXBOOK_FRONTEND_DIR</code>) pointing at a
built <code>dist</code> directory, then reload this page.</p>
<p>The JSON API under <code>/api/</code> works without it.</p>
</body></html>
";

pub fn static_service(dir: &Path) -> ServeDir {
    ServeDir::new(dir)
}

/// The built page: its files (scripts, the worker's loader and wasm, styles) and, for any
/// other path, its `index.html`; all cross-origin isolated.
pub fn frontend_service(dir: &Path) -> Isolated<ServeDir<MethodRouter>> {
    let index = Arc::new(dir.join("index.html"));
    cross_origin_isolated(ServeDir::new(dir).fallback(get(spa_index).with_state(index)))
}

/// Answers GET paths that are not files of the built page.
async fn spa_index(State(index): State<Arc<PathBuf>>, uri: Uri) -> Response {
    // A missing file with an extension (`/app-123.js`) is a genuinely missing asset, and
    // answering it with HTML would only confuse the browser.
    let last_segment = uri.path().rsplit('/').next().unwrap_or_default();
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match tokio::fs::read(index.as_path()).await {
        Ok(bytes) => Html(bytes).into_response(),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT_PAGE)).into_response()
        }
        Err(e) => {
            tracing::error!(path = %index.display(), error = %e, "cannot read the page's index.html");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the page").into_response()
        }
    }
}
