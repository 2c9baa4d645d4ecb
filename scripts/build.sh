#!/usr/bin/env bash
# Builds everything Oxbook serves: the server binary (release) and the page + kernel
# worker (trunk, release). Runs the set-up step first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
started=$SECONDS
cargo build --release -p oxbook-server
echo "==> build: server in $((SECONDS - started)) s"
started=$SECONDS
(cd frontend && trunk build --release --offline)
echo "==> build: frontend in $((SECONDS - started)) s"
