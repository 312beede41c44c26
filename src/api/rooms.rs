//! Rooms: listing them, and joining or leaving one with a tab's live connection.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, JoinedRoom, RoomInfo, Seq};

#[cfg(feature = "ssr")]
use crate::server::http::request as web;

/// Every room this browser's person may see (public rooms, and the private rooms and
/// conversations they are in), with how many are online in each and how far they have
/// read each.
#[server(endpoint = "list_rooms", input = Json)]
pub async fn list_rooms() -> Result<Vec<RoomInfo>, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            match web::current_session().await? {
                Some(session) => {
                    let registered = session.record.account_id.is_some();
                    state
                        .hub
                        .room_list(&session.record.user_id, registered)
                        .await
                }
                // Nobody yet: the public rooms.
                None => state.hub.room_list("", false).await,
            }
        }
        .await,
    )
}

/// Subscribes the WebSocket `conn` (the token its `welcome` gave) to `room`, leaving
/// `leave` first. Returns the room's newest messages — or, with `after`, only those after
/// that seq — and who is online. Live events continue on the socket from there.
#[server(endpoint = "join_room", input = Json)]
pub async fn join_room(
    conn: String,
    room: String,
    leave: Option<String>,
    after: Option<Seq>,
) -> Result<JoinedRoom, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            state.hub.join(&conn, &room, leave.as_deref(), after).await
        }
        .await,
    )
}

/// Creates a room titled `title` (its address is made from the title) about `topic`;
/// a `private` one only its members see, and its maker invites them.
#[server(endpoint = "create_room", input = Json)]
pub async fn create_room(
    conn: String,
    title: String,
    topic: String,
    #[server(default)] private: bool,
) -> Result<RoomInfo, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            // Only someone chatting (with a live socket) may add rooms.
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            state
                .hub
                .create_room(&conn.user, &conn.name, &title, &topic, private)
                .await
        }
        .await,
    )
}

/// Unsubscribes the WebSocket `conn` from `room`.
#[server(endpoint = "leave_room", input = Json)]
pub async fn leave_room(conn: String, room: String) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let conn = state.hub.conn(&conn).ok_or(AppError::NotConnected)?;
            state.hub.leave(&conn, &room);
            Ok(())
        }
        .await,
    )
}
