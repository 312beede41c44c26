//! People: "Message" on a name, a new conversation, a private room's members and
//! invitations, and how much to hear of a room.

use leptos::prelude::*;

use crate::client::state::use_chat;
use crate::protocol::{MemberChange, MemberInfo, NotifyLevel, RoomKind};

/// Opens (or finds) the conversation with `names` and goes there; an error goes to
/// `problem`.
pub fn open_conversation(
    names: Vec<String>,
    problem: RwSignal<Option<String>>,
    done: impl Fn() + 'static,
) {
    let chat = use_chat();
    let Some(conn) = chat.link.conn.get_untracked() else {
        return problem.set(Some("Not connected to the chat server.".into()));
    };
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        match crate::api::people::open_conversation(conn, names).await {
            Ok(room) => {
                let slug = room.slug.clone();
                chat.rooms.learn(vec![room]);
                done();
                crate::client::nav::navigate(&format!("/r/{slug}"), false);
            }
            Err(err) => problem.set(Some(err.to_string())),
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (conn, names, done);
}

/// "Message" beside a name: opens the conversation with that person.
#[component]
pub fn MessageButton(name: String) -> impl IntoView {
    let chat = use_chat();
    let label = format!("Message {name}");
    let click = move |_| {
        open_conversation(vec![name.clone()], chat.link.alert, || {});
    };
    view! {
        <button class="link-button message-button" title=label.clone() aria-label=label on:click=click>
            "Message"
        </button>
    }
}

/// Names, comma-separated, of the people to talk to.
#[component]
pub fn NewConversationForm(open: RwSignal<bool>) -> impl IntoView {
    let names = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let wanted: Vec<String> = names.with_untracked(|n| {
            n.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        });
        open_conversation(wanted, problem, move || open.set(false));
    };
    view! {
        <form class="new-room new-conversation" on:submit=submit>
            {names_field("conversation-names", "With (names, comma-separated)", names, problem)}
            <p class="form-error" role="alert">{move || problem.get()}</p>
            <button type="submit">"Start conversation"</button>
        </form>
    }
}

/// A labelled field for people's names; typing clears the last `problem`.
fn names_field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    problem: RwSignal<Option<String>>,
) -> AnyView {
    view! {
        <label for=id>{label}</label>
        <input
            id=id
            autocomplete="off"
            prop:value=move || value.get()
            on:input=move |ev| { value.set(event_target_value(&ev)); problem.set(None); }
        />
    }
    .into_any()
}

/// How much to hear of the open room: everything, mentions, nothing.
#[component]
pub fn NotifySelect(room: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let level = move || {
        chat.rooms
            .list
            .with(|list| {
                list.iter()
                    .find(|r| r.slug == room.get())
                    .map(|r| r.notify_level())
            })
            .unwrap_or(NotifyLevel::Mentions)
    };
    let change = move |ev: leptos::ev::Event| {
        let Some(chosen) = NotifyLevel::parse(&event_target_value(&ev)) else {
            return;
        };
        let slug = room.get_untracked();
        chat.rooms.list.update(|list| {
            if let Some(r) = list.iter_mut().find(|r| r.slug == slug) {
                r.notify = Some(chosen);
            }
        });
        let Some(conn) = chat.link.conn.get_untracked() else {
            return;
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(err) = crate::api::people::set_notify(conn, slug, chosen).await {
                chat.link.alert.set(Some(err.to_string()));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = conn;
    };
    let option = move |value: NotifyLevel, text: &'static str| {
        view! { <option value=value.as_str() selected=move || level() == value>{text}</option> }
    };
    view! {
        <label class="notify-select">
            <span class="notify-label">"Notify"</span>
            <select on:change=change title="Notify me of">
                {option(NotifyLevel::Everything, "All")}
                {option(NotifyLevel::Mentions, "@ only")}
                {option(NotifyLevel::Nothing, "Off")}
            </select>
        </label>
    }
}

/// A private room's or conversation's members; its owner invites and removes people,
/// members may leave a private room.
#[component]
pub fn MembersPanel(room: Memo<String>, kind: RoomKind, owner: bool) -> impl IntoView {
    let chat = use_chat();
    #[cfg(not(feature = "hydrate"))]
    let _ = room;
    let members = RwSignal::new(Vec::<MemberInfo>::new());
    let invitee = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let load = move || {
        let Some(conn) = chat.link.conn.get_untracked() else {
            return;
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::api::people::room_members(conn, room.get_untracked()).await {
                Ok(list) => members.set(list),
                Err(err) => problem.set(Some(err.to_string())),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = conn;
    };
    load();
    // One server function for every change; the answer is the members after it.
    let change = move |change: MemberChange| {
        let Some(conn) = chat.link.conn.get_untracked() else {
            return;
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let slug = room.get_untracked();
            let leaving = change == MemberChange::Leave;
            match crate::api::people::change_members(conn, slug.clone(), change).await {
                Ok(_) if leaving => {
                    chat.rooms
                        .list
                        .update(|list| list.retain(|r| r.slug != slug));
                    crate::client::nav::navigate("/", false);
                }
                Ok(list) => {
                    invitee.set(String::new());
                    members.set(list);
                }
                Err(err) => problem.set(Some(err.to_string())),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (conn, change);
    };
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change(MemberChange::Invite(invitee.get_untracked()));
    };
    let remove = move |name: String| change(MemberChange::Remove(name));
    let leave = move |_| change(MemberChange::Leave);

    let private = kind == RoomKind::Private;
    view! {
        <section class="members-panel" aria-label="Members">
            <h2>"Members"</h2>
            <ul>
                {move || {
                    members
                        .get()
                        .into_iter()
                        .map(|m| {
                            let name = m.name.clone();
                            let can_remove = owner && !m.owner;
                            view! {
                                <li>
                                    <span class="dot" class:offline=!m.online aria-hidden="true"></span>
                                    <span class="person">{m.name.clone()}</span>
                                    {m.owner.then(|| view! { <span class="badge">"owner"</span> }.into_any())}
                                    {can_remove.then(|| {
                                        let label = format!("Remove {name}");
                                        view! {
                                            <button class="link-button" aria-label=label on:click=move |_| remove(name.clone())>"Remove"</button>
                                        }
                                        .into_any()
                                    })}
                                </li>
                            }
                            .into_any()
                        })
                        .collect::<Vec<_>>()
                }}
            </ul>
            {(private && owner).then(|| view! {
                <form class="invite" on:submit=invite>
                    {names_field("invite-name", "Invite by name", invitee, problem)}
                    <button type="submit">"Invite"</button>
                </form>
            }.into_any())}
            {(private && !owner).then(|| view! {
                <button class="link-button leave-room" on:click=leave>"Leave this room"</button>
            }.into_any())}
            <p class="form-error" role="alert">{move || problem.get()}</p>
        </section>
    }
}

/// The sign before a room's name: `#` for a public room, a padlock for a private one,
/// `@` for a conversation.
pub fn kind_icon(kind: RoomKind) -> AnyView {
    match kind {
        RoomKind::Public => "#".into_any(),
        RoomKind::Direct => "@".into_any(),
        RoomKind::Private => view! {
            <svg class="lock" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
                <path d="M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linejoin="round"/>
            </svg>
        }
        .into_any(),
    }
}
