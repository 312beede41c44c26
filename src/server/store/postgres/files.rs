//! [`FileRecordStore`] on PostgreSQL: one row per upload.

use super::super::files::{FileRecord, FileRecordStore};
use super::super::StoreResult;
use super::{failed, PgStore};

#[async_trait::async_trait]
impl FileRecordStore for PgStore {
    async fn add_file(&self, record: &FileRecord) -> StoreResult<()> {
        let file = &record.file;
        sqlx::query(
            "INSERT INTO files (id, hash, thumb, room_id, uploader, name, mime, size, kind,
                 width, height, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING",
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
        .bind(i64::from(file.width))
        .bind(i64::from(file.height))
        .bind(record.created_ms)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn file(&self, id: &str) -> StoreResult<Option<(FileRecord, String)>> {
        let row = sqlx::query(
            "SELECT files.*, rooms.slug AS slug FROM files JOIN rooms ON rooms.id = files.room_id
             WHERE files.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)?;
        Ok(row.as_ref().map(crate::server::store::rows::file))
    }

    async fn uploaded_since(&self, user: &str, since_ms: i64) -> StoreResult<u64> {
        // SUM over BIGINT is NUMERIC in PostgreSQL: cast back.
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0)::BIGINT FROM files
             WHERE uploader = $1 AND created_ms >= $2",
        )
        .bind(user)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(failed)?;
        Ok(total.max(0) as u64)
    }
}
