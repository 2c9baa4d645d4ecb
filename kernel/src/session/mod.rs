//! The Rhai binding: a cell session. This is the only module that knows Rhai; it turns
//! script calls into calls of the kernel's Rust API and script values into outputs.
//!
//! A session holds one Rhai scope, so variables persist from cell to cell, and the
//! functions cells defined. Cells do no I/O: `read_csv` looks its URL up among the files
//! the host provided; when one is missing, the cell is rolled back and its run says
//! `Waiting` with a [`Effect::FetchFile`] per missing URL, and the host runs it again
//! once it has provided them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use oxbook_protocol::{CellError, CellRun, CellStatus, Effect, MimeBundle, Output, RunContext};
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, Scope, AST, FLOAT, INT,
};

use crate::artifact::{ClassLabel, ModelArtifact};
use crate::datetime::format_datetime;
use crate::frame::{format_float, Column, ColumnData, CompareOp, Frame, Scalar, TEXT_ROWS};
use crate::load::LoadError;
use crate::model::{FitProgress, Settings};
use crate::split;

mod custom;
mod evaluate;
mod explore;
mod frames;
mod load;
// Also stands in for `crate::metrics` here (it re-exports it), hence no import of that.
mod metrics;
mod models;
mod plots;
mod transform;

pub use custom::{Algorithm, RhaiRunner};
pub use load::{load_error_output, load_outputs};
pub use models::Model;

/// Rows of a frame sent in its table output.
pub const TABLE_ROWS: usize = 50;

/// The bounds a cell runs within, so that no cell can hang or exhaust the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Script steps per cell (work inside kernel functions is bounded by those functions).
    pub max_operations: u64,
    /// Nested function calls; kept low because a browser worker's stack is small.
    pub max_call_levels: usize,
    /// Nesting of expressions, at top level and inside functions.
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 100_000_000,
            max_call_levels: 48,
            max_expr_depth: 64,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 10_000_000,
            max_map_size: 100_000,
        }
    }
}

/// A plot as a script value: the SVG document and a one-line description.
#[derive(Debug, Clone)]
pub struct Plot {
    pub svg: Arc<str>,
    pub title: String,
}

/// What the script's functions share with the session during one cell.
#[derive(Default)]
struct Shared {
    files: BTreeMap<String, load::ProvidedFile>,
    /// URLs `read_csv` asked for that were not provided, in the order asked.
    missing: Vec<String>,
    effects: Vec<Effect>,
    printed: Vec<String>,
    /// What loads noticed, shown after the cell's value.
    notes: Vec<String>,
    host: Host,
}

/// What the host told the session about where it runs; kept across resets.
#[derive(Default, Clone)]
struct Host {
    context: RunContext,
    /// Milliseconds since the Unix epoch, from the host: the kernel has no clock of its
    /// own (wasm32 has none outside the browser's APIs).
    clock: Option<Rc<dyn Fn() -> f64>>,
    /// Runs recorded so far, numbering the next run's id.
    runs: u64,
    /// Told how far a long fit has got.
    progress: Option<Rc<dyn Fn(FitProgress)>>,
    /// Asked now and then while a cell runs; `true` stops the cell.
    interrupt: Option<Rc<dyn Fn() -> bool>>,
}

/// Script operations between two questions to the host's interrupt: often enough to stop
/// within milliseconds, rarely enough to cost nothing.
const OPERATIONS_PER_INTERRUPT_CHECK: u64 = 4096;

/// Shared between the session and the closures registered with its engine.
type SharedState = Rc<RefCell<Shared>>;

