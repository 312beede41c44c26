//! [`PushStore`] on SQLite. Push writes are rare (a browser subscribing, a push
//! service saying one is gone) and short; they share the writer lock like accounts do.

use sqlx::Row;

use super::push::{PushStore, PushSubscription};
use super::{SqliteStore, StoreError, StoreResult};

#[async_trait::async_trait]
impl PushStore for SqliteStore {
    async fn vapid_key(&self) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT private_key FROM vapid_key WHERE id = 1")
            .fetch_optional(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(row.map(|r| r.get("private_key")))
    }

    async fn keep_vapid_key(&self, key: &[u8], now_ms: i64) -> StoreResult<Vec<u8>> {
        let mut writer = self.writer().await;
        sqlx::query(
            "INSERT INTO vapid_key (id, private_key, created_ms) VALUES (1, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(now_ms)
        .execute(&mut *writer)
        .await
        .map_err(StoreError::new)?;
        let row = sqlx::query("SELECT private_key FROM vapid_key WHERE id = 1")
            .fetch_one(&mut *writer)
            .await
            .map_err(StoreError::new)?;
        Ok(row.get("private_key"))
    }

    async fn add_push_subscription(
        &self,
        user_id: &str,
        subscription: &PushSubscription,
        keep: u32,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await;
        let mut tx = sqlx::Connection::begin(&mut *writer)
            .await
            .map_err(StoreError::new)?;
        sqlx::query(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_ms)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id,
                 p256dh = excluded.p256dh, auth = excluded.auth,
                 created_ms = excluded.created_ms",
        )
        .bind(user_id)
        .bind(&subscription.endpoint)
        .bind(&subscription.p256dh)
        .bind(&subscription.auth)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::new)?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE user_id = ? AND id NOT IN (
                 SELECT id FROM push_subscriptions WHERE user_id = ?
                 ORDER BY created_ms DESC, id DESC LIMIT ?)",
        )
        .bind(user_id)
        .bind(user_id)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::new)?;
        tx.commit().await.map_err(StoreError::new)
    }

    async fn push_subscribers(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT user_id FROM push_subscriptions")
            .fetch_all(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(rows.iter().map(|r| r.get("user_id")).collect())
    }

    async fn push_subscriptions(&self, user_id: &str) -> StoreResult<Vec<PushSubscription>> {
        let rows = sqlx::query(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?
             ORDER BY created_ms DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|r| PushSubscription {
                endpoint: r.get("endpoint"),
                p256dh: r.get("p256dh"),
                auth: r.get("auth"),
            })
            .collect())
    }

    async fn delete_push_subscription(&self, endpoint: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = ?")
            .bind(endpoint)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_push_subscription_of(
        &self,
        user_id: &str,
        endpoint: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?")
            .bind(endpoint)
            .bind(user_id)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(done.rows_affected() > 0)
    }
}
