//! Issue 13 (credentials): API tokens get an expiry, their creator and a last-use time;
//! `invitations` holds single-use, expiring invitations (the secret only as SHA-256);
//! `platform_audit_entries` is the operator's hash chain (operator tokens issued and revoked),
//! which no tenant can write to. Tokens that existed before expire 90 days after this migration.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

fn up_statements(backend: DbBackend) -> Vec<String> {
    let blob = if backend == DbBackend::Postgres { "BYTEA" } else { "BLOB" };
    // the database's clock, in microseconds, plus 90 days (a migration has no injected clock)
    let in_90_days = if backend == DbBackend::Postgres {
        "(CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 7776000) * 1000000"
    } else {
        "(CAST(strftime('%s', 'now') AS INTEGER) + 7776000) * 1000000"
    };
    vec![
        "ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT".to_owned(),
        format!("ALTER TABLE api_tokens ADD COLUMN created_by {blob}"),
        "ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT".to_owned(),
        "ALTER TABLE api_tokens ADD COLUMN expiry_recorded_at BIGINT".to_owned(),
        format!("UPDATE api_tokens SET expires_at = {in_90_days} WHERE expires_at IS NULL"),
        "CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at)".to_owned(),
        format!(
            "CREATE TABLE invitations (
                id {blob} PRIMARY KEY,
                tenant_id {blob} NOT NULL REFERENCES tenants(id),
                role TEXT NOT NULL,
                origin TEXT NOT NULL,
                reason TEXT,
                secret_hash {blob} NOT NULL UNIQUE,
                created_by {blob},
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                accepted_at BIGINT
            )"
        ),
        "CREATE INDEX invitations_tenant ON invitations (tenant_id, created_at)".to_owned(),
        format!(
            "CREATE TABLE platform_audit_entries (
                seq BIGINT PRIMARY KEY,
                at BIGINT NOT NULL,
                action TEXT NOT NULL,
                canonical {blob} NOT NULL,
                hash {blob} NOT NULL
            )"
        ),
    ]
}

const DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS platform_audit_entries",
    "DROP TABLE IF EXISTS invitations",
    "DROP INDEX IF EXISTS api_tokens_tenant",
    "ALTER TABLE api_tokens DROP COLUMN expiry_recorded_at",
    "ALTER TABLE api_tokens DROP COLUMN last_used_at",
    "ALTER TABLE api_tokens DROP COLUMN created_by",
    "ALTER TABLE api_tokens DROP COLUMN expires_at",
];

statements!(up: up_statements, down: |_| DOWN);
