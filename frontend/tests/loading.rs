//! The worker's side of loading, through the same functions the worker calls: a file of
//! several megabytes pumped in chunks into the real kernel loader, a URL streamed from the
//! browser's fetch, the fallback through the server decided with a stand-in fetch, and the
//! small rules (progress throttling, format guessing, URL resolution, the file envelope).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use oxbook_frontend::loading::{
    browser_fetch, fetch_with_fallback, guess_format, is_same_origin, open_source, open_url, pump,
    resolve_url, retry_through_server, server_fetch_url, ByteSource, FetchFailure, FetchRoute,
    Hashing, ProgressThrottle, SourceError, UrlError,
};
use oxbook_frontend::worker_wire::{envelope, open_envelope};
use oxbook_kernel::load::{Format, LoadOptions, Loader};
use oxbook_kernel::Frame;
use oxbook_protocol::LoadSource;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Blob, File, Url};

wasm_bindgen_test_configure!(run_in_browser);

const MIB: usize = 1024 * 1024;

fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

/// `rows` rows of a hat-purchase CSV (about 23 bytes a row), with a null price every 7th.
fn hats_csv(rows: usize) -> Vec<u8> {
    let colours = ["red", "green", "blue", "black"];
    let mut text = String::from("id,price,colour,returned\n");
    for i in 0..rows {
        let price = if i % 7 == 3 {
            String::new()
        } else {
            format!("{}.{:02}", 10 + i % 90, i % 100)
        };
        let returned = i % 5 == 0;
        text.push_str(&format!("{i},{price},{},{returned}\n", colours[i % 4]));
    }
    text.into_bytes()
}

fn file_of(bytes: &[u8], name: &str) -> File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    File::new_with_u8_array_sequence(&parts, name).unwrap()
}

fn dtypes(frame: &Frame) -> Vec<(String, String)> {
    frame
        .columns()
        .map(|c| (c.name.clone(), c.data.dtype().name().to_string()))
        .collect()
}

/// Pumps `opened` into a CSV loader; the frame and every progress report.
async fn pump_csv(
    source: LoadSource,
    file: Option<Blob>,
    chunk: usize,
) -> (Frame, Vec<(u64, Option<u64>)>, u64) {
    let opened = open_source(&source, file, &origin()).await.expect("opened");
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    let mut progress = Vec::new();
    let read = pump(
        opened.bytes,
        opened.total,
        chunk,
        |bytes| loader.push(bytes).map_err(|e| e.to_string()),
        |done, total| progress.push((done, total)),
        &|| false,
    )
    .await
    .expect("pumped");
    let loaded = loader.finish().expect("a frame");
    (loaded.frame, progress, read)
}

#[wasm_bindgen_test]
async fn a_file_of_megabytes_streams_in_chunks_into_the_kernel_loader() {
    let bytes = hats_csv(250_000);
    let size = bytes.len() as u64;
    assert!(size > 5_000_000, "a file of several MB: {size}");
    let file = file_of(&bytes, "hats.csv");
    let source = LoadSource::File {
        name: "hats.csv".into(),
        size,
    };
    let (frame, progress, read) = pump_csv(source.clone(), Some(file.clone().into()), MIB).await;
    assert_eq!(read, size);
    assert_eq!(frame.row_count(), 250_000);
    assert_eq!(
        dtypes(&frame),
        [
            ("id".to_string(), "int".to_string()),
            ("price".to_string(), "float".to_string()),
            ("colour".to_string(), "str".to_string()),
            ("returned".to_string(), "bool".to_string()),
        ]
    );
    assert!(frame.column("price").unwrap().data.is_null(3));
    // One report per 1 MiB chunk, increasing to the total, which is known throughout.
    assert_eq!(progress.len() as u64, size.div_ceil(MIB as u64));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "{progress:?}");
    assert!(progress.iter().all(|&(_, total)| total == Some(size)));
    assert_eq!(progress.first().unwrap().0, MIB as u64);
    assert_eq!(progress.last().unwrap().0, size);

    // Chunk boundaries anywhere (inside rows, inside numbers) give the same frame.
    let (odd, odd_progress, _) = pump_csv(source, Some(file.into()), 65_521).await;
    assert_eq!(odd, frame);
    assert_eq!(odd_progress.len() as u64, size.div_ceil(65_521));
}

