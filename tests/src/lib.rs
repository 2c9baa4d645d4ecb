//! End-to-end test support: start the built `oxbook` server on a free port with a fresh
//! data folder, start chromedriver and a headless Chromium, and small helpers to drive the
//! notebook page through the selectors it promises (see ARCHITECTURE.md, frontend).
//!
//! Needs, built beforehand (scripts/test-all.sh does it): the server binary
//! (`cargo build -p oxbook-server`, or `OXBOOK_BIN`) and the page (`trunk build` into
//! `frontend/dist`). A missing piece fails the test with a message saying how to build it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a page may take to show what a test waits for. Generous: this is a liveness
/// bound for slow CI machines, not a speed target.
pub const UI_TIMEOUT: Duration = Duration::from_secs(120);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("OXBOOK_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let binary = target.join("debug").join("oxbook");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p oxbook-server` first",
        binary.display()
    );
    binary
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped, so a failing test leaves nothing running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `oxbook serve` with its own data folder.
pub struct Server {
    pub base_url: String,
    _process: Guard,
    _data_dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(&[]).await
    }

    /// A server started with `extra` flags after the usual ones (e.g.
    /// `--fetch-allow-loopback`, so that `/api/fetch` reaches a test's own loopback server).
    pub async fn start_with(extra: &[&str]) -> Server {
        let root = workspace_root();
        let frontend = root.join("frontend/dist");
        assert!(
            frontend.join("index.html").exists(),
            "frontend/dist/index.html is missing: run `trunk build --release --offline` in frontend/ first"
        );
        let data_dir = tempfile::tempdir().expect("temporary data folder");
        let port = free_port();
        let process = Command::new(server_binary())
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--static-dir")
            .arg(root.join("static"))
            .arg("--frontend-dir")
            .arg(&frontend)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the oxbook server");
        let server = Server {
            base_url: format!("http://127.0.0.1:{port}"),
            _process: Guard(process),
            _data_dir: data_dir,
        };
        let started = Instant::now();
        loop {
            if let Ok(response) = reqwest::get(format!("{}/ping", server.base_url)).await {
                if response.status().is_success() {
                    return server;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not answer /ping within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn invoke(&self, endpoint: &str, records: &[Value]) -> Value {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/endpoints/{endpoint}/invocations",
                self.base_url
            ))
            .json(&json!({ "dataframe_records": records }))
            .send()
            .await
            .expect("POST invocations");
        let status = response.status();
        let body: Value = response.json().await.expect("invocation answers JSON");
        assert!(
            status.is_success(),
            "invocation failed with {status}: {body}"
        );
        body
    }
}

/// chromedriver plus a WebDriver session on a fresh headless Chromium profile.
pub struct Browser {
    pub client: Client,
    _driver: Guard,
}

impl Browser {
    pub async fn start() -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {chromedriver}: {e} (scripts/setup.sh installs chromium-driver)")
            });
        let driver = Guard(driver);
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", "--disable-quic", "--window-size=1400,1000"
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("could not open a WebDriver session: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            _driver: driver,
        }
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matching `{css}` appeared: {e}"))
    }

    /// Opens the notebook list at `base_url`, makes a new notebook and waits for its kernel.
    pub async fn open_new_notebook(&self, base_url: &str) {
        self.client.goto(base_url).await.unwrap();
        self.wait_for("#new-notebook").await.click().await.unwrap();
        self.wait_kernel_ready().await;
    }

    /// Waits until the kernel worker reports it is ready.
    pub async fn wait_kernel_ready(&self) {
        self.wait_for("#kernel-status[data-state='ready']").await;
    }

    /// Replaces the source of a cell's editor as typing would (an `input` event).
    pub async fn set_cell_source(&self, cell: &Element, source: &str) {
        let editor = cell
            .find(Locator::Css("textarea.cell-source"))
            .await
            .expect("cell has an editor");
        let editor_json = serde_json::to_value(&editor).expect("element serializes");
        self.client
            .execute(
                "arguments[0].value = arguments[1];\
                 arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
                vec![editor_json, json!(source)],
            )
            .await
            .expect("set the cell's source");
    }

    /// The cell with this id, once it is on the page.
    pub async fn cell(&self, cell_id: &str) -> Element {
        self.wait_for(&format!("div.cell[data-cell-id='{cell_id}']"))
            .await
    }

    /// The cells of the open notebook, in order.
    pub async fn cells(&self) -> Vec<Element> {
        self.client
            .find_all(Locator::Css("div.cell"))
            .await
            .expect("find cells")
    }

    /// Waits until a cell settles as done or failed and returns its status.
    pub async fn wait_cell_settled(&self, cell_id: &str) -> String {
        let started = Instant::now();
        loop {
            let cell = self.cell(cell_id).await;
            let status = cell
                .attr("data-status")
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if status == "done" || status == "failed" {
                return status;
            }
            assert!(
                started.elapsed() < UI_TIMEOUT,
                "cell {cell_id} still '{status}' after {UI_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn cell_text(&self, cell: &Element) -> String {
        let mut texts = Vec::new();
        for output in cell
            .find_all(Locator::Css(
                "div.outputs pre.output-text, div.outputs div.output-error",
            ))
            .await
            .unwrap()
        {
            texts.push(output.text().await.unwrap_or_default());
        }
        texts.join("\n")
    }

    /// The first table output of a cell as JSON records, values typed by each column's dtype.
    pub async fn cell_table_records(&self, cell: &Element) -> Vec<serde_json::Map<String, Value>> {
        let table = cell
            .find(Locator::Css("table.output-table"))
            .await
            .expect("cell shows a table");
        let mut columns = Vec::new();
        for header in table.find_all(Locator::Css("thead th")).await.unwrap() {
            let name = header
                .find(Locator::Css("span.column-name"))
                .await
                .expect("th has a column name");
            let dtype = header
                .find(Locator::Css("span.dtype"))
                .await
                .expect("th has a dtype");
            columns.push((
                name.text().await.unwrap_or_default(),
                dtype.text().await.unwrap_or_default(),
            ));
        }
        let mut records = Vec::new();
        for row in table.find_all(Locator::Css("tbody tr")).await.unwrap() {
            let mut record = serde_json::Map::new();
            for ((name, dtype), cell) in columns
                .iter()
                .zip(row.find_all(Locator::Css("td")).await.unwrap())
            {
                let text = cell.text().await.unwrap_or_default();
                record.insert(name.clone(), typed_value(&text, dtype));
            }
            records.push(record);
        }
        records
    }
}

/// Sends the rows the browser showed to `endpoint` and checks that the endpoint predicts
/// what the browser did for them: the same labels, and probabilities within 1e-12 (the
/// browser's `p_<class>` columns).
pub async fn assert_endpoint_agrees(
    server: &Server,
    endpoint: &str,
    rows: Vec<serde_json::Map<String, Value>>,
    browser_predictions: &[serde_json::Map<String, Value>],
) {
    assert_eq!(
        rows.len(),
        browser_predictions.len(),
        "one browser prediction per row"
    );
    let records: Vec<Value> = rows.into_iter().map(Value::Object).collect();
    let answer = server.invoke(endpoint, &records).await;
    let predictions = answer["predictions"].as_array().expect("predictions array");
    let classes = answer["classes"].as_array().expect("classes array");
    assert_eq!(predictions.len(), browser_predictions.len());
    for (row, browser_row) in browser_predictions.iter().enumerate() {
        assert_eq!(
            predictions[row], browser_row["prediction"],
            "row {row}: label differs"
        );
        for (class_index, class) in classes.iter().enumerate() {
            let column = format!("p_{}", class.to_string().trim_matches('"'));
            let in_browser = browser_row[&column]
                .as_f64()
                .unwrap_or_else(|| panic!("no {column} column"));
            let at_endpoint = answer["probabilities"][row][class_index]
                .as_f64()
                .expect("a probability per class");
            assert!(
                (in_browser - at_endpoint).abs() <= 1e-12,
                "row {row} {column}: browser {in_browser}, endpoint {at_endpoint}"
            );
        }
    }
}

/// A table cell's text as the JSON value of its column's type.
pub fn typed_value(text: &str, dtype: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    match dtype {
        "int" => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| panic!("'{text}' is not an int")),
        "float" => text
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| panic!("'{text}' is not a float")),
        "bool" => Value::Bool(text == "true"),
        _ => Value::String(text.to_string()),
    }
}
