#!/usr/bin/env bash
# The training benchmark (see BENCHMARKS.md, "Training"): generates the demo's hat-purchase
# CSV, prepares it (nulls dropped, city one-hot encoded, the continuous columns
# standardized, 80/20 split with seed 7), then times four fits with the native kernel, with
# the kernel in wasm32 in headless Chromium (a worker, as the page runs it) and with
# scikit-learn on one thread, best of 3 each, and prints them side by side.
#
#   bench/run-train-bench.sh             # 200,000 rows
#   ROWS=50000 bench/run-train-bench.sh
#
# Needs chromedriver and wasm-bindgen-test-runner (scripts/setup.sh installs both; set
# CHROMEDRIVER when chromedriver is not on PATH). SKIP_WASM=1 leaves the browser out.
# scikit-learn runs in a throwaway virtualenv, BENCH_SKLEARN_VENV (default
# target/bench/venv-sklearn), created with pandas and scikit-learn when missing. It trains
# and scores on exactly the rows the kernel did: bench-train writes its split's row
# positions for it.
set -euo pipefail

ROWS=${ROWS:-200000}
cd "$(dirname "$0")/.."
OUT=target/bench
DATA=$OUT/hats-$ROWS.csv
SPLIT=$OUT/split-$ROWS.json
VENV=${BENCH_SKLEARN_VENV:-$OUT/venv-sklearn}
mkdir -p "$OUT"

echo "== generating $ROWS rows" >&2
cargo run --release -q -p oxbook-demo --bin generate-demo-data -- --rows "$ROWS" --out "$DATA"

echo "== native" >&2
cargo build --release -q -p oxbook-bench --bin bench-train
target/release/bench-train "$DATA" --repeat 3 --split-out "$SPLIT" | tee "$OUT/train-native.txt" >&2

if [ -z "${SKIP_WASM:-}" ]; then
    echo "== wasm (headless Chromium)" >&2
    CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver)} \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    WASM_BINDGEN_TEST_TIMEOUT=3600 OXBOOK_BENCH_ROWS=$ROWS \
        cargo test --release --target wasm32-unknown-unknown -p oxbook-bench --test wasm_train \
        -- --nocapture 2>&1 | tee "$OUT/train-wasm.txt" >&2
else
    : > "$OUT/train-wasm.txt"
fi

echo "== scikit-learn" >&2
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pandas scikit-learn threadpoolctl
fi
# One thread everywhere: the kernel fits on one thread, and so does the browser worker.
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
"$VENV/bin/python" - "$DATA" "$SPLIT" <<'PY' | tee "$OUT/train-sklearn.txt" >&2
import json, sys, time
import numpy as np
import pandas as pd
import sklearn
from threadpoolctl import threadpool_limits
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

path, split_path = sys.argv[1], sys.argv[2]
SCALED = ["age", "income", "past_purchases", "days_since_last_purchase", "avg_basket"]
FOREST_ROWS = 40_000

# The same preparation as bench-train: nulls dropped, city one-hot encoded (one column per
# city), the five continuous columns standardized with the population standard deviation.
frame = pd.read_csv(path).dropna().reset_index(drop=True)
frame = pd.get_dummies(frame, columns=["city"], dtype=np.int64)
frame[SCALED] = StandardScaler().fit_transform(frame[SCALED])
features = [c for c in frame.columns if c not in ("person_id", "bought_hat")]
x = frame[features].to_numpy(dtype=np.float64)
y = frame["bought_hat"].to_numpy()
split = json.load(open(split_path))
if split["rows"] != len(frame):
    raise SystemExit(f"pandas kept {len(frame)} rows after dropna, the kernel {split['rows']}")
train, test = np.array(split["train"]), np.array(split["test"])
x_train, y_train, x_test, y_test = x[train], y[train], x[test], y[test]
engine = "scikit-learn " + sklearn.__version__

