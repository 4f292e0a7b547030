//! Schema housekeeping as store methods, so that the binary never touches a SeaORM connection:
//! apply migrations, whether they are current, whether an embedded database is still empty.

use sea_orm::ConnectionTrait as _;
use sea_orm_migration::MigratorTrait as _;

use crate::migration::Migrator;
use crate::shared::stmt;
use crate::store::SeaStore;

impl SeaStore {
    /// Applies all pending migrations.
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        Migrator::up(self.connection(), None).await
    }

    /// Whether every migration is applied (for `/readyz` and the start-up check).
    pub async fn migrations_current(&self) -> Result<bool, sea_orm::DbErr> {
        Ok(Migrator::get_pending_migrations(self.connection()).await?.is_empty())
    }

    /// Whether the database has no table at all: a brand-new embedded (SQLite) file. Always
    /// `false` on PostgreSQL (an external database is only ever migrated when asked).
    pub async fn is_empty(&self) -> Result<bool, sea_orm::DbErr> {
        if self.backend() != sea_orm::DbBackend::Sqlite {
            return Ok(false);
        }
        let row = self
            .connection()
            .query_one_raw(stmt(self.backend(), "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'", vec![]))
            .await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        Ok(n == 0)
    }
}
