-- Notebooks: the whole document as JSON, with the columns the server queries on beside it.
CREATE TABLE notebooks (
    id         TEXT PRIMARY KEY NOT NULL,
    title      TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX notebooks_updated_at ON notebooks (updated_at);

-- The model registry: each upload under a name is a new, immutable version.
CREATE TABLE models (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    algorithm  TEXT NOT NULL,
    -- JSON array of the feature (column) names the model reads.
    features   TEXT NOT NULL,
    artifact   BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

-- Prediction endpoints, each pointing at one model version.
CREATE TABLE endpoints (
    name          TEXT PRIMARY KEY NOT NULL,
    model_name    TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    FOREIGN KEY (model_name, model_version) REFERENCES models (name, version)
);
