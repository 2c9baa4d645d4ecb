//! The editor's Data panel against a stand-in kernel worker: a picked file, a dropped
//! file, a URL (and which way it was fetched), a stored dataset, the panel's fields, and
//! failures — checked through the selectors the end-to-end tests rely on.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{
    attr, click, container, query, query_all, text, text_file, wait_for, worker_url, FAKE_KERNEL,
};
use leptos::prelude::*;
use oxbook_frontend::kernel_bridge::KernelBridge;
use oxbook_frontend::screens::data_panel::{csv_options, is_valid_variable, DataPanel};
use oxbook_frontend::screens::editor::NotebookEditor;
use oxbook_protocol::{DatasetColumn, DatasetFormat, DatasetInfo, Notebook};
use send_wrapper::SendWrapper;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    DataTransfer, DragEvent, DragEventInit, Element, Event, EventInit, File, HtmlInputElement,
    HtmlProgressElement, HtmlSelectElement,
};

wasm_bindgen_test_configure!(run_in_browser);

fn mount_editor() -> Element {
    let notebook = Notebook::new("nb-data".into(), "Data".into(), vec![]);
    let url = worker_url(FAKE_KERNEL);
    let root = container();
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <NotebookEditor notebook=notebook worker_url=url /> },
    )
    .forget();
    root.into()
}

fn files_of(file: &File) -> DataTransfer {
    let transfer = DataTransfer::new().expect("a DataTransfer");
    transfer.items().add_with_file(file).expect("add the file");
    transfer
}

/// Picks `file` in `input#load-file` as a user would (the input's files, then `change`).
fn pick(root: &Element, file: &File) {
    let input: HtmlInputElement = query(root, "input#load-file[type=file]")
        .expect("the file input")
        .unchecked_into();
    input.set_files(Some(&files_of(file).files().unwrap()));
    dispatch(&input, "change");
}

fn dispatch(target: &web_sys::EventTarget, kind: &str) {
    let init = EventInit::new();
    init.set_bubbles(true);
    target
        .dispatch_event(&Event::new_with_event_init_dict(kind, &init).unwrap())
        .unwrap();
}

fn type_into(root: &Element, selector: &str, value: &str) {
    let input: HtmlInputElement = query(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into();
    input.set_value(value);
    dispatch(&input, "input");
}

fn choose(root: &Element, selector: &str, value: &str) {
    let select: HtmlSelectElement = query(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into();
    select.set_value(value);
    assert_eq!(select.value(), value, "{selector} offers {value}");
    dispatch(&select, "change");
}

async fn wait_loaded(root: &Element) {
    wait_for("the load to end", || query(root, "#load-result").is_some()).await;
}

/// The `#load-result` table's body cells, as text.
fn result_rows(root: &Element) -> Vec<Vec<String>> {
    query_all(root, "#load-result table.output-table tbody tr")
        .iter()
        .map(|tr| {
            query_all(tr, "td")
                .iter()
                .map(|td| td.text_content().unwrap_or_default())
                .collect()
        })
        .collect()
}

#[wasm_bindgen_test]
async fn a_picked_file_streams_with_progress_and_shows_its_table() {
    let root = mount_editor();
    for selector in [
        "#data-panel",
        "input#load-file[type=file]",
        "#drop-zone",
        "input#load-url",
        "button#load-url-button",
        "input#load-variable",
        "select#load-format",
        "a[href='/datasets']",
    ] {
        assert!(query(&root, selector).is_some(), "missing {selector}");
    }
    let variable: HtmlInputElement = query(&root, "#load-variable").unwrap().unchecked_into();
    wait_for("the default variable", || variable.value() == "df").await;

    let mut csv = String::from("hat,size\n");
    for i in 0..25 {
        csv.push_str(&format!("hat{i},{}\n", 50 + i));
    }
    pick(&root, &text_file("hats.csv", &csv));
    wait_for("the progress bar", || {
        query(&root, "#load-progress").is_some()
    })
    .await;
    let load_id = attr(&root, "#load-progress", "data-load-id");
    assert_eq!(load_id.len(), 16, "a generated load id: {load_id}");
    wait_loaded(&root).await;

    let progress: HtmlProgressElement = query(&root, "#load-progress").unwrap().unchecked_into();
    assert_eq!(progress.max(), csv.len() as f64);
    assert_eq!(progress.value(), csv.len() as f64);
    assert_eq!(attr(&root, "#load-progress", "data-state"), "done");
    assert!(
        text(&root, "#load-percent").starts_with("100%"),
        "{}",
        text(&root, "#load-percent")
    );
    assert_eq!(attr(&root, "#load-result", "data-load-id"), load_id);
    assert_eq!(attr(&root, "#load-result", "data-variable"), "df");
    assert_eq!(attr(&root, "#load-result", "data-ok"), "true");
    let names: Vec<String> = query_all(&root, "#load-result th span.column-name")
        .iter()
        .map(|e| e.text_content().unwrap())
        .collect();
    assert_eq!(names, ["hat", "size"]);
    // The preview is paged like any table output.
    let rows = result_rows(&root);
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0], ["hat0", "50"]);
    assert_eq!(
        text(&root, "#load-result span.page-info"),
        "Rows 1–10 of 25"
    );
    assert!(text(&root, "#load-result pre.output-text").contains("df: 25 rows, format auto"));
}

