//! Schema housekeeping as store methods (`SeaStore::migrate`, `migrations_current`, `is_empty`):
//! what the binary uses instead of touching the connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::Db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_embedded_database_is_empty_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("new.db").display());
    let config = hoheit_persistence::PersistenceConfig::new(url);
    let store = hoheit_persistence::SeaStore::connect(&config, hoheit_persistence::crypto::MasterKey::generate(1))
        .await
        .unwrap();
    assert!(store.is_empty().await.unwrap());
    assert!(!store.migrations_current().await.unwrap());
    store.migrate().await.unwrap();
    assert!(!store.is_empty().await.unwrap());
    assert!(store.migrations_current().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_never_taken_for_a_new_embedded_database() {
    let Some(db) = Db::postgres().await else { return };
    assert!(!db.store.is_empty().await.unwrap());
    assert!(db.store.migrations_current().await.unwrap());
}
