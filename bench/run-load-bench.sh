#!/usr/bin/env bash
# The load benchmark (see BENCHMARKS.md): generates the demo's hat-purchase CSV, then loads
# it with the kernel natively, with the kernel in wasm32 in headless Chromium, and with
# pandas.read_csv, and prints the three side by side. Each is the best of 5 loads; native
# and pandas take turns for ROUNDS rounds (default 3), as timings on a shared virtual
# machine drift from minute to minute, and the ratio of each round is printed too.
#
#   bench/run-load-bench.sh            # 1,000,000 rows (about 52 MB)
#   ROWS=100000 bench/run-load-bench.sh
#
# Needs chromedriver and wasm-bindgen-test-runner (scripts/setup.sh installs both; set
# CHROMEDRIVER if chromedriver is not on PATH). pandas runs in a throwaway virtualenv,
# BENCH_VENV (default target/bench/venv), created with pandas when missing.
set -euo pipefail

ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
cd "$(dirname "$0")/.."
OUT=target/bench
DATA=$OUT/hats-$ROWS.csv
VENV=${BENCH_VENV:-$OUT/venv}
mkdir -p "$OUT"

echo "== generating $ROWS rows" >&2
cargo run --release -q -p oxbook-demo --bin generate-demo-data -- --rows "$ROWS" --out "$DATA"

cargo build --release -q -p oxbook-bench

echo "== wasm (headless Chromium)" >&2
CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver)} \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
OXBOOK_BENCH_ROWS=$ROWS \
    cargo test --release --target wasm32-unknown-unknown -p oxbook-bench --test wasm -- --nocapture \
    2>&1 | tee "$OUT/wasm.txt" >&2

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pandas
fi
cat > "$OUT/pandas-load.py" <<'PY'
import json, resource, sys, time
import pandas as pd
path = sys.argv[1]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    frame = pd.read_csv(path)
    best = min(best, time.perf_counter() - start)
    size = int(frame.memory_usage(deep=True).sum())
    del frame
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import os
n = os.path.getsize(path)
print(json.dumps({"engine": "pandas " + pd.__version__, "bytes": n, "seconds": best,
                  "mb_per_s": n / 1e6 / best, "peak_rss": peak, "rss_before": before,
                  "frame_heap": size}))
PY
for round in $(seq "$ROUNDS"); do
    echo "== native, round $round" >&2
    target/release/bench-load "$DATA" --repeat 5 | tee "$OUT/native-$round.txt" >&2
    echo "== pandas, round $round" >&2
    "$VENV/bin/python" "$OUT/pandas-load.py" "$DATA" | tee "$OUT/pandas-$round.txt" >&2
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def last_json(name, key="engine"):
    for line in reversed(open(f"{out}/{name}.txt").read().splitlines()):
        line = line.strip()
        if line.startswith('{"engine"'):
            return json.loads(line)
    raise SystemExit(f"no result in {out}/{name}.txt")
natives = [last_json(f"native-{r}") for r in range(1, rounds + 1)]
pandases = [last_json(f"pandas-{r}") for r in range(1, rounds + 1)]
fastest = lambda results: min(results, key=lambda r: r["seconds"])
runs = [fastest(natives), last_json("wasm"), fastest(pandases)]
pandas = runs[2]["mb_per_s"]
mb = lambda b: f"{b / 1e6:.0f} MB"
print(f"\n{runs[0]['bytes'] / 1e6:.1f} MB CSV, best of 5 loads each (native and pandas: "
      f"the best of {rounds} rounds)\n")
print(f"{'':16} {'seconds':>8} {'MB/s':>7} {'× pandas':>9} {'peak memory':>12} {'frame':>8}")
for r in runs:
    if "peak_memory" in r:
        # wasm: linear memory never shrinks, so its final size is the peak; it also holds
        # the input, which the native run streams from disk instead.
        peak, base = r["peak_memory"], r["bytes"]
    else:
        peak, base = r["peak_rss"], r["rss_before"]
    print(f"{r['engine']:16} {r['seconds']:8.3f} {r['mb_per_s']:7.0f} {r['mb_per_s'] / pandas:9.2f} "
          f"{mb(peak - base):>12} {mb(r['frame_heap']):>8}")
ratios = ", ".join(f"{n['mb_per_s'] / p['mb_per_s']:.2f}" for n, p in zip(natives, pandases))
print(f"\nnative × pandas in each round: {ratios}")
raw = runs[0].get("raw_values")
if raw:
    print(f"raw size of the values: {mb(raw)}; kernel frame / raw = {runs[0]['frame_heap'] / raw:.2f}")
print("peak memory: native and pandas, peak RSS less the RSS before loading; wasm, all linear")
print("memory less the input bytes it holds (the wasm module's own memory is a few MB)")
PY
