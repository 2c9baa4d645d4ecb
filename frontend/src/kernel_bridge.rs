//! The page's only door to the kernel worker. Messages are JSON strings of
//! `oxbook_protocol::{KernelRequest, KernelEvent}` (JSON because the protocol's enums are
//! internally tagged in places, which bincode cannot decode).
//!
//! The worker is a raw `web_sys::Worker` so that the page sees its `error` event and can
//! `terminate()` it: when the kernel dies (a panic aborts its wasm instance, or the script
//! throws), the running cell's execution fails with [`KernelError::Crashed`] and a fresh
//! worker is spawned in its place. A worker that dies before it ever said `Ready` counts as
//! a failed start; after [`MAX_START_ATTEMPTS`] of those the bridge gives up
//! ([`KernelState::Failed`]) rather than respawning forever.
//!
//! The bridge also tells each kernel where it runs ([`KernelBridge::set_notebook`]): the
//! notebook's id and revision, with a fresh random session id for every new worker (and
//! every reset), since run ids are the session id and a counter the kernel restarts.
//! The context goes out first whenever a worker says `Ready`, so a restarted or respawned
//! kernel has it before any cell runs.
//!
//! Loads ([`KernelBridge::load`]) stream a file or URL into a variable. They run beside
//! cells (the worker parses between chunks, and answers cells in between), each named by
//! its `load_id`; a load's `File` travels in the same message as its request (see
//! [`crate::worker_wire::envelope`]).
//!
//! Cancelling ([`KernelBridge::cancel_cell`], [`KernelBridge::cancel_load`]): a busy worker
//! reads no messages, so the bridge raises a flag in memory it shares with the worker
//! ([`InterruptFlags`], handed over on every `Ready`); the kernel then ends the cell with a
//! `Cancelled` error and keeps its variables. A page that is not cross-origin isolated has
//! no shared memory: there cancelling terminates the worker and starts a new one, and says
//! that the variables were lost. Fit progress (`KernelEvent::Progress`) goes to the
//! running cell's callback ([`KernelBridge::execute_with_progress`]).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use futures_channel::oneshot;
use oxbook_protocol::{
    CellId, CellRun, KernelEvent, KernelRequest, LoadRequest, Output, RunContext,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, ErrorEvent, Event, MessageEvent, Worker};

use crate::worker_wire::{envelope, Interrupt, InterruptFlags, LoadRoute, WorkerMessage};

/// Consecutive deaths before `Ready` after which the bridge stops respawning.
pub const MAX_START_ATTEMPTS: u32 = 3;

/// The kernel as the page shows it (`#kernel-status[data-state]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelState {
    /// The first worker is loading.
    Starting,
    Ready,
    /// Running a cell.
    Busy,
    /// A replacement worker (after a crash or a restart) is loading.
    Restarting,
    /// The worker could not be started; see the bridge's last failure.
    Failed,
}

impl KernelState {
    pub fn as_str(self) -> &'static str {
        match self {
            KernelState::Starting => "starting",
            KernelState::Ready => "ready",
            KernelState::Busy => "busy",
            KernelState::Restarting => "restarting",
            KernelState::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KernelState::Starting => "Kernel starting…",
            KernelState::Ready => "Kernel ready",
            KernelState::Busy => "Kernel busy",
            KernelState::Restarting => "Kernel restarting…",
            KernelState::Failed => "Kernel failed to start",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The worker died while (or before) running the cell; a new one is starting.
    #[error("the kernel crashed ({reason})")]
    Crashed { reason: String },
    /// The user restarted the kernel, or the page closed it, before the cell finished.
    #[error("the kernel was restarted before the cell finished")]
    Restarted,
    #[error("the kernel is already running cell {running}")]
    Busy { running: CellId },
    #[error("the kernel could not be started ({reason})")]
    Unavailable { reason: String },
    /// A load with this id is already streaming.
    #[error("a load named {load_id} is already running")]
    DuplicateLoad { load_id: String },
    /// Cancelled by terminating the worker, since this page has no memory to share with it
    /// (it is not cross-origin isolated); the new kernel starts empty.
    #[error(
        "cancelled by restarting the kernel (this page is not cross-origin isolated, so a \
         running cell cannot be stopped any other way); variables from earlier cells are lost"
    )]
    CancelledByRestart,
}

