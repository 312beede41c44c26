//! The storage seam for Web Push: browsers' subscriptions and the server's VAPID key,
//! beside [`super::Store`] and [`super::AccountStore`], so a PostgreSQL store can
//! implement it too.

use super::StoreResult;

/// Where and how to reach one browser of a user (the `PushSubscription` the browser's
/// push manager made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscription {
    /// The push service's URL for this browser: a capability, so kept private.
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The browser's authentication secret (16 bytes).
    pub auth: Vec<u8>,
}

#[async_trait::async_trait]
pub trait PushStore: Send + Sync + 'static {
    /// The VAPID private key, if one was made.
    async fn vapid_key(&self) -> StoreResult<Option<Vec<u8>>>;

    /// Keeps `key` as the VAPID private key unless one is kept already (two servers
    /// starting at once); returns the one kept.
    async fn keep_vapid_key(&self, key: &[u8], now_ms: i64) -> StoreResult<Vec<u8>>;

    /// Adds (or, for a known endpoint, replaces) a subscription of `user_id`, then
    /// forgets the user's oldest beyond `keep`.
    async fn add_push_subscription(
        &self,
        user_id: &str,
        subscription: &PushSubscription,
        keep: u32,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Every user with at least one subscription.
    async fn push_subscribers(&self) -> StoreResult<Vec<String>>;

    /// Every subscription of `user_id`, newest first.
    async fn push_subscriptions(&self, user_id: &str) -> StoreResult<Vec<PushSubscription>>;

    /// Forgets the subscription at `endpoint`, whoever it belongs to (the push service
    /// said it is gone). Whether there was one.
    async fn delete_push_subscription(&self, endpoint: &str) -> StoreResult<bool>;

    /// Forgets the subscription at `endpoint` if it is `user_id`'s (they turned push off).
    async fn delete_push_subscription_of(&self, user_id: &str, endpoint: &str)
        -> StoreResult<bool>;
}
