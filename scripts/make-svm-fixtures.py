#!/usr/bin/env python3
"""Writes the support vector machine parity fixtures: small data sets, the settings used, and
scikit-learn's SVC/SVR outputs on them (decision values, predictions, support vectors, Platt
parameters and probabilities), as JSON in kernel/tests/fixtures/svm/. The tests in
kernel/src/model/svm.rs read the committed files and check that the kernel's SMO solver gives
the same decision values (to the solver's tolerance), the same support vectors and the same
predicted classes.

Run it once after changing the cases (not in CI: it needs scikit-learn, which the project does
not otherwise depend on):

    python3 scripts/make-svm-fixtures.py

Without scikit-learn importable, it makes a throwaway virtual environment under the system's
temporary directory, installs scikit-learn and numpy there with pip and re-runs itself in it.
The data come from a seeded numpy generator, so re-running with the same scikit-learn and numpy
versions writes the same files; the versions used are recorded in every file.

Every case's "settings" object is spelled as the kernel's SvmSettings / SvrSettings, so a test
can deserialize it directly; `sklearn_params` are the same settings as scikit-learn takes them.
"""

import os
import sys
import warnings

FIXTURES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "tests", "fixtures", "svm"
)
SEED = 20240611


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sklearn_fixtures as fixtures  # noqa: E402

fixtures.ensure_sklearn(__file__)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402

rng = np.random.default_rng(SEED)


def sklearn_params(settings):
    """The kernel's setting names as scikit-learn's keyword arguments."""
    params = {
        "C": settings.get("c", 1.0),
        "kernel": settings.get("kernel", "rbf"),
        "gamma": settings.get("gamma", "scale"),
        "degree": settings.get("degree", 3),
        "coef0": settings.get("coef0", 0.0),
        "tol": settings.get("tol", 1e-3),
    }
    if "epsilon" in settings:
        params["epsilon"] = settings["epsilon"]
    return params


# ----- data -----------------------------------------------------------------------------


def blobs(centers, per_class, spread):
    """Points around `centers` (one class each, class = index), shuffled."""
    x = np.concatenate([c + rng.normal(0.0, spread, size=(per_class, len(c))) for c in centers])
    y = np.repeat(np.arange(len(centers)), per_class)
    order = rng.permutation(len(y))
    return x[order], y[order]


def circles(n, noise):
    """Two concentric rings, class 1 the inner one: not linearly separable."""
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    y = (rng.random(n) < 0.5).astype(int)
    radius = np.where(y == 1, 0.5, 1.0) + rng.normal(0.0, noise, size=n)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]), y


def test_points(x, n):
    """Points spread over the data's range, for decision values away from the training rows."""
    low, high = x.min(axis=0), x.max(axis=0)
    return rng.uniform(low, high, size=(n, x.shape[1]))


# ----- classification -------------------------------------------------------------------


def classification_case(name, x, y, settings, probability):
    settings = dict(settings, probability=probability)
    model = SVC(**sklearn_params(settings), probability=probability, random_state=0,
                decision_function_shape="ovo")
    model.fit(x, y)
    test = test_points(x, 25)
    case = {
        "name": name,
        "settings": settings,
        "sklearn_params": sklearn_params(settings),
        "classes": int(len(np.unique(y))),
        "x": x,
        "y": y,
        "test_x": test,
        # Decision values on the training rows and on the test points: binary, one column
        # (positive for the second class); multiclass, one per pair in "ovo" order (positive
        # for the pair's first class).
        "decision_train": model.decision_function(x),
        "decision_test": model.decision_function(test),
        "predicted_train": model.predict(x),
        "predicted_test": model.predict(test),
        "n_support": model.n_support_,
        "support": model.support_,
        "resolved_gamma": model._gamma,
        "intercepts": model._intercept_,
    }
    if probability:
        # Platt parameters from scikit-learn's internal 5-fold CV (its own random folds), and
        # its probabilities with them: the kernel's coupling is checked by giving it these.
        case["prob_a"] = model.probA_
        case["prob_b"] = model.probB_
        case["probabilities_test"] = model.predict_proba(test)
    return case


