//! A file goes like any message, through the outbox: it waits there (the file itself in
//! IndexedDB, `client::idb`) until connected, then is uploaded by the `upload` server
//! function, with its progress shown and a cancel; only then does its message go over
//! the socket, carrying the upload's id. The upload's id comes from the message's cid,
//! so an upload cut off and sent again, or a message sent twice, makes one message.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;

use crate::client::outbox::Queued;
use crate::client::persist;
use crate::client::state::Chat;
use crate::protocol::{AppError, Attachment};

// Files come from the picker, a paste or a drop anywhere on the page: one listener each,
// in JS, all handing the file to one closure (each Rust event handler or closure type is
// code of its own in the WASM). A paste into another field is left to it.
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = "export function listen(take) {
  addEventListener('dragover', e => e.preventDefault());
  addEventListener('drop', e => { e.preventDefault(); const f = e.dataTransfer?.files[0]; if (f) take(f); });
  addEventListener('paste', e => {
    const f = e.clipboardData?.files[0], t = e.target;
    if (f && (t.id === 'message' || !t.closest('input,textarea'))) { e.preventDefault(); take(f); }
  });
  addEventListener('change', e => {
    const t = e.target;
    if (t.id === 'file-picker') { const f = t.files[0]; t.value = ''; if (f) take(f); }
  });
}")]
extern "C" {
    fn listen(take: &Closure<dyn Fn(web_sys::File)>);
}

/// What takes a file given to the page.
pub type Take = Box<dyn Fn(web_sys::File)>;

thread_local! {
    /// Who takes a file given to the page: the open room's composer, if any.
    static TAKE: std::cell::RefCell<Option<Take>> = Default::default();
}

/// Listens, for the page's life, for files given to it (`live::start`).
pub fn start() {
    let take = Closure::<dyn Fn(web_sys::File)>::new(|file| {
        TAKE.with(|t| t.borrow().as_ref().map(|take| take(file)));
    });
    listen(&take);
    take.forget();
}

/// From now on a file given to the page goes to `take`; `None`: nowhere.
pub fn on_file(take: Option<Take>) {
    TAKE.with(|t| *t.borrow_mut() = take);
}

/// Uploads the first file of `me`'s outbox, unless one is under way; once uploaded,
/// `flush` sends what may go (`live::flush_outbox`).
pub fn next(chat: Chat, me: &str, flush: fn(Chat)) {
    if chat.screen.upload.with_untracked(Option::is_some) {
        return;
    }
    let Some(item) = chat.outbox.with_untracked(|o| o.next_upload(me).cloned()) else {
        return;
    };
    chat.screen.upload.set(item.file_name.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let result = send(&item).await;
        let sent = result.is_ok();
        chat.screen.upload.set(None);
        chat.outbox.update(|o| {
            let changed = match result {
                Ok(file) => o.uploaded(&item.cid, file.id),
                // No connection, or cancelled: it waits for the next connection.
                Err(AppError::Server(_)) => None,
                Err(why) => o.refuse(&item.cid, why.to_string(), false),
            };
            if let Some(item) = changed {
                persist::save_queued(item);
            }
        });
        // Its message may go now. (Not after a failure: that would try again at once.)
        if sent {
            flush(chat);
        }
    });
}

/// Stops the upload under way and drops its message.
pub fn cancel(chat: Chat) {
    let me = chat.account.name().unwrap_or_default();
    if let Some(cid) = chat
        .outbox
        .with_untracked(|o| o.next_upload(&me).map(|q| q.cid.clone()))
    {
        crate::api::xhr::abort();
        chat.remove_from_outbox(&cid);
    }
}

async fn send(item: &Queued) -> Result<Attachment, AppError> {
    let gone = || AppError::Invalid("The file is no longer in this browser.".into());
    let file = crate::client::idb::file(&item.cid).await.ok_or_else(gone)?;
    let form = web_sys::FormData::new().map_err(|_| gone())?;
    let _ = form.append_with_str("room", &item.room);
    let _ = form.append_with_str("cid", &item.cid);
    let _ = form.append_with_blob_and_filename("file", &file, &file.name());
    let uploaded = crate::api::files::upload(form.into()).await;
    if uploaded.is_ok() {
        crate::client::idb::forget(&item.cid);
    }
    uploaded
}
