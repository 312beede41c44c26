//! The stream of a room (rooms, messages, changes, history), on both stores.

use std::sync::Arc;

use crate::protocol::Seq;
use crate::server::store::{Appended, Changed, NewMessage, NewUpdate, Newest, Store};

/// A message of ana's (used by the SQLite-only tests too).
pub(in crate::server::store) fn new(cid: &str, text: &str) -> NewMessage {
    NewMessage {
        cid: cid.into(),
        author: "ana".into(),
        author_id: "u-ana".into(),
        text: text.into(),
        at_ms: 1_700_000_000_000,
        mentions: Vec::new(),
        doc: None,
        file: None,
        reply: None,
    }
}

pub(super) async fn room_id(store: &dyn Store, slug: &str) -> i64 {
    store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.slug == slug)
        .unwrap()
        .id
}

fn card(title: &str) -> crate::protocol::Change {
    crate::protocol::Change::Preview(Box::new(crate::protocol::Preview {
        url: "https://example.com/".into(),
        site: "example.com".into(),
        title: title.into(),
        ..Default::default()
    }))
}

fn update(cid: &str, target: Seq, change: crate::protocol::Change) -> NewUpdate {
    NewUpdate {
        cid: cid.into(),
        target,
        change,
        at_ms: 1,
        by: crate::server::store::Asker::Server,
    }
}

crate::server::store::testing::on_both_stores! {
    starts_with_the_topic_rooms,
    changes_take_seqs_but_not_numbers_and_history_shows_them_applied,
    edits_deletes_and_reactions_are_changes_kept_in_history,
    a_message_takes_twenty_emoji_and_no_more,
    seqs_count_up_per_room_without_gaps,
    a_retried_send_is_stored_once,
    history_pages_walk_back_to_the_beginning,
    a_formatted_message_comes_back_with_its_tree,
    rooms_storing_at_once_each_keep_their_own_stream,
}

async fn starts_with_the_topic_rooms(store: Arc<dyn Store>) {
    let slugs: Vec<String> = store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.slug)
        .collect();
    assert_eq!(slugs, ["general", "random", "tech", "music", "games"]);
}

