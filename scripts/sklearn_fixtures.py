"""What the fixture scripts (`scripts/make-*-fixtures.py`) share: running under scikit-learn,
and writing numpy values as JSON fixture files."""

import json
import math
import os
import subprocess
import sys
import tempfile


def ensure_sklearn(script):
    """Re-runs `script` in a virtual environment with scikit-learn if it is missing: a
    throwaway one under the system's temporary directory, made and filled with pip."""
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("OXBOOK_FIXTURES_VENV"):
        sys.exit("scikit-learn is still missing inside the virtual environment")
    venv = os.path.join(tempfile.gettempdir(), "oxbook-metrics-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([python, "-m", "pip", "install", "--quiet", "scikit-learn", "numpy"])
    env = dict(os.environ, OXBOOK_FIXTURES_VENV="1")
    sys.exit(subprocess.call([python, os.path.abspath(script)] + sys.argv[1:], env=env))


def plain(value, non_finite=False):
    """numpy values as JSON values. JSON has no infinities or NaN: with `non_finite` they
    become the strings "inf", "-inf" and "nan"; otherwise they are a mistake."""
    import numpy as np

    if isinstance(value, dict):
        return {k: plain(v, non_finite) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v, non_finite) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not non_finite:
            assert math.isfinite(value), "fixtures hold finite numbers only"
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def header(generator, seed, kind, description):
    """What every fixture file says of itself: what it holds and what made it."""
    import numpy as np
    import sklearn

    return {
        "what": description,
        "generator": generator,
        "seed": seed,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "kind": kind,
    }


def write(directory, name, document, non_finite=False):
    """Writes `document` as `directory/name`, keys sorted, so reruns give the same bytes."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(plain(document, non_finite), f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(path)}")
