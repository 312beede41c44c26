//! A file waiting in the outbox, kept in IndexedDB under its message's cid:
//! `localStorage` holds a few MiB of text, not a 25 MiB video. A few lines of JS cost the
//! WASM far less than web_sys's IndexedDB bindings and their callbacks.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "function run(mode, f) {
  return new Promise((ok, no) => {
    const r = indexedDB.open('natter-files', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('files');
    r.onerror = () => no(r.error);
    r.onsuccess = () => {
      const d = r.result, t = d.transaction('files', mode), q = f(t.objectStore('files'));
      t.oncomplete = () => { d.close(); ok(q.result); };
      t.onerror = t.onabort = () => { d.close(); no(t.error); };
    };
  });
}
export function put(k, v) { return run('readwrite', s => s.put(v, k)); }
export function get(k) { return run('readonly', s => s.get(k)); }
export function del(k) { return run('readwrite', s => s.delete(k)); }")]
extern "C" {
    fn put(key: &str, file: &JsValue) -> js_sys::Promise;
    fn get(key: &str) -> js_sys::Promise;
    fn del(key: &str) -> js_sys::Promise;
}

/// Keeps `file` for the message `cid`; whether it is kept (private windows may refuse).
pub async fn keep(cid: &str, file: &web_sys::File) -> bool {
    JsFuture::from(put(cid, file)).await.is_ok()
}

/// The file kept for `cid`, if any.
pub async fn file(cid: &str) -> Option<web_sys::File> {
    let found = JsFuture::from(get(cid)).await.ok()?;
    found.dyn_into().ok()
}

/// The message `cid` no longer needs its file (uploaded, or discarded).
pub fn forget(cid: &str) {
    let done = del(cid);
    wasm_bindgen_futures::spawn_local(async move {
        let _ = JsFuture::from(done).await;
    });
}
