//! The dataset store as `oxbook serve` configures it from its flags and environment: a
//! local folder named by OXBOOK_DATASET_STORE, and (when OXBOOK_TEST_S3_ENDPOINT names an
//! S3-compatible test server on this machine, e.g. `moto_server -H 127.0.0.1 -p 5055`) a
//! bucket configured by the AWS_* variables.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use oxbook_protocol::DatasetInfo;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Variables that would change what these tests configure, if the developer has them set.
const INHERITED: &[&str] = &[
    "OXBOOK_DATASET_STORE",
    "OXBOOK_DATASET_MAX_BYTES",
    "OXBOOK_FETCH_MAX_BYTES",
    "OXBOOK_FETCH_TIMEOUT_SECS",
    "OXBOOK_FETCH_ALLOW_LOOPBACK",
    "OXBOOK_DATABASE_URL",
];

struct Server {
    child: Child,
    url: String,
    lines: Receiver<String>,
    /// Log lines read so far.
    log: Vec<String>,
}

impl Server {
    /// Starts `oxbook serve` over `dir` with extra `args` and `envs`; waits until it listens.
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut command = Command::new(common::oxbook_binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--static-dir")
            .arg(dir.join("static"))
            .arg("--frontend-dir")
            .arg(dir.join("frontend"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for name in INHERITED {
            command.env_remove(name);
        }
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start oxbook serve");
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let url = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    let _ = child.kill();
                    panic!("the server did not log where it listens; log so far:\n{log:#?}")
                });
            log.push(line.clone());
            if let Some(at) = line.find("listening on http://") {
                break line[at + "listening on ".len()..].trim().to_string();
            }
        };
        Server {
            child,
            url,
            lines,
            log,
        }
    }

    fn log_text(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log.join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write_demo(dir: &Path) -> Vec<u8> {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/demo/hats.csv");
    let bytes = std::fs::read(demo).expect("the repository's demo CSV");
    std::fs::create_dir_all(dir.join("static/demo")).unwrap();
    std::fs::write(dir.join("static/demo/hats.csv"), &bytes).unwrap();
    bytes
}

/// Upload, list, download, replace and delete through a running server; returns nothing,
/// asserts everything.
async fn round_trip(base: &str) {
    let client = reqwest::Client::new();
    let body = "x,y\n1,a\n2,b\n";
    let uploaded = client
        .put(format!("{base}/api/datasets/round.csv"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let info: DatasetInfo = uploaded.json().await.unwrap();
    assert_eq!(info.sha256, sha256(body.as_bytes()));
    assert_eq!(info.row_count, Some(2));

    let list: Vec<DatasetInfo> = client
        .get(format!("{base}/api/datasets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list.contains(&info), "{list:?}");

    let data = client
        .get(format!("{base}{}", info.data_path))
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), StatusCode::OK);
    assert_eq!(data.bytes().await.unwrap(), body.as_bytes());

    // More than one multipart part (5 MiB each), to exercise a real multipart upload.
    let big: Vec<u8> = (0..11 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let replaced = client
        .put(format!("{base}/api/datasets/round.csv"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: DatasetInfo = replaced.json().await.unwrap();
    assert_eq!(replaced.sha256, sha256(&big));
    assert_eq!(replaced.size_bytes, big.len() as u64);
    let data = client
        .get(format!("{base}{}", info.data_path))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(data == big, "the replaced bytes come back");

    let deleted = client
        .delete(format!("{base}/api/datasets/round.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client
        .get(format!("{base}{}", info.data_path))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_store_directory_and_fetch_opt_in_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let demo = write_demo(dir.path());
    let store_dir = dir.path().join("elsewhere");
    let mut server = Server::start(
        dir.path(),
        &[],
        &[
            ("OXBOOK_DATASET_STORE", store_dir.to_str().unwrap()),
            ("OXBOOK_FETCH_ALLOW_LOOPBACK", "true"),
            ("OXBOOK_DATASET_MAX_BYTES", "20000000"),
        ],
    );
    let base = server.url.clone();
    // The demo dataset was seeded into the configured directory.
    let list: Vec<DatasetInfo> = reqwest::get(format!("{base}/api/datasets"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "hats.csv");
    assert_eq!(list[0].sha256, sha256(&demo));
    assert_eq!(std::fs::read_dir(&store_dir).unwrap().count(), 1);
    assert!(!dir.path().join("data/datasets").exists());

    round_trip(&base).await;

    // The loopback opt-in was read from the environment: the server fetches its own demo.
    let url = format!("{base}/api/datasets/hats.csv/data");
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    let fetched = reqwest::get(format!("{base}/api/fetch?url={encoded}"))
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap(), demo.as_slice());
    assert!(
        server.log_text().contains("--fetch-allow-loopback is on"),
        "{}",
        server.log_text()
    );

    // The upload cap was read too. Only the headers are sent: the server answers an
    // announced oversize body at once, without waiting for (or reading) any of it.
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(
            b"PUT /api/datasets/big.csv HTTP/1.1\r\nHost: oxbook\r\n\
              Content-Length: 20000001\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer before the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("at most 20000000 bytes"), "{answer}");
}

#[tokio::test]
async fn by_default_fetch_refuses_loopback_and_datasets_live_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    write_demo(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let base = server.url.clone();
    let encoded: String =
        url::form_urlencoded::byte_serialize(format!("{base}/ping").as_bytes()).collect();
    let refused = reqwest::get(format!("{base}/api/fetch?url={encoded}"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/datasets"))
            .unwrap()
            .count(),
        1,
        "the demo dataset is in DATA_DIR/datasets"
    );
}

#[tokio::test]
async fn an_unsupported_store_url_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(common::oxbook_binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dataset-store",
            "gs://bucket",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unsupported dataset store `gs://bucket`"),
        "{stderr}"
    );
}

/// Runs only when OXBOOK_TEST_S3_ENDPOINT names an S3-compatible server on this machine
/// (it must be 127.0.0.1 or localhost: tests send no traffic elsewhere).
#[tokio::test]
async fn s3_bucket_round_trip() {
    let Ok(endpoint) = std::env::var("OXBOOK_TEST_S3_ENDPOINT") else {
        eprintln!("skipped: set OXBOOK_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:5055) to run");
        return;
    };
    let endpoint = endpoint.trim_end_matches('/').to_string();
    let host = url::Url::parse(&endpoint)
        .expect("OXBOOK_TEST_S3_ENDPOINT is a URL")
        .host_str()
        .map(str::to_string);
    assert!(
        matches!(host.as_deref(), Some("127.0.0.1" | "localhost")),
        "OXBOOK_TEST_S3_ENDPOINT must be on 127.0.0.1 or localhost, not {host:?}"
    );
    let bucket = format!("oxbook-test-{}", uuid::Uuid::new_v4().simple());
    let client = reqwest::Client::new();
    // moto (like most S3 test servers) creates a bucket on an unsigned PUT.
    let created = client
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3 test server answers");
    assert!(created.status().is_success(), "create bucket: {created:?}");

    let dir = tempfile::tempdir().unwrap();
    let demo = write_demo(dir.path());
    let store = format!("s3://{bucket}/some/prefix");
    let server = Server::start(
        dir.path(),
        &["--dataset-store", &store],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let base = server.url.clone();

    let list: Vec<DatasetInfo> = reqwest::get(format!("{base}/api/datasets"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "the demo dataset was seeded into the bucket");
    let demo_back = reqwest::get(format!("{base}{}", list[0].data_path))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(demo_back, demo.as_slice());

    let keys = || async {
        let listing = client
            .get(format!("{endpoint}/{bucket}?list-type=2"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        listing
            .split("<Key>")
            .skip(1)
            .map(|rest| rest.split("</Key>").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let before = keys().await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].starts_with("some/prefix/"), "{before:?}");
    assert!(before[0].ends_with("-hats.csv"), "{before:?}");

    round_trip(&base).await;
    assert_eq!(
        keys().await,
        before,
        "replaced and deleted objects are gone"
    );
}
