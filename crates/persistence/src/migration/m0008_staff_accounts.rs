//! Issue 16 (staff accounts and browser sessions): `staff_accounts` (role, status, e-mail and
//! name sealed with the tenant key and the e-mail found by its blind index, the argon2id PHC
//! string, the TOTP secret sealed, the identity-provider subject sealed and blind-indexed),
//! `staff_recovery_codes` (SHA-256 only, single use), `sign_in_throttles` (failure counts by a
//! keyed hash of e-mail, source address or account) and `staff_sessions` (the cookie value only
//! as SHA-256). One migration for both (m0009 stays unused).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

fn up_statements(backend: DbBackend) -> Vec<String> {
    let blob = if backend == DbBackend::Postgres { "BYTEA" } else { "BLOB" };
    vec![
        format!(
            "CREATE TABLE staff_accounts (
                id {blob} PRIMARY KEY,
                tenant_id {blob} NOT NULL REFERENCES tenants(id),
                role TEXT NOT NULL,
                status TEXT NOT NULL,
                email_hash {blob} NOT NULL,
                email_sealed {blob} NOT NULL,
                name_sealed {blob} NOT NULL,
                language TEXT NOT NULL,
                created_by {blob},
                appointed_by {blob},
                created_at BIGINT NOT NULL,
                password_hash TEXT,
                totp_sealed {blob},
                totp_confirmed BIGINT NOT NULL DEFAULT 0,
                totp_last_step BIGINT,
                idp_issuer TEXT,
                idp_subject_hash {blob},
                idp_subject_sealed {blob},
                version BIGINT NOT NULL
            )"
        ),
        "CREATE UNIQUE INDEX staff_accounts_email ON staff_accounts (tenant_id, email_hash)".to_owned(),
        "CREATE UNIQUE INDEX staff_accounts_idp ON staff_accounts (tenant_id, idp_subject_hash)".to_owned(),
        format!(
            "CREATE TABLE staff_recovery_codes (
                staff_id {blob} NOT NULL REFERENCES staff_accounts(id),
                tenant_id {blob} NOT NULL,
                code_hash {blob} NOT NULL,
                used_at BIGINT,
                PRIMARY KEY (staff_id, code_hash)
            )"
        ),
        format!(
            "CREATE TABLE sign_in_throttles (
                key_hash {blob} PRIMARY KEY,
                tenant_id {blob} NOT NULL,
                failures BIGINT NOT NULL,
                last_failure BIGINT NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE staff_sessions (
                id {blob} PRIMARY KEY,
                hash {blob} NOT NULL UNIQUE,
                tenant_id {blob} NOT NULL,
                staff_id {blob} NOT NULL REFERENCES staff_accounts(id),
                stage TEXT NOT NULL,
                method TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                user_agent TEXT NOT NULL,
                revoked_at BIGINT
            )"
        ),
        "CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id, created_at)".to_owned(),
    ]
}

const DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS staff_sessions",
    "DROP TABLE IF EXISTS sign_in_throttles",
    "DROP TABLE IF EXISTS staff_recovery_codes",
    "DROP TABLE IF EXISTS staff_accounts",
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
