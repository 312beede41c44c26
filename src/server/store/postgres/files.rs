//! [`FileRecordStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::files::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;

#[async_trait::async_trait]
impl FileRecordStore for PgStore {
    async fn add_file(&self, record: &FileRecord) -> StoreResult<()> {
        todo!()
    }

    async fn file(&self, id: &str) -> StoreResult<Option<(FileRecord, String)>> {
        todo!()
    }

    async fn uploaded_since(&self, user: &str, since_ms: i64) -> StoreResult<u64> {
        todo!()
    }
}
