//! Table outputs are paged and sortable: mounted with leptos, clicked, and read back from
//! the DOM through the selectors the end-to-end tests use.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{attr, click, container, query, query_all, text, wait_for};
use leptos::prelude::*;
use oxbook_frontend::outputs::{page_info, sort_order, OutputView, SortDirection, PAGE_ROWS};
use oxbook_protocol::{MimeBundle, Output, TableColumn, TableData};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlButtonElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn column(name: &str, dtype: &str) -> TableColumn {
    TableColumn {
        name: name.into(),
        dtype: dtype.into(),
    }
}

/// 23 rows of (id int, score float with a null every 5th row, name str, ok bool), with
/// `total_rows` as the kernel would say for a larger frame.
fn sample_table(total_rows: usize) -> TableData {
    let names = ["pear", "Apple", "fig", "apple", "date", "kiwi", "Banana"];
    let rows = (0..23)
        .map(|i| {
            let score = if i % 5 == 4 {
                Value::Null
            } else {
                json!(((i * 37) % 23) as f64 / 2.0)
            };
            vec![
                json!(i),
                score,
                json!(names[i % names.len()]),
                json!(i % 3 == 0),
            ]
        })
        .collect();
    TableData {
        columns: vec![
            column("id", "int"),
            column("score", "float"),
            column("name", "str"),
            column("ok", "bool"),
        ],
        rows,
        total_rows,
    }
}

fn mount_table(table: TableData) -> Element {
    let root = container();
    let output = Output::DisplayData {
        data: MimeBundle {
            table: Some(table),
            ..Default::default()
        },
    };
    leptos::mount::mount_to(root.clone(), move || view! { <OutputView output=output /> }).forget();
    root.into()
}

/// The shown rows' cells, as text.
fn shown(root: &Element) -> Vec<Vec<String>> {
    query_all(root, "table.output-table tbody tr")
        .iter()
        .map(|tr| {
            query_all(tr, "td")
                .iter()
                .map(|td| td.text_content().unwrap_or_default())
                .collect()
        })
        .collect()
}

fn column_texts(root: &Element, index: usize) -> Vec<String> {
    shown(root)
        .into_iter()
        .map(|row| row[index].clone())
        .collect()
}

