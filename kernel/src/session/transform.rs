//! Cleaning and transforming functions of the cell language: nulls, outliers, filtering
//! by expression, sorting, deduplicating, column operations, features, group-by, joins.
//! What an operation noticed (rows removed, values that could not be cast) becomes a
//! note shown under the cell.

use super::frames::strings;
use super::*;
use crate::expr::Lit;
use crate::transform::{
    parse_dtype, Aggregate, Bins, Fill, JoinKind, OutlierMethod, TransformError,
};

/// Column names given as one string or an array of strings.
pub(super) fn names(value: &Dynamic, what: &str) -> Res<Vec<String>> {
    if let Some(name) = value.clone().try_cast::<ImmutableString>() {
        return Ok(vec![name.to_string()]);
    }
    match value.clone().try_cast::<Array>() {
        Some(array) => strings(&array, what),
        None => Err(fail(format!(
            "{what} must be a column name or an array of them, not a {}",
            value.type_name()
        ))),
    }
}

/// A number given as an int or a float.
pub(super) fn number(value: &Dynamic, what: &str) -> Res<f64> {
    if let Some(x) = value.clone().try_cast::<INT>() {
        Ok(x as f64)
    } else if let Some(x) = value.clone().try_cast::<FLOAT>() {
        Ok(x)
    } else {
        Err(fail(format!(
            "{what} must be a number, not a {}",
            value.type_name()
        )))
    }
}

/// A script value as a literal (for fill values and categories).
fn literal(value: &Dynamic, what: &str) -> Res<Lit> {
    if value.is_unit() {
        Ok(Lit::Null)
    } else if let Some(x) = value.clone().try_cast::<INT>() {
        Ok(Lit::Int(x))
    } else if let Some(x) = value.clone().try_cast::<FLOAT>() {
        Ok(Lit::Float(x))
    } else if let Some(x) = value.clone().try_cast::<bool>() {
        Ok(Lit::Bool(x))
    } else if let Some(x) = value.clone().try_cast::<ImmutableString>() {
        Ok(Lit::Str(x.to_string()))
    } else {
        Err(fail(format!(
            "{what} must be a number, bool or string, not a {}",
            value.type_name()
        )))
    }
}

