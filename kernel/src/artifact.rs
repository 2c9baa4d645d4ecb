//! The model artifact: a versioned serde document. (Skeleton — to be implemented.)

use oxbook_protocol::InvocationResponse;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub format_version: u32,
    pub algorithm: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("not a model artifact: {0}")]
    Malformed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("row {row}: {message}")]
    BadRow { row: usize, message: String },
}

impl ModelArtifact {
    pub fn from_json(text: &str) -> Result<Self, ArtifactError> {
        serde_json::from_str(text).map_err(|e| ArtifactError::Malformed(e.to_string()))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("artifact serializes")
    }
    pub fn feature_names(&self) -> Vec<String> {
        Vec::new()
    }
    pub fn predict_records(
        &self,
        _records: &[serde_json::Map<String, serde_json::Value>],
    ) -> Result<InvocationResponse, PredictError> {
        Err(PredictError::BadRow { row: 0, message: "not implemented".into() })
    }
}
