//! The page shell and the app around the pages.

use leptos::prelude::*;

use crate::api::accounts::who_am_i;
use crate::client::state::Chat;
use crate::ui::account::AccountDialog;
use crate::ui::routes::Pages;
use crate::ui::title::Title;

/// The HTML document around the app, rendered on the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::{HashedStylesheet, MetaTags};
    crate::server::http::guard::set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                // `resizes-content`: the on-screen keyboard shrinks the page, so the composer
                // stays above it; `viewport-fit=cover` with safe-area padding in the CSS.
                <meta
                    name="viewport"
                    content="width=device-width, initial-scale=1, viewport-fit=cover, interactive-widget=resizes-content"
                />
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="Natter: real-time chat rooms by topic."/>
                <meta name="theme-color" content="#3b5bdb"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // iOS reads these instead of the manifest.
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <meta name="mobile-web-app-capable" content="yes"/>
                <meta name="apple-mobile-web-app-capable" content="yes"/>
                <meta name="apple-mobile-web-app-title" content="Natter"/>
                <meta name="apple-mobile-web-app-status-bar-style" content="default"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Where the server collects `<Title>`s; the browser keeps its own (`ui::title`).
    #[cfg(feature = "ssr")]
    leptos_meta::provide_meta_context();
    let chat = Chat::provide();
    // Asked while rendering on the server, so a newcomer's page arrives with the name
    // form in it rather than showing it once the WASM has loaded; the page reuses the
    // answer.
    let who = crate::client::json::resource(who_am_i, true);
    // The socket lives in the browser only; effects never run on the server.
    #[cfg(feature = "hydrate")]
    {
        let mut started = false;
        crate::client::effect(move || {
            if started || !chat.account.loaded.get() {
                return;
            }
            // For measuring: the page is hydrated and answers input from here on.
            if let Some(performance) = window().performance() {
                let _ = performance.mark("natter:interactive");
            }
            // Unread marks first: the socket's events count against them.
            crate::client::unread::track_reading(chat);
            crate::client::live::start(chat);
            started = true;
        });
    }

    view! {
        <Title text="Natter"/>
        // Before the pages: they render knowing who this is.
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                chat.account.learn_who(who.await);
                view! { <AccountDialog/> }.into_any()
            })}
        </Suspense>
        <Pages/>
    }
}
