//! The message box. Enter sends, Shift+Enter starts a new line. A file goes with the
//! paperclip, a paste or a drop anywhere on the page (`client::upload::on_file`); the
//! text is then its caption.

use leptos::prelude::*;

use crate::client::mentions::{suggestions, typing_mention};
use crate::client::state::use_chat;
use crate::client::typing::{now_ms, TypingSender};
use crate::protocol::{normalize_text, MAX_MESSAGE_CHARS};

/// Names offered after an `@`, at most.
const MAX_OFFERS: usize = 6;
/// Show the character count once a message gets this close to the limit.
const COUNT_FROM: usize = MAX_MESSAGE_CHARS - 500;
/// What the note under the box says when it has nothing else to say: the markdown the
/// server understands.
const FORMAT_HINT: &str = "**bold** _italic_ ~~strike~~ `code` > quote";

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
    let note_typing = move |draft: &str| {
        if typing.try_update_value(|t| t.due(draft, now_ms())) == Some(true) {
            #[cfg(feature = "hydrate")]
            crate::client::live::send_typing(chat, &room.get_untracked());
        }
    };
    // `@` offers the room's members and those online, as the name is typed.
    let picked = RwSignal::new(0usize);
    let offers = Memo::new(move |_| {
        let typed = text.with(|t| typing_mention(t).map(str::to_owned))?;
        let mut names = chat.room.members.get();
        names.extend(chat.room.online.get());
        names.retain(|n| !chat.is_me(n));
        let found = suggestions(&typed, &names, MAX_OFFERS);
        (!found.is_empty()).then_some(found)
    });
    let take = move |name: String| {
        text.update(|t| {
            if let Some(typed) = typing_mention(t) {
                let cut = t.len() - typed.len();
                t.truncate(cut);
                t.push_str(&name);
                t.push(' ');
            }
        });
        picked.set(0);
    };

    // Files: queued like a message with the draft as the caption, uploaded when it may
    // go (`client::upload`); one refused before it left says why in the room's alert.
    #[cfg(feature = "hydrate")]
    let send_file = move |file: web_sys::File| {
        let caption = text.with_untracked(|t| t.trim().to_owned());
        let room = room.get_untracked();
        match crate::client::live::send_file(chat, &room, caption, file) {
            Ok(()) => text.set(String::new()),
            Err(why) => chat.link.alert.set(Some(why)),
        }
    };
    #[cfg(feature = "hydrate")]
    {
        crate::client::upload::on_file(Some(Box::new(send_file)));
        on_cleanup(|| crate::client::upload::on_file(None));
    }

    let upload = chat.screen.upload;

    let replying = chat.room.replying;
    // Slow mode: seconds until the next message may go (the server refuses it sooner).
    let wait = RwSignal::new(0u32);
    let send = move || {
        if wait.get_untracked() > 0 {
            return;
        }
        let Ok(message) = text.with_untracked(|t| normalize_text(t).map(str::to_owned)) else {
            return;
        };
        let slow = chat
            .rooms
            .info(&room.get_untracked(), |r| {
                if r.moderator {
                    0
                } else {
                    r.slow_s
                }
            })
            .unwrap_or(0);
        if slow > 0 && !message.starts_with('/') {
            count_down(wait, slow);
        }
        let reply = replying.get_untracked();
        #[cfg(feature = "hydrate")]
        crate::client::live::send_message(chat, &room.get_untracked(), message, reply);
        #[cfg(not(feature = "hydrate"))]
        let _ = (message, reply);
        replying.set(None);
        text.set(String::new());
    };
    // What the next message answers: its author and text (one line of it shows).
    let answering = move || {
        let seq = replying.get()?;
        chat.room
            .timeline
            .with(|t| t.message(seq).map(|m| (m.author.clone(), m.text.clone())))
    };

    view! {
        {move || offers.get().map(|names| view! {
            <ul class="mention-offers" id="mention-offers" role="listbox" aria-label="People to mention">
                {names.into_iter().enumerate().map(|(i, name)| {
                    let shown = name.clone();
                    view! {
                        <li
                            role="option"
                            aria-selected=move || (picked.get() == i).to_string()
                            on:mousedown=move |ev| { ev.prevent_default(); take(name.clone()); }
                        >
                            "@" {shown}
                        </li>
                    }
                    .into_any()
                }).collect::<Vec<_>>()}
            </ul>
        }.into_any())}
        {move || answering().map(|(author, text)| view! {
            <p class="replying">
                "Replying to " <b>{author}</b> " " <span>{text}</span>
                <button type="button" class="icon-button" aria-label="Cancel the reply" on:click=move |_| replying.set(None)>"✕"</button>
            </p>
        }.into_any())}
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <label for="message" class="visually-hidden">{move || format!("Message {}", chat.room_label(&room.get()))}</label>
            <textarea
                id="message"
                name="message"
                rows="1"
                autocomplete="off"
                enterkeyhint="send"
                placeholder=move || format!("Message {}", chat.room_label(&room.get()))
                prop:value=move || text.get()
                on:input=move |ev| {
                    let draft = event_target_value(&ev);
                    note_typing(&draft);
                    text.set(draft);
                }
                on:keydown=move |ev| {
                    if let Some(offered) = offers.get_untracked() {
                        let n = offered.len();
                        match ev.key().as_str() {
                            "ArrowDown" => { ev.prevent_default(); picked.update(|p| *p = (*p + 1) % n); return; }
                            "ArrowUp" => { ev.prevent_default(); picked.update(|p| *p = (*p + n - 1) % n); return; }
                            "Enter" | "Tab" if !ev.shift_key() => {
                                ev.prevent_default();
                                take(offered[picked.get_untracked().min(n - 1)].clone());
                                return;
                            }
                            _ => {}
                        }
                    }
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    } else if ev.key() == "Escape" {
                        replying.set(None);
                    }
                }
                aria-autocomplete="list"
                aria-controls=move || offers.with(Option::is_some).then_some("mention-offers")
            ></textarea>
            // The file input itself, transparent over the paperclip: a tap, a click or
            // Enter on it opens the picker, with no click handler of ours.
            <label class="attach" title="Send a file">
                <input
                    type="file"
                    id="file-picker"
                    aria-label="Send a file"
                />
                <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z" fill="currentColor"/>
                </svg>
            </label>
            <button type="submit" class="send" disabled=move || { !can_send() || wait.get() > 0 } aria-label="Send">
                <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor"/>
                </svg>
            </button>
        </form>
        // One static block whose parts show and hide: no view made per upload (the
        // front end's budget, docs/wasm-size.md).
        <div class="upload" role="status" hidden=move || upload.with(Option::is_none)>
            <span class="upload-name">{move || upload.get()}</span>
            // Moved by the upload itself (`api::xhr`).
            <progress max="100" value="0" aria-label="Sending the file"></progress>
            <button type="button" class="link-button" on:click=move |_| cancel_upload(chat)>"Cancel"</button>
        </div>
        <p class="composer-note" role="status">
            {move || {
                problem()
                    .or_else(|| {
                        let left = wait.get();
                        (left > 0).then(|| format!("Slow mode: wait {left} s"))
                    })
                    .or_else(|| {
                        let n = chars.get();
                        (n > COUNT_FROM).then(|| format!("{n} / {MAX_MESSAGE_CHARS}"))
                    })
                    .unwrap_or_else(|| FORMAT_HINT.to_owned())
            }}
        </p>
    }
}

/// Counts `wait` down from `seconds` to 0, a second at a time.
fn count_down(wait: RwSignal<u32>, seconds: u32) {
    wait.set(seconds);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        while wait.try_get_untracked().is_some_and(|left| left > 0) {
            gloo_timers::future::sleep(std::time::Duration::from_secs(1)).await;
            wait.try_update(|left| *left = left.saturating_sub(1));
        }
    });
}

/// Puts the cursor in the message box (Reply does, to write the answer).
pub fn focus() {
    #[cfg(feature = "hydrate")]
    if let Some(el) = document().get_element_by_id("message") {
        use leptos::wasm_bindgen::JsCast;
        let _ = el.unchecked_into::<leptos::web_sys::HtmlElement>().focus();
    }
}

fn cancel_upload(_chat: crate::client::state::Chat) {
    #[cfg(feature = "hydrate")]
    crate::client::upload::cancel(_chat);
}
