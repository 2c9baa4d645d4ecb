//! `/`: the notebooks on the server, with create, open and delete.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use oxbook_protocol::NotebookSummary;

use crate::api;

#[component]
pub fn NotebookList() -> impl IntoView {
    let notebooks = LocalResource::new(api::list_notebooks);
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();

    let create = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_notebook("Untitled notebook").await {
                Ok(id) => navigate(&format!("/notebooks/{id}"), Default::default()),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    let delete = move |id: String| {
        spawn_local(async move {
            match api::delete_notebook(&id).await {
                Ok(()) => notebooks.refetch(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <section class="notebook-list">
            <header class="screen-header">
                <h1>"Notebooks"</h1>
                <button id="new-notebook" on:click=create>
                    "New notebook"
                </button>
            </header>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match notebooks.get() {
                None => view! { <p class="loading">"Loading notebooks…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="empty">"No notebooks yet. Create one to start."</p> }.into_any()
                }
                Some(Ok(list)) => {
                    view! {
                        <ul class="notebooks">
                            {list.into_iter().map(|nb| view! { <NotebookRow notebook=nb on_delete=delete /> }).collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn NotebookRow(
    notebook: NotebookSummary,
    on_delete: impl Fn(String) + Copy + Send + 'static,
) -> impl IntoView {
    let NotebookSummary {
        id,
        title,
        revision,
        updated_at,
    } = notebook;
    let title = if title.trim().is_empty() {
        "Untitled".to_string()
    } else {
        title
    };
    let href = format!("/notebooks/{}", js_sys::encode_uri_component(&id));
    let delete_id = id.clone();
    view! {
        <li class="notebook-item" data-notebook-id=id>
            <a class="notebook-link" href=href>
                {title}
            </a>
            <span class="notebook-meta">{format!("revision {revision} · updated {updated_at}")}</span>
            <button class="delete-notebook" on:click=move |_| on_delete(delete_id.clone())>
                "Delete"
            </button>
        </li>
    }
}
