//! The message box. Enter sends, Shift+Enter starts a new line.

use leptos::prelude::*;

use crate::client::state::use_chat;
use crate::client::typing::{now_ms, TypingSender};
use crate::protocol::{normalize_text, MAX_MESSAGE_CHARS};

/// Show the character count once a message gets this close to the limit.
const COUNT_FROM: usize = MAX_MESSAGE_CHARS - 500;

#[component]
pub fn Composer(room: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let text = RwSignal::new(String::new());
    let chars = Memo::new(move |_| text.with(|t| t.chars().count()));
    let problem = move || {
        let n = chars.get();
        (n > MAX_MESSAGE_CHARS)
            .then(|| format!("{n} / {MAX_MESSAGE_CHARS} characters: too long to send"))
    };
    let can_send = move || text.with(|t| normalize_text(t).is_ok());
    // Typing the draft tells the room, at most once per 3 s; sending does not.
    let typing = StoredValue::new(TypingSender::default());
    let typed = move |draft: &str| {
        if typing.try_update_value(|t| t.due(draft, now_ms())) == Some(true) {
            #[cfg(feature = "hydrate")]
            crate::client::live::send_typing(chat, &room.get_untracked());
        }
    };

    let send = move || {
        let Ok(message) = text.with_untracked(|t| normalize_text(t).map(str::to_owned)) else {
            return;
        };
        #[cfg(feature = "hydrate")]
        crate::client::live::send_message(chat, &room.get_untracked(), message);
        #[cfg(not(feature = "hydrate"))]
        let _ = (message, chat);
        text.set(String::new());
    };

    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <label for="message" class="visually-hidden">{move || format!("Message #{}", room.get())}</label>
            <textarea
                id="message"
                name="message"
                rows="1"
                autocomplete="off"
                enterkeyhint="send"
                placeholder=move || format!("Message #{}", room.get())
                prop:value=move || text.get()
                on:input=move |ev| {
                    let draft = event_target_value(&ev);
                    typed(&draft);
                    text.set(draft);
                }
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button type="submit" class="send" disabled=move || !can_send() aria-label="Send">
                <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor"/>
                </svg>
            </button>
        </form>
        <p class="composer-note" role="status">
            {move || {
                problem()
                    .or_else(|| {
                        let n = chars.get();
                        (n > COUNT_FROM).then(|| format!("{n} / {MAX_MESSAGE_CHARS}"))
                    })
                    .unwrap_or_default()
            }}
        </p>
    }
}
