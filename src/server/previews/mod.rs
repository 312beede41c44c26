//! Link previews: what a link in a message points to (site, title, description, image),
//! fetched by the server under the SSRF rules so that browsers never contact the linked
//! site.
//!
//! A message is stored and sent as it is; its first http(s) link then comes here
//! ([`Previewer`], the chat's [`LinkSink`]), is fetched in the background, and its card
//! goes back to the room as a change of the message — an event with a seq of its own, so
//! resume, history and offline copies carry it like anything else.
//!
//! - [`fetch`]: one page or picture, fetched within every limit (addresses, redirects,
//!   type, size, time).
//! - [`meta`]: a page's title, description, site name and image, read from its HTML.
//! - [`thumbnail`]: the picture re-encoded as a small JPEG, which Natter serves itself
//!   ([`serve`]).

pub mod fetch;
pub mod meta;
pub mod serve;
pub mod thumbnail;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};

use crate::protocol::{Change, Preview, Seq};
use crate::server::chat::room::{ChangeRequest, LinkSink, Room};
use crate::server::clock::now_ms;
use crate::server::net::ssrf::Reach;
use crate::server::store::previews::CachedCard;
use crate::server::store::{Asker, NewUpdate, Store};
use fetch::{Limits, PageFetcher};

/// Links waiting for their cards; past this many, new links get none (the chat never
/// waits for a linked site).
const QUEUE: usize = 256;
/// Cards being made at once.
const AT_ONCE: usize = 4;
/// How long a kept card is used instead of fetching the page again.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Largest picture fetched for a thumbnail.
const IMAGE_BYTES: usize = 5 << 20;

/// Where [`Previewer`]s may go.
#[derive(Clone, Copy, Debug, Default)]
pub struct PreviewConfig {
    /// Tests only: loopback too (a stand-in site on 127.0.0.1).
    pub reach: Reach,
}

/// Makes link cards in the background, a few at a time.
pub struct Previewer {
    jobs: mpsc::Sender<Job>,
}

struct Job {
    room: Arc<Room>,
    target: Seq,
    url: String,
}

impl LinkSink for Previewer {
    fn offer(&self, room: Arc<Room>, target: Seq, url: String) {
        if self.jobs.try_send(Job { room, target, url }).is_err() {
            tracing::debug!("link previews are busy; a link goes without a card");
        }
    }
}

impl Previewer {
    pub fn start(store: Arc<dyn Store>, config: PreviewConfig) -> Arc<Previewer> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let maker = Arc::new(CardMaker {
            store,
            fetcher: PageFetcher::new(config.reach, Limits::default()),
        });
        tokio::spawn(run(maker, queue));
        Arc::new(Previewer { jobs })
    }
}

async fn run(maker: Arc<CardMaker>, mut queue: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    while let Some(job) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let maker = maker.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Some(card) = maker.card(&job.url).await {
                let request = ChangeRequest {
                    update: NewUpdate {
                        // One card per message: made twice, it is stored once.
                        cid: format!("preview-{}", job.target),
                        target: job.target,
                        change: Change::Preview(Box::new(card)),
                        at_ms: now_ms(),
                        by: Asker::Server,
                    },
                    reply: None,
                };
                if job.room.submit_change(request).is_err() {
                    tracing::debug!("room busy; a link goes without a card");
                }
            }
        });
    }
}

struct CardMaker {
    store: Arc<dyn Store>,
    fetcher: PageFetcher,
}

impl CardMaker {
    /// The card of `url`: kept from before, or fetched now (and kept, card or not).
    async fn card(&self, url: &str) -> Option<Preview> {
        let now = now_ms();
        match self.store.cached_card(url).await {
            Ok(Some(kept)) if now - kept.fetched_ms < KEEP_FOR.as_millis() as i64 => {
                return kept.card
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "reading a kept card failed"),
        }
        let card = self.fetch(url).await;
        let kept = CachedCard {
            card: card.clone(),
            fetched_ms: now,
        };
        if let Err(err) = self.store.keep_card(url, &kept).await {
            tracing::warn!(%err, "keeping a card failed");
        }
        card
    }

    async fn fetch(&self, url: &str) -> Option<Preview> {
        let meta = match self.fetcher.preview(url).await {
            Ok(meta) => meta,
            Err(err) => {
                tracing::debug!(%err, url, "no card");
                return None;
            }
        };
        // A card says what the page is; without a title it says nothing.
        let title = meta.title?;
        let site = meta
            .site
            .or_else(|| url::Url::parse(url).ok()?.host_str().map(str::to_owned))
            .unwrap_or_default();
        let image = match meta.image {
            Some(src) => self.thumbnail(&src).await,
            None => None,
        };
        Some(Preview {
            url: url.to_owned(),
            site,
            title,
            description: meta.description.unwrap_or_default(),
            image,
        })
    }

    /// Fetches the picture at `src`, keeps its thumbnail, and says where it is served.
    async fn thumbnail(&self, src: &str) -> Option<String> {
        let bytes = match self.fetcher.fetch_image(src, IMAGE_BYTES).await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::debug!(%err, src, "no picture for a card");
                return None;
            }
        };
        // Decoding is CPU work: off the async threads.
        let jpeg = tokio::task::spawn_blocking(move || thumbnail::thumbnail(&bytes))
            .await
            .ok()?
            .map_err(|err| tracing::debug!(%err, "no thumbnail"))
            .ok()?;
        let name = thumbnail::name_of(&jpeg);
        self.store.keep_thumbnail(&name, &jpeg).await.ok()?;
        Some(format!("/previews/{name}.jpg"))
    }
}