#[wasm_bindgen_test]
async fn a_url_streams_from_the_browsers_fetch() {
    let bytes = hats_csv(20_000);
    let blob: Blob = file_of(&bytes, "hats.csv").into();
    let url = Url::create_object_url_with_blob(&blob).unwrap();
    let opened = open_url(&url, &origin(), browser_fetch)
        .await
        .expect("fetched");
    let route = opened
        .route
        .as_ref()
        .expect("a URL says how it was fetched");
    assert_eq!(route.route, FetchRoute::Browser);
    assert_eq!(route.note, None);
    assert_eq!(opened.total, Some(bytes.len() as u64));
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    let mut progress = Vec::new();
    let read = pump(
        opened.bytes,
        opened.total,
        usize::MAX,
        |chunk| loader.push(chunk).map_err(|e| e.to_string()),
        |done, total| progress.push((done, total)),
        &|| false,
    )
    .await
    .unwrap();
    assert_eq!(read, bytes.len() as u64);
    assert_eq!(progress.last(), Some(&(read, Some(read))));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(loader.finish().unwrap().frame.row_count(), 20_000);
}

#[wasm_bindgen_test]
async fn cancel_stops_a_stream_that_has_stalled() {
    // A response that sends its first bytes and then nothing more, never ending.
    let source = js_sys::Object::new();
    let start = js_sys::Function::new_with_args(
        "controller",
        "controller.enqueue(new TextEncoder().encode('a,b\\n1,2\\n'));",
    );
    let cancel = js_sys::Function::new_no_args("globalThis.stalledStreamCancelled = true;");
    js_sys::Reflect::set(&source, &"start".into(), &start).unwrap();
    js_sys::Reflect::set(&source, &"cancel".into(), &cancel).unwrap();
    let stream = web_sys::ReadableStream::new_with_underlying_source(&source).unwrap();

    // Cancel is pressed 300 ms after the first bytes arrived, while the read waits.
    let first_bytes_at = std::cell::Cell::new(None::<f64>);
    let cancelled = || {
        first_bytes_at
            .get()
            .is_some_and(|at| js_sys::Date::now() - at > 300.0)
    };
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    let started = js_sys::Date::now();
    let result = pump(
        ByteSource::Stream(stream),
        None,
        MIB,
        |chunk| {
            first_bytes_at.set(Some(js_sys::Date::now()));
            loader.push(chunk).map_err(|e| e.to_string())
        },
        |_, _| {},
        &cancelled,
    )
    .await;
    match result {
        Err(SourceError::Cancelled { done }) => assert_eq!(done, 8),
        other => panic!("expected the load cancelled, got {other:?}"),
    }
    let waited = js_sys::Date::now() - started;
    assert!(waited < 3000.0, "cancelled after {waited} ms");
    // The stream was told to stop sending.
    let told = js_sys::Reflect::get(&js_sys::global(), &"stalledStreamCancelled".into()).unwrap();
    assert_eq!(told.as_bool(), Some(true));
}

/// A response body that brings `bytes` in chunks of `chunk` bytes.
fn stream_in_chunks(bytes: &[u8], chunk: u32) -> web_sys::ReadableStream {
    let make = js_sys::Function::new_with_args(
        "bytes, chunk",
        "return new ReadableStream({ start(c) { \
           for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.slice(i, i + chunk)); \
           c.close(); } });",
    );
    make.call2(
        &JsValue::NULL,
        &js_sys::Uint8Array::from(bytes),
        &JsValue::from(chunk),
    )
    .unwrap()
    .unchecked_into()
}

