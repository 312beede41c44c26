//! Accounts, on both stores.

use std::sync::Arc;

use crate::server::names::name_key;
use crate::server::store::{Created, Store};

crate::server::store::testing::on_both_stores! {
    accounts_are_rekeyed_once_and_look_alikes_keep_their_old_key,
}

async fn accounts_are_rekeyed_once_and_look_alikes_keep_their_old_key(store: Arc<dyn Store>) {
    // Keys as they were made before: case folded only.
    for (user, name) in [("u-1", "Ana"), ("u-2", "\u{410}na"), ("u-3", "Bo")] {
        let made = store
            .create_account(user, name, &name.to_lowercase(), "hash", 1)
            .await
            .unwrap();
        assert!(matches!(made, Created::Created(_)));
    }
    // "Ana" keeps "ana"; the Cyrillic one would clash and keeps its own key.
    assert_eq!(store.rekey_accounts(&name_key).await.unwrap(), 0);
    let cyrillic = store.account_by_key("\u{430}na").await.unwrap().unwrap();
    assert_eq!(cyrillic.user_id, "u-2");
    let latin = store.account_by_key(&name_key("\u{410}na")).await.unwrap();
    assert_eq!(
        latin.unwrap().user_id,
        "u-1",
        "a look-alike finds the first Ana"
    );
    // A key that differs only by the new rule is brought up to date, once.
    let zoe = store
        .create_account("u-4", "\u{FF3A}oe", "\u{FF5A}oe", "hash", 1)
        .await
        .unwrap();
    assert!(matches!(zoe, Created::Created(_)));
    assert_eq!(store.rekey_accounts(&name_key).await.unwrap(), 1);
    assert_eq!(store.rekey_accounts(&name_key).await.unwrap(), 0);
    assert!(store.account_by_key("zoe").await.unwrap().is_some());
}
