//! Frame functions of the cell language: loading, selecting, filtering, describing.

use super::*;

pub(super) fn index(n: INT, what: &str) -> Res<usize> {
    usize::try_from(n).map_err(|_| fail(format!("{what} must be 0 or more, not {n}")))
}

pub(super) fn strings(array: &Array, what: &str) -> Res<Vec<String>> {
    array
        .iter()
        .map(|v| {
            v.clone()
                .into_string()
                .map_err(|t| fail(format!("{what} must be strings, found a {t}")))
        })
        .collect()
}

pub(super) fn scalar(value: &Dynamic) -> Res<Scalar> {
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

pub(super) fn column_values(frame: &Frame, name: &str) -> Res<Array> {
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
            .map(|x| to_dynamic(x.map(|s| Dynamic::from(s.to_string()))))
            .collect(),
        // Scripts have no datetime type: ISO-8601 text, as the table shows them.
        ColumnData::Datetime(v) => v
            .iter()
            .map(|x| to_dynamic(x.map(|ms| Dynamic::from(format_datetime(ms)))))
            .collect(),
    })
}

pub(super) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Frame>("Frame");
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
