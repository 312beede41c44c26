//! The storage seam for accounts and sessions, beside [`super::Store`] for rooms and
//! messages.

/// A registered name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    /// PHC string (argon2id, with its salt and parameters).
    pub password_hash: String,
}

/// A signed-in browser: a guest (no account) or an account holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub account_id: Option<i64>,
    /// Who this is to rooms and presence: stable for an account, random for a guest.
    pub user_id: String,
    pub name: String,
    pub expires_ms: i64,
}

/// Storing would break a uniqueness rule (the name is registered already).
#[derive(Debug, PartialEq, Eq)]
pub enum Created<T> {
    Created(T),
    Taken,
}

#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Registers `name` (whose key, `server::names::name_key`, is `name_key`) for
    /// `user_id`.
    async fn create_account(
        &self,
        user_id: &str,
        name: &str,
        name_key: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> super::StoreResult<Created<AccountRecord>>;

    async fn account_by_key(&self, name_key: &str) -> super::StoreResult<Option<AccountRecord>>;

    /// Makes every account's `name_key` what `key` says of its name (after the way names
    /// are compared changed). An account whose new key another already holds keeps its
    /// old one. Returns how many changed.
    async fn rekey_accounts(
        &self,
        key: &(dyn for<'n> Fn(&'n str) -> String + Send + Sync),
    ) -> super::StoreResult<usize>;

    async fn account(&self, id: i64) -> super::StoreResult<Option<AccountRecord>>;

    async fn set_password(&self, account_id: i64, password_hash: &str) -> super::StoreResult<()>;

    async fn create_session(
        &self,
        token_hash: &[u8],
        session: &SessionRecord,
        now_ms: i64,
    ) -> super::StoreResult<()>;

    /// The session with this token hash, unless it has expired by `now_ms`.
    async fn session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> super::StoreResult<Option<SessionRecord>>;

    async fn delete_session(&self, token_hash: &[u8]) -> super::StoreResult<()>;

    /// Revokes every session of the account (a password change).
    async fn delete_sessions_of(&self, account_id: i64) -> super::StoreResult<()>;

    /// Forgets expired sessions.
    async fn delete_expired_sessions(&self, now_ms: i64) -> super::StoreResult<u64>;
}
