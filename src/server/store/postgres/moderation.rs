//! [`ModerationStore`] on PostgreSQL.

#![allow(unused_variables)]

use super::super::moderation::*;
#[allow(unused_imports)]
use super::super::*;
use super::PgStore;

#[async_trait::async_trait]
impl ModerationStore for PgStore {
    async fn moderation(&self) -> StoreResult<ModerationRecord> {
        todo!()
    }

    async fn moderation_clock(&self) -> StoreResult<i64> {
        todo!()
    }

    async fn moderate(&self, change: &ModerationChange, audit: &AuditEntry) -> StoreResult<i64> {
        todo!()
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        todo!()
    }

    async fn report(&self, room: i64, seq: Seq, reporter: &str, now_ms: i64) -> StoreResult<()> {
        todo!()
    }

    async fn open_reports(&self, limit: u32) -> StoreResult<Vec<ReportRecord>> {
        todo!()
    }

    async fn messages_of(&self, user: &str) -> StoreResult<Vec<(i64, Seq)>> {
        todo!()
    }

    async fn forget_person(&self, user: &str) -> StoreResult<()> {
        todo!()
    }

    async fn file_request(&self, request: &str, now_ms: i64) -> StoreResult<i64> {
        todo!()
    }

    async fn pending_requests(&self) -> StoreResult<Vec<(i64, String)>> {
        todo!()
    }

    async fn finish_request(&self, id: i64, outcome: &str, now_ms: i64) -> StoreResult<()> {
        todo!()
    }

    async fn request_outcome(&self, id: i64) -> StoreResult<Option<String>> {
        todo!()
    }
}
