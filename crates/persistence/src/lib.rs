//! # hoheit-persistence — the storage adapter
//!
//! Implements the domain's [`Store`](hoheit_domain::ports::Store),
//! [`OutboxQueue`](hoheit_domain::ports::OutboxQueue) and [`Queries`](hoheit_domain::ports::Queries)
//! (the read views, `queries.rs`) ports with SeaORM 2 on **SQLite** (the
//! embedded default: one file, WAL, durable commits) and **PostgreSQL** (production and
//! scale-out), with the same migrations and the same behaviour: both pass the store contract
//! (`hoheit_domain::testing::contract`) that the in-memory store passes too. Each table has one
//! module (`tables/`) with its statements and its row conversions; a value read from a row that
//! this version does not know is corruption, never a default.
//!
//! What it guarantees:
//! - **One commit = state + audit entries + outbox**, atomically. Commits go through a single
//!   writer task per process that batches concurrent change sets into one transaction (group
//!   commit, one fsync per batch), each change set inside its own savepoint so one failing change
//!   set (a lost optimistic-lock race, a duplicate webhook) does not fail the others.
//! - **Encryption at rest** ([`crypto`]): master key -> tenant key -> candidate key, AEAD with
//!   associated data binding tenant/table/row/column/key version. Message bodies, phone numbers,
//!   names, notes and media are never stored in clear; ids, times, statuses and rule codes are,
//!   so the system can work on them. A blind index (HMAC with a tenant key) finds candidates by
//!   number without storing it.
//! - **Crypto-shredding** on erasure: content rows deleted and the candidate key destroyed in one
//!   transaction; the suppression entry and content-free evidence stay.
//! - **Idempotent ingest**: an inbound provider id is stored once per tenant, as a keyed hash
//!   (wamids are built from the number: the id itself is only kept sealed); statuses merge; the
//!   hashes of an erased candidate's ids are kept for the replay window, so replays stay
//!   duplicates.
//! - **Transactional outbox** with leases (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
//! - **Tenant scoping**: tenant-owned tables are queried through one helper
//!   (`entity::scoped`), so no query forgets the tenant.
//! - **Audit chain**: audited domain events become `hoheit-audit` entries in the same
//!   transaction; the per-tenant head row is locked (`FOR UPDATE` on PostgreSQL, the single
//!   SQLite writer otherwise) so the chain never forks, and `(tenant, seq)` is unique.

pub mod crypto;
pub mod live;

mod accounts;
mod batch;
mod codec;
mod credentials;
mod entity;
mod housekeeping;
mod idp;
mod migration;
mod ops;
mod queries;
mod shared;
mod store;
mod tables;
mod writer;

pub use credentials::{ApiToken, PLATFORM_CHAIN, TokenRecord, token_hash};
pub use housekeeping::{ProviderHasher, ProviderIdConversion};
pub use idp::StoredIdpSettings;
pub use migration::Migrator;
pub use ops::{AuditRead, CandidateSummary, ChannelCredentials, DeadlineCounts, VerifyOutcome};
pub use shared::{StageObserver, Wakeups};
pub use store::{PersistenceConfig, SeaStore, SqliteSync};

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

/// Applies all pending migrations. Run explicitly (`hoheit migrate`, tests), never implicitly.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    Migrator::up(db, None).await
}

/// Whether every migration is applied (for `/readyz`).
pub async fn migrations_current(db: &DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}
