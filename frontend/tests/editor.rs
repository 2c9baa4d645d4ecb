//! The notebook editor mounted against a stand-in kernel worker: run all, a kernel crash
//! in the middle of it, Shift+Enter and typing, markdown, fetched files, and deployment
//! failures — checked through the DOM selectors the end-to-end tests rely on.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{attr, container, query, query_all, text, wait_for, worker_url, FAKE_KERNEL};
use leptos::prelude::*;
use oxbook_frontend::screens::editor::NotebookEditor;
use oxbook_protocol::{Cell, CellKind, Notebook};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    Element, Event, EventInit, HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit,
};

wasm_bindgen_test_configure!(run_in_browser);

fn code(id: &str, source: &str) -> Cell {
    Cell {
        id: id.into(),
        kind: CellKind::Code,
        source: source.into(),
        outputs: vec![],
    }
}

fn mount_editor(cells: Vec<Cell>) -> Element {
    let notebook = Notebook::new("nb-test".into(), "Test notebook".into(), cells);
    let url = worker_url(FAKE_KERNEL);
    let root = container();
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <NotebookEditor notebook=notebook worker_url=url /> },
    )
    .forget();
    root.into()
}

fn cell_sel(id: &str) -> String {
    format!("div.cell[data-cell-id='{id}']")
}

fn status(root: &Element, id: &str) -> String {
    attr(root, &cell_sel(id), "data-status")
}

