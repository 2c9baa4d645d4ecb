//! Users' own algorithms: `algorithm(name, task, source)` and the Rhai runner that fits
//! and predicts with them.
//!
//! Rhai functions cannot be serialized, so an algorithm is its source text: `fit(x, y,
//! settings)` returns a state of plain data, `predict(state, x)` gives one prediction per
//! row, and an optional `predict_proba(state, x)` gives class probabilities. The artifact
//! stores the source and the state, and [`RhaiRunner`] runs them anywhere — in a cell, or
//! on the server answering an endpoint — in a fresh engine with the same [`Limits`] as
//! cells, without access to the kernel's functions or to any file.

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::model::script::{self, ScriptAlgorithm, ScriptPredictions, ScriptRunner, ScriptTarget};
use crate::model::Task;

/// Runs users' Rhai algorithms within `limits`.
#[derive(Debug, Clone, Copy)]
pub struct RhaiRunner {
    limits: Limits,
}

/// The functions an algorithm defines: name, parameter count, and how to write it.
const REQUIRED: [(&str, usize, &str); 2] = [
    ("fit", 3, "fit(x, y, settings)"),
    ("predict", 2, "predict(state, x)"),
];
const PREDICT_PROBA: (&str, usize, &str) = ("predict_proba", 2, "predict_proba(state, x)");

impl RhaiRunner {
    pub fn new(limits: Limits) -> Self {
        RhaiRunner { limits }
    }

    /// A bare engine (Rhai's standard library, none of the kernel's functions) with the
    /// limits of cells. Printing goes nowhere: an algorithm runs on the server too, where
    /// it must not write to the log.
    fn engine(&self) -> Engine {
        let mut engine = bare_engine(&self.limits);
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        engine.register_fn("progress", report_progress);
        engine
    }

    /// The source compiled, with a syntax error located in it.
    fn compile(&self, engine: &Engine, source: &str) -> Result<AST, String> {
        engine.compile(source).map_err(|e| {
            let (kind, pos) = (*e.0, e.1);
            match kind {
                rhai::ParseErrorType::ExprTooDeep => format!(
                    "expressions are nested more than {} levels deep{}",
                    self.limits.max_expr_depth,
                    at(pos)
                ),
                other => format!("syntax error: {other}{}", at(pos)),
            }
        })
    }

    /// Calls `function` of `ast` and returns its value as checked data.
    fn call(
        &self,
        engine: &Engine,
        ast: &AST,
        function: &str,
        args: impl rhai::FuncArgs,
        what: &str,
    ) -> Result<Value, String> {
        let value: Dynamic = engine
            .call_fn(&mut Scope::new(), ast, function, args)
            .map_err(|e| self.runtime_message(*e, ast, function))?;
        plain_data(&value, what).map_err(|problem| {
            format!(
                "{problem}; {function} must return plain data (maps, arrays, numbers, strings \
                 and bools)"
            )
        })?;
        rhai::serde::from_dynamic(&value).map_err(|e| format!("{function} returned {e}"))
    }

    /// A script error as a message: what went wrong and where in the source. Calls are
    /// named only for the algorithm's own functions other than `called` (whose call the
    /// message around this one names), not for closures or the standard library's `map`.
    fn runtime_message(&self, error: EvalAltResult, ast: &AST, called: &str) -> String {
        match error {
            EvalAltResult::ErrorInFunctionCall(name, _, inner, _)
                if name != called
                    && !name.starts_with("anon$")
                    && ast.iter_functions().any(|f| f.name == name) =>
            {
                format!(
                    "in function '{name}': {}",
                    self.runtime_message(*inner, ast, called)
                )
            }
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => {
                self.runtime_message(*inner, ast, called)
            }
            EvalAltResult::ErrorTooManyOperations(pos) => format!(
                "it ran more than {} operations and was stopped (an endless loop?){}",
                self.limits.max_operations,
                at(pos)
            ),
            EvalAltResult::ErrorStackOverflow(pos) => format!(
                "functions called each other more than {} levels deep (endless recursion?){}",
                self.limits.max_call_levels,
                at(pos)
            ),
            EvalAltResult::ErrorRuntime(value, pos) => format!("{value}{}", at(pos)),
            EvalAltResult::ErrorTerminated(_, pos) => format!("cancelled{}", at(pos)),
            mut other => {
                let pos = other.take_position();
                format!("{other}{}", at(pos))
            }
        }
    }
}

