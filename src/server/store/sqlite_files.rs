//! The `files` table on SQLite: one row per upload, read on every request for a file
//! (who may read it is the room's business, checked each time).

use super::files::{FileRecord, FileRecordStore};
use super::{SqliteStore, StoreError, StoreResult};

#[async_trait::async_trait]
impl FileRecordStore for SqliteStore {
    async fn add_file(&self, record: &FileRecord) -> StoreResult<()> {
        let file = &record.file;
        sqlx::query(
            "INSERT OR IGNORE INTO files (id, hash, thumb, room_id, uploader, name, mime, size, kind,
                 width, height, created_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&file.id)
        .bind(&record.hash)
        .bind(&record.thumb)
        .bind(record.room_id)
        .bind(&record.uploader)
        .bind(&file.name)
        .bind(&file.mime)
        .bind(file.size as i64)
        .bind(file.kind.as_str())
        .bind(file.width as i64)
        .bind(file.height as i64)
        .bind(record.created_ms)
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    /// The upload `id`, and the slug of its room.
    async fn file(&self, id: &str) -> StoreResult<Option<(FileRecord, String)>> {
        let row = sqlx::query(
            "SELECT files.*, rooms.slug AS slug FROM files JOIN rooms ON rooms.id = files.room_id
             WHERE files.id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(row.as_ref().map(crate::server::store::rows::file))
    }

    /// Bytes `user` has uploaded since `since_ms`.
    async fn uploaded_since(&self, user: &str, since_ms: i64) -> StoreResult<u64> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE uploader = ? AND created_ms >= ?",
        )
        .bind(user)
        .bind(since_ms)
        .fetch_one(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(total.max(0) as u64)
    }
}
