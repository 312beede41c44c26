//! Push subscriptions and the VAPID key, on both stores.

use std::sync::Arc;

use crate::server::store::{PushSubscription, Store};

crate::server::store::testing::on_both_stores! {
    subscriptions_are_kept_per_user_and_capped,
    the_first_vapid_key_kept_stays,
}

fn sub(n: u8) -> PushSubscription {
    PushSubscription {
        endpoint: format!("https://push.example.com/{n}"),
        p256dh: vec![4; 65],
        auth: vec![n; 16],
    }
}

async fn subscriptions_are_kept_per_user_and_capped(store: Arc<dyn Store>) {
    for n in 0..4 {
        store
            .add_push_subscription("ana", &sub(n), 3, 1000 + i64::from(n))
            .await
            .unwrap();
    }
    store
        .add_push_subscription("bo", &sub(9), 3, 1)
        .await
        .unwrap();
    let ana = store.push_subscriptions("ana").await.unwrap();
    assert_eq!(ana, vec![sub(3), sub(2), sub(1)], "the oldest is dropped");
    // The same browser signed in as someone else: the subscription moves.
    store
        .add_push_subscription("bo", &sub(3), 3, 2000)
        .await
        .unwrap();
    assert_eq!(store.push_subscriptions("ana").await.unwrap().len(), 2);
    assert!(!store
        .delete_push_subscription_of("ana", &sub(9).endpoint)
        .await
        .unwrap());
    assert!(store
        .delete_push_subscription_of("bo", &sub(9).endpoint)
        .await
        .unwrap());
    assert!(store
        .delete_push_subscription(&sub(3).endpoint)
        .await
        .unwrap());
    assert!(store.push_subscriptions("bo").await.unwrap().is_empty());
}

async fn the_first_vapid_key_kept_stays(store: Arc<dyn Store>) {
    assert_eq!(store.vapid_key().await.unwrap(), None);
    assert_eq!(
        store.keep_vapid_key(&[1; 32], 1).await.unwrap(),
        vec![1; 32]
    );
    assert_eq!(
        store.keep_vapid_key(&[2; 32], 2).await.unwrap(),
        vec![1; 32]
    );
    assert_eq!(store.vapid_key().await.unwrap(), Some(vec![1; 32]));
}
