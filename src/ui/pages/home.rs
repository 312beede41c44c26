//! `/`: sends the visitor to a room — the one they were in last, or a random one.

use leptos::prelude::*;

use crate::client::json;
use crate::client::offline::rooms_or_cached;

#[component]
pub fn Home() -> impl IntoView {
    let rooms = json::resource(rooms_or_cached, false);

    #[cfg(feature = "hydrate")]
    {
        let chat = crate::client::state::use_chat();
        crate::client::effect(move || {
            let ready = chat.account.me.with(Option::is_some);
            let Some(Ok(list)) = rooms.get() else { return };
            if !ready || list.is_empty() {
                return;
            }
            let slug = crate::client::persist::last_room()
                .filter(|last| list.iter().any(|r| &r.slug == last))
                .unwrap_or_else(|| {
                    let pick = (js_sys::Math::random() * list.len() as f64) as usize;
                    list[pick.min(list.len() - 1)].slug.clone()
                });
            crate::client::nav::navigate(&format!("/r/{slug}"), true);
        });
    }

    view! {
        <main class="home">
            <h1 class="brand">"Natter"</h1>
            <p>"Real-time chat rooms by topic."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = rooms.await.unwrap_or_default();
                    view! {
                        <ul class="home-rooms">
                            {list
                                .into_iter()
                                .map(|r| {
                                    view! {
                                        <li>
                                            <a href=format!("/r/{}", r.slug)>"#" {r.title}</a>
                                            " — "
                                            {r.topic}
                                        </li>
                                    }
                                    .into_any()
                                })
                                .collect::<Vec<_>>()}
                        </ul>
                    }
                    .into_any()
                })}
            </Suspense>
        </main>
    }
}
