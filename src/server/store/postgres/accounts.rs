//! [`AccountStore`] on PostgreSQL: accounts and sessions, every statement on the pool.

use sqlx::Row;

use super::super::accounts::{AccountRecord, AccountStore, Created, SessionRecord};
use super::super::StoreResult;
use super::{failed, PgStore};

#[async_trait::async_trait]
impl AccountStore for PgStore {
    async fn create_account(
        &self,
        user_id: &str,
        name: &str,
        name_key: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Created<AccountRecord>> {
        // One statement: two nodes registering one name at once get one account.
        let inserted = sqlx::query(
            "INSERT INTO accounts (user_id, name, name_key, password_hash, created_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(name_key)
        .bind(password_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)?;
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
        let row = sqlx::query(
            "SELECT id, user_id, name, password_hash FROM accounts WHERE name_key = $1",
        )
        .bind(name_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)?;
        Ok(row.as_ref().map(crate::server::store::rows::account))
    }

    async fn rekey_accounts(
        &self,
        key: &(dyn for<'n> Fn(&'n str) -> String + Send + Sync),
    ) -> StoreResult<usize> {
        let rows = sqlx::query("SELECT id, name, name_key FROM accounts")
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        let mut changed = 0;
        for row in rows {
            let (id, name, old): (i64, String, String) =
                (row.get("id"), row.get("name"), row.get("name_key"));
            let new = key(&name);
            if new == old {
                continue;
            }
            // Two accounts that now look alike: the one that keeps its key is whoever
            // had the new one first; the other can still log in by its exact name. (Nodes
            // starting together may both try: the unique key lets one win.)
            let done = sqlx::query(
                "UPDATE accounts SET name_key = $1 WHERE id = $2
                 AND NOT EXISTS (SELECT 1 FROM accounts WHERE name_key = $1)",
            )
            .bind(&new)
            .bind(id)
            .execute(&self.pool)
            .await;
            match done {
                Ok(done) => changed += done.rows_affected() as usize,
                Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {}
                Err(err) => return Err(failed(err)),
            }
        }
        Ok(changed)
    }

    async fn account(&self, id: i64) -> StoreResult<Option<AccountRecord>> {
        let row =
            sqlx::query("SELECT id, user_id, name, password_hash FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(failed)?;
        Ok(row.as_ref().map(crate::server::store::rows::account))
    }

    async fn set_password(&self, account_id: i64, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
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
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(session.account_id)
        .bind(&session.user_id)
        .bind(&session.name)
        .bind(now_ms)
        .bind(session.expires_ms)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8], now_ms: i64) -> StoreResult<Option<SessionRecord>> {
        // An account's current name comes from the account, so a session never shows a
        // stale one.
        let row = sqlx::query(
            "SELECT s.account_id, s.user_id, COALESCE(a.name, s.name) AS name, s.expires_ms
             FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_ms > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)?;
        Ok(row.map(|row| SessionRecord {
            account_id: row.get("account_id"),
            user_id: row.get("user_id"),
            name: row.get("name"),
            expires_ms: row.get("expires_ms"),
        }))
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn delete_sessions_of(&self, account_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(done.rows_affected())
    }
}
