//! `GET /api/fetch`: refusals of non-public addresses (made before any connection), and,
//! with the tests-only loopback opt-in, real fetches from a local HTTP server.
//!
//! Every request these tests make goes to 127.0.0.1: the refused addresses are refused
//! before anything is sent.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use common::TestApp;
use http_body_util::BodyExt;
use tower::ServiceExt;

const DATA: &str = "a,b\n1,2\n3,4\n";

/// A local HTTP server to fetch from; counts the requests it receives.
struct Remote {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Remote {
    async fn start() -> Remote {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let router = Router::new()
            .route(
                "/data.csv",
                get(|| async { ([(header::CONTENT_TYPE, "text/csv")], DATA) }),
            )
            .route(
                "/page.html",
                get(|| async { axum::response::Html("<script>alert(1)</script>") }),
            )
            .route("/chunked", get(chunked))
            .route("/redirect", get(redirect))
            .route("/loop/{n}", get(redirect_loop))
            .route("/slow", get(slow))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .layer(axum::middleware::from_fn(
                move |request: Request<Body>, next: axum::middleware::Next| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Remote { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// 2000 bytes in 100-byte chunks, with no Content-Length.
async fn chunked() -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..20).map(|_| Ok(Bytes::from(vec![b'x'; 100]))).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[derive(serde::Deserialize)]
struct To {
    to: String,
}

async fn redirect(Query(To { to }): Query<To>) -> Redirect {
    Redirect::temporary(&to)
}

async fn redirect_loop(Path(n): Path<u32>) -> Redirect {
    Redirect::to(&format!("/loop/{}", n + 1))
}

async fn slow() -> impl IntoResponse {
    tokio::time::sleep(Duration::from_secs(20)).await;
    "late"
}

fn fetch_uri(url: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    format!("/api/fetch?url={encoded}")
}

async fn loopback_app() -> TestApp {
    TestApp::with(|config| config.fetch.allow_loopback = true).await
}

#[tokio::test]
async fn non_public_addresses_are_refused_before_connecting() {
    let remote = Remote::start().await;
    let app = TestApp::new().await;
    let port = remote.addr.port();
    for (url, reason) in [
        (
            format!("http://127.0.0.1:{port}/data.csv"),
            "127.0.0.1 is a loopback address",
        ),
        (
            format!("http://localhost:{port}/data.csv"),
            "the host `localhost` resolves to 127.0.0.1, which is a loopback address",
        ),
        (
            format!("http://[::1]:{port}/data.csv"),
            "::1 is a loopback address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/data.csv"),
            "is a loopback address",
        ),
        (
            "http://10.0.0.1/data.csv".to_string(),
            "10.0.0.1 is a private-network address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "169.254.169.254 is a link-local address",
        ),
        ("http://100.64.0.1/".to_string(), "carrier-grade NAT"),
        (
            "ftp://example.com/data.csv".to_string(),
            "only http and https URLs can be fetched, not `ftp:`",
        ),
        (
            "file:///etc/passwd".to_string(),
            "only http and https URLs can be fetched, not `file:`",
        ),
    ] {
        let response = app.get(&fetch_uri(&url)).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            response.text()
        );
        let error = response.error();
        assert!(error.starts_with("refused to fetch"), "{error}");
        assert!(error.contains(reason), "{url}: {error}");
    }
    assert_eq!(remote.hits(), 0, "nothing reached the local server");
}

#[tokio::test]
async fn missing_and_malformed_urls_are_refused() {
    let app = TestApp::new().await;
    let missing = app.get("/api/fetch").await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.error().contains("missing query parameter `url`"));
    let malformed = app.get(&fetch_uri("not a url")).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        malformed
            .error()
            .starts_with("`not a url` is not a valid URL"),
        "{}",
        malformed.error()
    );
}

#[tokio::test]
async fn with_loopback_allowed_the_bytes_come_through() {
    let remote = Remote::start().await;
    let app = loopback_app().await;
    let url = remote.url("/data.csv");
    let response = app.get(&fetch_uri(&url)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.body, DATA);
    assert_eq!(
        response.header(header::CONTENT_TYPE),
        "application/octet-stream"
    );
    assert_eq!(
        response.header(header::CONTENT_LENGTH),
        DATA.len().to_string()
    );
    assert_eq!(response.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(response.header(header::CONTENT_SECURITY_POLICY), "sandbox");
    assert_eq!(
        response.header(header::HeaderName::from_static("x-oxbook-content-type")),
        "text/csv"
    );
    assert_eq!(
        response.header(header::HeaderName::from_static("x-oxbook-final-url")),
        url
    );
    assert_eq!(remote.hits(), 1);

    // By name too: `localhost` is pinned to the loopback addresses.
    let by_name = format!("http://localhost:{}/data.csv", remote.addr.port());
    let response = app.get(&fetch_uri(&by_name)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.body, DATA);

    // Someone else's HTML is never served as this origin's page.
    let page = app.get(&fetch_uri(&remote.url("/page.html"))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        "application/octet-stream"
    );
    assert!(page
        .header(header::HeaderName::from_static("x-oxbook-content-type"))
        .starts_with("text/html"));
}

#[tokio::test]
async fn loopback_opt_in_still_refuses_other_private_addresses() {
    let app = loopback_app().await;
    for (url, reason) in [
        ("http://10.0.0.1/", "private-network"),
        ("http://169.254.169.254/", "link-local"),
        ("http://[fd00::1]/", "unique-local"),
        ("http://0.0.0.0/", "unspecified"),
    ] {
        let response = app.get(&fetch_uri(url)).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(response.error().contains(reason), "{}", response.error());
    }
}

#[tokio::test]
async fn redirects_are_followed_and_checked_at_every_hop() {
    let remote = Remote::start().await;
    let app = loopback_app().await;

    let hop = format!(
        "{}?to={}",
        remote.url("/redirect"),
        url::form_urlencoded::byte_serialize(remote.url("/data.csv").as_bytes())
            .collect::<String>()
    );
    let response = app.get(&fetch_uri(&hop)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.body, DATA);
    assert_eq!(
        response.header(header::HeaderName::from_static("x-oxbook-final-url")),
        remote.url("/data.csv")
    );

    for (target, reason) in [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address",
        ),
        ("http://10.0.0.1/", "10.0.0.1 is a private-network address"),
        ("http://[::ffff:10.0.0.1]/", "is a private-network address"),
        ("ftp://example.com/x", "only http and https"),
    ] {
        let hits_before = remote.hits();
        let hop = format!(
            "{}?to={}",
            remote.url("/redirect"),
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        );
        let response = app.get(&fetch_uri(&hop)).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{target}: {}",
            response.text()
        );
        let error = response.error();
        assert!(error.contains(reason), "{target}: {error}");
        assert!(
            error.contains(&format!("refused to fetch `{}", &target[..10])),
            "{error}"
        );
        assert_eq!(
            remote.hits(),
            hits_before + 1,
            "only the redirecting hop was fetched"
        );
    }

