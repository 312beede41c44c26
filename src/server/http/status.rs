//! HTTP statuses for server function errors: the browser and API clients can tell "you
//! made a mistake" and "slow down" from "the server broke".

use axum::http::StatusCode;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::protocol::AppError;

pub fn of(err: &AppError) -> StatusCode {
    match err {
        AppError::NoSuchRoom(_) => StatusCode::NOT_FOUND,
        AppError::BadName(_) | AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NameTaken(_) | AppError::NameRegistered(_) | AppError::RoomExists(_) => {
            StatusCode::CONFLICT
        }
        AppError::WrongPassword | AppError::SignedOut | AppError::NotConnected => {
            StatusCode::UNAUTHORIZED
        }
        AppError::NotRegistered => StatusCode::FORBIDDEN,
        AppError::RateLimited | AppError::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Passes `result` through, setting the response's status from its error.
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let (Err(err), Some(response)) = (&result, use_context::<ResponseOptions>()) {
        response.set_status(of(err));
    }
    result
}
