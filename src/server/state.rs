//! What every handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::protocol::AppError;
use crate::server::auth::Auth;
use crate::server::chat::hub::Hub;
use crate::server::config::ConnectionLimits;
use crate::server::http::pwa::Release;
use crate::server::push::Push;
use crate::server::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: Arc<Hub>,
    pub auth: Arc<Auth>,
    pub limits: ConnectionLimits,
    /// The front end this server hands out, and its service worker.
    pub release: Arc<Release>,
    /// Web Push: subscriptions, and notices sent in the background.
    pub push: Arc<Push>,
    /// What handlers read directly (link cards' thumbnails).
    pub store: Arc<dyn Store>,
    /// Whose `X-Forwarded-For` is believed.
    pub proxies: crate::server::http::proxy::TrustedProxies,
    /// Files sent with messages: their limits, records and bytes.
    pub files: Arc<crate::server::files::Files>,
}

impl FromRef<AppState> for crate::server::http::proxy::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.proxies.clone()
    }
}

/// What the front end's handlers need of it (`http::pwa`).
impl FromRef<AppState> for Arc<Release> {
    fn from_ref(state: &AppState) -> Self {
        state.release.clone()
    }
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