/// One notebook's kernel state: the Rhai engine with the kernel's functions, the scope
/// of variables, the functions cells defined, and the files the host provided.
pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    /// The functions (`fn`) cells defined, so later cells can call them.
    functions: AST,
    shared: SharedState,
    limits: Limits,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        let shared = SharedState::default();
        let engine = build_engine(&shared, &limits);
        Session {
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            shared,
            limits,
        }
    }

    /// Runs a cell in the session's scope.
    pub fn execute(&mut self, cell_id: &str, code: &str) -> CellRun {
        let hooks = {
            let shared = self.shared.borrow();
            CellHooks {
                interrupt: shared.host.interrupt.clone(),
                progress: shared.host.progress.clone(),
            }
        };
        let _running = RunningCell::enter(hooks);
        {
            let mut shared = self.shared.borrow_mut();
            shared.missing.clear();
            shared.effects.clear();
            shared.printed.clear();
            shared.notes.clear();
        }
        let run = |status, outputs, effects| CellRun {
            cell_id: cell_id.to_string(),
            status,
            outputs,
            effects,
        };
        let ast = match self.engine.compile(code) {
            Ok(ast) => ast,
            Err(e) => {
                let error = parse_error(&e.0, e.1, &self.limits);
                return run(CellStatus::Failed, vec![Output::Error(error)], vec![]);
            }
        };
        let snapshot = self.scope.clone();
        let program = self.functions.merge(&ast);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        let (missing, effects, printed, notes) = {
            let mut shared = self.shared.borrow_mut();
            (
                std::mem::take(&mut shared.missing),
                std::mem::take(&mut shared.effects),
                std::mem::take(&mut shared.printed),
                std::mem::take(&mut shared.notes),
            )
        };
        load::release_read_files(&mut self.shared.borrow_mut().files);
        if !missing.is_empty() {
            // Whatever the cell did after a missing file worked on a stand-in: undo it all
            // and run the whole cell again once the files are there.
            self.scope = snapshot;
            let effects = missing
                .into_iter()
                .map(|url| Effect::FetchFile { url })
                .collect();
            return run(CellStatus::Waiting, vec![], effects);
        }
        self.functions = self.functions.merge(&ast.clone_functions_only());
        self.drop_shadowed_variables();
        let mut outputs = Vec::new();
        if !printed.is_empty() {
            outputs.push(Output::text(printed.join("\n")));
        }
        let status = match result {
            Ok(value) => {
                outputs.extend(render(&value));
                CellStatus::Done
            }
            Err(e) => {
                outputs.push(Output::Error(self.cell_error(*e, &ast)));
                CellStatus::Failed
            }
        };
        if !notes.is_empty() {
            outputs.push(Output::text(notes.join("\n")));
        }
        run(status, outputs, effects)
    }

    /// The names of the variables cells defined, in the order first defined.
    pub fn variable_names(&self) -> Vec<String> {
        self.scope
            .iter()
            .map(|(name, ..)| name.to_string())
            .collect()
    }

    /// Rhai's `let` pushes a new variable even when one of that name exists (shadowing
    /// it), so re-running `let df = ...` would keep every earlier frame alive. Keeps only
    /// the newest value of each name, where the oldest one stood.
    fn drop_shadowed_variables(&mut self) {
        // `iter_raw` goes from the newest variable to the oldest and keeps values shared
        // with closures shared (`iter` would copy them).
        let mut entries: Vec<(&str, bool, &Dynamic)> = self.scope.iter_raw().collect();
        entries.reverse();
        let mut newest: BTreeMap<&str, (bool, &Dynamic)> = BTreeMap::new();
        for &(name, constant, value) in &entries {
            newest.insert(name, (constant, value));
        }
        if newest.len() == entries.len() {
            return;
        }
        let mut compact = Scope::new();
        for (name, ..) in entries {
            if let Some((constant, value)) = newest.remove(name) {
                if constant {
                    compact.push_constant_dynamic(name.to_string(), value.clone());
                } else {
                    compact.push_dynamic(name.to_string(), value.clone());
                }
            }
        }
        self.scope = compact;
    }

    /// Forgets every variable, function and provided file.
    pub fn reset(&mut self) {
        self.scope.clear();
        self.functions = AST::empty();
        let mut shared = self.shared.borrow_mut();
        let host = std::mem::take(&mut shared.host);
        *shared = Shared {
            host,
            ..Shared::default()
        };
    }

    /// Where the session runs (its id, the notebook and revision), named by the runs it
    /// records and the lineage of the models it fits.
    pub fn set_context(&mut self, context: RunContext) {
        self.shared.borrow_mut().host.context = context;
    }

    /// The host's clock, in milliseconds since the Unix epoch, used to time fits and date
    /// models. Without one, runs record a duration of 0 and models no time.
    pub fn set_clock(&mut self, clock: impl Fn() -> f64 + 'static) {
        self.shared.borrow_mut().host.clock = Some(Rc::new(clock));
    }

    /// Called with the progress of long fits (trees, rounds, iterations, folds done) while
    /// a cell runs, so the host can show it.
    pub fn set_progress(&mut self, progress: impl Fn(FitProgress) + 'static) {
        self.shared.borrow_mut().host.progress = Some(Rc::new(progress));
    }

    /// Asked every few thousand script operations and between the units of a long fit
    /// while a cell runs: when it answers `true`, the cell stops with a `Cancelled` error
    /// (what it assigned before stays). The browser reads a flag the page sets; the
    /// command line a Ctrl-C.
    pub fn set_interrupt(&mut self, interrupt: impl Fn() -> bool + 'static) {
        self.shared.borrow_mut().host.interrupt = Some(Rc::new(interrupt));
    }

    /// Makes `bytes` the content of `url` for `read_csv` (replacing earlier bytes).
    pub fn provide_file(&mut self, url: &str, bytes: Vec<u8>) {
        self.shared
            .borrow_mut()
            .files
            .insert(url.to_string(), load::ProvidedFile::new(bytes));
    }

    /// The names of every function the kernel registers for cells (Rhai's own standard
    /// library left out), sorted and without repeats.
    pub fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .engine
            .gen_fn_signatures(false)
            .iter()
            .filter_map(|sig| sig.split('(').next())
            .map(|name| name.trim().to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn cell_error(&self, error: EvalAltResult, ast: &AST) -> CellError {
        match error {
            EvalAltResult::ErrorInFunctionCall(name, _, inner, call) => {
                let mut error = self.cell_error(*inner, ast);
                error.message = format!("in function '{name}': {}", error.message);
                // Inside a function this cell defined, the inner position is in this
                // cell; for one defined earlier, point at the call instead.
                if !ast.iter_functions().any(|f| f.name == name) {
                    (error.line, error.column) = line_column(call);
                }
                error
            }
            EvalAltResult::ErrorTerminated(why, pos) => {
                let message = match why.into_immutable_string() {
                    Ok(why) => format!("the cell was cancelled: {why}"),
                    Err(_) => "the cell was cancelled".to_string(),
                };
                located(oxbook_protocol::CANCELLED, message, pos)
            }
            EvalAltResult::ErrorTooManyOperations(pos) => located(
                "LimitExceeded",
                format!(
                    "the cell ran more than {} operations and was stopped (an endless loop?)",
                    self.limits.max_operations
                ),
                pos,
            ),
            EvalAltResult::ErrorStackOverflow(pos) => located(
                "LimitExceeded",
                format!(
                    "functions called each other more than {} levels deep (endless recursion?)",
                    self.limits.max_call_levels
                ),
                pos,
            ),
            EvalAltResult::ErrorDataTooLarge(what, pos) => located(
                "LimitExceeded",
                format!("{what} is larger than the kernel allows"),
                pos,
            ),
            EvalAltResult::ErrorParsing(kind, pos) => parse_error(&kind, pos, &self.limits),
            EvalAltResult::ErrorRuntime(value, pos) => {
                located("RuntimeError", value.to_string(), pos)
            }
            mut other => {
                let pos = other.take_position();
                let ename = match other {
                    EvalAltResult::ErrorTooManyVariables(_)
                    | EvalAltResult::ErrorTooManyModules(_)
                    | EvalAltResult::ErrorTerminated(..) => "LimitExceeded",
                    _ => "RuntimeError",
                };
                located(ename, other.to_string(), pos)
            }
        }
    }
}