/// How far a long fit in the running cell has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProgress {
    pub done: u64,
    pub total: u64,
    /// Plural: "trees", "rounds", "iterations", "folds".
    pub unit: String,
}

impl CellProgress {
    /// `12 of 100 trees`.
    pub fn text(&self) -> String {
        format!("{} of {} {}", self.done, self.total, self.unit)
    }
}

/// What asking to cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelling {
    /// The worker was told; the cell (or load) ends soon with a `Cancelled` error.
    Flagged,
    /// The page is not cross-origin isolated: the worker was replaced, variables are gone.
    Restarted,
    /// Nothing was running.
    Nothing,
}

/// How a load ended: on success `variable` holds the frame and `outputs` describe it; on
/// failure `outputs` say why.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOutcome {
    pub variable: String,
    pub ok: bool,
    pub outputs: Vec<Output>,
}

/// What the page hears while a load streams.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadUpdate {
    Progress {
        bytes_done: u64,
        bytes_total: Option<u64>,
    },
    /// Which way a URL's bytes come (the browser's fetch or the server's).
    Route(LoadRoute),
}

/// What to do once a worker has died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashDecision {
    /// Start a new worker; `failed_starts` deaths-before-ready in a row so far.
    Respawn { failed_starts: u32 },
    /// Too many workers in a row died before becoming ready (a missing or broken script).
    GiveUp { failed_starts: u32 },
}

/// The restart policy, apart from any worker so it can be tested on its own: a kernel
/// that had been ready is always replaced; one that keeps dying while loading is not.
pub fn after_crash(was_ready: bool, failed_starts_before: u32) -> CrashDecision {
    let failed_starts = if was_ready {
        0
    } else {
        failed_starts_before + 1
    };
    if failed_starts >= MAX_START_ATTEMPTS {
        CrashDecision::GiveUp { failed_starts }
    } else {
        CrashDecision::Respawn { failed_starts }
    }
}

/// A handle on the kernel worker; clones share it.
#[derive(Clone)]
pub struct KernelBridge {
    inner: Rc<Inner>,
}

struct Pending {
    cell_id: CellId,
    reply: oneshot::Sender<Result<CellRun, KernelError>>,
    on_progress: Rc<dyn Fn(CellProgress)>,
}

struct PendingLoad {
    reply: oneshot::Sender<Result<LoadOutcome, KernelError>>,
    on_update: Rc<dyn Fn(LoadUpdate)>,
}

/// A request waiting to be posted, with the file a load carries.
struct Outgoing {
    text: String,
    file: Option<Blob>,
}

