//! Streaming a table's bytes into the kernel, as the worker does it: open the source (a
//! posted `File`, or a URL fetched by the browser with the server's `/api/fetch` as the
//! fallback), then pump it chunk by chunk into a push parser, reporting progress.
//!
//! This module never names the kernel (the page's library must not link it): the worker
//! binary hands [`pump`] its loader's `push` as a closure, and so can a test. Nothing here
//! holds more than one chunk of the input at a time; what the input becomes is up to the
//! loader.

use std::future::Future;

use oxbook_protocol::LoadSource;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStream, Response};

pub use crate::worker_wire::FetchRoute;

/// Bytes read from a file per chunk: large enough that per-chunk costs (a promise, a copy
/// into wasm memory) vanish, small enough that progress moves and memory stays bounded.
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// How often, at most, the worker posts `LoadProgress` (plus once at the end).
pub const PROGRESS_INTERVAL_MS: f64 = 100.0;

/// Why a load's bytes could not be read or were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no file came with the request to load '{name}'")]
    MissingFile { name: String },
    #[error("'{url}' is not a URL the page can load ({reason})")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    Fetch(#[from] UrlError),
    #[error("reading the data failed after {done} bytes: {message}")]
    Read { done: u64, message: String },
    /// The loader refused the bytes (a fatal parse error, or memory ran out).
    #[error("{message}")]
    Rejected { done: u64, message: String },
    /// The user cancelled the load; the variable was left as it was.
    #[error("load cancelled after {} read; the variable was left as it was", human_bytes(*.done))]
    Cancelled { done: u64 },
}

/// A byte count for people: `43.1 MB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How a single `fetch` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchFailure {
    /// `fetch()` itself rejected: no network, no such host, or the remote server's CORS
    /// policy does not let this page read it (browsers do not say which).
    #[error("network error: {0}")]
    Network(String),
    /// An answer, but not a success.
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
}

/// Why a URL could not be fetched either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("fetching {url} failed ({failure})")]
    Browser { url: String, failure: FetchFailure },
    #[error("fetching {url} failed in the browser ({browser}) and through the server ({server})")]
    BothFailed {
        url: String,
        browser: FetchFailure,
        server: FetchFailure,
    },
}

/// A response and the way it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<R> {
    pub response: R,
    pub route: FetchRoute,
    /// The URL actually fetched.
    pub fetched: String,
    /// Why the server was used, when it was.
    pub note: Option<String>,
}

/// The server's fetch of `url` (absolute), on the server at `origin`.
pub fn server_fetch_url(origin: &str, url: &str) -> String {
    format!(
        "{origin}/api/fetch?url={}",
        String::from(js_sys::encode_uri_component(url))
    )
}

