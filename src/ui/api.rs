//! The server functions as the page calls them: on the server, the functions themselves;
//! in the browser, a `fetch` of our own rather than server_fn's client, whose request
//! builder, query-string serializer and streams cost more WASM than these few lines.
//!
//! The requests are what server_fn's would be: a `POST` of the arguments, URL-encoded, to
//! `/api/<endpoint>`, answered in JSON; on an error status the body is the [`AppError`].

#[cfg(not(feature = "hydrate"))]
pub use crate::{
    accounts::{change_password, enter_as_guest, log_in, log_out, register, who_am_i},
    messages::history,
    rooms::{create_room, join_room, leave_room, list_rooms},
};
#[cfg(feature = "hydrate")]
pub use light::*;

/// A form body, as server_fn's `PostUrl` decodes it: `None` leaves the field out.
pub fn form(fields: &[(&str, Option<&str>)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        let Some(value) = value else { continue };
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(name);
        body.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                body.push(b as char);
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                body.push('%');
                body.push(HEX[usize::from(b >> 4)] as char);
                body.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    body
}

#[cfg(feature = "hydrate")]
mod light {
    use send_wrapper::SendWrapper;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{AbortController, Headers, RequestInit, Response};

    use super::form;
    use crate::protocol::{AppError, HistoryPage, JoinedRoom, Me, RoomInfo, Seq};

    pub async fn who_am_i() -> Result<Option<Me>, AppError> {
        call("me", &[]).await
    }

    pub async fn enter_as_guest(name: String) -> Result<Me, AppError> {
        call("enter_as_guest", &[("name", Some(&name))]).await
    }

    pub async fn register(name: String, password: String) -> Result<Me, AppError> {
        call(
            "register",
            &[("name", Some(&name)), ("password", Some(&password))],
        )
        .await
    }

    pub async fn log_in(name: String, password: String) -> Result<Me, AppError> {
        call(
            "log_in",
            &[("name", Some(&name)), ("password", Some(&password))],
        )
        .await
    }

    pub async fn log_out() -> Result<(), AppError> {
        call("log_out", &[]).await
    }

    pub async fn change_password(old: String, new: String) -> Result<Me, AppError> {
        call(
            "change_password",
            &[("old", Some(&old)), ("new", Some(&new))],
        )
        .await
    }

    pub async fn list_rooms() -> Result<Vec<RoomInfo>, AppError> {
        call("list_rooms", &[]).await
    }

    pub async fn join_room(
        conn: String,
        room: String,
        leave: Option<String>,
        after: Option<Seq>,
    ) -> Result<JoinedRoom, AppError> {
        let after = after.map(|seq| seq.to_string());
        let fields = [
            ("conn", Some(conn.as_str())),
            ("room", Some(&room)),
            ("leave", leave.as_deref()),
            ("after", after.as_deref()),
        ];
        call("join_room", &fields).await
    }

    pub async fn create_room(
        conn: String,
        title: String,
        topic: String,
    ) -> Result<RoomInfo, AppError> {
        let fields = [
            ("conn", Some(conn.as_str())),
            ("title", Some(&title)),
            ("topic", Some(&topic)),
        ];
        call("create_room", &fields).await
    }

    pub async fn leave_room(conn: String, room: String) -> Result<(), AppError> {
        call(
            "leave_room",
            &[("conn", Some(&conn)), ("room", Some(&room))],
        )
        .await
    }

    pub async fn history(room: String, before: Seq) -> Result<HistoryPage, AppError> {
        let before = before.to_string();
        call(
            "history",
            &[("room", Some(&room)), ("before", Some(&before))],
        )
        .await
    }

    /// Calls `endpoint` with `fields`; the answer, or the error the server gave.
    async fn call<T: DeserializeOwned>(
        endpoint: &str,
        fields: &[(&str, Option<&str>)],
    ) -> Result<T, AppError> {
        let (ok, body) = post(endpoint, form(fields)).await?;
        let answer = if ok {
            serde_json::from_slice(&body).map(Ok)
        } else {
            serde_json::from_slice(&body).map(Err)
        };
        answer.unwrap_or_else(|err| Err(failed(DECODING, err.to_string())))
    }

    // server_fn's words for a call that got no answer, or one it could not read.
    const REACHING: &str = "reaching server to call server function";
    const DECODING: &str = "deserializing server function results";

    fn failed(what: &str, err: String) -> AppError {
        AppError::Server(format!("error {what}: {err}"))
    }

    /// POSTs `body` to the endpoint: whether the status was not an error one, and the
    /// body. Resources need `Send` futures; the page has one thread, so the wrapper is safe.
    fn post(
        endpoint: &str,
        body: String,
    ) -> impl std::future::Future<Output = Result<(bool, Vec<u8>), AppError>> + Send {
        let url = format!("/api/{endpoint}");
        SendWrapper::new(async move {
            let js = |what| {
                move |err: JsValue| {
                    failed(
                        what,
                        err.unchecked_into::<js_sys::Error>().to_string().into(),
                    )
                }
            };
            let headers = Headers::new().map_err(js(REACHING))?;
            let content = "application/x-www-form-urlencoded";
            headers.set("Content-Type", content).map_err(js(REACHING))?;
            headers
                .set("Accept", "application/json")
                .map_err(js(REACHING))?;
            let init = RequestInit::new();
            init.set_method("POST");
            init.set_headers(&headers);
            init.set_body(&body.into());
            // A call given up on (its future dropped) is cancelled, as server_fn's are.
            let mut abort = AbortOnDrop(AbortController::new().ok());
            if let Some(ctrl) = &abort.0 {
                init.set_signal(Some(&ctrl.signal()));
            }
            let window = web_sys::window().expect("a window");
            let response: Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
                .await
                .map_err(js(REACHING))?
                .unchecked_into();
            abort.0 = None;
            let ok = !(400..=599).contains(&response.status());
            let buffer = response.array_buffer().map_err(js(DECODING))?;
            let buffer = JsFuture::from(buffer).await.map_err(js(DECODING))?;
            Ok((ok, js_sys::Uint8Array::new(&buffer).to_vec()))
        })
    }

    struct AbortOnDrop(Option<AbortController>);

    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            if let Some(ctrl) = &self.0 {
                ctrl.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn forms_escape_all_but_unreserved_bytes_and_leave_nones_out() {
        let fields = [
            ("a", Some("x y&z=1+2%")),
            ("b", None),
            ("c", Some("Zoë~._-")),
        ];
        assert_eq!(
            super::form(&fields),
            "a=x%20y%26z%3D1%2B2%25&c=Zo%C3%AB~._-"
        );
        assert_eq!(super::form(&[("a", None), ("b", Some(""))]), "b=");
    }
}
