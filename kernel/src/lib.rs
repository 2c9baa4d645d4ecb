//! Oxbook's kernel: bytes and text in, values and diagnostics out. No I/O, no panics on
//! user input. The Rust API (frames, models, artifacts) knows nothing of Rhai; the Rhai
//! binding lives in [`session`] alone.

pub mod artifact;
pub mod csv_load;
pub mod datetime;
pub mod frame;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod rng;
pub mod session;
pub mod split;

pub use artifact::{
    ArtifactError, ClassLabel, FeatureSpec, ModelArtifact, PredictError, Predictions,
    ARTIFACT_FORMAT_VERSION,
};
pub use csv_load::{parse_csv, LoadError};
pub use frame::{Column, ColumnData, CompareOp, DType, Frame, FrameError, Scalar};
pub use metrics::{accuracy, confusion_matrix, evaluate, ConfusionMatrix, Evaluation, MetricError};
pub use model::{
    fit, target_labels, FittedModel, LogisticRegressionSettings, ModelError, RandomForestSettings,
    Settings,
};
pub use plot::{histogram, scatter, PlotError};
pub use session::{Limits, Session};
pub use split::{split_indices, train_test_split, SplitError, SplitIndices};
