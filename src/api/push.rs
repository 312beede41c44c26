//! Web Push: the page asks for the server's VAPID key, subscribes the browser with its
//! push manager, and hands the subscription over here; the server then tells this user
//! about messages while Natter is closed (`server::push`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::AppError;

#[cfg(feature = "ssr")]
use crate::server::http::request as web;

/// The server's VAPID public key (base64url): the push manager's
/// `applicationServerKey`.
#[server(endpoint = "push_key", input = Json)]
pub async fn push_key() -> Result<String, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            Ok(state.push.public_key().to_owned())
        }
        .await,
    )
}

/// Keeps this browser's push subscription for the signed-in user. `endpoint` must be
/// https; `p256dh` and `auth` are the subscription's keys, base64url. Bad input is
/// refused with a reason and nothing is stored.
#[server(endpoint = "push_subscribe", input = Json)]
pub async fn push_subscribe(
    endpoint: String,
    p256dh: String,
    auth: String,
) -> Result<(), AppError> {
    for_signed_in(async |push, user_id| push.subscribe(user_id, &endpoint, &p256dh, &auth).await)
        .await
}

/// Forgets this browser's push subscription (the user turned notifications off).
#[server(endpoint = "push_unsubscribe", input = Json)]
pub async fn push_unsubscribe(endpoint: String) -> Result<(), AppError> {
    for_signed_in(async |push, user_id| push.unsubscribe(user_id, &endpoint).await).await
}

/// Runs `what` for the signed-in user (their user id); nobody signed in is an error.
#[cfg(feature = "ssr")]
async fn for_signed_in(
    what: impl AsyncFnOnce(&crate::server::push::Push, &str) -> Result<(), AppError>,
) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let session = web::current_session().await?.ok_or(AppError::SignedOut)?;
            what(&state.push, &session.record.user_id).await
        }
        .await,
    )
}
