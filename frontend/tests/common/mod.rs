//! Helpers shared by the browser tests: stand-in kernel workers, mounting, waiting.
#![allow(dead_code)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, Element, File, FilePropertyBag, HtmlElement, Url};

/// A stand-in kernel speaking the real JSON protocol. By the code it is asked to run:
/// `crash…` throws (as a trapped wasm instance does), `panic…` first posts a panic report,
/// `hang…` never answers, `fetch URL` asks for URL until it has a file, `deploy…` asks for a
/// deployment, `fail…` ends with a located error, `context` shows the `SetContext` it was
/// last sent (as JSON), `record…` records a run named after that context's session (a
/// second line of `record` records two); `progress N` reports N of N trees one by one
/// (also naming another cell once, which the bridge must ignore) before it finishes;
/// `spin` busy-waits (reading no messages, as a kernel inside a cell) until the page raises
/// the cell flag of the interrupt flags it handed over, then fails as `Cancelled`;
/// anything else echoes the code and how many files the worker holds.
///
/// Loads: a posted file is read in two halves, with a `LoadProgress` after each, and its
/// lines (split at commas, the first being the header) come back as a `str` table; a file
/// whose name contains `bad` fails with a located error, one containing `crash` kills the
/// worker. A URL containing `cors` reports the server route; a URL load's table is one
/// row naming the URL, the format and the options asked for.
pub const FAKE_KERNEL: &str = r#"
let files = 0;
let context = null;
let runs = 0;
let flags = null;
setTimeout(() => postMessage(JSON.stringify("Ready")), 30);
const table = (columns, rows) => ({ output_type: "display_data", data: {
  "text/plain": `${rows.length} rows`,
  "application/vnd.oxbook.table+json": {
    columns: columns.map((name) => ({ name, dtype: "str" })),
    rows: rows.slice(0, 50),
    total_rows: rows.length,
  },
}});
async function load(request, file) {
  const { load_id, variable, source, format, options } = request;
  const finished = (ok, outputs) =>
    postMessage(JSON.stringify({ LoadFinished: { load_id, variable, ok, outputs } }));
  if (source.File) {
    if (!file) return finished(false, [{ output_type: "error", ename: "LoadError", message: "no file" }]);
    if (source.File.name.includes("crash")) throw new Error("simulated crash while loading");
    const total = file.size;
    const half = Math.floor(total / 2);
    const first = await file.slice(0, half).text();
    postMessage(JSON.stringify({ LoadProgress: { load_id, bytes_done: half, bytes_total: total } }));
    const second = await file.slice(half).text();
    postMessage(JSON.stringify({ LoadProgress: { load_id, bytes_done: total, bytes_total: total } }));
    if (source.File.name.includes("bad")) {
      return finished(false, [{ output_type: "error", ename: "LoadError", message: "unterminated quote", line: 3, column: 7 }]);
    }
    const lines = (first + second).split("\n").filter((l) => l.length > 0);
    const columns = lines[0].split(",");
    const rows = lines.slice(1).map((l) => l.split(","));
    return finished(true, [table(columns, rows), { output_type: "display_data", data: { "text/plain": `${variable}: ${rows.length} rows, format ${format || "auto"}` } }]);
  }
  const url = source.Url.url;
  if (url.includes("cors")) {
    postMessage(JSON.stringify({ load_route: { load_id, route: "server", fetched: "/api/fetch?url=" + encodeURIComponent(url), note: "the browser could not (network error: Failed to fetch)" } }));
  } else {
    postMessage(JSON.stringify({ load_route: { load_id, route: "browser", fetched: url } }));
  }
  postMessage(JSON.stringify({ LoadProgress: { load_id, bytes_done: 10, bytes_total: null } }));
  finished(true, [table(["url", "format", "options"], [[url, format || "auto", JSON.stringify(options)]])]);
}
onmessage = (event) => {
  let text = event.data;
  let file = null;
  if (typeof text !== "string" && text.interrupt) { flags = text.interrupt; return; }
  if (typeof text !== "string") { file = text.file; text = text.msg; }
  const request = JSON.parse(text);
  if (request === "Reset") { files = 0; runs = 0; return; }
  if (request.SetContext) { context = request.SetContext; return; }
  if (request.ProvideFile) { files += 1; return; }
  if (request.Load) {
    load(request.Load, file).catch((e) => setTimeout(() => { throw e; }));
    return;
  }
  const { cell_id, code } = request.Execute;
  postMessage(JSON.stringify({ Started: { cell_id } }));
  if (code.startsWith("hang")) return;
  if (code.startsWith("spin")) {
    while (!(flags && Atomics.load(flags, 0) !== 0)) {}
    const outputs = [{ output_type: "error", ename: "Cancelled", message: "the cell was cancelled" }];
    postMessage(JSON.stringify({ Finished: { cell_id, status: "failed", outputs, effects: [] } }));
    return;
  }
  if (code.startsWith("progress ")) {
    const total = Number(code.slice(9));
    postMessage(JSON.stringify({ Progress: { cell_id: "someone-else", done: 99, total: 99, unit: "rounds" } }));
    for (let done = 1; done <= total; done++) {
      postMessage(JSON.stringify({ Progress: { cell_id, done, total, unit: "trees" } }));
    }
  }
  if (code.startsWith("crash")) throw new Error("simulated kernel crash");
  if (code.startsWith("panic")) {
    postMessage(JSON.stringify({ kernel_panicked: "simulated panic at kernel/src/session.rs:1:1" }));
    throw new Error("RuntimeError: unreachable");
  }
  let status = "done";
  let effects = [];
  let outputs = [{ output_type: "display_data", data: { "text/plain": `echo: ${code} files=${files}` } }];
  if (code.startsWith("fetch ") && files === 0) {
    status = "waiting";
    outputs = [];
    effects = [{ FetchFile: { url: code.slice(6) } }];
  }
  if (code.startsWith("deploy")) {
    effects = [{ Deploy: { endpoint: "iris", model_name: "iris", artifact: "{}" } }];
  }
  if (code === "context") {
    outputs = [{ output_type: "display_data", data: { "text/plain": JSON.stringify(context) } }];
  }
  if (code.startsWith("record")) {
    const session = context ? context.session_id : "no-context";
    effects = code.split("\n").map(() => {
      runs += 1;
      return { RecordRun: { run: {
        id: `${session}.${runs}`, kind: "fit", algorithm: "knn", settings: { k: 3 },
        target: "y", features: ["x"], rows: 4, metrics: { train_accuracy: 0.75 }, duration_ms: 1.5,
      } } };
    });
  }
  if (code.startsWith("fail")) {
    status = "failed";
    outputs = [{ output_type: "error", ename: "RuntimeError", message: "boom", line: 2, column: 5 }];
  }
  postMessage(JSON.stringify({ Finished: { cell_id, status, outputs, effects } }));
};
"#;

