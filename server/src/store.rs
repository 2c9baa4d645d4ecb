//! Persistence: notebooks, the model registry, endpoints, dataset metadata and experiment
//! runs.
//!
//! Everything the HTTP layer needs from the database goes through [`Store`], whose methods
//! speak the protocol's types, so a PostgreSQL backend can be added later behind the same
//! methods without touching the routes. Queries are built at run time (no `query!` macros),
//! so building never needs a live database.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use std::collections::BTreeMap;

use oxbook_protocol::{
    DatasetColumn, DatasetFormat, DatasetInfo, DatasetRef, EndpointInfo, ModelId, ModelSummary,
    Notebook, NotebookSummary, RunKind, RunRecord, RunSpec,
};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use sqlx::{QueryBuilder, Row};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// `oxbook.sqlite` inside this directory (created, with the directory, when missing).
    DataDir(PathBuf),
    /// This SQLite file (created when missing; its directory must exist).
    File(PathBuf),
    /// A database URL; only `sqlite:` URLs are supported for now.
    Url(String),
}

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "oxbook.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "unsupported database URL scheme `{0}`: this build stores data in SQLite (sqlite:...)"
    )]
    UnsupportedUrl(String),
    /// A row holds something this server could not have written (hand-edited database,
    /// or a newer server's data).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What became of a notebook save.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    Saved(Notebook),
    NotFound,
    /// The stored revision differs from the one the save was based on.
    Conflict {
        stored: u64,
    },
}

/// What became of recording a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// A new run, as stored (with its `created_at`).
    Created(RunRecord),
    /// The id was already recorded with the same contents: the stored record.
    Unchanged(RunRecord),
    /// The id was already recorded with different contents; names the differing fields.
    Differs(Vec<&'static str>),
}

/// Which runs `list_runs` returns, and in what order. `None` filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub algorithm: Option<String>,
    pub kind: Option<RunKind>,
    pub notebook_id: Option<String>,
    pub dataset_sha256: Option<String>,
    /// Only runs that have this metric.
    pub has_metric: Option<String>,
    /// Order by this metric (runs without it last, ties newest first); by time when `None`.
    pub sort: Option<String>,
    /// The direction of the metric's order, or of the time order without one.
    pub descending: bool,
    pub limit: u32,
}

/// A handle to the database; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Timestamps are RFC 3339 in UTC with a fixed six-digit fraction, so that comparing them as
/// strings (as `ORDER BY updated_at` does) orders them in time.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn now_timestamp() -> String {
    OffsetDateTime::now_utc()
        .format(TIMESTAMP)
        .expect("the current UTC time always fits the timestamp format")
}

impl Store {
    /// Opens (creating when missing) the database and brings its schema up to date.
    pub async fn open(location: &DatabaseLocation) -> Result<Store, StoreError> {
        let options = match location {
            DatabaseLocation::DataDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
                SqliteConnectOptions::new().filename(dir.join(SQLITE_FILE_NAME))
            }
            DatabaseLocation::File(path) => SqliteConnectOptions::new().filename(path),
            DatabaseLocation::Url(url) => {
                let scheme = url.split(':').next().unwrap_or_default();
                if scheme != "sqlite" {
                    return Err(StoreError::UnsupportedUrl(scheme.to_string()));
                }
                SqliteConnectOptions::from_str(url)?
            }
        };
        let options = options
            .create_if_missing(true)
            // WAL lets the readers (listings, invocations) go on while a save writes.
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Waits for the connections to finish their work and closes them.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ----- notebooks -------------------------------------------------------------------

