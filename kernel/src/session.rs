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

use oxbook_protocol::{CellError, CellRun, CellStatus, Effect, MimeBundle, Output};
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, Scope, AST, FLOAT, INT,
};

use crate::artifact::{ClassLabel, ModelArtifact};
use crate::csv_load::{parse_csv, LoadError};
use crate::frame::{format_float, Column, ColumnData, CompareOp, Frame, Scalar, TEXT_ROWS};
use crate::model::{fit, Settings};
use crate::{metrics, plot, split};

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

/// A file the host provided: its bytes until a cell first reads it, then what parsing
/// them gave (so re-running a cell does not parse again, and the bytes are freed).
enum ProvidedFile {
    Bytes(Vec<u8>),
    Parsed(Result<Frame, LoadError>),
}

/// What the script's functions share with the session during one cell.
#[derive(Default)]
struct Shared {
    files: BTreeMap<String, ProvidedFile>,
    /// URLs `read_csv` asked for that were not provided, in the order asked.
    missing: Vec<String>,
    effects: Vec<Effect>,
    printed: Vec<String>,
}

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
        {
            let mut shared = self.shared.borrow_mut();
            shared.missing.clear();
            shared.effects.clear();
            shared.printed.clear();
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
        let (missing, effects, printed) = {
            let mut shared = self.shared.borrow_mut();
            (
                std::mem::take(&mut shared.missing),
                std::mem::take(&mut shared.effects),
                std::mem::take(&mut shared.printed),
            )
        };
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
        match result {
            Ok(value) => {
                outputs.extend(render(&value));
                run(CellStatus::Done, outputs, effects)
            }
            Err(e) => {
                outputs.push(Output::Error(self.cell_error(*e, &ast)));
                run(CellStatus::Failed, outputs, effects)
            }
        }
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
        *self.shared.borrow_mut() = Shared::default();
    }

    /// Makes `bytes` the content of `url` for `read_csv` (replacing earlier bytes).
    pub fn provide_file(&mut self, url: &str, bytes: Vec<u8>) {
        self.shared
            .borrow_mut()
            .files
            .insert(url.to_string(), ProvidedFile::Bytes(bytes));
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

fn build_engine(shared: &SharedState, limits: &Limits) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        // A misspelt key (`parts.trian`) is an error, not a silent `()`.
        .set_fail_on_invalid_map_property(true);
    let printed = shared.clone();
    engine.on_print(move |text| printed.borrow_mut().printed.push(text.to_string()));
    let debugged = shared.clone();
    engine.on_debug(move |text, _, _| debugged.borrow_mut().printed.push(text.to_string()));
    register_frames(&mut engine, shared);
    register_plots(&mut engine);
    register_models(&mut engine, shared);
    engine
}

fn index(n: INT, what: &str) -> Res<usize> {
    usize::try_from(n).map_err(|_| fail(format!("{what} must be 0 or more, not {n}")))
}

fn strings(array: &Array, what: &str) -> Res<Vec<String>> {
    array
        .iter()
        .map(|v| {
            v.clone()
                .into_string()
                .map_err(|t| fail(format!("{what} must be strings, found a {t}")))
        })
        .collect()
}

fn scalar(value: &Dynamic) -> Res<Scalar> {
    if let Some(x) = value.clone().try_cast::<INT>() {
        Ok(Scalar::Int(x))
    } else if let Some(x) = value.clone().try_cast::<FLOAT>() {
        Ok(Scalar::Float(x))
    } else if let Some(x) = value.clone().try_cast::<bool>() {
        Ok(Scalar::Bool(x))
    } else if let Some(x) = value.clone().try_cast::<ImmutableString>() {
        Ok(Scalar::Str(x.to_string()))
    } else {
        Err(fail(format!(
            "cannot compare a column with a {}",
            value.type_name()
        )))
    }
}

