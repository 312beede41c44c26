//! [`PreviewStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::previews::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;

#[async_trait::async_trait]
impl PreviewStore for PgStore {
    async fn cached_card(&self, url: &str) -> StoreResult<Option<CachedCard>> {
        todo!()
    }

    async fn keep_card(&self, url: &str, card: &CachedCard) -> StoreResult<()> {
        todo!()
    }

    async fn keep_thumbnail(&self, hash: &str, bytes: &[u8]) -> StoreResult<()> {
        todo!()
    }

    async fn thumbnail(&self, hash: &str) -> StoreResult<Option<Vec<u8>>> {
        todo!()
    }
}
