//! The per-person path: events for one person (mentions, messages in rooms they hear
//! everything of, read marks from their other devices, rooms they were added to or
//! removed from, private rooms' counts), to every tab they have open, wherever they are in
//! the chat. One place, so that a server of several nodes can carry it between them.
//!
//! Whether a person has a tab in front of them is known here too: while one is, they get
//! no push notification.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::presence::NodeId;
use super::relay::Relays;
use crate::server::push::{Push, PushNotice};
use crate::server::ws::send_queue::{Frame, SendQueue};

/// A connection's number, unique while the server runs.
pub type ConnId = u64;

/// What a push notification says, for someone with no Natter in front of them.
pub type Notice = PushNotice;

/// Sends push notifications, without ever making the caller wait: Web Push
/// ([`Push`]), or a recorder in tests.
pub trait PushSink: Send + Sync + 'static {
    fn notify(&self, user: &str, notice: Notice);
}

impl PushSink for Push {
    fn notify(&self, user: &str, notice: Notice) {
        Push::notify(self, user, notice);
    }
}

/// One open tab of a person.
struct Tab {
    conn: ConnId,
    queue: SendQueue,
    visible: Arc<AtomicBool>,
}

#[derive(Default)]
pub struct Inboxes {
    tabs: Mutex<HashMap<String, Vec<Tab>>>,
    push: OnceLock<Arc<dyn PushSink>>,
    /// The other nodes, when there are any: they have tabs too.
    relay: Relays,
    /// Who has a tab in front of them on another node, by node (from their leases).
    looking_elsewhere: Mutex<HashMap<NodeId, HashSet<String>>>,
}

impl Inboxes {
    /// Inboxes whose events also go to the other nodes through `relay`, once it is set.
    pub fn with_relay(relay: Relays) -> Self {
        Inboxes {
            relay,
            ..Inboxes::default()
        }
    }

    /// Push notifications go to `sink` from now on.
    pub fn set_push(&self, sink: Arc<dyn PushSink>) {
        let _ = self.push.set(sink);
    }

    pub fn add(&self, user: &str, conn: ConnId, queue: SendQueue, visible: Arc<AtomicBool>) {
        self.lock().entry(user.to_owned()).or_default().push(Tab {
            conn,
            queue,
            visible,
        });
    }

    pub fn remove(&self, user: &str, conn: ConnId) {
        let mut tabs = self.lock();
        if let Some(list) = tabs.get_mut(user) {
            list.retain(|tab| tab.conn != conn);
            if list.is_empty() {
                tabs.remove(user);
            }
        }
    }

    /// Queues `frame` for every tab of `user`, on every node.
    pub fn send(&self, user: &str, frame: &Frame) {
        if let Some(relay) = self.relay.get() {
            relay.to_user(user, frame);
        }
        self.send_here(user, frame);
    }

    /// Queues `frame` for the tabs of `user` on this node only: what every node works
    /// out for itself (counts), or what another node sent.
    pub fn send_here(&self, user: &str, frame: &Frame) {
        // Collected first: no socket is written while the lock is held.
        let queues: Vec<SendQueue> = self
            .lock()
            .get(user)
            .map(|tabs| tabs.iter().map(|t| t.queue.clone()).collect())
            .unwrap_or_default();
        for queue in queues {
            queue.push(frame);
        }
    }

    /// Whether `user` has a tab open in front of them, here or (as last heard) on
    /// another node.
    pub fn is_looking(&self, user: &str) -> bool {
        let here = self
            .lock()
            .get(user)
            .is_some_and(|tabs| tabs.iter().any(|tab| tab.visible.load(Ordering::Relaxed)));
        here || lock(&self.looking_elsewhere)
            .values()
            .any(|users| users.contains(user))
    }

    /// The people with a tab in front of them on this node: part of its lease.
    pub fn looking_here(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, tabs)| tabs.iter().any(|tab| tab.visible.load(Ordering::Relaxed)))
            .map(|(user, _)| user.clone())
            .collect()
    }

    /// Node `node` has tabs in front of `users` (none: it is gone).
    pub fn set_looking_elsewhere(&self, node: NodeId, users: Vec<String>) {
        let mut elsewhere = lock(&self.looking_elsewhere);
        if users.is_empty() {
            elsewhere.remove(&node);
        } else {
            elsewhere.insert(node, users.into_iter().collect());
        }
    }

    pub fn is_online(&self, user: &str) -> bool {
        self.lock().contains_key(user)
    }

    /// Tells `user` about a message that wants their attention: an `alert` to their tabs
    /// and, when no tab is in front of them, a push notification.
    pub fn alert(&self, user: &str, frame: &Frame, notice: impl FnOnce() -> Notice) {
        self.send(user, frame);
        if let Some(push) = self.push.get() {
            if !self.is_looking(user) {
                push.notify(user, notice());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Tab>>> {
        lock(&self.tabs)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ws::send_queue::QueueBound;

    struct Recorder(Mutex<Vec<(String, Notice)>>);

    impl PushSink for Recorder {
        fn notify(&self, user: &str, notice: Notice) {
            self.0.lock().unwrap().push((user.to_owned(), notice));
        }
    }

    fn queue() -> SendQueue {
        SendQueue::detached(QueueBound {
            frames: 8,
            bytes: 1 << 16,
        })
    }

    fn notice() -> Notice {
        Notice {
            room: "general".into(),
            seq: 1,
            title: "Ana".into(),
            body: "hi".into(),
        }
    }

    #[test]
    fn push_goes_out_only_while_no_tab_is_in_front() {
        let inboxes = Inboxes::default();
        let pushed = Arc::new(Recorder(Mutex::default()));
        inboxes.set_push(pushed.clone());
        let visible = Arc::new(AtomicBool::new(true));
        inboxes.add("u-bo", 1, queue(), visible.clone());
        let frame = Frame::from("{}".to_owned());
        inboxes.alert("u-bo", &frame, notice);
        assert!(
            pushed.0.lock().unwrap().is_empty(),
            "a visible tab: no push"
        );
        visible.store(false, Ordering::Relaxed);
        inboxes.alert("u-bo", &frame, notice);
        inboxes.remove("u-bo", 1);
        inboxes.alert("u-bo", &frame, notice);
        assert_eq!(pushed.0.lock().unwrap().len(), 2, "hidden, then closed");
        assert!(!inboxes.is_online("u-bo"));
    }
}
