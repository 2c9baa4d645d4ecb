//! `/runs`: experiment runs, the fits and cross-validations notebooks recorded. A table of
//! runs (one column per metric) filtered by algorithm, kind and notebook on the server and
//! sorted by any metric; checked runs are compared side by side (settings and metrics as
//! rows, differing settings marked), and a bar chart shows one metric across the checked
//! runs, or across every listed run when none is checked.
//!
//! Selectors the end-to-end tests use: `#runs-table` with `tr.run-row[data-run-id]` rows,
//! `input.run-select` checkboxes, `th.metric-col[data-metric]` sortable headers
//! (`data-sort="asc|desc"` on the sorted one); the filters `select#runs-filter-algorithm`,
//! `select#runs-filter-kind`, `select#runs-filter-notebook`; `#runs-compare` with
//! `tr.setting-row[data-setting]` (`.differs` when the runs disagree) and
//! `tr.metric-row[data-metric]`; `select#runs-plot-metric` and the chart
//! `svg#runs-metric-plot` with one `rect.run-bar[data-run-id][data-value]` per run.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use oxbook_protocol::{NotebookSummary, RunKind, RunRecord};
use serde_json::Value;

use crate::api::{self, RunQuery};
use crate::runner::short_number;

/// The most runs the page lists at once (the server's cap).
pub const LIST_LIMIT: u32 = 1000;

/// How the table is ordered: by a metric (runs without it last), else newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunSort {
    pub metric: Option<String>,
    pub ascending: bool,
}

impl RunSort {
    /// The order after a click on `metric`'s header: that metric, best first as most metrics
    /// go (descending), or the other way round on a second click.
    pub fn toggled(&self, metric: &str) -> RunSort {
        if self.metric.as_deref() == Some(metric) {
            RunSort {
                metric: Some(metric.to_string()),
                ascending: !self.ascending,
            }
        } else {
            RunSort {
                metric: Some(metric.to_string()),
                ascending: false,
            }
        }
    }
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let algorithm = RwSignal::new(None::<String>);
    let kind = RwSignal::new(None::<RunKind>);
    let notebook = RwSignal::new(None::<String>);
    let sort = RwSignal::new(RunSort::default());
    let selected = RwSignal::new(Vec::<RunRecord>::new());
    let plot_metric = RwSignal::new(None::<String>);

    // Every run, for the filters' choices; the table's list is filtered by the server.
    let all = LocalResource::new(|| async {
        let query = RunQuery {
            limit: Some(LIST_LIMIT),
            ..RunQuery::default()
        };
        api::list_runs(&query).await.map_err(|e| e.to_string())
    });
    let listed = LocalResource::new(move || {
        let sort = sort.get();
        let query = RunQuery {
            algorithm: algorithm.get(),
            kind: kind.get(),
            notebook_id: notebook.get(),
            sort: sort.metric,
            ascending: sort.ascending,
            limit: Some(LIST_LIMIT),
        };
        async move { api::list_runs(&query).await.map_err(|e| e.to_string()) }
    });
    let notebooks =
        LocalResource::new(|| async { api::list_notebooks().await.unwrap_or_default() });
    let titles = Signal::derive(move || notebook_titles(&notebooks.get().unwrap_or_default()));
    let all_runs = Signal::derive(move || all.get().and_then(Result::ok).unwrap_or_default());
    let refresh = move |_| {
        all.refetch();
        listed.refetch();
        notebooks.refetch();
    };