/// Whether `url` (absolute, normalized) is on the server at `origin`.
pub fn is_same_origin(url: &str, origin: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

/// Whether a failed browser fetch of `url` is worth retrying through the server's
/// `/api/fetch`: only when the request never got an answer (which is how a CORS refusal
/// looks), and only for an http(s) URL elsewhere — an answer such as 404 is the remote
/// server's word, and the server cannot reach itself (it refuses loopback addresses).
pub fn retry_through_server(url: &str, origin: &str, failure: &FetchFailure) -> bool {
    matches!(failure, FetchFailure::Network(_))
        && (url.starts_with("http://") || url.starts_with("https://"))
        && !is_same_origin(url, origin)
}

/// Fetches `url` (absolute) with `fetch`; when the browser cannot, fetches it again
/// through the server at `origin`. `fetch` answers `Ok` only for a successful response.
pub async fn fetch_with_fallback<R, F, Fut>(
    url: &str,
    origin: &str,
    mut fetch: F,
) -> Result<Fetched<R>, UrlError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<R, FetchFailure>>,
{
    let browser = match fetch(url.to_string()).await {
        Ok(response) => {
            return Ok(Fetched {
                response,
                route: FetchRoute::Browser,
                fetched: url.to_string(),
                note: None,
            })
        }
        Err(failure) => failure,
    };
    if !retry_through_server(url, origin, &browser) {
        return Err(UrlError::Browser {
            url: url.to_string(),
            failure: browser,
        });
    }
    let proxied = server_fetch_url(origin, url);
    match fetch(proxied.clone()).await {
        Ok(response) => Ok(Fetched {
            response,
            route: FetchRoute::Server,
            fetched: proxied,
            note: Some(format!(
                "fetched through the server because the browser could not ({browser})"
            )),
        }),
        Err(server) => Err(UrlError::BothFailed {
            url: url.to_string(),
            browser,
            server,
        }),
    }
}

/// `url` made absolute against the server's `origin` (the protocol's relative URLs are
/// against the origin, not against the worker's script). Only URLs a page can fetch are
/// taken: http(s), and `blob:`/`data:` (which a page makes from files it holds).
pub fn resolve_url(url: &str, origin: &str) -> Result<String, SourceError> {
    let bad = |reason: String| SourceError::BadUrl {
        url: url.to_string(),
        reason,
    };
    if url.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let resolved = web_sys::Url::new_with_base(url.trim(), &format!("{origin}/"))
        .map_err(|e| bad(js_text(&e)))?;
    match resolved.protocol().as_str() {
        "http:" | "https:" | "blob:" | "data:" => Ok(resolved.href()),
        other => Err(bad(format!("{other} URLs cannot be fetched"))),
    }
}

/// The format a file's name or a URL's path names by its extension, else the one its
/// content type names; `None` when neither says.
pub fn guess_format(name: &str, content_type: Option<&str>) -> Option<&'static str> {
    let path = name.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    let by_extension =
        file.rsplit_once('.')
            .and_then(|(_, ext)| match ext.to_ascii_lowercase().as_str() {
                "csv" => Some("csv"),
                "tsv" | "tab" => Some("tsv"),
                "json" => Some("json"),
                "jsonl" | "ndjson" => Some("jsonl"),
                "parquet" | "pq" => Some("parquet"),
                _ => None,
            });
    by_extension.or_else(|| {
        let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" => Some("csv"),
            "text/tab-separated-values" => Some("tsv"),
            "application/json" => Some("json"),
            "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some("jsonl"),
            "application/vnd.apache.parquet" | "application/x-parquet" => Some("parquet"),
            _ => None,
        }
    })
}

/// Decides when to post progress: the first time, then at most every `interval_ms`, and
/// whenever the end is reached.
#[derive(Debug, Clone)]
pub struct ProgressThrottle {
    interval_ms: f64,
    last_ms: Option<f64>,
}

impl ProgressThrottle {
    pub fn new(interval_ms: f64) -> Self {
        ProgressThrottle {
            interval_ms,
            last_ms: None,
        }
    }

    /// Whether to post `done` of `total` at `now_ms`; if so, counts it as posted.
    pub fn ready(&mut self, done: u64, total: Option<u64>, now_ms: f64) -> bool {
        let due = match self.last_ms {
            None => true,
            Some(last) => now_ms - last >= self.interval_ms,
        };
        if due || total == Some(done) {
            self.last_ms = Some(now_ms);
            true
        } else {
            false
        }
    }
}

/// Where a load's bytes come from, opened.
pub enum ByteSource {
    Blob(Blob),
    Stream(ReadableStream),
}

/// A source opened for reading, with what is known of it before the first byte.
pub struct Opened {
    pub bytes: ByteSource,
    /// The size, when known (a file's; a response's `Content-Length`).
    pub total: Option<u64>,
    /// A name to guess the format from: the file's name, or the URL finally fetched.
    pub name: String,
    pub content_type: Option<String>,
    /// For a URL: which way it was fetched.
    pub route: Option<Fetched<()>>,
}

impl Opened {
    /// The format named by the request, else guessed from the name or content type.
    pub fn format(&self, asked: Option<&str>) -> Option<String> {
        asked
            .filter(|f| !f.is_empty() && *f != "auto")
            .map(str::to_string)
            .or_else(|| guess_format(&self.name, self.content_type.as_deref()).map(str::to_string))
    }
}

