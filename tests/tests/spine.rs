//! Issue 2's end-to-end test: in real headless Chromium, create a notebook, run cells that
//! load a CSV and fit a logistic regression in the browser's worker kernel, deploy it, then
//! call the prediction URL over HTTP and check it predicts what the browser computed.

use fantoccini::Locator;
use oxbook_e2e::{assert_endpoint_agrees, Browser, Server};

const FEATURES: &str = r#"["age", "income", "past_purchases", "is_member"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_trained_model_predicts_the_same_at_its_prediction_url() {
    let server = Server::start().await;
    let browser = Browser::start().await;
    browser.open_new_notebook(&server.base_url).await;

    let sources = [
        format!(
            r#"let people = read_csv("/static/demo/hats.csv").drop_nulls();
let parts = split(people, 0.2, 42);
let model = logistic_regression(parts.train, {FEATURES}, "bought_hat");
accuracy(model, parts.test)"#
        ),
        format!(r#"let rows = parts.test.head(8).select({FEATURES}); rows"#),
        "model.predict(rows)".to_string(),
        r#"deploy(model, "spine-test")"#.to_string(),
    ];
    let existing = browser.cells().await.len();
    for _ in &sources {
        browser
            .wait_for("#add-code-cell")
            .await
            .click()
            .await
            .unwrap();
    }
    let cells = browser.cells().await;
    assert_eq!(
        cells.len(),
        existing + sources.len(),
        "each click adds one code cell"
    );
    let cells = &cells[existing..];
    let mut ids = Vec::new();
    for (cell, source) in cells.iter().zip(&sources) {
        browser.set_cell_source(cell, source).await;
        ids.push(
            cell.attr("data-cell-id")
                .await
                .unwrap()
                .expect("cell has an id"),
        );
    }
    for (cell, id) in cells.iter().zip(&ids) {
        cell.find(Locator::Css("button.run-cell"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let status = browser.wait_cell_settled(id).await;
        let cell = browser
            .wait_for(&format!("div.cell[data-cell-id='{id}']"))
            .await;
        assert_eq!(
            status,
            "done",
            "cell {id} failed: {}",
            browser.cell_text(&cell).await
        );
    }

    // The cell's value, then what its host did: the fit was recorded as a run.
    let text = browser.cell_text(&browser.cell(&ids[0]).await).await;
    let accuracy: f64 = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("accuracy is a number: {text}"));
    assert!(accuracy > 0.6 && accuracy <= 1.0, "accuracy {accuracy}");
    assert!(text.contains("Recorded run "), "{text}");
    let runs: Vec<serde_json::Value> = reqwest::get(format!("{}/api/runs", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        runs.iter()
            .any(|r| r["kind"] == "fit" && r["metrics"]["train_accuracy"].is_number()),
        "the browser's fit is recorded on the server: {runs:?}"
    );

    let rows = browser
        .cell_table_records(&browser.cell(&ids[1]).await)
        .await;
    assert_eq!(rows.len(), 8);
    let browser_predictions = browser
        .cell_table_records(&browser.cell(&ids[2]).await)
        .await;
    assert_eq!(browser_predictions.len(), rows.len());

    let deployed = browser.cell_text(&browser.cell(&ids[3]).await).await;
    assert!(
        deployed.contains("/endpoints/spine-test/invocations"),
        "deploy output: {deployed}"
    );

    assert_endpoint_agrees(&server, "spine-test", rows, &browser_predictions).await;
}
