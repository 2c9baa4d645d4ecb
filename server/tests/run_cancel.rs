//! `oxbook run` prints a long fit's progress to stderr, and Ctrl-C (SIGINT) cancels the
//! running cell: the run ends with a failure naming that cell.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::oxbook_binary;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn ctrl_c_cancels_the_running_fit_and_names_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let static_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static");
    let notebook = json!({
        "schema_version": 1, "id": "cancel-test", "revision": 1, "title": "Cancel test",
        "cells": [
            { "id": "data", "kind": "code",
              "source": "let people = read_csv(\"/static/demo/hats.csv\").drop_nulls(); people.rows()" },
            { "id": "forest", "kind": "code",
              "source": "let m = random_forest(people, [\"age\", \"income\", \"past_purchases\"], \"bought_hat\", #{trees: 10000, seed: 3});\n\"finished\"" },
            { "id": "never", "kind": "code", "source": "\"not reached\"" },
        ]
    });
    let path = dir.path().join("cancel.oxbook.json");
    std::fs::write(&path, notebook.to_string()).unwrap();

    let mut child = Command::new(oxbook_binary())
        .arg("run")
        .arg(&path)
        .arg("--static-dir")
        .arg(&static_dir)
        .arg("--out-dir")
        .arg(dir.path())
        .env_remove("OXBOOK_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run oxbook");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    // Progress lines name the cell and count trees.
    let mut progress = Vec::new();
    let first = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if line.contains("of 10000 trees") {
                return line;
            }
            progress.push(line);
        }
        panic!("stderr ended without progress: {progress:?}");
    })
    .await
    .expect("a progress line within 120 s");
    assert!(
        first.starts_with("cell 2 (id forest): ") && first.ends_with(" of 10000 trees"),
        "{first}"
    );

    let pid = child.id().expect("still running").to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the run ends soon after Ctrl-C")
        .unwrap();
    let mut rest = String::new();
    while let Some(line) = stderr.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert!(!status.success(), "a cancelled run fails: {rest}");
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(
        rest.contains("cell 2 (id `forest`) was cancelled with Ctrl-C"),
        "{rest}"
    );
    assert!(rest.contains("of 10000 trees"), "how far it got: {rest}");
    assert!(
        !stdout.contains("finished") && !stdout.contains("not reached"),
        "{stdout}"
    );
}

#[test]
fn progress_lines_are_one_per_tenth_or_per_second() {
    use std::time::Instant;

    use oxbook_kernel::FitProgress;
    use oxbook_server::runner::ProgressLines;

    let report = |done| FitProgress {
        done,
        total: 1000,
        unit: "trees",
    };
    let start = Instant::now();
    let mut lines = ProgressLines::new(Duration::from_secs(1));
    // A fast fit, all within one second: the first, each further tenth, and the last.
    let printed: Vec<usize> = (1..=1000)
        .filter(|&done| lines.ready(&report(done), start))
        .collect();
    assert_eq!(
        printed,
        vec![1, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    );
    // A slow one: a line once a second even within a tenth.
    let mut lines = ProgressLines::new(Duration::from_secs(1));
    assert!(lines.ready(&report(1), start));
    assert!(!lines.ready(&report(2), start + Duration::from_millis(500)));
    assert!(lines.ready(&report(3), start + Duration::from_millis(1000)));
    assert!(!lines.ready(&report(4), start + Duration::from_millis(1900)));
    // A second fit in the same cell starts over.
    assert!(lines.ready(&report(1), start + Duration::from_millis(1950)));
}
