//! Experiment runs: every fit and cross-validation a notebook does, recorded on the server
//! so runs can be listed, filtered and compared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a kernel knows about a run when it ends. The kernel names it (so the model it
/// produced can carry the run's id in its lineage before the server has seen it); the
/// host adds where it ran ([`RunContext`]) when it records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Unique per run: the session's id (from [`RunContext`]) and a counter.
    pub id: String,
    pub kind: RunKind,
    /// The algorithm's name as cells spell it, e.g. `random_forest`.
    pub algorithm: String,
    /// The algorithm's settings as a JSON object, defaults filled in.
    pub settings: serde_json::Value,
    /// The column predicted; absent for unsupervised models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub features: Vec<String>,
    /// The data the model was fitted on, when it was loaded from identifiable bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetRef>,
    /// Rows the fit saw.
    pub rows: u64,
    /// Scores by name (`train_accuracy`, `cv_f1_macro_mean`, ...). Only finite values.
    pub metrics: BTreeMap<String, f64>,
    /// Wall-clock time of the fit (all folds, for cross-validation), as the host's clock
    /// measured it.
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Fit,
    CrossValidation,
}

impl RunKind {
    pub const ALL: [RunKind; 2] = [RunKind::Fit, RunKind::CrossValidation];

    pub fn name(self) -> &'static str {
        match self {
            RunKind::Fit => "fit",
            RunKind::CrossValidation => "cross_validation",
        }
    }

    /// The kind [`RunKind::name`] spells `name`.
    pub fn from_name(name: &str) -> Option<RunKind> {
        RunKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The bytes a frame was loaded from: a dataset store name or a file/URL name, and the
/// hex sha256 of the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub name: String,
    pub sha256: String,
}

/// Where a kernel runs, given to it by its host before cells run, so that runs and model
/// lineage name the notebook and revision they came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunContext {
    /// A fresh random id per kernel session (hosts make it; the kernel has no entropy).
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_revision: Option<u64>,
}

/// A recorded run as the server stores and lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(flatten)]
    pub spec: RunSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook_revision: Option<u64>,
    /// When the server recorded it (RFC 3339, UTC); set by the server, which ignores any
    /// value a client sends. Left out of the JSON while empty, so a client's body is the
    /// record without it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
}

/// The rule [`is_valid_run_id`] checks, as error messages state it.
pub const RUN_ID_RULE: &str =
    "1 to 100 characters, each a letter A-Z or a-z, a digit 0-9, `-`, `_` or `.`";

/// The rule for run ids: 1 to 100 characters of `[A-Za-z0-9-_.]`.
pub fn is_valid_run_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in RunKind::ALL {
            assert_eq!(RunKind::from_name(kind.name()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
        assert_eq!(RunKind::from_name("tune"), None);
    }

    #[test]
    fn a_record_without_created_at_leaves_it_out() {
        let record = RunRecord {
            spec: RunSpec {
                id: "s.1".into(),
                kind: RunKind::Fit,
                algorithm: "knn".into(),
                settings: serde_json::json!({ "k": 3 }),
                target: None,
                features: vec!["x".into()],
                dataset: None,
                rows: 4,
                metrics: BTreeMap::from([("train_accuracy".to_string(), 1.0)]),
                duration_ms: 2.5,
            },
            notebook_id: Some("nb".into()),
            notebook_revision: Some(3),
            created_at: String::new(),
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["id"], "s.1");
        assert_eq!(value["kind"], "fit");
        assert_eq!(value["notebook_revision"], 3);
        assert!(value.get("created_at").is_none(), "{value}");
        assert!(value.get("target").is_none(), "{value}");
        let back: RunRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn run_ids() {
        assert!(is_valid_run_id("0b6c0f3e-8f7e-4c1a-9d7b-1c2d3e4f5a6b.12"));
        assert!(is_valid_run_id(&"a".repeat(100)));
        assert!(!is_valid_run_id(""));
        assert!(!is_valid_run_id(&"a".repeat(101)));
        assert!(!is_valid_run_id("a b"));
        assert!(!is_valid_run_id("a/b"));
    }
}
