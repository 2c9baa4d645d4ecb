//! The kernel's Web Worker: hosts one `oxbook_kernel::Session` and answers the page's
//! JSON-encoded `KernelRequest`s with JSON-encoded `KernelEvent`s. Loaded by trunk's
//! no-modules loader shim (`kernel-worker_loader.js`).

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

    use oxbook_frontend::worker_wire::PanicReport;
    use oxbook_kernel::Session;
    use oxbook_protocol::{KernelEvent, KernelRequest};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    pub fn run() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        install_panic_report(scope.clone());

        let session = Rc::new(RefCell::new(Session::new()));
        let reply_to = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                web_sys::console::warn_1(&"kernel worker: ignored a non-text message".into());
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
            let mut session = session.borrow_mut();
            match request {
                KernelRequest::Execute { cell_id, code } => {
                    post(
                        &reply_to,
                        &KernelEvent::Started {
                            cell_id: cell_id.clone(),
                        },
                    );
                    let run = session.execute(&cell_id, &code);
                    post(&reply_to, &KernelEvent::Finished(run));
                }
                KernelRequest::Reset => session.reset(),
                KernelRequest::ProvideFile { url, bytes } => session.provide_file(&url, bytes),
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The handler lives as long as the worker.
        on_message.forget();
        post(&scope, &KernelEvent::Ready);
    }

    fn post(scope: &DedicatedWorkerGlobalScope, event: &KernelEvent) {
        match serde_json::to_string(event) {
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
