//! The storage seam for uploads: one row per file sent, read on every request for it
//! (who may read it is the room's business, checked each time).

use super::StoreResult;
use crate::protocol::{Attachment, AttachmentKind};

/// One upload, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// What messages and pages know it by (its `Attachment`'s id).
    pub file: Attachment,
    /// Where its bytes are in the file store (their SHA-256, hex).
    pub hash: String,
    /// An image's thumbnail, in the file store.
    pub thumb: Option<String>,
    pub room_id: i64,
    /// The user id of whoever sent it.
    pub uploader: String,
    pub created_ms: i64,
}

pub(super) fn kind_from_str(kind: &str) -> AttachmentKind {
    match kind {
        "image" => AttachmentKind::Image,
        "video" => AttachmentKind::Video,
        _ => AttachmentKind::File,
    }
}

#[async_trait::async_trait]
pub trait FileRecordStore: Send + Sync + 'static {
    async fn add_file(&self, record: &FileRecord) -> StoreResult<()>;

    /// The upload with this id, and the slug of its room.
    async fn file(&self, id: &str) -> StoreResult<Option<(FileRecord, String)>>;

    /// Bytes `user` uploaded since `since_ms`: their quota's use.
    async fn uploaded_since(&self, user: &str, since_ms: i64) -> StoreResult<u64>;
}
