#!/usr/bin/env bash
# Runs every test: formatting, lints, native tests, kernel and page tests compiled to
# wasm32 in headless Chromium, and the end-to-end tests (built server + real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# A one-off run gains nothing from incremental caches, which double the disk a build takes.
export CARGO_INCREMENTAL=0
export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
WASM_CRATES=(-p oxbook-kernel -p oxbook-frontend)

step() {
    local name="$1"; shift
    local started=$SECONDS
    echo "==> test: $name"
    "$@"
    echo "==> test: $name done in $((SECONDS - started)) s ($(disk_free) free)"
}

# CI once stopped at "No space left on device" with no sign of how close it had been;
# every step now says what it left.
disk_free() { df -h . | awk 'NR == 2 {print $4}'; }
echo "==> test: $(disk_free) free on the disk at the start; a run takes about 8 GB"

step "cargo fmt --check" cargo fmt --all --check
step "clippy (native)" cargo clippy --workspace --all-targets -- -D warnings
step "clippy (wasm32)" cargo clippy "${WASM_CRATES[@]}" --target wasm32-unknown-unknown --all-targets -- -D warnings
# The end-to-end tests drive the built page and server binary.
step "build frontend (trunk)" bash -c 'cd frontend && trunk build --release --offline'
step "build server" cargo build -p oxbook-server
# An S3-compatible server on loopback (moto) for the dataset store's S3 test.
start_s3() {
    local venv="${OXBOOK_MOTO_VENV:-$HOME/.cache/oxbook/moto-venv}"
    if [ ! -x "$venv/bin/moto_server" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q 'moto[server]'
    fi
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/oxbook-moto.log" 2>&1 &
    MOTO_PID=$!
    trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
    until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.2; done
    export OXBOOK_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
}
step "start S3-compatible test server (moto)" start_s3
step "native tests (incl. end-to-end)" cargo test --workspace
step "wasm32 tests in headless Chromium" cargo test "${WASM_CRATES[@]}" --target wasm32-unknown-unknown
echo "==> test: all passed"