fn column_values(frame: &Frame, name: &str) -> Res<Array> {
    let data = &frame.column(name).map_err(fail)?.data;
    let to_dynamic = |x: Option<Dynamic>| x.unwrap_or(Dynamic::UNIT);
    Ok(match data {
        ColumnData::Float(v) => v
            .iter()
            .map(|x| to_dynamic(x.map(Dynamic::from_float)))
            .collect(),
        ColumnData::Int(v) => v
            .iter()
            .map(|x| to_dynamic(x.map(Dynamic::from_int)))
            .collect(),
        ColumnData::Bool(v) => v
            .iter()
            .map(|x| to_dynamic(x.map(Dynamic::from_bool)))
            .collect(),
        ColumnData::Str(v) => v
            .iter()
            .map(|x| to_dynamic(x.clone().map(Dynamic::from)))
            .collect(),
    })
}

fn register_frames(engine: &mut Engine, shared: &SharedState) {
    engine.register_type_with_name::<Frame>("Frame");
    let files = shared.clone();
    engine.register_fn("read_csv", move |url: &str| -> Res<Frame> {
        let mut shared = files.borrow_mut();
        let Some(file) = shared.files.get_mut(url) else {
            if !shared.missing.iter().any(|u| u == url) {
                shared.missing.push(url.to_string());
            }
            // A stand-in so that the rest of the cell can run and ask for the other files
            // it needs; the run is rolled back whatever happens.
            return Ok(Frame::default());
        };
        let parsed = match std::mem::replace(file, ProvidedFile::Bytes(Vec::new())) {
            ProvidedFile::Bytes(bytes) => parse_csv(&bytes),
            ProvidedFile::Parsed(parsed) => parsed,
        };
        *file = ProvidedFile::Parsed(parsed.clone());
        parsed.map_err(|e| fail(format!("{url}: {e}")))
    });
    engine.register_fn("parse_csv", |text: &str| {
        parse_csv(text.as_bytes()).map_err(fail)
    });
    engine.register_fn("head", |df: Frame, n: INT| -> Res<Frame> {
        Ok(df.head(index(n, "head's row count")?))
    });
    engine.register_fn("describe", |df: Frame| df.describe());
    engine.register_fn("drop_nulls", |df: Frame| df.drop_nulls(None).map_err(fail));
    engine.register_fn("drop_nulls", |df: Frame, columns: Array| -> Res<Frame> {
        let columns = strings(&columns, "drop_nulls' column names")?;
        df.drop_nulls(Some(&columns)).map_err(fail)
    });
    engine.register_fn("select", |df: Frame, columns: Array| -> Res<Frame> {
        let columns = strings(&columns, "select's column names")?;
        df.select(&columns).map_err(fail)
    });
    engine.register_fn(
        "filter",
        |df: Frame, column: &str, op: &str, value: Dynamic| -> Res<Frame> {
            let op: CompareOp = op.parse().map_err(fail)?;
            df.filter(column, op, &scalar(&value)?).map_err(fail)
        },
    );
    engine.register_fn("rows", |df: Frame| df.row_count() as INT);
    engine.register_fn("columns", |df: Frame| -> Array {
        df.column_names().into_iter().map(Dynamic::from).collect()
    });
    engine.register_fn("column", |df: Frame, name: &str| column_values(&df, name));
    engine.register_fn("value_counts", |df: Frame, name: &str| {
        df.value_counts(name).map_err(fail)
    });
    engine.register_fn("to_string", |df: &mut Frame| df.to_text(TEXT_ROWS));
    engine.register_fn("to_debug", |df: &mut Frame| df.to_text(TEXT_ROWS));
}

