//! Link cards and thumbnails, on both stores.

use std::sync::Arc;

use crate::server::store::previews::CachedCard;
use crate::server::store::Store;

crate::server::store::testing::on_both_stores! {
    cards_and_thumbnails_are_kept,
}

async fn cards_and_thumbnails_are_kept(store: Arc<dyn Store>) {
    assert_eq!(store.cached_card("https://a.example/").await.unwrap(), None);
    let none = CachedCard {
        card: None,
        fetched_ms: 5,
    };
    store.keep_card("https://a.example/", &none).await.unwrap();
    assert_eq!(
        store.cached_card("https://a.example/").await.unwrap(),
        Some(none)
    );
    let card = CachedCard {
        card: Some(crate::protocol::Preview {
            url: "https://a.example/".into(),
            site: "A".into(),
            title: "A page".into(),
            ..Default::default()
        }),
        fetched_ms: 9,
    };
    store.keep_card("https://a.example/", &card).await.unwrap();
    assert_eq!(
        store.cached_card("https://a.example/").await.unwrap(),
        Some(card)
    );
    store.keep_thumbnail("ab", b"jpeg").await.unwrap();
    store.keep_thumbnail("ab", b"jpeg").await.unwrap();
    assert_eq!(store.thumbnail("ab").await.unwrap(), Some(b"jpeg".to_vec()));
    assert_eq!(store.thumbnail("cd").await.unwrap(), None);
}
