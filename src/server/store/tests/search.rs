//! Search, on both stores: the same words find the same messages.

use std::sync::Arc;

use crate::protocol::{Change, RoomKind, Seq};
use crate::server::store::search::SearchQuery;
use crate::server::store::{Asker, Created, MemberRecord, NewMessage, NewRoom, NewUpdate, Store};

crate::server::store::testing::on_both_stores! {
    search_finds_stemmed_words_newest_first_in_readable_rooms_only,
    stop_words_are_words_too,
}

fn msg(cid: &str, author: &str, text: &str) -> NewMessage {
    NewMessage {
        cid: cid.into(),
        author: author.into(),
        author_id: format!("u-{author}"),
        text: text.into(),
        at_ms: 1,
        mentions: Vec::new(),
        doc: None,
        file: None,
        reply: None,
    }
}

async fn found(store: &dyn Store, user: &str, typed: &str) -> Vec<(String, Seq)> {
    let query = SearchQuery::parse(typed).unwrap();
    store
        .search(user, &query, 30)
        .await
        .unwrap()
        .into_iter()
        .map(|hit| (hit.room, hit.seq))
        .collect()
}

/// Waits until `typed` finds `hits` messages: what was stored before is indexed then.
async fn eventually_found(store: &dyn Store, user: &str, typed: &str, hits: usize) {
    for _ in 0..500 {
        if found(store, user, typed).await.len() == hits {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{typed:?} did not find {hits} messages within 5 s");
}

/// Words SQLite's tokenizer keeps and a stock English configuration would drop ("the",
/// "again"): found on both.
async fn stop_words_are_words_too(store: Arc<dyn Store>) {
    let general = store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.slug == "general")
        .unwrap()
        .id;
    store
        .append(general, &[msg("c-000001", "ana", "the same again")])
        .await
        .unwrap();
    eventually_found(&*store, "u-bo", "same", 1).await;
    assert_eq!(
        found(&*store, "u-bo", "again").await,
        [("general".to_owned(), 1)]
    );
    assert_eq!(
        found(&*store, "u-bo", "The").await,
        [("general".to_owned(), 1)]
    );
}

async fn search_finds_stemmed_words_newest_first_in_readable_rooms_only(store: Arc<dyn Store>) {
    let rooms = store.rooms().await.unwrap();
    let general = rooms.iter().find(|r| r.slug == "general").unwrap().id;
    let Created::Created(secret) = store
        .create_room(
            &NewRoom {
                slug: "secret".into(),
                title: "Secret".into(),
                topic: String::new(),
                kind: RoomKind::Private,
                owner: Some("u-ana".into()),
                people: None,
                members: vec![MemberRecord {
                    user_id: "u-ana".into(),
                    name: "ana".into(),
                }],
            },
            1,
        )
        .await
        .unwrap()
    else {
        panic!("room taken")
    };
    store
        .append(
            general,
            &[
                msg("c-000001", "ana", "We deployed the café menu"),
                msg("c-000002", "bo", "deploying again tomorrow"),
                msg("c-000003", "bo", "nothing to see"),
            ],
        )
        .await
        .unwrap();
    store
        .append(secret.id, &[msg("c-000004", "ana", "secret deploy plans")])
        .await
        .unwrap();

    // Stemmed (deployed, deploying, deploy), newest first; the private room only for
    // its member.
    // (SQLite indexes just after storing: everything is found once the last is.)
    let general_hits = vec![("general".to_owned(), 2), ("general".to_owned(), 1)];
    eventually_found(&*store, "u-ana", "deploy", 3).await;
    assert_eq!(found(&*store, "u-bo", "deploy").await, general_hits);
    assert_eq!(
        found(&*store, "u-ana", "deploy").await,
        [
            ("secret".to_owned(), 1),
            ("general".to_owned(), 2),
            ("general".to_owned(), 1)
        ]
    );
    // Accents and case ignored; filters.
    assert_eq!(
        found(&*store, "u-bo", "CAFE").await,
        [("general".to_owned(), 1)]
    );
    assert_eq!(
        found(&*store, "u-bo", "deploy from:BO").await,
        [("general".to_owned(), 2)]
    );
    assert_eq!(
        found(&*store, "u-ana", "deploy in:#secret").await,
        [("secret".to_owned(), 1)]
    );
    assert!(found(&*store, "u-bo", "deploy in:secret").await.is_empty());
    // What FTS5 would misread is only words.
    for typed in [
        "\"deploy",
        "deploy*",
        "NEAR(deploy menu)",
        "text:deploy",
        "deploy OR see",
        "^deploy",
    ] {
        let query = SearchQuery::parse(typed).unwrap();
        assert!(store.search("u-bo", &query, 30).await.is_ok(), "{typed}");
    }
    assert!(
        found(&*store, "u-bo", "deploy OR see").await.is_empty(),
        "OR is a word"
    );

    // Edits and deletes keep the index in step.
    let by = |user: &str| Asker::Author(format!("u-{user}"));
    let edit = |cid: &str, target, text: &str, user: &str| NewUpdate {
        cid: cid.into(),
        target,
        change: Change::Edited {
            text: text.into(),
            doc: None,
        },
        at_ms: 2,
        by: by(user),
    };
    let delete = NewUpdate {
        cid: "d-1".into(),
        target: 2,
        change: Change::Deleted,
        at_ms: 2,
        by: by("bo"),
    };
    store
        .change(
            general,
            &[
                edit("e-1", 1, "We shipped the menu", "ana"),
                edit("e-2", 3, "deploy on friday", "bo"),
                delete,
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        found(&*store, "u-bo", "deploy").await,
        [("general".to_owned(), 3)]
    );
    assert_eq!(
        found(&*store, "u-bo", "shipping").await,
        [("general".to_owned(), 1)]
    );
    assert!(found(&*store, "u-bo", "again").await.is_empty(), "deleted");
}