struct Live {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

struct Inner {
    worker_url: String,
    on_state: Box<dyn Fn(KernelState)>,
    live: RefCell<Option<Live>>,
    /// The last terminated worker's callbacks. Kept one generation longer because the
    /// crash that retires a worker is handled from inside that worker's own callback.
    retired: RefCell<Option<Live>>,
    /// Counts spawned workers; events from an older generation are ignored.
    generation: Cell<u32>,
    ready: Cell<bool>,
    /// Requests made before the worker said `Ready` (a worker drops messages that arrive
    /// before its wasm has loaded and installed `onmessage`).
    outbox: RefCell<Vec<Outgoing>>,
    pending: RefCell<Option<Pending>>,
    /// Loads in flight, by `load_id`.
    loads: RefCell<BTreeMap<String, PendingLoad>>,
    failed_starts: Cell<u32>,
    last_failure: RefCell<String>,
    state: Cell<KernelState>,
    closed: Cell<bool>,
    /// Where the kernel runs, once the page named a notebook; its session id is the
    /// current worker's.
    context: RefCell<Option<RunContext>>,
    /// Shared with every worker this bridge starts; `None` when the page is not
    /// cross-origin isolated.
    flags: Option<InterruptFlags>,
}

/// A fresh random kernel session id: a v4 UUID from `crypto.getRandomValues` (which,
/// unlike `crypto.randomUUID`, pages served over plain http have too).
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // No Web Crypto at all (not a browser page): ids need only be unique per server, so
        // the weaker generator will do.
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl KernelBridge {
    /// Starts a worker from `worker_url` (a classic worker script such as trunk's loader
    /// shim); `on_state` hears every change of [`KernelState`].
    pub fn spawn(worker_url: impl Into<String>, on_state: impl Fn(KernelState) + 'static) -> Self {
        Self::start(worker_url.into(), on_state, InterruptFlags::new())
    }

    /// [`KernelBridge::spawn`] without shared memory, as on a page that is not
    /// cross-origin isolated: cancelling replaces the worker.
    pub fn spawn_unshared(
        worker_url: impl Into<String>,
        on_state: impl Fn(KernelState) + 'static,
    ) -> Self {
        Self::start(worker_url.into(), on_state, None)
    }

    fn start(
        worker_url: String,
        on_state: impl Fn(KernelState) + 'static,
        flags: Option<InterruptFlags>,
    ) -> Self {
        let inner = Rc::new(Inner {
            worker_url,
            on_state: Box::new(on_state),
            live: RefCell::new(None),
            retired: RefCell::new(None),
            generation: Cell::new(0),
            ready: Cell::new(false),
            outbox: RefCell::new(Vec::new()),
            pending: RefCell::new(None),
            loads: RefCell::new(BTreeMap::new()),
            failed_starts: Cell::new(0),
            last_failure: RefCell::new(String::new()),
            state: Cell::new(KernelState::Starting),
            closed: Cell::new(false),
            context: RefCell::new(None),
            flags,
        });
        inner.set_state(KernelState::Starting);
        inner.start_worker();
        KernelBridge { inner }
    }

    pub fn state(&self) -> KernelState {
        self.inner.state.get()
    }

    /// How many workers this bridge has started (1 + restarts).
    pub fn workers_started(&self) -> u32 {
        self.inner.generation.get()
    }

    /// Whether a running cell can be stopped without losing the kernel's variables (the
    /// page is cross-origin isolated, so it shares memory with the worker).
    pub fn can_interrupt(&self) -> bool {
        self.inner.flags.is_some()
    }

    /// Runs `code` as cell `cell_id`; one cell at a time. Waits for the worker to be ready.
    pub async fn execute(&self, cell_id: &str, code: &str) -> Result<CellRun, KernelError> {
        self.execute_with_progress(cell_id, code, |_| {}).await
    }

    /// [`KernelBridge::execute`], with `on_progress` hearing how far the cell's long fits
    /// have got.
    pub async fn execute_with_progress(
        &self,
        cell_id: &str,
        code: &str,
        on_progress: impl Fn(CellProgress) + 'static,
    ) -> Result<CellRun, KernelError> {
        let inner = &self.inner;
        if inner.state.get() == KernelState::Failed {
            return Err(KernelError::Unavailable {
                reason: inner.last_failure.borrow().clone(),
            });
        }
        let reply = {
            let mut pending = inner.pending.borrow_mut();
            if let Some(running) = pending.as_ref() {
                return Err(KernelError::Busy {
                    running: running.cell_id.clone(),
                });
            }
            let (reply, answer) = oneshot::channel();
            *pending = Some(Pending {
                cell_id: cell_id.to_string(),
                reply,
                on_progress: Rc::new(on_progress),
            });
            answer
        };
        // Lowered before the request goes out, so a cancel pressed from now on stops this
        // cell and one pressed for the previous cell does not.
        if let Some(flags) = &inner.flags {
            flags.lower(Interrupt::Cell);
        }
        if inner.ready.get() {
            inner.set_state(KernelState::Busy);
        }
        inner.post(&KernelRequest::Execute {
            cell_id: cell_id.to_string(),
            code: code.to_string(),
        });
        // A dropped sender means the bridge was shut down with the cell in flight.
        reply.await.unwrap_or(Err(KernelError::Restarted))
    }

    /// Streams `request`'s source into its variable: `file` is the picked or dropped file
    /// for a `LoadSource::File` (the worker fetches a URL itself). `on_update` hears the
    /// progress. Loads run beside cells; a crash or restart ends them with an error.
    pub async fn load(
        &self,
        request: LoadRequest,
        file: Option<Blob>,
        on_update: impl Fn(LoadUpdate) + 'static,
    ) -> Result<LoadOutcome, KernelError> {
        let inner = &self.inner;
        if inner.state.get() == KernelState::Failed {
            return Err(KernelError::Unavailable {
                reason: inner.last_failure.borrow().clone(),
            });
        }
        let load_id = request.load_id.clone();
        let answer = {
            let mut loads = inner.loads.borrow_mut();
            if loads.contains_key(&load_id) {
                return Err(KernelError::DuplicateLoad { load_id });
            }
            // The worker streams loads side by side, all reading the one load flag: lowered
            // only when none is in flight, so a cancel still pending for another load is
            // not wiped (a load started meanwhile is cancelled with it).
            if loads.is_empty() {
                if let Some(flags) = &inner.flags {
                    flags.lower(Interrupt::Load);
                }
            }
            let (reply, answer) = oneshot::channel();
            loads.insert(
                load_id,
                PendingLoad {
                    reply,
                    on_update: Rc::new(on_update),
                },
            );
            answer
        };
        inner.post_with(&KernelRequest::Load(request), file);
        answer.await.unwrap_or(Err(KernelError::Restarted))
    }

    /// Stops the running cell: through the shared flag (the kernel keeps its variables),
    /// or, without one, by replacing the worker (the cell then fails with
    /// [`KernelError::CancelledByRestart`]).
    pub fn cancel_cell(&self) -> Cancelling {
        let busy = self.inner.pending.borrow().is_some();
        self.cancel(Interrupt::Cell, busy)
    }

    /// Stops the loads in flight (the worker checks between chunks and ends each with a
    /// "load cancelled" error), or, without shared memory, replaces the worker.
    pub fn cancel_load(&self) -> Cancelling {
        let busy = !self.inner.loads.borrow().is_empty();
        self.cancel(Interrupt::Load, busy)
    }

    /// Raises `which`'s flag, or replaces the worker where there is none; nothing when
    /// nothing is `busy`.
    fn cancel(&self, which: Interrupt, busy: bool) -> Cancelling {
        if !busy {
            return Cancelling::Nothing;
        }
        match &self.inner.flags {
            Some(flags) => {
                flags.raise(which);
                Cancelling::Flagged
            }
            None => {
                self.restart_failing(KernelError::CancelledByRestart);
                Cancelling::Restarted
            }
        }
    }

    /// How many loads are in flight.
    pub fn loads_in_flight(&self) -> usize {
        self.inner.loads.borrow().len()
    }

    /// Hands the kernel the bytes a cell asked for with `Effect::FetchFile`.
    pub fn provide_file(&self, url: &str, bytes: Vec<u8>) {
        self.inner.post(&KernelRequest::ProvideFile {
            url: url.to_string(),
            bytes,
        });
    }

    /// Asks the kernel to forget its variables (the worker stays). The session gets a new
    /// id, as the kernel may count its runs from the start again.
    pub fn reset(&self) {
        let inner = &self.inner;
        inner.post(&KernelRequest::Reset);
        // A worker that is not ready yet gets the renewed context when it says Ready (the
        // kernel keeps its context across the queued reset).
        if inner.renew_session_id() && inner.ready.get() {
            inner.post_context();
        }
    }

    /// Tells the kernel which notebook (and revision of it) it runs, for the runs it
    /// records and the lineage of the models it fits. Call it when the notebook opens and
    /// after each save; the session id stays until the worker is replaced or reset.
    pub fn set_notebook(&self, notebook_id: &str, revision: u64) {
        let inner = &self.inner;
        {
            let mut context = inner.context.borrow_mut();
            let session_id = match context.take() {
                Some(old) => old.session_id,
                None => new_session_id(),
            };
            *context = Some(RunContext {
                session_id,
                notebook_id: Some(notebook_id.to_string()),
                notebook_revision: Some(revision),
            });
        }
        // A worker that is not ready yet gets it when it says Ready.
        if inner.ready.get() {
            inner.post_context();
        }
    }

    /// What the kernel was last told about where it runs (`None` before
    /// [`KernelBridge::set_notebook`]).
    pub fn run_context(&self) -> Option<RunContext> {
        self.inner.context.borrow().clone()
    }

    /// Throws the worker away and starts a new one (also the way out of a hung cell). The
    /// running cell, if any, ends with [`KernelError::Restarted`].
    pub fn restart(&self) {
        self.restart_failing(KernelError::Restarted)
    }

    /// Replaces the worker; the running cell and loads end with `error`.
    fn restart_failing(&self, error: KernelError) {
        let inner = &self.inner;
        if inner.closed.get() {
            return;
        }
        inner.retire_worker();
        inner.outbox.borrow_mut().clear();
        inner.failed_starts.set(0);
        let pending = inner.pending.borrow_mut().take();
        inner.set_state(KernelState::Restarting);
        inner.start_worker();
        if let Some(pending) = pending {
            let _ = pending.reply.send(Err(error.clone()));
        }
        inner.fail_loads(error);
    }

    /// Terminates the worker for good (the editor closed).
    pub fn shutdown(&self) {
        let inner = &self.inner;
        inner.closed.set(true);
        inner.retire_worker();
        inner.outbox.borrow_mut().clear();
        if let Some(pending) = inner.pending.borrow_mut().take() {
            let _ = pending.reply.send(Err(KernelError::Restarted));
        }
        inner.fail_loads(KernelError::Restarted);
    }
}

impl Inner {
    fn set_state(&self, state: KernelState) {
        self.state.set(state);
        (self.on_state)(state);
    }

