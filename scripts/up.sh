#!/usr/bin/env bash
# Sets up, builds and starts Oxbook at http://127.0.0.1:8080 with its data in a SQLite
# file under ./data and the demo notebook available.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec target/release/oxbook serve \
    --listen "${OXBOOK_LISTEN:-127.0.0.1:8080}" \
    --data-dir "${OXBOOK_DATA_DIR:-data}" \
    --static-dir static \
    --frontend-dir frontend/dist