fn register_plots(engine: &mut Engine) {
    engine.register_type_with_name::<Plot>("Plot");
    fn plot(svg: Result<String, plot::PlotError>, title: String) -> Res<Plot> {
        Ok(Plot {
            svg: svg.map_err(fail)?.into(),
            title,
        })
    }
    const DEFAULT_BINS: INT = 10;
    engine.register_fn("histogram", |df: Frame, column: &str| {
        plot(
            plot::histogram(&df, column, DEFAULT_BINS),
            format!("histogram of {column}"),
        )
    });
    engine.register_fn("histogram", |df: Frame, column: &str, bins: INT| {
        plot(
            plot::histogram(&df, column, bins),
            format!("histogram of {column}"),
        )
    });
    engine.register_fn("scatter", |df: Frame, x: &str, y: &str| {
        plot(
            plot::scatter(&df, x, y, None),
            format!("scatter plot of {y} vs {x}"),
        )
    });
    engine.register_fn("scatter", |df: Frame, x: &str, y: &str, color_by: &str| {
        plot(
            plot::scatter(&df, x, y, Some(color_by)),
            format!("scatter plot of {y} vs {x} by {color_by}"),
        )
    });
    engine.register_fn("to_string", |p: &mut Plot| p.title.clone());
    engine.register_fn("to_debug", |p: &mut Plot| p.title.clone());
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
    if let Some(model) = value.read_lock::<Model>() {
        return format!(
            "Model({} predicting '{}')",
            model.0.algorithm, model.0.target
        );
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

/// A fitted model as a script value (behind `Arc`: scripts clone values freely).
#[derive(Debug, Clone)]
pub struct Model(pub Arc<ModelArtifact>);

impl Model {
    /// Algorithm, target, features, classes, settings and recorded metrics, a line each.
    pub fn summary(&self) -> String {
        let a = &self.0;
        let list = |items: Vec<String>| items.join(", ");
        let mut lines = vec![
            format!("{} model predicting '{}'", a.algorithm, a.target),
            format!(
                "features: {}",
                list(
                    a.features
                        .iter()
                        .map(|f| format!("{} ({})", f.name, f.dtype))
                        .collect()
                )
            ),
            format!(
                "classes: {}",
                list(a.class_labels.iter().map(ToString::to_string).collect())
            ),
        ];
        // The settings' own field names, read back from their serialized form.
        if let Ok(serde_json::Value::Object(outer)) = serde_json::to_value(&a.settings) {
            if let Some(serde_json::Value::Object(fields)) = outer.values().next() {
                let fields = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                lines.push(format!("settings: {}", list(fields)));
            }
        }
        if !a.metrics.is_empty() {
            let metrics = a
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}: {}", format_float(*v)))
                .collect();
            lines.push(format!("metrics: {}", list(metrics)));
        }
        lines.join("\n")
    }
}

/// A registry name as the server accepts it (the rule lives in the protocol crate).
fn registry_name(name: &str) -> Res<()> {
    if oxbook_protocol::is_valid_registry_name(name) {
        Ok(())
    } else {
        Err(fail(format!(
            "'{name}' is not a valid model name: use {}",
            oxbook_protocol::REGISTRY_NAME_RULE
        )))
    }
}

fn train(
    algorithm: &str,
    df: &Frame,
    features: &Array,
    target: &str,
    options: Option<Map>,
) -> Res<Model> {
    let features = strings(features, "feature names")?;
    let options = match options {
        None => serde_json::Value::Null,
        Some(map) => rhai::serde::from_dynamic::<serde_json::Value>(&Dynamic::from_map(map))?,
    };
    let settings = Settings::from_json(algorithm, options).map_err(fail)?;
    let mut artifact = fit(df, &features, target, &settings).map_err(fail)?;
    // The score on the training rows, recorded with the model so that its summary and
    // the registry show how well it fits at least the data it saw.
    let evaluation = metrics::evaluate(&artifact, df).map_err(fail)?;
    artifact
        .metrics
        .insert("train_accuracy".to_string(), evaluation.accuracy);
    Ok(Model(Arc::new(artifact)))
}

fn label_column(name: &str, labels: &[ClassLabel]) -> Column {
    let data = match labels.first() {
        Some(ClassLabel::Bool(_)) => ColumnData::Bool(
            labels
                .iter()
                .map(|l| {
                    if let ClassLabel::Bool(b) = l {
                        Some(*b)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        Some(ClassLabel::Int(_)) => ColumnData::Int(
            labels
                .iter()
                .map(|l| {
                    if let ClassLabel::Int(i) = l {
                        Some(*i)
                    } else {
                        None
                    }
                })
                .collect(),
        ),
        _ => ColumnData::Str(labels.iter().map(|l| Some(l.to_string())).collect()),
    };
    Column {
        name: name.to_string(),
        data,
    }
}

/// `df` with the model's `prediction` column and a `p_<class>` probability column per
/// class added (replacing columns of those names).
fn predict(model: &Model, df: &Frame) -> Res<Frame> {
    let predictions = model.0.predict(df).map_err(fail)?;
    let mut out = df
        .with_column(label_column("prediction", &predictions.labels))
        .map_err(fail)?;
    for (c, class) in model.0.class_labels.iter().enumerate() {
        let probabilities = predictions
            .probabilities
            .iter()
            .map(|p| p.get(c).copied())
            .collect();
        let column = Column {
            name: format!("p_{class}"),
            data: ColumnData::Float(probabilities),
        };
        out = out.with_column(column).map_err(fail)?;
    }
    Ok(out)
}

/// The confusion matrix as a frame: a row per true class, a count column per predicted class.
fn confusion_frame(matrix: &metrics::ConfusionMatrix) -> Res<Frame> {
    let mut columns = vec![label_column("actual \\ predicted", &matrix.labels)];
    for (p, label) in matrix.labels.iter().enumerate() {
        let counts = matrix
            .counts
            .iter()
            .map(|row| row.get(p).map(|&n| n as INT))
            .collect();
        columns.push(Column {
            name: label.to_string(),
            data: ColumnData::Int(counts),
        });
    }
    Frame::new(columns).map_err(fail)
}

fn register_models(engine: &mut Engine, shared: &SharedState) {
    engine.register_type_with_name::<Model>("Model");
    engine.register_fn(
        "split",
        |df: Frame, test_fraction: FLOAT, seed: INT| -> Res<Map> {
            let seed = u64::try_from(seed)
                .map_err(|_| fail(format!("seed must be 0 or more, not {seed}")))?;
            let (train, test) = split::train_test_split(&df, test_fraction, seed).map_err(fail)?;
            let mut parts = Map::new();
            parts.insert("train".into(), Dynamic::from(train));
            parts.insert("test".into(), Dynamic::from(test));
            Ok(parts)
        },
    );
    for algorithm in crate::model::ALGORITHMS {
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str| {
                train(algorithm, &df, &features, target, None)
            },
        );
        engine.register_fn(
            algorithm,
            move |df: Frame, features: Array, target: &str, settings: Map| {
                train(algorithm, &df, &features, target, Some(settings))
            },
        );
    }
    engine.register_fn("predict", |model: Model, df: Frame| predict(&model, &df));
    engine.register_fn("accuracy", |model: Model, df: Frame| -> Res<FLOAT> {
        Ok(metrics::evaluate(&model.0, &df).map_err(fail)?.accuracy)
    });
    engine.register_fn(
        "confusion_matrix",
        |model: Model, df: Frame| -> Res<Frame> {
            confusion_frame(&metrics::evaluate(&model.0, &df).map_err(fail)?.confusion)
        },
    );
    let deploys = shared.clone();
    engine.register_fn("deploy", move |model: Model, name: &str| -> Res<String> {
        registry_name(name)?;
        deploys.borrow_mut().effects.push(Effect::Deploy {
            endpoint: name.to_string(),
            model_name: name.to_string(),
            artifact: model.0.to_json(),
        });
        Ok(format!("deploying model '{name}'…"))
    });
    let saves = shared.clone();
    engine.register_fn(
        "save_model",
        move |model: Model, name: &str| -> Res<String> {
            registry_name(name)?;
            saves.borrow_mut().effects.push(Effect::SaveModel {
                model_name: name.to_string(),
                artifact: model.0.to_json(),
            });
            Ok(format!("saving model '{name}'…"))
        },
    );
    engine.register_fn("to_string", |m: &mut Model| m.summary());
    engine.register_fn("to_debug", |m: &mut Model| m.summary());
}
