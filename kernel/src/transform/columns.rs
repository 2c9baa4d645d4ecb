//! Column operations: drop, rename, cast, derive.

use super::{plural, TransformError};
use crate::expr::{cast_column, Expr};
use crate::frame::{DType, Frame, FrameError};
use crate::recipe::{Recipe, Step};

/// A type by the name cells use: `int`, `float`, `bool`, `str` or `datetime`.
pub fn parse_dtype(name: &str) -> Result<DType, TransformError> {
    Ok(match name {
        "int" => DType::Int,
        "float" => DType::Float,
        "bool" => DType::Bool,
        "str" => DType::Str,
        "datetime" => DType::Datetime,
        other => {
            return Err(TransformError::Invalid(format!(
                "unknown type '{other}' (use int, float, bool, str or datetime)"
            )))
        }
    })
}

impl Frame {
    /// The frame without the named columns.
    pub fn drop_columns(&self, names: &[String]) -> Result<Frame, TransformError> {
        for name in names {
            self.column(name)?;
        }
        let keep: Vec<String> = self
            .column_names()
            .into_iter()
            .filter(|c| !names.contains(c))
            .collect();
        Ok(self.select(&keep)?)
    }

    /// The frame with columns renamed (`(old, new)` pairs), each where it stood. Recorded
    /// in the recipe, so that later steps find the columns under their new names.
    pub fn rename(&self, pairs: &[(String, String)]) -> Result<Frame, TransformError> {
        for (i, (from, to)) in pairs.iter().enumerate() {
            self.column(from)?;
            if to.is_empty() {
                return Err(TransformError::Invalid(format!(
                    "the new name of '{from}' is empty"
                )));
            }
            if pairs[..i].iter().any(|(f, t)| f == from || t == to) {
                return Err(FrameError::DuplicateColumn(to.clone()).into());
            }
            // Renaming one column to another's old name at once (a swap) would depend on
            // the order the renames run in.
            if pairs.iter().any(|(f, _)| f == to && f != from) {
                return Err(TransformError::Invalid(format!(
                    "'{to}' is both renamed and a new name; rename in two steps"
                )));
            }
        }
        let mut out = self.clone();
        for (from, to) in pairs {
            if from == to {
                continue;
            }
            let step = Step::Rename {
                from: from.clone(),
                to: to.clone(),
            };
            out = Recipe::apply_and_record(&out, step)?;
        }
        Ok(out)
    }

    /// The frame with `column` converted to `to` (recorded), and a note when some values
    /// could not be converted and became null.
    pub fn cast(&self, column: &str, to: DType) -> Result<(Frame, Option<String>), TransformError> {
        let cast = cast_column(&self.column(column)?.data, to);
        let note = cast.first_failure.map(|(row, value)| {
            format!(
                "cast: {} of '{column}' could not be read as {to} and became null (the first: {value:?} in row {row})",
                plural(cast.failed, "value"),
            )
        });
        let step = Step::Cast {
            column: column.to_string(),
            to,
        };
        Ok((Recipe::apply_and_record(self, step)?, note))
    }

    /// The frame with a column `name` computed by the expression `expr` (replacing a
    /// column of that name). Recorded.
    pub fn derive(&self, name: &str, expr: &str) -> Result<Frame, TransformError> {
        if name.is_empty() {
            return Err(TransformError::Invalid(
                "the new column needs a name".into(),
            ));
        }
        // Parsed here for its errors; the step keeps the text.
        Expr::parse(expr)?;
        let step = Step::Derive {
            name: name.to_string(),
            expr: expr.to_string(),
        };
        Recipe::apply_and_record(self, step)
    }
}
