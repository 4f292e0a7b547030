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
