//! The room list with online counts (and a form for a new room), who is in the open room,
//! and who you are. A column on desktop, a drawer on phones.

use leptos::prelude::*;

use crate::client::state::{use_chat, Account, Dialog, OpenRoom, Rooms};
use crate::protocol::{normalize_room, RoomInfo, RoomKind, MAX_ROOM_TITLE_CHARS, MAX_TOPIC_CHARS};
use crate::ui::people::{kind_icon, MessageButton, NewConversationForm};

/// "#general", or a conversation's people.
fn chat_label(slug: String) -> String {
    use_chat().room_label(&slug)
}

#[component]
pub fn Sidebar(current: Memo<String>) -> impl IntoView {
    let account = expect_context::<Account>();
    let room = expect_context::<OpenRoom>();
    let rooms = expect_context::<Rooms>();
    let me = move || account.name().unwrap_or_default();
    let adding = RwSignal::new(false);
    let starting = RwSignal::new(false);
    let listed = move |direct: bool| {
        let mut list: Vec<RoomInfo> = rooms.list.with(|list| {
            list.iter()
                .filter(|r| (r.kind == RoomKind::Direct) == direct)
                .cloned()
                .collect()
        });
        if direct {
            // Newest first, as a messenger lists conversations.
            list.sort_by_key(|r| std::cmp::Reverse(r.active_ms));
        }
        list.into_iter()
            .map(|room| view! { <RoomLink room current/> })
            .collect::<Vec<_>>()
    };
    view! {
        <aside class="sidebar" id="sidebar" aria-label="Rooms and people">
            <div class="brand-row">
                <a class="brand" href="/">"Natter"</a>
                <InstallButton/>
            </div>
            <nav class="rooms" aria-label="Rooms">
                {section_title("Rooms", "New room", adding)}
                {move || adding.get().then(|| view! { <NewRoomForm adding/> })}
                // A plain list, redrawn in place (see `ui` on why not `<For>`).
                <ul>{move || listed(false)}</ul>
            </nav>
            <nav class="rooms conversations" aria-label="Conversations">
                {section_title("Conversations", "New conversation", starting)}
                {move || starting.get().then(|| view! { <NewConversationForm open=starting/> })}
                <ul>{move || listed(true)}</ul>
            </nav>
            <section class="people" aria-labelledby="people-title">
                <h2 id="people-title">
                    "Online in " {move || chat_label(current.get())}
                    <span class="count">{move || room.online.with(Vec::len)}</span>
                </h2>
                <ul class="online-list">
                    {move || {
                        let me = me();
                        room.online
                            .get()
                            .into_iter()
                            .map(|name| {
                                let is_me = me == name;
                                let message = (!is_me).then(|| view! { <MessageButton name=name.clone()/> }.into_any());
                                view! {
                                    <li class:me=is_me>
                                        <span class="dot" aria-hidden="true"></span>
                                        <span class="person">{name}</span>
                                        {message}
                                    </li>
                                }
                                .into_any()
                            })
                            .collect::<Vec<_>>()
                    }}
                </ul>
            </section>
            <WhoAmI/>
        </aside>
    }
}

/// A list's heading with its "+" (`label`), which opens and closes the form under it.
fn section_title(title: &'static str, label: &'static str, open: RwSignal<bool>) -> AnyView {
    view! {
        <div class="section-title">
            <h2>{title}</h2>
            <button
                class="icon-button add-room"
                aria-label=label
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|open| *open = !*open)
            >
                "+"
            </button>
        </div>
    }
    .into_any()
}

/// Shown when the browser offers to install Natter as an app.
#[component]
fn InstallButton() -> impl IntoView {
    let chat = use_chat();
    let install = move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::pwa::install(chat);
    };
    view! {
        {move || {
            chat.screen.can_install.get().then(|| {
                view! { <button class="install-button" on:click=install>"Install app"</button> }
                    .into_any()
            })
        }}
    }
}

/// Who you are, and what you can do about it.
#[component]
fn WhoAmI() -> impl IntoView {
    let chat = use_chat();
    let registered = Memo::new(move |_| {
        chat.account
            .me
            .with(|me| me.as_ref().is_some_and(|me| me.registered))
    });
    let open = move |dialog: Dialog| move |_| chat.account.dialog.set(Some(dialog));
    let log_out = move |everywhere: bool| {
        move |_| {
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                match crate::api::accounts::log_out(everywhere).await {
                    Ok(()) => crate::client::live::signed_out(chat),
                    Err(err) => chat.link.alert.set(Some(err.to_string())),
                }
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = everywhere;
        }
    };
    let signed_in = move || chat.account.me.with(Option::is_some);
    view! {
        <div class="whoami" hidden=move || !signed_in()>
            <span>
                "You are "<strong>{move || chat.account.name().unwrap_or_default()}</strong>
                {move || (!registered.get()).then(|| view! { <span class="badge">"guest"</span> }.into_any())}
            </span>
            <div class="account-actions">
                {move || if registered.get() {
                    view! {
                        <button class="link-button" on:click=open(Dialog::ChangePassword)>"Change password"</button>
                        <button class="link-button" on:click=log_out(false)>"Log out"</button>
                        <button class="link-button" on:click=log_out(true)>"Log out everywhere"</button>
                        <button class="link-button danger" on:click=open(Dialog::DeleteAccount)>"Delete account"</button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button class="link-button" on:click=open(Dialog::Guest)>"Change name"</button>
                        <button class="link-button" on:click=open(Dialog::Register)>"Register"</button>
                        <button class="link-button" on:click=open(Dialog::LogIn)>"Log in"</button>
                    }
                    .into_any()
                }}
            </div>
        </div>
    }
}