fn header(root: &Element, name: &str) -> Element {
    query_all(root, "table.output-table thead th")
        .into_iter()
        .find(|th| text(th, "span.column-name") == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn disabled(root: &Element, selector: &str) -> bool {
    query(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into::<HtmlButtonElement>()
        .disabled()
}

#[wasm_bindgen_test]
async fn first_page_shows_the_first_rows_in_order_and_pages_through_the_rest() {
    let root = mount_table(sample_table(1000));
    assert_eq!(
        column_texts(&root, 0),
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(text(&root, "span.page-info"), "Rows 1–10 of 23");
    assert_eq!(text(&root, "p.table-note"), "Showing 23 of 1000 rows");
    assert!(disabled(&root, "button.page-prev"));
    assert!(!disabled(&root, "button.page-next"));

    click(&root, "button.page-next");
    wait_for("page 2", || {
        text(&root, "span.page-info") == "Rows 11–20 of 23"
    })
    .await;
    assert_eq!(
        column_texts(&root, 0),
        (10..20).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    click(&root, "button.page-next");
    wait_for("page 3", || {
        text(&root, "span.page-info") == "Rows 21–23 of 23"
    })
    .await;
    assert_eq!(column_texts(&root, 0), ["20", "21", "22"]);
    assert!(
        disabled(&root, "button.page-next"),
        "no page after the last"
    );
    // Null cells are empty, the other columns are there too.
    assert_eq!(shown(&root)[0], ["20", "2.0", "Banana", "false"]);
    assert_eq!(shown(&root)[2], ["22", "4.5", "Apple", "false"]);

    click(&root, "button.page-prev");
    wait_for("back to page 2", || {
        text(&root, "span.page-info") == "Rows 11–20 of 23"
    })
    .await;
}

#[wasm_bindgen_test]
async fn header_clicks_sort_numbers_numerically_with_nulls_last_and_toggle() {
    let table = sample_table(23);
    let expected_scores = |direction| {
        let order = sort_order(&table.rows, 1, "float", direction);
        order
            .iter()
            .map(|&i| match &table.rows[i][1] {
                Value::Null => String::new(),
                v => v.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let ascending = expected_scores(SortDirection::Ascending);
    let root = mount_table(table.clone());
    assert!(query(&root, "th[data-sort]").is_none(), "unsorted at first");

    header(&root, "score")
        .unchecked_into::<HtmlElement>()
        .click();
    wait_for("the sort", || {
        attr(&root, "th[data-dtype='float']", "data-sort") == "asc"
    })
    .await;
    let first_page = column_texts(&root, 1);
    assert_eq!(first_page, ascending[..PAGE_ROWS]);
    let numbers: Vec<f64> = first_page.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        numbers.windows(2).all(|w| w[0] <= w[1]),
        "ascending numerically: {numbers:?}"
    );
    // Numeric, not textual (which would put "10.0" right after "1.5").
    assert_eq!(numbers.first(), Some(&0.0));
    assert!(numbers.iter().all(|&x| x < 10.0), "{numbers:?}");
    // The nulls (4 of them) are on the last page.
    click(&root, "button.page-next");
    click(&root, "button.page-next");
    wait_for("the last page", || {
        text(&root, "span.page-info") == "Rows 21–23 of 23"
    })
    .await;
    assert_eq!(column_texts(&root, 1), ["", "", ""]);

    // Again: descending, back on the first page, nulls still last.
    header(&root, "score")
        .unchecked_into::<HtmlElement>()
        .click();
    wait_for("the reverse sort", || {
        attr(&root, "th[data-dtype='float']", "data-sort") == "desc"
    })
    .await;
    assert_eq!(text(&root, "span.page-info"), "Rows 1–10 of 23");
    let descending = expected_scores(SortDirection::Descending);
    assert_eq!(column_texts(&root, 1), descending[..PAGE_ROWS]);
    assert_eq!(descending[0], "11.0", "the largest score first");
    assert_eq!(
        descending[descending.len() - 1],
        "",
        "nulls last descending too"
    );
    assert_eq!(query_all(&root, "th[data-sort]").len(), 1);
}

#[wasm_bindgen_test]
async fn strings_sort_alphabetically_ignoring_case_and_sorting_moves_whole_rows() {
    let root = mount_table(sample_table(23));
    header(&root, "name")
        .unchecked_into::<HtmlElement>()
        .click();
    wait_for("the sort", || {
        attr(&root, "th[data-dtype='str']", "data-sort") == "asc"
    })
    .await;
    let rows = shown(&root);
    let names: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    // 23 rows over 7 names: Apple ×4 and apple ×3 come first (capitals first among
    // equals), then Banana.
    assert_eq!(
        names,
        [
            "Apple", "Apple", "Apple", "Apple", "apple", "apple", "apple", "Banana", "Banana",
            "Banana"
        ]
    );
    // Each row moved whole: its id still matches its name, and equal names keep id order.
    let ids: Vec<usize> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(&ids[..4], [1, 8, 15, 22]);
    assert_eq!(&ids[4..7], [3, 10, 17]);

    // Another column starts ascending again.
    header(&root, "id").unchecked_into::<HtmlElement>().click();
    wait_for("the id sort", || {
        attr(&root, "th[data-dtype='int']", "data-sort") == "asc"
    })
    .await;
    assert!(query(&root, "th[data-dtype='str'][data-sort]").is_none());
    assert_eq!(
        column_texts(&root, 0),
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
fn small_tables_have_no_pager_and_no_note() {
    let mut table = sample_table(5);
    table.rows.truncate(5);
    let root = mount_table(table);
    assert_eq!(shown(&root).len(), 5);
    assert!(query(&root, ".table-pager").is_none());
    assert!(query(&root, "p.table-note").is_none());
}

#[wasm_bindgen_test]
fn sort_order_is_stable_typed_and_puts_nulls_last() {
    let rows: Vec<Vec<Value>> = [json!(10), json!(9), Value::Null, json!(9), json!(-1.5)]
        .into_iter()
        .map(|v| vec![v])
        .collect();
    assert_eq!(
        sort_order(&rows, 0, "int", SortDirection::Ascending),
        [4, 1, 3, 0, 2]
    );
    assert_eq!(
        sort_order(&rows, 0, "int", SortDirection::Descending),
        [0, 1, 3, 4, 2]
    );
    let words: Vec<Vec<Value>> = ["10", "9", "b", "B"]
        .into_iter()
        .map(|s| vec![json!(s)])
        .collect();
    // Text compares as text in a str column.
    assert_eq!(
        sort_order(&words, 0, "str", SortDirection::Ascending),
        [0, 1, 3, 2]
    );
    let flags: Vec<Vec<Value>> = [json!(true), Value::Null, json!(false)]
        .into_iter()
        .map(|v| vec![v])
        .collect();
    assert_eq!(
        sort_order(&flags, 0, "bool", SortDirection::Ascending),
        [2, 0, 1]
    );
    assert_eq!(page_info(0, 0), "No rows");
    assert_eq!(page_info(4, 45), "Rows 41–45 of 45");
}
