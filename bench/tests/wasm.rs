//! The load benchmark in wasm32, in a headless browser's worker as the kernel runs there.
//! It does nothing unless `OXBOOK_BENCH_ROWS` was set when it was built, so that ordinary
//! test runs stay fast; `bench/run-load-bench.sh` sets it and runs:
//!
//! ```text
//! OXBOOK_BENCH_ROWS=1000000 cargo test --release --target wasm32-unknown-unknown \
//!     -p oxbook-bench --test wasm -- --nocapture
//! ```
//!
//! The browser cannot read the file the native run reads, so the test makes the same bytes
//! with the same generator (the demo's, seed 7) and times only the load.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn load_benchmark() {
    let Some(rows) = option_env!("OXBOOK_BENCH_ROWS") else {
        console_log!("load benchmark skipped: build with OXBOOK_BENCH_ROWS=N to run it");
        return;
    };
    let rows: u64 = rows.parse().expect("OXBOOK_BENCH_ROWS is a number");
    let bytes = oxbook_bench::demo_csv(rows);
    let memory_before = core::arch::wasm32::memory_size(0) * 65536;
    let mut best = f64::INFINITY;
    let mut sizes = None;
    for _ in 0..5 {
        let start = js_sys::Date::now();
        let loaded = oxbook_bench::load_in_chunks(&bytes, 1 << 20);
        best = best.min((js_sys::Date::now() - start) / 1000.0);
        assert_eq!(loaded.frame.row_count() as u64, rows);
        sizes = Some(oxbook_bench::sizes(&loaded.frame));
    }
    let sizes = sizes.expect("at least one run");
    // Linear memory only grows, so its size now is the peak; the input bytes were in it
    // before the loads (the native run streams them from disk instead).
    let memory = core::arch::wasm32::memory_size(0) * 65536;
    let mb = bytes.len() as f64 / 1e6;
    console_log!(
        "{{\"engine\":\"wasm\",\"bytes\":{},\"seconds\":{best},\"mb_per_s\":{},\"peak_memory\":{memory},\"memory_before\":{memory_before},\"frame_heap\":{},\"raw_values\":{},\"rows\":{rows}}}",
        bytes.len(),
        mb / best,
        sizes.heap,
        sizes.values
    );
}
