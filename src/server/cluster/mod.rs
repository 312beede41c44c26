//! Several nodes (`--nats nats://…` beside a PostgreSQL `--database`): the nodes tell
//! each other over core NATS what they stored (`natter.room.<id>`, one message per
//! stored batch and room), what is live but not stored (`natter.node.<node>`: presence,
//! typing, members, leases), and events for one person (`natter.user.<user>`).
//!
//! NATS is only a doorbell. PostgreSQL holds every event and hands out the seqs; NATS
//! may drop a batch (a slow subscriber, a restart) or deliver batches from different
//! nodes in any order. Each room's sequencer (`chat::sequencer`) publishes events in seq
//! order, drops what it already published, and fills any gap from the store
//! (`Room::catch_up`). After the connection to NATS comes back, every room catches up
//! with the store, since what was stored meanwhile never rang here.
//!
//! Presence is leased: every node says who it has every [`LEASE_EVERY`]; a node not
//! heard from for [`LEASE_LIFE`] is gone, and its people leave.
//!
//! Everything this node says goes through one queue and one connection, and everything
//! it hears comes through one subscription handled in order: a room made here is loaded
//! elsewhere before the first event for it arrives there.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::server::chat::hub::Hub;
use crate::server::chat::presence::NodeId;
use crate::server::chat::relay::{self, Relay, Signal};
use crate::server::ws::send_queue::Frame;

/// What waits for the connection to NATS; more is dropped (the store has the events;
/// the next lease makes presence right again).
const RELAY_QUEUE: usize = 8_192;
/// How often a node renews its lease...
const LEASE_EVERY: Duration = Duration::from_secs(10);
/// ...and how long it stays present after its last one: a dead node's people leave
/// within this (plus a sweep).
const LEASE_LIFE: Duration = Duration::from_secs(25);
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// How often the rooms people are in are compared with the store: the longest a lost
/// batch at the end of a burst stays unseen.
const TAIL_CHECK_EVERY: Duration = Duration::from_secs(1);

/// This node's way to the others.
pub struct Cluster {
    node: NodeId,
    outbox: mpsc::Sender<(String, Bytes)>,
}

impl Cluster {
    fn send(&self, subject: String, payload: Bytes) {
        if self.outbox.try_send((subject, payload)).is_err() {
            tracing::warn!("the relay is behind: a message to the other nodes is dropped");
        }
    }
}

impl Relay for Cluster {
    fn stored(&self, room: i64, batch: Bytes) {
        self.send(format!("natter.room.{room}"), batch);
    }

    fn signal(&self, signal: Signal) {
        let json = serde_json::to_vec(&signal).expect("signals serialise");
        self.send(format!("natter.node.{}", self.node), json.into());
    }

    fn to_user(&self, user: &str, frame: &Frame) {
        // The user id travels in the payload: the subject only routes.
        let mut payload = BytesMut::with_capacity(2 + user.len() + frame.as_bytes().len());
        payload.put_u16(user.len() as u16);
        payload.put_slice(user.as_bytes());
        payload.put_slice(frame.as_bytes());
        self.send(user_subject(user), payload.freeze());
    }
}

/// A person's subject; ids are `[A-Za-z0-9_-]` (guests' `g-<hex>`), anything else is
/// sent on a shared one.
fn user_subject(user: &str) -> String {
    let plain = !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match plain {
        true => format!("natter.user.{user}"),
        false => "natter.user._".to_owned(),
    }
}

