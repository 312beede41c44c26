//! Messages: reading a room's history page by page. (Sending goes over the WebSocket.)

use leptos::prelude::*;

use crate::protocol::{AppError, HistoryPage, Seq};

/// The page of messages just before `before`, oldest first.
#[server(endpoint = "history")]
pub async fn history(room: String, before: Seq) -> Result<HistoryPage, AppError> {
    use crate::protocol::HISTORY_PAGE;
    let state = crate::server::state::app_state()?;
    let record = state
        .hub
        .room(&room)
        .ok_or_else(|| AppError::NoSuchRoom(room.clone()))?
        .record
        .clone();
    state
        .hub
        .store()
        .page_before(record.id, before, HISTORY_PAGE)
        .await
        .map_err(|err| AppError::Server(err.to_string()))
}