    let response = app.get(&fetch_uri(&remote.url("/loop/0"))).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(
        response.error().ends_with("redirected more than 5 times"),
        "{}",
        response.error()
    );
    // Two requests for the good redirect, one per refused hop, and six for the loop: the
    // first and five redirects followed, and no seventh.
    assert_eq!(remote.hits(), 2 + 4 + 6);
}

#[tokio::test]
async fn responses_over_the_cap_are_refused() {
    let remote = Remote::start().await;
    let app = TestApp::with(|config| {
        config.fetch.allow_loopback = true;
        config.fetch.max_bytes = 10;
    })
    .await;
    // The length is announced: a 413 before any of the body is passed on.
    let response = app.get(&fetch_uri(&remote.url("/data.csv"))).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response
            .error()
            .contains("larger than the 10 bytes the server fetches"),
        "{}",
        response.error()
    );

    // Not announced: the response is cut off once it passes the cap.
    let app = TestApp::with(|config| {
        config.fetch.allow_loopback = true;
        config.fetch.max_bytes = 1000;
    })
    .await;
    let request = Request::get(fetch_uri(&remote.url("/chunked")))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let read = response.into_body().collect().await;
    assert!(read.is_err(), "the body should break off past the cap");

    // At the cap exactly, it all comes through.
    let app = TestApp::with(|config| {
        config.fetch.allow_loopback = true;
        config.fetch.max_bytes = 2000;
    })
    .await;
    let response = app.get(&fetch_uri(&remote.url("/chunked"))).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body.len(), 2000);
}

#[tokio::test]
async fn slow_servers_time_out_and_errors_are_bad_gateways() {
    let remote = Remote::start().await;
    let app = TestApp::with(|config| {
        config.fetch.allow_loopback = true;
        config.fetch.timeout = Duration::from_millis(300);
    })
    .await;
    let started = std::time::Instant::now();
    let response = app.get(&fetch_uri(&remote.url("/slow"))).await;
    assert_eq!(response.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        response.error().contains("took longer than 0.3 s"),
        "{}",
        response.error()
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let response = app.get(&fetch_uri(&remote.url("/missing"))).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(
        response.error().ends_with("answered 404 Not Found"),
        "{}",
        response.error()
    );

    // A port nothing listens on (bound, then closed).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let response = app.get(&fetch_uri(&format!("http://{closed}/x"))).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(
        response.error().starts_with("cannot fetch"),
        "{}",
        response.error()
    );
}
