//! Messages: reading a room's history page by page. (Sending goes over the WebSocket.)

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, HistoryPage, Seq};

/// The page of messages just before `before`, oldest first; with `after`, the page just
/// after it (a reader who jumped back reading down again). A private room or
/// conversation answers only its members.
#[server(endpoint = "history", input = Json)]
pub async fn history(
    room: String,
    before: Seq,
    #[server(default)] after: Option<Seq>,
) -> Result<HistoryPage, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let session = crate::server::http::request::current_session().await?;
            let user = session.as_ref().map_or("", |s| s.record.user_id.as_str());
            state.hub.history(user, &room, before, after).await
        }
        .await,
    )
}