/// The sha256 that names a load's data, by each way the worker can take: WebCrypto's
/// digest of a file, of a response's kept chunks, and (a response of unknown length that
/// outgrows what may be kept) the kept chunks hashed in wasm, then the rest as it comes.
#[wasm_bindgen_test]
async fn every_way_of_hashing_a_load_gives_the_bytes_sha256() {
    use sha2::Digest;
    let bytes = hats_csv(15_000);
    assert!(bytes.len() > 300_000, "{}", bytes.len());
    let expected = hex::encode(sha2::Sha256::digest(&bytes));
    let subtle = || Some(web_sys::window().unwrap().crypto().unwrap().subtle());
    let blob: Blob = file_of(&bytes, "hats.csv").into();
    let total = Some(bytes.len() as u64);

    let file = Hashing::start(subtle(), &ByteSource::Blob(blob.clone()), total, u64::MAX);
    assert!(matches!(file, Hashing::File(_)));
    assert_eq!(file.finish().await.unwrap(), Some(expected.clone()));

    // A response, of unknown length: kept for WebCrypto, or past a cap of 100 kB (the worker's
    // is 1 GiB) hashed in wasm from there on.
    for (cap, streams) in [(u64::MAX, false), (100_000, true)] {
        let stream = ByteSource::Stream(stream_in_chunks(&bytes, 65_536));
        let mut hashing = Hashing::start(subtle(), &stream, None, cap);
        let mut chunks = 0;
        pump(
            stream,
            None,
            MIB,
            |chunk| {
                chunks += 1;
                hashing.keep(chunk);
                Ok(())
            },
            |_, _| {},
            &|| false,
        )
        .await
        .unwrap();
        assert!(chunks > 1, "the response came in {chunks} chunks");
        assert_eq!(
            matches!(hashing, Hashing::Streaming(_)),
            streams,
            "cap {cap}"
        );
        assert_eq!(
            hashing.finish().await.unwrap(),
            Some(expected.clone()),
            "cap {cap}"
        );
    }

    // A source known to be above the cap, or no WebCrypto: the kernel's loader hashes.
    let known_large = Hashing::start(subtle(), &ByteSource::Blob(blob.clone()), total, 1000);
    assert!(matches!(known_large, Hashing::Kernel));
    let insecure = Hashing::start(None, &ByteSource::Blob(blob), total, u64::MAX);
    assert_eq!(insecure.finish().await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn the_loaders_error_stops_the_pump_where_it_happened() {
    let mut bytes = hats_csv(10);
    bytes.extend_from_slice(b"10,1.5,red,true,extra\n");
    bytes.extend_from_slice(&hats_csv(100_000)[25..]);
    let file = file_of(&bytes, "ragged.csv");
    let opened = open_source(
        &LoadSource::File {
            name: "ragged.csv".into(),
            size: bytes.len() as u64,
        },
        Some(file.into()),
        &origin(),
    )
    .await
    .unwrap();
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    let mut pushes = 0;
    let error = pump(
        opened.bytes,
        opened.total,
        64 * 1024,
        |chunk| {
            pushes += 1;
            loader.push(chunk).map_err(|e| e.to_string())
        },
        |_, _| {},
        &|| false,
    )
    .await
    .expect_err("a ragged row");
    match error {
        SourceError::Rejected { done, message } => {
            assert_eq!(done, 0, "refused in the first chunk");
            assert!(message.contains("line 12"), "{message}");
        }
        other => panic!("expected the loader's refusal, got {other:?}"),
    }
    assert_eq!(pushes, 1, "nothing is read after the refusal");
}

#[wasm_bindgen_test]
async fn a_load_without_its_file_and_a_bad_url_are_refused() {
    let missing = open_source(
        &LoadSource::File {
            name: "x.csv".into(),
            size: 3,
        },
        None,
        &origin(),
    )
    .await;
    assert!(matches!(missing, Err(SourceError::MissingFile { name }) if name == "x.csv"));
    let bad = open_source(
        &LoadSource::Url {
            url: "javascript:alert(1)".into(),
        },
        None,
        &origin(),
    )
    .await;
    assert!(
        matches!(bad, Err(SourceError::BadUrl { .. })),
        "{:?}",
        bad.err()
    );
}

type Answer = Result<&'static str, FetchFailure>;
/// The URLs a stand-in fetch was asked for, in order.
type Asked = Rc<RefCell<Vec<String>>>;

/// A stand-in `fetch` answering from `answers` in order and recording each URL asked.
fn fake_fetch(answers: Vec<Answer>) -> (impl FnMut(String) -> std::future::Ready<Answer>, Asked) {
    let asked = Rc::new(RefCell::new(Vec::new()));
    let record = asked.clone();
    let mut answers = answers.into_iter();
    let fetch = move |url: String| {
        record.borrow_mut().push(url);
        std::future::ready(answers.next().expect("no more answers"))
    };
    (fetch, asked)
}

const ORIGIN: &str = "http://127.0.0.1:8080";

#[wasm_bindgen_test]
async fn a_browser_fetch_that_works_is_used_as_is() {
    let (fetch, asked) = fake_fetch(vec![Ok("direct")]);
    let fetched = fetch_with_fallback("https://data.example/a.csv", ORIGIN, fetch)
        .await
        .unwrap();
    assert_eq!(fetched.response, "direct");
    assert_eq!(fetched.route, FetchRoute::Browser);
    assert_eq!(*asked.borrow(), ["https://data.example/a.csv"]);
}

#[wasm_bindgen_test]
async fn a_network_failure_elsewhere_retries_through_the_server() {
    let (fetch, asked) = fake_fetch(vec![
        Err(FetchFailure::Network("Failed to fetch".into())),
        Ok("proxied"),
    ]);
    let url = "https://data.example/a b.csv?x=1&y=2";
    let fetched = fetch_with_fallback(url, ORIGIN, fetch).await.unwrap();
    assert_eq!(fetched.response, "proxied");
    assert_eq!(fetched.route, FetchRoute::Server);
    let expected = "http://127.0.0.1:8080/api/fetch?url=https%3A%2F%2Fdata.example%2Fa%20b.csv%3Fx%3D1%26y%3D2";
    assert_eq!(*asked.borrow(), [url, expected]);
    assert_eq!(fetched.fetched, expected);
    assert!(fetched.note.unwrap().contains("Failed to fetch"));
}

#[wasm_bindgen_test]
async fn answers_and_same_origin_failures_are_not_retried() {
    // A 404 is the remote server's word.
    let (fetch, asked) = fake_fetch(vec![Err(FetchFailure::Status {
        status: 404,
        message: "Not Found".into(),
    })]);
    let error = fetch_with_fallback("https://data.example/a.csv", ORIGIN, fetch)
        .await
        .unwrap_err();
    assert!(matches!(
        &error,
        UrlError::Browser {
            failure: FetchFailure::Status { status: 404, .. },
            ..
        }
    ));
    assert!(error.to_string().contains("HTTP 404"), "{error}");
    assert_eq!(asked.borrow().len(), 1);
    // The server cannot fetch itself.
    let (fetch, asked) = fake_fetch(vec![Err(FetchFailure::Network("down".into()))]);
    let same = format!("{ORIGIN}/static/demo/hats.csv");
    assert!(fetch_with_fallback(&same, ORIGIN, fetch).await.is_err());
    assert_eq!(asked.borrow().len(), 1);
}

#[wasm_bindgen_test]
async fn when_both_ways_fail_both_reasons_are_given() {
    let (fetch, _) = fake_fetch(vec![
        Err(FetchFailure::Network("Failed to fetch".into())),
        Err(FetchFailure::Status {
            status: 403,
            message: "refused: 10.0.0.1 is a private address".into(),
        }),
    ]);
    let error = fetch_with_fallback("http://intranet.example/x.csv", ORIGIN, fetch)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, UrlError::BothFailed { .. }));
    assert!(
        text.contains("Failed to fetch") && text.contains("private address"),
        "{text}"
    );
}

