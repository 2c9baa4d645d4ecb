//! The runs page's parts, mounted with stand-in runs: the table (metric columns, sorting by
//! a header, checking runs), the side-by-side comparison, and the metric chart; and the
//! lines a cell shows for the runs it recorded.
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeMap;

use common::{attr, click, container, query, query_all, text, wait_for};
use leptos::prelude::*;
use oxbook_frontend::api::RunQuery;
use oxbook_frontend::runner::{recorded_message, recorded_outputs, short_number};
use oxbook_frontend::screens::runs::{
    bar_chart, commonest_metric, duration_text, setting_rows, short_time, MetricPlot, RunSort,
    RunsBoard, RunsCompare, RunsTable, PLOT_LABEL_WIDTH,
};
use oxbook_protocol::{DatasetRef, Output, RunKind, RunRecord, RunSpec};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, Event, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

fn run(
    id: &str,
    algorithm: &str,
    settings: serde_json::Value,
    metrics: &[(&str, f64)],
) -> RunRecord {
    RunRecord {
        spec: RunSpec {
            id: id.into(),
            kind: RunKind::Fit,
            algorithm: algorithm.into(),
            settings,
            target: Some("bought".into()),
            features: vec!["price".into(), "colour".into()],
            dataset: Some(DatasetRef {
                name: "hats.csv".into(),
                sha256: "ab".repeat(32),
            }),
            rows: 800,
            metrics: metrics.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            duration_ms: 1234.5,
        },
        notebook_id: Some("nb-1".into()),
        notebook_revision: Some(3),
        created_at: "2025-03-01T10:00:00.123456Z".into(),
    }
}

fn stand_ins() -> Vec<RunRecord> {
    let mut cv = run(
        "s1.2",
        "random_forest",
        json!({ "n_trees": 100, "max_depth": 10 }),
        &[("cv_accuracy_mean", 0.8)],
    );
    cv.spec.kind = RunKind::CrossValidation;
    cv.notebook_id = Some("gone-notebook-id".into());
    vec![
        run(
            "s1.3",
            "random_forest",
            json!({ "n_trees": 100, "max_depth": 4 }),
            &[("train_accuracy", 0.95), ("r2", -0.5)],
        ),
        cv,
        run(
            "s1.1",
            "random_forest",
            json!({ "n_trees": 100, "max_depth": 10, "criterion": "gini" }),
            &[("train_accuracy", 0.9), ("r2", 0.25)],
        ),
    ]
}

fn titles() -> BTreeMap<String, String> {
    BTreeMap::from([("nb-1".to_string(), "Hat sales".to_string())])
}

fn texts(root: &Element, selector: &str) -> Vec<String> {
    query_all(root, selector)
        .iter()
        .map(|e| e.text_content().unwrap_or_default().trim().to_string())
        .collect()
}

