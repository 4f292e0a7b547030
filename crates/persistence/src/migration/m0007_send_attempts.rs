//! Issue 14 item 5 (exactly-once sends across crashes): `outbox.attempt_at`, when the dispatcher
//! recorded the open attempt just before calling 360Dialog (NULL: none open), in clear (a time);
//! `outbox.receipt`, the provider id a status webhook carrying the entry's tag confirmed for that
//! attempt, sealed with the candidate key (a WhatsApp message id is personal data). Existing rows
//! have no open attempt.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

const DOWN: &[&str] = &["ALTER TABLE outbox DROP COLUMN receipt", "ALTER TABLE outbox DROP COLUMN attempt_at"];

#[allow(elided_lifetimes_in_paths)] // the trait is declared without the lifetime
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let bytes = if manager.get_database_backend() == DbBackend::Postgres { "BYTEA" } else { "BLOB" };
        db.execute_unprepared("ALTER TABLE outbox ADD COLUMN attempt_at BIGINT").await?;
        db.execute_unprepared(&format!("ALTER TABLE outbox ADD COLUMN receipt {bytes}")).await?;
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