def classification_cases():
    cases = []
    x, y = blobs(np.array([[0.0, 0.0, 0.0], [2.0, 1.5, -1.0]]), 30, 1.1)
    cases.append(classification_case("binary_rbf", x, y, {}, True))
    cases.append(classification_case("binary_linear_c05", x, y,
                                     {"kernel": "linear", "c": 0.5}, False))
    x, y = circles(80, 0.08)
    cases.append(classification_case("circles_rbf_c10", x, y, {"c": 10.0}, False))
    cases.append(classification_case("circles_poly_auto", x, y,
                                     {"kernel": "poly", "gamma": "auto", "degree": 2,
                                      "coef0": 1.0}, False))
    x, y = blobs(np.array([[0.0, 0.0], [3.0, 0.5], [1.0, 3.0], [3.5, 3.5]]), 18, 0.9)
    cases.append(classification_case("four_classes_rbf", x, y, {"gamma": 0.7}, True))
    cases.append(classification_case("four_classes_sigmoid", x, y,
                                     {"kernel": "sigmoid", "gamma": 0.05, "coef0": -0.5,
                                      "c": 2.0}, False))
    # Unscaled features (one in the thousands): gamma "scale" adapts, and the cache and
    # shrinking see many bounded variables at C = 0.1.
    x, y = blobs(np.array([[0.0, 1000.0], [1.0, 1400.0], [2.0, 1100.0]]), 40, 0.8)
    x[:, 1] += rng.normal(0.0, 300.0, size=len(y))
    cases.append(classification_case("three_classes_unscaled_c01", x, y, {"c": 0.1}, True))
    return cases


# ----- regression -----------------------------------------------------------------------


def regression_case(name, x, y, settings):
    model = SVR(**sklearn_params(settings))
    model.fit(x, y)
    test = test_points(x, 25)
    return {
        "name": name,
        "settings": settings,
        "sklearn_params": sklearn_params(settings),
        "x": x,
        "y": y,
        "test_x": test,
        "predicted_train": model.predict(x),
        "predicted_test": model.predict(test),
        "n_support": len(model.support_),
        "support": model.support_,
        "resolved_gamma": model._gamma,
        "intercept": model.intercept_[0],
    }


def regression_cases():
    cases = []
    x = np.sort(rng.uniform(0.0, 6.0, size=(60, 1)), axis=0)
    y = np.sin(x[:, 0]) + rng.normal(0.0, 0.1, size=60)
    cases.append(regression_case("sine_rbf", x, y, {}))
    cases.append(regression_case("sine_rbf_c10_eps005", x, y,
                                 {"c": 10.0, "epsilon": 0.05, "gamma": 1.0}))
    x = rng.normal(0.0, 1.0, size=(50, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 3.0 + rng.normal(0.0, 0.3, size=50)
    cases.append(regression_case("linear_plane", x, y,
                                 {"kernel": "linear", "c": 5.0, "epsilon": 0.2}))
    cases.append(regression_case("poly_plane", x, y,
                                 {"kernel": "poly", "degree": 2, "coef0": 1.0,
                                  "gamma": "auto"}))
    return cases


def header(kind, description):
    return fixtures.header("scripts/make-svm-fixtures.py", SEED, kind, description)


def write(name, document):
    fixtures.write(FIXTURES, name, document)


def main():
    # scikit-learn 1.9 deprecates SVC(probability=True) (for CalibratedClassifierCV) and says so
    # on every fit; the fixtures record what it computes while it still does.
    warnings.simplefilter("ignore", FutureWarning)
    write("classification.json", dict(
        header("classification", "data, settings and scikit-learn's SVC decision values, "
               "predictions, support vectors, Platt parameters and probabilities"),
        cases=classification_cases()))
    write("regression.json", dict(
        header("regression", "data, settings and scikit-learn's SVR predictions and support "
               "vectors"),
        cases=regression_cases()))


if __name__ == "__main__":
    main()
