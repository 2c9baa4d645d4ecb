-- The dataset store's metadata. The bytes live in the object store (a local folder or an
-- S3 bucket) under `object_key`, which is fresh for every upload: a replacement writes its
-- bytes under a new key, swaps this row in one statement, then deletes the old object, so a
-- reader never sees a half-written file or metadata that does not match its bytes.
CREATE TABLE datasets (
    name        TEXT PRIMARY KEY NOT NULL,
    format      TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    -- NULL when the server could not read the file; `diagnostics` says why.
    row_count   INTEGER,
    -- JSON array of {"name", "dtype"}, or NULL when the schema is unknown.
    schema      TEXT,
    -- JSON array of strings.
    diagnostics TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
