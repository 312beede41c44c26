//! The username form: on the first visit, when the server refuses a name, and on request.

use leptos::prelude::*;

use super::state::use_chat;
use crate::accounts::check_name;
use crate::protocol::{normalize_name, MAX_NAME_CHARS};

#[component]
pub fn NamePrompt() -> impl IntoView {
    let chat = use_chat();
    let open = move || chat.identity_loaded.get() && chat.asking_name.get();
    view! {
        <Show when=open>
            <NameForm/>
        </Show>
    }
}

#[component]
fn NameForm() -> impl IntoView {
    let chat = use_chat();
    let draft = RwSignal::new(chat.name().unwrap_or_default());
    let error = RwSignal::new(chat.name_problem.get_untracked());
    let busy = RwSignal::new(false);
    let has_name = chat.identity.with_untracked(Option::is_some)
        && chat.name_problem.get_untracked().is_none();
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = match normalize_name(&draft.get_untracked()) {
            Ok(name) => name,
            Err(why) => return error.set(Some(why)),
        };
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let user = chat
                .identity
                .get_untracked()
                .map(|i| i.user)
                .unwrap_or_else(super::live::new_id);
            let answer = check_name(user, name).await;
            busy.set(false);
            match answer {
                Ok(name) => super::live::set_name(chat, name),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (name, check_name);
    };

    view! {
        <div class="modal-backdrop">
            <form class="name-form" role="dialog" aria-modal="true" aria-labelledby="name-title" on:submit=submit>
                <h2 id="name-title">{if has_name { "Change your name" } else { "Welcome to Natter" }}</h2>
                <p>"Pick a name the others will see. No sign-up needed."</p>
                <label for="name-input">"Username"</label>
                <input
                    id="name-input"
                    node_ref=input
                    autocomplete="nickname"
                    autocapitalize="off"
                    spellcheck="false"
                    maxlength=MAX_NAME_CHARS * 2
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        error.set(None);
                    }
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby="name-error"
                />
                <p id="name-error" class="form-error" role="alert">{move || error.get()}</p>
                <div class="actions">
                    {has_name.then(|| view! {
                        <button type="button" class="secondary" on:click=move |_| chat.asking_name.set(false)>"Cancel"</button>
                    })}
                    <button type="submit" disabled=move || busy.get()>
                        {if has_name { "Save" } else { "Start chatting" }}
                    </button>
                </div>
            </form>
        </div>
    }
}
