//! Messages: reading a room's history page by page. (Sending goes over the WebSocket.)

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, HistoryPage, Seq};

/// The page of messages just before `before`, oldest first.
#[server(endpoint = "history", input = Json)]
pub async fn history(room: String, before: Seq) -> Result<HistoryPage, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            state.hub.history(&room, before).await
        }
        .await,
    )
}
