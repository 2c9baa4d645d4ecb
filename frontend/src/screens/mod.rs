//! One module per screen of the page.

pub mod editor;
pub mod models;
pub mod notebook_list;