/// Opens what `source` names: the posted `file`, or the URL (see [`open_url`]).
pub async fn open_source(
    source: &LoadSource,
    file: Option<Blob>,
    origin: &str,
) -> Result<Opened, SourceError> {
    match source {
        LoadSource::File { name, size } => {
            let blob = file.ok_or_else(|| SourceError::MissingFile { name: name.clone() })?;
            let content_type = Some(blob.type_()).filter(|t| !t.is_empty());
            // The blob's own size is the truth; the request's is what the page saw.
            let _ = size;
            let total = Some(blob.size() as u64);
            Ok(Opened {
                bytes: ByteSource::Blob(blob),
                total,
                name: name.clone(),
                content_type,
                route: None,
            })
        }
        LoadSource::Url { url } => open_url(url, origin, browser_fetch).await,
    }
}

/// Fetches `url` with `fetch` (the browser's [`browser_fetch`], or a stand-in), falling
/// back on the server, and opens its body as a stream.
pub async fn open_url<F, Fut>(url: &str, origin: &str, fetch: F) -> Result<Opened, SourceError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Response, FetchFailure>>,
{
    let absolute = resolve_url(url, origin)?;
    let fetched = fetch_with_fallback(&absolute, origin, fetch).await?;
    let response = &fetched.response;
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten().filter(|v| !v.is_empty());
    // Through the server, the remote's type and final URL come in headers of their own
    // (the response itself is always `application/octet-stream`).
    let (name, content_type) = match fetched.route {
        FetchRoute::Server => (
            header("x-oxbook-final-url").unwrap_or_else(|| absolute.clone()),
            header("x-oxbook-content-type"),
        ),
        FetchRoute::Browser => (
            Some(response.url())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| absolute.clone()),
            header("content-type"),
        ),
    };
    // A compressed response's length is of the compressed bytes, not of those read: then
    // the total is unknown (see `pump`, which also drops a total the reading outgrows).
    let total = if header("content-encoding").is_some() {
        None
    } else {
        header("content-length").and_then(|v| v.parse::<u64>().ok())
    };
    let stream = response.body().ok_or_else(|| SourceError::Read {
        done: 0,
        message: "the response has no body".into(),
    })?;
    Ok(Opened {
        bytes: ByteSource::Stream(stream),
        total,
        name,
        content_type,
        route: Some(Fetched {
            response: (),
            route: fetched.route,
            fetched: fetched.fetched,
            note: fetched.note,
        }),
    })
}

/// The global `fetch` (of the window or of the worker) of `url`; only a successful
/// response is `Ok`. For an error answer, the message is the server's `{"error": ...}`
/// when it sent one.
pub async fn browser_fetch(url: String) -> Result<Response, FetchFailure> {
    let global = js_sys::global();
    let promise = if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.fetch_with_str(&url)
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        worker.fetch_with_str(&url)
    } else {
        return Err(FetchFailure::Network(
            "this context has no fetch (neither a window nor a worker)".into(),
        ));
    };
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| FetchFailure::Network(js_text(&e)))?
        .unchecked_into();
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let body = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let message = match serde_json::from_str::<oxbook_protocol::ErrorBody>(&body) {
        Ok(error) => error.error,
        Err(_) if body.trim().is_empty() => response.status_text(),
        Err(_) => body.chars().take(300).collect(),
    };
    Err(FetchFailure::Status { status, message })
}