async fn changes_take_seqs_but_not_numbers_and_history_shows_them_applied(store: Arc<dyn Store>) {
    let room = room_id(&*store, "general").await;
    store.append(room, &[new("c-000001", "a")]).await.unwrap();
    let changed = store
        .change(
            room,
            &[
                update("preview-1", 1, card("A")),
                update("preview-9", 9, card("none")),
            ],
        )
        .await
        .unwrap();
    assert!(matches!(&changed[0], Changed::Stored(u) if u.seq == 2 && u.target == 1));
    assert_eq!(
        changed[1],
        Changed::NoTarget,
        "no message 9: nothing stored"
    );
    let next = store.append(room, &[new("c-000002", "b")]).await.unwrap();
    assert_eq!(next, [Appended::Stored(Newest { seq: 3, n: 2 })]);
    // A retried change is applied once; its removal is a change of its own.
    let again = store
        .change(
            room,
            &[
                update("preview-1", 1, card("A")),
                update("unpreview-1", 1, crate::protocol::Change::RemovePreview),
            ],
        )
        .await
        .unwrap();
    assert!(matches!(&again[0], Changed::Duplicate(u) if u.seq == 2));
    assert!(matches!(&again[1], Changed::Stored(u) if u.seq == 4));
    // Someone else's message: refused, nothing stored.
    let other = store
        .change(
            room,
            &[NewUpdate {
                by: crate::server::store::Asker::Author("u-bo".into()),
                ..update("bo-removes", 3, crate::protocol::Change::RemovePreview)
            }],
        )
        .await
        .unwrap();
    assert_eq!(other, [Changed::NoTarget]);
    let page = store.page_before(room, Seq::MAX, 50).await.unwrap();
    assert_eq!(
        page.messages
            .iter()
            .map(|m| (m.seq, m.n))
            .collect::<Vec<_>>(),
        [(1, 1), (3, 2)]
    );
    assert_eq!(page.messages[0].preview, None, "history: as it is now");
    let changes = store.updates(room, 1, 4, 10).await.unwrap();
    assert_eq!(changes.iter().map(|u| u.seq).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(changes[0].change, card("A"));
    assert_eq!(store.newest(room).await.unwrap(), Newest { seq: 4, n: 2 });
    let after = store
        .change(room, &[update("preview-3", 3, card("B"))])
        .await
        .unwrap();
    assert!(matches!(&after[0], Changed::Stored(u) if u.seq == 5));
    let range = store.range(room, 0, 5, 10).await.unwrap();
    assert_eq!(
        range[1].preview.as_ref().map(|p| p.title.as_str()),
        Some("B")
    );
    let last = store.append(room, &[new("c-000003", "c")]).await.unwrap();
    assert_eq!(last, [Appended::Stored(Newest { seq: 6, n: 3 })]);
}

async fn edits_deletes_and_reactions_are_changes_kept_in_history(store: Arc<dyn Store>) {
    use crate::protocol::{Change, ChatMessage};
    let room = room_id(&*store, "general").await;
    // `new` writes as "ana" with user id "u-ana".
    store
        .append(room, &[new("c-000001", "a"), new("c-000002", "b")])
        .await
        .unwrap();
    let ana = || crate::server::store::Asker::Author("u-ana".into());
    let react = |cid: &str, user: &str, emoji: &str| NewUpdate {
        by: crate::server::store::Asker::Member {
            user: format!("u-{user}"),
            name: user.into(),
        },
        ..update(
            cid,
            1,
            Change::Reacted {
                emoji: emoji.into(),
                names: vec![],
            },
        )
    };
    let edit = Change::Edited {
        text: "a, better".into(),
        doc: None,
    };
    let out = store
        .change(
            room,
            &[
                NewUpdate {
                    by: ana(),
                    ..update("e-1", 1, edit.clone())
                },
                // Bo may not edit Ana's message.
                NewUpdate {
                    by: crate::server::store::Asker::Author("u-bo".into()),
                    ..update("e-2", 1, edit.clone())
                },
                react("r-1", "bo", "👍"),
                react("r-2", "cy", "👍"),
                react("r-3", "bo", "🎉"),
                // A second click takes Bo's 👍 back.
                react("r-4", "bo", "👍"),
                NewUpdate {
                    by: ana(),
                    ..update("d-1", 2, Change::Deleted)
                },
                // A deleted message takes no more changes, not even from its author.
                NewUpdate {
                    by: ana(),
                    ..update("e-3", 2, edit.clone())
                },
            ],
        )
        .await
        .unwrap();
    assert!(matches!(&out[0], Changed::Stored(u) if u.seq == 3 && u.change == edit));
    assert_eq!(out[1], Changed::NoTarget);
    let names = |c: &Changed| match c {
        Changed::Stored(crate::protocol::Update {
            change: Change::Reacted { names, .. },
            ..
        }) => names.clone(),
        other => panic!("not a reaction: {other:?}"),
    };
    assert_eq!(names(&out[2]), ["bo"]);
    assert_eq!(names(&out[3]), ["bo", "cy"]);
    assert_eq!(names(&out[4]), ["bo"]);
    assert_eq!(names(&out[5]), ["cy"], "Bo's second 👍 took the first back");
    assert!(matches!(&out[6], Changed::Stored(u) if u.change == Change::Deleted));
    assert_eq!(out[7], Changed::NoTarget);

    let page = store.page_before(room, Seq::MAX, 50).await.unwrap();
    let (a, b) = (&page.messages[0], &page.messages[1]);
    assert_eq!(
        (a.text.as_str(), a.state),
        ("a, better", ChatMessage::EDITED)
    );
    assert_eq!(a.reactions, [["👍", "cy"], ["🎉", "bo"]]);
    assert_eq!((b.text.as_str(), b.state), ("", ChatMessage::DELETED));
    // What the live stream carried, applied to the messages as sent, gives history.
    let mut live = [
        ChatMessage {
            seq: 1,
            n: 1,
            author: "ana".into(),
            text: "a".into(),
            ..Default::default()
        },
        ChatMessage {
            seq: 2,
            n: 2,
            author: "ana".into(),
            text: "b".into(),
            ..Default::default()
        },
    ];
    for update in store.updates(room, 2, Seq::MAX, 50).await.unwrap() {
        let msg = live.iter_mut().find(|m| m.seq == update.target).unwrap();
        update.apply(msg);
        // Twice (live, then a resume) changes nothing more.
        update.apply(msg);
    }
    for (live, stored) in live.iter().zip(&page.messages) {
        assert_eq!(
            (&live.text, live.state, &live.reactions, live.rev),
            (&stored.text, stored.state, &stored.reactions, stored.rev)
        );
    }
}

async fn a_message_takes_twenty_emoji_and_no_more(store: Arc<dyn Store>) {
    use crate::protocol::Change;
    let room = room_id(&*store, "general").await;
    store.append(room, &[new("c-000001", "a")]).await.unwrap();
    let emoji = [
        "😀", "😁", "😂", "😃", "😄", "😅", "😆", "😇", "😈", "😉", "😊", "😋", "😌", "😍", "😎",
        "😏", "😐", "😑", "😒", "😓", "😔",
    ];
    let batch: Vec<_> = emoji
        .iter()
        .enumerate()
        .map(|(i, e)| NewUpdate {
            by: crate::server::store::Asker::Member {
                user: "u-bo".into(),
                name: "bo".into(),
            },
            ..update(
                &format!("r-{i}"),
                1,
                Change::Reacted {
                    emoji: (*e).into(),
                    names: vec![],
                },
            )
        })
        .collect();
    let out = store.change(room, &batch).await.unwrap();
    assert!(out[..20].iter().all(|c| matches!(c, Changed::Stored(_))));
    assert_eq!(out[20], Changed::TooManyReactions);
    let page = store.page_before(room, Seq::MAX, 50).await.unwrap();
    assert_eq!(
        page.messages[0].reactions.len(),
        crate::server::store::MAX_REACTIONS
    );
}

async fn seqs_count_up_per_room_without_gaps(store: Arc<dyn Store>) {
    let (general, tech) = (
        room_id(&*store, "general").await,
        room_id(&*store, "tech").await,
    );
    let a = store
        .append(general, &[new("c-000001", "a"), new("c-000002", "b")])
        .await
        .unwrap();
    let b = store.append(tech, &[new("c-000003", "x")]).await.unwrap();
    let c = store
        .append(general, &[new("c-000004", "c")])
        .await
        .unwrap();
    let seqs = |v: &[Appended]| v.iter().map(Appended::seq).collect::<Vec<_>>();
    assert_eq!(seqs(&a), [1, 2]);
    assert_eq!(seqs(&b), [1]);
    assert_eq!(seqs(&c), [3]);
    assert_eq!(store.newest(general).await.unwrap().seq, 3);
    assert_eq!(store.newest(tech).await.unwrap().seq, 1);
}

async fn a_retried_send_is_stored_once(store: Arc<dyn Store>) {
    let room = room_id(&*store, "general").await;
    let first = store
        .append(room, &[new("retry-me-1", "hello")])
        .await
        .unwrap();
    assert_eq!(first, [Appended::Stored(Newest { seq: 1, n: 1 })]);
    // Again later, and twice within one batch: still one message.
    let again = store
        .append(
            room,
            &[
                new("retry-me-1", "hello"),
                new("other-01", "x"),
                new("other-01", "x"),
            ],
        )
        .await
        .unwrap();
    match &again[0] {
        Appended::Duplicate(msg) => assert_eq!((msg.seq, msg.text.as_str()), (1, "hello")),
        other => panic!("expected the stored copy, got {other:?}"),
    }
    assert_eq!(again[1], Appended::Stored(Newest { seq: 2, n: 2 }));
    assert!(matches!(&again[2], Appended::Duplicate(msg) if msg.seq == 2));
    assert_eq!(store.newest(room).await.unwrap().seq, 2);
    // The same client id in another room is another message.
    let tech = room_id(&*store, "tech").await;
    let other_room = store.append(tech, &[new("retry-me-1", "hello")]).await;
    assert_eq!(
        other_room.unwrap(),
        [Appended::Stored(Newest { seq: 1, n: 1 })]
    );
}

async fn history_pages_walk_back_to_the_beginning(store: Arc<dyn Store>) {
    let room = room_id(&*store, "general").await;
    let batch: Vec<NewMessage> = (1..=120)
        .map(|i| new(&format!("cid-{i:05}"), &format!("m{i}")))
        .collect();
    store.append(room, &batch).await.unwrap();

    let newest = store.page_before(room, Seq::MAX, 50).await.unwrap();
    assert_eq!(newest.messages.first().unwrap().seq, 71);
    assert_eq!(newest.messages.last().unwrap().seq, 120);
    assert!(newest.has_more);

    let middle = store.page_before(room, 71, 50).await.unwrap();
    assert_eq!((middle.messages[0].seq, middle.messages[49].seq), (21, 70));
    assert!(middle.has_more);

    let oldest = store.page_before(room, 21, 50).await.unwrap();
    assert_eq!(oldest.messages.len(), 20);
    assert_eq!(oldest.messages[0].seq, 1);
    assert_eq!(oldest.messages[0].text, "m1");
    assert!(!oldest.has_more);

    let exact = store.page_before(room, 51, 50).await.unwrap();
    assert_eq!(exact.messages.len(), 50);
    assert!(
        !exact.has_more,
        "a page that ends at seq 1 has nothing before it"
    );

    let range = store.range(room, 100, 105, 50).await.unwrap();
    assert_eq!(
        range.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [101, 102, 103, 104, 105]
    );
}

async fn a_formatted_message_comes_back_with_its_tree(store: Arc<dyn Store>) {
    let room = room_id(&*store, "general").await;
    let text = "**bold** and [a link](https://example.com)";
    let doc = crate::server::chat::markdown::parse(text, &[]).map(crate::protocol::rich::to_nodes);
    assert!(doc.is_some());
    let formatted = NewMessage {
        doc: doc.clone(),
        ..new("formatted-1", text)
    };
    store
        .append(room, &[formatted.clone(), new("plain-001", "plain")])
        .await
        .unwrap();
    let page = store.page_before(room, Seq::MAX, 50).await.unwrap();
    assert_eq!(page.messages[0].text, text, "the text is kept as written");
    assert_eq!(page.messages[0].doc, doc);
    assert_eq!(page.messages[1].doc, None);
    // A retry finds the stored copy, tree and all.
    let again = store.append(room, &[formatted]).await.unwrap();
    assert!(matches!(&again[0], Appended::Duplicate(msg) if msg.doc == doc));
    let range = store.range(room, 0, 2, 10).await.unwrap();
    assert_eq!(range[0].doc, doc);
}

/// Several nodes store into one room at once, each retrying some sends (as a client
/// whose node died would, through another node): the room's stream is 1..N with no gap
/// and every message once, whichever node stored it.
#[tokio::test]
async fn nodes_storing_into_one_room_at_once_leave_no_gap_and_no_duplicate() {
    let Some((nodes, _keep)) = crate::server::store::testing::postgres_nodes(3).await else {
        return;
    };
    let nodes: Vec<Arc<dyn Store>> = nodes.into_iter().map(|n| Arc::new(n) as _).collect();
    let room = room_id(&*nodes[0], "general").await;
    const SENDS: usize = 60;
    let mut writers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.clone();
        writers.push(tokio::spawn(async move {
            let mut stored = Vec::new();
            for k in 0..SENDS {
                // Every third send is also sent through the next node's cid space: the
                // same message retried elsewhere.
                let cid = format!("n{i}-{k:04}");
                let mut batch = vec![new(&cid, "x")];
                if k % 3 == 0 {
                    batch.push(new(&format!("n{}-{k:04}", (i + 1) % 3), "x"));
                }
                for out in node.append(room, &batch).await.unwrap() {
                    stored.push(out.seq());
                }
            }
            stored
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let all = nodes[1].range(room, 0, Seq::MAX, 10_000).await.unwrap();
    assert_eq!(all.len(), 3 * SENDS, "every message once");
    let seqs: Vec<Seq> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=3 * SENDS as Seq).collect::<Vec<_>>(), "no gap");
    let ns: Vec<Seq> = all.iter().map(|m| m.n).collect();
    assert_eq!(ns, seqs, "numbers count messages");
    let mut cids: Vec<&str> = all.iter().map(|m| m.cid.as_str()).collect();
    cids.sort_unstable();
    cids.dedup();
    assert_eq!(cids.len(), 3 * SENDS);
    assert_eq!(
        nodes[2].newest(room).await.unwrap(),
        Newest {
            seq: 3 * SENDS as Seq,
            n: 3 * SENDS as Seq
        }
    );
}

/// Every room's batch stored at once (on SQLite, one round of its writer's group commit;
/// on PostgreSQL, transactions side by side), with a retry racing its first send and a
/// batch for a room that does not exist: each room's stream is its own, 1..N with no gap;
/// whichever of the send and its retry is stored first, the other comes back as that
/// message; the missing room's batch fails alone.
async fn rooms_storing_at_once_each_keep_their_own_stream(store: Arc<dyn Store>) {
    let rooms: Vec<i64> = store.rooms().await.unwrap().iter().map(|r| r.id).collect();
    let missing = rooms.iter().max().unwrap() + 1000;
    const ROUNDS: usize = 10;
    for k in 0..ROUNDS {
        let mut sends: Vec<(i64, Vec<NewMessage>)> = (rooms.iter())
            .map(|&room| {
                let cid = |part: &str| format!("r{room}-{k:03}-{part}");
                (room, vec![new(&cid("a"), "a"), new(&cid("b"), "b")])
            })
            .collect();
        let retried = format!("r{}-{k:03}-a", rooms[0]);
        sends.push((rooms[0], vec![new(&retried, "a")]));
        sends.push((missing, vec![new(&format!("nowhere-{k:03}"), "x")]));
        let outcomes = futures::future::join_all(
            (sends.iter()).map(|(room, batch)| store.append(*room, batch)),
        )
        .await;
        let (stored, rest) = outcomes.split_at(rooms.len());
        for (room, out) in rooms.iter().zip(stored) {
            let seqs: Vec<Seq> = out.as_ref().unwrap().iter().map(Appended::seq).collect();
            let first = 2 * k as Seq + 1;
            assert_eq!(seqs, [first, first + 1], "room {room}, round {k}");
        }
        let sent = &stored[0].as_ref().unwrap()[0];
        let again = &rest[0].as_ref().expect("a retry is no error")[..];
        let [again] = again else {
            panic!("one outcome for the retry: {again:?}")
        };
        let is_new = |out: &Appended| matches!(out, Appended::Stored(_));
        assert!(
            is_new(sent) != is_new(again),
            "stored once: {sent:?}, {again:?}"
        );
        assert_eq!(sent.seq(), again.seq(), "the retry is the stored message");
        let copy = if is_new(sent) { again } else { sent };
        if let Appended::Duplicate(msg) = copy {
            assert_eq!(msg.cid, retried);
        }
        assert!(rest[1].is_err(), "no room, no message");
    }
    for room in rooms {
        let all = store.range(room, 0, Seq::MAX, 1000).await.unwrap();
        let seqs: Vec<Seq> = all.iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            (1..=2 * ROUNDS as Seq).collect::<Vec<_>>(),
            "room {room}"
        );
        assert!(all.iter().all(|m| m.cid.starts_with(&format!("r{room}-"))));
    }
}
