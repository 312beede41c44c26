//! The three pages the route table ([`super::routes`]) chooses from.

pub mod home;
pub mod not_found;
pub mod room;