#[wasm_bindgen_test]
fn fallback_rules() {
    let network = FetchFailure::Network("x".into());
    assert!(retry_through_server(
        "https://a.example/x",
        ORIGIN,
        &network
    ));
    assert!(!retry_through_server(
        "blob:http://127.0.0.1:8080/1",
        ORIGIN,
        &network
    ));
    assert!(!retry_through_server(
        &format!("{ORIGIN}/x"),
        ORIGIN,
        &network
    ));
    assert!(is_same_origin(ORIGIN, ORIGIN));
    assert!(is_same_origin(&format!("{ORIGIN}?a"), ORIGIN));
    assert!(!is_same_origin("http://127.0.0.1:80800/x", ORIGIN));
    assert_eq!(
        server_fetch_url(ORIGIN, "https://x/?a=1"),
        "http://127.0.0.1:8080/api/fetch?url=https%3A%2F%2Fx%2F%3Fa%3D1"
    );
}

#[wasm_bindgen_test]
fn urls_resolve_against_the_origin() {
    assert_eq!(
        resolve_url("static/demo/hats.csv", ORIGIN).unwrap(),
        "http://127.0.0.1:8080/static/demo/hats.csv"
    );
    assert_eq!(
        resolve_url("/api/datasets/a.csv/data", ORIGIN).unwrap(),
        "http://127.0.0.1:8080/api/datasets/a.csv/data"
    );
    assert_eq!(
        resolve_url(" https://x.example/a.csv ", ORIGIN).unwrap(),
        "https://x.example/a.csv"
    );
    assert!(resolve_url("", ORIGIN).is_err());
    assert!(resolve_url("file:///etc/passwd", ORIGIN).is_err());
}

