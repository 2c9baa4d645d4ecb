//! The Oxbook page: a leptos (client-side rendered) app that lists, edits, runs and saves
//! notebooks, and shows the model registry. Computation happens in the kernel worker
//! (`src/bin/kernel_worker.rs`); this library only speaks `oxbook_protocol` types to it, so
//! the page's wasm does not contain the kernel.
//!
//! Layout: [`api`] is the only module that talks to the server, [`kernel_bridge`] the only
//! one that talks to the worker; [`loading`] is how the worker streams a file or URL into
//! the kernel's loader; [`runner`] schedules cells on the kernel and carries out
//! the effects cells ask for; [`screens`] holds one module per screen; [`outputs`] and
//! [`markdown`] render what cells produce.

pub mod api;
pub mod app;
pub mod kernel_bridge;
pub mod loading;
pub mod markdown;
pub mod outputs;
pub mod runner;
pub mod screens;
pub mod worker_wire;

/// Where trunk puts the kernel worker's loader script (trunk names worker files after the
/// cargo binary, without a content hash, so that the page can name them at run time).
/// Absolute, because the page itself is served under paths such as `/notebooks/{id}`.
pub const KERNEL_WORKER_URL: &str = "/kernel-worker_loader.js";
