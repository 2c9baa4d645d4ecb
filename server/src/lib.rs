//! The Oxbook server: notebooks in SQLite, a model registry, prediction endpoints served
//! by the native kernel, the dataset store, a guarded URL fetch for the page, the built
//! page, and the headless `oxbook run` runner.
//!
//! [`app`] builds the whole HTTP application from an [`AppState`]; `main.rs` only parses
//! the command line and calls into [`serve`] or [`runner`].

pub mod api;
pub mod artifacts;
pub mod cli;
pub mod datasets;
pub mod error;
pub mod fetch;
pub mod render;
pub mod runner;
pub mod seed;
pub mod serve;
pub mod store;
pub mod web;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::artifacts::ArtifactCache;
use crate::datasets::{DatasetObjects, DatasetsConfig};
use crate::fetch::FetchConfig;
use crate::store::Store;

pub use crate::error::AppError;

/// Request body limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Notebook saves, endpoint specs and invocations.
    pub default: usize,
    /// Model artifact uploads, which carry whole fitted models.
    pub model_upload: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            default: 32 * 1024 * 1024,
            model_upload: 64 * 1024 * 1024,
        }
    }
}

/// Settings the routes read.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Served under `/static/`; holds the demo notebook and its data.
    pub static_dir: PathBuf,
    /// The built page (trunk's `dist`), served at `/` with the SPA fallback.
    pub frontend_dir: PathBuf,
    pub limits: BodyLimits,
    /// How many parsed model artifacts to keep in memory.
    pub artifact_cache_capacity: usize,
    /// Where dataset bytes go, and the upload limits.
    pub datasets: DatasetsConfig,
    /// Limits and address rules of `GET /api/fetch`.
    pub fetch: FetchConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            static_dir: PathBuf::from("static"),
            frontend_dir: PathBuf::from("frontend/dist"),
            limits: BodyLimits::default(),
            artifact_cache_capacity: 64,
            datasets: DatasetsConfig::default(),
            fetch: FetchConfig::default(),
        }
    }
}

/// Everything a handler may need; cheap to clone (all shared).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Where dataset bytes live (the metadata is in `store`).
    pub datasets: DatasetObjects,
    pub artifacts: Arc<ArtifactCache>,
    pub config: Arc<AppConfig>,
}

impl AppState {
    pub fn new(store: Store, datasets: DatasetObjects, config: AppConfig) -> Self {
        AppState {
            store,
            datasets,
            artifacts: Arc::new(ArtifactCache::new(config.artifact_cache_capacity)),
            config: Arc::new(config),
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    Router::new()
        .merge(api::ping_router())
        .nest("/api", api::router(&config.limits))
        .nest(
            "/endpoints",
            api::invocations::router(config.limits.default),
        )
        .nest_service("/static", web::static_service(&config.static_dir))
        .fallback_service(web::frontend_service(&config.frontend_dir))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
