//! Files sent with messages: the upload. The page sends a form (`room`, `cid`, then the
//! `file`) through our own client (`api::xhr`, for its progress); the message that
//! carries the file goes over the socket afterwards, with the answer's id.

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

use crate::protocol::{AppError, Attachment};

/// Stores the form's `file` for a message (`cid`) of the sender's in `room`. The type is
/// read from the bytes, images are re-encoded; within the size limit, the sender's rate
/// and quota. The same `cid` sent again (an upload cut off, then retried) answers the
/// first upload's file, so a message never carries two.
#[server(
    endpoint = "upload",
    input = MultipartFormData,
    client = crate::api::xhr::XhrClient
)]
pub async fn upload(data: MultipartData) -> Result<Attachment, AppError> {
    crate::server::http::status::answer(crate::server::files::upload::receive(data).await)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::server_fn::ServerFn;

    #[test]
    fn the_upload_is_where_the_body_limit_lets_it_through() {
        assert_eq!(super::Upload::PATH, crate::protocol::UPLOAD_PATH);
    }
}
