//! A file sent with a message: what the page needs to show it and the server to serve it.

use serde::{Deserialize, Serialize};

/// Largest file, by default (the server's `--max-file-bytes` may say otherwise).
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// Where the `upload` server function is (`api::files`): the one request body allowed
/// past 64 KiB (`server::http::guard::body_limit`).
pub const UPLOAD_PATH: &str = "/api/upload";

/// A thumbnail fits in a square this many pixels a side.
pub const THUMB_SIDE: u32 = 320;

/// How a file is shown: the kind is the server's, from the file's bytes. On the wire a
/// plain string (an unknown one is a file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    /// PNG, JPEG, GIF or WebP, re-encoded by the server: a thumbnail at `/files/<id>/thumb`.
    Image,
    /// MP4 or WebM, as sent: plays inline.
    Video,
    /// Anything else: downloaded, never shown inline.
    #[default]
    File,
}

impl From<String> for AttachmentKind {
    fn from(kind: String) -> Self {
        match kind.as_str() {
            "image" => AttachmentKind::Image,
            "video" => AttachmentKind::Video,
            _ => AttachmentKind::File,
        }
    }
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Video => "video",
            AttachmentKind::File => "file",
        }
    }
}

/// An uploaded file, as a message carries it. On the wire (and in the database) an array
/// of its fields in order: serde's reader of an array is a fraction of a struct's in the
/// front end (docs/wasm-size.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Wire", into = "Wire")]
pub struct Attachment {
    /// The upload's id (hex): `/files/<id>` serves it to whoever may read the room.
    pub id: String,
    /// The name it was sent under (a name only, no folders).
    pub name: String,
    /// The type sniffed from its bytes (never the name's or the sender's claim).
    pub mime: String,
    /// Bytes, as served.
    pub size: u64,
    pub kind: AttachmentKind,
    /// An image's size in pixels, upright (0 otherwise).
    pub width: u32,
    pub height: u32,
}

/// `[id, name, mime, size, kind, width, height]`.
type Wire = (String, String, String, u64, String, u32, u32);

impl From<Wire> for Attachment {
    fn from((id, name, mime, size, kind, width, height): Wire) -> Self {
        let kind = kind.into();
        Attachment {
            id,
            name,
            mime,
            size,
            kind,
            width,
            height,
        }
    }
}

impl From<Attachment> for Wire {
    fn from(a: Attachment) -> Self {
        let kind = a.kind.as_str().to_owned();
        (a.id, a.name, a.mime, a.size, kind, a.width, a.height)
    }
}

impl Attachment {
    /// Where the file is served.
    pub fn url(&self) -> String {
        format!("/files/{}", self.id)
    }

    /// Where an image's thumbnail is served.
    pub fn thumb_url(&self) -> String {
        format!("/files/{}/thumb", self.id)
    }
}

/// A size for people, in units of 1024 as file managers count: "812 B", "4.2 KB",
/// "25.0 MB".
///
/// Whole numbers only: formatting an `f64` would bring float printing into the WASM
/// (docs/wasm-size.md).
pub fn human_size(bytes: u64) -> String {
    const K: u64 = 1024;
    if bytes < K {
        return format!("{bytes} B");
    }
    let (per, unit) = if bytes < K * K {
        (K, "KB")
    } else if bytes < K * K * K {
        (K * K, "MB")
    } else {
        (K * K * K, "GB")
    };
    // u64 arithmetic (u128 division is a library routine in the WASM): exact below
    // 1.8 EB.
    let tenths = (bytes.saturating_mul(10) + per / 2) / per;
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

/// Whether `id` looks like an upload id (32 hex digits), before anything is looked up.
pub fn is_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(4_300), "4.2 KB");
        assert_eq!(human_size(MAX_FILE_BYTES), "25.0 MB");
    }

    #[test]
    fn upload_ids_are_lowercase_hex() {
        assert!(is_upload_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_upload_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_upload_id("../../etc/passwd"));
    }
}
