//! [`PushStore`] on PostgreSQL: the server's VAPID key and browsers' subscriptions.

use sqlx::Row;

use super::super::push::{PushStore, PushSubscription};
use super::super::StoreResult;
use super::{failed, PgStore};

#[async_trait::async_trait]
impl PushStore for PgStore {
    async fn vapid_key(&self) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT private_key FROM vapid_key WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        Ok(row.map(|r| r.get("private_key")))
    }

    async fn keep_vapid_key(&self, key: &[u8], now_ms: i64) -> StoreResult<Vec<u8>> {
        // Nodes starting at once each make a key: the first stored is everyone's.
        sqlx::query(
            "INSERT INTO vapid_key (id, private_key, created_ms) VALUES (1, $1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        let row = sqlx::query("SELECT private_key FROM vapid_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(failed)?;
        Ok(row.get("private_key"))
    }

    async fn add_push_subscription(
        &self,
        user_id: &str,
        subscription: &PushSubscription,
        keep: u32,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(failed)?;
        sqlx::query(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_ms)
             VALUES ($1, $2, $3, $4, $5)
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
        .map_err(failed)?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
                 SELECT id FROM push_subscriptions WHERE user_id = $1
                 ORDER BY created_ms DESC, id DESC LIMIT $2)",
        )
        .bind(user_id)
        .bind(i64::from(keep))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    async fn push_subscribers(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT user_id FROM push_subscriptions")
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(rows.iter().map(|r| r.get("user_id")).collect())
    }

    async fn push_subscriptions(&self, user_id: &str) -> StoreResult<Vec<PushSubscription>> {
        let rows = sqlx::query(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1
             ORDER BY created_ms DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
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
        let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
            .bind(endpoint)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_push_subscription_of(
        &self,
        user_id: &str,
        endpoint: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2")
                .bind(endpoint)
                .bind(user_id)
                .execute(&self.pool)
                .await
                .map_err(failed)?;
        Ok(done.rows_affected() > 0)
    }
}
