//! `/models`: the model registry and the endpoints serving its models, with each
//! endpoint's prediction URL.

use leptos::prelude::*;
use oxbook_protocol::{EndpointInfo, ModelSummary};

use crate::api;

#[component]
pub fn ModelsPage() -> impl IntoView {
    let models = LocalResource::new(api::list_models);
    let endpoints = LocalResource::new(api::list_endpoints);
    view! {
        <section class="models-page">
            <h1>"Models"</h1>
            {move || match models.get() {
                None => view! { <p class="loading">"Loading models…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="empty">"No models yet: deploy or save one from a notebook."</p> }.into_any()
                }
                Some(Ok(list)) => view! { <ModelsTable models=list /> }.into_any(),
            }}
            <h1>"Endpoints"</h1>
            {move || match endpoints.get() {
                None => view! { <p class="loading">"Loading endpoints…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No endpoints yet."</p> }.into_any(),
                Some(Ok(list)) => view! { <EndpointsTable endpoints=list /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ModelsTable(models: Vec<ModelSummary>) -> impl IntoView {
    let rows = models
        .into_iter()
        .map(|m| {
            let sha = m.id.sha256.chars().take(12).collect::<String>();
            let (name, version) = (m.id.name.clone(), m.id.version.to_string());
            // The server names the file `{name}-v{version}.model.json` (Content-Disposition).
            let artifact = format!("/api/models/{name}/versions/{version}/artifact");
            view! {
                <tr class="model-row" data-model=name data-version=version>
                    <td class="model-name">{m.id.name}</td>
                    <td class="model-version">{m.id.version}</td>
                    <td>{m.algorithm}</td>
                    <td>{m.features.join(", ")}</td>
                    <td>{m.created_at}</td>
                    <td>
                        <code title=m.id.sha256>{sha}</code>
                    </td>
                    <td>
                        <a class="model-download" href=artifact download="">
                            "Download"
                        </a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="models-table" class="registry">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Version"</th>
                    <th>"Algorithm"</th>
                    <th>"Features"</th>
                    <th>"Created"</th>
                    <th>"SHA-256"</th>
                    <th>"Artifact"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn EndpointsTable(endpoints: Vec<EndpointInfo>) -> impl IntoView {
    let origin = api::origin();
    let rows = endpoints
        .into_iter()
        .map(|e| {
            let url = format!("{origin}{}", e.invocations_path);
            let name = e.name.clone();
            view! {
                <tr class="endpoint-row" data-endpoint=name>
                    <td class="endpoint-name">{e.name}</td>
                    <td>{format!("{} v{}", e.model.name, e.model.version)}</td>
                    <td class="prediction-url">
                        <code>{url}</code>
                    </td>
                    <td>{e.updated_at}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="endpoints-table" class="registry">
            <thead>
                <tr>
                    <th>"Endpoint"</th>
                    <th>"Model"</th>
                    <th>"Prediction URL (POST)"</th>
                    <th>"Updated"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
