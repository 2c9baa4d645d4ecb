//! The kernel's Web Worker: hosts one `oxbook_kernel::Session` and answers the page's
//! JSON-encoded `KernelRequest`s with JSON-encoded `KernelEvent`s. Loaded by trunk's
//! no-modules loader shim (`kernel-worker_loader.js`).
//!
//! Cells run synchronously, one message at a time. A load (`KernelRequest::Load`) runs as
//! a task instead: it streams its file or URL chunk by chunk into the kernel's push parser
//! (see `oxbook_frontend::loading`), so between two chunks the worker answers other
//! messages, and the page hears progress. Only the finished frame touches the session.
//!
//! Progress and cancelling: long fits report `KernelEvent::Progress` (throttled), and the
//! page stops a running cell or load by raising a flag in a `SharedArrayBuffer` it handed
//! over at start ([`InterruptFlags`]): the kernel's interrupt reads the cell flag while
//! the cell runs, the load reads the load flag between chunks.

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("kernel-worker runs inside a browser's Web Worker: build it for wasm32-unknown-unknown (trunk build)");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::RefCell;
    use std::rc::Rc;

    use oxbook_frontend::loading::{
        js_text, open_source, pump, Hashing, ProgressThrottle, SourceError, CHUNK_BYTES,
        DIGEST_CAP_BYTES, PROGRESS_INTERVAL_MS,
    };
    use oxbook_frontend::worker_wire::{
        open_envelope, Interrupt, InterruptFlags, LoadRoute, LoadRouteReport, PanicReport,
    };
    use oxbook_kernel::load::{Format, LoadError, LoadOptions, Loaded, Loader};
    use oxbook_kernel::Session;
    use oxbook_protocol::{
        CellError, DatasetRef, KernelEvent, KernelRequest, LoadRequest, Output, CANCELLED,
    };
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent, SubtleCrypto};

    /// The page's interrupt flags, once it sent them (never, when it is not cross-origin
    /// isolated: then nothing can be cancelled but by ending the worker).
    type Flags = Rc<RefCell<Option<InterruptFlags>>>;

    fn raised(flags: &Flags, which: Interrupt) -> bool {
        flags
            .borrow()
            .as_ref()
            .is_some_and(|flags| flags.is_raised(which))
    }

    /// The running cell, as the progress callback names it, and its progress throttle
    /// (a fresh one per cell).
    struct Running {
        cell_id: String,
        throttle: ProgressThrottle,
    }

    impl Running {
        fn new(cell_id: String) -> Self {
            Running {
                cell_id,
                throttle: ProgressThrottle::new(PROGRESS_INTERVAL_MS),
            }
        }
    }

    pub fn run() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        install_panic_report(scope.clone());

        let flags: Flags = Rc::new(RefCell::new(None));
        let running = Rc::new(RefCell::new(Running::new(String::new())));
        let mut kernel = Session::new();
        kernel.set_clock(clock(&scope));
        kernel.set_interrupt({
            let flags = flags.clone();
            move || raised(&flags, Interrupt::Cell)
        });
        kernel.set_progress({
            let (running, scope) = (running.clone(), scope.clone());
            move |progress| {
                let mut running = running.borrow_mut();
                let Running { cell_id, throttle } = &mut *running;
                let (done, total) = (progress.done as u64, progress.total as u64);
                // At most one every PROGRESS_INTERVAL_MS (plus each fit's last), so a fast
                // fit does not flood the page.
                if throttle.ready(done, Some(total), js_sys::Date::now()) {
                    post(
                        &scope,
                        &KernelEvent::Progress {
                            cell_id: cell_id.clone(),
                            done,
                            total,
                            unit: progress.unit.to_string(),
                        },
                    );
                }
            }
        });
        let session = Rc::new(RefCell::new(kernel));
        let reply_to = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(handed) = InterruptFlags::open(&event.data()) {
                *flags.borrow_mut() = Some(handed);
                return;
            }
            let Some((text, file)) = open_envelope(&event.data()) else {
                web_sys::console::warn_1(&"kernel worker: ignored an unknown message".into());
                return;
            };
            let request = match serde_json::from_str::<KernelRequest>(&text) {
                Ok(request) => request,
                Err(e) => {
                    web_sys::console::error_1(
                        &format!("kernel worker: unreadable request: {e}").into(),
                    );
                    return;
                }
            };
            match request {
                KernelRequest::Execute { cell_id, code } => {
                    post(
                        &reply_to,
                        &KernelEvent::Started {
                            cell_id: cell_id.clone(),
                        },
                    );
                    *running.borrow_mut() = Running::new(cell_id.clone());
                    let run = session.borrow_mut().execute(&cell_id, &code);
                    post(&reply_to, &KernelEvent::Finished(run));
                }
                KernelRequest::Reset => session.borrow_mut().reset(),
                KernelRequest::SetContext(context) => session.borrow_mut().set_context(context),
                KernelRequest::ProvideFile { url, bytes } => {
                    session.borrow_mut().provide_file(&url, bytes)
                }
                KernelRequest::Load(request) => {
                    let (session, scope) = (session.clone(), reply_to.clone());
                    let flags = flags.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let load_id = request.load_id.clone();
                        let variable = request.variable.clone();
                        // Only the finished frame touches the session (cells run between
                        // the chunks of a load).
                        let cancelled = move || raised(&flags, Interrupt::Load);
                        let (ok, outputs) = match stream(&request, file, &scope, cancelled).await {
                            Ok(loaded) => session.borrow_mut().finish_load(&variable, Ok(loaded)),
                            Err(Failure::Load(error)) => {
                                session.borrow_mut().finish_load(&variable, Err(error))
                            }
                            Err(Failure::Source(error)) => (false, vec![source_error(&error)]),
                        };
                        post(
                            &scope,
                            &KernelEvent::LoadFinished {
                                load_id,
                                variable,
                                ok,
                                outputs,
                            },
                        );
                    });
                }
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The handler lives as long as the worker.
        on_message.forget();
        post(&scope, &KernelEvent::Ready);
    }

    /// The worker's clock in milliseconds since the Unix epoch: the time origin plus the
    /// monotonic `performance.now()`, finer than `Date.now()`'s whole milliseconds, so fast
    /// fits still get a duration.
    fn clock(scope: &DedicatedWorkerGlobalScope) -> impl Fn() -> f64 + 'static {
        let performance = scope.performance();
        move || match &performance {
            Some(performance) => performance.time_origin() + performance.now(),
            None => js_sys::Date::now(),
        }
    }

    /// Why a load produced no frame: the bytes could not be had, or the loader refused them.
    enum Failure {
        Source(SourceError),
        Load(LoadError),
    }

    impl From<LoadError> for Failure {
        fn from(error: LoadError) -> Self {
            Failure::Load(error)
        }
    }

    impl From<SourceError> for Failure {
        fn from(error: SourceError) -> Self {
            Failure::Source(error)
        }
    }

    /// A source that could not be read, shown as a failed load.
    fn source_error(error: &SourceError) -> Output {
        let ename = match error {
            SourceError::Cancelled { .. } => CANCELLED,
            _ => "LoadError",
        };
        Output::Error(CellError {
            ename: ename.into(),
            message: error.to_string(),
            line: None,
            column: None,
        })
    }

    /// Streams the request's source into a loader, posting progress; the loaded frame.
    async fn stream(
        request: &LoadRequest,
        file: Option<Blob>,
        scope: &DedicatedWorkerGlobalScope,
        cancelled: impl Fn() -> bool,
    ) -> Result<Loaded, Failure> {
        // Refuse a bad name before reading a byte of a large file (the session checks
        // again when binding, keywords included).
        if !is_variable_name(&request.variable) {
            return Err(LoadError::BadVariable(request.variable.clone()).into());
        }
        let origin = scope.location().origin();
        let opened = open_source(&request.source, file, &origin).await?;
        if cancelled() {
            return Err(SourceError::Cancelled { done: 0 }.into());
        }
        if let Some(fetched) = &opened.route {
            post_text(
                scope,
                &LoadRouteReport {
                    load_route: LoadRoute {
                        load_id: request.load_id.clone(),
                        route: fetched.route,
                        fetched: fetched.fetched.clone(),
                        note: fetched.note.clone(),
                    },
                },
            );
        }
        let format = opened.format(request.format.as_deref());
        let format = Format::resolve(format.as_deref(), &opened.name)?;
        let options = LoadOptions::from_json(&request.options)?;
        let mut loader = Loader::new(format, options)?;
        // The frame names its data by the request's file name or URL (as the kernel's
        // `Loader::for_request` sees it) and the sha256 of the bytes.
        let name = request.source.name().to_string();
        let mut hashing = Hashing::start(
            subtle_crypto(scope),
            &opened.bytes,
            opened.total,
            DIGEST_CAP_BYTES,
        );
        if matches!(hashing, Hashing::Kernel) {
            loader = loader.named(name.clone());
        }

        let mut throttle = ProgressThrottle::new(PROGRESS_INTERVAL_MS);
        let load_id = request.load_id.clone();
        let progress = |bytes_done: u64, bytes_total: Option<u64>| {
            if throttle.ready(bytes_done, bytes_total, js_sys::Date::now()) {
                post(
                    scope,
                    &KernelEvent::LoadProgress {
                        load_id: load_id.clone(),
                        bytes_done,
                        bytes_total,
                    },
                );
            }
        };
        // The loader's own error (naming line and column) beats its text.
        let mut refused = None;
        let pushed = pump(
            opened.bytes,
            opened.total,
            CHUNK_BYTES,
            |chunk| {
                hashing.keep(chunk);
                loader.push(chunk).map_err(|e| {
                    let text = e.to_string();
                    refused = Some(e);
                    text
                })
            },
            progress,
            &cancelled,
        )
        .await;
        if let Some(error) = refused {
            return Err(error.into());
        }
        let bytes = pushed?;
        // Everything was read: say so before parsing the end (which can take a while, for
        // a Parquet file above all).
        post(
            scope,
            &KernelEvent::LoadProgress {
                load_id: request.load_id.clone(),
                bytes_done: bytes,
                bytes_total: Some(bytes),
            },
        );
        // Cancel also stops the end's parse (a Parquet file is decoded there).
        let mut loaded = loader
            .finish_unless(&cancelled)
            .map_err(|error| match error {
                LoadError::Cancelled => Failure::Source(SourceError::Cancelled { done: bytes }),
                error => Failure::Load(error.for_url(&name)),
            })?;
        match hashing.finish().await {
            Ok(Some(sha256)) => {
                loaded.frame = loaded.frame.from_dataset(DatasetRef { name, sha256 })
            }
            Ok(None) => {}
            // The frame is still good; only its runs' lineage goes without the data's name.
            Err(e) => web_sys::console::warn_1(
                &format!("kernel worker: hashing {name} failed: {}", js_text(&e)).into(),
            ),
        }
        Ok(loaded)
    }

    /// The worker's WebCrypto, when it has one (see [`Hashing::Kernel`]).
    fn subtle_crypto(scope: &DedicatedWorkerGlobalScope) -> Option<SubtleCrypto> {
        let crypto = scope.crypto().ok()?;
        let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).ok()?;
        subtle.dyn_into::<SubtleCrypto>().ok()
    }

    /// The kernel's rule for variable names.
    fn is_variable_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    fn post(scope: &DedicatedWorkerGlobalScope, event: &KernelEvent) {
        post_text(scope, event)
    }

    fn post_text(scope: &DedicatedWorkerGlobalScope, message: &impl serde::Serialize) {
        match serde_json::to_string(message) {
            Ok(text) => {
                if let Err(e) = scope.post_message(&JsValue::from_str(&text)) {
                    web_sys::console::error_2(&"kernel worker: cannot post".into(), &e);
                }
            }
            Err(e) => {
                web_sys::console::error_1(&format!("kernel worker: cannot encode: {e}").into())
            }
        }
    }

    /// A panic aborts the wasm instance; tell the page why first, so its crash report
    /// names the cause rather than "unreachable".
    fn install_panic_report(scope: DedicatedWorkerGlobalScope) {
        let scope = send_wrapper::SendWrapper::new(scope);
        std::panic::set_hook(Box::new(move |info| {
            console_error_panic_hook::hook(info);
            let report = PanicReport {
                kernel_panicked: info.to_string(),
            };
            if let Ok(text) = serde_json::to_string(&report) {
                let _ = scope.post_message(&JsValue::from_str(&text));
            }
        }));
    }
}
