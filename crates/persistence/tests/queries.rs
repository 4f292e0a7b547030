//! The domain's read-port contract (`hoheit_domain::testing::queries_contract`) on SQLite and
//! PostgreSQL (when `HOHEIT_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::Db;
use hoheit_domain::testing::queries_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_honours_the_queries_contract() {
    let db = Db::sqlite().await;
    queries_contract(Arc::new(db.store.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_honours_the_queries_contract() {
    let Some(db) = Db::postgres().await else { return };
    queries_contract(Arc::new(db.store.clone())).await;
}

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