/// Connects to NATS at `url` and starts relaying `hub`'s news both ways.
pub async fn join(url: &str, hub: &Arc<Hub>) -> Result<Arc<Cluster>, crate::server::Error> {
    let node: NodeId = rand::random::<u64>() >> 1;
    let reconnected: Weak<Hub> = Arc::downgrade(hub);
    let client = async_nats::ConnectOptions::new()
        .name(format!("natter-{node}"))
        // Its own news is published here already.
        .no_echo()
        .event_callback(move |event| {
            let hub = reconnected.clone();
            async move {
                tracing::info!(%event, "NATS");
                if matches!(event, async_nats::Event::Connected) {
                    if let Some(hub) = hub.upgrade() {
                        // On a task of its own: the callback's future must be Sync.
                        tokio::spawn(async move { hub.catch_up_all().await });
                    }
                }
            }
        })
        .connect(url)
        .await?;
    let subscription = client.subscribe("natter.>").await?;
    let (outbox, queue) = mpsc::channel(RELAY_QUEUE);
    tokio::spawn(publish(client, queue));
    let cluster = Arc::new(Cluster { node, outbox });
    tokio::spawn(receive(subscription, Arc::downgrade(hub), cluster.clone()));
    tokio::spawn(renew_lease(Arc::downgrade(hub), cluster.clone()));
    tokio::spawn(check_tails(Arc::downgrade(hub)));
    cluster.signal(Signal::Hello);
    tracing::info!(node, "joined the other nodes over NATS");
    Ok(cluster)
}

/// Says what this node has, every [`LEASE_EVERY`].
async fn renew_lease(hub: Weak<Hub>, cluster: Arc<Cluster>) {
    let mut tick = tokio::time::interval(LEASE_EVERY);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        cluster.signal(hub.lease());
    }
}

/// Compares the active rooms with the store every [`TAIL_CHECK_EVERY`].
async fn check_tails(hub: Weak<Hub>) {
    let mut tick = tokio::time::interval(TAIL_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.catch_up_active().await;
    }
}

/// Publishes this node's news, in the order it was made.
async fn publish(client: async_nats::Client, mut queue: mpsc::Receiver<(String, Bytes)>) {
    while let Some((subject, payload)) = queue.recv().await {
        if let Err(err) = client.publish(subject, payload).await {
            tracing::warn!(%err, "telling the other nodes failed: the store has what matters");
        }
    }
}

/// Hands the other nodes' news to the hub, one message at a time, in the order NATS
/// delivers it; forgets nodes whose lease ran out.
async fn receive(mut subscription: async_nats::Subscriber, hub: Weak<Hub>, cluster: Arc<Cluster>) {
    let mut last_heard: HashMap<NodeId, Instant> = HashMap::new();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        let message = tokio::select! {
            message = subscription.next() => message,
            _ = sweep.tick() => {
                let Some(hub) = hub.upgrade() else { return };
                last_heard.retain(|node, heard| {
                    let alive = heard.elapsed() < LEASE_LIFE;
                    if !alive {
                        tracing::info!(node, "a node's lease ran out: its people leave");
                        hub.forget_node(*node);
                    }
                    alive
                });
                continue;
            }
        };
        let Some(message) = message else {
            return;
        };
        let Some(hub) = hub.upgrade() else {
            return;
        };
        let subject = message.subject.as_str();
        if let Some(room) = subject.strip_prefix("natter.room.") {
            match (room.parse::<i64>(), relay::decode(message.payload)) {
                (Ok(room), Some(events)) => hub.receive_relayed(room, events).await,
                _ => tracing::warn!(subject, "not a relayed batch"),
            }
        } else if let Some(node) = subject.strip_prefix("natter.node.") {
            let signal = serde_json::from_slice::<Signal>(&message.payload);
            match (node.parse::<NodeId>(), signal) {
                (Ok(node), Ok(signal)) => {
                    last_heard.insert(node, Instant::now());
                    if signal == Signal::Hello {
                        // A node started: it hears at once who is here.
                        cluster.signal(hub.lease());
                    }
                    hub.receive_signal(node, signal).await;
                }
                _ => tracing::warn!(subject, "not a signal"),
            }
        } else if subject.starts_with("natter.user.") {
            let mut payload = message.payload;
            if payload.len() < 2 {
                continue;
            }
            let len = payload.get_u16() as usize;
            if payload.len() < len {
                continue;
            }
            let user = payload.split_to(len);
            if let Ok(user) = std::str::from_utf8(&user) {
                hub.receive_for_user(user, Frame::from_encoded(payload));
            }
        }
    }
}
