#!/usr/bin/env python3
"""Writes the unsupervised-learning parity fixtures: data sets and scikit-learn's k-means,
DBSCAN and PCA results on them, as JSON in kernel/tests/fixtures/unsupervised/.
kernel/tests/unsupervised.rs reads the committed files and checks that the kernel's
clustering and PCA agree with scikit-learn's (to 1e-9 for numbers, exactly for labels).

Run it once after changing the cases (not in CI: it needs scikit-learn, which the project does
not otherwise depend on):

    python3 scripts/make-unsupervised-fixtures.py

Without scikit-learn importable, it makes a throwaway virtual environment under the system's
temporary directory (the same one scripts/make-metric-fixtures.py uses), installs
scikit-learn and numpy there with pip and re-runs itself in it. The data come from a seeded
numpy generator, so re-running with the same scikit-learn and numpy versions writes the same
files; the versions used are recorded in every file.

k-means starts from explicit centers (scikit-learn's `init=array`), since the kernel's random
draws are its own; one k-means++ case records only the inertia scikit-learn reaches on
well-separated blobs, which any good start reaches too. DBSCAN cases are checked to have no
pair of points within a hair of `eps`, where rounding could decide either way.
"""

import os
import sys
import warnings

FIXTURES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "tests", "fixtures", "unsupervised"
)
SEED = 20240611


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sklearn_fixtures as fixtures  # noqa: E402

fixtures.ensure_sklearn(__file__)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402
from sklearn.cluster import DBSCAN, KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

rng = np.random.default_rng(SEED)


def blobs(centers, per_cluster, spread):
    centers = np.asarray(centers, dtype=float)
    points = np.concatenate(
        [c + rng.normal(0.0, spread, size=(per_cluster, len(c))) for c in centers]
    )
    return points[rng.permutation(len(points))]


# ----- k-means ---------------------------------------------------------------------------


def kmeans_case(name, points, init, max_iter=300, tol=1e-4):
    init = np.asarray(init, dtype=float)
    model = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, tol=tol,
                   algorithm="lloyd").fit(points)
    # Fresh points for predict (nearest center) and transform (distance to every center).
    new = rng.normal(0.0, 3.0, size=(20, points.shape[1]))
    return {
        "name": name,
        "points": points,
        "init": init,
        "max_iter": max_iter,
        "tol": tol,
        "centers": model.cluster_centers_,
        "labels": model.labels_,
        "inertia": model.inertia_,
        "iterations": model.n_iter_,
        "new_points": new,
        "new_labels": model.predict(new),
        "new_distances": model.transform(new),
    }


def kmeans_cases():
    cases = []
    points = blobs([[0, 0, 0, 0], [6, 6, 0, 0], [0, 6, 6, 0], [6, 0, 0, 6]], 75, 1.0)
    cases.append(kmeans_case("blobs_4d", points, points[:4]))

    # Overlapping clusters: many iterations, the tolerance decides when to stop.
    points = blobs(rng.normal(0.0, 2.0, size=(6, 3)), 80, 1.5)
    init = points[[3, 17, 29, 41, 57]]
    cases.append(kmeans_case("overlapping_3d", points, init))
    cases.append(kmeans_case("overlapping_3d_max_iter_2", points, init, max_iter=2))
    cases.append(kmeans_case("overlapping_3d_tol_0", points, init, tol=0.0))

    # A start far from every point leaves a cluster empty in the first iteration: it takes
    # the point farthest from its center.
    points = blobs([[0, 0], [5, 0], [0, 5]], 40, 1.0)
    cases.append(kmeans_case("empty_cluster_relocated", points,
                             [points[0], points[1], [100.0, 100.0]]))

    # Unscaled, offset features: the tolerance is relative to the features' variances.
    points = blobs([[1000, 0.01], [1010, 0.03], [1005, 0.05]], 50, 2.0)
    points[:, 1] = np.abs(points[:, 1])
    cases.append(kmeans_case("offset_scales", points, points[:3]))
    return cases


def kmeans_plusplus_case():
    points = blobs([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10], [10, 10, 10]], 60, 1.0)
    model = KMeans(n_clusters=5, init="k-means++", n_init=10, random_state=0).fit(points)
    return {"name": "kmeans_plusplus_blobs", "points": points, "n_clusters": 5,
            "inertia": model.inertia_, "labels": model.labels_}


# ----- DBSCAN ----------------------------------------------------------------------------

METRICS = {"euclidean": "euclidean", "manhattan": "cityblock", "chebyshev": "chebyshev"}


