#!/usr/bin/env bash
# Runs every test: formatting, lints, native tests, kernel and page tests compiled to
# wasm32 in headless Chromium, and the end-to-end tests (built server + real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
WASM_CRATES=(-p oxbook-kernel -p oxbook-frontend)

step() {
    local name="$1"; shift
    local started=$SECONDS
    echo "==> test: $name"
    "$@"
    echo "==> test: $name done in $((SECONDS - started)) s"
}

step "cargo fmt --check" cargo fmt --all --check
step "clippy (native)" cargo clippy --workspace --all-targets -- -D warnings
step "clippy (wasm32)" cargo clippy "${WASM_CRATES[@]}" --target wasm32-unknown-unknown --all-targets -- -D warnings
# The end-to-end tests drive the built page and server binary.
step "build frontend (trunk)" bash -c 'cd frontend && trunk build --release --offline'
step "build server" cargo build -p oxbook-server
step "native tests (incl. end-to-end)" cargo test --workspace
step "wasm32 tests in headless Chromium" cargo test "${WASM_CRATES[@]}" --target wasm32-unknown-unknown
echo "==> test: all passed"
