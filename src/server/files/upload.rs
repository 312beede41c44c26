//! The upload (`api::files::upload`): a form of `room`, `cid` and `file`, in that order,
//! the file streamed to a temporary file with the size limit enforced while it arrives.
//! The sender comes from the session cookie and must be allowed into the room; uploads
//! are limited per user (a rate and a daily quota). Answers the [`Attachment`], or an
//! error saying why not. An upload cut off halfway leaves nothing behind.
//!
//! Its id comes from the sender, the room and the message's `cid`: the same message's
//! upload sent again finds the first one, so a retried upload stores (and counts) once.

use std::path::PathBuf;
use std::time::Instant;

use leptos::server_fn::codec::MultipartData;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::images::{self, ImageError};
use super::sniff::{sniff, SNIFF_BYTES};
use super::store::tempfile_in;
use super::Files;
use crate::protocol::{human_size, is_valid_client_id, AppError, Attachment, AttachmentKind};
use crate::server::clock::now_ms;
use crate::server::store::FileRecord;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest text field of the form (a room's slug, a cid).
const MAX_FIELD_BYTES: usize = 256;

fn failed(err: impl std::fmt::Display) -> AppError {
    tracing::warn!("upload failed: {err}");
    AppError::Server("the file could not be stored; try again later".into())
}

fn cut_off(_: multer::Error) -> AppError {
    AppError::Invalid("The upload was cut off.".into())
}

/// Removes its file when dropped, unless it was moved into the store first.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A short text field, read with a cap (multer's own `text()` would read any length).
async fn small_text(mut field: multer::Field<'static>) -> Result<String, AppError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(cut_off)? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_FIELD_BYTES {
            return Err(AppError::Invalid(
                "The upload's form is not Natter's.".into(),
            ));
        }
    }
    String::from_utf8(out)
        .map_err(|_| AppError::Invalid("The upload's form is not Natter's.".into()))
}

pub async fn receive(data: MultipartData) -> Result<Attachment, AppError> {
    let state = crate::server::state::app_state()?;
    let session = crate::server::http::request::current_session()
        .await?
        .ok_or(AppError::SignedOut)?;
    let user = session.record.user_id;
    let files: &Files = &state.files;
    let mut form = data
        .into_inner()
        .ok_or_else(|| AppError::Invalid("No file.".into()))?;
    let (mut slug, mut cid) = (None, None);
    while let Some(field) = form.next_field().await.map_err(cut_off)? {
        match field.name() {
            Some("room") => slug = Some(small_text(field).await?),
            Some("cid") => cid = Some(small_text(field).await?),
            Some("file") => {
                let (Some(slug), Some(cid)) = (slug.take(), cid.take()) else {
                    break;
                };
                if !is_valid_client_id(&cid) {
                    break;
                }
                let room = state.hub.room_for(&user, &slug)?;
                let id = upload_id(&user, room.record.id, &cid);
                // The same message's upload again (the first answer was lost): the
                // first one, not a second.
                if let Some((record, _)) = files.db.file(&id).await.map_err(failed)? {
                    return Ok(record.file);
                }
                let name = clean_name(field.file_name().unwrap_or(""));
                let file = Attachment {
                    id,
                    name,
                    ..Attachment::default()
                };
                return store(files, &user, room.record.id, file, field).await;
            }
            _ => {}
        }
    }
    Err(AppError::Invalid(
        "The upload's form is not Natter's.".into(),
    ))
}

/// The upload's id: 32 hex digits of SHA-256 over who sent it, where, for which message.
fn upload_id(user: &str, room_id: i64, cid: &str) -> String {
    let digest = Sha256::digest(format!("{user}\n{room_id}\n{cid}"));
    hex(&digest[..16])
}

async fn store(
    files: &Files,
    user: &str,
    room_id: i64,
    mut file: Attachment,
    mut field: multer::Field<'static>,
) -> Result<Attachment, AppError> {
    let limits = files.limits;
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is too large: at most {} a file.",
            human_size(limits.max_bytes)
        ))
    };
    if !files.uploads.try_take(user, Instant::now()) {
        return Err(AppError::RateLimited);
    }
    let used = files
        .db
        .uploaded_since(user, now_ms() - DAY_MS)
        .await
        .map_err(failed)?;
    let over_quota = || {
        AppError::TooLarge(format!(
            "That is more than the {} a day anyone may send.",
            human_size(limits.quota_bytes)
        ))
    };
    if used > limits.quota_bytes {
        return Err(over_quota());
    }

    // The body, to a temporary file: hashed, counted and its head kept on the way.
    let temp = TempFile(tempfile_in(files.blobs.temp_dir()).map_err(failed)?);
    let mut out = tokio::fs::File::create(&temp.0).await.map_err(failed)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(cut_off)? {
        size += chunk.len() as u64;
        if size > limits.max_bytes {
            return Err(too_large());
        }
        if used + size > limits.quota_bytes {
            return Err(over_quota());
        }
        let wanted = SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(failed)?;
    }
    out.flush().await.map_err(failed)?;
    drop(out);
    if size == 0 {
        return Err(AppError::Invalid("The file is empty.".into()));
    }

    let sniffed = sniff(&head);
    file.mime = sniffed.mime.to_owned();
    file.size = size;
    file.kind = sniffed.kind;
    let blobs = files.blobs.clone();
    let (hash, thumb) = if sniffed.kind == AttachmentKind::Image {
        let bytes = tokio::fs::read(&temp.0).await.map_err(failed)?;
        let _decoding = files.decoding.acquire().await.map_err(failed)?;
        let mime = sniffed.mime;
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || images::process(&bytes, mime))
            .await
            .map_err(failed)?
            .map_err(|err| match err {
                ImageError::TooLarge(..) => {
                    AppError::Invalid(format!("That image is too large to show: {err}."))
                }
                ImageError::Unreadable(_) => AppError::Invalid(
                    "That image is damaged or cut short, and could not be read.".into(),
                ),
            })?;
        tracing::debug!(elapsed = ?started.elapsed(), "image processed");
        file.mime = done.mime.to_owned();
        file.size = done.full.len() as u64;
        (file.width, file.height) = (done.width, done.height);
        tokio::task::spawn_blocking(move || {
            let full = hex(&Sha256::digest(&done.full));
            let thumb = hex(&Sha256::digest(&done.thumb));
            blobs.put(&full, &done.full)?;
            blobs.put(&thumb, &done.thumb)?;
            Ok::<_, std::io::Error>((full, Some(thumb)))
        })
        .await
        .map_err(failed)?
        .map_err(failed)?
    } else {
        let hash = hex(&hasher.finalize());
        let path = temp.0.clone();
        let kept = hash.clone();
        tokio::task::spawn_blocking(move || blobs.put_file(&kept, &path))
            .await
            .map_err(failed)?
            .map_err(failed)?;
        (hash, None)
    };
    let record = FileRecord {
        file: file.clone(),
        hash,
        thumb,
        room_id,
        uploader: user.to_owned(),
        created_ms: now_ms(),
    };
    files.db.add_file(&record).await.map_err(failed)?;
    Ok(file)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name to show and download under: its last path part, without control
/// characters, at most [`MAX_NAME_CHARS`]; "file" when nothing is left.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim().trim_start_matches('.').trim();
    if name.is_empty() {
        "file".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_folders_and_controls() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\ana\\cat.png"), "cat.png");
        assert_eq!(clean_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(&"x".repeat(500)).len(), MAX_NAME_CHARS);
    }
}
