//! The page for a path that names nothing: `/x`, or a room that does not exist.

use leptos::prelude::*;

use crate::ui::title::Title;

/// "No such room", with a 404 status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="No such room · Natter"/>
        <main class="not-found">
            <h1>"No such room"</h1>
            <p>"There is no room at this address. It may have a different name."</p>
            <a class="button" href="/">"Go to a room"</a>
        </main>
    }
}
