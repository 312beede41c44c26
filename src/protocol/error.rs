//! The errors of server functions: shown to the user as they are, and mapped to an HTTP
//! status by the server (`server::http::status`).

use serde::{Deserialize, Serialize};

/// Errors of server functions, shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("There is no room called “{0}”.")]
    NoSuchRoom(String),
    #[error("{0}")]
    BadName(String),
    #[error("“{0}” is taken by someone online. Pick another name.")]
    NameTaken(String),
    /// The socket the call names is gone (closed, or the server restarted).
    #[error("Not connected to the chat server.")]
    NotConnected,
    #[error("{0}")]
    Invalid(String),
    #[error("Too many requests; slow down.")]
    RateLimited,
    #[error("“{0}” is a registered name. Log in to use it, or pick another.")]
    NameRegistered(String),
    #[error("Wrong name or password.")]
    WrongPassword,
    #[error("Only registered names can do that.")]
    NotRegistered,
    #[error("You are not signed in.")]
    SignedOut,
    #[error("There is a room called “{0}” already.")]
    RoomExists(String),
    #[error("Too many connections from your address; close some tabs.")]
    TooManyConnections,
    /// A file over the size limit, or over the day's quota.
    #[error("{0}")]
    TooLarge(String),
    #[error("The server could not do that: {0}")]
    Server(String),
}

impl AppError {
    /// A failure of the server's own (storage, a lost task), worded as its cause says.
    pub fn server(err: impl std::fmt::Display) -> Self {
        AppError::Server(err.to_string())
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(err: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Server(err.to_string())
    }
}