/// A worker whose script fails before it could ever become ready.
pub const BROKEN_KERNEL: &str = r#"throw new Error("broken worker script");"#;

/// A same-origin URL serving `script` as a classic worker script.
pub fn worker_url(script: &str) -> String {
    let parts = js_sys::Array::of1(&script.into());
    let options = BlobPropertyBag::new();
    options.set_type("application/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options).expect("blob");
    Url::create_object_url_with_blob(&blob).expect("blob url")
}

/// Polls `condition` every 20 ms for up to 5 s.
pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..250 {
        if condition() {
            return;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("timed out waiting for {what}");
}

/// A fresh, attached element to mount a view into.
pub fn container() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

pub fn query(root: &Element, selector: &str) -> Option<Element> {
    root.query_selector(selector).expect("valid selector")
}

pub fn query_all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).expect("valid selector");
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

pub fn text(root: &Element, selector: &str) -> String {
    query(root, selector)
        .unwrap_or_else(|| panic!("no element matches {selector}"))
        .text_content()
        .unwrap_or_default()
}

pub fn attr(root: &Element, selector: &str, name: &str) -> String {
    query(root, selector)
        .unwrap_or_else(|| panic!("no element matches {selector}"))
        .get_attribute(name)
        .unwrap_or_default()
}

/// A `File` named `name` holding `text`.
pub fn text_file(name: &str, text: &str) -> File {
    let parts = js_sys::Array::of1(&text.into());
    let options = FilePropertyBag::new();
    options.set_type("text/csv");
    File::new_with_str_sequence_and_options(&parts, name, &options).expect("file")
}

pub fn click(root: &Element, selector: &str) {
    query(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into::<HtmlElement>()
        .click();
}