fn change_select(root: &Element, selector: &str, value: &str) {
    let select: HtmlSelectElement = query(root, selector).unwrap().unchecked_into();
    select.set_value(value);
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn the_table_has_a_column_per_metric_and_sorts_by_a_header() {
    let sort = RwSignal::new(RunSort::default());
    let selected = RwSignal::new(Vec::<RunRecord>::new());
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! { <RunsTable runs=stand_ins() titles=titles() sort=sort selected=selected /> }
    })
    .forget();
    let root: Element = root.into();

    let ids: Vec<String> = query_all(&root, "#runs-table tr.run-row")
        .iter()
        .map(|r| r.get_attribute("data-run-id").unwrap())
        .collect();
    assert_eq!(ids, ["s1.3", "s1.2", "s1.1"]);
    let metrics: Vec<String> = query_all(&root, "#runs-table th.metric-col")
        .iter()
        .map(|h| h.get_attribute("data-metric").unwrap())
        .collect();
    assert_eq!(metrics, ["cv_accuracy_mean", "r2", "train_accuracy"]);

    let first = query(&root, "tr.run-row[data-run-id='s1.3']").unwrap();
    assert_eq!(
        text(&first, "td.metric[data-metric='train_accuracy']"),
        "0.95"
    );
    assert_eq!(text(&first, "td.metric[data-metric='r2']"), "-0.5");
    assert_eq!(
        text(&first, "td.metric[data-metric='cv_accuracy_mean']"),
        "—"
    );
    assert_eq!(text(&first, ".run-time"), "2025-03-01 10:00:00");
    assert_eq!(text(&first, ".run-kind"), "fit");
    assert_eq!(text(&first, ".run-algorithm"), "random_forest");
    assert_eq!(text(&first, ".run-dataset"), "hats.csv");
    assert_eq!(
        attr(&first, ".run-dataset", "title"),
        format!("sha256 {}", "ab".repeat(32))
    );
    assert_eq!(text(&first, ".run-notebook"), "Hat sales r3");
    assert_eq!(attr(&first, ".run-notebook a", "href"), "/notebooks/nb-1");
    assert_eq!(text(&first, ".run-duration"), "1.23 s");
    let cv = query(&root, "tr.run-row[data-run-id='s1.2']").unwrap();
    assert_eq!(text(&cv, ".run-kind"), "cross-validation");
    // A notebook the server no longer lists is named by the start of its id.
    assert_eq!(text(&cv, ".run-notebook"), "gone-not r3");

    // Newest first until a metric's header is clicked; clicking it again reverses.
    assert_eq!(attr(&root, "th.time-col", "data-sort"), "desc");
    click(&root, "th.metric-col[data-metric='train_accuracy']");
    assert_eq!(
        sort.get_untracked(),
        RunSort {
            metric: Some("train_accuracy".into()),
            ascending: false
        }
    );
    wait_for("the sort mark", || {
        attr(
            &root,
            "th.metric-col[data-metric='train_accuracy']",
            "data-sort",
        ) == "desc"
    })
    .await;
    assert!(query(&root, "th.time-col[data-sort]").is_none());
    click(&root, "th.metric-col[data-metric='train_accuracy']");
    assert!(sort.get_untracked().ascending);
    click(&root, "th.metric-col[data-metric='r2']");
    assert_eq!(
        sort.get_untracked(),
        RunSort {
            metric: Some("r2".into()),
            ascending: false
        }
    );
    click(&root, "th.time-col");
    assert_eq!(sort.get_untracked(), RunSort::default());

    // Checking runs selects them, in the order checked; unchecking drops them.
    click(&root, "tr.run-row[data-run-id='s1.1'] input.run-select");
    click(&root, "tr.run-row[data-run-id='s1.3'] input.run-select");
    let chosen: Vec<String> = selected
        .get_untracked()
        .iter()
        .map(|r| r.spec.id.clone())
        .collect();
    assert_eq!(chosen, ["s1.1", "s1.3"]);
    wait_for("the row marked", || {
        query(&root, "tr.run-row.selected[data-run-id='s1.1']").is_some()
    })
    .await;
    click(&root, "tr.run-row[data-run-id='s1.1'] input.run-select");
    let chosen: Vec<String> = selected
        .get_untracked()
        .iter()
        .map(|r| r.spec.id.clone())
        .collect();
    assert_eq!(chosen, ["s1.3"]);
    let unchecked: HtmlInputElement =
        query(&root, "tr.run-row[data-run-id='s1.1'] input.run-select")
            .unwrap()
            .unchecked_into();
    wait_for("the box unchecked", || !unchecked.checked()).await;
}

#[wasm_bindgen_test]
fn the_comparison_marks_the_settings_that_differ() {
    let runs = stand_ins();
    let root = container();
    let shown = runs.clone();
    leptos::mount::mount_to(root.clone(), move || {
        view! { <RunsCompare runs=shown.clone() titles=titles() /> }
    })
    .forget();
    let root: Element = root.into();

    let heads: Vec<String> = query_all(&root, "#runs-compare th.compare-run")
        .iter()
        .map(|h| h.get_attribute("data-run-id").unwrap())
        .collect();
    assert_eq!(heads, ["s1.3", "s1.2", "s1.1"]);
    let settings: Vec<String> = query_all(&root, "#runs-compare tr.setting-row")
        .iter()
        .map(|r| r.get_attribute("data-setting").unwrap())
        .collect();
    assert_eq!(settings, ["criterion", "max_depth", "n_trees"]);
    let differing: Vec<String> = query_all(&root, "#runs-compare tr.setting-row.differs")
        .iter()
        .map(|r| r.get_attribute("data-setting").unwrap())
        .collect();
    // n_trees is 100 everywhere; max_depth differs; only one run has a criterion.
    assert_eq!(differing, ["criterion", "max_depth"]);
    assert_eq!(
        texts(&root, "tr.setting-row[data-setting='max_depth'] td"),
        ["4", "10", "10"]
    );
    assert_eq!(
        texts(&root, "tr.setting-row[data-setting='criterion'] td"),
        ["—", "—", "gini"]
    );
    assert_eq!(
        texts(&root, "tr.metric-row[data-metric='train_accuracy'] td"),
        ["0.95", "—", "0.9"]
    );
    assert_eq!(
        texts(&root, "tr.about-row[data-field='kind'] td"),
        ["fit", "cross-validation", "fit"]
    );
    assert!(query(&root, "tr.about-row.differs[data-field='kind']").is_some());
    assert!(query(&root, "tr.about-row.differs[data-field='algorithm']").is_none());
    assert_eq!(
        texts(&root, "tr.about-row[data-field='dataset'] td")[0],
        "hats.csv (abababababab)"
    );

    let rows = setting_rows(&runs);
    assert_eq!(rows[2].values, vec![Some("100".to_string()); 3]);
    assert!(!rows[2].differs);
}

