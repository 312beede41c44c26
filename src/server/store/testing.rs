//! Tests of the seam run on both stores: [`on_both_stores!`] makes two tests of each
//! listed function, one on a fresh SQLite file, one on a fresh PostgreSQL database.
//!
//! The PostgreSQL one connects through `NATTER_TEST_POSTGRES` (a URL of a server that
//! lets this user create databases; `scripts/test` starts one). Without it the test
//! passes having done nothing, unless `NATTER_REQUIRE_POSTGRES` is set, as the test
//! command sets it: there it fails.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection};

use super::postgres::PgStore;
use super::{Durability, SqliteStore, Store};

/// What keeps a test's database alive: dropped, it is deleted.
pub enum Keep {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, database: String },
}

impl Drop for Keep {
    fn drop(&mut self) {
        let Keep::Postgres { server, database } = self else {
            return;
        };
        let (server, database) = (server.clone(), database.clone());
        // A test's runtime may be ending: the drop gets a thread and a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                admin.execute(sql.as_str()).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

pub async fn sqlite() -> (Arc<dyn Store>, Keep) {
    let (store, keep) = sqlite_store().await;
    (Arc::new(store), keep)
}

pub async fn sqlite_store() -> (SqliteStore, Keep) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    (store, Keep::Sqlite(dir))
}

/// A fresh database on the test server, or `None` when there is none to use.
pub async fn postgres() -> Option<(Arc<dyn Store>, Keep)> {
    let (store, keep) = postgres_store().await?;
    Some((Arc::new(store), keep))
}

pub async fn postgres_store() -> Option<(PgStore, Keep)> {
    let (mut stores, keep) = postgres_nodes(1).await?;
    Some((stores.remove(0), keep))
}

/// `nodes` stores on one fresh database, as several servers would share it.
pub async fn postgres_nodes(nodes: usize) -> Option<(Vec<PgStore>, Keep)> {
    let Ok(server) = std::env::var("NATTER_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("NATTER_REQUIRE_POSTGRES").is_none(),
            "NATTER_REQUIRE_POSTGRES is set but NATTER_TEST_POSTGRES is not"
        );
        eprintln!("skipped on PostgreSQL: NATTER_TEST_POSTGRES is not set");
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let database = format!(
        "natter_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(&server)
        .await
        .expect("the test server");
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .expect("a test database");
    let keep = Keep::Postgres {
        server: server.clone(),
        database: database.clone(),
    };
    let mut url = url::Url::parse(&server).expect("NATTER_TEST_POSTGRES is a URL");
    url.set_path(&database);
    let mut stores = Vec::with_capacity(nodes);
    for _ in 0..nodes {
        let store = PgStore::open_with(url.as_str(), Durability::Full, 4)
            .await
            .expect("the test database opens");
        stores.push(store);
    }
    Some((stores, keep))
}

/// Two tests of each `async fn name(store: Arc<dyn Store>)` listed: `on_sqlite::name`
/// and `on_postgres::name`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _keep) = $crate::server::store::testing::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((store, _keep)) = $crate::server::store::testing::postgres().await
                    else {
                        return;
                    };
                    super::$name(store).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_stores;