fn click(root: &Element, selector: &str) {
    query(root, selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into::<HtmlElement>()
        .click();
}

#[wasm_bindgen_test]
async fn shows_the_notebook_and_the_kernel_state() {
    let root = mount_editor(vec![code("c1", "x = 1")]);
    let title: web_sys::HtmlInputElement =
        query(&root, "#notebook-title").unwrap().unchecked_into();
    wait_for("the title", || title.value() == "Test notebook").await;
    for selector in [
        "#run-all",
        "#save",
        "#add-code-cell",
        "#add-markdown-cell",
        "#restart-kernel",
    ] {
        assert!(query(&root, selector).is_some(), "missing {selector}");
    }
    assert_eq!(attr(&root, &cell_sel("c1"), "data-kind"), "code");
    assert_eq!(status(&root, "c1"), "idle");
    assert!(query(&root, &format!("{} textarea.cell-source", cell_sel("c1"))).is_some());
    assert!(query(&root, &format!("{} button.run-cell", cell_sel("c1"))).is_some());
    assert_eq!(attr(&root, "#kernel-status", "data-state"), "starting");
    wait_for("the kernel", || {
        attr(&root, "#kernel-status", "data-state") == "ready"
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_kernel_crash_during_run_all_fails_that_cell_and_cancels_the_rest() {
    let root = mount_editor(vec![
        code("c1", "a = 1"),
        code("c2", "crash here"),
        code("c3", "b = 2"),
    ]);
    click(&root, "#run-all");
    wait_for("the crashed cell to fail", || {
        status(&root, "c2") == "failed"
    })
    .await;

    assert_eq!(status(&root, "c1"), "done");
    assert_eq!(
        text(&root, &format!("{} pre.output-text", cell_sel("c1"))),
        "echo: a = 1 files=0"
    );
    let report = text(&root, &format!("{} div.output-error", cell_sel("c2")));
    assert!(report.contains("KernelCrashed"), "{report}");
    assert!(report.contains("simulated kernel crash"), "{report}");
    assert!(report.contains("restarted"), "{report}");
    assert_eq!(status(&root, "c3"), "idle", "queued cells are cancelled");
    assert!(query_all(&root, &format!("{} div.outputs > *", cell_sel("c3"))).is_empty());

    // The page restarted the kernel by itself; the next run works.
    wait_for("the restarted kernel", || {
        attr(&root, "#kernel-status", "data-state") == "ready"
    })
    .await;
    click(&root, &format!("{} button.run-cell", cell_sel("c3")));
    wait_for("the cell after the crash", || status(&root, "c3") == "done").await;
    assert_eq!(
        text(&root, &format!("{} pre.output-text", cell_sel("c3"))),
        "echo: b = 2 files=0"
    );
}

#[wasm_bindgen_test]
async fn a_failing_cell_stops_run_all() {
    let root = mount_editor(vec![code("c1", "fail"), code("c2", "later")]);
    click(&root, "#run-all");
    wait_for("the failing cell", || status(&root, "c1") == "failed").await;
    let shown = text(&root, &format!("{} div.output-error", cell_sel("c1")));
    assert!(
        shown.contains("RuntimeError") && shown.contains("line 2, column 5"),
        "{shown}"
    );
    wait_for("the next cell to be cancelled", || {
        status(&root, "c2") == "idle"
    })
    .await;
}

#[wasm_bindgen_test]
async fn typing_then_shift_enter_runs_the_new_source() {
    let root = mount_editor(vec![code("c1", "old")]);
    let textarea: HtmlTextAreaElement =
        query(&root, &format!("{} textarea.cell-source", cell_sel("c1")))
            .unwrap()
            .unchecked_into();
    textarea.set_value("y = 41 + 1");
    let init = EventInit::new();
    init.set_bubbles(true);
    textarea
        .dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap())
        .unwrap();

    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(true);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let keydown = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    textarea.dispatch_event(&keydown).unwrap();
    assert!(
        keydown.default_prevented(),
        "Shift+Enter must not insert a newline"
    );

    wait_for("the cell to run", || status(&root, "c1") == "done").await;
    assert_eq!(
        text(&root, &format!("{} pre.output-text", cell_sel("c1"))),
        "echo: y = 41 + 1 files=0"
    );
}

#[wasm_bindgen_test]
async fn markdown_cells_render_sanitized() {
    let markdown = Cell {
        id: "m1".into(),
        kind: CellKind::Markdown,
        source: "# Title\n\n<script>window.owned = 1</script>\n\n[x](javascript:alert(1))".into(),
        outputs: vec![],
    };
    let root = mount_editor(vec![markdown]);
    assert_eq!(attr(&root, &cell_sel("m1"), "data-kind"), "markdown");
    let rendered = query(&root, &format!("{} div.markdown-rendered", cell_sel("m1"))).unwrap();
    assert_eq!(text(&rendered, "h1"), "Title");
    assert!(query(&rendered, "script").is_none());
    let link = query(&rendered, "a").expect("the link text stays");
    assert_eq!(link.text_content().unwrap(), "x");
    assert!(
        link.get_attribute("href").is_none(),
        "a javascript: link loses its target"
    );
    click(&root, "#run-all");
    wait_for("the markdown cell to count as run", || {
        status(&root, "m1") == "done"
    })
    .await;
}

#[wasm_bindgen_test]
async fn adding_moving_and_deleting_cells() {
    let root = mount_editor(vec![code("c1", "one")]);
    click(&root, "#add-markdown-cell");
    click(&root, "#add-code-cell");
    wait_for("two new cells", || query_all(&root, "div.cell").len() == 3).await;
    let kinds = |root: &Element| -> Vec<String> {
        query_all(root, "div.cell")
            .iter()
            .map(|c| c.get_attribute("data-kind").unwrap())
            .collect()
    };
    assert_eq!(kinds(&root), ["code", "markdown", "code"]);
    click(&root, &format!("{} button.move-down", cell_sel("c1")));
    wait_for("the move", || kinds(&root) == ["markdown", "code", "code"]).await;
    assert_eq!(
        query_all(&root, "div.cell")[1]
            .get_attribute("data-cell-id")
            .unwrap(),
        "c1"
    );
    click(&root, &format!("{} button.delete-cell", cell_sel("c1")));
    wait_for("the deletion", || query(&root, &cell_sel("c1")).is_none()).await;
    assert_eq!(query_all(&root, "div.cell").len(), 2);
}

#[wasm_bindgen_test]
async fn fetched_files_are_handed_to_the_kernel_and_the_cell_rerun() {
    let root = mount_editor(vec![code("c1", "fetch data:text/csv,a%2Cb%0A1%2C2")]);
    click(&root, &format!("{} button.run-cell", cell_sel("c1")));
    wait_for("the cell to finish", || status(&root, "c1") == "done").await;
    assert_eq!(
        text(&root, &format!("{} pre.output-text", cell_sel("c1"))),
        "echo: fetch data:text/csv,a%2Cb%0A1%2C2 files=1"
    );
}

#[wasm_bindgen_test]
async fn a_missing_file_fails_the_cell() {
    let root = mount_editor(vec![code("c1", "fetch /no/such/file.csv")]);
    click(&root, &format!("{} button.run-cell", cell_sel("c1")));
    wait_for("the cell to fail", || status(&root, "c1") == "failed").await;
    let shown = text(&root, &format!("{} div.output-error", cell_sel("c1")));
    assert!(
        shown.contains("FetchFailed") && shown.contains("/no/such/file.csv"),
        "{shown}"
    );
}

#[wasm_bindgen_test]
async fn a_failed_deployment_becomes_an_error_output() {
    // The test runner's server has no /api: the registry refuses the model.
    let root = mount_editor(vec![code("c1", "deploy it")]);
    click(&root, &format!("{} button.run-cell", cell_sel("c1")));
    wait_for("the cell to fail", || status(&root, "c1") == "failed").await;
    assert_eq!(
        text(&root, &format!("{} pre.output-text", cell_sel("c1"))),
        "echo: deploy it files=0"
    );
    let shown = text(&root, &format!("{} div.output-error", cell_sel("c1")));
    assert!(
        shown.contains("DeployFailed") && shown.contains("saving model 'iris'"),
        "{shown}"
    );
}

#[wasm_bindgen_test]
async fn runs_are_recorded_with_the_notebook_and_failures_shown() {
    // The test runner's server has no /api: recording the run fails, naming it.
    let root = mount_editor(vec![code("c1", "context"), code("c2", "record it")]);
    click(&root, "#run-all");
    wait_for("both cells", || {
        status(&root, "c1") == "done" && status(&root, "c2") == "failed"
    })
    .await;
    let shown = text(&root, &format!("{} pre.output-text", cell_sel("c1")));
    let context: oxbook_protocol::RunContext =
        serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"));
    assert_eq!(context.notebook_id.as_deref(), Some("nb-test"));
    assert_eq!(context.notebook_revision, Some(0));
    let error = text(&root, &format!("{} div.output-error", cell_sel("c2")));
    assert!(
        error.contains("RecordRunFailed")
            && error.contains(&format!("recording run '{}.1'", context.session_id)),
        "{error}"
    );
}
