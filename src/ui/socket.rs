//! The browser's WebSocket, its events sent down a channel (feature `hydrate` only).
//!
//! Written against `web_sys` rather than taken from gloo-net: its `Sink`/`Stream` socket,
//! message and error types cost more WASM than these few callbacks.

use futures::channel::mpsc::UnboundedSender;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// What a socket tells its owner.
pub enum SocketEvent {
    /// A text frame (binary ones are ignored: the server sends none).
    Text(String),
    /// The connection failed, or never opened.
    Failed,
    /// The connection closed.
    Closed { code: u16, reason: String },
}

/// An open (or opening) socket; dropping it closes the socket and stops its events.
pub struct Socket {
    ws: WebSocket,
    _handlers: [Closure<dyn FnMut(Event)>; 3],
}

impl Socket {
    /// Opens a socket to `url` whose events go to `events`, each wrapped by `wrap`.
    pub fn open<T: 'static>(
        url: &str,
        events: &UnboundedSender<T>,
        wrap: fn(SocketEvent) -> T,
    ) -> Option<Socket> {
        let ws = WebSocket::new(url).ok()?;
        let handler = |read: fn(Event) -> Option<SocketEvent>| {
            let events = events.clone();
            Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                if let Some(event) = read(event) {
                    let _ = events.unbounded_send(wrap(event));
                }
            })
        };
        let handlers = [
            handler(|event| {
                let data = event.unchecked_into::<MessageEvent>().data();
                data.as_string().map(SocketEvent::Text)
            }),
            handler(|_| Some(SocketEvent::Failed)),
            handler(|event| {
                let close = event.unchecked_into::<CloseEvent>();
                Some(SocketEvent::Closed {
                    code: close.code(),
                    reason: close.reason(),
                })
            }),
        ];
        ws.set_onmessage(Some(handlers[0].as_ref().unchecked_ref()));
        ws.set_onerror(Some(handlers[1].as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers[2].as_ref().unchecked_ref()));
        Some(Socket {
            ws,
            _handlers: handlers,
        })
    }

    /// The browser's handle, for sending.
    pub fn handle(&self) -> WebSocket {
        self.ws.clone()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The handlers go with `self`: the browser must not call them afterwards.
        self.ws.set_onmessage(None);
        self.ws.set_onerror(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Sends `text` if the socket is open. Frames sent while it is still opening are dropped:
/// the outbox sends again what was not confirmed, and the welcome that follows the
/// opening answers a ping as well as a pong would.
pub fn send(ws: &WebSocket, text: &str) {
    if ws.ready_state() == WebSocket::OPEN {
        let _ = ws.send_with_str(text);
    }
}
