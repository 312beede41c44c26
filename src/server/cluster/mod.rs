//! Several nodes (`--nats nats://…` beside a PostgreSQL `--database`): each node rings
//! the others over core NATS when it stores events, on `natter.room.<id>`.
//!
//! NATS is only a doorbell. PostgreSQL holds every event and hands out the seqs; NATS
//! may drop a batch (a slow subscriber, a restart) or deliver batches from different
//! nodes in any order. Each room's sequencer (`chat::sequencer`) publishes events in seq
//! order, drops what it already published, and fills any gap from the store
//! (`Room::catch_up`). After the connection to NATS comes back, every room catches up
//! with the store, since what was stored meanwhile never rang here.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::server::chat::hub::Hub;
use crate::server::chat::relay::{self, Relay};

/// Batches waiting for the connection to NATS; more are dropped (the store has them).
const RELAY_QUEUE: usize = 8_192;

/// The subject of a room's stored events.
fn room_subject(room: i64) -> String {
    format!("natter.room.{room}")
}

/// This node's way to the others.
pub struct Cluster {
    outbox: mpsc::Sender<(i64, Bytes)>,
}

impl Relay for Cluster {
    fn stored(&self, room: i64, batch: Bytes) {
        if self.outbox.try_send((room, batch)).is_err() {
            tracing::warn!(room, "the relay is behind: a batch is left to the store");
        }
    }
}

/// Connects to NATS at `url` and starts relaying `hub`'s stored events both ways.
pub async fn join(url: &str, hub: &Arc<Hub>) -> Result<Arc<Cluster>, crate::server::Error> {
    let reconnected: Weak<Hub> = Arc::downgrade(hub);
    let client = async_nats::ConnectOptions::new()
        .name("natter")
        // Its own batches are published here already.
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
    let subscription = client.subscribe("natter.room.*").await?;
    tokio::spawn(receive(subscription, Arc::downgrade(hub)));
    let (outbox, queue) = mpsc::channel(RELAY_QUEUE);
    tokio::spawn(publish(client, queue));
    Ok(Arc::new(Cluster { outbox }))
}

/// Rings the other nodes with this node's batches, in the order they were stored.
async fn publish(client: async_nats::Client, mut queue: mpsc::Receiver<(i64, Bytes)>) {
    while let Some((room, batch)) = queue.recv().await {
        if let Err(err) = client.publish(room_subject(room), batch).await {
            tracing::warn!(%err, room, "relaying a batch failed: it is left to the store");
        }
    }
}

/// Hands the other nodes' batches to their rooms, one at a time, in the order NATS
/// delivers them.
async fn receive(mut subscription: async_nats::Subscriber, hub: Weak<Hub>) {
    while let Some(message) = subscription.next().await {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        let room = message
            .subject
            .as_str()
            .strip_prefix("natter.room.")
            .and_then(|id| id.parse::<i64>().ok());
        match (room, relay::decode(message.payload)) {
            (Some(room), Some(events)) => hub.receive_relayed(room, events).await,
            _ => tracing::warn!(subject = %message.subject, "not a relayed batch"),
        }
    }
}
