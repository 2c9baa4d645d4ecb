//! Progress and cancelling in real headless Chromium, against the real server: the page is
//! cross-origin isolated, a long fit shows how many trees it has grown and its Cancel
//! button stops it without losing the kernel's variables, an endless loop can be
//! cancelled the same way, and a URL load streaming from another origin can be cancelled
//! too (while a URL the browser may not read still loads through the server's fetch).
//! Fits on streamed loads (a URL, a picked file) name their data with its sha256.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use oxbook_e2e::{Browser, Server, UI_TIMEOUT};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FEATURES: &str = r#"["age", "income", "past_purchases", "is_member"]"#;

/// Opens a new notebook once the page is cross-origin isolated (asserted) and its kernel
/// is ready.
async fn open_new_notebook(browser: &Browser, server: &Server) {
    browser.open_new_notebook(&server.base_url).await;
    let isolated = browser
        .client
        .execute("return window.crossOriginIsolated === true", vec![])
        .await
        .unwrap();
    assert_eq!(
        isolated,
        serde_json::Value::Bool(true),
        "the page must be cross-origin isolated (COOP/COEP) to share memory with its worker"
    );
}

/// Adds one code cell per source; their ids, in order.
async fn add_cells(browser: &Browser, sources: &[&str]) -> Vec<String> {
    let existing = browser.cells().await.len();
    for _ in sources {
        browser
            .wait_for("#add-code-cell")
            .await
            .click()
            .await
            .unwrap();
    }
    let cells = browser.cells().await;
    assert_eq!(cells.len(), existing + sources.len());
    let mut ids = Vec::new();
    for (cell, source) in cells[existing..].iter().zip(sources) {
        browser.set_cell_source(cell, source).await;
        ids.push(cell.attr("data-cell-id").await.unwrap().expect("cell id"));
    }
    ids
}

async fn click_in_cell(browser: &Browser, id: &str, css: &str) {
    browser
        .wait_for(&format!("div.cell[data-cell-id='{id}'] {css}"))
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css} in cell {id}: {e}"));
}

/// Runs a cell and checks it ends done; its text.
async fn run_ok(browser: &Browser, id: &str) -> String {
    click_in_cell(browser, id, "button.run-cell").await;
    let status = browser.wait_cell_settled(id).await;
    let text = browser.cell_text(&browser.cell(id).await).await;
    assert_eq!(status, "done", "cell {id}: {text}");
    text
}