    /// Inserts a new notebook as given (its revision included). Fails on a duplicate id.
    pub async fn insert_notebook(&self, notebook: &Notebook) -> Result<(), StoreError> {
        let now = now_timestamp();
        sqlx::query(
            "INSERT INTO notebooks (id, title, revision, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&notebook.id)
        .bind(&notebook.title)
        .bind(revision_to_db(notebook.revision)?)
        .bind(document_json(notebook)?)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Inserts the notebook unless one with its id exists; tells whether it inserted.
    pub async fn insert_notebook_if_absent(&self, notebook: &Notebook) -> Result<bool, StoreError> {
        let now = now_timestamp();
        let result = sqlx::query(
            "INSERT INTO notebooks (id, title, revision, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&notebook.id)
        .bind(&notebook.title)
        .bind(revision_to_db(notebook.revision)?)
        .bind(document_json(notebook)?)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Every notebook, the most recently saved first.
    pub async fn list_notebooks(&self) -> Result<Vec<NotebookSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, revision, updated_at FROM notebooks \
             ORDER BY updated_at DESC, id ASC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(NotebookSummary {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    revision: revision_from_db(row.try_get("revision")?)?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    pub async fn get_notebook(&self, id: &str) -> Result<Option<Notebook>, StoreError> {
        let row = sqlx::query("SELECT revision, document FROM notebooks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let document: String = row.try_get("document")?;
        let mut notebook: Notebook = serde_json::from_str(&document)
            .map_err(|e| StoreError::Corrupt(format!("notebook `{id}`: {e}")))?;
        // The column is what saves compare against, so it is the truth.
        notebook.revision = revision_from_db(row.try_get("revision")?)?;
        Ok(Some(notebook))
    }

    /// Saves `notebook` if the stored revision equals `notebook.revision`, storing it with
    /// the next revision. The check and the write are one statement, so two racing saves
    /// of the same revision cannot both succeed.
    pub async fn save_notebook(&self, notebook: &Notebook) -> Result<SaveOutcome, StoreError> {
        let Ok(expected) = i64::try_from(notebook.revision) else {
            // No stored revision is that large, so this can only be a conflict (or a miss).
            return self.conflict_or_missing(&notebook.id).await;
        };
        let mut saved = notebook.clone();
        saved.revision = notebook.revision + 1;
        let result = sqlx::query(
            "UPDATE notebooks SET title = ?, revision = ?, document = ?, updated_at = ? \
             WHERE id = ? AND revision = ?",
        )
        .bind(&saved.title)
        .bind(revision_to_db(saved.revision)?)
        .bind(document_json(&saved)?)
        .bind(now_timestamp())
        .bind(&saved.id)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            Ok(SaveOutcome::Saved(saved))
        } else {
            self.conflict_or_missing(&notebook.id).await
        }
    }

    async fn conflict_or_missing(&self, id: &str) -> Result<SaveOutcome, StoreError> {
        let stored: Option<i64> = sqlx::query_scalar("SELECT revision FROM notebooks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match stored {
            None => SaveOutcome::NotFound,
            Some(revision) => SaveOutcome::Conflict {
                stored: revision_from_db(revision)?,
            },
        })
    }

    /// Deletes the notebook; tells whether there was one.
    pub async fn delete_notebook(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM notebooks WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    // ----- models ----------------------------------------------------------------------

    /// Stores a new version of model `name` (one past the highest so far, 1 for a new
    /// name). Computing the version inside the INSERT keeps concurrent uploads from
    /// taking the same number.
    pub async fn insert_model(
        &self,
        name: &str,
        artifact: &[u8],
        sha256: &str,
        algorithm: &str,
        features: &[String],
    ) -> Result<ModelSummary, StoreError> {
        let created_at = now_timestamp();
        let features_json =
            serde_json::to_string(features).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO models (name, version, sha256, algorithm, features, artifact, created_at) \
             SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ? FROM models WHERE name = ? \
             RETURNING version",
        )
        .bind(name)
        .bind(sha256)
        .bind(algorithm)
        .bind(&features_json)
        .bind(artifact)
        .bind(&created_at)
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(ModelSummary {
            id: ModelId {
                name: name.to_string(),
                version: version_from_db(version)?,
                sha256: sha256.to_string(),
            },
            algorithm: algorithm.to_string(),
            features: features.to_vec(),
            created_at,
        })
    }

    /// Every version of every model (`name: None`) or of one model, by name then version.
    pub async fn list_models(&self, name: Option<&str>) -> Result<Vec<ModelSummary>, StoreError> {
        let rows =
            match name {
                None => sqlx::query(
                    "SELECT name, version, sha256, algorithm, features, created_at FROM models \
                     ORDER BY name, version",
                )
                .fetch_all(&self.pool)
                .await?,
                Some(name) => sqlx::query(
                    "SELECT name, version, sha256, algorithm, features, created_at FROM models \
                     WHERE name = ? ORDER BY version",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter().map(model_summary).collect()
    }

    /// One version of a model, or its newest when `version` is `None`.
    pub async fn get_model(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<ModelSummary>, StoreError> {
        let row =
            match version {
                Some(version) => sqlx::query(
                    "SELECT name, version, sha256, algorithm, features, created_at FROM models \
                     WHERE name = ? AND version = ?",
                )
                .bind(name)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?,
                None => sqlx::query(
                    "SELECT name, version, sha256, algorithm, features, created_at FROM models \
                     WHERE name = ? ORDER BY version DESC LIMIT 1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
            };
        row.as_ref().map(model_summary).transpose()
    }

    /// The artifact's bytes exactly as uploaded.
    pub async fn model_artifact(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT artifact FROM models WHERE name = ? AND version = ?")
                .bind(name)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    // ----- endpoints -------------------------------------------------------------------

    /// Points endpoint `name` at `model` (which must exist), creating the endpoint when
    /// needed. Returns the endpoint and whether it was created.
    pub async fn upsert_endpoint(
        &self,
        name: &str,
        model: &ModelId,
    ) -> Result<(EndpointInfo, bool), StoreError> {
        let now = now_timestamp();
        let row = sqlx::query(
            "INSERT INTO endpoints (name, model_name, model_version, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET model_name = excluded.model_name, \
             model_version = excluded.model_version, updated_at = excluded.updated_at \
             RETURNING created_at, updated_at",
        )
        .bind(name)
        .bind(&model.name)
        .bind(i64::from(model.version))
        .bind(&now)
        .bind(&now)
        .fetch_one(&self.pool)
        .await?;
        let created_at: String = row.try_get("created_at")?;
        let updated_at: String = row.try_get("updated_at")?;
        // An update keeps the old creation time; only a fresh row carries ours.
        let created = created_at == now;
        let info = EndpointInfo {
            name: name.to_string(),
            model: model.clone(),
            invocations_path: invocations_path(name),
            created_at,
            updated_at,
        };
        Ok((info, created))
    }

    pub async fn list_endpoints(&self) -> Result<Vec<EndpointInfo>, StoreError> {
        let rows = sqlx::query(&format!("{ENDPOINT_SELECT} ORDER BY e.name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(endpoint_info).collect()
    }

    pub async fn get_endpoint(&self, name: &str) -> Result<Option<EndpointInfo>, StoreError> {
        let row = sqlx::query(&format!("{ENDPOINT_SELECT} WHERE e.name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(endpoint_info).transpose()
    }

    pub async fn delete_endpoint(&self, name: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM endpoints WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    // ----- datasets --------------------------------------------------------------------

    /// Records `info` as dataset `info.name`, its bytes under `object_key`, replacing any
    /// dataset of that name. Returns the object key the replaced row pointed at, whose
    /// object the caller deletes. Reading the old key and writing the new row happen in one
    /// immediate transaction, so two racing uploads each learn the key they displaced.
    pub async fn replace_dataset(
        &self,
        info: &DatasetInfo,
        object_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let schema = info
            .schema
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let diagnostics = serde_json::to_string(&info.diagnostics)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let size = i64::try_from(info.size_bytes).map_err(|_| {
            StoreError::Corrupt(format!("dataset size {} is too large", info.size_bytes))
        })?;
        let rows = info
            .row_count
            .map(|rows| {
                i64::try_from(rows)
                    .map_err(|_| StoreError::Corrupt(format!("row count {rows} is too large")))
            })
            .transpose()?;
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads and
        // then writes can fail with SQLITE_BUSY when another writer got in between.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT object_key FROM datasets WHERE name = ?")
                .bind(&info.name)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO datasets (name, format, size_bytes, sha256, row_count, schema, \
             diagnostics, object_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET format = excluded.format, \
             size_bytes = excluded.size_bytes, sha256 = excluded.sha256, \
             row_count = excluded.row_count, schema = excluded.schema, \
             diagnostics = excluded.diagnostics, object_key = excluded.object_key, \
             created_at = excluded.created_at",
        )
        .bind(&info.name)
        .bind(info.format.name())
        .bind(size)
        .bind(&info.sha256)
        .bind(rows)
        .bind(schema)
        .bind(diagnostics)
        .bind(object_key)
        .bind(&info.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(old)
    }

    /// Every dataset, by name.
    pub async fn list_datasets(&self) -> Result<Vec<DatasetInfo>, StoreError> {
        let rows = sqlx::query(&format!("{DATASET_SELECT} ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| dataset_row(row).map(|(info, _)| info))
            .collect()
    }

    /// A dataset's metadata and the object key of its bytes.
    pub async fn get_dataset(
        &self,
        name: &str,
    ) -> Result<Option<(DatasetInfo, String)>, StoreError> {
        let row = sqlx::query(&format!("{DATASET_SELECT} WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_row).transpose()
    }

    /// Deletes a dataset's metadata; returns the object key of its bytes, for the caller
    /// to delete, or `None` when there was no such dataset.
    pub async fn delete_dataset(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("DELETE FROM datasets WHERE name = ? RETURNING object_key")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    // ----- runs ------------------------------------------------------------------------

    /// Records `run` (its `created_at` is ignored and set now) unless its id is taken. When
    /// it is, the stored run is compared with `run` as stored text, so a client repeating a
    /// request gets the stored record back and a different run under the same id is told
    /// apart. Inserting with `ON CONFLICT DO NOTHING` keeps two racing records of one id
    /// from both succeeding.
    pub async fn record_run(&self, run: &RunRecord) -> Result<RecordOutcome, StoreError> {
        let columns = RunColumns::of(run)?;
        let created_at = now_timestamp();
        let result = sqlx::query(
            "INSERT INTO runs (id, kind, algorithm, settings, target, features, dataset_name, \
             dataset_sha256, row_count, metrics, duration_ms, notebook_id, notebook_revision, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&columns.id)
        .bind(&columns.kind)
        .bind(&columns.algorithm)
        .bind(&columns.settings)
        .bind(&columns.target)
        .bind(&columns.features)
        .bind(&columns.dataset_name)
        .bind(&columns.dataset_sha256)
        .bind(columns.row_count)
        .bind(&columns.metrics)
        .bind(columns.duration_ms)
        .bind(&columns.notebook_id)
        .bind(columns.notebook_revision)
        .bind(&created_at)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            let mut stored = run.clone();
            stored.created_at = created_at;
            return Ok(RecordOutcome::Created(stored));
        }
        let row = sqlx::query(&format!("{RUN_SELECT} FROM runs WHERE id = ?"))
            .bind(&columns.id)
            .fetch_one(&self.pool)
            .await?;
        let differs = columns.differences(&RunColumns::from_row(&row)?);
        if differs.is_empty() {
            Ok(RecordOutcome::Unchanged(run_record(&row)?))
        } else {
            Ok(RecordOutcome::Differs(differs))
        }
    }

    /// The runs `filter` selects, in its order, at most `filter.limit` of them.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new(RUN_SELECT);
        // The metric to sort by, picked out of the JSON (NULL for runs without it). Keys are
        // compared as values, so any metric name works, quotes and dots included.
        if let Some(metric) = &filter.sort {
            query
                .push(", (SELECT value FROM json_each(runs.metrics) WHERE json_each.key = ")
                .push_bind(metric.clone())
                .push(") AS sort_value");
        }
        query.push(" FROM runs WHERE 1 = 1");
        if let Some(algorithm) = &filter.algorithm {
            query.push(" AND algorithm = ").push_bind(algorithm.clone());
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.name());
        }
        if let Some(notebook_id) = &filter.notebook_id {
            query
                .push(" AND notebook_id = ")
                .push_bind(notebook_id.clone());
        }
        if let Some(sha256) = &filter.dataset_sha256 {
            query
                .push(" AND dataset_sha256 = ")
                .push_bind(sha256.clone());
        }
        if let Some(metric) = &filter.has_metric {
            query
                .push(" AND EXISTS (SELECT 1 FROM json_each(runs.metrics) WHERE json_each.key = ")
                .push_bind(metric.clone())
                .push(")");
        }
        let direction = if filter.descending { "DESC" } else { "ASC" };
        // rowid breaks ties between runs recorded within the same microsecond.
        if filter.sort.is_some() {
            query.push(format!(
                " ORDER BY sort_value IS NULL, sort_value {direction}, created_at DESC, \
                 rowid DESC"
            ));
        } else {
            query.push(format!(
                " ORDER BY created_at {direction}, rowid {direction}"
            ));
        }
        query.push(" LIMIT ");
        query.push_bind(i64::from(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(run_record).collect()
    }

    pub async fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(&format!("{RUN_SELECT} FROM runs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_record).transpose()
    }

    /// Deletes a run; tells whether there was one.
    pub async fn delete_run(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM runs WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

const RUN_SELECT: &str = "SELECT id, kind, algorithm, settings, target, features, dataset_name, \
     dataset_sha256, row_count, metrics, duration_ms, notebook_id, notebook_revision, created_at";

/// A run as its columns hold it. Comparing these (JSON as stored text) rather than parsed
/// values makes a repeated record equal to the stored one exactly when it would be stored
/// the same way.
#[derive(Debug, Clone, PartialEq)]
struct RunColumns {
    id: String,
    kind: String,
    algorithm: String,
    settings: String,
    target: Option<String>,
    features: String,
    dataset_name: Option<String>,
    dataset_sha256: Option<String>,
    row_count: i64,
    metrics: String,
    duration_ms: f64,
    notebook_id: Option<String>,
    notebook_revision: Option<i64>,
}

impl RunColumns {
    fn of(run: &RunRecord) -> Result<RunColumns, StoreError> {
        let spec = &run.spec;
        let json = |what: &str, value: Result<String, serde_json::Error>| {
            value.map_err(|e| StoreError::Corrupt(format!("{what} of run `{}`: {e}", spec.id)))
        };
        let too_large =
            |what: &str, n: u64| StoreError::Corrupt(format!("{what} {n} is too large to store"));
        Ok(RunColumns {
            id: spec.id.clone(),
            kind: spec.kind.name().to_string(),
            algorithm: spec.algorithm.clone(),
            settings: json("settings", serde_json::to_string(&spec.settings))?,
            target: spec.target.clone(),
            features: json("features", serde_json::to_string(&spec.features))?,
            dataset_name: spec.dataset.as_ref().map(|d| d.name.clone()),
            dataset_sha256: spec.dataset.as_ref().map(|d| d.sha256.clone()),
            row_count: i64::try_from(spec.rows).map_err(|_| too_large("row count", spec.rows))?,
            metrics: json("metrics", serde_json::to_string(&spec.metrics))?,
            duration_ms: spec.duration_ms,
            notebook_id: run.notebook_id.clone(),
            notebook_revision: run
                .notebook_revision
                .map(|r| i64::try_from(r).map_err(|_| too_large("notebook revision", r)))
                .transpose()?,
        })
    }

    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RunColumns, StoreError> {
        Ok(RunColumns {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            algorithm: row.try_get("algorithm")?,
            settings: row.try_get("settings")?,
            target: row.try_get("target")?,
            features: row.try_get("features")?,
            dataset_name: row.try_get("dataset_name")?,
            dataset_sha256: row.try_get("dataset_sha256")?,
            row_count: row.try_get("row_count")?,
            metrics: row.try_get("metrics")?,
            duration_ms: row.try_get("duration_ms")?,
            notebook_id: row.try_get("notebook_id")?,
            notebook_revision: row.try_get("notebook_revision")?,
        })
    }

    /// The names (as the JSON spells them) of the fields in which `self` and `other` differ.
    fn differences(&self, other: &RunColumns) -> Vec<&'static str> {
        let checks: [(&'static str, bool); 12] = [
            ("id", self.id == other.id),
            ("kind", self.kind == other.kind),
            ("algorithm", self.algorithm == other.algorithm),
            ("settings", self.settings == other.settings),
            ("target", self.target == other.target),
            ("features", self.features == other.features),
            (
                "dataset",
                self.dataset_name == other.dataset_name
                    && self.dataset_sha256 == other.dataset_sha256,
            ),
            ("rows", self.row_count == other.row_count),
            ("metrics", self.metrics == other.metrics),
            // Compared as bits: REAL keeps the f64 exactly.
            (
                "duration_ms",
                self.duration_ms.to_bits() == other.duration_ms.to_bits(),
            ),
            ("notebook_id", self.notebook_id == other.notebook_id),
            (
                "notebook_revision",
                self.notebook_revision == other.notebook_revision,
            ),
        ];
        checks
            .into_iter()
            .filter(|(_, same)| !same)
            .map(|(name, _)| name)
            .collect()
    }
}

fn run_record(row: &sqlx::sqlite::SqliteRow) -> Result<RunRecord, StoreError> {
    let columns = RunColumns::from_row(row)?;
    let id = columns.id;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("{what} of run `{id}`: {e}"))
    };
    let kind = RunKind::from_name(&columns.kind)
        .ok_or_else(|| corrupt("kind", &format!("unknown kind `{}`", columns.kind)))?;
    let settings: serde_json::Value =
        serde_json::from_str(&columns.settings).map_err(|e| corrupt("settings", &e))?;
    let features: Vec<String> =
        serde_json::from_str(&columns.features).map_err(|e| corrupt("features", &e))?;
    let metrics: BTreeMap<String, f64> =
        serde_json::from_str(&columns.metrics).map_err(|e| corrupt("metrics", &e))?;
    let rows = u64::try_from(columns.row_count).map_err(|e| corrupt("row count", &e))?;
    let notebook_revision = columns
        .notebook_revision
        .map(u64::try_from)
        .transpose()
        .map_err(|e| corrupt("notebook revision", &e))?;
    let dataset = match (columns.dataset_name, columns.dataset_sha256) {
        (Some(name), Some(sha256)) => Some(DatasetRef { name, sha256 }),
        _ => None,
    };
    Ok(RunRecord {
        spec: RunSpec {
            id: id.clone(),
            kind,
            algorithm: columns.algorithm,
            settings,
            target: columns.target,
            features,
            dataset,
            rows,
            metrics,
            duration_ms: columns.duration_ms,
        },
        notebook_id: columns.notebook_id,
        notebook_revision,
        created_at: row.try_get("created_at")?,
    })
}

const DATASET_SELECT: &str = "SELECT name, format, size_bytes, sha256, row_count, schema, \
     diagnostics, object_key, created_at FROM datasets";

fn dataset_row(row: &sqlx::sqlite::SqliteRow) -> Result<(DatasetInfo, String), StoreError> {
    let name: String = row.try_get("name")?;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("{what} of dataset `{name}`: {e}"))
    };
    let format: String = row.try_get("format")?;
    let format: DatasetFormat = DatasetFormat::from_name(&format)
        .ok_or_else(|| corrupt("format", &format!("unknown format `{format}`")))?;
    let size: i64 = row.try_get("size_bytes")?;
    let size_bytes = u64::try_from(size).map_err(|e| corrupt("size", &e))?;
    let rows: Option<i64> = row.try_get("row_count")?;
    let row_count = rows
        .map(u64::try_from)
        .transpose()
        .map_err(|e| corrupt("row count", &e))?;
    let schema: Option<String> = row.try_get("schema")?;
    let schema = schema
        .map(|text| serde_json::from_str::<Vec<DatasetColumn>>(&text))
        .transpose()
        .map_err(|e| corrupt("schema", &e))?;
    let diagnostics: String = row.try_get("diagnostics")?;
    let diagnostics: Vec<String> =
        serde_json::from_str(&diagnostics).map_err(|e| corrupt("diagnostics", &e))?;
    let info = DatasetInfo {
        data_path: oxbook_protocol::dataset_data_path(&name),
        format,
        size_bytes,
        sha256: row.try_get("sha256")?,
        row_count,
        schema,
        diagnostics,
        created_at: row.try_get("created_at")?,
        name,
    };
    Ok((info, row.try_get("object_key")?))
}

/// The path, relative to the server's origin, that serves an endpoint's predictions.
pub fn invocations_path(endpoint: &str) -> String {
    format!("/endpoints/{endpoint}/invocations")
}

const ENDPOINT_SELECT: &str = "SELECT e.name, e.model_name, e.model_version, m.sha256, \
     e.created_at, e.updated_at FROM endpoints e \
     JOIN models m ON m.name = e.model_name AND m.version = e.model_version";

fn endpoint_info(row: &sqlx::sqlite::SqliteRow) -> Result<EndpointInfo, StoreError> {
    let name: String = row.try_get("name")?;
    Ok(EndpointInfo {
        invocations_path: invocations_path(&name),
        model: ModelId {
            name: row.try_get("model_name")?,
            version: version_from_db(row.try_get("model_version")?)?,
            sha256: row.try_get("sha256")?,
        },
        name,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn model_summary(row: &sqlx::sqlite::SqliteRow) -> Result<ModelSummary, StoreError> {
    let name: String = row.try_get("name")?;
    let features: String = row.try_get("features")?;
    let features: Vec<String> = serde_json::from_str(&features)
        .map_err(|e| StoreError::Corrupt(format!("features of model `{name}`: {e}")))?;
    Ok(ModelSummary {
        id: ModelId {
            version: version_from_db(row.try_get("version")?)?,
            sha256: row.try_get("sha256")?,
            name,
        },
        algorithm: row.try_get("algorithm")?,
        features,
        created_at: row.try_get("created_at")?,
    })
}

fn document_json(notebook: &Notebook) -> Result<String, StoreError> {
    serde_json::to_string(notebook).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn revision_to_db(revision: u64) -> Result<i64, StoreError> {
    i64::try_from(revision)
        .map_err(|_| StoreError::Corrupt(format!("revision {revision} is too large to store")))
}

fn revision_from_db(revision: i64) -> Result<u64, StoreError> {
    u64::try_from(revision)
        .map_err(|_| StoreError::Corrupt(format!("negative notebook revision {revision}")))
}

fn version_from_db(version: i64) -> Result<u32, StoreError> {
    u32::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("model version {version} out of range")))
}
