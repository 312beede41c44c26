//! [`AccountStore`] on SQLite.

use sqlx::Row;

use super::accounts::{AccountRecord, AccountStore, Created, SessionRecord};
use super::{SqliteStore, StoreError, StoreResult};

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        user_id: &str,
        name: &str,
        name_key: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Created<AccountRecord>> {
        let inserted = sqlx::query(
            "INSERT INTO accounts (user_id, name, name_key, password_hash, created_ms)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(name_key)
        .bind(password_hash)
        .bind(now_ms)
        .fetch_optional(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(match inserted {
            Some(row) => Created::Created(AccountRecord {
                id: row.get("id"),
                user_id: user_id.to_owned(),
                name: name.to_owned(),
                password_hash: password_hash.to_owned(),
            }),
            None => Created::Taken,
        })
    }

    async fn account_by_key(&self, name_key: &str) -> StoreResult<Option<AccountRecord>> {
        let row =
            sqlx::query("SELECT id, user_id, name, password_hash FROM accounts WHERE name_key = ?")
                .bind(name_key)
                .fetch_optional(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
        Ok(row.as_ref().map(crate::server::store::rows::account))
    }

    async fn rekey_accounts(
        &self,
        key: &(dyn for<'n> Fn(&'n str) -> String + Send + Sync),
    ) -> StoreResult<usize> {
        let mut writer = self.writer().await;
        let rows = sqlx::query("SELECT id, name, name_key FROM accounts")
            .fetch_all(&mut *writer)
            .await
            .map_err(StoreError::new)?;
        let mut changed = 0;
        for row in rows {
            let (id, name, old): (i64, String, String) =
                (row.get("id"), row.get("name"), row.get("name_key"));
            let new = key(&name);
            if new == old {
                continue;
            }
            // Two accounts that now look alike: the one that keeps its key is whoever
            // had the new one first; the other can still log in by its exact name.
            let done = sqlx::query("UPDATE OR IGNORE accounts SET name_key = ? WHERE id = ?")
                .bind(&new)
                .bind(id)
                .execute(&mut *writer)
                .await
                .map_err(StoreError::new)?;
            changed += done.rows_affected() as usize;
        }
        Ok(changed)
    }

    async fn account(&self, id: i64) -> StoreResult<Option<AccountRecord>> {
        let row = sqlx::query("SELECT id, user_id, name, password_hash FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(row.as_ref().map(crate::server::store::rows::account))
    }

    async fn set_password(&self, account_id: i64, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(account_id)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        session: &SessionRecord,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, user_id, name, created_ms, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(session.account_id)
        .bind(&session.user_id)
        .bind(&session.name)
        .bind(now_ms)
        .bind(session.expires_ms)
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8], now_ms: i64) -> StoreResult<Option<SessionRecord>> {
        // An account's current name comes from the account, so a session never shows a
        // stale one.
        let row = sqlx::query(
            "SELECT s.account_id, s.user_id, COALESCE(a.name, s.name) AS name, s.expires_ms
             FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = ? AND s.expires_ms > ?",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(row.map(|row| SessionRecord {
            account_id: row.get("account_id"),
            user_id: row.get("user_id"),
            name: row.get("name"),
            expires_ms: row.get("expires_ms"),
        }))
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(())
    }

    async fn delete_sessions_of(&self, account_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(done.rows_affected())
    }
}