/// A syntax error; or a limit, for expressions nested too deeply to parse safely.
fn parse_error(kind: &rhai::ParseErrorType, pos: Position, limits: &Limits) -> CellError {
    match kind {
        rhai::ParseErrorType::ExprTooDeep => located(
            "LimitExceeded",
            format!(
                "expressions are nested more than {} levels deep",
                limits.max_expr_depth
            ),
            pos,
        ),
        other => located("SyntaxError", other.to_string(), pos),
    }
}

fn line_column(pos: Position) -> (Option<u32>, Option<u32>) {
    let convert = |n: Option<usize>| n.and_then(|n| u32::try_from(n).ok());
    (convert(pos.line()), convert(pos.position()))
}

fn located(ename: &str, message: String, pos: Position) -> CellError {
    let (line, column) = line_column(pos);
    CellError {
        ename: ename.to_string(),
        message,
        line,
        column,
    }
}

/// A kernel error as a script error; Rhai gives it the position of the call.
fn fail(error: impl std::fmt::Display) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        error.to_string().into(),
        Position::NONE,
    ))
}

type Res<T> = Result<T, Box<EvalAltResult>>;

/// What the host gave the running cell: its interrupt and its progress callback.
#[derive(Clone)]
struct CellHooks {
    interrupt: Option<Rc<dyn Fn() -> bool>>,
    progress: Option<Rc<dyn Fn(FitProgress)>>,
}

thread_local! {
    /// The running cell's hooks on this thread, used by the cell's engine, by fits'
    /// monitors, and by the engines users' algorithms run in (the runner is shared with
    /// the server and holds no session): cancelling stops all of them, and an algorithm's
    /// `progress` reaches the host.
    static RUNNING_CELL: RefCell<CellHooks> = const {
        RefCell::new(CellHooks {
            interrupt: None,
            progress: None,
        })
    };
}

/// The running cell's hooks, installed for as long as the guard lives; the hooks before
/// come back when it drops.
struct RunningCell(CellHooks);