#[wasm_bindgen_test]
async fn the_chart_draws_a_bar_per_run_from_the_zero_line() {
    let runs = RwSignal::new(stand_ins());
    let metric = RwSignal::new(None::<String>);
    let sort = RwSignal::new(RunSort::default());
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! { <MetricPlot runs=runs metric=metric sort=sort /> }
    })
    .forget();
    let root: Element = root.into();

    // Until one is chosen: the metric most runs have, the first by name among equals.
    assert_eq!(attr(&root, "svg#runs-metric-plot", "data-metric"), "r2");
    let options: Vec<String> = texts(&root, "#runs-plot-metric option");
    assert_eq!(options, ["cv_accuracy_mean", "r2", "train_accuracy"]);
    assert_eq!(query_all(&root, "rect.run-bar").len(), 2);
    assert_eq!(text(&root, ".plot-note"), "1 run lacks r2: not shown.");
    change_select(&root, "#runs-plot-metric", "cv_accuracy_mean");
    wait_for("the chosen metric", || {
        attr(&root, "svg#runs-metric-plot", "data-metric") == "cv_accuracy_mean"
    })
    .await;
    assert_eq!(query_all(&root, "rect.run-bar").len(), 1);
    assert_eq!(
        text(&root, ".plot-note"),
        "2 runs lack cv_accuracy_mean: not shown."
    );
    metric.set(None);

    // Sorting the table by a metric shows it, unless one was chosen here.
    sort.set(RunSort {
        metric: Some("train_accuracy".into()),
        ascending: false,
    });
    wait_for("the sorted metric", || {
        attr(&root, "svg#runs-metric-plot", "data-metric") == "train_accuracy"
    })
    .await;
    change_select(&root, "#runs-plot-metric", "r2");
    wait_for("the chosen metric", || {
        attr(&root, "svg#runs-metric-plot", "data-metric") == "r2"
    })
    .await;
    let bars = query_all(&root, "rect.run-bar");
    let ids: Vec<String> = bars
        .iter()
        .map(|b| b.get_attribute("data-run-id").unwrap())
        .collect();
    assert_eq!(ids, ["s1.3", "s1.1"]);
    let number =
        |e: &Element, name: &str| -> f64 { e.get_attribute(name).unwrap().parse().unwrap() };
    assert_eq!(bars[0].get_attribute("data-value").unwrap(), "-0.5");
    // -0.5 and 0.25: the negative bar is twice as long and ends where the positive begins.
    let (neg, pos) = (&bars[0], &bars[1]);
    assert!((number(neg, "width") - 2.0 * number(pos, "width")).abs() < 1e-9);
    assert!((number(neg, "x") + number(neg, "width") - number(pos, "x")).abs() < 1e-9);
    assert!(number(neg, "x") >= PLOT_LABEL_WIDTH - 1e-9);
    let zero: f64 = attr(&root, "line.zero-line", "x1").parse().unwrap();
    assert!((zero - number(pos, "x")).abs() < 1e-9);
    assert_eq!(texts(&root, "text.bar-value"), ["-0.5", "0.25"]);
    assert_eq!(
        texts(&root, "text.bar-label"),
        ["random_forest s1.3", "random_forest s1.1"]
    );

    runs.set(vec![run("x.1", "ridge", json!({}), &[])]);
    wait_for("the empty note", || {
        query(&root, "svg#runs-metric-plot").is_none()
    })
    .await;
    assert_eq!(
        text(&root, ".plot-note"),
        "These runs have no metrics to plot."
    );
}

