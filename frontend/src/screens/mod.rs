//! One module per screen of the page.

pub mod data_panel;
pub mod datasets;
pub mod editor;
pub mod models;
pub mod notebook_list;
pub mod runs;
