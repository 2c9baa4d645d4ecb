//! `oxbook serve`: open the database, seed the demo, listen, and shut down gracefully.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::datasets::{DatasetObjects, DatasetStoreError, DatasetStoreLocation, DatasetsConfig};
use crate::fetch::FetchConfig;
use crate::seed::{seed_demo, seed_demo_dataset, DatasetSeedOutcome, SeedOutcome};
use crate::store::{DatabaseLocation, Store, StoreError};
use crate::{app, AppConfig, AppState};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    DatasetStore(#[from] DatasetStoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

impl ServeArgs {
    pub fn database_location(&self) -> DatabaseLocation {
        match &self.database_url {
            Some(url) => DatabaseLocation::Url(url.clone()),
            None => DatabaseLocation::DataDir(self.data_dir.clone()),
        }
    }

    pub fn app_config(&self) -> AppConfig {
        let dataset_store = self
            .dataset_store
            .clone()
            .unwrap_or_else(|| DatasetStoreLocation::Local(self.data_dir.join("datasets")));
        AppConfig {
            static_dir: self.static_dir.clone(),
            frontend_dir: self.frontend_dir.clone(),
            datasets: DatasetsConfig {
                location: dataset_store,
                max_upload_bytes: self.dataset_max_bytes,
                ..DatasetsConfig::default()
            },
            fetch: FetchConfig {
                max_bytes: self.fetch_max_bytes,
                timeout: Duration::from_secs(self.fetch_timeout_secs),
                allow_loopback: self.fetch_allow_loopback,
            },
            ..AppConfig::default()
        }
    }
}

/// Opens the database and the dataset store, and seeds the demo notebook and dataset.
/// A broken demo file is logged, not fatal: the server is useful without it.
pub async fn open_state(
    location: &DatabaseLocation,
    config: AppConfig,
) -> Result<AppState, ServeError> {
    let store = Store::open(location).await?;
    let datasets = DatasetObjects::open(&config.datasets.location)?;
    match seed_demo(&store, &config.static_dir).await {
        Ok(SeedOutcome::Inserted { id }) => tracing::info!(%id, "added the demo notebook"),
        Ok(SeedOutcome::AlreadyPresent { .. } | SeedOutcome::NoDemo) => {}
        Err(e) => tracing::warn!(error = %e, "the demo notebook was not added"),
    }
    match seed_demo_dataset(&store, &datasets, &config.datasets, &config.static_dir).await {
        Ok(DatasetSeedOutcome::Inserted(info)) => {
            tracing::info!(dataset = %info.name, "added the demo dataset")
        }
        Ok(DatasetSeedOutcome::AlreadyPresent | DatasetSeedOutcome::NoDemo) => {}
        Err(e) => tracing::warn!(error = %e, "the demo dataset was not added"),
    }
    if config.fetch.allow_loopback {
        tracing::warn!(
            "--fetch-allow-loopback is on: /api/fetch can reach this machine's loopback \
             services; this is for tests only"
        );
    }
    tracing::info!(store = %datasets.description(), "dataset store");
    if !config.frontend_dir.join("index.html").exists() {
        tracing::warn!(
            dir = %config.frontend_dir.display(),
            "no built page found; / shows how to build it (the API works regardless)"
        );
    }
    Ok(AppState::new(store, datasets, config))
}

pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let state = open_state(&args.database_location(), args.app_config()).await?;
    let store = state.store.clone();
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!("Oxbook is listening on http://{addr}");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
    store.close().await;
    tracing::info!("Oxbook stopped");
    Ok(())
}

/// Resolves on ctrl-c or (on Unix) SIGTERM, letting in-flight requests finish.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
