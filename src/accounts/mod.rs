//! Accounts: for now, guest usernames held while their owner is online.

use leptos::prelude::*;

use crate::protocol::AppError;

/// Checks that `name` is valid and not held by another online user; returns it trimmed.
/// The WebSocket `hello` checks again, so this is advice for the form, not a reservation.
#[server(endpoint = "check_name")]
pub async fn check_name(user: String, name: String) -> Result<String, AppError> {
    let state = crate::server::state::app_state()?;
    state.hub.check_name(&user, &name)
}