/// The running cell's progress bar: (done, total, unit, shown text), read in one go so
/// that they belong together; `None` while there is none.
async fn progress_of(browser: &Browser, id: &str) -> Option<(u64, u64, String, String)> {
    let read = browser
        .client
        .execute(
            "const cell = document.querySelector(`div.cell[data-cell-id='${arguments[0]}']`);\
             const bar = cell && cell.querySelector('progress.cell-progress');\
             const text = cell && cell.querySelector('.cell-progress-text');\
             if (!bar || !text) return null;\
             return [bar.dataset.progress, bar.dataset.total, bar.dataset.unit, text.textContent];",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
    let read: Option<Vec<String>> = serde_json::from_value(read).expect("four strings or null");
    let [done, total, unit, text] = <[String; 4]>::try_from(read?).ok()?;
    Some((done.parse().ok()?, total.parse().ok()?, unit, text))
}

/// Waits until cell `id` shows a fit progress of at least `at_least` units.
async fn wait_progress(browser: &Browser, id: &str, at_least: u64) -> (u64, u64, String, String) {
    let started = Instant::now();
    loop {
        if let Some(progress) = progress_of(browser, id).await {
            if progress.0 >= at_least {
                return progress;
            }
        }
        let cell = browser.cell(id).await;
        let status = cell.attr("data-status").await.unwrap().unwrap_or_default();
        assert_eq!(
            status,
            "running",
            "cell {id} stopped before showing progress: {}",
            browser.cell_text(&cell).await
        );
        assert!(
            started.elapsed() < UI_TIMEOUT,
            "cell {id} showed no progress of {at_least} within {UI_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The data panel's result for a finished load at `css`: its `data-ok` and its text.
async fn load_result(browser: &Browser, css: &str) -> (Option<String>, String) {
    let result = browser.wait_for(css).await;
    let text = result.text().await.unwrap();
    (result.attr("data-ok").await.unwrap(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_fit_shows_progress_and_cancel_stops_it_keeping_the_variables() {
    let server = Server::start().await;
    let browser = Browser::start().await;
    open_new_notebook(&browser, &server).await;

    let load = r#"let keep = 41 + 1;
let people = read_csv("/static/demo/hats.csv").drop_nulls();
people.rows()"#;
    let fit = format!(
        r#"let before_fit = "assigned";
let forest = random_forest(people, {FEATURES}, "bought_hat", #{{trees: 10000, seed: 7}});
"the fit finished""#
    );
    let after = r#"`${keep + people.rows()} ${before_fit}`"#;
    let ids = add_cells(&browser, &[load, &fit, after]).await;

    let rows: u64 = run_ok(&browser, &ids[0])
        .await
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .expect("the row count");
    assert!(rows > 1000, "{rows} rows");

    click_in_cell(&browser, &ids[1], "button.run-cell").await;
    let first = wait_progress(&browser, &ids[1], 1).await;
    assert_eq!(first.1, 10000, "the total is the trees asked for");
    assert_eq!(first.2, "trees");
    assert_eq!(first.3, format!("{} of 10000 trees", first.0));
    // The bar moves while the forest grows.
    let later = wait_progress(&browser, &ids[1], first.0 + 2).await;
    assert!(later.0 > first.0 && later.0 < 10000, "{later:?}");
    assert_eq!(
        browser
            .wait_for("#kernel-status")
            .await
            .attr("data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("busy")
    );

    click_in_cell(&browser, &ids[1], "button.cancel-cell").await;
    let status = browser.wait_cell_settled(&ids[1]).await;
    let cell = browser.cell(&ids[1]).await;
    let text = browser.cell_text(&cell).await;
    assert_eq!(status, "failed", "{text}");
    assert!(text.contains("Cancelled"), "{text}");
    assert!(
        text.contains("of 10000 trees"),
        "the error says how far it got: {text}"
    );
    assert!(!text.contains("the fit finished"), "{text}");
    assert!(
        !text.contains("KernelRestarted")
            && !text.contains("variables from earlier cells are lost"),
        "cancelling must not restart the kernel: {text}"
    );
    // The bar and the button go with the run.
    assert!(cell
        .find(Locator::Css("progress.cell-progress"))
        .await
        .is_err());
    assert!(cell.find(Locator::Css("button.cancel-cell")).await.is_err());
    browser.wait_kernel_ready().await;

    // The same kernel still holds what the earlier cell (and the cancelled one, before the
    // fit) assigned.
    let text = run_ok(&browser, &ids[2]).await;
    assert_eq!(
        text.lines().next().unwrap_or_default().trim(),
        format!("{} assigned", 42 + rows),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_can_be_cancelled() {
    let server = Server::start().await;
    let browser = Browser::start().await;
    open_new_notebook(&browser, &server).await;

    let ids = add_cells(
        &browser,
        &[
            "let answer = 6 * 7; answer",
            "let n = 0;\nloop { n += 1; }",
            "`${answer} ${n > 0}`",
        ],
    )
    .await;
    run_ok(&browser, &ids[0]).await;
    click_in_cell(&browser, &ids[1], "button.run-cell").await;
    browser
        .wait_for(&format!(
            "div.cell[data-cell-id='{}'][data-status='running'] button.cancel-cell",
            ids[1]
        ))
        .await;
    // Let it spin for a while: it must not end by itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = browser
        .cell(&ids[1])
        .await
        .attr("data-status")
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("running"));

    click_in_cell(&browser, &ids[1], "button.cancel-cell").await;
    let status = browser.wait_cell_settled(&ids[1]).await;
    let text = browser.cell_text(&browser.cell(&ids[1]).await).await;
    assert_eq!(status, "failed", "{text}");
    assert!(text.contains("Cancelled"), "{text}");
    assert!(text.contains("the cell was cancelled"), "{text}");
    browser.wait_kernel_ready().await;

    let text = run_ok(&browser, &ids[2]).await;
    assert_eq!(text.lines().next().unwrap_or_default().trim(), "42 true");
}

/// A tiny HTTP server on loopback, another origin than the page's: `/slow.csv` streams a
/// CSV forever, a row every 20 ms, with CORS allowed; `/nocors.csv` is a small CSV without
/// CORS headers, which the browser may not read (so the page loads it through the
/// server's `/api/fetch`); `/dot.svg` is an image without CORS or CORP headers.
async fn start_table_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(stream));
        }
    });
    format!("http://{address}")
}

async fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&byte[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    if path.starts_with("/slow.csv") {
        let header = "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n\
                      Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\nn,label\n";
        if stream.write_all(header.as_bytes()).await.is_err() {
            return;
        }
        // Until the reader goes away (a cancelled load cancels its stream).
        for n in 0u64.. {
            let rows: String = (0..50)
                .map(|i| format!("{},{}\n", n * 50 + i, i % 2))
                .collect();
            if stream.write_all(rows.as_bytes()).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    } else if path.starts_with("/dot.svg") {
        // No CORS or CORP headers: under COEP `require-corp` the page could not show it.
        let body = r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><circle cx="20" cy="15" r="10"/></svg>"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    } else if path.starts_with("/nocors.csv") {
        let body = NOCORS_CSV;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    } else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
    }
}

const NOCORS_CSV: &str = "city,visits\nOslo,3\nLisbon,5\nKyoto,8\n";

/// Types `url` into the Data panel and loads it into `variable`.
async fn load_url(browser: &Browser, variable: &str, url: &str) {
    for (css, value) in [("#load-variable", variable), ("#load-url", url)] {
        let input = browser.wait_for(css).await;
        let input = serde_json::to_value(&input).unwrap();
        browser
            .client
            .execute(
                "arguments[0].value = arguments[1];\
                 arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
                vec![input, serde_json::json!(value)],
            )
            .await
            .unwrap();
    }
    browser
        .wait_for("#load-url-button")
        .await
        .click()
        .await
        .unwrap();
}

/// Picks a file called `name` holding `text` in the Data panel, loading it into `variable`.
async fn load_file(browser: &Browser, variable: &str, name: &str, text: &str) {
    browser.wait_for("#load-file").await;
    browser
        .client
        .execute(
            "const variable = document.querySelector('#load-variable');\
             variable.value = arguments[0];\
             variable.dispatchEvent(new Event('input', { bubbles: true }));\
             const transfer = new DataTransfer();\
             transfer.items.add(new File([arguments[2]], arguments[1], { type: 'text/csv' }));\
             const input = document.querySelector('#load-file');\
             input.files = transfer.files;\
             input.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![
                serde_json::json!(variable),
                serde_json::json!(name),
                serde_json::json!(text),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_load_can_be_cancelled_and_cross_origin_loads_still_work() {
    // The server may fetch this test's loopback table server for the page.
    let server = Server::start_with(&["--fetch-allow-loopback"]).await;
    let tables = start_table_server().await;
    let browser = Browser::start().await;
    open_new_notebook(&browser, &server).await;

    // A CORS-enabled URL of another origin streams in the browser's own fetch (COEP
    // credentialless lets it), and the bar shows the bytes read; Cancel ends it.
    load_url(&browser, "endless", &format!("{tables}/slow.csv")).await;
    browser
        .wait_for("#load-progress[data-state='running']")
        .await;
    let started = Instant::now();
    loop {
        let percent = browser
            .wait_for("#load-percent")
            .await
            .text()
            .await
            .unwrap();
        if percent.ends_with(" read") && !percent.starts_with("0 B") {
            break;
        }
        assert!(
            started.elapsed() < UI_TIMEOUT,
            "the endless load read nothing: {percent}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let route = browser.wait_for("#load-route").await;
    assert_eq!(
        route.attr("data-route").await.unwrap().as_deref(),
        Some("browser")
    );
    browser
        .wait_for("#load-cancel")
        .await
        .click()
        .await
        .unwrap();
    let (ok, text) = load_result(&browser, "#load-result").await;
    assert_eq!(ok.as_deref(), Some("false"), "{text}");
    assert!(text.contains("load cancelled"), "{text}");
    assert_eq!(
        browser
            .wait_for("#load-progress")
            .await
            .attr("data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("failed")
    );
    assert!(browser
        .client
        .find(Locator::Css("#load-cancel"))
        .await
        .is_err());

    // A URL without CORS: the browser's fetch fails, the server's succeeds.
    load_url(&browser, "visits", &format!("{tables}/nocors.csv")).await;
    let (ok, text) = load_result(&browser, "#load-result[data-variable='visits']").await;
    assert_eq!(ok.as_deref(), Some("true"), "{text}");
    let route = browser.wait_for("#load-route").await;
    assert_eq!(
        route.attr("data-route").await.unwrap().as_deref(),
        Some("server")
    );

    // The finished load bound its variable; the cancelled one bound nothing.
    let ids = add_cells(&browser, &["visits.rows()", "endless.rows()"]).await;
    let text = run_ok(&browser, &ids[0]).await;
    assert_eq!(text.lines().next().unwrap_or_default().trim(), "3");
    click_in_cell(&browser, &ids[1], "button.run-cell").await;
    let status = browser.wait_cell_settled(&ids[1]).await;
    let text = browser.cell_text(&browser.cell(&ids[1]).await).await;
    assert_eq!(
        status, "failed",
        "the cancelled load must not bind `endless`: {text}"
    );
    assert!(text.contains("endless"), "{text}");

    // Fits on streamed loads' frames name their data: the URL or file name and the sha256
    // of the bytes (which the worker has WebCrypto compute).
    let picked = "age,income\n31,40\n45,62\n52,70\n";
    load_file(&browser, "picked", "picked.csv", picked).await;
    let (ok, text) = load_result(&browser, "#load-result[data-variable='picked']").await;
    assert_eq!(ok.as_deref(), Some("true"), "{text}");
    let fits = add_cells(
        &browser,
        &[
            r#"ridge(visits.derive("double", "visits * 2"), ["visits"], "double")"#,
            r#"ridge(picked, ["age"], "income")"#,
        ],
    )
    .await;
    for id in &fits {
        let text = run_ok(&browser, id).await;
        assert!(text.contains("Recorded run "), "{text}");
    }
    let runs: Vec<serde_json::Value> = reqwest::get(format!("{}/api/runs", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (name, bytes) in [
        (format!("{tables}/nocors.csv"), NOCORS_CSV),
        ("picked.csv".into(), picked),
    ] {
        let fit = runs
            .iter()
            .find(|r| r["kind"] == "fit" && r["dataset"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("a fit on {name}: {runs:?}"));
        assert_eq!(
            fit["dataset"]["sha256"],
            hex::encode(Sha256::digest(bytes.as_bytes())),
            "{fit}"
        );
    }

    // Images still show under the page's embedder policy: a plot (a `data:` URL) and an
    // image a markdown cell links from another site.
    let plot = add_cells(&browser, &[r#"histogram(visits, "visits")"#]).await;
    run_ok(&browser, &plot[0]).await;
    browser
        .wait_for("#add-markdown-cell")
        .await
        .click()
        .await
        .unwrap();
    let cells = browser.cells().await;
    let markdown = cells.last().unwrap();
    browser
        .set_cell_source(markdown, &format!("A dot: ![dot]({tables}/dot.svg)"))
        .await;
    let started = Instant::now();
    loop {
        let shown = browser
            .client
            .execute(
                "const plot = document.querySelector(`div.cell[data-cell-id='${arguments[0]}'] img.output-svg`);\
                 const dot = document.querySelector('div.markdown-rendered img[alt=dot]');\
                 const ok = (img) => !!img && img.complete && img.naturalWidth > 0;\
                 return [ok(plot), ok(dot)];",
                vec![serde_json::json!(plot[0])],
            )
            .await
            .unwrap();
        if shown == serde_json::json!([true, true]) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "images did not render ([plot, markdown image]): {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
