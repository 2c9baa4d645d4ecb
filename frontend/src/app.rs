//! The page's shell: navigation and routes. The server answers unknown paths with
//! `index.html`, so these paths can be loaded directly.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::screens::datasets::DatasetsPage;
use crate::screens::editor::EditorPage;
use crate::screens::models::ModelsPage;
use crate::screens::notebook_list::NotebookList;
use crate::screens::runs::RunsPage;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <nav class="topbar">
                <a class="brand" href="/">
                    "Oxbook"
                </a>
                <a href="/">"Notebooks"</a>
                <a href="/datasets">"Datasets"</a>
                <a href="/runs" id="nav-runs">
                    "Runs"
                </a>
                <a href="/models">"Models & endpoints"</a>
            </nav>
            <main>
                <Routes fallback=|| view! { <p class="not-found">"There is no page here."</p> }>
                    <Route path=path!("/") view=NotebookList />
                    <Route path=path!("/notebooks/:id") view=EditorPage />
                    <Route path=path!("/datasets") view=DatasetsPage />
                    <Route path=path!("/runs") view=RunsPage />
                    <Route path=path!("/models") view=ModelsPage />
                </Routes>
            </main>
        </Router>
    }
}
