//! Plain-text rendering of cell outputs for the terminal (`oxbook run`).

use oxbook_protocol::{CellError, MimeBundle, Output, TableData};

/// One output as terminal text: a table as aligned columns, a plot as a one-line note, and
/// otherwise its `text/plain`.
pub fn render_output(output: &Output) -> String {
    match output {
        Output::DisplayData { data } => render_bundle(data),
        Output::Error(error) => render_error(error),
    }
}

fn render_bundle(data: &MimeBundle) -> String {
    if let Some(table) = &data.table {
        render_table(table)
    } else if let Some(svg) = &data.svg {
        format!("[svg plot, {} bytes]", svg.len())
    } else if let Some(text) = &data.text {
        text.clone()
    } else if let Some(html) = &data.html {
        format!("[html, {} bytes]", html.len())
    } else {
        "[empty output]".to_string()
    }
}

/// `RuntimeError at line 2, column 5: message`, with as much position as is known.
pub fn render_error(error: &CellError) -> String {
    match (error.line, error.column) {
        (Some(line), Some(column)) => {
            format!(
                "{} at line {line}, column {column}: {}",
                error.ename, error.message
            )
        }
        (Some(line), None) => format!("{} at line {line}: {}", error.ename, error.message),
        _ => format!("{}: {}", error.ename, error.message),
    }
}

/// The table with a header, a rule, right-aligned numbers and a footer counting rows.
pub fn render_table(table: &TableData) -> String {
    let header: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(cell_text).collect())
        .collect();
    let column_count = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; column_count];
    for line in std::iter::once(&header).chain(rows.iter()) {
        for (i, text) in line.iter().enumerate() {
            widths[i] = widths[i].max(text.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..column_count)
        .map(|i| {
            table
                .columns
                .get(i)
                .is_some_and(|c| matches!(c.dtype.as_str(), "int" | "float"))
        })
        .collect();
    let format_line = |line: &[String]| -> String {
        let cells: Vec<String> = (0..column_count)
            .map(|i| {
                let text = line.get(i).map(String::as_str).unwrap_or("");
                if numeric[i] {
                    format!("{text:>width$}", width = widths[i])
                } else {
                    format!("{text:<width$}", width = widths[i])
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&format_line(&header));
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat((*w).max(1))).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for row in &rows {
        out.push_str(&format_line(row));
        out.push('\n');
    }
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    if rows.len() < table.total_rows {
        out.push_str(&format!(
            "[first {} of {} x {}]",
            rows.len(),
            plural(table.total_rows, "row"),
            plural(column_count, "column")
        ));
    } else {
        out.push_str(&format!(
            "[{} x {}]",
            plural(table.total_rows, "row"),
            plural(column_count, "column")
        ));
    }
    out
}

fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NA".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbook_protocol::TableColumn;
    use serde_json::json;

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let table = TableData {
            columns: vec![
                TableColumn {
                    name: "name".into(),
                    dtype: "str".into(),
                },
                TableColumn {
                    name: "x".into(),
                    dtype: "float".into(),
                },
            ],
            rows: vec![
                vec![json!("a"), json!(1.5)],
                vec![json!("bbb"), json!(null)],
            ],
            total_rows: 5,
        };
        let text = render_table(&table);
        assert_eq!(
            text,
            "name    x\n----  ---\na     1.5\nbbb    NA\n[first 2 of 5 rows x 2 columns]"
        );
    }

    #[test]
    fn svg_is_summarised_and_errors_carry_position() {
        let svg = Output::DisplayData {
            data: MimeBundle {
                svg: Some("<svg/>".into()),
                ..MimeBundle::default()
            },
        };
        assert_eq!(render_output(&svg), "[svg plot, 6 bytes]");
        let error = Output::Error(CellError {
            ename: "RuntimeError".into(),
            message: "boom".into(),
            line: Some(2),
            column: Some(7),
        });
        assert_eq!(
            render_output(&error),
            "RuntimeError at line 2, column 7: boom"
        );
    }
}