#[wasm_bindgen_test]
fn formats_are_guessed_from_names_then_content_types() {
    assert_eq!(guess_format("data/Sales.TSV?v=2", None), Some("tsv"));
    assert_eq!(guess_format("https://x/e.ndjson#top", None), Some("jsonl"));
    assert_eq!(guess_format("x.parquet", Some("text/csv")), Some("parquet"));
    assert_eq!(
        guess_format("/api/datasets/x/data", Some("text/csv; charset=utf-8")),
        Some("csv")
    );
    assert_eq!(
        guess_format("/download", Some("application/x-ndjson")),
        Some("jsonl")
    );
    assert_eq!(
        guess_format("/download", Some("application/octet-stream")),
        None
    );
}

#[wasm_bindgen_test]
fn progress_is_throttled_but_the_end_always_reported() {
    let mut throttle = ProgressThrottle::new(100.0);
    assert!(throttle.ready(10, Some(100), 0.0), "the first report");
    assert!(!throttle.ready(20, Some(100), 50.0));
    assert!(throttle.ready(30, Some(100), 100.0));
    assert!(!throttle.ready(40, None, 150.0));
    assert!(throttle.ready(100, Some(100), 160.0), "the end");
}

#[wasm_bindgen_test]
fn a_file_travels_beside_its_request() {
    let file = file_of(b"a,b\n1,2\n", "x.csv");
    let message = envelope("{\"Load\":{}}", Some(&file));
    let (text, blob) = open_envelope(&message).expect("an envelope");
    assert_eq!(text, "{\"Load\":{}}");
    assert_eq!(blob.expect("the file").size(), 8.0);
    let (text, blob) = open_envelope(&envelope("\"Reset\"", None)).unwrap();
    assert_eq!((text.as_str(), blob.is_none()), ("\"Reset\"", true));
    assert!(open_envelope(&wasm_bindgen::JsValue::from_f64(1.0)).is_none());
}
