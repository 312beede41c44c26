//! Moderation from the page: reporting a message. Moderators act with slash commands in
//! the composer (`server::chat::commands`); admins read the report queue and the audit
//! log through `search` (`is:reported`, `is:audit`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, Seq};

/// Reports the message `seq` of `room` to the server's admins. Anyone who may read the
/// room may report; once each.
#[server(endpoint = "report", input = Json)]
pub async fn report_message(room: String, seq: Seq) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let session = crate::server::http::request::current_session()
                .await?
                .ok_or(AppError::SignedOut)?;
            state.hub.report(&session.record.user_id, &room, seq).await
        }
        .await,
    )
}