impl RunningCell {
    fn enter(hooks: CellHooks) -> RunningCell {
        RunningCell(RUNNING_CELL.replace(hooks))
    }

    /// Until the guard drops, [`RunningCell::report`] tells the host nothing: a
    /// cross-validation reports its folds, not its fits' steps.
    fn without_progress() -> RunningCell {
        let mut hooks = RUNNING_CELL.with_borrow(Clone::clone);
        hooks.progress = None;
        RunningCell::enter(hooks)
    }

    /// Whether the host asked the running cell, if any, to stop.
    fn interrupted() -> bool {
        let interrupt = RUNNING_CELL.with_borrow(|hooks| hooks.interrupt.clone());
        interrupt.is_some_and(|interrupt| interrupt())
    }

    /// Tells the host, if a cell runs, how far a user's algorithm has got.
    fn report(progress: FitProgress) {
        let callback = RUNNING_CELL.with_borrow(|hooks| hooks.progress.clone());
        if let Some(callback) = callback {
            callback(progress);
        }
    }
}

impl Drop for RunningCell {
    fn drop(&mut self) {
        RUNNING_CELL.set(self.0.clone());
    }
}

/// An engine with the cells' limits and no I/O, which stops when the running cell is
/// cancelled: the base of the cells' engine and of users' algorithms' engines.
fn bare_engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        // A misspelt key (`parts.trian`) is an error, not a silent `()`.
        .set_fail_on_invalid_map_property(true)
        // Natively Rhai would resolve `import "path"` from the file system: cells do no I/O.
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.on_progress(|operations| {
        let check = operations % OPERATIONS_PER_INTERRUPT_CHECK == 0;
        (check && RunningCell::interrupted()).then_some(Dynamic::UNIT)
    });
    engine
}

fn build_engine(shared: &SharedState, limits: &Limits) -> Engine {
    let mut engine = bare_engine(limits);
    let printed = shared.clone();
    engine.on_print(move |text| printed.borrow_mut().printed.push(text.to_string()));
    let debugged = shared.clone();
    engine.on_debug(move |text, _, _| debugged.borrow_mut().printed.push(text.to_string()));
    frames::register(&mut engine);
    load::register(&mut engine, shared);
    plots::register(&mut engine);
    models::register(&mut engine, shared);
    metrics::register(&mut engine);
    transform::register(&mut engine, shared);
    explore::register(&mut engine, shared);
    evaluate::register(&mut engine, shared);
    custom::register(&mut engine, shared, limits);
    engine
}

/// The output showing a cell's value: none for `()`.
fn render(value: &Dynamic) -> Option<Output> {
    if value.is_unit() {
        return None;
    }
    let bundle = if let Some(frame) = value.read_lock::<Frame>() {
        MimeBundle {
            text: Some(frame.to_text(TEXT_ROWS)),
            table: Some(frame.to_table(TABLE_ROWS)),
            ..MimeBundle::default()
        }
    } else if let Some(model) = value.read_lock::<Model>() {
        MimeBundle {
            text: Some(model.summary()),
            ..MimeBundle::default()
        }
    } else if let Some(plot) = value.read_lock::<Plot>() {
        MimeBundle {
            text: Some(plot.title.clone()),
            svg: Some(plot.svg.to_string()),
            ..MimeBundle::default()
        }
    } else {
        MimeBundle {
            text: Some(describe_value(value, true)),
            ..MimeBundle::default()
        }
    };
    Some(Output::DisplayData { data: bundle })
}

/// A value as text; strings are quoted when nested in arrays and maps.
fn describe_value(value: &Dynamic, top: bool) -> String {
    if let Some(frame) = value.read_lock::<Frame>() {
        return format!(
            "Frame({} rows × {} columns)",
            frame.row_count(),
            frame.column_names().len()
        );
    }
    if let Some(plot) = value.read_lock::<Plot>() {
        return format!("Plot({})", plot.title);
    }
    if let Some(algorithm) = value.read_lock::<custom::Algorithm>() {
        return algorithm.describe();
    }
    if let Some(model) = value.read_lock::<Model>() {
        return match model.0.target() {
            Some(target) => format!("Model({} predicting '{target}')", model.0.algorithm),
            None => format!("Model({})", model.0.algorithm),
        };
    }
    if let Some(array) = value.read_lock::<Array>() {
        let items: Vec<String> = array.iter().map(|v| describe_value(v, false)).collect();
        return format!("[{}]", items.join(", "));
    }
    if let Some(map) = value.read_lock::<Map>() {
        let items: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{k}: {}", describe_value(v, false)))
            .collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if value.is_unit() {
        return "()".to_string();
    }
    if value.is_string() && !top {
        return format!("{:?}", value.to_string());
    }
    value.to_string()
}
