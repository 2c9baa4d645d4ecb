//! How cell outputs look. Each output shows its richest representation: a table, an SVG
//! image, sanitized HTML, else plain text. Nothing a kernel produces is trusted as markup:
//! SVG goes into an `<img>` (where it cannot run script) and HTML is sanitized again.

use base64::Engine as _;
use leptos::either::EitherOf5;
use leptos::prelude::*;
use oxbook_protocol::{CellError, MimeBundle, Output, TableData};
use serde_json::Value;

use crate::markdown::sanitize_html;

/// The outputs under a cell, in order (`div.outputs`).
#[component]
pub fn OutputList(#[prop(into)] outputs: Signal<Vec<Output>>) -> impl IntoView {
    view! {
        <div class="outputs">
            {move || {
                outputs.get().into_iter().map(|output| view! { <OutputView output=output /> }).collect_view()
            }}
        </div>
    }
}

#[component]
pub fn OutputView(output: Output) -> impl IntoView {
    match output {
        Output::Error(error) => view! { <ErrorView error=error /> }.into_any(),
        Output::DisplayData { data } => view! { <DisplayView data=data /> }.into_any(),
    }
}

#[component]
fn DisplayView(data: MimeBundle) -> impl IntoView {
    let MimeBundle {
        text,
        html,
        svg,
        table,
    } = data;
    if let Some(table) = table {
        EitherOf5::A(view! { <TableView table=table /> })
    } else if let Some(svg) = svg {
        EitherOf5::B(view! { <img class="output-svg" alt="plot" src=svg_data_url(&svg) /> })
    } else if let Some(html) = html {
        EitherOf5::C(view! { <div class="output-html" inner_html=sanitize_html(&html)></div> })
    } else if let Some(text) = text {
        EitherOf5::D(view! { <pre class="output-text">{text}</pre> })
    } else {
        EitherOf5::E(())
    }
}

/// `data:` URL of an SVG document, for an `<img>`: images never run their scripts.
pub fn svg_data_url(svg: &str) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// Where an error happened, as shown: `line 3, column 7`.
pub fn error_location(error: &CellError) -> Option<String> {
    match (error.line, error.column) {
        (Some(line), Some(column)) => Some(format!("line {line}, column {column}")),
        (Some(line), None) => Some(format!("line {line}")),
        _ => None,
    }
}

#[component]
fn ErrorView(error: CellError) -> impl IntoView {
    let location =
        error_location(&error).map(|at| view! { <span class="location">" (" {at} ")"</span> });
    let ename = error.ename.clone();
    view! {
        <div class="output-error" data-ename=ename>
            <span class="ename">{error.ename}</span>
            ": "
            <span class="message">{error.message}</span>
            {location}
        </div>
    }
}

/// A table cell's text: strings as they are, numbers and booleans as JSON writes them,
/// nothing for a missing value.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
fn TableView(table: TableData) -> impl IntoView {
    let shown = table.rows.len();
    let note = (table.total_rows > shown).then(|| {
        view! { <p class="table-note">{format!("Showing {shown} of {} rows", table.total_rows)}</p> }
    });
    let header = table
        .columns
        .into_iter()
        .map(|column| {
            let dtype = column.dtype.clone();
            view! {
                <th data-dtype=dtype>
                    <span class="column-name">{column.name}</span>
                    <span class="dtype">{column.dtype}</span>
                </th>
            }
        })
        .collect_view();
    let body = table
        .rows
        .into_iter()
        .map(|row| {
            let cells = row
                .iter()
                .map(|v| view! { <td>{cell_text(v)}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="output-table">
                <thead>
                    <tr>{header}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            {note}
        </div>
    }
}
