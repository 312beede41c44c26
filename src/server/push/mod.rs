//! Web Push: telling people about messages while Natter is closed.
//!
//! The hub decides *whom* to tell and *when* (direct messages, mentions, rooms set to
//! "everything", and not while the person has a visible tab) and calls
//! [`Push::notify`]. That call only puts the notice in a bounded queue — a full queue
//! drops it, with a log line — so a slow or dead push service never delays a message.
//! A background task takes notices from the queue, looks up the user's subscriptions
//! and sends to each, at most [`PushConfig::concurrency`] at once; a push that fails for
//! a reason that may pass (429, 5xx, no answer) is tried again after an exponential
//! backoff, a few times within bounded time; a subscription the push service answers
//! 404 or 410 for is deleted.
//!
//! - [`vapid`]: the server's key pair, kept in the database, and the signed token.
//! - [`payload`]: the notice as JSON, encrypted as RFC 8291 asks.
//! - [`send`]: one POST to a push service and what its answer means.
//!
//! Endpoints are URLs users hand us, so the server connects only to public addresses
//! over https (`net::ssrf`); `--push-allow-loopback` lets tests use a stand-in on
//! 127.0.0.1.

pub mod payload;
pub mod send;
pub mod vapid;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use tokio::sync::{mpsc, Semaphore};

pub use payload::PushNotice;

use crate::protocol::AppError;
use crate::server::net::ssrf::{self, Reach};
use crate::server::store::{PushStore, PushSubscription, StoreError};
use send::{Sender, Sent};
use vapid::Vapid;

/// How push behaves; [`Default`] is production's, tests shorten the waits.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// `sub` of the VAPID token: whom push services may contact about our pushes.
    pub contact: String,
    /// Which addresses endpoints may have (loopback only in tests).
    pub reach: Reach,
    /// Notices waiting to be sent, at most; more are dropped.
    pub queue: usize,
    /// Pushes in flight (retries included), at most.
    pub concurrency: usize,
    /// Tries per push, the first included.
    pub attempts: u32,
    /// The wait before the second try; it doubles for each try after.
    pub backoff: Duration,
    /// No wait (a push service's `Retry-After` included) is longer than this.
    pub max_backoff: Duration,
    /// How long one request may take, connecting included.
    pub timeout: Duration,
    /// How long a push service keeps a message for a browser that is offline (`TTL`):
    /// a chat notice a day old is news no more.
    pub ttl: Duration,
    /// Subscriptions kept per user (browsers, devices); the oldest go first.
    pub per_user: u32,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            contact: DEFAULT_CONTACT.to_owned(),
            reach: Reach::default(),
            queue: 1024,
            concurrency: 32,
            attempts: 4,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            ttl: Duration::from_secs(24 * 3600),
            per_user: 10,
        }
    }
}

/// The VAPID contact when none is configured.
pub const DEFAULT_CONTACT: &str = "mailto:admin@localhost";

/// What happened to pushes so far (for logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Accepted by a push service.
    pub delivered: u64,
    /// Tries that failed in a way that may pass, and were (or would have been) repeated.
    pub retried: u64,
    /// Subscriptions deleted because the push service said they are gone.
    pub pruned: u64,
    /// Pushes given up on: refused for good, or still failing after the last try.
    pub failed: u64,
    /// Notices dropped because the queue was full.
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    pruned: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

struct Job {
    user_id: String,
    notice: PushNotice,
}

/// Web Push for the whole server: started once, shared by the hub and the server
/// functions.
pub struct Push {
    queue: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

/// What the background task and each delivery use.
struct Shared {
    store: Arc<dyn PushStore>,
    /// Users with a subscription (or who had one until lately): a notice for anyone
    /// else — most people in a busy room — is dropped at once, without a queue slot or
    /// a database read. Never held across an await.
    subscribers: RwLock<HashSet<String>>,
    vapid: Vapid,
    sender: Sender,
    config: PushConfig,
    counters: Counters,
}

impl Push {
    /// Loads (or makes, on first start) the VAPID key and starts the background task.
    pub async fn start(
        store: Arc<dyn PushStore>,
        config: PushConfig,
    ) -> Result<Arc<Push>, StoreError> {
        let vapid = Vapid::load_or_make(store.as_ref(), &config.contact).await?;
        if config.contact == DEFAULT_CONTACT {
            // Push services may refuse tokens whose contact is nobody (Apple's does).
            tracing::info!("Web Push: set --push-contact to a real mailto: or https: address");
        }
        let subscribers = store.push_subscribers().await?.into_iter().collect();
        let (queue, jobs) = mpsc::channel(config.queue.max(1));
        let shared = Arc::new(Shared {
            subscribers: RwLock::new(subscribers),
            sender: Sender::new(config.reach, config.ttl, config.timeout),
            store,
            vapid,
            config,
            counters: Counters::default(),
        });
        tokio::spawn(run(shared.clone(), jobs));
        Ok(Arc::new(Push { queue, shared }))
    }

    /// Tells `user_id`'s subscribed browsers about `notice`, in the background. Never
    /// waits: with the queue full the notice is dropped (and logged). Costs next to
    /// nothing for a user without subscriptions.
    pub fn notify(&self, user_id: &str, notice: PushNotice) {
        if !self.shared.has_subscribers(user_id) {
            return;
        }
        let job = Job {
            user_id: user_id.to_owned(),
            notice,
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(job) {
            self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("push queue full: a notice for {user_id} was dropped");
        }
    }

    /// The VAPID public key (base64url), the page's `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        self.shared.vapid.public_key()
    }

