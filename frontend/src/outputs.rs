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

/// Rows per page of a table output.
pub const PAGE_ROWS: usize = 10;

/// Which way a table column is sorted (`th[data-sort]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}

impl SortDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            SortDirection::Ascending => "asc",
            SortDirection::Descending => "desc",
        }
    }
}

/// A table cell as a sort key: what it compares as depends on its column's dtype, so that
/// `10` sorts after `9` in an `int` column but `"10"` before `"9"` in a `str` column.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl SortKey {
    /// `None` for a missing value (which sorts last either way).
    fn of(value: &Value, dtype: &str) -> Option<SortKey> {
        match value {
            Value::Null => None,
            Value::Number(n) if matches!(dtype, "int" | "float") => n.as_f64().map(SortKey::Number),
            Value::Bool(b) if dtype == "bool" => Some(SortKey::Bool(*b)),
            other => Some(SortKey::Text(cell_text(other))),
        }
    }

    fn compare(&self, other: &SortKey) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            // Case only breaks ties, so that "apple" and "Apple" sit together.
            (SortKey::Text(a), SortKey::Text(b)) => a
                .to_lowercase()
                .cmp(&b.to_lowercase())
                .then_with(|| a.cmp(b)),
            // A column holding values of another kind than its dtype says (which a kernel
            // should not send) still sorts deterministically: numbers, booleans, text.
            (a, b) => {
                let rank = |k: &SortKey| match k {
                    SortKey::Number(_) => 0,
                    SortKey::Bool(_) => 1,
                    SortKey::Text(_) => 2,
                };
                rank(a).cmp(&rank(b)).then(Ordering::Equal)
            }
        }
    }
}

/// The order in which to show `rows` when sorted by `column` (of type `dtype`): indices
/// into `rows`. The sort is stable (equal values keep their original order) and missing
/// values come last whichever the direction.
pub fn sort_order(
    rows: &[Vec<Value>],
    column: usize,
    dtype: &str,
    direction: SortDirection,
) -> Vec<usize> {
    let keys: Vec<Option<SortKey>> = rows
        .iter()
        .map(|row| row.get(column).and_then(|v| SortKey::of(v, dtype)))
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| match (&keys[a], &keys[b]) {
        (Some(x), Some(y)) => match direction {
            SortDirection::Ascending => x.compare(y),
            SortDirection::Descending => y.compare(x),
        },
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    order
}

/// The line under a paged table: `Rows 11–20 of 50`.
pub fn page_info(page: usize, shown: usize) -> String {
    if shown == 0 {
        return "No rows".to_string();
    }
    let first = page * PAGE_ROWS + 1;
    let last = ((page + 1) * PAGE_ROWS).min(shown);
    format!("Rows {first}–{last} of {shown}")
}

/// A table output: the rows the kernel sent (up to its preview size), ten to a page, sorted
/// by a header click (again to reverse). Sorting and paging only rearrange the rows sent;
/// when the frame has more, the note says how many are shown.
#[component]
fn TableView(table: TableData) -> impl IntoView {
    let TableData {
        columns,
        rows,
        total_rows,
    } = table;
    let shown = rows.len();
    let pages = shown.div_ceil(PAGE_ROWS).max(1);
    let note = (total_rows > shown).then(|| {
        view! { <p class="table-note">{format!("Showing {shown} of {total_rows} rows")}</p> }
    });
    let dtypes: Vec<String> = columns.iter().map(|c| c.dtype.clone()).collect();
    let rows = StoredValue::new(rows);
    let sort = RwSignal::new(None::<(usize, SortDirection)>);
    let page = RwSignal::new(0usize);
    let order = Memo::new(move |_| match sort.get() {
        None => (0..shown).collect::<Vec<usize>>(),
        Some((column, direction)) => {
            rows.with_value(|rows| sort_order(rows, column, &dtypes[column], direction))
        }
    });
    let header = columns
        .into_iter()
        .enumerate()
        .map(|(index, column)| {
            let dtype = column.dtype.clone();
            let direction = move || {
                sort.get()
                    .filter(|(sorted, _)| *sorted == index)
                    .map(|(_, direction)| direction)
            };
            let on_click = move |_| {
                let next = match direction() {
                    Some(SortDirection::Ascending) => SortDirection::Descending,
                    _ => SortDirection::Ascending,
                };
                sort.set(Some((index, next)));
                page.set(0);
            };
            view! {
                <th
                    data-dtype=dtype
                    data-sort=move || direction().map(SortDirection::as_str)
                    aria-sort=move || match direction() {
                        Some(SortDirection::Ascending) => "ascending",
                        Some(SortDirection::Descending) => "descending",
                        None => "none",
                    }
                    title="Sort by this column (click again to reverse)"
                    on:click=on_click
                >
                    <span class="column-name">{column.name}</span>
                    <span class="dtype">{column.dtype}</span>
                    <span class="sort-mark" aria-hidden="true">
                        {move || match direction() {
                            Some(SortDirection::Ascending) => "▲",
                            Some(SortDirection::Descending) => "▼",
                            None => "",
                        }}
                    </span>
                </th>
            }
        })
        .collect_view();
    let body = move || {
        let start = page.get() * PAGE_ROWS;
        order.with(|order| {
            rows.with_value(|rows| {
                order
                    .iter()
                    .skip(start)
                    .take(PAGE_ROWS)
                    .map(|&index| {
                        let cells = rows[index]
                            .iter()
                            .map(|v| view! { <td>{cell_text(v)}</td> })
                            .collect_view();
                        view! { <tr data-row=index>{cells}</tr> }
                    })
                    .collect_view()
            })
        })
    };
    // Outside the view: a `>=` inside `view!` would end the tag.
    let on_last_page = move || page.get() + 1 >= pages;
    let pager = (pages > 1).then(|| {
        view! {
            <div class="table-pager">
                <button
                    class="page-prev"
                    prop:disabled=move || page.get() == 0
                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))
                >
                    "‹ Prev"
                </button>
                <span class="page-info">{move || page_info(page.get(), shown)}</span>
                <button
                    class="page-next"
                    prop:disabled=on_last_page
                    on:click=move |_| page.update(|p| *p = (*p + 1).min(pages - 1))
                >
                    "Next ›"
                </button>
            </div>
        }
    });
    view! {
        <div class="table-wrap">
            <table class="output-table">
                <thead>
                    <tr>{header}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            {pager}
            {note}
        </div>
    }
}
