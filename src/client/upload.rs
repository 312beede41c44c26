//! A file goes like any message, through the outbox: it waits there (the file itself in
//! IndexedDB, `client::idb`) until connected, then is uploaded by the `upload` server
//! function, with its progress shown and a cancel; only then does its message go over
//! the socket, carrying the upload's id. The upload's id comes from the message's cid,
//! so an upload cut off and sent again, or a message sent twice, makes one message.

use leptos::prelude::*;

use crate::client::outbox::Queued;
use crate::client::persist;
use crate::client::state::Chat;
use crate::protocol::{human_size, AppError, Attachment, MAX_FILE_BYTES};

/// Queues `file` as a message in `room`, `caption` its text; or says why not.
pub fn attach(chat: Chat, room: &str, caption: String, file: web_sys::File) -> Result<(), String> {
    let name = file.name();
    if file.size() > MAX_FILE_BYTES as f64 {
        return Err(format!(
            "{name} is too large to send: at most {} a file.",
            human_size(MAX_FILE_BYTES)
        ));
    }
    let item = crate::client::live::new_item(chat, room, caption, Some(name));
    let cid = item.cid.clone();
    // Kept first, then queued: a reload finds the message only with its file.
    wasm_bindgen_futures::spawn_local(async move {
        MEMORY.with(|m| m.borrow_mut().push((cid.clone(), file.clone())));
        crate::client::idb::keep(&cid, &file).await;
        crate::client::live::queue(chat, item);
    });
    Ok(())
}

thread_local! {
    /// Files of this page's messages, in case IndexedDB would not keep them.
    static MEMORY: std::cell::RefCell<Vec<(String, web_sys::File)>> = Default::default();
    /// The message whose file is being uploaded.
    static UPLOADING: std::cell::RefCell<Option<String>> = Default::default();
}

/// The message `cid` no longer needs its file.
pub fn forget(cid: &str) {
    MEMORY.with(|m| m.borrow_mut().retain(|(c, _)| c != cid));
    crate::client::idb::forget(cid);
}

/// Uploads the first file of `me`'s outbox, unless one is under way.
pub fn next(chat: Chat, me: &str) {
    if chat.screen.upload.with_untracked(Option::is_some) {
        return;
    }
    let Some(item) = chat.outbox.with_untracked(|o| o.next_upload(me).cloned()) else {
        return;
    };
    UPLOADING.with(|u| *u.borrow_mut() = Some(item.cid.clone()));
    chat.screen.upload_percent.set(0);
    chat.screen.upload.set(item.file_name.clone());
    crate::api::xhr::on_progress(move |sent, total| {
        let percent = if total > 0.0 { (sent / total * 100.0) as usize } else { 0 };
        chat.screen.upload_percent.set(percent.min(100));
    });
    wasm_bindgen_futures::spawn_local(async move {
        let result = send(&item).await;
        chat.screen.upload.set(None);
        match result {
            Ok(file) => {
                chat.outbox.update(|o| {
                    if let Some(item) = o.uploaded(&item.cid, file.id) {
                        persist::save_queued(item);
                    }
                });
                forget(&item.cid);
                crate::client::live::flush_outbox(chat);
            }
            // No connection, or cancelled: it waits for the next connection.
            Err(AppError::Server(_)) => {}
            Err(why) => chat.outbox.update(|o| {
                if let Some(item) = o.refuse(&item.cid, why.to_string(), false) {
                    persist::save_queued(item);
                }
            }),
        }
    });
}

/// Stops the upload under way and drops its message.
pub fn cancel(chat: Chat) {
    if let Some(cid) = UPLOADING.with(|u| u.borrow_mut().take()) {
        crate::api::xhr::abort();
        chat.remove_from_outbox(&cid);
    }
}

async fn send(item: &Queued) -> Result<Attachment, AppError> {
    let kept = MEMORY.with(|m| m.borrow().iter().find(|(c, _)| *c == item.cid).map(|(_, f)| f.clone()));
    let file = match kept {
        Some(file) => Some(file),
        None => crate::client::idb::file(&item.cid).await,
    };
    let file = file.ok_or_else(|| AppError::Invalid("The file is no longer in this browser.".into()))?;
    let form = web_sys::FormData::new().map_err(|_| AppError::Invalid("No form.".into()))?;
    let _ = form.append_with_str("room", &item.room);
    let _ = form.append_with_str("cid", &item.cid);
    let _ = form.append_with_blob_and_filename("file", &file, &file.name());
    crate::api::files::upload(form.into()).await
}
