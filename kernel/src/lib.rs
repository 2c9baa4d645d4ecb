//! Oxbook's kernel: bytes and text in, values and diagnostics out. No I/O, no panics on
//! user input. The Rust API (frames, models, artifacts) knows nothing of Rhai; the Rhai
//! binding lives in [`session`] alone.

pub mod artifact;
pub mod csv_load;
pub mod frame;
pub mod plot;
pub mod session;

pub use artifact::ModelArtifact;
pub use csv_load::{parse_csv, LoadError};
pub use frame::{Column, ColumnData, CompareOp, DType, Frame, FrameError, Scalar};
pub use plot::PlotError;
pub use session::Session;
