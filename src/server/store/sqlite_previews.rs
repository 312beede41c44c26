//! [`PreviewStore`] on SQLite: small rows, written once per link, through the writer
//! lock like every write that is not a message.

use sqlx::Row;

use super::previews::{CachedCard, PreviewStore};
use super::{SqliteStore, StoreError, StoreResult};

#[async_trait::async_trait]
impl PreviewStore for SqliteStore {
    async fn cached_card(&self, url: &str) -> StoreResult<Option<CachedCard>> {
        let row = sqlx::query("SELECT card, fetched_ms FROM previews WHERE url = ?")
            .bind(url)
            .fetch_optional(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(row.map(|row| CachedCard {
            card: row
                .get::<Option<String>, _>("card")
                .and_then(|json| serde_json::from_str(&json).ok()),
            fetched_ms: row.get("fetched_ms"),
        }))
    }

    async fn keep_card(&self, url: &str, card: &CachedCard) -> StoreResult<()> {
        let json = card
            .card
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok());
        let mut writer = self.writer().await;
        sqlx::query(
            "INSERT INTO previews (url, card, fetched_ms) VALUES (?, ?, ?)
             ON CONFLICT (url) DO UPDATE SET card = excluded.card, fetched_ms = excluded.fetched_ms",
        )
        .bind(url)
        .bind(json)
        .bind(card.fetched_ms)
        .execute(&mut *writer)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn keep_thumbnail(&self, hash: &str, bytes: &[u8]) -> StoreResult<()> {
        let mut writer = self.writer().await;
        sqlx::query(
            "INSERT INTO preview_images (hash, bytes) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(hash)
        .bind(bytes)
        .execute(&mut *writer)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn thumbnail(&self, hash: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes FROM preview_images WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(row.map(|row| row.get("bytes")))
    }
}
