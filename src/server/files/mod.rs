//! Files sent with messages: images, videos and anything else.
//!
//! - [`upload`]: the `upload` server function's form (`api::files`), for a room the
//!   sender may write in; within the size limit, the sender's rate and quota; one upload
//!   per message (its id comes from the message's cid).
//! - [`sniff`]: what a file is, from its bytes.
//! - [`images`]: images decoded with limits, turned upright and written again without
//!   metadata, with a thumbnail.
//! - [`store`]: where the bytes live (a folder beside the database), by content hash.
//! - [`serve`]: `GET /files/<id>` and `/files/<id>/thumb`, to who may read its room,
//!   checked on every request.
//!
//! A message carries a file by its upload id (`ClientFrame::Send`'s `file`): the
//! sender's connection checks it was uploaded by them to that room ([`Files::attachment`])
//! and the stored message holds its [`Attachment`].

pub mod images;
pub mod serve;
pub mod sniff;
pub mod store;
pub mod upload;

use std::sync::Arc;

use crate::protocol::Attachment;
use crate::server::rate_limit::keyed::KeyedLimiter;
use crate::server::rate_limit::Rate;
use crate::server::store::{Store, StoreResult};
use store::FileStore;

/// The limits on uploads (flags).
#[derive(Clone, Copy, Debug)]
pub struct FileLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Uploads per user: a burst, refilled at a rate.
    pub rate: Rate,
    /// Bytes one user may upload in a day.
    pub quota_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_bytes: crate::protocol::MAX_FILE_BYTES,
            rate: Rate {
                per_second: 1.0 / 6.0,
                burst: 20.0,
            },
            quota_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Everything uploads and downloads share.
pub struct Files {
    pub blobs: Arc<dyn FileStore>,
    pub db: Arc<dyn Store>,
    pub limits: FileLimits,
    uploads: KeyedLimiter<String>,
    /// Images decoded at once: each may take [`images::MAX_ALLOC`] of memory.
    decoding: tokio::sync::Semaphore,
}

impl Files {
    pub fn new(blobs: Arc<dyn FileStore>, db: Arc<dyn Store>, limits: FileLimits) -> Self {
        Files {
            blobs,
            db,
            limits,
            uploads: KeyedLimiter::new(limits.rate),
            decoding: tokio::sync::Semaphore::new(2),
        }
    }

    /// The file `id` as a message of `user`'s in room `room_id` may carry it: uploaded
    /// by them, to that room. `None` for anything else.
    pub async fn attachment(
        &self,
        id: &str,
        user: &str,
        room_id: i64,
    ) -> StoreResult<Option<Attachment>> {
        if !crate::protocol::is_upload_id(id) {
            return Ok(None);
        }
        Ok(self
            .db
            .file(id)
            .await?
            .filter(|(record, _)| record.uploader == user && record.room_id == room_id)
            .map(|(record, _)| record.file))
    }
}