/// Reads `bytes` to the end, handing each chunk to `push` and then reporting the bytes
/// done so far (and the total, while it is known) to `progress`. Returns the bytes read.
/// Stops at the first error of either reading or `push`; a stream is then cancelled.
/// Asks `cancelled` before each chunk: once it answers `true` the reading stops (a stream
/// is cancelled) with [`SourceError::Cancelled`].
pub async fn pump(
    bytes: ByteSource,
    total: Option<u64>,
    chunk_bytes: usize,
    mut push: impl FnMut(&[u8]) -> Result<(), String>,
    mut progress: impl FnMut(u64, Option<u64>),
    cancelled: &dyn Fn() -> bool,
) -> Result<u64, SourceError> {
    let mut done: u64 = 0;
    let mut total = total;
    let mut report = |done: u64| {
        // A total the reading outgrows was wrong (say, of compressed bytes): drop it
        // rather than show more than 100%.
        if total.is_some_and(|t| done > t) {
            total = None;
        }
        progress(done, total);
    };
    match bytes {
        ByteSource::Blob(blob) => {
            let size = blob.size();
            let chunk_bytes = chunk_bytes.max(1);
            // One buffer for every chunk, so memory stays one chunk however large the file.
            let mut buffer: Vec<u8> = Vec::new();
            let mut start = 0f64;
            while start < size {
                if cancelled() {
                    return Err(SourceError::Cancelled { done });
                }
                let end = (start + chunk_bytes as f64).min(size);
                let array = read_blob_range(&blob, start, end)
                    .await
                    .map_err(|message| SourceError::Read { done, message })?;
                let length = array.length() as usize;
                buffer.resize(length, 0);
                array.copy_to(&mut buffer);
                push(&buffer).map_err(|message| SourceError::Rejected { done, message })?;
                done += length as u64;
                report(done);
                if length == 0 {
                    break;
                }
                start = end;
            }
        }
        ByteSource::Stream(stream) => {
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
            let mut buffer: Vec<u8> = Vec::new();
            let mut tick = None;
            loop {
                let result = match read_or_cancel(&reader, cancelled, &mut tick).await {
                    Ok(Some(result)) => result,
                    Ok(None) => {
                        let _ = reader.cancel();
                        return Err(SourceError::Cancelled { done });
                    }
                    Err(e) => {
                        return Err(SourceError::Read {
                            done,
                            message: js_text(&e),
                        })
                    }
                };
                let finished = js_sys::Reflect::get(&result, &"done".into())
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true);
                if finished {
                    break;
                }
                let Ok(value) = js_sys::Reflect::get(&result, &"value".into()) else {
                    continue;
                };
                let array: js_sys::Uint8Array = value.unchecked_into();
                let length = array.length() as usize;
                buffer.resize(length, 0);
                array.copy_to(&mut buffer);
                if let Err(message) = push(&buffer) {
                    // Tell the network to stop sending what nobody will read.
                    let _ = reader.cancel();
                    return Err(SourceError::Rejected { done, message });
                }
                done += length as u64;
                report(done);
            }
        }
    }
    Ok(done)
}

/// How often a read waiting on a stream looks at the Cancel flag: a stalled server must
/// not keep a load from being cancelled.
pub const CANCEL_POLL_MS: u32 = 100;

/// The stream's next read, or `None` when `cancelled` is (or turns) true before it comes.
/// `tick` is the pending poll timer, kept across reads so that a fast stream starts one
/// timer per [`CANCEL_POLL_MS`], not one per chunk.
async fn read_or_cancel(
    reader: &web_sys::ReadableStreamDefaultReader,
    cancelled: &dyn Fn() -> bool,
    tick: &mut Option<js_sys::Promise>,
) -> Result<Option<JsValue>, JsValue> {
    if cancelled() {
        return Ok(None);
    }
    let read = reader.read();
    loop {
        // A tick resolves with `undefined`, which no read gives (it gives `{done, value}`).
        let pending = tick.get_or_insert_with(|| {
            wasm_bindgen_futures::future_to_promise(async {
                gloo_timers::future::TimeoutFuture::new(CANCEL_POLL_MS).await;
                Ok(JsValue::UNDEFINED)
            })
        });
        let first =
            JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&read, pending))).await?;
        if !first.is_undefined() {
            return Ok(Some(first));
        }
        *tick = None;
        if cancelled() {
            return Ok(None);
        }
    }
}

async fn read_blob_range(blob: &Blob, start: f64, end: f64) -> Result<js_sys::Uint8Array, String> {
    let slice = blob
        .slice_with_f64_and_f64(start, end)
        .map_err(|e| js_text(&e))?;
    let buffer = JsFuture::from(slice.array_buffer())
        .await
        .map_err(|e| js_text(&e))?;
    Ok(js_sys::Uint8Array::new(&buffer))
}

/// A JavaScript error's message.
pub fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// Sources above this are hashed by the kernel as they stream (`Loader::named`):
/// WebCrypto's digest takes all the bytes in one buffer, which must fit in memory.
pub const DIGEST_CAP_BYTES: u64 = 1 << 30;

