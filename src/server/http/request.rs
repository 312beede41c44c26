//! The HTTP side of the account server functions: reading the session and the client's
//! address from the request, and setting the cookie on the response.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderValue};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::protocol::{AppError, Me};
use crate::server::auth::{session, NewSession, Session};
use crate::server::http::guard::ClientAddr;
use crate::server::state::AppState;

async fn request_headers() -> HeaderMap {
    leptos_axum::extract::<HeaderMap>()
        .await
        .unwrap_or_default()
}

pub async fn current_session() -> Result<Option<Session>, AppError> {
    let state = crate::server::state::app_state()?;
    state.auth.session(&request_headers().await).await
}

pub async fn client_addr() -> IpAddr {
    leptos_axum::extract::<ClientAddr>()
        .await
        .map(|ClientAddr(addr)| addr)
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

pub async fn set_cookie(new: &NewSession) {
    let secure = session::is_https(&request_headers().await);
    append_set_cookie(&session::set_cookie(&new.token, secure));
}

pub async fn clear_cookie() {
    let secure = session::is_https(&request_headers().await);
    append_set_cookie(&session::clear_cookie(secure));
}

fn append_set_cookie(cookie: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(cookie),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Who is asking: what a sign-in needs to know about the request.
pub struct Caller {
    pub state: AppState,
    pub session: Option<Session>,
    pub addr: IpAddr,
}

/// Runs a sign-in (`how` makes the new session) and hands the browser its cookie.
/// Sockets still open under the session it replaced are closed: they would otherwise go
/// on speaking as the old identity.
pub async fn sign_in(
    how: impl AsyncFnOnce(&Caller) -> Result<NewSession, AppError>,
) -> Result<Me, AppError> {
    let caller = Caller {
        state: crate::server::state::app_state()?,
        session: current_session().await?,
        addr: client_addr().await,
    };
    let new = how(&caller).await?;
    if let Some(old) = &caller.session {
        caller.state.hub.sign_out(&old.key, None);
    }
    set_cookie(&new).await;
    Ok(new.session.me(&caller.state.hub))
}
