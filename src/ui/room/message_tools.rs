//! What a reader does to a message in place: reply, react (a few common emoji, or any
//! one typed), pin, and to their own, edit and delete. Each change is a `change` frame to
//! the server (through the outbox); what it makes of it comes back as an `update` event,
//! to every reader alike, this one too. A reply's quote jumps to the message it answers.
//!
//! The buttons are plain markup with a `data-act`; the message list listens once for the
//! clicks, keys and long presses of all its lines ([`on_click`], [`on_key`],
//! [`on_hold`]), rather than with a handler per button per line.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys;

use crate::client::state::Chat;
use crate::protocol::{Edit, Seq};

/// The picker's emoji; any other may be typed.
const COMMON: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/// `data-act` of the edit button; of the delete button. Any other `data-act` is an emoji
/// to react with.
const EDIT: &str = "edit";
const DELETE: &str = "delete";
/// `data-act` of Reply, Pin and Unpin in the menu, and of a reply's quote (whose
/// `data-to` is the seq it jumps to).
const REPLY: &str = "reply";
const PIN: &str = "pin";
const UNPIN: &str = "unpin";
/// `data-act` of Report, on others' messages.
const REPORT: &str = "report";
const JUMP: &str = "jump";
/// `data-act` of the editor's buttons.
const SAVE: &str = "save";
const CANCEL: &str = "cancel";

/// Under a message: each emoji given, with how many gave it, the reader's own marked. A
/// click gives or takes back the reader's; who gave it shows on hover (the title) and on a
/// long press or right click (the room's alert line).
pub fn reactions(reactions: Vec<crate::protocol::Reaction>, chat: Chat) -> Option<AnyView> {
    if reactions.is_empty() {
        return None;
    }
    let buttons = reactions
        .into_iter()
        // Never empty from the server; a malformed one is left out, not a panic.
        .filter(|names| !names.is_empty())
        .map(|mut names| {
            let emoji = names.remove(0);
            let mine = names.iter().any(|name| chat.is_me(name));
            let who = format!("{emoji} {}", names.join(", "));
            let count = names.len();
            let act = emoji.clone();
            view! {
                <button class="reaction" title=who data-act=act aria-pressed=if mine { "true" } else { "false" }>
                    {emoji} " " {count}
                </button>
            }
            .into_any()
        })
        .collect::<Vec<_>>();
    Some(view! { <div class="reactions">{buttons}</div> }.into_any())
}

/// Above a reply: who wrote the message it answers and its first line ("message
/// deleted" once it is); a click brings that message into view.
pub fn quote(reply: crate::protocol::Reply) -> AnyView {
    let line = if reply.line.is_empty() {
        "message deleted".to_owned()
    } else {
        reply.line
    };
    view! {
        <button class="quote" data-act=JUMP data-to=reply.seq title="Show the message this answers">
            <b>{reply.author}</b> " " {line}
        </button>
    }
    .into_any()
}

/// The message's menu (a native `<details>`: opens by tap, click or keyboard with no
/// state of ours): the common emoji, a box for any other, Reply, Pin or Unpin where the
/// reader may pin (`pinned` is then whether it is), Edit and Delete on the reader's own
/// messages; on others', Report, and Remove for the room's moderators. The line is drawn
/// anew once the change is back, which closes it.
pub fn menu(mine: bool, pinned: Option<bool>, moderator: bool) -> AnyView {
    let picks = COMMON
        .into_iter()
        .map(|emoji| {
            view! { <button class="pick" aria-label=format!("React with {emoji}") data-act=emoji>{emoji}</button> }
                .into_any()
        })
        .collect::<Vec<_>>();
    let own = if mine {
        view! {
            <button class="link-button" data-act=EDIT>"Edit"</button>
            <button class="link-button danger" data-act=DELETE>"Delete"</button>
        }
        .into_any()
    } else {
        view! {
            <button class="link-button" data-act=REPORT>"Report"</button>
            {moderator.then(|| view! { <button class="link-button danger" data-act=DELETE>"Remove"</button> })}
        }
        .into_any()
    };
    let pin = pinned.map(|pinned| {
        let (act, label) = if pinned {
            (UNPIN, "Unpin")
        } else {
            (PIN, "Pin")
        };
        view! { <button class="link-button" data-act=act>{label}</button> }
    });
    view! {
        <details class="msg-menu">
            <summary title="Reply, react, pin, edit or delete" aria-label="Message actions">"⋯"</summary>
            <div class="menu">
                {picks}
                <input class="any-emoji" placeholder="any emoji" aria-label="React with any emoji" maxlength="16"/>
                <button class="link-button" data-act=REPLY>"Reply"</button>
                {pin}
                {own}
            </div>
        </details>
    }
    .into_any()
}