/// How a streamed load's bytes get the sha256 that names the frame's dataset. Hashing in
/// wasm (one thread, no SHA instructions) costs about as much as parsing, so the worker
/// has the browser's WebCrypto do it natively, off its thread, when it can.
pub enum Hashing {
    /// The kernel's loader hashes the bytes as they are pushed: for sources known to be
    /// above the cap, and where there is no WebCrypto. `crypto.subtle` exists only in
    /// secure contexts (https, or http on localhost): a page served over plain http from
    /// another host has none.
    Kernel,
    /// WebCrypto's digest of the whole file, started before parsing so both run at once.
    File(js_sys::Promise),
    /// A response's chunks as they arrive (copies in JS memory), for WebCrypto to digest at
    /// the end.
    Kept {
        subtle: web_sys::SubtleCrypto,
        chunks: js_sys::Array,
        bytes: u64,
        cap: u64,
    },
    /// A response of unknown length that grew past the cap while being kept: the kept
    /// chunks were hashed here, in wasm, and so is the rest as it arrives.
    Streaming(Box<sha2::Sha256>),
}

impl Hashing {
    /// How to hash `bytes` (`total` of them, when known), with WebCrypto's `subtle` if
    /// there is one, keeping at most `cap` bytes for its digest.
    pub fn start(
        subtle: Option<web_sys::SubtleCrypto>,
        bytes: &ByteSource,
        total: Option<u64>,
        cap: u64,
    ) -> Hashing {
        let Some(subtle) = subtle else {
            return Hashing::Kernel;
        };
        if total.is_some_and(|total| total > cap) {
            return Hashing::Kernel;
        }
        match bytes {
            ByteSource::Blob(blob) => {
                let blob = blob.clone();
                Hashing::File(wasm_bindgen_futures::future_to_promise(async move {
                    let buffer = JsFuture::from(blob.array_buffer()).await?;
                    sha256(&subtle, buffer.unchecked_ref()).await
                }))
            }
            ByteSource::Stream(_) => Hashing::Kept {
                subtle,
                chunks: js_sys::Array::new(),
                bytes: 0,
                cap,
            },
        }
    }

    /// Takes in the next chunk of a response (a file is digested whole).
    pub fn keep(&mut self, chunk: &[u8]) {
        use sha2::Digest;
        match self {
            Hashing::Kept {
                chunks, bytes, cap, ..
            } => {
                *bytes += chunk.len() as u64;
                if *bytes <= *cap {
                    chunks.push(&js_sys::Uint8Array::from(chunk));
                    return;
                }
                let mut hasher = sha2::Sha256::new();
                let mut copy = Vec::new();
                for kept in chunks.iter() {
                    let kept: js_sys::Uint8Array = kept.unchecked_into();
                    copy.resize(kept.length() as usize, 0);
                    kept.copy_to(&mut copy);
                    hasher.update(&copy);
                }
                hasher.update(chunk);
                *self = Hashing::Streaming(Box::new(hasher));
            }
            Hashing::Streaming(hasher) => hasher.update(chunk),
            Hashing::Kernel | Hashing::File(_) => {}
        }
    }

    /// The bytes' sha256 in hex, when this hashes them (the kernel's own is in the frame).
    pub async fn finish(self) -> Result<Option<String>, JsValue> {
        use sha2::Digest;
        let digest = match self {
            Hashing::Kernel => return Ok(None),
            Hashing::Streaming(hasher) => return Ok(Some(hex::encode(hasher.finalize()))),
            Hashing::File(digest) => JsFuture::from(digest).await?,
            Hashing::Kept {
                subtle,
                chunks,
                bytes,
                ..
            } => {
                // One buffer of the kept chunks side by side (`bytes` is at most the cap,
                // below 4 GiB, so it fits a u32).
                let whole = js_sys::Uint8Array::new_with_length(bytes as u32);
                let mut offset = 0;
                for chunk in chunks.iter() {
                    let chunk: js_sys::Uint8Array = chunk.unchecked_into();
                    whole.set(&chunk, offset);
                    offset += chunk.length();
                }
                sha256(&subtle, &whole).await?
            }
        };
        Ok(Some(hex::encode(js_sys::Uint8Array::new(&digest).to_vec())))
    }
}

/// WebCrypto's SHA-256 of `bytes`: an `ArrayBuffer` holding the digest.
async fn sha256(
    subtle: &web_sys::SubtleCrypto,
    bytes: &js_sys::Object,
) -> Result<JsValue, JsValue> {
    let digest = subtle.digest_with_str_and_buffer_source("SHA-256", bytes)?;
    JsFuture::from(digest).await
}
