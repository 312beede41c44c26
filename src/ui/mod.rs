//! The user interface: components rendered on the server and hydrated in the browser.

pub mod account;
pub mod banners;
pub mod composer;
pub mod home;
#[cfg(feature = "hydrate")]
pub mod live;
pub mod message_list;
pub mod not_found;
#[cfg(feature = "hydrate")]
pub mod notify;
pub mod offline;
pub mod outbox;
pub mod persist;
#[cfg(feature = "hydrate")]
pub mod pwa;
pub mod room_page;
pub mod sidebar;
pub mod state;
pub mod timeline;
pub mod unread;