#[wasm_bindgen_test]
async fn a_file_dropped_on_the_page_loads_into_the_chosen_variable() {
    let root = mount_editor();
    type_into(&root, "#load-variable", "hats");
    let file = text_file("dropped.csv", "a,b\n1,2\n3,4\n");
    let init = DragEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_data_transfer(Some(&files_of(&file)));
    let drop = DragEvent::new_with_event_init_dict("drop", &init).unwrap();
    let zone = query(&root, "#drop-zone").unwrap();
    zone.dispatch_event(&drop).unwrap();
    assert!(
        drop.default_prevented(),
        "the page takes the drop (the browser would open the file)"
    );
    wait_loaded(&root).await;
    assert_eq!(attr(&root, "#load-result", "data-variable"), "hats");
    assert_eq!(result_rows(&root), [["1", "2"], ["3", "4"]]);
}

#[wasm_bindgen_test]
async fn a_url_loads_with_the_format_and_options_chosen_and_says_how_it_was_fetched() {
    let root = mount_editor();
    choose(&root, "#load-format", "csv");
    type_into(&root, "#load-delimiter", ";");
    choose(&root, "#load-header", "no");
    type_into(&root, "#load-url", "https://example.com/cors/hats.csv");
    click(&root, "#load-url-button");
    wait_loaded(&root).await;
    assert_eq!(attr(&root, "#load-route", "data-route"), "server");
    assert!(text(&root, "#load-route").contains("through the server"));
    let rows = result_rows(&root);
    assert_eq!(rows[0][0], "https://example.com/cors/hats.csv");
    assert_eq!(rows[0][1], "csv");
    let options: serde_json::Value = serde_json::from_str(&rows[0][2]).unwrap();
    assert_eq!(options, json!({ "delimiter": ";", "header": false }));

    // Non-CSV formats take no CSV options; a plain URL is fetched by the browser.
    choose(&root, "#load-format", "jsonl");
    type_into(&root, "#load-url", "/static/rows.jsonl");
    click(&root, "#load-url-button");
    wait_for("the second load", || {
        result_rows(&root)
            .first()
            .is_some_and(|r| r[0] == "/static/rows.jsonl")
    })
    .await;
    assert_eq!(attr(&root, "#load-route", "data-route"), "browser");
    assert_eq!(result_rows(&root)[0][1..], ["jsonl", "{}"]);
    // Unknown total: the text says bytes read, not a percentage.
    assert_eq!(attr(&root, "#load-progress", "data-state"), "done");
}

