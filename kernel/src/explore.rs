//! Exploring a frame: correlations and a data-quality report. (`describe`, `head`,
//! `value_counts` live with the frame; `tail` and `sample` with the row operations.)

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::expr::Lit;
use crate::frame::{format_float, Column, ColumnData, DType, Frame};
use crate::transform::{OutlierMethod, TransformError};

/// The numeric (int, float, bool) columns, as `corr` uses them.
pub fn numeric_columns(frame: &Frame) -> Vec<&Column> {
    frame
        .columns()
        .filter(|c| matches!(c.data.dtype(), DType::Int | DType::Float | DType::Bool))
        .collect()
}

/// Pearson's correlation of two columns over the rows where both have finite values;
/// `None` when fewer than two such rows or either is constant there.
pub fn pearson(a: &ColumnData, b: &ColumnData) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = (0..a.len())
        .filter_map(|i| {
            let (x, y) = (a.f64_at(i)?, b.f64_at(i)?);
            (x.is_finite() && y.is_finite()).then_some((x, y))
        })
        .collect();
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    // Rounding can carry |r| a hair past 1.
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

impl Frame {
    /// The matrix of Pearson correlations between the numeric columns (bool as 0/1), each
    /// pair over the rows where both have values: a `column` column naming the rows, then
    /// a float column per numeric column. Null where a correlation is undefined (a
    /// constant column, fewer than two rows).
    pub fn corr(&self) -> Result<Frame, TransformError> {
        let numeric = numeric_columns(self);
        if numeric.is_empty() {
            return Err(TransformError::Invalid(
                "corr needs numeric (int, float or bool) columns, and the frame has none".into(),
            ));
        }
        let k = numeric.len();
        let mut matrix = vec![vec![None; k]; k];
        for i in 0..k {
            for j in i..k {
                let r = if i == j {
                    pearson(&numeric[i].data, &numeric[i].data).map(|_| 1.0)
                } else {
                    pearson(&numeric[i].data, &numeric[j].data)
                };
                matrix[i][j] = r;
                matrix[j][i] = r;
            }
        }
        let mut columns = vec![Column {
            name: "column".into(),
            data: ColumnData::Str(numeric.iter().map(|c| Some(c.name.clone())).collect()),
        }];
        for (j, c) in numeric.iter().enumerate() {
            let mut name = c.name.clone();
            if name == "column" {
                name.push('_');
            }
            columns.push(Column {
                name,
                data: ColumnData::Float(matrix.iter().map(|row| row[j]).collect()),
            });
        }
        Ok(Frame::new(columns)?)
    }

    /// A data-quality report: a table with a row per column (type, nulls, distinct
    /// values, outliers by 1.5 × IQR for numeric columns, and the issues found), and a
    /// text summary that also covers duplicate rows and, given a `target`, the balance
    /// of its classes.
    pub fn quality_report(&self, target: Option<&str>) -> Result<(Frame, String), TransformError> {
        let rows = self.row_count();
        let target_data = match target {
            Some(t) => Some(&self.column(t)?.data),
            None => None,
        };
        let pct = |n: usize| format!("{:.1}%", 100.0 * n as f64 / rows.max(1) as f64);
        let duplicates_of = duplicate_columns(self);
        let mut names = Vec::new();
        let mut dtypes = Vec::new();
        let mut nulls_col = Vec::new();
        let mut null_share = Vec::new();
        let mut distinct_col = Vec::new();
        let mut outliers_col = Vec::new();
        let mut issues_col = Vec::new();
        let (mut null_lines, mut outlier_lines, mut constant, mut duplicate_lines) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for column in self.columns() {
            let data = &column.data;
            let nulls = (0..rows).filter(|&i| data.is_null(i)).count();
            let distinct = self.categories_count(&column.name);
            let numeric = matches!(data.dtype(), DType::Int | DType::Float);
            let outliers = if numeric && nulls < rows {
                self.outliers(&column.name, OutlierMethod::Iqr, 1.5)
                    .ok()
                    .map(|o| o.count)
            } else {
                None
            };
            let mut issues = Vec::new();
            if rows > 0 && nulls == rows {
                issues.push("all null".to_string());
            } else if nulls * 2 > rows {
                issues.push("mostly null".to_string());
            } else if nulls > 0 {
                issues.push("nulls".to_string());
            }
            if nulls > 0 {
                null_lines.push(format!("{} ({})", column.name, pct(nulls)));
            }
            if distinct == 1 {
                issues.push("constant".to_string());
                constant.push(column.name.clone());
            }
            if let Some(n) = outliers.filter(|&n| n > 0) {
                issues.push("outliers".to_string());
                outlier_lines.push(format!("{} ({n})", column.name));
            }
            if let Some(first) = duplicates_of.get(&column.name) {
                issues.push(format!("same as {first}"));
                duplicate_lines.push(format!("{} = {first}", column.name));
            }
            names.push(Some(column.name.clone()));
            dtypes.push(Some(data.dtype().name().to_string()));
            nulls_col.push(Some(nulls as i64));
            null_share.push(Some(if rows == 0 {
                0.0
            } else {
                nulls as f64 / rows as f64
            }));
            distinct_col.push(Some(distinct as i64));
            outliers_col.push(outliers.map(|n| n as i64));
            issues_col.push(Some(issues.join(", ")));
        }
        let table = Frame::new(vec![
            Column {
                name: "column".into(),
                data: ColumnData::Str(names.into()),
            },
            Column {
                name: "dtype".into(),
                data: ColumnData::Str(dtypes.into()),
            },
            Column {
                name: "nulls".into(),
                data: ColumnData::Int(nulls_col.into()),
            },
            Column {
                name: "null_share".into(),
                data: ColumnData::Float(null_share.into()),
            },
            Column {
                name: "distinct".into(),
                data: ColumnData::Int(distinct_col.into()),
            },
            Column {
                name: "outliers".into(),
                data: ColumnData::Int(outliers_col.into()),
            },
            Column {
                name: "issues".into(),
                data: ColumnData::Str(issues_col.into()),
            },
        ])?;

        let list = |items: &[String]| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        let duplicate_rows = rows - self.dedupe(None)?.row_count();
        let mut text = vec![
            format!(
                "quality report: {} × {}",
                plural(rows, "row"),
                plural(self.column_names().len(), "column")
            ),
            format!("nulls: {}", list(&null_lines)),
            format!("outliers (beyond 1.5 × IQR): {}", list(&outlier_lines)),
            format!("constant columns: {}", list(&constant)),
            format!("duplicate columns: {}", list(&duplicate_lines)),
            format!("duplicate rows: {duplicate_rows}"),
        ];
        if let (Some(name), Some(data)) = (target, target_data) {
            text.push(class_balance(self, name, data)?);
        }
        Ok((table, text.join("\n")))
    }