fn err(e: TransformError) -> Box<EvalAltResult> {
    fail(e)
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
    // Each closure that reports gets its own handle on the shared notes.
    let noting = |shared: &SharedState| {
        let shared = shared.clone();
        move |note: String| shared.borrow_mut().notes.push(note)
    };

    // ----- missing values ---------------------------------------------------------------
    let note = noting(shared);
    engine.register_fn("drop_columns_with_nulls", move |df: Frame| -> Res<Frame> {
        let (out, dropped) = df.drop_columns_with_nulls(0.0).map_err(err)?;
        if !dropped.is_empty() {
            note(format!(
                "drop_columns_with_nulls: dropped {}",
                dropped.join(", ")
            ));
        }
        Ok(out)
    });
    let note = noting(shared);
    engine.register_fn(
        "drop_columns_with_nulls",
        move |df: Frame, threshold: FLOAT| -> Res<Frame> {
            let (out, dropped) = df.drop_columns_with_nulls(threshold).map_err(err)?;
            if !dropped.is_empty() {
                note(format!(
                    "drop_columns_with_nulls: dropped {}",
                    dropped.join(", ")
                ));
            }
            Ok(out)
        },
    );
    let note = noting(shared);
    engine.register_fn(
        "fill_nulls",
        move |df: Frame, column: &str, how: Dynamic| -> Res<Frame> {
            let method = how
                .clone()
                .try_cast::<ImmutableString>()
                .and_then(|name| Fill::method(&name).ok());
            let fill = match method {
                Some(method) => method,
                None => Fill::Value(literal(&how, "the fill value")?),
            };
            let (out, message) = df.fill_nulls(column, &fill).map_err(err)?;
            note(message);
            Ok(out)
        },
    );

    // ----- outliers -------------------------------------------------------------------
    for remove in [true, false] {
        let name = if remove {
            "remove_outliers"
        } else {
            "clip_outliers"
        };
        let run = move |df: &Frame, column: &str, method: &str, k: Option<f64>| {
            let method = OutlierMethod::parse(method).map_err(err)?;
            let k = k.unwrap_or(method.default_k());
            if remove {
                df.remove_outliers(column, method, k).map_err(err)
            } else {
                df.clip_outliers(column, method, k).map_err(err)
            }
        };
        let note = noting(shared);
        engine.register_fn(
            name,
            move |df: Frame, column: &str, method: &str| -> Res<Frame> {
                let (out, message) = run(&df, column, method, None)?;
                note(message);
                Ok(out)
            },
        );
        let note = noting(shared);
        engine.register_fn(
            name,
            move |df: Frame, column: &str, method: &str, k: Dynamic| -> Res<Frame> {
                let (out, message) = run(&df, column, method, Some(number(&k, "k")?))?;
                note(message);
                Ok(out)
            },
        );
    }

    // ----- rows -----------------------------------------------------------------------
    engine.register_fn("filter", |df: Frame, condition: &str| {
        df.filter_expr(condition).map_err(err)
    });
    engine.register_fn("sort", |df: Frame, columns: Dynamic| -> Res<Frame> {
        df.sort_by(&names(&columns, "sort's columns")?, false)
            .map_err(err)
    });
    engine.register_fn(
        "sort",
        |df: Frame, columns: Dynamic, descending: bool| -> Res<Frame> {
            df.sort_by(&names(&columns, "sort's columns")?, descending)
                .map_err(err)
        },
    );
    engine.register_fn("dedupe", |df: Frame| df.dedupe(None).map_err(err));
    engine.register_fn("dedupe", |df: Frame, columns: Dynamic| -> Res<Frame> {
        df.dedupe(Some(&names(&columns, "dedupe's columns")?))
            .map_err(err)
    });

    // ----- columns --------------------------------------------------------------------
    engine.register_fn("drop", |df: Frame, columns: Dynamic| -> Res<Frame> {
        df.drop_columns(&names(&columns, "drop's columns")?)
            .map_err(err)
    });
    engine.register_fn("rename", |df: Frame, mapping: Map| -> Res<Frame> {
        let pairs = mapping
            .iter()
            .map(|(old, new)| {
                let new = new.clone().into_string().map_err(|t| {
                    fail(format!(
                        "the new name of '{old}' must be a string, not a {t}"
                    ))
                })?;
                Ok((old.to_string(), new))
            })
            .collect::<Res<Vec<_>>>()?;
        df.rename(&pairs).map_err(err)
    });
    let note = noting(shared);
    engine.register_fn(
        "cast",
        move |df: Frame, column: &str, dtype: &str| -> Res<Frame> {
            let (out, message) = df
                .cast(column, parse_dtype(dtype).map_err(err)?)
                .map_err(err)?;
            message.into_iter().for_each(&note);
            Ok(out)
        },
    );
    engine.register_fn("derive", |df: Frame, name: &str, expr: &str| {
        df.derive(name, expr).map_err(err)
    });

    // ----- features -------------------------------------------------------------------
    engine.register_fn("one_hot", |df: Frame, column: &str| {
        df.one_hot(column).map_err(err)
    });
    let note = noting(shared);
    engine.register_fn(
        "ordinal_encode",
        move |df: Frame, column: &str| -> Res<Frame> {
            let (out, message) = df.ordinal_encode(column, None).map_err(err)?;
            message.into_iter().for_each(&note);
            Ok(out)
        },
    );
    let note = noting(shared);
    engine.register_fn(
        "ordinal_encode",
        move |df: Frame, column: &str, order: Array| -> Res<Frame> {
            let order = order
                .iter()
                .map(|v| match literal(v, "ordinal_encode's order")? {
                    Lit::Str(s) => Ok(s),
                    Lit::Null => Err(fail("ordinal_encode's order cannot hold ()")),
                    other => Ok(other.to_string()),
                })
                .collect::<Res<Vec<_>>>()?;
            let (out, message) = df.ordinal_encode(column, Some(order)).map_err(err)?;
            message.into_iter().for_each(&note);
            Ok(out)
        },
    );
    engine.register_fn(
        "standard_scale",
        |df: Frame, columns: Dynamic| -> Res<Frame> {
            df.standard_scale(&names(&columns, "standard_scale's columns")?)
                .map_err(err)
        },
    );
    engine.register_fn(
        "min_max_scale",
        |df: Frame, columns: Dynamic| -> Res<Frame> {
            df.min_max_scale(&names(&columns, "min_max_scale's columns")?)
                .map_err(err)
        },
    );
    let note = noting(shared);
    engine.register_fn(
        "log_transform",
        move |df: Frame, column: &str| -> Res<Frame> {
            let (out, message) = df.log_transform(column).map_err(err)?;
            message.into_iter().for_each(&note);
            Ok(out)
        },
    );
    engine.register_fn(
        "bin",
        |df: Frame, column: &str, bins: Dynamic| -> Res<Frame> {
            let bins = if let Some(n) = bins.clone().try_cast::<INT>() {
                Bins::Count(usize::try_from(n).unwrap_or(0))
            } else if let Some(edges) = bins.clone().try_cast::<Array>() {
                Bins::Edges(
                    edges
                        .iter()
                        .map(|e| number(e, "a bin edge"))
                        .collect::<Res<Vec<_>>>()?,
                )
            } else {
                return Err(fail(format!(
                    "bin takes a number of bins or an array of edges, not a {}",
                    bins.type_name()
                )));
            };
            df.bin(column, &bins).map_err(err)
        },
    );
    engine.register_fn("recipe", |df: Frame| df.recipe().describe());

    // ----- group-by and joins ---------------------------------------------------------
    engine.register_fn(
        "group_by",
        |df: Frame, keys: Dynamic, aggregates: Map| -> Res<Frame> {
            let keys = names(&keys, "group_by's keys")?;
            let aggregates = aggregates
                .iter()
                .map(|(name, spec)| {
                    let spec = spec.clone().into_string().map_err(|t| {
                        fail(format!(
                            "aggregate '{name}' must be a string such as \"sum(income)\", not a {t}"
                        ))
                    })?;
                    Ok((name.to_string(), Aggregate::parse(&spec).map_err(err)?))
                })
                .collect::<Res<Vec<_>>>()?;
            df.group_by(&keys, &aggregates).map_err(err)
        },
    );
    engine.register_fn(
        "join",
        |left: Frame, right: Frame, on: Dynamic| -> Res<Frame> {
            left.join(&right, &names(&on, "join's keys")?, JoinKind::Inner)
                .map_err(err)
        },
    );
    engine.register_fn(
        "join",
        |left: Frame, right: Frame, on: Dynamic, how: &str| -> Res<Frame> {
            let kind = JoinKind::parse(how).map_err(err)?;
            left.join(&right, &names(&on, "join's keys")?, kind)
                .map_err(err)
        },
    );
}