#[wasm_bindgen_test]
async fn failures_show_as_errors_and_the_panel_recovers() {
    let root = mount_editor();
    type_into(&root, "#load-variable", "1bad name");
    type_into(&root, "#load-url", "/x.csv");
    click(&root, "#load-url-button");
    wait_loaded(&root).await;
    assert_eq!(attr(&root, "#load-result", "data-ok"), "false");
    assert!(text(&root, "#load-result div.output-error").contains("cannot be a variable name"));

    type_into(&root, "#load-variable", "df");
    pick(&root, &text_file("bad.csv", "a,b\n\"unterminated\n"));
    wait_for("the parse failure", || {
        query(
            &root,
            "#load-result[data-ok='false'] div.output-error[data-ename='LoadError']",
        )
        .is_some()
    })
    .await;
    let shown = text(&root, "#load-result div.output-error");
    assert!(
        shown.contains("unterminated quote") && shown.contains("line 3, column 7"),
        "{shown}"
    );
    assert_eq!(attr(&root, "#load-progress", "data-state"), "failed");

    // The kernel dies mid-load: the load fails, the kernel comes back, the next load works.
    pick(&root, &text_file("crash.csv", "a\n1\n"));
    wait_for("the crash report", || {
        query(
            &root,
            "#load-result div.output-error[data-ename='KernelCrashed']",
        )
        .is_some()
    })
    .await;
    wait_for("the restarted kernel", || {
        attr(&root, "#kernel-status", "data-state") == "ready"
    })
    .await;
    pick(&root, &text_file("good.csv", "a\n1\n"));
    wait_for("the load after the crash", || {
        query(&root, "#load-result[data-ok='true']").is_some()
    })
    .await;
    assert_eq!(result_rows(&root), [["1"]]);
}

fn dataset(name: &str, format: DatasetFormat) -> DatasetInfo {
    DatasetInfo {
        name: name.into(),
        format,
        size_bytes: 1234,
        sha256: "ab".repeat(32),
        row_count: Some(3),
        schema: Some(vec![DatasetColumn {
            name: "a".into(),
            dtype: "int".into(),
        }]),
        diagnostics: vec![],
        created_at: "2025-01-01T00:00:00Z".into(),
        data_path: format!("/api/datasets/{name}/data"),
    }
}

#[wasm_bindgen_test]
async fn a_stored_dataset_loads_by_its_data_url_in_its_own_format() {
    let kernel = KernelBridge::spawn(worker_url(FAKE_KERNEL), |_| {});
    let datasets = RwSignal::new(Some(Ok(vec![
        dataset("hats.csv", DatasetFormat::Csv),
        dataset("events", DatasetFormat::Jsonl),
    ])));
    let root = container();
    let dropped = RwSignal::new(None::<SendWrapper<File>>);
    let panel_kernel = SendWrapper::new(kernel.clone());
    leptos::mount::mount_to(root.clone(), move || {
        view! { <DataPanel kernel=panel_kernel dropped=dropped datasets=datasets /> }
    })
    .forget();
    let root: Element = root.into();
    let options: Vec<String> = query_all(&root, "#load-dataset option")
        .iter()
        .map(|o| o.get_attribute("value").unwrap_or_default())
        .collect();
    assert_eq!(options, ["", "hats.csv", "events"]);

    // Nothing chosen yet: a hint, no load.
    click(&root, "#load-dataset-button");
    wait_loaded(&root).await;
    assert!(text(&root, "#load-result").contains("Choose a dataset"));

    choose(&root, "#load-dataset", "events");
    click(&root, "#load-dataset-button");
    wait_for("the dataset load", || {
        query(&root, "#load-result[data-ok='true']").is_some()
    })
    .await;
    let rows = result_rows(&root);
    assert_eq!(rows[0][..2], ["/api/datasets/events/data", "jsonl"]);
    assert_eq!(rows[0][2], "{}", "no CSV options for a JSON Lines dataset");
    kernel.shutdown();
}

#[wasm_bindgen_test]
fn panel_helpers() {
    assert!(is_valid_variable("df") && is_valid_variable("_x1"));
    assert!(!is_valid_variable("1x") && !is_valid_variable("a b") && !is_valid_variable(""));
    assert_eq!(
        serde_json::Value::Object(csv_options("\\t", "auto")),
        json!({ "delimiter": "\t", "header": "auto" })
    );
    assert!(
        csv_options("", "yes").is_empty(),
        "the kernel's defaults go unsaid"
    );
}
