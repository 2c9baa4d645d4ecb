//! The training benchmark in wasm32, in a headless browser's worker as the kernel runs
//! there: the same workload as `bench-train` (`oxbook_bench::train`). It does nothing
//! unless `OXBOOK_BENCH_ROWS` was set when it was built, so that ordinary test runs stay
//! fast; `bench/run-train-bench.sh` sets it and runs:
//!
//! ```text
//! OXBOOK_BENCH_ROWS=200000 WASM_BINDGEN_TEST_TIMEOUT=1800 cargo test --release \
//!     --target wasm32-unknown-unknown -p oxbook-bench --test wasm_train -- --nocapture
//! ```
//!
//! The browser cannot read the file the native run reads, so the test makes the same bytes
//! with the same generator (the demo's, seed 7).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// The worker's high-resolution clock, in seconds.
fn now() -> f64 {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.performance().map_or(0.0, |p| p.now()) / 1000.0
}

#[wasm_bindgen_test]
fn training_benchmark() {
    let Some(rows) = option_env!("OXBOOK_BENCH_ROWS") else {
        console_log!("training benchmark skipped: build with OXBOOK_BENCH_ROWS=N to run it");
        return;
    };
    let rows: u64 = rows.parse().expect("OXBOOK_BENCH_ROWS is a number");
    let data = oxbook_bench::train::prepare(&oxbook_bench::demo_csv(rows)).expect("prepares");
    assert_eq!(data.raw_rows as u64, rows);
    let mut lines = 0;
    oxbook_bench::train::run(&data, "oxbook wasm", 3, &now, &mut |line| {
        lines += 1;
        console_log!("{line}");
    })
    .expect("the fits run");
    assert_eq!(lines, 4);
}