    view! {
        <section class="runs-page">
            <header class="screen-header">
                <h1>"Runs"</h1>
                <button id="runs-refresh" on:click=refresh>
                    "Refresh"
                </button>
            </header>
            <p class="hint">
                "Every fit and cross-validation a notebook runs is recorded here. Check runs to compare them."
            </p>
            <RunFilters
                runs=all_runs
                titles=titles
                algorithm=algorithm
                kind=kind
                notebook=notebook
            />
            {move || match listed.get() {
                None => view! { <p class="loading">"Loading runs…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(runs)) if runs.is_empty() => {
                    let filtered = algorithm.with(Option::is_some)
                        || kind.with(Option::is_some)
                        || notebook.with(Option::is_some);
                    let text = if filtered {
                        "No runs match these filters."
                    } else {
                        "No runs yet: fit or cross-validate a model in a notebook and it shows up here."
                    };
                    view! { <p id="runs-empty" class="empty">{text}</p> }.into_any()
                }
                Some(Ok(runs)) => {
                    view! {
                        <RunsBoard
                            runs=runs
                            titles=titles
                            sort=sort
                            selected=selected
                            plot_metric=plot_metric
                        />
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The notebook titles by id, for naming runs' notebooks.
pub fn notebook_titles(notebooks: &[NotebookSummary]) -> BTreeMap<String, String> {
    notebooks
        .iter()
        .map(|n| (n.id.clone(), n.title.clone()))
        .collect()
}

/// The filters: `select#runs-filter-algorithm`, `#runs-filter-kind`, `#runs-filter-notebook`;
/// the empty option means any.
#[component]
pub fn RunFilters(
    #[prop(into)] runs: Signal<Vec<RunRecord>>,
    #[prop(into)] titles: Signal<BTreeMap<String, String>>,
    algorithm: RwSignal<Option<String>>,
    kind: RwSignal<Option<RunKind>>,
    notebook: RwSignal<Option<String>>,
) -> impl IntoView {
    let algorithms = move || {
        let mut names: BTreeSet<String> =
            runs.with(|runs| runs.iter().map(|r| r.spec.algorithm.clone()).collect());
        // The chosen one stays a choice even when no listed run has it any more.
        names.extend(algorithm.get());
        names
            .into_iter()
            .map(|name| {
                let chosen = algorithm.with(|a| a.as_deref() == Some(name.as_str()));
                view! {
                    <option value=name.clone() selected=chosen>
                        {name.clone()}
                    </option>
                }
            })
            .collect_view()
    };
    let notebooks = move || {
        let mut ids: BTreeSet<String> =
            runs.with(|runs| runs.iter().filter_map(|r| r.notebook_id.clone()).collect());
        ids.extend(notebook.get());
        ids.into_iter()
            .map(|id| {
                let chosen = notebook.with(|n| n.as_deref() == Some(id.as_str()));
                let label = titles.with(|t| notebook_label(t, &id));
                view! {
                    <option value=id.clone() selected=chosen>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };
    let kinds = RunKind::ALL
        .into_iter()
        .map(|k| {
            view! {
                <option value=k.name() selected=move || kind.get() == Some(k)>
                    {kind_label(k)}
                </option>
            }
        })
        .collect_view();
    let chosen = |ev: &leptos::ev::Event| Some(event_target_value(ev)).filter(|v| !v.is_empty());

    view! {
        <div class="runs-filters">
            <label>
                "Algorithm "
                <select
                    id="runs-filter-algorithm"
                    on:change=move |ev| algorithm.set(chosen(&ev))
                    prop:value=move || algorithm.get().unwrap_or_default()
                >
                    <option value="" selected=move || algorithm.with(Option::is_none)>
                        "All algorithms"
                    </option>
                    {algorithms}
                </select>
            </label>
            <label>
                "Kind "
                <select
                    id="runs-filter-kind"
                    on:change=move |ev| kind.set(chosen(&ev).and_then(|k| RunKind::from_name(&k)))
                    prop:value=move || kind.get().map(RunKind::name).unwrap_or_default()
                >
                    <option value="" selected=move || kind.with(Option::is_none)>
                        "All kinds"
                    </option>
                    {kinds}
                </select>
            </label>
            <label>
                "Notebook "
                <select
                    id="runs-filter-notebook"
                    on:change=move |ev| notebook.set(chosen(&ev))
                    prop:value=move || notebook.get().unwrap_or_default()
                >
                    <option value="" selected=move || notebook.with(Option::is_none)>
                        "All notebooks"
                    </option>
                    {notebooks}
                </select>
            </label>
        </div>
    }
}

pub fn kind_label(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Fit => "fit",
        RunKind::CrossValidation => "cross-validation",
    }
}

/// A notebook's title, or the start of its id when the server does not list it (deleted).
pub fn notebook_label(titles: &BTreeMap<String, String>, id: &str) -> String {
    titles
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.chars().take(8).collect())
}

/// The table, the comparison of the checked runs and the chart, for the listed `runs`.
#[component]
pub fn RunsBoard(
    runs: Vec<RunRecord>,
    #[prop(into)] titles: Signal<BTreeMap<String, String>>,
    sort: RwSignal<RunSort>,
    selected: RwSignal<Vec<RunRecord>>,
    plot_metric: RwSignal<Option<String>>,
) -> impl IntoView {
    let listed = runs.clone();
    // The checked runs (kept across filters, so runs of two filters can be compared), or
    // every listed run when none is checked.
    let plotted = Signal::derive(move || {
        let chosen = selected.get();
        if chosen.is_empty() {
            listed.clone()
        } else {
            chosen
        }
    });
    let listed_count = runs.len();
    view! {
        <p id="runs-count" class="table-note">
            {move || runs_count_text(listed_count, selected.with(Vec::len))}
        </p>
        <RunsTable runs=runs titles=titles sort=sort selected=selected />
        <Show when=move || selected.with(|s| !s.is_empty())>
            <div class="runs-compare-wrap">
                <div class="runs-compare-head">
                    <h2>"Compare"</h2>
                    <button id="runs-clear-selection" on:click=move |_| selected.set(Vec::new())>
                        "Clear selection"
                    </button>
                </div>
                <RunsCompare runs=Signal::derive(move || selected.get()) titles=titles />
            </div>
        </Show>
        <h2>"Metric across runs"</h2>
        <MetricPlot runs=plotted metric=plot_metric sort=sort />
    }
}

fn runs_count_text(listed: usize, selected: usize) -> String {
    let runs = if listed == 1 { "run" } else { "runs" };
    if selected == 0 {
        format!("{listed} {runs}")
    } else {
        format!("{listed} {runs}, {selected} checked")
    }
}

/// Every metric name the runs have, in name order.
pub fn metric_names<'a>(runs: impl IntoIterator<Item = &'a RunRecord>) -> Vec<String> {
    runs.into_iter()
        .flat_map(|r| r.spec.metrics.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `2025-03-01T10:00:00.123456Z` as `2025-03-01 10:00:00`.
pub fn short_time(timestamp: &str) -> String {
    let text = timestamp.replace('T', " ");
    let text = text.split('.').next().unwrap_or(&text);
    text.trim_end_matches('Z').to_string()
}

/// A duration for people: `0.4 ms`, `12 ms`, `3.25 s`, `2 min 5 s`.
pub fn duration_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let seconds = (ms / 1000.0).round() as u64;
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

/// `#runs-table`: one row per run, one column per metric; a metric's header sorts by it
/// (again: the other way round), the time header goes back to newest first.
#[component]
pub fn RunsTable(
    runs: Vec<RunRecord>,
    #[prop(into)] titles: Signal<BTreeMap<String, String>>,
    sort: RwSignal<RunSort>,
    selected: RwSignal<Vec<RunRecord>>,
) -> impl IntoView {
    let metrics = metric_names(&runs);
    let headers =
        metrics
            .iter()
            .map(|metric| {
                let name = metric.clone();
                let (for_sort, for_mark, for_click) = (name.clone(), name.clone(), name.clone());
                let data_sort =
                    move || {
                        sort.with(|s| {
                            (s.metric.as_deref() == Some(for_sort.as_str()))
                                .then_some(if s.ascending { "asc" } else { "desc" })
                        })
                    };
                let mark = move || {
                    sort.with(|s| {
                        if s.metric.as_deref() != Some(for_mark.as_str()) {
                            ""
                        } else if s.ascending {
                            " ▲"
                        } else {
                            " ▼"
                        }
                    })
                };
                view! {
                    <th
                        class="metric-col sortable"
                        data-metric=name.clone()
                        data-sort=data_sort
                        title="Sort by this metric (click again to reverse)"
                        on:click=move |_| sort.update(|s| *s = s.toggled(&for_click))
                    >
                        {name.clone()}
                        <span class="sort-mark">{mark}</span>
                    </th>
                }
            })
            .collect_view();
    let rows = runs
        .into_iter()
        .map(|run| view! { <RunRow run=run metrics=metrics.clone() titles=titles selected=selected /> })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table id="runs-table" class="registry runs-table">
                <thead>
                    <tr>
                        <th class="select-col">
                            <span class="visually-hidden">"Compare"</span>
                        </th>
                        <th
                            class="time-col sortable"
                            data-sort=move || sort.with(|s| s.metric.is_none().then_some("desc"))
                            title="Newest first"
                            on:click=move |_| sort.set(RunSort::default())
                        >
                            "Recorded"
                        </th>
                        <th>"Kind"</th>
                        <th>"Algorithm"</th>
                        <th>"Dataset"</th>
                        <th>"Notebook"</th>
                        {headers}
                        <th>"Duration"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn RunRow(
    run: RunRecord,
    metrics: Vec<String>,
    #[prop(into)] titles: Signal<BTreeMap<String, String>>,
    selected: RwSignal<Vec<RunRecord>>,
) -> impl IntoView {
    let id = run.spec.id.clone();
    let is_selected = {
        let id = id.clone();
        move || selected.with(|s| s.iter().any(|r| r.spec.id == id))
    };
    let toggle = {
        let run = run.clone();
        move |_| {
            selected.update(|s| {
                if let Some(at) = s.iter().position(|r| r.spec.id == run.spec.id) {
                    s.remove(at);
                } else {
                    s.push(run.clone());
                }
            })
        }
    };
    let metric_cells = metrics
        .iter()
        .map(|name| {
            let value = run.spec.metrics.get(name).copied();
            view! {
                <td class="metric" data-metric=name.clone() title=value.map(|v| v.to_string())>
                    {value.map(short_number).unwrap_or_else(|| "—".into())}
                </td>
            }
        })
        .collect_view();
    let dataset = run.spec.dataset.clone();
    let dataset_title = dataset.as_ref().map(|d| format!("sha256 {}", d.sha256));
    let notebook = run.notebook_id.clone().map(|notebook_id| {
        let revision = run
            .notebook_revision
            .map(|r| format!(" r{r}"))
            .unwrap_or_default();
        let href = format!("/notebooks/{notebook_id}");
        view! {
            <a href=href>{move || titles.with(|t| notebook_label(t, &notebook_id))}</a>
            <span class="run-revision">{revision}</span>
        }
    });
    let checked = is_selected.clone();
    view! {
        <tr class="run-row" class:selected=is_selected data-run-id=id.clone()>
            <td class="select-col">
                <input
                    type="checkbox"
                    class="run-select"
                    aria-label=format!("Compare run {id}")
                    prop:checked=checked
                    on:change=toggle
                />
            </td>
            <td class="run-time" title=format!("run {id}")>
                {short_time(&run.created_at)}
            </td>
            <td class="run-kind">{kind_label(run.spec.kind)}</td>
            <td class="run-algorithm">{run.spec.algorithm.clone()}</td>
            <td class="run-dataset" title=dataset_title>
                {dataset.map(|d| d.name).unwrap_or_else(|| "—".into())}
            </td>
            <td class="run-notebook">{notebook}</td>
            {metric_cells}
            <td class="run-duration">{duration_text(run.spec.duration_ms)}</td>
        </tr>
    }
}

/// One row of the comparison: a name and each run's value as shown (`None` when the run
/// lacks it).
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub name: String,
    pub values: Vec<Option<String>>,
    /// The runs do not all have the same value (a missing value counts as different).
    pub differs: bool,
}

impl CompareRow {
    fn new(name: impl Into<String>, values: Vec<Option<String>>) -> CompareRow {
        let differs = values.windows(2).any(|pair| pair[0] != pair[1]);
        CompareRow {
            name: name.into(),
            values,
            differs,
        }
    }
}

/// A setting's value as the comparison shows it: strings bare, everything else as JSON.
pub fn setting_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The comparison's setting rows: every setting any of the runs has, in name order.
pub fn setting_rows(runs: &[RunRecord]) -> Vec<CompareRow> {
    let names: BTreeSet<&String> = runs
        .iter()
        .filter_map(|r| r.spec.settings.as_object())
        .flat_map(|settings| settings.keys())
        .collect();
    names
        .into_iter()
        .map(|name| {
            let values = runs
                .iter()
                .map(|r| r.spec.settings.get(name).map(setting_text))
                .collect();
            CompareRow::new(name.clone(), values)
        })
        .collect()
}

/// The comparison's metric rows: every metric any of the runs has, in name order.
pub fn metric_rows(runs: &[RunRecord]) -> Vec<CompareRow> {
    metric_names(runs)
        .into_iter()
        .map(|name| {
            let values = runs
                .iter()
                .map(|r| r.spec.metrics.get(&name).map(|v| short_number(*v)))
                .collect();
            CompareRow::new(name, values)
        })
        .collect()
}

/// The comparison's rows about the runs themselves (what was fitted on what).
pub fn about_rows(runs: &[RunRecord], titles: &BTreeMap<String, String>) -> Vec<CompareRow> {
    let each = |f: &dyn Fn(&RunRecord) -> Option<String>| runs.iter().map(f).collect::<Vec<_>>();
    vec![
        CompareRow::new("kind", each(&|r| Some(kind_label(r.spec.kind).into()))),
        CompareRow::new("algorithm", each(&|r| Some(r.spec.algorithm.clone()))),
        CompareRow::new(
            "dataset",
            each(&|r| {
                r.spec
                    .dataset
                    .as_ref()
                    .map(|d| format!("{} ({})", d.name, &d.sha256[..d.sha256.len().min(12)]))
            }),
        ),
        CompareRow::new("target", each(&|r| r.spec.target.clone())),
        CompareRow::new("features", each(&|r| Some(r.spec.features.join(", ")))),
        CompareRow::new("rows", each(&|r| Some(r.spec.rows.to_string()))),
        CompareRow::new(
            "notebook",
            each(&|r| {
                r.notebook_id.as_ref().map(|id| {
                    let revision = r
                        .notebook_revision
                        .map(|v| format!(" r{v}"))
                        .unwrap_or_default();
                    format!("{}{revision}", notebook_label(titles, id))
                })
            }),
        ),
        CompareRow::new(
            "duration",
            each(&|r| Some(duration_text(r.spec.duration_ms))),
        ),
    ]
}

/// `#runs-compare`: the runs side by side, one column each.
#[component]
pub fn RunsCompare(
    #[prop(into)] runs: Signal<Vec<RunRecord>>,
    #[prop(into)] titles: Signal<BTreeMap<String, String>>,
) -> impl IntoView {
    move || {
        let runs = runs.get();
        let heads = runs
            .iter()
            .map(|r| {
                let id = r.spec.id.clone();
                view! {
                    <th class="compare-run" data-run-id=id.clone()>
                        {id.clone()}
                    </th>
                }
            })
            .collect_view();
        let ids: Vec<String> = runs.iter().map(|r| r.spec.id.clone()).collect();
        let section = |title: &'static str,
                       class: &'static str,
                       data: &'static str,
                       rows: Vec<CompareRow>| {
            let span = ids.len() + 1;
            let body = rows
                .into_iter()
                .map(|row| {
                    let cells = row
                        .values
                        .iter()
                        .zip(&ids)
                        .map(|(value, id)| {
                            view! {
                                <td data-run-id=id.clone()>
                                    {value.clone().unwrap_or_else(|| "—".into())}
                                </td>
                            }
                        })
                        .collect_view();
                    let attributes = match data {
                        "setting" => (Some(row.name.clone()), None, None),
                        "metric" => (None, Some(row.name.clone()), None),
                        _ => (None, None, Some(row.name.clone())),
                    };
                    view! {
                        <tr
                            class=class
                            class:differs=row.differs
                            data-setting=attributes.0
                            data-metric=attributes.1
                            data-field=attributes.2
                        >
                            <th scope="row">{row.name.clone()}</th>
                            {cells}
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <tr class="compare-section">
                    <th colspan=span>{title}</th>
                </tr>
                {body}
            }
        };
        let about = section(
            "Run",
            "about-row",
            "field",
            about_rows(&runs, &titles.get()),
        );
        let settings = section("Settings", "setting-row", "setting", setting_rows(&runs));
        let metrics = section("Metrics", "metric-row", "metric", metric_rows(&runs));
        view! {
            <div class="table-wrap">
                <table id="runs-compare" class="registry runs-compare">
                    <thead>
                        <tr>
                            <th></th>
                            {heads}
                        </tr>
                    </thead>
                    <tbody>{about} {settings} {metrics}</tbody>
                </table>
            </div>
        }
    }
}

/// One bar of the chart, in SVG user units.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub run_id: String,
    pub label: String,
    pub value: f64,
    pub x: f64,
    pub y: f64,
    pub width: f64,
}

/// The chart's geometry: horizontal bars from the zero line, one row per run.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    /// Where zero is (negative values, such as a poor R², go left of it).
    pub zero_x: f64,
    pub width: f64,
    pub height: f64,
}

pub const PLOT_WIDTH: f64 = 720.0;
/// Left of the bars: the runs' labels.
pub const PLOT_LABEL_WIDTH: f64 = 220.0;
/// Right of the bars: room for the value of the longest bar.
pub const PLOT_VALUE_WIDTH: f64 = 70.0;
pub const PLOT_ROW_HEIGHT: f64 = 26.0;
pub const PLOT_BAR_HEIGHT: f64 = 18.0;
pub const PLOT_MARGIN: f64 = 8.0;

/// Lays out `values` (run id, label, value) as bars scaled to the widest magnitude.
pub fn bar_chart(values: &[(String, String, f64)]) -> BarChart {
    let low = values.iter().map(|v| v.2).fold(0.0_f64, f64::min);
    let high = values.iter().map(|v| v.2).fold(0.0_f64, f64::max);
    let span = if high - low > 0.0 { high - low } else { 1.0 };
    let left = PLOT_LABEL_WIDTH;
    let room = PLOT_WIDTH - PLOT_LABEL_WIDTH - PLOT_VALUE_WIDTH;
    let scale = room / span;
    let zero_x = left + (0.0 - low) * scale;
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, (run_id, label, value))| {
            let end = zero_x + value * scale;
            Bar {
                run_id: run_id.clone(),
                label: label.clone(),
                value: *value,
                x: zero_x.min(end),
                y: PLOT_MARGIN + i as f64 * PLOT_ROW_HEIGHT,
                width: (end - zero_x).abs(),
            }
        })
        .collect();
    BarChart {
        bars,
        zero_x,
        width: PLOT_WIDTH,
        height: 2.0 * PLOT_MARGIN + values.len() as f64 * PLOT_ROW_HEIGHT,
    }
}

/// A run's label in the chart: its algorithm and the end of its id (the counter part).
pub fn bar_label(run: &RunRecord) -> String {
    let id = &run.spec.id;
    let tail: String = {
        let chars: Vec<char> = id.chars().collect();
        let start = chars.len().saturating_sub(10);
        chars[start..].iter().collect()
    };
    let tail = if tail.len() < id.len() {
        format!("…{tail}")
    } else {
        tail
    };
    format!("{} {tail}", run.spec.algorithm)
}

/// The metric most of `runs` have (the first by name among equals): the chart's default.
pub fn commonest_metric(runs: &[RunRecord]) -> Option<String> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for name in runs.iter().flat_map(|r| r.spec.metrics.keys()) {
        *counts.entry(name).or_default() += 1;
    }
    // max_by_key keeps the last of equals; iterating in reverse name order makes it the first.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, count)| *count)
        .map(|(name, _)| name.clone())
}

/// `select#runs-plot-metric` and `svg#runs-metric-plot`: one metric across `runs`. The
/// metric shown is the one chosen, else the one the table is sorted by, else the one most
/// of the runs have.
#[component]
pub fn MetricPlot(
    #[prop(into)] runs: Signal<Vec<RunRecord>>,
    metric: RwSignal<Option<String>>,
    sort: RwSignal<RunSort>,
) -> impl IntoView {
    let names = Signal::derive(move || runs.with(|runs| metric_names(runs.iter())));
    let shown = Signal::derive(move || {
        let names = names.get();
        let wanted = metric.get().or_else(|| sort.with(|s| s.metric.clone()));
        wanted
            .filter(|w| names.contains(w))
            .or_else(|| runs.with(|runs| commonest_metric(runs)))
    });
    let options = move || {
        names
            .get()
            .into_iter()
            .map(|name| {
                let chosen = shown.with(|s| s.as_deref() == Some(name.as_str()));
                view! {
                    <option value=name.clone() selected=chosen>
                        {name.clone()}
                    </option>
                }
            })
            .collect_view()
    };
    let chart = move || {
        let Some(name) = shown.get() else {
            return view! { <p class="empty plot-note">"These runs have no metrics to plot."</p> }
                .into_any();
        };
        let (values, lacking) = runs.with(|runs| {
            let values: Vec<(String, String, f64)> = runs
                .iter()
                .filter_map(|r| {
                    r.spec
                        .metrics
                        .get(&name)
                        .map(|v| (r.spec.id.clone(), bar_label(r), *v))
                })
                .collect();
            (values.clone(), runs.len() - values.len())
        });
        let chart = bar_chart(&values);
        let view_box = format!("0 0 {} {}", chart.width, chart.height);
        let bars = chart
            .bars
            .iter()
            .map(|bar| {
                let text_y = bar.y + PLOT_BAR_HEIGHT / 2.0;
                let value_x = if bar.value < 0.0 {
                    bar.x - 4.0
                } else {
                    bar.x + bar.width + 4.0
                };
                let anchor = if bar.value < 0.0 { "end" } else { "start" };
                view! {
                    <g class="bar" data-run-id=bar.run_id.clone()>
                        <title>{format!("{}: {} = {}", bar.run_id, name, bar.value)}</title>
                        <text
                            class="bar-label"
                            x=PLOT_LABEL_WIDTH - 8.0
                            y=text_y
                            text-anchor="end"
                            dominant-baseline="middle"
                        >
                            {bar.label.clone()}
                        </text>
                        <rect
                            class="run-bar"
                            data-run-id=bar.run_id.clone()
                            data-value=bar.value.to_string()
                            x=bar.x
                            y=bar.y
                            width=bar.width.max(0.5)
                            height=PLOT_BAR_HEIGHT
                        ></rect>
                        <text
                            class="bar-value"
                            x=value_x
                            y=text_y
                            text-anchor=anchor
                            dominant-baseline="middle"
                        >
                            {short_number(bar.value)}
                        </text>
                    </g>
                }
            })
            .collect_view();
        let note = (lacking > 0).then(|| {
            let runs = if lacking == 1 { "run lacks" } else { "runs lack" };
            view! { <p class="table-note plot-note">{format!("{lacking} {runs} {name}: not shown.")}</p> }
        });
        view! {
            <svg
                id="runs-metric-plot"
                data-metric=name.clone()
                role="img"
                aria-label=format!("{name} by run")
                viewBox=view_box
                width=chart.width
                height=chart.height
            >
                <line
                    class="zero-line"
                    x1=chart.zero_x
                    x2=chart.zero_x
                    y1=0.0
                    y2=chart.height
                ></line>
                {bars}
            </svg>
            {note}
        }
        .into_any()
    };
    view! {
        <div class="runs-plot">
            <label>
                "Metric "
                <select
                    id="runs-plot-metric"
                    on:change=move |ev| metric.set(Some(event_target_value(&ev)).filter(|v| !v.is_empty()))
                    prop:value=move || shown.get().unwrap_or_default()
                >
                    {options}
                </select>
            </label>
            {chart}
        </div>
    }
}