/// Title and topic of a new room; the room opens once created.
#[component]
fn NewRoomForm(adding: RwSignal<bool>) -> impl IntoView {
    let chat = use_chat();
    let title = RwSignal::new(String::new());
    let topic = RwSignal::new(String::new());
    let private = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Err(why) = normalize_room(&title.get_untracked(), &topic.get_untracked()) {
            return error.set(Some(why));
        }
        let Some(conn) = chat.link.conn.get_untracked() else {
            return error.set(Some("Not connected to the chat server.".into()));
        };
        busy.set(true);
        #[cfg(feature = "hydrate")]
        {
            leptos::task::spawn_local(async move {
                let answer = crate::api::rooms::create_room(
                    conn,
                    title.get_untracked(),
                    topic.get_untracked(),
                    private.get_untracked(),
                )
                .await;
                busy.set(false);
                match answer {
                    Ok(room) => {
                        let slug = room.slug.clone();
                        chat.rooms.add(room);
                        adding.set(false);
                        crate::client::nav::navigate(&format!("/r/{slug}"), false);
                    }
                    Err(err) => error.set(Some(err.to_string())),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (conn, adding);
    };
    view! {
        <form class="new-room" on:submit=submit>
            <label for="room-title">"Name"</label>
            <input
                id="room-title"
                maxlength=MAX_ROOM_TITLE_CHARS * 2
                prop:value=move || title.get()
                on:input=move |ev| { title.set(event_target_value(&ev)); error.set(None); }
            />
            <label for="room-topic">"Topic"</label>
            <input
                id="room-topic"
                maxlength=MAX_TOPIC_CHARS * 2
                prop:value=move || topic.get()
                on:input=move |ev| { topic.set(event_target_value(&ev)); error.set(None); }
            />
            <label class="check">
                <input
                    type="checkbox"
                    name="private"
                    prop:checked=move || private.get()
                    on:change=move |ev| private.set(event_target_checked(&ev))
                />
                "Private: only people you invite see it"
            </label>
            <p class="form-error" role="alert">{move || error.get()}</p>
            <button type="submit" disabled=move || busy.get()>"Create room"</button>
        </form>
    }
}

#[component]
fn RoomLink(room: RoomInfo, current: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let slug = room.slug.clone();
    let here = {
        let slug = slug.clone();
        move || current.get() == slug
    };
    let count = {
        let slug = slug.clone();
        let here = here.clone();
        // Live counts once the socket has sent any; the server-rendered ones before. The
        // open room's come from who is in it (the server sends no counts of a room one is in).
        let initial = room.online;
        move || {
            if here() {
                let people = chat.room.online.with(Vec::len) as u32;
                if people > 0 {
                    return people;
                }
            }
            chat.rooms
                .counts
                .with(|counts| counts.get(&slug).map(|c| c.online))
                .unwrap_or(initial)
        }
    };
    let unread = {
        let slug = slug.clone();
        Signal::derive(move || chat.unread(&slug))
    };
    let mentioned = {
        let slug = slug.clone();
        Signal::derive(move || chat.mentioned(&slug))
    };
    let kind = match room.kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    };
    view! {
        <li>
            <a
                href=format!("/r/{slug}")
                class="room-link"
                class:unseen=move || unread.get() != 0
                data-kind=kind
                aria-current=move || here().then_some("page")
            >
                <span class="hash" aria-hidden="true">{kind_icon(room.kind)}</span>
                <span class="name">{room.title}</span>
                {move || mentioned.get().then(|| view! { <span class="mention-badge" title="You were mentioned">"@"<span class="visually-hidden">" mentioned you"</span></span> }.into_any())}
                {move || {
                    let n = unread.get();
                    (n > 0).then(|| view! { <span class="unread">{n}<span class="visually-hidden">" unread"</span></span> }.into_any())
                }}
                {(kind != "direct").then(|| view! {
                    <span class="count" title="online">
                        {move || count()}<span class="visually-hidden">" online"</span>
                    </span>
                }.into_any())}
            </a>
        </li>
    }
}
