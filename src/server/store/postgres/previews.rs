//! [`PreviewStore`] on PostgreSQL: link cards and their thumbnails, upserted.

use sqlx::Row;

use super::super::previews::{CachedCard, PreviewStore};
use super::super::StoreResult;
use super::{failed, PgStore};

#[async_trait::async_trait]
impl PreviewStore for PgStore {
    async fn cached_card(&self, url: &str) -> StoreResult<Option<CachedCard>> {
        let row = sqlx::query("SELECT card, fetched_ms FROM previews WHERE url = $1")
            .bind(url)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
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
        sqlx::query(
            "INSERT INTO previews (url, card, fetched_ms) VALUES ($1, $2, $3)
             ON CONFLICT (url) DO UPDATE SET card = excluded.card, fetched_ms = excluded.fetched_ms",
        )
        .bind(url)
        .bind(json)
        .bind(card.fetched_ms)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn keep_thumbnail(&self, hash: &str, bytes: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO preview_images (hash, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(hash)
        .bind(bytes)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn thumbnail(&self, hash: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes FROM preview_images WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        Ok(row.map(|row| row.get("bytes")))
    }
}