    fn start_worker(self: &Rc<Self>) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        self.ready.set(false);
        // A new worker is a new kernel session, counting its runs from the start.
        self.renew_session_id();
        let worker = match Worker::new(&self.worker_url) {
            Ok(worker) => worker,
            Err(e) => {
                let reason = format!(
                    "cannot start a worker from {}: {}",
                    self.worker_url,
                    js_text(&e)
                );
                self.give_up(reason);
                return;
            }
        };
        let weak: Weak<Inner> = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let weak = weak.clone();
            move |event: MessageEvent| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_message(generation, event);
                }
            }
        });
        let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            if let Some(inner) = weak.upgrade() {
                inner.on_error(generation, event);
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *self.live.borrow_mut() = Some(Live {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        });
    }

    fn is_current(&self, generation: u32) -> bool {
        !self.closed.get() && generation == self.generation.get() && self.live.borrow().is_some()
    }

    fn on_message(self: &Rc<Self>, generation: u32, event: MessageEvent) {
        if !self.is_current(generation) {
            return;
        }
        let Some(text) = event.data().as_string() else {
            web_sys::console::warn_1(&"kernel worker sent a non-text message; ignored".into());
            return;
        };
        match WorkerMessage::parse(&text) {
            Ok(WorkerMessage::Event(KernelEvent::Ready)) => {
                self.ready.set(true);
                self.failed_starts.set(0);
                // First of all: the flags that let the page stop what this worker runs.
                if let Some(flags) = &self.flags {
                    self.post_raw(&flags.envelope());
                }
                // Before anything queued, so that no cell runs without knowing its notebook.
                self.post_context();
                let queued: Vec<Outgoing> = self.outbox.borrow_mut().drain(..).collect();
                let busy = self.pending.borrow().is_some();
                self.set_state(if busy {
                    KernelState::Busy
                } else {
                    KernelState::Ready
                });
                for outgoing in queued {
                    self.post_now(outgoing);
                }
            }
            Ok(WorkerMessage::Event(KernelEvent::Started { .. })) => {
                self.set_state(KernelState::Busy)
            }
            Ok(WorkerMessage::Event(KernelEvent::Progress {
                cell_id,
                done,
                total,
                unit,
            })) => {
                // Called without holding the borrow: the callback updates the page.
                let on_progress = self
                    .pending
                    .borrow()
                    .as_ref()
                    .filter(|p| p.cell_id == cell_id)
                    .map(|p| p.on_progress.clone());
                if let Some(on_progress) = on_progress {
                    on_progress(CellProgress { done, total, unit });
                }
            }
            Ok(WorkerMessage::Event(KernelEvent::Finished(run))) => {
                let finished = {
                    let mut pending = self.pending.borrow_mut();
                    match pending.as_ref() {
                        Some(p) if p.cell_id == run.cell_id => pending.take(),
                        _ => None,
                    }
                };
                if self.pending.borrow().is_none() {
                    self.set_state(KernelState::Ready);
                }
                if let Some(finished) = finished {
                    let _ = finished.reply.send(Ok(run));
                }
            }
            Ok(WorkerMessage::Event(KernelEvent::LoadProgress {
                load_id,
                bytes_done,
                bytes_total,
            })) => self.load_update(
                &load_id,
                LoadUpdate::Progress {
                    bytes_done,
                    bytes_total,
                },
            ),
            Ok(WorkerMessage::Route(route)) => {
                let load_id = route.load_id.clone();
                self.load_update(&load_id, LoadUpdate::Route(route))
            }
            Ok(WorkerMessage::Event(KernelEvent::LoadFinished {
                load_id,
                variable,
                ok,
                outputs,
            })) => {
                let finished = self.loads.borrow_mut().remove(&load_id);
                if let Some(finished) = finished {
                    let _ = finished.reply.send(Ok(LoadOutcome {
                        variable,
                        ok,
                        outputs,
                    }));
                }
            }
            Ok(WorkerMessage::Panicked(message)) => self.crash(format!("panic: {message}")),
            Err(unknown) => web_sys::console::warn_1(&unknown.to_string().into()),
        }
    }

    fn on_error(self: &Rc<Self>, generation: u32, event: Event) {
        if !self.is_current(generation) {
            return;
        }
        // Handled here; no need for the browser to also report it as uncaught.
        event.prevent_default();
        let reason = event
            .dyn_ref::<ErrorEvent>()
            .map(|e| e.message())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "the worker script failed to load or stopped".to_string());
        self.crash(reason);
    }

    /// The worker died. If it had been ready, the running cell fails and what was sent to
    /// the dead session is forgotten; if it died while loading, nothing had reached it yet,
    /// so the waiting requests go to its replacement. Either way a new worker starts, unless
    /// workers keep dying while loading.
    fn crash(self: &Rc<Self>, reason: String) {
        if self.closed.get() {
            return;
        }
        let was_ready = self.ready.get();
        let decision = after_crash(was_ready, self.failed_starts.get());
        self.retire_worker();
        match decision {
            CrashDecision::Respawn { failed_starts } => {
                self.failed_starts.set(failed_starts);
                *self.last_failure.borrow_mut() = reason.clone();
                let failed = if was_ready {
                    self.outbox.borrow_mut().clear();
                    self.pending.borrow_mut().take()
                } else {
                    None
                };
                self.set_state(KernelState::Restarting);
                self.start_worker();
                if let Some(pending) = failed {
                    let _ = pending.reply.send(Err(KernelError::Crashed {
                        reason: reason.clone(),
                    }));
                }
                if was_ready {
                    self.fail_loads(KernelError::Crashed { reason });
                }
            }
            CrashDecision::GiveUp { failed_starts } => {
                self.failed_starts.set(failed_starts);
                self.give_up(format!(
                    "it stopped {failed_starts} times while loading; last: {reason}"
                ));
            }
        }
    }

    fn give_up(&self, reason: String) {
        web_sys::console::error_1(&format!("kernel unavailable: {reason}").into());
        *self.last_failure.borrow_mut() = reason.clone();
        self.outbox.borrow_mut().clear();
        self.set_state(KernelState::Failed);
        if let Some(pending) = self.pending.borrow_mut().take() {
            let _ = pending.reply.send(Err(KernelError::Unavailable {
                reason: reason.clone(),
            }));
        }
        self.fail_loads(KernelError::Unavailable { reason });
    }

    /// Ends every load in flight with `error`.
    fn fail_loads(&self, error: KernelError) {
        let loads = std::mem::take(&mut *self.loads.borrow_mut());
        for (_, load) in loads {
            let _ = load.reply.send(Err(error.clone()));
        }
    }

    fn load_update(&self, load_id: &str, update: LoadUpdate) {
        // Called without holding the borrow: the callback may start another load.
        let on_update = self
            .loads
            .borrow()
            .get(load_id)
            .map(|load| load.on_update.clone());
        if let Some(on_update) = on_update {
            on_update(update);
        }
    }

    fn retire_worker(&self) {
        self.ready.set(false);
        if let Some(live) = self.live.borrow_mut().take() {
            live.worker.set_onmessage(None);
            live.worker.set_onerror(None);
            live.worker.terminate();
            *self.retired.borrow_mut() = Some(live);
        }
    }

    /// Gives the context a new session id; tells whether there is a context.
    fn renew_session_id(&self) -> bool {
        match self.context.borrow_mut().as_mut() {
            Some(context) => {
                context.session_id = new_session_id();
                true
            }
            None => false,
        }
    }

    /// Sends the context, if the page gave one, to a ready worker.
    fn post_context(self: &Rc<Self>) {
        let context = self.context.borrow().clone();
        if let Some(context) = context {
            self.post(&KernelRequest::SetContext(context));
        }
    }

    fn post(self: &Rc<Self>, request: &KernelRequest) {
        self.post_with(request, None)
    }

    fn post_with(self: &Rc<Self>, request: &KernelRequest, file: Option<Blob>) {
        match serde_json::to_string(request) {
            Ok(text) if self.ready.get() => self.post_now(Outgoing { text, file }),
            Ok(text) => {
                if !self.closed.get() && self.state.get() != KernelState::Failed {
                    self.outbox.borrow_mut().push(Outgoing { text, file });
                }
            }
            Err(e) => {
                web_sys::console::error_1(&format!("cannot encode a kernel request: {e}").into())
            }
        }
    }

    fn post_now(self: &Rc<Self>, outgoing: Outgoing) {
        self.post_raw(&envelope(&outgoing.text, outgoing.file.as_ref()))
    }

    fn post_raw(self: &Rc<Self>, message: &JsValue) {
        let sent = match self.live.borrow().as_ref() {
            Some(live) => live.worker.post_message(message),
            None => return,
        };
        if let Err(e) = sent {
            self.crash(format!("cannot send to the worker: {}", js_text(&e)));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(live) = self.live.get_mut().take() {
            live.worker.terminate();
        }
    }
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
