#!/usr/bin/env python3
"""Writes the metric parity fixtures: labels, scores and values, and scikit-learn's metrics on
them, as JSON in kernel/tests/fixtures/metrics/. kernel/tests/metrics.rs reads the committed
files and checks that the kernel's metrics equal scikit-learn's to 1e-9.

Run it once after changing the cases (not in CI: it needs scikit-learn, which the project does
not otherwise depend on):

    python3 scripts/make-metric-fixtures.py

Without scikit-learn importable, it makes a throwaway virtual environment under the system's
temporary directory, installs scikit-learn and numpy there with pip and re-runs itself in it.
The cases come from a seeded numpy generator, so re-running with the same scikit-learn and
numpy versions writes the same files; the versions used are recorded in every file.
"""

import os
import sys
import warnings

FIXTURES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "tests", "fixtures", "metrics"
)
SEED = 20240605


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sklearn_fixtures as fixtures  # noqa: E402

fixtures.ensure_sklearn(__file__)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn import metrics as m  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

rng = np.random.default_rng(SEED)


# ----- classification -------------------------------------------------------------------


def noisy_predictions(truth, classes, error_rate):
    """`truth` with about `error_rate` of the entries replaced by a random class."""
    predicted = truth.copy()
    wrong = rng.random(len(truth)) < error_rate
    predicted[wrong] = rng.choice(classes, size=int(wrong.sum()))
    return predicted


def binary_scores(truth, positive, levels):
    """Scores of the positive class in [0, 1], higher for positives, rounded to `levels`
    steps so that many are tied, with some exact 0s and 1s (log loss clips those)."""
    is_positive = truth == positive
    raw = np.clip(rng.normal(0.35 + 0.3 * is_positive, 0.25), 0.0, 1.0)
    return np.round(raw * levels) / levels


def probability_matrix(truth, classes, quantized):
    """Rows of class probabilities summing to 1, leaning to the true class. Quantized rows are
    small integer weights over their sum, which ties many scores."""
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    if quantized:
        weights = rng.integers(0, 4, size=(len(truth), k)).astype(float)
        for row, label in enumerate(truth):
            weights[row, index[label]] += 2
        return weights / weights.sum(axis=1, keepdims=True)
    logits = rng.normal(0.0, 1.0, size=(len(truth), k))
    for row, label in enumerate(truth):
        logits[row, index[label]] += 1.2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def label_list(values):
    return [v.item() if hasattr(v, "item") else v for v in values]


def classification_case(name, truth, predicted, positive=None, scores=None, probabilities=None,
                        classes=None, ovr_averages=("macro", "weighted")):
    """sklearn's classification metrics on one case. `positive` (binary cases) is the positive
    label; `scores` that label's scores; `probabilities` a column per label of `classes`."""
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    present = np.unique(np.concatenate([truth, predicted]))
    case = {
        "name": name,
        "truth": label_list(truth),
        "predicted": label_list(predicted),
        "labels": label_list(present),
        "accuracy": m.accuracy_score(truth, predicted),
        "confusion_matrix": m.confusion_matrix(truth, predicted, labels=present),
    }
    averages = ["micro", "macro", "weighted"]
    with warnings.catch_warnings():
        # zero_division's default ("warn") warns and scores 0; the fixtures record the 0s.
        warnings.simplefilter("ignore")
        if positive is not None:
            case["positive"] = label_list([positive])[0]
            averages.insert(0, "binary")
        for average in averages:
            kwargs = {"average": average}
            if average == "binary":
                kwargs["pos_label"] = positive
            case[average] = {
                "precision": m.precision_score(truth, predicted, **kwargs),
                "recall": m.recall_score(truth, predicted, **kwargs),
                "f1": m.f1_score(truth, predicted, **kwargs),
            }
        p, r, f, support = m.precision_recall_fscore_support(truth, predicted, labels=present)
    case["per_class"] = {"precision": p, "recall": r, "f1": f, "support": support}

    if scores is not None:
        scores = np.asarray(scores, dtype=float)
        case["scores"] = scores
        binary_truth = (truth == positive).astype(int)
        case["roc_auc"] = m.roc_auc_score(binary_truth, scores)
        fpr, tpr, thresholds = m.roc_curve(truth, scores, pos_label=positive)
        case["roc_curve"] = {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}
        precision, recall, thresholds = m.precision_recall_curve(
            truth, scores, pos_label=positive
        )
        case["precision_recall_curve"] = {
            "precision": precision,
            "recall": recall,
            "thresholds": thresholds,
        }
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=float)
        case["classes"] = label_list(classes)
        case["probabilities"] = probabilities
        case["log_loss"] = m.log_loss(truth, probabilities, labels=classes)
        if len(classes) > 2:
            case["roc_auc_ovr"] = {
                average: m.roc_auc_score(
                    truth, probabilities, multi_class="ovr", average=average, labels=classes
                )
                for average in ovr_averages
            }
    return case


