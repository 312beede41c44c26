//! Offers shown above the messages: a new version to reload into, and notifications.

use leptos::prelude::*;

use crate::client::state::Screen;

/// "A new version is ready": the service worker installed a newer build.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let screen = expect_context::<Screen>();
    let reload = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::pwa::apply_update();
    };
    view! {
        {move || {
            screen.update_ready.get().then(|| {
                view! {
                    <div class="banner" role="status">
                        <span>"A new version of Natter is ready."</span>
                        <button class="banner-action" on:click=reload>"Reload"</button>
                    </div>
                }
                .into_any()
            })
        }}
    }
}

/// After the user's first message: would they like to hear about replies while away?
#[component]
pub fn NotifyOffer() -> impl IntoView {
    let screen = expect_context::<Screen>();
    let answered = RwSignal::new(false);
    let show = Memo::new(move |_| {
        if !screen.has_sent.get() || answered.get() {
            return false;
        }
        #[cfg(feature = "hydrate")]
        return crate::client::notify::worth_asking();
        #[cfg(not(feature = "hydrate"))]
        false
    });
    #[cfg(feature = "hydrate")]
    let chat = crate::client::state::use_chat();
    let turn_on = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::notify::ask(chat);
        answered.set(true);
    };
    let not_now = move |_| {
        crate::client::persist::decline_notifications();
        answered.set(true);
    };
    view! {
        {move || {
            show.get().then(|| {
                view! {
                    <div class="banner" role="status">
                        <span>"Notify you of new messages while you are away?"</span>
                        <button class="banner-action" on:click=turn_on>"Turn on"</button>
                        <button class="banner-action quiet" on:click=not_now>"Not now"</button>
                    </div>
                }
                .into_any()
            })
        }}
    }
}
