//! The store contract (`hoheit_domain::testing::contract`, the same cases the in-memory store
//! passes) run against SQLite and against PostgreSQL (when `HOHEIT_TEST_POSTGRES_URL` is set;
//! `scripts/test` sets it). What needs the real database files stays in `store_suite.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod sqlite {
    hoheit_domain::store_contract_tests!(run: super::common::run, harness: super::common::SeaHarness::sqlite);
}

mod postgres {
    hoheit_domain::store_contract_tests!(run: super::common::run, harness: super::common::SeaHarness::postgres);
}
