//! [`PushStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::push::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;

#[async_trait::async_trait]
impl PushStore for PgStore {
    async fn vapid_key(&self) -> StoreResult<Option<Vec<u8>>> {
        todo!()
    }

    async fn keep_vapid_key(&self, key: &[u8], now_ms: i64) -> StoreResult<Vec<u8>> {
        todo!()
    }

    async fn add_push_subscription(
        &self,
        user_id: &str,
        subscription: &PushSubscription,
        keep: u32,
        now_ms: i64,
    ) -> StoreResult<()> {
        todo!()
    }

    async fn push_subscribers(&self) -> StoreResult<Vec<String>> {
        todo!()
    }

    async fn push_subscriptions(&self, user_id: &str) -> StoreResult<Vec<PushSubscription>> {
        todo!()
    }

    async fn delete_push_subscription(&self, endpoint: &str) -> StoreResult<bool> {
        todo!()
    }

    async fn delete_push_subscription_of(
        &self,
        user_id: &str,
        endpoint: &str,
    ) -> StoreResult<bool> {
        todo!()
    }
}
