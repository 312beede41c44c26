//! Accounts: guest names, registering a name, logging in and out, changing the password.
//!
//! Each call that signs someone in answers with a session cookie (see
//! `server::auth::session`); the page then (re)connects its WebSocket, which the same
//! cookie authorises.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{AppError, Me};

#[cfg(feature = "ssr")]
use crate::server::http::request as web;

/// Who this browser is signed in as, if anyone.
#[server(endpoint = "me", input = Json)]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    crate::server::http::status::answer(
        async move {
            let hub = &crate::server::state::app_state()?.hub;
            Ok(web::current_session().await?.map(|s| s.me(hub)))
        }
        .await,
    )
}

/// Checks that `name` is valid and free (not registered, not online under someone else);
/// returns it trimmed. Advice for the form: signing in checks again.
#[server(endpoint = "check_name", input = Json)]
pub async fn check_name(name: String) -> Result<String, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let session = web::current_session().await?;
            let user = session
                .as_ref()
                .map(|s| s.record.user_id.as_str())
                .unwrap_or("");
            let name = state.hub.check_name(user, &name)?;
            if state.auth.registered_to_other(&name, user).await? {
                return Err(AppError::NameRegistered(name));
            }
            Ok(name)
        }
        .await,
    )
}

/// Chats as a guest under `name` (or renames the guest this browser is).
#[server(endpoint = "enter_as_guest", input = Json)]
pub async fn enter_as_guest(name: String) -> Result<Me, AppError> {
    let signed_in = web::sign_in(async |c| {
        let current = c.session.as_ref();
        c.state
            .auth
            .start_guest(&c.state.hub, &name, current, c.addr)
            .await
    });
    crate::server::http::status::answer(signed_in.await)
}

/// Registers `name` with `password` and signs in. A guest may register the name they use.
#[server(endpoint = "register", input = Json)]
pub async fn register(name: String, password: String) -> Result<Me, AppError> {
    let signed_in = web::sign_in(async |c| {
        let current = c.session.as_ref();
        let hub = &c.state.hub;
        c.state
            .auth
            .register(hub, &name, password, current, c.addr)
            .await
    });
    crate::server::http::status::answer(signed_in.await)
}

/// Deletes the caller's account, after its password once more: sessions, settings and
/// name go; its messages are removed (each an event of its room), or kept signed
/// "deleted user", as `remove_messages` says.
#[server(endpoint = "delete_account", input = Json)]
pub async fn delete_account(password: String, remove_messages: bool) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let session = web::current_session().await?.ok_or(AppError::SignedOut)?;
            let addr = web::client_addr().await;
            state
                .auth
                .confirm_password(&session, password, addr)
                .await?;
            let line = crate::server::store::moderation::AuditEntry {
                at_ms: crate::server::clock::now_ms(),
                actor: session.record.name.clone(),
                action: "delete account".into(),
                target: String::new(),
                room: String::new(),
                detail: String::new(),
            };
            state
                .hub
                .forget(&session.record.user_id, remove_messages, line)
                .await
                .map(drop)
        }
        .await,
    )
}

#[server(endpoint = "log_in", input = Json)]
pub async fn log_in(name: String, password: String) -> Result<Me, AppError> {
    let signed_in = web::sign_in(async |c| {
        let current = c.session.as_ref();
        c.state.auth.log_in(&name, password, current, c.addr).await
    });
    crate::server::http::status::answer(signed_in.await)
}

/// Ends this browser's session; its open tabs are disconnected. `everywhere`: every
/// session of the account ends, on every device, and all their tabs are disconnected
/// (for a lost phone, or a shared computer left signed in).
#[server(endpoint = "log_out", input = Json)]
pub async fn log_out(#[server(default)] everywhere: bool) -> Result<(), AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            if let Some(session) = web::current_session().await? {
                let account = everywhere.then_some(session.record.account_id).flatten();
                state.auth.log_out(&session, account).await?;
                state.hub.sign_out(&session.key, account);
            }
            web::clear_cookie().await;
            Ok(())
        }
        .await,
    )
}

/// Changes the account's password. Every session of the account ends (other devices
/// must log in again); this browser gets a fresh one.
#[server(endpoint = "change_password", input = Json)]
pub async fn change_password(old: String, new: String) -> Result<Me, AppError> {
    crate::server::http::status::answer(
        async move {
            let state = crate::server::state::app_state()?;
            let current = web::current_session().await?.ok_or(AppError::SignedOut)?;
            let addr = web::client_addr().await;
            let fresh = state.auth.change_password(&current, old, new, addr).await?;
            state.hub.sign_out(&current.key, current.record.account_id);
            web::set_cookie(&fresh).await;
            Ok(fresh.session.me(&state.hub))
        }
        .await,
    )
}
