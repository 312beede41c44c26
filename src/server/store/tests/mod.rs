//! Tests of the storage seam, each run on SQLite and on PostgreSQL
//! ([`super::testing::on_both_stores`]).

mod accounts;
mod moderation;
mod previews;
mod push;
mod search;
pub(super) mod stream;
