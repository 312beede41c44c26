//! [`SearchStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::search::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;
use crate::protocol::*;

#[async_trait::async_trait]
impl SearchStore for PgStore {
    async fn search(
        &self,
        user: &str,
        query: &SearchQuery,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        todo!()
    }
}