    /// The number of distinct non-null values of a column.
    fn categories_count(&self, column: &str) -> usize {
        use crate::transform::Cell;
        self.column(column)
            .map(|c| {
                (0..c.data.len())
                    .filter(|&i| !c.data.is_null(i))
                    .map(|i| Cell::at(&c.data, i))
                    .collect::<std::collections::HashSet<_>>()
                    .len()
            })
            .unwrap_or(0)
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// How a target's classes are spread, flagged as imbalanced when the largest class is
/// more than three times the smallest.
fn class_balance(frame: &Frame, name: &str, data: &ColumnData) -> Result<String, TransformError> {
    let counts = frame.value_counts(name)?;
    let columns: Vec<&Column> = counts.columns().collect();
    let present = (0..data.len()).filter(|&i| !data.is_null(i)).count().max(1);
    let mut parts = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..counts.row_count() {
        let value = Lit::at(&columns[0].data, i);
        let n = columns[1].data.f64_at(i).unwrap_or_default() as usize;
        sizes.push(n);
        let value = match value {
            Lit::Str(s) => s,
            other => other.to_string(),
        };
        parts.push(format!(
            "{value} {n} ({:.1}%)",
            100.0 * n as f64 / present as f64
        ));
    }
    let verdict = match (sizes.first(), sizes.last()) {
        (Some(&big), Some(&small)) if sizes.len() > 1 && big > 3 * small => format!(
            " — imbalanced: the largest class is {}× the smallest",
            format_float(big as f64 / small.max(1) as f64)
        ),
        _ if sizes.len() < 2 => " — fewer than 2 classes".to_string(),
        _ => String::new(),
    };
    Ok(format!(
        "classes of {name}: {}{verdict}",
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    ))
}

/// Each column whose values equal an earlier column's, mapped to the first such column.
fn duplicate_columns(frame: &Frame) -> HashMap<String, String> {
    let columns: Vec<&Column> = frame.columns().collect();
    let hashes: Vec<u64> = columns
        .iter()
        .map(|c| {
            // A fixed-key hasher: the same on every run; collisions are checked below.
            let mut h = DefaultHasher::new();
            c.data.dtype().hash(&mut h);
            for i in 0..c.data.len() {
                crate::transform::Cell::at(&c.data, i).hash(&mut h);
            }
            h.finish()
        })
        .collect();
    let mut found = HashMap::new();
    for j in 0..columns.len() {
        if let Some(i) =
            (0..j).find(|&i| hashes[i] == hashes[j] && columns[i].data == columns[j].data)
        {
            found.insert(columns[j].name.clone(), columns[i].name.clone());
        }
    }
    found
}
