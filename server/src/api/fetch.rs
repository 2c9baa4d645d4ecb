//! `GET /api/fetch?url=...`: the remote bytes of a public http(s) URL, for the page to
//! fall back on when its own fetch fails (CORS). See [`crate::fetch`] for what is refused.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use reqwest::Url;
use serde::Deserialize;

use crate::error::AppError;
use crate::fetch::fetch as fetch_url;
use crate::AppState;

/// The remote server's content type. The response's own `Content-Type` is always
/// `application/octet-stream`: the bytes are someone else's, served from this origin, and
/// must never be rendered as this origin's HTML or script.
pub const UPSTREAM_CONTENT_TYPE: HeaderName = HeaderName::from_static("x-oxbook-content-type");
/// The URL the bytes came from, after redirects (its extension may name the format).
pub const FINAL_URL: HeaderName = HeaderName::from_static("x-oxbook-final-url");

#[derive(Debug, Deserialize)]
pub struct FetchQuery {
    url: Option<String>,
}

pub async fn fetch(
    State(state): State<AppState>,
    Query(query): Query<FetchQuery>,
) -> Result<impl IntoResponse, AppError> {
    let text = query.url.ok_or(AppError::FetchNoUrl)?;
    let url = Url::parse(&text).map_err(|e| AppError::FetchInvalidUrl {
        url: text.clone(),
        reason: e.to_string(),
    })?;
    let fetched = fetch_url(url, &state.config.fetch).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(length) = fetched.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(value) = fetched
        .content_type
        .and_then(|text| HeaderValue::from_str(&text).ok())
    {
        headers.insert(UPSTREAM_CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(fetched.final_url.as_str()) {
        headers.insert(FINAL_URL, value);
    }
    Ok((headers, fetched.body))
}
