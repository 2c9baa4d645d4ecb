//! Cell outputs as the page shows them: mounted with leptos, checked in the DOM.
#![cfg(target_arch = "wasm32")]

mod common;

use base64::Engine as _;
use common::{attr, container, query, query_all, text};
use leptos::prelude::*;
use oxbook_frontend::outputs::{OutputList, OutputView};
use oxbook_protocol::{CellError, MimeBundle, Output, TableColumn, TableData};
use serde_json::json;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

fn mount_output(output: Output) -> Element {
    let root = container();
    leptos::mount::mount_to(root.clone(), move || view! { <OutputView output=output /> }).forget();
    root.into()
}

#[wasm_bindgen_test]
fn text_output_is_preformatted_and_escaped() {
    let root = mount_output(Output::text("a <b>\n  indented"));
    assert_eq!(text(&root, "pre.output-text"), "a <b>\n  indented");
    assert!(
        query(&root, "pre.output-text b").is_none(),
        "text must not become markup"
    );
}

#[wasm_bindgen_test]
fn table_output_shows_names_dtypes_and_values() {
    let table = TableData {
        columns: vec![
            TableColumn {
                name: "sepal_length".into(),
                dtype: "float".into(),
            },
            TableColumn {
                name: "species".into(),
                dtype: "str".into(),
            },
            TableColumn {
                name: "ok".into(),
                dtype: "bool".into(),
            },
        ],
        rows: vec![
            vec![json!(5.1), json!("setosa"), json!(true)],
            vec![json!(null), json!("virginica"), json!(null)],
        ],
        total_rows: 150,
    };
    let root = mount_output(Output::DisplayData {
        data: MimeBundle {
            table: Some(table),
            ..Default::default()
        },
    });
    let headers = query_all(&root, "table.output-table thead th");
    assert_eq!(headers.len(), 3);
    let names: Vec<String> = headers
        .iter()
        .map(|th| text(th, "span.column-name"))
        .collect();
    let dtypes: Vec<String> = headers.iter().map(|th| text(th, "span.dtype")).collect();
    assert_eq!(names, ["sepal_length", "species", "ok"]);
    assert_eq!(dtypes, ["float", "str", "bool"]);
    let cells: Vec<Vec<String>> = query_all(&root, "table.output-table tbody tr")
        .iter()
        .map(|tr| {
            query_all(tr, "td")
                .iter()
                .map(|td| td.text_content().unwrap_or_default())
                .collect()
        })
        .collect();
    assert_eq!(
        cells,
        vec![vec!["5.1", "setosa", "true"], vec!["", "virginica", ""]]
    );
    assert_eq!(text(&root, ".table-note"), "Showing 2 of 150 rows");
}

#[wasm_bindgen_test]
fn svg_output_is_an_image_not_inline_markup() {
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>"#;
    let root = mount_output(Output::DisplayData {
        data: MimeBundle {
            svg: Some(svg.into()),
            text: Some("a plot".into()),
            ..Default::default()
        },
    });
    let src = attr(&root, "img.output-svg", "src");
    let encoded = src
        .strip_prefix("data:image/svg+xml;base64,")
        .expect("a base64 SVG data URL");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), svg);
    assert!(query(&root, "svg").is_none() && query(&root, "script").is_none());
    assert!(
        query(&root, "pre.output-text").is_none(),
        "only the richest representation is shown"
    );
}

#[wasm_bindgen_test]
fn error_output_names_line_and_column() {
    let root = mount_output(Output::Error(CellError {
        ename: "SyntaxError".into(),
        message: "expected ')'".into(),
        line: Some(3),
        column: Some(14),
    }));
    let shown = text(&root, "div.output-error");
    assert!(shown.contains("SyntaxError"), "{shown}");
    assert!(shown.contains("expected ')'"), "{shown}");
    assert!(shown.contains("line 3, column 14"), "{shown}");
    assert_eq!(attr(&root, "div.output-error", "data-ename"), "SyntaxError");
}

#[wasm_bindgen_test]
fn html_output_is_sanitized_before_insertion() {
    let root = mount_output(Output::DisplayData {
        data: MimeBundle {
            html: Some(
                "<em>hi</em><img src=x onerror=\"alert(1)\"><script>alert(2)</script>".into(),
            ),
            ..Default::default()
        },
    });
    assert_eq!(text(&root, ".output-html em"), "hi");
    assert!(query(&root, ".output-html script").is_none());
    assert!(query(&root, ".output-html img")
        .unwrap()
        .get_attribute("onerror")
        .is_none());
}

#[wasm_bindgen_test]
async fn output_list_follows_its_signal() {
    let outputs = RwSignal::new(vec![Output::text("one")]);
    let root = container();
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <OutputList outputs=outputs /> },
    )
    .forget();
    let root: Element = root.into();
    assert_eq!(query_all(&root, "div.outputs > *").len(), 1);
    outputs.set(vec![Output::text("two"), Output::text("three")]);
    // The view updates from an effect, which runs on the next tick.
    common::wait_for("the new outputs", || {
        query_all(&root, "div.outputs > *").len() == 2
    })
    .await;
    let shown: Vec<String> = query_all(&root, "div.outputs pre.output-text")
        .iter()
        .map(|e| e.text_content().unwrap())
        .collect();
    assert_eq!(shown, ["two", "three"]);
}
