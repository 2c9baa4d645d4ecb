//! `bench-load FILE [--chunk BYTES] [--repeat N]`: loads a CSV file through the kernel's
//! push parser from the file mapped into memory (as a native reader would: no copy of its
//! bytes): whole by default, as the server's runs load a dataset (`Loader::load_all`), or
//! in chunks of `--chunk` bytes, as the browser's worker streams a file (4 MiB), and prints
//! the throughput, the peak resident memory (Linux's VmHWM) and what the frame takes, as
//! one JSON line (for `bench/run-load-bench.sh`) after a readable summary.
//!
//! Native only: the wasm32 side of the benchmark is `tests/wasm.rs`, run in Chromium.

#[cfg(not(target_arch = "wasm32"))]
mod native;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
