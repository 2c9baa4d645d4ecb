//! Helpers shared by the browser tests: stand-in kernel workers, mounting, waiting.
#![allow(dead_code)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, Element, HtmlElement, Url};

/// A stand-in kernel speaking the real JSON protocol. By the code it is asked to run:
/// `crash…` throws (as a trapped wasm instance does), `panic…` first posts a panic report,
/// `hang…` never answers, `fetch URL` asks for URL until it has a file, `deploy…` asks for a
/// deployment, `fail…` ends with a located error; anything else echoes the code and how
/// many files the worker holds.
pub const FAKE_KERNEL: &str = r#"
let files = 0;
setTimeout(() => postMessage(JSON.stringify("Ready")), 30);
onmessage = (event) => {
  const request = JSON.parse(event.data);
  if (request === "Reset") { files = 0; return; }
  if (request.ProvideFile) { files += 1; return; }
  const { cell_id, code } = request.Execute;
  postMessage(JSON.stringify({ Started: { cell_id } }));
  if (code.startsWith("hang")) return;
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
