//! Schema migrations (sea-orm-migration). They run when asked — `hoheit migrate`,
//! `hoheit serve --migrate`, or [`crate::migrate`] in tests — and on their own at start only for
//! a brand-new embedded (SQLite) database without a single table; an existing or external
//! database is never migrated implicitly. An applied migration is never edited (its statements
//! and its name stay as they are); changes come as new migrations, declared with `statements!`.
//!
//! Column conventions: ids are 16-byte UUIDs (`BLOB` / `BYTEA`), times are microseconds since
//! the Unix epoch (`BIGINT`, UTC), sealed columns are AEAD ciphertexts (see [`crate::crypto`]).

use sea_orm::{ConnectionTrait as _, DbBackend};
use sea_orm_migration::prelude::*;

/// Implements `MigrationTrait` for the module's `Migration` as SQL statements run one by one, in
/// order: `up` and `down` are functions of the [`DbBackend`] returning the statements (anything
/// iterable over `&str`/`String`). Every migration is declared this way, so applying one is
/// written once ([`run`]); the name still comes from each module's `DeriveMigrationName`.
macro_rules! statements {
    (up: $up:expr, down: $down:expr $(,)?) => {
        #[allow(elided_lifetimes_in_paths)] // the trait is declared without the lifetime
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                super::run(manager, ($up)(manager.get_database_backend())).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                super::run(manager, ($down)(manager.get_database_backend())).await
            }
        }
    };
}

mod m0001_initial;
mod m0002_media;
mod m0003_inactivity_end;
mod m0004_hold_review;
mod m0005_provider_ids;
mod m0006_credentials;
mod m0007_send_attempts;
mod m0008_staff_accounts;
mod m0010_oidc;
mod m0011_last_activity;
mod m0012_inbox_reads;

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
            Box::new(m0011_last_activity::Migration),
            Box::new(m0012_inbox_reads::Migration),
        ]
    }
}

/// Runs SQL statements one by one, in order (each on its own: SQLite runs one statement per call).
async fn run<I>(manager: &SchemaManager<'_>, statements: I) -> Result<(), DbErr>
where
    I: IntoIterator + Send,
    I::Item: AsRef<str>,
    I::IntoIter: Send,
{
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement.as_ref()).await?;
    }
    Ok(())
}

/// The statements of a schema script: `{blob}` and `{bool}` in the backend's dialect, split at `;`.
fn script(sql: &str, backend: DbBackend) -> Vec<String> {
    let (blob, boolean) = if backend == DbBackend::Postgres { ("BYTEA", "BOOLEAN") } else { ("BLOB", "INTEGER") };
    let sql = sql.replace("{blob}", blob).replace("{bool}", boolean);
    sql.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_never_change() {
        // the names are what `seaql_migrations` records as applied: a renamed one would run again
        let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let expected = [
            "m0001_initial",
            "m0002_media",
            "m0003_inactivity_end",
            "m0004_hold_review",
            "m0005_provider_ids",
            "m0006_credentials",
            "m0007_send_attempts",
            "m0008_staff_accounts",
            "m0010_oidc",
            "m0011_last_activity",
            "m0012_inbox_reads",
        ];
        assert_eq!(names[..expected.len()], expected);
    }

    #[test]
    fn a_script_is_split_into_statements_in_the_backends_dialect() {
        let sql = "CREATE TABLE t (a {blob}, b {bool});\n CREATE INDEX i ON t (a);\n";
        assert_eq!(
            script(sql, DbBackend::Postgres),
            ["CREATE TABLE t (a BYTEA, b BOOLEAN)", "CREATE INDEX i ON t (a)"]
        );
        assert_eq!(script(sql, DbBackend::Sqlite), ["CREATE TABLE t (a BLOB, b INTEGER)", "CREATE INDEX i ON t (a)"]);
    }
}
