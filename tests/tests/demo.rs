//! Issue 3's end-to-end test: open the demo notebook in real headless Chromium, run all,
//! check the accuracies and plots appear, check the prediction URL answers what the browser
//! computed for the same rows, and run the same notebook headless with `oxbook run`.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use oxbook_e2e::{assert_endpoint_agrees, server_binary, Browser, Server, UI_TIMEOUT};
use sha2::{Digest, Sha256};

const DEMO_ID: &str = "hat-demo";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_in_the_browser_and_headless_with_matching_predictions() {
    let server = Server::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&server.base_url).await.unwrap();
    let link = browser.wait_for("a.notebook-link").await;
    let links = browser
        .client
        .find_all(Locator::Css("a.notebook-link"))
        .await
        .unwrap();
    let mut demo_link = None;
    for candidate in links {
        if candidate
            .text()
            .await
            .unwrap_or_default()
            .contains("buy a hat")
        {
            demo_link = Some(candidate);
        }
    }
    drop(link);
    demo_link
        .expect("the demo notebook is listed on first start")
        .click()
        .await
        .unwrap();
    browser.wait_kernel_ready().await;
    browser
        .wait_for("div.cell[data-kind='markdown'] div.markdown-rendered h1")
        .await;

    browser.wait_for("#run-all").await.click().await.unwrap();
    let code_cells = browser
        .client
        .find_all(Locator::Css("div.cell[data-kind='code']"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for cell in &code_cells {
        ids.push(cell.attr("data-cell-id").await.unwrap().expect("cell id"));
    }
    for id in &ids {
        let status = browser.wait_cell_settled(id).await;
        let cell = browser
            .wait_for(&format!("div.cell[data-cell-id='{id}']"))
            .await;
        assert_eq!(
            status,
            "done",
            "demo cell {id} failed: {}",
            browser.cell_text(&cell).await
        );
    }

    let split = browser.cell("split").await;
    let report = browser.cell_text(&split).await;
    for model in ["logistic regression accuracy: ", "random forest accuracy: "] {
        let line = report
            .lines()
            .find(|l| l.starts_with(model))
            .unwrap_or_else(|| panic!("no '{model}' in {report}"));
        let accuracy: f64 = line[model.len()..]
            .trim()
            .parse()
            .expect("accuracy is a number");
        assert!(accuracy > 0.7 && accuracy <= 1.0, "{line}");
    }
    let plots = browser
        .client
        .find_all(Locator::Css("img.output-svg"))
        .await
        .unwrap();
    assert!(
        plots.len() >= 2,
        "expected the histogram and the scatter plot, found {} plots",
        plots.len()
    );
    for plot in plots {
        let src = plot.attr("src").await.unwrap().unwrap_or_default();
        assert!(
            src.starts_with("data:image/svg+xml"),
            "plot source {src:.40}"
        );
    }

    let rows = browser
        .cell_table_records(&browser.cell("sample").await)
        .await;
    let browser_predictions = browser
        .cell_table_records(&browser.cell("predict").await)
        .await;
    assert_eq!(rows.len(), 5);
    let deployed = browser.cell_text(&browser.cell("deploy").await).await;
    assert!(
        deployed.contains("/endpoints/hat-predictor/invocations"),
        "deploy output: {deployed}"
    );

    assert_endpoint_agrees(&server, "hat-predictor", rows, &browser_predictions).await;

    // Headless: the same notebook with the native kernel, against the running server.
    let before = endpoint_version(&server).await;
    let base_url = server.base_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(server_binary())
            .args(["run", DEMO_ID, "--server", &base_url])
            .output()
    })
    .await
    .unwrap()
    .expect("run oxbook run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "oxbook run failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Same seed, same data: the native kernel reports exactly the browser's accuracies.
    for line in report.lines().filter(|l| l.contains("accuracy: ")) {
        assert!(
            stdout.contains(line),
            "browser printed '{line}', oxbook run printed:\n{stdout}"
        );
    }
    let started = Instant::now();
    while endpoint_version(&server).await == before {
        assert!(
            started.elapsed() < UI_TIMEOUT,
            "oxbook run did not redeploy hat-predictor"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Both hosts recorded their fits as runs of the demo notebook; the Runs page lists
    // them and charts a metric across them.
    let runs: Vec<serde_json::Value> = reqwest::get(format!(
        "{}/api/runs?notebook_id={DEMO_ID}",
        server.base_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let fits: Vec<&serde_json::Value> = runs.iter().filter(|r| r["kind"] == "fit").collect();
    assert!(
        fits.len() >= 4,
        "two fits each from the browser and oxbook run: {runs:?}"
    );
    let sessions: std::collections::BTreeSet<&str> = fits
        .iter()
        .filter_map(|r| r["id"].as_str()?.rsplit_once(['-', '.']).map(|(s, _)| s))
        .collect();
    assert!(sessions.len() >= 2, "runs from two sessions: {sessions:?}");
    // Every fit names its data: the demo CSV and the sha256 of its bytes.
    let demo_csv =
        std::fs::read(oxbook_e2e::workspace_root().join("static/demo/hats.csv")).unwrap();
    let demo_sha256 = hex::encode(Sha256::digest(&demo_csv));
    for fit in &fits {
        assert_eq!(fit["dataset"]["name"], "/static/demo/hats.csv", "{fit}");
        assert_eq!(fit["dataset"]["sha256"], demo_sha256.as_str(), "{fit}");
    }

    // The Models page offers each registered version's artifact as a file, which names
    // its run and data set.
    browser
        .client
        .goto(&format!("{}/models", server.base_url))
        .await
        .unwrap();
    let link = browser
        .wait_for("#models-table tr.model-row a.model-download")
        .await;
    let href = link.attr("href").await.unwrap().expect("a download link");
    let response = reqwest::get(format!("{}{href}", server.base_url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{href}");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains(".model.json"), "{disposition}");
    let artifact: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        artifact["lineage"]["dataset"]["sha256"],
        demo_sha256.as_str()
    );
    let run_id = artifact["lineage"]["run_id"].as_str().unwrap();
    assert!(
        fits.iter().any(|f| f["id"] == run_id),
        "{run_id} is a recorded fit"
    );
    browser
        .client
        .goto(&format!("{}/runs", server.base_url))
        .await
        .unwrap();
    browser.wait_for("#runs-table tr.run-row").await;
    let started = Instant::now();
    loop {
        let rows = browser
            .client
            .find_all(Locator::Css("#runs-table tr.run-row"))
            .await
            .unwrap();
        if rows.len() >= fits.len() {
            break;
        }
        assert!(
            started.elapsed() < UI_TIMEOUT,
            "the Runs page lists {} runs",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.wait_for("svg#runs-metric-plot rect.run-bar").await;
}

async fn endpoint_version(server: &Server) -> u64 {
    let info: serde_json::Value =
        reqwest::get(format!("{}/api/endpoints/hat-predictor", server.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    info["model"]["version"]
        .as_u64()
        .expect("endpoint names its model version")
}
