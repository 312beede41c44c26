//! Moderation's storage, on both stores.

use std::sync::Arc;

use crate::server::store::moderation::{
    AuditEntry, ModerationChange, RoomRole, RoomRules, SanctionKind, SanctionRecord, SERVER_WIDE,
};
use crate::server::store::{Created, SessionRecord, Store};

crate::server::store::testing::on_both_stores! {
    the_first_account_is_the_admin,
    each_change_comes_with_its_audit_line_and_moves_the_clock,
    reports_wait_until_the_message_is_removed,
    a_request_is_carried_out_once,
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 5,
        actor: "Ana".into(),
        action: action.into(),
        target: "Bo".into(),
        room: "general".into(),
        detail: String::new(),
    }
}

async fn the_first_account_is_the_admin(store: Arc<dyn Store>) {
    assert!(store.moderation().await.unwrap().admins.is_empty());
    for (user, name) in [("u-ana", "Ana"), ("u-bo", "Bo")] {
        let made = store
            .create_account(user, name, &name.to_lowercase(), "hash", 1)
            .await
            .unwrap();
        assert!(matches!(made, Created::Created(_)));
    }
    let admins = store.moderation().await.unwrap().admins;
    assert_eq!(admins.into_iter().collect::<Vec<_>>(), ["u-ana"]);
}

async fn each_change_comes_with_its_audit_line_and_moves_the_clock(store: Arc<dyn Store>) {
    let start = store.moderation_clock().await.unwrap();
    let general = store.rooms().await.unwrap()[0].id;
    let session = SessionRecord {
        account_id: None,
        user_id: "u-bo".into(),
        name: "Bo".into(),
        expires_ms: i64::MAX,
    };
    store
        .create_session(b"bo-token", &session, 1)
        .await
        .unwrap();
    let changes = [
        ModerationChange::Role {
            room: general,
            user: "u-cy".into(),
            role: Some(RoomRole::Moderator),
        },
        ModerationChange::Sanction(SanctionRecord {
            room: general,
            user: "u-bo".into(),
            kind: SanctionKind::Mute,
            until_ms: Some(1_000),
            addr: None,
        }),
        // The same again, longer: one sanction, replaced.
        ModerationChange::Sanction(SanctionRecord {
            room: general,
            user: "u-bo".into(),
            kind: SanctionKind::Mute,
            until_ms: Some(2_000),
            addr: None,
        }),
        ModerationChange::Sanction(SanctionRecord {
            room: SERVER_WIDE,
            user: "u-bo".into(),
            kind: SanctionKind::Ban,
            until_ms: None,
            addr: Some("10.0.0.1".into()),
        }),
        ModerationChange::Rules {
            room: general,
            rules: RoomRules {
                locked: true,
                slow_s: 30,
                archived: false,
            },
        },
        ModerationChange::Rename {
            room: general,
            title: "Lobby".into(),
            topic: "Say hi".into(),
        },
    ];
    let mut clock = start;
    for (i, change) in changes.iter().enumerate() {
        let moved = store
            .moderate(change, &audit(&format!("act-{i}")))
            .await
            .unwrap();
        assert_eq!(moved, clock + 1, "one tick per change");
        clock = moved;
    }
    let record = store.moderation().await.unwrap();
    assert_eq!(record.clock, clock);
    assert_eq!(
        record.roles.get(&(general, "u-cy".to_owned())),
        Some(&RoomRole::Moderator)
    );
    let mutes: Vec<_> = record
        .sanctions
        .iter()
        .filter(|s| s.kind == SanctionKind::Mute)
        .collect();
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0].until_ms, Some(2_000));
    assert_eq!(record.rules[&general].slow_s, 30);
    assert!(record.rules[&general].locked);
    assert_eq!(record.names[&general], ("Lobby".into(), "Say hi".into()));
    assert!(
        store.session(b"bo-token", 2).await.unwrap().is_none(),
        "a server ban ends the sessions"
    );
    let log = store.audit_log(3).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["act-5", "act-4", "act-3"], "newest first");
    let lifted = ModerationChange::Lift {
        room: general,
        user: "u-bo".into(),
        kind: SanctionKind::Mute,
    };
    store.moderate(&lifted, &audit("unmute")).await.unwrap();
    let left = store.moderation().await.unwrap().sanctions;
    assert!(left.iter().all(|s| s.kind == SanctionKind::Ban));
}

async fn reports_wait_until_the_message_is_removed(store: Arc<dyn Store>) {
    let general = store.rooms().await.unwrap()[0].id;
    store.report(general, 7, "u-ana", 10).await.unwrap();
    store.report(general, 7, "u-ana", 11).await.unwrap();
    store.report(general, 7, "u-bo", 12).await.unwrap();
    store.report(general, 3, "u-bo", 20).await.unwrap();
    let open = store.open_reports(10).await.unwrap();
    let seen: Vec<_> = open.iter().map(|r| (r.seq, r.reporters, r.at_ms)).collect();
    assert_eq!(
        seen,
        [(7, 2, 10), (3, 1, 20)],
        "one line a message, oldest first"
    );
    let removed = ModerationChange::Removed {
        room: general,
        seq: 7,
    };
    store.moderate(&removed, &audit("remove")).await.unwrap();
    let open = store.open_reports(10).await.unwrap();
    assert_eq!(open.iter().map(|r| r.seq).collect::<Vec<_>>(), [3]);
}

async fn a_request_is_carried_out_once(store: Arc<dyn Store>) {
    let first = store.file_request("{\"a\":1}", 1).await.unwrap();
    let second = store.file_request("{\"b\":2}", 2).await.unwrap();
    let pending = store.pending_requests().await.unwrap();
    assert_eq!(
        pending,
        [
            (first, "{\"a\":1}".to_owned()),
            (second, "{\"b\":2}".to_owned())
        ]
    );
    assert_eq!(store.request_outcome(first).await.unwrap(), None);
    store.finish_request(first, "done", 3).await.unwrap();
    assert_eq!(
        store.request_outcome(first).await.unwrap().as_deref(),
        Some("done")
    );
    store
        .finish_request(second, "refused: no", 3)
        .await
        .unwrap();
    assert!(store.pending_requests().await.unwrap().is_empty());
}
