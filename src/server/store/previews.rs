//! The storage seam for link cards: each link's card, fetched once and kept, and the
//! thumbnails Natter made of their images.

use super::StoreResult;
use crate::protocol::Preview;

/// A link's card as kept: `None` when the page had none to give (kept too, so a link
/// posted again is not fetched again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedCard {
    pub card: Option<Preview>,
    pub fetched_ms: i64,
}

#[async_trait::async_trait]
pub trait PreviewStore: Send + Sync + 'static {
    /// The card kept for `url`, if it was fetched before.
    async fn cached_card(&self, url: &str) -> StoreResult<Option<CachedCard>>;

    /// Keeps `card` for `url` (replacing an older one).
    async fn keep_card(&self, url: &str, card: &CachedCard) -> StoreResult<()>;

    /// Keeps a thumbnail under `hash` (its bytes' hash): the same image is kept once.
    async fn keep_thumbnail(&self, hash: &str, bytes: &[u8]) -> StoreResult<()>;

    /// The thumbnail kept under `hash`.
    async fn thumbnail(&self, hash: &str) -> StoreResult<Option<Vec<u8>>>;
}
