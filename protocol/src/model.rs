//! Model identity, endpoints and the invocation request and response.

use serde::{Deserialize, Serialize};

/// Identity of one stored model artifact. `version` counts up per name from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelId {
    pub name: String,
    pub version: u32,
    /// Hex sha256 of the artifact's bytes as stored.
    pub sha256: String,
}

/// One model version in the registry's listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    #[serde(flatten)]
    pub id: ModelId,
    pub algorithm: String,
    /// The columns a prediction row must hold (the raw inputs, before the model's
    /// preprocessing recipe).
    pub features: Vec<String>,
    pub created_at: String,
}

/// Body of `PUT /api/endpoints/{name}`: which model version the endpoint serves
/// (the newest when `version` is absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSpec {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub name: String,
    pub model: ModelId,
    /// Path of the prediction URL, relative to the server's origin.
    pub invocations_path: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Body of `POST /endpoints/{name}/invocations`, MLflow's `dataframe_records` form:
/// one JSON object per row, keyed by feature name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationRequest {
    pub dataframe_records: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationResponse {
    /// One predicted label (classifiers) or value (regressors) per row.
    pub predictions: Vec<serde_json::Value>,
    /// Per row, the probability of each class in `classes` order (classifiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<serde_json::Value>>,
}

/// The rule for model and endpoint names, shared so a cell learns of a bad name before the
/// server refuses it: 1 to 64 characters of `[a-z0-9-_]`, safe in URLs, file names and
/// headers without escaping.
pub fn is_valid_registry_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The rule of [`is_valid_registry_name`] in words, for error messages.
pub const REGISTRY_NAME_RULE: &str = "1 to 64 characters of lowercase letters, digits, '-' or '_'";
