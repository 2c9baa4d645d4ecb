//! `bench-load FILE [--chunk BYTES] [--repeat N]`: loads a CSV file through the kernel's
//! push parser in chunks (4 MiB by default, as the browser's worker streams a file) of the
//! file mapped into memory (as a native reader would: no copy of its bytes), and prints
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