def dbscan_case(name, points, eps, min_samples, metric="euclidean"):
    distances = cdist(points, points, METRICS[metric])
    margin = np.abs(distances - eps).min()
    assert margin > 1e-9 * eps, f"{name}: a pair of points is {margin} from eps"
    model = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(points)
    # New points labelled as the kernel defines prediction (scikit-learn has no predict):
    # the nearest core point's label within eps, else -1. Kept here so the fixture can
    # be read without the kernel's code.
    new = points[:10] + rng.normal(0.0, eps / 2, size=(min(10, len(points)), points.shape[1]))
    core = points[model.core_sample_indices_]
    new_labels = []
    for row in cdist(new, core, METRICS[metric]):
        nearest = int(np.argmin(row)) if len(row) else -1
        new_labels.append(
            int(model.labels_[model.core_sample_indices_[nearest]])
            if nearest >= 0 and row[nearest] <= eps else -1
        )
    return {
        "name": name,
        "points": points,
        "eps": eps,
        "min_samples": min_samples,
        "metric": metric,
        "labels": model.labels_,
        "core_sample_indices": model.core_sample_indices_,
        "new_points": new,
        "new_labels": new_labels,
    }


def dbscan_cases():
    cases = []
    points = np.concatenate([
        blobs([[0, 0], [3, 3], [0, 4]], 40, 0.3),
        rng.uniform(-2, 5, size=(25, 2)),
    ])
    cases.append(dbscan_case("blobs_2d_with_noise", points, 0.5, 5))
    cases.append(dbscan_case("blobs_2d_min_samples_1", points, 0.2, 1))
    cases.append(dbscan_case("blobs_2d_all_noise", points, 0.5, 500))

    points = np.concatenate([
        blobs(rng.normal(0.0, 3.0, size=(4, 5)), 30, 0.5),
        rng.uniform(-6, 6, size=(20, 5)),
    ])
    cases.append(dbscan_case("blobs_5d_euclidean", points, 1.6, 4))
    cases.append(dbscan_case("blobs_5d_manhattan", points, 3.0, 4, "manhattan"))
    cases.append(dbscan_case("blobs_5d_chebyshev", points, 1.0, 4, "chebyshev"))

    # A border point within eps of a core point of two clusters joins the one found first:
    # the cluster whose lowest core point comes first (here the right-hand one, listed
    # first), not the nearer one.
    right = [[2.2, 0], [2.4, 0], [2.5, 0], [2.6, 0]]
    border = [[1.25, 0]]
    left = [[0.0, 0], [0.1, 0], [0.2, 0], [0.4, 0]]
    cases.append(dbscan_case("contested_border_point", np.array(right + border + left), 1.0, 4))
    return cases


# ----- PCA -------------------------------------------------------------------------------


def pca_case(name, points, n_components=None, whiten=False):
    model = PCA(n_components=n_components, whiten=whiten).fit(points)
    transformed = model.transform(points)
    return {
        "name": name,
        "points": points,
        "n_components": n_components,
        "whiten": whiten,
        "mean": model.mean_,
        "components": model.components_,
        "explained_variance": model.explained_variance_,
        "explained_variance_ratio": model.explained_variance_ratio_,
        "singular_values": model.singular_values_,
        "transformed": transformed,
        "inverse_transformed": model.inverse_transform(transformed),
    }


def pca_cases():
    cases = []
    # Correlated features of different scales and offsets; 200 rows of 5 features, so
    # scikit-learn's "auto" solver eigen-decomposes the covariance as the kernel does.
    mixing = rng.normal(0.0, 1.0, size=(5, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 0.05])[:, None]
    points = rng.normal(0.0, 1.0, size=(200, 5)) @ mixing + np.array([10, -5, 0, 100, 2])
    cases.append(pca_case("correlated_5d", points))
    cases.append(pca_case("correlated_5d_3_whitened", points, n_components=3, whiten=True))
    # Fewer rows than ten per feature: scikit-learn takes the full SVD instead.
    cases.append(pca_case("few_rows", points[:12], n_components=4))
    # Two features, one a near copy of the other.
    x = rng.normal(0.0, 2.0, size=60)
    points = np.column_stack([x, -0.5 * x + rng.normal(0.0, 0.1, size=60)])
    cases.append(pca_case("nearly_collinear_2d", points))
    return cases


def header(kind, description):
    return fixtures.header("scripts/make-unsupervised-fixtures.py", SEED, kind, description)


def write(name, document):
    fixtures.write(FIXTURES, name, document)


def main():
    warnings.simplefilter("ignore")
    write("kmeans.json", dict(
        header("kmeans", "points and starting centers with scikit-learn's KMeans (Lloyd) "
               "centers, labels, inertia and iterations, and predictions on new points"),
        cases=kmeans_cases(), plusplus=kmeans_plusplus_case()))
    write("dbscan.json", dict(
        header("dbscan", "points with scikit-learn's DBSCAN labels and core samples, and "
               "new points labelled by their nearest core point within eps"),
        cases=dbscan_cases()))
    write("pca.json", dict(
        header("pca", "points with scikit-learn's PCA mean, components (its sign rule), "
               "explained variances, singular values and projections"),
        cases=pca_cases()))


if __name__ == "__main__":
    main()
