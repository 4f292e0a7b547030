//! The store contract (`hoheit_domain::testing::contract`) run against the in-memory store, the
//! same cases the persistence adapter runs against SQLite and PostgreSQL.

use futures_executor::block_on;
use hoheit_domain::testing::contract::MemoryHarness;

hoheit_domain::store_contract_tests!(run: block_on, harness: MemoryHarness::new_store);