impl ScriptRunner for RhaiRunner {
    /// Compiles `source` and checks that it defines `fit` and `predict` (and, if at all,
    /// `predict_proba`) with the right parameters.
    fn check(&self, source: &str) -> Result<(), String> {
        let ast = self.compile(&self.engine(), source)?;
        for (name, params, usage) in REQUIRED {
            if !has_function(&ast, name, params, usage)? {
                return Err(format!("it defines no function `{usage}`"));
            }
        }
        let (name, params, usage) = PREDICT_PROBA;
        has_function(&ast, name, params, usage)?;
        Ok(())
    }

    fn fit(
        &self,
        algorithm: &ScriptAlgorithm,
        x: &[Vec<f64>],
        y: ScriptTarget<'_>,
    ) -> Result<Value, String> {
        let engine = self.engine();
        let ast = self.compile(&engine, &algorithm.source)?;
        let y: Dynamic = match y {
            ScriptTarget::None => Dynamic::UNIT,
            ScriptTarget::Classes(labels) => {
                labels.iter().map(label_value).collect::<Array>().into()
            }
            ScriptTarget::Values(values) => values
                .iter()
                .map(|&v| Dynamic::from_float(v))
                .collect::<Array>()
                .into(),
        };
        let settings: Dynamic =
            rhai::serde::to_dynamic(&algorithm.settings).map_err(|e| e.to_string())?;
        self.call(&engine, &ast, "fit", (rows(x), y, settings), "the state")
    }

    fn predict(
        &self,
        algorithm: &ScriptAlgorithm,
        state: &Value,
        x: &[Vec<f64>],
    ) -> Result<ScriptPredictions, String> {
        let engine = self.engine();
        let ast = self.compile(&engine, &algorithm.source)?;
        let state: Dynamic = rhai::serde::to_dynamic(state).map_err(|e| e.to_string())?;
        let x = rows(x);
        let predictions = self.call(
            &engine,
            &ast,
            "predict",
            (state.clone(), x.clone()),
            "the predictions",
        )?;
        let (name, params, usage) = PREDICT_PROBA;
        let probabilities = if has_function(&ast, name, params, usage)? {
            let p = self
                .call(&engine, &ast, name, (state, x), "the probabilities")
                .map_err(|e| format!("in predict_proba: {e}"))?;
            Some(p)
        } else {
            None
        };
        Ok(ScriptPredictions {
            predictions,
            probabilities,
        })
    }
}

/// What a user's algorithm reports its progress in.
const ALGORITHM_UNIT: &str = "steps";

/// An algorithm's `progress(done, total)`: moves the running cell's progress bar (a no-op
/// on the server, where no cell runs).
fn report_progress(done: i64, total: i64) -> Res<()> {
    if total < 1 || !(0..=total).contains(&done) {
        return Err(fail(format!(
            "progress(done, total) needs 0 ≤ done ≤ total and total ≥ 1, not \
             progress({done}, {total})"
        )));
    }
    RunningCell::report(FitProgress {
        done: done as usize,
        total: total as usize,
        unit: ALGORITHM_UNIT,
    });
    Ok(())
}

/// Whether `ast` defines `name`; an error when it does with other parameters.
fn has_function(ast: &AST, name: &str, params: usize, usage: &str) -> Result<bool, String> {
    let counts: Vec<usize> = ast
        .iter_functions()
        .filter(|f| f.name == name)
        .map(|f| f.params.len())
        .collect();
    match counts.first() {
        None => Ok(false),
        Some(_) if counts.contains(&params) => Ok(true),
        Some(found) => Err(format!(
            "its `{name}` takes {found} parameter(s); it must be `{usage}`"
        )),
    }
}

/// " (line L, column C)" for a position in an algorithm's source, or nothing.
fn at(pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
        (Some(line), None) => format!(" (line {line})"),
        _ => String::new(),
    }
}

fn rows(x: &[Vec<f64>]) -> Dynamic {
    x.iter()
        .map(|row| {
            row.iter()
                .map(|&v| Dynamic::from_float(v))
                .collect::<Array>()
                .into()
        })
        .collect::<Array>()
        .into()
}

fn label_value(label: &ClassLabel) -> Dynamic {
    match label {
        ClassLabel::Bool(b) => Dynamic::from_bool(*b),
        ClassLabel::Int(i) => Dynamic::from_int(*i),
        ClassLabel::Str(s) => Dynamic::from(ImmutableString::from(s.as_str())),
    }
}