def classification_cases():
    cases = []

    # Binary, int labels 0/1, scores on a 10-step grid (heavily tied).
    truth = rng.integers(0, 2, size=200)
    scores = binary_scores(truth, 1, 10)
    predicted = (scores >= 0.5).astype(int)
    probabilities = np.column_stack([1 - scores, scores])
    cases.append(
        classification_case("binary_int_tied_scores", truth, predicted, 1, scores,
                            probabilities, [0, 1])
    )

    # Binary, string labels, the positive class the alphabetically *first* one.
    classes = np.array(["no", "yes"])
    truth = rng.choice(classes, size=150, p=[0.6, 0.4])
    scores = binary_scores(truth, "no", 1000)
    predicted = noisy_predictions(np.where(scores >= 0.5, "no", "yes"), classes, 0.1)
    cases.append(classification_case("binary_str_positive_first", truth, predicted, "no",
                                     scores))

    # Binary, bool labels, continuous scores (no ties) with log loss.
    truth = rng.random(120) < 0.3
    raw = np.clip(rng.normal(0.3 + 0.4 * truth, 0.2), 1e-3, 1 - 1e-3)
    predicted = raw >= 0.5
    probabilities = np.column_stack([1 - raw, raw])
    cases.append(classification_case("binary_bool", truth, predicted, True, raw,
                                     probabilities, [False, True]))

    # Binary with only the negative class present anywhere: binary scores are all
    # zero_division zeros.
    truth = np.array(["no"] * 6)
    cases.append(classification_case("one_label_positive_absent", truth, truth.copy(), "yes"))

    # Binary, every prediction wrong.
    truth = np.array([0, 1, 1, 0, 1, 0, 0])
    cases.append(classification_case("binary_all_wrong", truth, 1 - truth, 1))

    # Multiclass strings with quantized (tied) probabilities; predictions = argmax.
    classes = np.array(["ant", "bee", "cat", "dog"])
    truth = rng.choice(classes, size=300, p=[0.4, 0.3, 0.2, 0.1])
    probabilities = probability_matrix(truth, classes, quantized=True)
    predicted = classes[np.argmax(probabilities, axis=1)]
    cases.append(classification_case("multiclass_str_tied", truth, predicted,
                                     probabilities=probabilities, classes=classes))

    # Multiclass ints with continuous probabilities and noisy predictions.
    classes = np.array([1, 2, 3])
    truth = rng.choice(classes, size=250)
    probabilities = probability_matrix(truth, classes, quantized=False)
    predicted = noisy_predictions(classes[np.argmax(probabilities, axis=1)], classes, 0.2)
    cases.append(classification_case("multiclass_int", truth, predicted,
                                     probabilities=probabilities, classes=classes))

    # A class only ever predicted ("emu": recall's and support's zero division) and one
    # never predicted ("cat": precision's zero division); probabilities with exact 0s and 1s.
    truth = np.array(["ant", "bee", "cat", "ant", "bee", "cat", "ant", "ant", "bee", "cat"])
    predicted = np.array(["ant", "emu", "bee", "ant", "bee", "ant", "emu", "ant", "bee", "bee"])
    classes = np.array(["ant", "bee", "cat"])
    probabilities = np.array([
        [1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.0, 1.0, 0.0], [0.6, 0.2, 0.2], [0.1, 0.8, 0.1],
        [0.5, 0.25, 0.25], [0.4, 0.3, 0.3], [0.9, 0.05, 0.05], [0.0, 0.0, 1.0], [0.3, 0.4, 0.3],
    ])
    cases.append(classification_case("multiclass_zero_division", truth, predicted,
                                      probabilities=probabilities, classes=classes))

    # The probability columns name a class the truth lacks (weighted one-vs-rest skips it;
    # log loss takes it from `labels`).
    classes = np.array(["a", "b", "c", "d"])
    truth = rng.choice(classes[:3], size=80)
    probabilities = probability_matrix(truth, classes, quantized=False)
    predicted = classes[np.argmax(probabilities, axis=1)]
    # scikit-learn gives NaN for macro (the absent class's AUC is undefined); the kernel
    # refuses instead, so only the weighted value is a parity value.
    cases.append(classification_case("multiclass_class_absent_from_truth", truth, predicted,
                                     probabilities=probabilities, classes=classes,
                                     ovr_averages=("weighted",)))
    return cases


# ----- regression -----------------------------------------------------------------------


def regression_case(name, truth, predicted):
    truth = np.asarray(truth, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "name": name,
            "truth": truth,
            "predicted": predicted,
            "mae": m.mean_absolute_error(truth, predicted),
            "mse": m.mean_squared_error(truth, predicted),
            "rmse": m.root_mean_squared_error(truth, predicted),
            "r2": m.r2_score(truth, predicted),
            "mape": m.mean_absolute_percentage_error(truth, predicted),
        }


