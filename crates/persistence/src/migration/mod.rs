//! Schema migrations (sea-orm-migration). They run explicitly — `hoheit migrate`, or
//! [`crate::migrate`] in tests — never implicitly at start. An applied migration is never
//! edited; changes come as new migrations.
//!
//! Column conventions: ids are 16-byte UUIDs (`BLOB` / `BYTEA`), times are microseconds since
//! the Unix epoch (`BIGINT`, UTC), sealed columns are AEAD ciphertexts (see [`crate::crypto`]).

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_media;
mod m0003_inactivity_end;
mod m0004_hold_review;
mod m0005_provider_ids;
mod m0006_credentials;
mod m0007_send_attempts;
mod m0008_staff_accounts;
mod m0010_oidc;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_media::Migration),
            Box::new(m0003_inactivity_end::Migration),
            Box::new(m0004_hold_review::Migration),
            Box::new(m0005_provider_ids::Migration),
            Box::new(m0006_credentials::Migration),
            Box::new(m0007_send_attempts::Migration),
            Box::new(m0008_staff_accounts::Migration),
            Box::new(m0010_oidc::Migration),
        ]
    }
}