/// The reader's own message, being edited in place: Enter or Save sends the new text,
/// Escape or Cancel leaves it as it was (both handled by the list, [`on_click`] and
/// [`on_key`]).
pub fn editor(text: String) -> AnyView {
    view! {
        <form class="edit">
            <textarea aria-label="Edit message">{text}</textarea>
            <button type="button" data-act=SAVE>"Save"</button>
            <button type="button" class="link-button" data-act=CANCEL>"Cancel"</button>
        </form>
    }
    .into_any()
}

/// A click in the message list: on a `data-act` button, what it says, to the message
/// whose line it is in.
pub fn on_click(ev: web_sys::MouseEvent, editing: RwSignal<Option<Seq>>) {
    let Some((button, seq)) = acted_on(&ev, "button[data-act]") else {
        return;
    };
    let room = crate::client::state::use_chat().room;
    close_menu(&button);
    match button
        .get_attribute("data-act")
        .unwrap_or_default()
        .as_str()
    {
        REPLY => {
            room.replying.set(Some(seq));
            crate::ui::room::composer::focus();
        }
        JUMP => room.focus.set(
            button
                .get_attribute("data-to")
                .and_then(|to| to.parse().ok()),
        ),
        PIN => change(seq, Edit::Pin(true)),
        UNPIN => change(seq, Edit::Pin(false)),
        EDIT => editing.set(Some(seq)),
        DELETE => change(seq, Edit::Delete),
        REPORT => report(seq),
        SAVE => save(&button, seq, editing),
        CANCEL => editing.set(None),
        emoji => change(seq, Edit::React(emoji.to_owned())),
    }
}

/// Sends the editor's text (the editor `within` is in), if it changed, and closes it.
fn save(within: &web_sys::Element, seq: Seq, editing: RwSignal<Option<Seq>>) {
    let editor = within
        .closest(".edit")
        .ok()
        .flatten()
        .and_then(|form| form.query_selector("textarea").ok().flatten());
    if let Some(editor) = editor {
        let editor: web_sys::HtmlTextAreaElement = editor.unchecked_into();
        let text = editor.value();
        if text.trim() != editor.default_value().unwrap_or_default().trim() {
            change(seq, Edit::Text(text));
        }
    }
    editing.set(None);
}

/// Enter in a menu's emoji box reacts with what was typed; in the editor, Enter saves
/// (Shift+Enter starts a new line) and Escape leaves the message as it was.
pub fn on_key(ev: web_sys::KeyboardEvent, editing: RwSignal<Option<Seq>>) {
    let key = ev.key();
    if let Some((editor, seq)) = acted_on(&ev, ".edit textarea") {
        match key.as_str() {
            "Enter" if !ev.shift_key() && !ev.is_composing() => {
                ev.prevent_default();
                save(&editor, seq, editing);
            }
            "Escape" => editing.set(None),
            _ => {}
        }
    } else if key == "Enter" {
        if let Some((input, seq)) = acted_on(&ev, ".any-emoji") {
            ev.prevent_default();
            let typed = input.unchecked_into::<web_sys::HtmlInputElement>().value();
            change(seq, Edit::React(typed.trim().to_owned()));
        }
    }
}

/// A long press (or right click) on a reaction says who gave it in the room's alert line:
/// a phone has no hover to show the title.
pub fn on_hold(ev: web_sys::MouseEvent, chat: Chat) {
    if let Some((reaction, _)) = acted_on(&ev, ".reaction") {
        ev.prevent_default();
        chat.link.alert.set(reaction.get_attribute("title"));
    }
}

/// The element matching `selector` that the event happened in, and the seq of the
/// message line around it.
fn acted_on(ev: &web_sys::Event, selector: &str) -> Option<(web_sys::Element, Seq)> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let hit = target.closest(selector).ok()??;
    let seq = hit
        .closest("[data-seq]")
        .ok()??
        .get_attribute("data-seq")?
        .parse()
        .ok()?;
    Some((hit, seq))
}

/// Closes the menu `within` is in, if it is in one (a change made offline does not draw
/// the line anew, which would close it).
fn close_menu(within: &web_sys::Element) {
    if let Some(menu) = within.closest("details").ok().flatten() {
        let _ = menu.remove_attribute("open");
    }
}

/// Reports the message `seq` of the open room to the server's admins, through the
/// outbox like a change (offline too); a refusal replaces this line in the alert.
fn report(seq: Seq) {
    change(seq, Edit::Report);
    crate::client::state::use_chat().link.alert.set(Some(
        "Reported: the server's admins will look at it.".into(),
    ));
}

/// Asks the server to change the message `seq` of the open room.
pub fn change(seq: Seq, edit: Edit) {
    #[cfg(feature = "hydrate")]
    {
        let chat = crate::client::state::use_chat();
        let room = chat.room.timeline.with_untracked(|t| t.room.clone());
        crate::client::live::send_change(chat, &room, seq, edit);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (seq, edit);
}
