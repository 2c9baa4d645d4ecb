#!/usr/bin/env python3
"""Writes the linear-model parity fixture: small deterministic regression datasets and the
coefficients and intercepts scikit-learn's LinearRegression, Ridge, Lasso and ElasticNet fit
on them, as JSON in kernel/tests/fixtures/regressors.json. kernel/tests/regressors.rs reads
the committed file and checks that the kernel's linear models fit the same coefficients.

Run it once after changing the cases (not in CI: it needs scikit-learn, which the project does
not otherwise depend on):

    python3 scripts/make-regressor-fixtures.py

Without scikit-learn importable, it makes a throwaway virtual environment under the system's
temporary directory (the one make-metric-fixtures.py uses), installs scikit-learn and numpy
there with pip and re-runs itself in it. The data come from a seeded numpy generator, so
re-running with the same versions writes the same file; the versions are recorded in it.
"""

import json
import os
import sys

FIXTURE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "tests", "fixtures",
    "regressors.json"
)
SEED = 20240611
# Lasso and elastic net run to a far tighter tolerance than their default, so that both
# sides reach the optimum itself and the comparison is of the optimum, not of two stops.
TOL = 1e-12
MAX_ITER = 1_000_000


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sklearn_fixtures as fixtures  # noqa: E402

fixtures.ensure_sklearn(__file__)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge  # noqa: E402

rng = np.random.default_rng(SEED)


def datasets():
    """(name, X, y): features on very different scales with a known linear signal and
    noise; and one whose third column is exactly the sum of the first two (integers, so the
    sum is exact), where least squares has many solutions and the minimum-norm one is
    scikit-learn's."""
    n = 40
    scales = np.array([1.0, 10.0, 0.1, 3.0])
    shifts = np.array([0.0, 5.0, 0.0, -2.0])
    x = rng.normal(size=(n, 4)) * scales + shifts
    y = x @ np.array([1.5, -0.2, 8.0, 0.5]) + 3.0 + rng.normal(0.0, 0.5, size=n)
    yield "scaled", x, y

    a = rng.integers(-20, 20, size=30).astype(float)
    b = rng.integers(-20, 20, size=30).astype(float)
    c = rng.normal(size=30)
    x = np.column_stack([a, b, a + b, c])
    y = 0.7 * a - 0.3 * b + 2.0 * c + rng.normal(0.0, 0.3, size=30) - 1.0
    yield "collinear", x, y


def models():
    """(algorithm, the kernel's settings, the scikit-learn estimator)."""
    for fit_intercept in (True, False):
        yield ("linear_regression", {"fit_intercept": fit_intercept},
               LinearRegression(fit_intercept=fit_intercept))
    for alpha in (0.5, 10.0):
        yield "ridge", {"alpha": alpha}, Ridge(alpha=alpha)
    yield "ridge", {"alpha": 2.0, "fit_intercept": False}, Ridge(alpha=2.0, fit_intercept=False)
    for alpha in (0.05, 1.0):
        yield ("lasso", {"alpha": alpha, "tol": TOL, "max_iter": MAX_ITER},
               Lasso(alpha=alpha, tol=TOL, max_iter=MAX_ITER))
    yield ("lasso",
           {"alpha": 0.3, "tol": TOL, "max_iter": MAX_ITER, "fit_intercept": False},
           Lasso(alpha=0.3, tol=TOL, max_iter=MAX_ITER, fit_intercept=False))
    for alpha, l1_ratio in ((0.2, 0.3), (1.0, 0.8), (0.5, 0.0)):
        yield ("elastic_net",
               {"alpha": alpha, "l1_ratio": l1_ratio, "tol": TOL,
                "max_iter": MAX_ITER},
               ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=TOL, max_iter=MAX_ITER))


def main():
    import warnings

    # l1_ratio 0 warns that coordinate descent suits the L1 penalty best; it still converges.
    warnings.simplefilter("ignore")
    cases = []
    for name, x, y in datasets():
        fits = []
        for algorithm, settings, estimator in models():
            estimator.fit(x, y)
            fits.append({
                "algorithm": algorithm,
                "settings": settings,
                "coefficients": [float(v) for v in estimator.coef_],
                "intercept": float(estimator.intercept_),
                "n_iter": int(getattr(estimator, "n_iter_", 0) or 0),
            })
        cases.append({
            "name": name,
            "x": [[float(v) for v in row] for row in x],
            "y": [float(v) for v in y],
            "fits": fits,
        })
    document = {
        "what": "datasets with scikit-learn's fitted linear-model coefficients and intercepts",
        "generator": "scripts/make-regressor-fixtures.py",
        "seed": SEED,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    with open(FIXTURE, "w") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(FIXTURE)}")


main()