    /// Keeps a browser's subscription for `user_id`, after checking it: the endpoint
    /// must be https to a public address (or loopback, when allowed), the keys as RFC
    /// 8291 needs them. Bad input is an [`AppError::Invalid`] and nothing is stored.
    pub async fn subscribe(
        &self,
        user_id: &str,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
    ) -> Result<(), AppError> {
        let subscription = self.check(endpoint, p256dh, auth)?;
        let now = crate::server::clock::now_ms();
        let per_user = self.shared.config.per_user.max(1);
        self.shared
            .store
            .add_push_subscription(user_id, &subscription, per_user, now)
            .await
            .map_err(AppError::server)?;
        write(&self.shared.subscribers).insert(user_id.to_owned());
        Ok(())
    }

    /// Forgets `user_id`'s subscription at `endpoint` (they turned push off here).
    pub async fn unsubscribe(&self, user_id: &str, endpoint: &str) -> Result<(), AppError> {
        self.shared
            .store
            .delete_push_subscription_of(user_id, endpoint)
            .await
            .map(drop)
            .map_err(AppError::server)
    }

    fn check(
        &self,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
    ) -> Result<PushSubscription, AppError> {
        const MAX_ENDPOINT: usize = 2048;
        let invalid = |why: String| AppError::Invalid(format!("Push subscription refused: {why}."));
        if endpoint.len() > MAX_ENDPOINT {
            return Err(invalid("the endpoint is too long".into()));
        }
        ssrf::check_url(endpoint, self.shared.config.reach)
            .map_err(|refused| invalid(format!("endpoint: {refused}")))?;
        let p256dh = decode_key(p256dh).ok_or_else(|| invalid("p256dh is not base64url".into()))?;
        let auth = decode_key(auth).ok_or_else(|| invalid("auth is not base64url".into()))?;
        payload::check_keys(&p256dh, &auth).map_err(|bad| invalid(bad.to_string()))?;
        Ok(PushSubscription {
            endpoint: endpoint.to_owned(),
            p256dh,
            auth,
        })
    }

    /// What happened to pushes so far.
    pub fn stats(&self) -> PushStats {
        let c = &self.shared.counters;
        PushStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            pruned: c.pruned.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Browsers give keys in base64url, without padding; some libraries add it.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    if text.len() > 128 {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

/// The background task: one notice at a time from the queue, each subscription's
/// delivery a task of its own (so one slow push service holds up only its own pushes,
/// up to the concurrency limit). Ends when [`Push`] is dropped.
async fn run(shared: Arc<Shared>, mut jobs: mpsc::Receiver<Job>) {
    let in_flight = Arc::new(Semaphore::new(shared.config.concurrency.max(1)));
    while let Some(job) = jobs.recv().await {
        let subscriptions = match shared.store.push_subscriptions(&job.user_id).await {
            Ok(subscriptions) => subscriptions,
            Err(err) => {
                tracing::warn!("push: subscriptions of {} unreadable: {err}", job.user_id);
                continue;
            }
        };
        if subscriptions.is_empty() {
            // Unsubscribed, pruned or moved to another user since: no more reads for them.
            write(&shared.subscribers).remove(&job.user_id);
            continue;
        }
        let plain = Arc::new(job.notice.payload());
        for subscription in subscriptions {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let shared = shared.clone();
            let plain = plain.clone();
            tokio::spawn(async move {
                shared.deliver(&subscription, &plain).await;
                drop(permit);
            });
        }
    }
}

/// The set, even if a thread panicked while holding it (it holds no invariant beyond
/// "may have subscriptions").
fn write(set: &RwLock<HashSet<String>>) -> std::sync::RwLockWriteGuard<'_, HashSet<String>> {
    set.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn has_subscribers(&self, user_id: &str) -> bool {
        let set = self.subscribers.read();
        set.unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(user_id)
    }

    /// Sends one push, with retries; prunes the subscription if it is gone.
    async fn deliver(&self, subscription: &PushSubscription, plain: &[u8]) {
        let body = match payload::encrypt(plain, &subscription.p256dh, &subscription.auth) {
            Ok(body) => body,
            Err(err) => return self.give_up(subscription, &err.to_string()),
        };
        let attempts = self.config.attempts.max(1);
        for attempt in 1..=attempts {
            let sent = self
                .sender
                .send(&self.vapid, &subscription.endpoint, body.clone())
                .await;
            match sent {
                Sent::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Sent::Gone => return self.prune(subscription).await,
                Sent::Failed(why) => return self.give_up(subscription, &why),
                Sent::Retry(after) => {
                    self.counters.retried.fetch_add(1, Ordering::Relaxed);
                    if attempt == attempts {
                        return self.give_up(subscription, "no success after the last try");
                    }
                    let wait = after.unwrap_or_else(|| backoff(&self.config, attempt));
                    tokio::time::sleep(wait.min(self.config.max_backoff)).await;
                }
            }
        }
    }

    async fn prune(&self, subscription: &PushSubscription) {
        match self
            .store
            .delete_push_subscription(&subscription.endpoint)
            .await
        {
            Ok(_) => {
                self.counters.pruned.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => tracing::warn!("push: could not delete a gone subscription: {err}"),
        }
    }

    fn give_up(&self, subscription: &PushSubscription, why: &str) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        let host = reqwest::Url::parse(&subscription.endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        tracing::info!("push to {host} given up: {why}");
    }
}

/// The wait after failed try number `attempt` (1-based): `backoff`, doubling each time,
/// plus up to a quarter more at random, so pushes that failed together do not all come
/// back together.
fn backoff(config: &PushConfig, attempt: u32) -> Duration {
    let base = config
        .backoff
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(config.max_backoff);
    base + base.mul_f64(rand::random::<f64>() / 4.0)
}

#[cfg(test)]
mod tests;
