//! The read port's contract on the in-memory store (the persistence adapter runs the same
//! contract on SQLite and PostgreSQL).

use std::sync::Arc;

use futures_executor::block_on;
use hoheit_domain::testing::{InMemoryStore, queries_contract};

#[test]
fn the_in_memory_store_honours_the_queries_contract() {
    block_on(queries_contract(Arc::new(InMemoryStore::default())));
}
