//! People: conversations, a private room's members, and how much to hear of a room.
//!
//! Each call names the caller's live socket (`conn`, from its `welcome`), as joining a
//! room does: only someone chatting can open conversations or invite people. A private
//! room or conversation the caller is not in answers "no such room", like a missing one.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, MemberChange, MemberInfo, NotifyLevel, RoomInfo};

/// Opens the conversation between the caller and the people called `names` (1–7 of
/// them), making it the first time: one set of people has one conversation.
#[server(endpoint = "open_conversation", input = Json)]
pub async fn open_conversation(conn: String, names: Vec<String>) -> Result<RoomInfo, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            if names.len() > crate::protocol::MAX_CONVERSATION {
                return Err(AppError::Invalid(format!(
                    "A conversation holds at most {} people.",
                    crate::protocol::MAX_CONVERSATION
                )));
            }
            state
                .hub
                .open_conversation(&conn.user, &conn.name, &names)
                .await
        }
        .await,
    )
}

/// The members of a private room or conversation the caller is in.
#[server(endpoint = "room_members", input = Json)]
pub async fn room_members(conn: String, room: String) -> Result<Vec<MemberInfo>, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            state.hub.members(&conn.user, &room)
        }
        .await,
    )
}

/// A change to a private room's members: its owner invites or removes someone, a
/// member leaves. Answers the members after the change (none for one who left).
#[server(endpoint = "change_members", input = Json)]
pub async fn change_members(
    conn: String,
    room: String,
    change: MemberChange,
) -> Result<Vec<MemberInfo>, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            let hub = &state.hub;
            match change {
                MemberChange::Invite(name) => {
                    hub.invite(&conn.user, &room, &name).await?;
                }
                MemberChange::Remove(name) => hub.remove_member(&conn.user, &room, &name).await?,
                MemberChange::Leave => {
                    hub.quit(&conn.user, &room).await?;
                    return Ok(Vec::new());
                }
            }
            hub.members(&conn.user, &room)
        }
        .await,
    )
}

/// How much the caller wants to hear of `room`: everything, mentions only, or nothing.
#[server(endpoint = "set_notify", input = Json)]
pub async fn set_notify(conn: String, room: String, level: NotifyLevel) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            state.hub.set_notify(&conn.user, &room, level).await
        }
        .await,
    )
}
