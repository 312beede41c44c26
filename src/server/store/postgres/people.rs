//! [`PeopleStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::people::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;
use crate::protocol::*;

#[async_trait::async_trait]
impl PeopleStore for PgStore {
    async fn memberships(&self) -> StoreResult<Vec<(i64, MemberRecord)>> {
        todo!()
    }

    async fn add_member(&self, room: i64, member: &MemberRecord, now_ms: i64) -> StoreResult<()> {
        todo!()
    }

    async fn remove_member(&self, room: i64, user_id: &str) -> StoreResult<()> {
        todo!()
    }

    async fn notify_settings(&self) -> StoreResult<Vec<(i64, String, NotifyLevel)>> {
        todo!()
    }

    async fn set_notify(&self, user_id: &str, room: i64, level: NotifyLevel) -> StoreResult<()> {
        todo!()
    }

    async fn readers(&self, user_id: &str) -> StoreResult<Vec<ReaderRecord>> {
        todo!()
    }

    async fn set_read(&self, user_id: &str, room: i64, seq: Seq) -> StoreResult<()> {
        todo!()
    }

    async fn set_mentioned(&self, user_ids: &[String], room: i64, seq: Seq) -> StoreResult<()> {
        todo!()
    }

    async fn registered_names(&self) -> StoreResult<Vec<(String, String)>> {
        todo!()
    }
}
