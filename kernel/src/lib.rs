//! Oxbook's kernel: bytes and text in, values and diagnostics out. No I/O, no panics on
//! user input. The Rust API (frames, models, artifacts) knows nothing of Rhai; the Rhai
//! binding lives in [`session`] alone.

// The unit tests marked to run in wasm32 too (the storage and the CSV scanner, whose word
// tricks and 32-bit offsets differ there) run in a browser, as the kernel does.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

pub mod artifact;
pub mod column;
pub mod datetime;
pub mod explore;
pub mod expr;
pub mod frame;
pub mod load;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod recipe;
pub mod rng;
pub mod session;
pub mod split;
pub mod transform;
pub mod validation;

pub use artifact::{
    ArtifactError, ClassLabel, ClassPredictions, FeatureSpec, ModelArtifact, PredictError,
    Predictions, ARTIFACT_FORMAT_VERSION,
};
pub use column::{Bitmap, Strings, StringsBuilder, Values};
pub use expr::{Expr, ExprError, Lit};
pub use frame::{Column, ColumnData, CompareOp, DType, Frame, FrameError, Scalar};
pub use load::{
    load, parse_csv, Diagnostic, Format, Header, LoadError, LoadOptions, Loaded, Loader,
};
pub use metrics::{accuracy, confusion_matrix, evaluate, ConfusionMatrix, Evaluation, MetricError};
pub use model::{
    fit, fit_monitored, target_labels, target_values, FitProgress, FittedModel,
    LogisticRegressionSettings, ModelError, RandomForestSettings, Settings, Task,
};
pub use plot::{box_plot, corr_heatmap, histogram, scatter, PlotError};
pub use recipe::{Recipe, Step};
pub use session::{Limits, Session};
pub use split::{
    split_indices, stratified_split_indices, stratified_train_test_split, train_test_split,
    SplitError, SplitIndices,
};
pub use transform::TransformError;

/// The runner of users' algorithms written in `language` (`"rhai"`), within the limits
/// cells have by default; `None` for a language this kernel cannot run. This is how the
/// model layer, which knows no script language, runs a script model read from an
/// artifact: it names the language, and the session module's runner does the rest.
pub fn script_runner(language: &str) -> Option<std::sync::Arc<dyn model::ScriptRunner>> {
    match language {
        model::script::RHAI => Some(std::sync::Arc::new(session::RhaiRunner::new(
            Limits::default(),
        ))),
        _ => None,
    }
}
