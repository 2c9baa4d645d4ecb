//! The datasets page, mounted with stand-in data: the list and its selectors, the actions'
//! callbacks, and the upload form's checks.
#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::{Arc, Mutex};

use common::{attr, click, container, query, query_all, text, text_file, wait_for};
use leptos::prelude::*;
use oxbook_frontend::screens::datasets::{load_snippet, name_from_file, DatasetsTable, UploadForm};
use oxbook_protocol::{DatasetColumn, DatasetFormat, DatasetInfo};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{DataTransfer, Element, Event, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn stand_ins() -> Vec<DatasetInfo> {
    vec![
        DatasetInfo {
            name: "hats.csv".into(),
            format: DatasetFormat::Csv,
            size_bytes: 43_100_000,
            sha256: "0123456789abcdef".repeat(4),
            row_count: Some(1_000_000),
            schema: Some(vec![
                DatasetColumn {
                    name: "price".into(),
                    dtype: "float".into(),
                },
                DatasetColumn {
                    name: "colour".into(),
                    dtype: "str".into(),
                },
            ]),
            diagnostics: vec![],
            created_at: "2025-03-01T10:00:00Z".into(),
            data_path: "/api/datasets/hats.csv/data".into(),
        },
        DatasetInfo {
            name: "broken.json".into(),
            format: DatasetFormat::Json,
            size_bytes: 12,
            sha256: "f".repeat(64),
            row_count: None,
            schema: None,
            diagnostics: vec!["line 1, column 12: expected ',' or ']'".into()],
            created_at: "2025-03-02T10:00:00Z".into(),
            data_path: "/api/datasets/broken.json/data".into(),
        },
    ]
}

#[wasm_bindgen_test]
async fn lists_datasets_with_their_schema_and_actions() {
    let deleted = Arc::new(Mutex::new(Vec::<String>::new()));
    let opened = Arc::new(Mutex::new(Vec::<String>::new()));
    let (d, o) = (deleted.clone(), opened.clone());
    let on_delete = Callback::new(move |name: String| d.lock().unwrap().push(name));
    let on_open = Callback::new(move |name: String| o.lock().unwrap().push(name));
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! { <DatasetsTable datasets=stand_ins() on_delete=on_delete on_open=on_open /> }
    })
    .forget();
    let root: Element = root.into();

    let rows = query_all(&root, "#datasets-table tr.dataset-row[data-dataset]");
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.get_attribute("data-dataset").unwrap())
        .collect();
    assert_eq!(names, ["hats.csv", "broken.json"]);
    let hats = query(&root, "tr.dataset-row[data-dataset='hats.csv']").unwrap();
    assert_eq!(text(&hats, ".dataset-format"), "csv");
    assert_eq!(text(&hats, ".dataset-size"), "43.1 MB");
    assert_eq!(attr(&hats, ".dataset-size", "title"), "43100000 bytes");
    assert_eq!(text(&hats, ".dataset-rows"), "1000000");
    let columns: Vec<(String, String)> = query_all(&hats, ".dataset-column")
        .iter()
        .map(|c| (text(c, ".column-name"), text(c, ".dtype")))
        .collect();
    assert_eq!(
        columns,
        [
            ("price".to_string(), "float".to_string()),
            ("colour".to_string(), "str".to_string())
        ]
    );
    assert_eq!(text(&hats, "code.dataset-sha"), "0123456789ab");
    assert_eq!(text(&hats, ".dataset-created"), "2025-03-01T10:00:00Z");
    assert_eq!(
        text(&hats, "code.dataset-snippet"),
        "let df = load_dataset(\"hats.csv\");"
    );

    let broken = query(&root, "tr.dataset-row[data-dataset='broken.json']").unwrap();
    assert_eq!(text(&broken, ".dataset-rows"), "?");
    assert_eq!(text(&broken, ".dataset-columns"), "unknown");
    assert!(text(&broken, ".dataset-diagnostics").contains("line 1, column 12"));

    click(&broken, "button.delete-dataset");
    click(&hats, "button.load-dataset");
    assert_eq!(*deleted.lock().unwrap(), ["broken.json"]);
    assert_eq!(*opened.lock().unwrap(), ["hats.csv"]);
}

#[wasm_bindgen_test]
fn an_empty_store_says_so() {
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! {
            <DatasetsTable
                datasets=vec![]
                on_delete=Callback::new(|_: String| {})
                on_open=Callback::new(|_: String| {})
            />
        }
    })
    .forget();
    let root: Element = root.into();
    assert!(query(&root, "#datasets-table").is_none());
    assert!(text(&root, "p.empty").contains("No datasets"));
}

#[wasm_bindgen_test]
async fn the_upload_form_names_the_dataset_after_the_file_and_checks_the_name() {
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! { <UploadForm on_uploaded=Callback::new(|_: DatasetInfo| {}) /> }
    })
    .forget();
    let root: Element = root.into();

    // Nothing chosen.
    click(&root, "#dataset-upload-button");
    wait_for("the refusal", || {
        attr(&root, "#upload-status", "data-state") == "error"
    })
    .await;
    assert!(text(&root, "#upload-status").contains("Choose a file"));

    let input: HtmlInputElement = query(&root, "input#dataset-upload")
        .unwrap()
        .unchecked_into();
    let transfer = DataTransfer::new().unwrap();
    transfer
        .items()
        .add_with_file(&text_file("my hats (2).csv", "a\n1\n"))
        .unwrap();
    input.set_files(Some(&transfer.files().unwrap()));
    input
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    let name: HtmlInputElement = query(&root, "input#dataset-name").unwrap().unchecked_into();
    wait_for("the suggested name", || name.value() == "my_hats__2_.csv").await;

    name.set_value(".hidden");
    name.dispatch_event(&Event::new("input").unwrap()).unwrap();
    click(&root, "#dataset-upload-button");
    wait_for("the name check", || {
        text(&root, "#upload-status").contains("cannot name a dataset")
    })
    .await;
}

#[wasm_bindgen_test]
fn snippet_and_name_helpers() {
    assert_eq!(load_snippet("a\"b"), "let df = load_dataset(\"a\\\"b\");");
    assert_eq!(name_from_file("..x y.csv"), "x_y.csv");
    assert_eq!(name_from_file(&"a".repeat(300)).len(), 128);
}
