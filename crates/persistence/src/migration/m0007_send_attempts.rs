//! Issue 14 item 5 (exactly-once sends across crashes): `outbox.attempt_at`, when the dispatcher
//! recorded the open attempt just before calling 360Dialog (NULL: none open), in clear (a time);
//! `outbox.receipt`, the provider id a status webhook carrying the entry's tag confirmed for that
//! attempt, sealed with the candidate key (a WhatsApp message id is personal data). Existing rows
//! have no open attempt.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

fn up_statements(backend: DbBackend) -> [String; 2] {
    let bytes = if backend == DbBackend::Postgres { "BYTEA" } else { "BLOB" };
    [
        "ALTER TABLE outbox ADD COLUMN attempt_at BIGINT".to_owned(),
        format!("ALTER TABLE outbox ADD COLUMN receipt {bytes}"),
    ]
}

const DOWN: &[&str] = &["ALTER TABLE outbox DROP COLUMN receipt", "ALTER TABLE outbox DROP COLUMN attempt_at"];

statements!(up: up_statements, down: |_| DOWN);