def best_of(make, x, y=None, repeat=3):
    best, model = float("inf"), None
    for _ in range(repeat):
        model = make()
        start = time.perf_counter()
        model.fit(x, y) if y is not None else model.fit(x)
        best = min(best, time.perf_counter() - start)
    return best, model

def report(task, rows, seconds, **score):
    print(json.dumps({"engine": engine, "task": task, "rows": rows, "features": len(features),
                      "seconds": seconds, **score}))

with threadpool_limits(limits=1):
    s, m = best_of(LogisticRegression, x_train, y_train)
    report("logistic_regression", len(train), s, accuracy=m.score(x_test, y_test))
    xf, yf = x_train[:FOREST_ROWS], y_train[:FOREST_ROWS]
    s, m = best_of(lambda: RandomForestClassifier(n_estimators=100, max_depth=10,
                                                  random_state=7, n_jobs=1), xf, yf)
    report("random_forest", len(xf), s, accuracy=m.score(x_test, y_test))
    s, m = best_of(lambda: HistGradientBoostingClassifier(max_iter=100, max_depth=6,
                                                          early_stopping=False,
                                                          random_state=42), x_train, y_train)
    report("gradient_boosting", len(train), s, accuracy=m.score(x_test, y_test))
    s, m = best_of(lambda: KMeans(n_clusters=8, n_init=1, random_state=7), x)
    report("kmeans", len(x), s, inertia=m.inertia_, iterations=int(m.n_iter_))
PY

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def runs(name):
    lines = open(f"{out}/{name}.txt").read().splitlines()
    # The browser's console lines may carry a prefix before the JSON.
    found = (l[l.index("{"):] for l in lines if '"task"' in l)
    return {r["task"]: r for r in map(json.loads, found)}
ours, wasm, theirs = runs("train-native"), runs("train-wasm"), runs("train-sklearn")
any_run = next(iter(theirs.values()))
print(f"\n{any_run['features']} features, best of 3 fits each, one thread; {any_run['engine']}\n")
print(f"{'task':20} {'rows':>7} {'native s':>9} {'wasm s':>8} {'sklearn s':>10} "
      f"{'native/sk':>9} {'wasm/sk':>8}   {'native':>10} {'wasm':>10} {'sklearn':>10}")
for task in ("logistic_regression", "random_forest", "gradient_boosting", "kmeans"):
    a, b = ours[task], theirs[task]
    w = wasm.get(task)
    key = "accuracy" if "accuracy" in a else "inertia"
    fmt = (lambda v: f"{v:.4f}") if key == "accuracy" else (lambda v: f"{v:.4g}")
    wasm_s = f"{w['seconds']:8.3f}" if w else f"{'-':>8}"
    wasm_ratio = f"{w['seconds'] / b['seconds']:8.2f}" if w else f"{'-':>8}"
    wasm_score = fmt(w[key]) if w else "-"
    print(f"{task:20} {a['rows']:>7} {a['seconds']:9.3f} {wasm_s} {b['seconds']:10.3f} "
          f"{a['seconds'] / b['seconds']:9.2f} {wasm_ratio}   {fmt(a[key]):>10} "
          f"{wasm_score:>10} {fmt(b[key]):>10}  {key}")
print("ratios: the kernel's seconds / scikit-learn's (below 1 is faster)")
# k-means: each side's seeding leads to its own number of Lloyd iterations.
sides = [("native", ours), ("wasm", wasm), ("sklearn", theirs)]
per = {n: r["kmeans"]["seconds"] / r["kmeans"]["iterations"]
       for n, r in sides if "kmeans" in r and r["kmeans"].get("iterations")}
print("k-means iterations: " + ", ".join(
    f"{n} {r['kmeans']['iterations']:.0f}" for n, r in sides if "kmeans" in r
    and r["kmeans"].get("iterations")))
if "sklearn" in per:
    print("k-means seconds per iteration (init included): " + ", ".join(
        f"{n} {v * 1000:.2f} ms ({v / per['sklearn']:.2f}x)" for n, v in per.items()))
PY