#[wasm_bindgen_test]
async fn checked_runs_are_compared_and_charted_alone() {
    let sort = RwSignal::new(RunSort::default());
    let selected = RwSignal::new(Vec::<RunRecord>::new());
    let plot_metric = RwSignal::new(Some("train_accuracy".to_string()));
    let root = container();
    leptos::mount::mount_to(root.clone(), move || {
        view! {
            <RunsBoard
                runs=stand_ins()
                titles=titles()
                sort=sort
                selected=selected
                plot_metric=plot_metric
            />
        }
    })
    .forget();
    let root: Element = root.into();
    assert_eq!(text(&root, "#runs-count"), "3 runs");
    assert!(query(&root, "#runs-compare").is_none());
    // No run checked: every listed run with the metric is charted.
    assert_eq!(query_all(&root, "rect.run-bar").len(), 2);

    click(&root, "tr.run-row[data-run-id='s1.1'] input.run-select");
    click(&root, "tr.run-row[data-run-id='s1.2'] input.run-select");
    wait_for("the comparison", || {
        query_all(&root, "#runs-compare th.compare-run").len() == 2
    })
    .await;
    assert_eq!(text(&root, "#runs-count"), "3 runs, 2 checked");
    let bars: Vec<String> = query_all(&root, "rect.run-bar")
        .iter()
        .map(|b| b.get_attribute("data-run-id").unwrap())
        .collect();
    assert_eq!(bars, ["s1.1"], "only checked runs with the metric");

    click(&root, "#runs-clear-selection");
    wait_for("the comparison gone", || {
        query(&root, "#runs-compare").is_none()
    })
    .await;
    assert_eq!(query_all(&root, "rect.run-bar").len(), 2);
}

#[wasm_bindgen_test]
fn layout_and_formatting_helpers() {
    let chart = bar_chart(&[("a".into(), "a".into(), 1.0), ("b".into(), "b".into(), 0.5)]);
    assert_eq!(chart.zero_x, PLOT_LABEL_WIDTH);
    assert_eq!(chart.bars[0].width, 2.0 * chart.bars[1].width);
    assert!(chart.bars[1].y > chart.bars[0].y);
    // All zeros: no division by zero, bars of no width.
    let flat = bar_chart(&[("a".into(), "a".into(), 0.0)]);
    assert_eq!(flat.bars[0].width, 0.0);
    assert!(flat.bars[0].x.is_finite());

    assert_eq!(
        short_time("2025-03-01T10:00:00.123456Z"),
        "2025-03-01 10:00:00"
    );
    assert_eq!(duration_text(0.42), "0.4 ms");
    assert_eq!(duration_text(12.4), "12 ms");
    assert_eq!(duration_text(3250.0), "3.25 s");
    assert_eq!(duration_text(125_000.0), "2 min 5 s");
    assert_eq!(short_number(0.812_345), "0.8123");
    assert_eq!(short_number(41.5), "41.5");
    assert_eq!(short_number(100.0), "100");
    assert_eq!(short_number(-0.000_01), "0");

    assert_eq!(commonest_metric(&stand_ins()).as_deref(), Some("r2"));
    assert_eq!(
        commonest_metric(&stand_ins()[1..2]).as_deref(),
        Some("cv_accuracy_mean")
    );
    assert_eq!(commonest_metric(&[]), None);

    assert_eq!(RunQuery::default().url(), "/api/runs");
    let query = RunQuery {
        algorithm: Some("random forest".into()),
        kind: Some(RunKind::CrossValidation),
        notebook_id: Some("nb&1".into()),
        sort: Some("r2".into()),
        ascending: true,
        limit: Some(1000),
    };
    assert_eq!(
        query.url(),
        "/api/runs?algorithm=random%20forest&kind=cross_validation&notebook_id=nb%261&sort=r2&order=asc&limit=1000"
    );
}

#[wasm_bindgen_test]
fn recorded_runs_are_summed_up_under_their_cell() {
    let runs: Vec<RunSpec> = stand_ins().into_iter().map(|r| r.spec).collect();
    assert_eq!(
        recorded_message(&runs[0]),
        "Recorded run s1.3: fit random_forest on hats.csv, r2=-0.5, train_accuracy=0.95"
    );
    assert_eq!(
        recorded_outputs(&runs),
        runs.iter()
            .map(|r| Output::text(recorded_message(r)))
            .collect::<Vec<_>>()
    );
    let many: Vec<RunSpec> = (1..=5)
        .map(|i| {
            let mut spec = runs[0].clone();
            spec.id = format!("s.{i}");
            spec
        })
        .collect();
    assert_eq!(
        recorded_outputs(&many),
        [Output::text(
            "Recorded 5 runs (s.1 … s.5): compare them on the Runs page"
        )]
    );
    assert!(recorded_outputs(&[]).is_empty());
}