/// That `value` is data JSON can hold: `()`, bools, ints, finite floats, strings and
/// characters, in arrays and maps. Else what is not, by its path (`the state.f[2]`).
fn plain_data(value: &Dynamic, path: &str) -> Result<(), String> {
    if value.is_unit() || value.is_bool() || value.is_int() || value.is_string() || value.is_char()
    {
        return Ok(());
    }
    if let Ok(f) = value.as_float() {
        return if f.is_finite() {
            Ok(())
        } else {
            Err(format!("{path} is {f}, not a finite number"))
        };
    }
    if let Some(array) = value.read_lock::<Array>() {
        return array
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| plain_data(item, &format!("{path}[{i}]")));
    }
    if let Some(map) = value.read_lock::<Map>() {
        return map
            .iter()
            .try_for_each(|(key, item)| plain_data(item, &format!("{path}.{key}")));
    }
    let kind = match value.type_name() {
        "Fn" => "a function pointer (Fn)".to_string(),
        "blob" => "a blob (make it an array of numbers)".to_string(),
        other => format!(
            "a value of type {}",
            other.rsplit("::").next().unwrap_or(other)
        ),
    };
    Err(format!("{path} is {kind}"))
}

/// A user's algorithm as a script value: what `algorithm(...)` gives and `fit` takes.
#[derive(Debug, Clone)]
pub struct Algorithm(pub Arc<ScriptAlgorithm>);

impl Algorithm {
    pub fn describe(&self) -> String {
        let a = &self.0;
        format!("algorithm {} ({}, {})", a.name, a.task, a.language)
    }

    /// The algorithm with the settings of one fit.
    fn settings(&self, settings: Option<Map>) -> Res<Settings> {
        let settings = match settings {
            None => Value::Object(serde_json::Map::new()),
            Some(map) => rhai::serde::from_dynamic::<Value>(&Dynamic::from_map(map))?,
        };
        Ok(Settings::Script(ScriptAlgorithm {
            settings,
            ..(*self.0).clone()
        }))
    }
}

fn define(runner: &RhaiRunner, name: &str, task: &str, source: &str) -> Res<Algorithm> {
    script::check_name(name).map_err(fail)?;
    let task = match task {
        "classification" => Task::Classification,
        "regression" => Task::Regression,
        "clustering" => Task::Clustering,
        other => {
            return Err(fail(format!(
                "unknown task '{other}' for algorithm '{name}' (known: classification, \
                 regression, clustering)"
            )))
        }
    };
    runner
        .check(source)
        .map_err(|e| fail(format!("algorithm '{name}': {e}")))?;
    Ok(Algorithm(Arc::new(ScriptAlgorithm {
        name: name.to_string(),
        task,
        language: script::RHAI.to_string(),
        source: source.to_string(),
        settings: Value::Object(serde_json::Map::new()),
        runner: Some(Arc::new(*runner)),
    })))
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState, limits: &Limits) {
    engine.register_type_with_name::<Algorithm>("Algorithm");
    let runner = RhaiRunner::new(*limits);
    engine.register_fn("algorithm", move |name: &str, task: &str, source: &str| {
        define(&runner, name, task, source)
    });
    engine.register_fn("to_string", |a: &mut Algorithm| a.describe());
    engine.register_fn("to_debug", |a: &mut Algorithm| a.describe());

    // The same call shapes as built-in algorithms named by a string.
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, a: Algorithm, features: Array, target: &str| {
            models::train_settings(&s, a.settings(None)?, &df, &features, Some(target))
        },
    );
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, a: Algorithm, features: Array, target: &str, settings: Map| {
            models::train_settings(
                &s,
                a.settings(Some(settings))?,
                &df,
                &features,
                Some(target),
            )
        },
    );
    let s = shared.clone();
    engine.register_fn("fit", move |df: Frame, a: Algorithm, features: Array| {
        models::train_settings(&s, a.settings(None)?, &df, &features, None)
    });
    let s = shared.clone();
    engine.register_fn(
        "fit",
        move |df: Frame, a: Algorithm, features: Array, settings: Map| {
            models::train_settings(&s, a.settings(Some(settings))?, &df, &features, None)
        },
    );

    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame, a: Algorithm, features: Array, target: &str| {
            evaluate::cross_validate_settings(&cv, &df, a.settings(None)?, &features, target, None)
        },
    );
    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame, a: Algorithm, features: Array, target: &str, settings: Map| {
            evaluate::cross_validate_settings(
                &cv,
                &df,
                a.settings(Some(settings))?,
                &features,
                target,
                None,
            )
        },
    );
    let cv = shared.clone();
    engine.register_fn(
        "cross_validate",
        move |df: Frame,
              a: Algorithm,
              features: Array,
              target: &str,
              settings: Map,
              options: Map| {
            evaluate::cross_validate_settings(
                &cv,
                &df,
                a.settings(Some(settings))?,
                &features,
                target,
                Some(options),
            )
        },
    );
}
