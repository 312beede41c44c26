//! [`AccountStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::accounts::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;

#[async_trait::async_trait]
impl AccountStore for PgStore {
    async fn create_account(
        &self,
        user_id: &str,
        name: &str,
        name_key: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> super::StoreResult<Created<AccountRecord>> {
        todo!()
    }

    async fn account_by_key(&self, name_key: &str) -> super::StoreResult<Option<AccountRecord>> {
        todo!()
    }

    async fn rekey_accounts(
        &self,
        key: &(dyn for<'n> Fn(&'n str) -> String + Send + Sync),
    ) -> super::StoreResult<usize> {
        todo!()
    }

    async fn account(&self, id: i64) -> super::StoreResult<Option<AccountRecord>> {
        todo!()
    }

    async fn set_password(&self, account_id: i64, password_hash: &str) -> super::StoreResult<()> {
        todo!()
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        session: &SessionRecord,
        now_ms: i64,
    ) -> super::StoreResult<()> {
        todo!()
    }

    async fn session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> super::StoreResult<Option<SessionRecord>> {
        todo!()
    }

    async fn delete_session(&self, token_hash: &[u8]) -> super::StoreResult<()> {
        todo!()
    }

    async fn delete_sessions_of(&self, account_id: i64) -> super::StoreResult<()> {
        todo!()
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> super::StoreResult<u64> {
        todo!()
    }
}
