//! What crosses the worker boundary besides `oxbook_protocol`'s JSON: the envelope that
//! carries a browser `File` beside a request, and what the worker says besides
//! `KernelEvent`. Private to this crate's two binaries, so it stays out of the shared
//! protocol.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

/// Posted by the worker's panic hook just before the panic aborts the wasm instance, so
/// that the page can say *why* the kernel died (the `error` event that follows only says
/// "unreachable").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicReport {
    pub kernel_panicked: String,
}

/// Which way the worker got a URL's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FetchRoute {
    /// The browser's own `fetch` of the URL.
    Browser,
    /// The server's `/api/fetch?url=`, after the browser's fetch failed (CORS, mostly).
    Server,
}

impl FetchRoute {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchRoute::Browser => "browser",
            FetchRoute::Server => "server",
        }
    }
}

/// Sent by the worker once a URL load has a response: which way the bytes come, so the
/// page can say so while they stream. `note` says why the server was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadRoute {
    pub load_id: String,
    pub route: FetchRoute,
    /// The URL actually fetched (the server's `/api/fetch?...` for [`FetchRoute::Server`]).
    pub fetched: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadRouteReport {
    pub load_route: LoadRoute,
}

/// A message from the worker, as the page reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerMessage {
    Event(oxbook_protocol::KernelEvent),
    Panicked(String),
    Route(LoadRoute),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the kernel sent a message the page does not understand ({reason}): {text}")]
pub struct UnknownMessage {
    pub reason: String,
    pub text: String,
}

impl WorkerMessage {
    pub fn parse(text: &str) -> Result<WorkerMessage, UnknownMessage> {
        match serde_json::from_str::<oxbook_protocol::KernelEvent>(text) {
            Ok(event) => Ok(WorkerMessage::Event(event)),
            Err(event_error) => {
                if let Ok(report) = serde_json::from_str::<PanicReport>(text) {
                    Ok(WorkerMessage::Panicked(report.kernel_panicked))
                } else if let Ok(report) = serde_json::from_str::<LoadRouteReport>(text) {
                    Ok(WorkerMessage::Route(report.load_route))
                } else {
                    Err(UnknownMessage {
                        reason: event_error.to_string(),
                        text: text.chars().take(200).collect(),
                    })
                }
            }
        }
    }
}

/// The key of the request's JSON text in an [`envelope`].
const ENVELOPE_MESSAGE: &str = "msg";
/// The key of the posted `File` (or any `Blob`) in an [`envelope`].
const ENVELOPE_FILE: &str = "file";

/// What the page posts to the worker: the request's JSON text alone, or, for a file load,
/// `{ msg: "<json>", file: File }` — the `File` goes by structured clone, which hands the
/// worker a reference to the file on disk rather than its bytes, so a large file is read in
/// the worker, chunk by chunk, and never copied whole through the page.
pub fn envelope(text: &str, file: Option<&web_sys::Blob>) -> JsValue {
    let Some(file) = file else {
        return JsValue::from_str(text);
    };
    let object = js_sys::Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(&object, &ENVELOPE_MESSAGE.into(), &JsValue::from_str(text));
    let _ = js_sys::Reflect::set(&object, &ENVELOPE_FILE.into(), file);
    object.into()
}

/// The request text and the file, if any, of what [`envelope`] made; `None` for anything
/// else.
pub fn open_envelope(data: &JsValue) -> Option<(String, Option<web_sys::Blob>)> {
    if let Some(text) = data.as_string() {
        return Some((text, None));
    }
    if !data.is_object() {
        return None;
    }
    let text = js_sys::Reflect::get(data, &ENVELOPE_MESSAGE.into())
        .ok()?
        .as_string()?;
    let file = js_sys::Reflect::get(data, &ENVELOPE_FILE.into())
        .ok()
        .and_then(|f| f.dyn_into::<web_sys::Blob>().ok());
    Some((text, file))
}

/// The key of the interrupt flags in the message that hands them to the worker.
const ENVELOPE_INTERRUPT: &str = "interrupt";

/// What the page can stop in the worker, one flag (an `Int32Array` slot) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// The running cell (a long fit, an endless loop): the kernel's interrupt reads it.
    Cell = 0,
    /// Loads in flight: the worker reads it between chunks.
    Load = 1,
}

/// How many flags there are.
const INTERRUPT_SLOTS: u32 = 2;

/// Flags the page raises and the worker reads while busy — a cell runs synchronously in
/// the worker, so no message could reach it until the cell ended. They live in a
/// `SharedArrayBuffer`, which the browser offers only to cross-origin isolated pages (the
/// server sends COOP and COEP for that); read and written with `Atomics`.
#[derive(Debug, Clone)]
pub struct InterruptFlags {
    flags: js_sys::Int32Array,
}

impl InterruptFlags {
    /// New, lowered flags; `None` when this context has no `SharedArrayBuffer` (a page that
    /// is not cross-origin isolated).
    pub fn new() -> Option<InterruptFlags> {
        if !cross_origin_isolated() {
            return None;
        }
        // Present when isolated; checked rather than trusted, since constructing a missing
        // class would throw in the middle of wasm.
        let global = js_sys::global();
        let class = js_sys::Reflect::get(&global, &"SharedArrayBuffer".into()).ok()?;
        if !class.is_function() {
            return None;
        }
        let buffer = js_sys::SharedArrayBuffer::new(INTERRUPT_SLOTS * 4);
        Some(InterruptFlags {
            flags: js_sys::Int32Array::new(&buffer),
        })
    }

    pub fn raise(&self, which: Interrupt) {
        let _ = js_sys::Atomics::store(&self.flags, which as u32, 1);
    }

    pub fn lower(&self, which: Interrupt) {
        let _ = js_sys::Atomics::store(&self.flags, which as u32, 0);
    }

    pub fn is_raised(&self, which: Interrupt) -> bool {
        js_sys::Atomics::load(&self.flags, which as u32).is_ok_and(|v| v != 0)
    }

    /// The message that hands the flags to the worker: `{ interrupt: Int32Array }`. Posting
    /// it shares the memory (a `SharedArrayBuffer` is never copied).
    pub fn envelope(&self) -> JsValue {
        let object = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&object, &ENVELOPE_INTERRUPT.into(), &self.flags);
        object.into()
    }

    /// The flags a message made by [`InterruptFlags::envelope`] carries; `None` for any
    /// other message.
    pub fn open(data: &JsValue) -> Option<InterruptFlags> {
        if !data.is_object() {
            return None;
        }
        let flags = js_sys::Reflect::get(data, &ENVELOPE_INTERRUPT.into()).ok()?;
        let flags = flags.dyn_into::<js_sys::Int32Array>().ok()?;
        (flags.length() >= INTERRUPT_SLOTS).then_some(InterruptFlags { flags })
    }
}

/// Whether this page or worker is cross-origin isolated (`crossOriginIsolated`), which
/// `SharedArrayBuffer` needs.
pub fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
