-- Experiment runs: every fit and cross-validation a notebook (or `oxbook run`) recorded.
-- A run is immutable once recorded: its id (the kernel session's id and a counter) names
-- exactly one run, so recording the same run twice is a no-op and a different run under a
-- used id is refused.
CREATE TABLE runs (
    id                TEXT PRIMARY KEY NOT NULL,
    -- `fit` or `cross_validation`.
    kind              TEXT NOT NULL,
    algorithm         TEXT NOT NULL,
    -- JSON object of the algorithm's settings, defaults filled in.
    settings          TEXT NOT NULL,
    -- NULL for unsupervised models.
    target            TEXT,
    -- JSON array of the feature (column) names.
    features          TEXT NOT NULL,
    -- Both NULL when the data did not come from identifiable bytes.
    dataset_name      TEXT,
    dataset_sha256    TEXT,
    row_count         INTEGER NOT NULL,
    -- JSON object of metric name to (finite) number; filtered and sorted with json_each.
    metrics           TEXT NOT NULL,
    duration_ms       REAL NOT NULL,
    notebook_id       TEXT,
    notebook_revision INTEGER,
    created_at        TEXT NOT NULL
);
CREATE INDEX runs_created_at ON runs (created_at);
CREATE INDEX runs_algorithm ON runs (algorithm, created_at);
CREATE INDEX runs_notebook ON runs (notebook_id, created_at);
CREATE INDEX runs_dataset ON runs (dataset_sha256, created_at);
