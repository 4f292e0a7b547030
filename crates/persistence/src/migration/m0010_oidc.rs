//! Issue 16 (OpenID Connect sign-in): `idp_settings` holds a tenant's identity provider settings
//! and client secret, sealed with the tenant key (one row per tenant); `oidc_pending_logins`
//! holds sign-ins between the redirect to the provider and its callback, keyed by the SHA-256 of
//! the `state`, sealed, taken (deleted) exactly once, so a replayed callback finds nothing on any
//! replica.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

fn up_statements(backend: DbBackend) -> Vec<String> {
    let blob = if backend == DbBackend::Postgres { "BYTEA" } else { "BLOB" };
    vec![
        format!(
            "CREATE TABLE idp_settings (
                tenant_id {blob} PRIMARY KEY REFERENCES tenants(id),
                data {blob} NOT NULL,
                updated_at BIGINT NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE oidc_pending_logins (
                state_hash {blob} PRIMARY KEY,
                tenant_id {blob} NOT NULL REFERENCES tenants(id),
                data {blob} NOT NULL,
                created_at BIGINT NOT NULL
            )"
        ),
        "CREATE INDEX oidc_pending_logins_created ON oidc_pending_logins (created_at)".to_owned(),
    ]
}

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS oidc_pending_logins_created",
    "DROP TABLE IF EXISTS oidc_pending_logins",
    "DROP TABLE IF EXISTS idp_settings",
];

#[allow(elided_lifetimes_in_paths)] // the trait is declared without the lifetime
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in up_statements(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in DOWN {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
