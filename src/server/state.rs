//! What every handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use super::auth::Auth;
use super::connection::ConnectionLimits;
use super::hub::Hub;
use super::pwa::Release;
use crate::protocol::AppError;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: Arc<Hub>,
    pub auth: Arc<Auth>,
    pub limits: ConnectionLimits,
    /// The front end this server hands out, and its service worker.
    pub release: Arc<Release>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, from inside a server function (leptos_axum provides it as context).
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::Server("application state missing".into()))
}