def regression_cases():
    cases = []
    truth = rng.normal(50.0, 20.0, size=100)
    cases.append(regression_case("normal", truth, truth + rng.normal(0.0, 5.0, size=100)))

    # Zeros in the truth: MAPE divides by max(|y|, machine epsilon) there.
    truth = np.round(rng.normal(0.0, 3.0, size=60))
    truth[:5] = 0.0
    cases.append(regression_case("zeros_in_truth", truth, truth + rng.normal(0.0, 1.0, size=60)))

    # Long enough for numpy's pairwise summation to recurse (more than 128 values), with
    # magnitudes spread so the order of additions shows.
    truth = rng.normal(0.0, 1.0, size=1500) * 10.0 ** rng.uniform(-3, 4, size=1500)
    cases.append(regression_case("long_wide_range", truth,
                                 truth * (1 + rng.normal(0.0, 0.1, size=1500))))

    cases.append(regression_case("integers", [3, -1, 4, 1, -5, 9, 2, 6],
                                 [2, -1, 5, 1, -4, 8, 2, 7]))
    # R²'s edge cases: a constant truth scores 1 when predicted exactly, else 0 ...
    cases.append(regression_case("constant_truth_perfect", [2.5] * 5, [2.5] * 5))
    cases.append(regression_case("constant_truth_imperfect", [1.0] * 5, [1.0, 2.0, 1.0, 0.0, 1.0]))
    # ... but only when the mean numpy computes is exactly the constant: 0.1 + 0.1 + 0.1 over
    # 3 is not 0.1, the denominator is tiny but not zero, and R² is huge and negative.
    cases.append(regression_case("constant_truth_inexact_mean", [0.1] * 3, [0.1, 0.2, 0.1]))
    # Nine 0.7s: numpy's eight interleaved sums make the mean exactly 0.7 (so R² is 0) where
    # adding them one by one would not.
    cases.append(regression_case("constant_truth_pairwise_mean", [0.7] * 9,
                                 [0.7, 0.8, 0.6, 0.7, 0.7, 0.9, 0.7, 0.7, 0.5]))
    cases.append(regression_case("perfect", [1.5, -2.0, 3.25], [1.5, -2.0, 3.25]))
    return cases


# ----- clustering -----------------------------------------------------------------------


def clustering_cases():
    cases = []

    def blobs(centers, per_cluster, spread):
        points = np.concatenate(
            [c + rng.normal(0.0, spread, size=(per_cluster, len(c))) for c in centers]
        )
        return points[rng.permutation(len(points))]

    for name, points, k in [
        ("blobs_2d", blobs(np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]]), 50, 1.2), 3),
        ("blobs_4d", blobs(rng.normal(0.0, 4.0, size=(5, 4)), 30, 1.5), 5),
    ]:
        kmeans = KMeans(n_clusters=k, n_init=3, random_state=0).fit(points)
        labels = kmeans.labels_
        means = np.array([points[labels == c].mean(axis=0) for c in range(k)])
        cases.append({
            "name": name,
            "points": points,
            "labels": labels,
            "centroids": kmeans.cluster_centers_,
            # KMeans.inertia_: squared distances to `centroids`, its own centres.
            "inertia": kmeans.inertia_,
            # The same about each cluster's mean, computed with numpy (sklearn has no function
            # for it; at convergence the two agree).
            "inertia_about_means": float(((points - means[labels]) ** 2).sum()),
            "silhouette": m.silhouette_score(points, labels),
        })

    # String labels, a singleton cluster (its silhouette is 0) and noise labelled like
    # DBSCAN's -1 as a cluster of its own (as silhouette_score treats it).
    points = rng.normal(0.0, 1.0, size=(40, 3))
    labels = np.array(["north", "south", "west"])[rng.integers(0, 3, size=40)]
    labels[7] = "lone"
    case = {"name": "str_labels_with_singleton", "points": points, "labels": labels.tolist(),
            "silhouette": m.silhouette_score(points, labels)}
    cases.append(case)
    points = rng.normal(0.0, 2.0, size=(30, 2))
    labels = rng.integers(-1, 2, size=30)
    cases.append({"name": "int_labels_with_noise", "points": points, "labels": labels,
                  "silhouette": m.silhouette_score(points, labels)})
    # Two points in one spot but in different clusters: a = b = 0 there, a 0/0 that scores 0.
    points = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [1.0, 1.0]])
    labels = np.array([0, 1, 0, 1, 2])
    cases.append({"name": "coincident_points", "points": points, "labels": labels,
                  "silhouette": m.silhouette_score(points, labels)})
    return cases


def header(kind, description):
    return fixtures.header("scripts/make-metric-fixtures.py", SEED, kind, description)


def write(name, document):
    fixtures.write(FIXTURES, name, document, non_finite=True)


def main():
    # Warnings scikit-learn gives on purpose-made edge cases (a single label, zero division,
    # a class missing from the truth) are expected here; the fixtures record its values.
    warnings.simplefilter("ignore")
    write("classification.json", dict(
        header("classification", "labels, predictions, scores and probabilities with "
               "scikit-learn's accuracy, precision, recall, F1, ROC AUC, log loss, curves"),
        cases=classification_cases()))
    write("regression.json", dict(
        header("regression", "true and predicted values with scikit-learn's MAE, MSE, RMSE, "
               "R² and MAPE"),
        cases=regression_cases()))
    write("clustering.json", dict(
        header("clustering", "points and cluster labels with scikit-learn's silhouette score "
               "and k-means inertia"),
        cases=clustering_cases()))


if __name__ == "__main__":
    main()
