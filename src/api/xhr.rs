//! The upload's client: server_fn's `Client` through `XMLHttpRequest`, because `fetch`
//! reports no upload progress. The request is server_fn's own (`BrowserRequest`, the
//! multipart body it built); only the sending differs, so the upload stays a
//! `#[server]` function like every other (`api::files::upload`).
//!
//! One upload at a time (the outbox sends files one by one): its progress moves the
//! page's `.upload progress` bar (from JS: no closure, signal or reactive attribute for
//! it in the WASM, docs/wasm-size.md), and [`abort`] stops it.

use std::future::Future;

use leptos::server_fn::client::{browser::BrowserClient, Client};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::request::browser::BrowserRequest;
use leptos::server_fn::response::ClientRes;
use leptos::server_fn::Bytes;

pub struct XhrClient;

/// What the request answered: its status (0 when it never arrived) and its body.
pub struct XhrResponse {
    status: u16,
    body: String,
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    // A few lines of JS cost less WASM than web_sys's XMLHttpRequest bindings and a
    // closure per event. It answers "<status> <body>".
    #[wasm_bindgen(inline_js = "let x;
const bar = (v) => { const p = document.querySelector('.upload progress'); if (p) p.value = v; };
export function post(url, body) {
  return new Promise(done => {
    x = new XMLHttpRequest();
    x.open('POST', url);
    x.setRequestHeader('Accept', 'application/json');
    bar(0);
    x.upload.onprogress = e => e.total && bar(100 * e.loaded / e.total);
    x.onloadend = () => done(x.status + ' ' + x.responseText);
    x.send(body);
  });
}
export function abort() { if (x) x.abort(); }")]
    extern "C" {
        pub fn post(url: &str, body: &JsValue) -> js_sys::Promise;
        pub fn abort();
    }
}

/// Stops the upload under way: it answers status 0.
#[cfg(feature = "hydrate")]
pub fn abort() {
    js::abort();
}

fn failed<E: FromServerFnError>(why: &str) -> E {
    E::from_server_fn_error(ServerFnErrorErr::Request(why.to_owned()))
}

impl<E, IS, OS> Client<E, IS, OS> for XhrClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = XhrResponse;

    #[cfg(feature = "hydrate")]
    fn send(req: BrowserRequest) -> impl Future<Output = Result<XhrResponse, E>> + Send {
        use wasm_bindgen_futures::JsFuture;
        send_wrapper::SendWrapper::new(async move {
            let req = web_sys::Request::from(req);
            // The multipart body server_fn built, read back as the form it came from.
            let form = req.form_data().map_err(|_| failed::<E>("no form"))?;
            let form = JsFuture::from(form)
                .await
                .map_err(|_| failed::<E>("no form"))?;
            let answer = JsFuture::from(js::post(&req.url(), &form)).await;
            let answer = answer.ok().and_then(|a| a.as_string()).unwrap_or_default();
            let (status, body) = answer.split_once(' ').unwrap_or(("0", ""));
            Ok(XhrResponse {
                status: status.parse().unwrap_or(0),
                body: body.to_owned(),
            })
        })
    }

    /// Only the browser sends it.
    #[cfg(not(feature = "hydrate"))]
    async fn send(_: BrowserRequest) -> Result<XhrResponse, E> {
        Err(failed("uploads are sent by the browser"))
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}

impl<E: FromServerFnError> ClientRes<E> for XhrResponse {
    async fn try_into_string(self) -> Result<String, E> {
        // An upload cut off (offline, cancelled) never reached the server.
        if self.status == 0 {
            return Err(failed("no connection"));
        }
        Ok(self.body)
    }

    async fn try_into_bytes(self) -> Result<Bytes, E> {
        Ok(Bytes::from(self.body))
    }

    fn try_into_stream(
        self,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + Sync + 'static, E> {
        Ok(futures::stream::iter([Ok(Bytes::from(self.body))]))
    }

    fn status(&self) -> u16 {
        self.status
    }

    fn status_text(&self) -> String {
        String::new()
    }

    fn location(&self) -> String {
        String::new()
    }

    fn has_redirect(&self) -> bool {
        false
    }
}
