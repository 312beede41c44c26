//! Search: every room and conversation the caller may read, newest first.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, SearchHit};

/// Answers at most this many messages.
pub const MAX_HITS: u32 = 30;

/// Messages with every word of `query` (stemmed, accents and case ignored), newest first;
/// `from:name` and `in:room` narrow it. Only rooms the caller may read are searched: the
/// store filters in the query itself.
#[server(endpoint = "search", input = Json)]
pub async fn search(query: String) -> Result<Vec<SearchHit>, AppError> {
    crate::server::http::status::answer(
        async move {
            use crate::server::store::SearchQuery;
            let state = crate::server::state::app_state()?;
            let session = crate::server::http::request::current_session().await?;
            let user = session.as_ref().map_or("", |s| s.record.user_id.as_str());
            // The admins' views: the report queue and the audit log.
            match query.trim() {
                "is:reported" => return state.hub.report_queue(user, MAX_HITS).await,
                "is:audit" => return state.hub.audit_log(user, MAX_HITS).await,
                _ => {}
            }
            let parsed = SearchQuery::parse(&query).map_err(|why| AppError::Invalid(why.into()))?;
            state
                .store
                .search(user, &parsed, MAX_HITS)
                .await
                .map_err(AppError::server)
        }
        .await,
    )
}
