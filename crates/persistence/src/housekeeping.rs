//! Schema housekeeping as store methods, so that the binary never touches a SeaORM connection:
//! apply migrations (and the data conversion that needs the keys), whether they are current,
//! whether an embedded database is still empty.

use hoheit_domain::candidate::{Candidate, Lifecycle};
use hoheit_domain::ports::StoreError;
use sea_orm::{ConnectionTrait as _, DatabaseTransaction, QueryResult};
use sea_orm_migration::MigratorTrait as _;

use crate::codec::{db_error, from_json, id_bytes, to_json, uuid_from};
use crate::crypto::PROVIDER_HASH_PREFIX;
use crate::migration::Migrator;
use crate::shared::stmt;
use crate::store::SeaStore;
use crate::tables::messages::{INSERT_STATUS, ProviderRef, STATUS_CONFLICT, is_hashed};

impl SeaStore {
    /// Applies all pending migrations, then converts what a migration cannot convert without
    /// the keys ([`SeaStore::convert_provider_ids`]) and indexes the names of candidates written
    /// before the name search ([`SeaStore::backfill_names`]).
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        Migrator::up(self.connection(), None).await?;
        self.convert_provider_ids()
            .await
            .map_err(|e| sea_orm::DbErr::Custom(format!("converting provider ids: {e}")))?;
        self.backfill_names().await.map_err(|e| sea_orm::DbErr::Custom(format!("indexing names: {e}")))?;
        Ok(())
    }

    /// Indexes the names of candidates written before migration m0012 (keyed hashes of their
    /// name terms, for the inbox's search by name), in batches of 500 per transaction;
    /// idempotent (a flag per candidate). Returns how many were indexed.
    pub async fn backfill_names(&self) -> Result<u64, StoreError> {
        let n = crate::tables::inbox::backfill_names(&self.shared).await?;
        if n > 0 {
            tracing::info!(candidates = n, "candidate names indexed for the search by name");
        }
        Ok(n)
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

/// Rows converted per transaction by [`SeaStore::convert_provider_ids`].
const CONVERT_BATCH: u64 = 500;

/// What [`SeaStore::convert_provider_ids`] converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderIdConversion {
    /// Messages whose provider ids were hashed and sealed.
    pub messages: u64,
    /// Delivery statuses whose provider id was hashed.
    pub statuses: u64,
    /// Erasure tombstones the wamids were removed from.
    pub tombstones: u64,
}

/// Computes a tenant's keyed provider-id hashes as the store keeps them (for tools that check
/// the database against what they sent, like the load drills). Holds the tenant key: keep it
/// only as long as needed.
#[derive(Debug, Clone)]
pub struct ProviderHasher(std::sync::Arc<crate::crypto::TenantKey>);

impl ProviderHasher {
    /// `hmac:` + hex, as in `messages.provider_id` and `message_statuses.provider_id`.
    pub fn hash(&self, provider_id: &str) -> String {
        self.0.provider_hash(provider_id)
    }
}

impl SeaStore {
    /// The provider-id hasher of a tenant.
    pub async fn provider_hasher(&self, tenant: hoheit_domain::ids::TenantId) -> Result<ProviderHasher, StoreError> {
        Ok(ProviderHasher(self.shared.tenant_key(&self.shared.db, tenant.as_uuid()).await?))
    }

    /// Converts rows written before provider ids were treated as personal data (issue 13,
    /// migration m0005, which cannot do it itself: it has no keys): each clear wamid in
    /// `messages.provider_id` / `reply_to` becomes the keyed hash plus the ids sealed with the
    /// candidate key in `provider_ref`; each clear `message_statuses.provider_id` becomes the
    /// keyed hash; erasure tombstones lose the wamids of their consent and objection evidence.
    /// Idempotent (hashed rows carry the `hmac:` prefix); [`SeaStore::migrate`] runs it after the
    /// migrations. A message whose candidate key is gone keeps only the hash.
    pub async fn convert_provider_ids(&self) -> Result<ProviderIdConversion, StoreError> {
        let mut done = ProviderIdConversion::default();
        let messages = format!(
            "SELECT id, tenant_id, candidate_id, provider_id, reply_to, provider_ref FROM messages \
             WHERE (provider_id IS NOT NULL AND provider_id NOT LIKE '{PROVIDER_HASH_PREFIX}%') \
             OR reply_to IS NOT NULL LIMIT {CONVERT_BATCH}"
        );
        // a converted message or status no longer matches its select: batches until none is left
        loop {
            let n = self.convert_batch(&messages, async |txn, row| self.convert_message(txn, row).await).await?;
            if n == 0 {
                break;
            }
            done.messages += n;
        }
        let statuses = format!(
            "SELECT tenant_id, provider_id, status, at, error_code FROM message_statuses \
             WHERE provider_id NOT LIKE '{PROVIDER_HASH_PREFIX}%' LIMIT {CONVERT_BATCH}"
        );
        loop {
            let n = self.convert_batch(&statuses, async |txn, row| self.convert_status(txn, row).await).await?;
            if n == 0 {
                break;
            }
            done.statuses += n;
        }
        // a scrubbed tombstone may still mention `provider_id`: one pass, not until none is left
        let tombstones = "SELECT tenant_id, id, tombstone FROM candidates WHERE tombstone LIKE '%provider_id%'";
        done.tombstones =
            self.convert_batch(tombstones, async |txn, row| Self::convert_tombstone(txn, row).await).await?;
        if done != ProviderIdConversion::default() {
            tracing::info!(
                messages = done.messages,
                statuses = done.statuses,
                tombstones = done.tombstones,
                "provider ids converted to keyed hashes and sealed"
            );
        }
        Ok(done)
    }

    /// The batch step of [`SeaStore::convert_provider_ids`]: selects rows with `select` and
    /// converts them in one transaction, row by row; returns how many rows `convert` changed.
    async fn convert_batch(
        &self,
        select: &str,
        convert: impl AsyncFn(&DatabaseTransaction, &QueryResult) -> Result<bool, StoreError>,
    ) -> Result<u64, StoreError> {
        let shared = &self.shared;
        let rows = shared.db.query_all_raw(stmt(shared.backend, select, vec![])).await.map_err(|e| db_error(&e))?;
        if rows.is_empty() {
            return Ok(0);
        }
        let txn = shared.begin_immediate().await?;
        let mut n = 0;
        for row in &rows {
            n += u64::from(convert(&txn, row).await?);
        }
        txn.commit().await.map_err(|e| db_error(&e))?;
        Ok(n)
    }

    /// Hashes a message's clear provider id and seals the ids with the candidate key.
    async fn convert_message(&self, txn: &DatabaseTransaction, row: &QueryResult) -> Result<bool, StoreError> {
        let shared = &self.shared;
        let id = uuid_from(&row.try_get::<Vec<u8>>("", "id").map_err(err)?)?;
        let tenant = uuid_from(&row.try_get::<Vec<u8>>("", "tenant_id").map_err(err)?)?;
        let candidate = uuid_from(&row.try_get::<Vec<u8>>("", "candidate_id").map_err(err)?)?;
        let stored: Option<String> = row.try_get("", "provider_id").map_err(err)?;
        let reply_to: Option<String> = row.try_get("", "reply_to").map_err(err)?;
        let sealed: Option<Vec<u8>> = row.try_get("", "provider_ref").map_err(err)?;
        let tkey = shared.tenant_key(txn, tenant).await?;
        let clear = stored.clone().filter(|p| !is_hashed(p));
        let hash = match (&clear, stored) {
            (Some(clear), _) => Some(tkey.provider_hash(clear)),
            (None, hashed) => hashed,
        };
        let provider_ref = match shared.candidate_key_by_id(txn, tenant, candidate).await {
            Ok(ckey) => {
                let mut refs = match &sealed {
                    Some(s) => ProviderRef::open(&ckey, id, s)?,
                    None => ProviderRef::default(),
                };
                refs.id = refs.id.or(clear);
                refs.reply_to = refs.reply_to.or(reply_to);
                Some(refs.seal(&ckey, id)?)
            }
            // the key is gone (or unreadable): the clear ids are dropped, not kept
            Err(StoreError::Corrupt(_) | StoreError::NotFound(_)) => sealed,
            Err(e) => return Err(e),
        };
        txn.execute_raw(stmt(
            shared.backend,
            "UPDATE messages SET provider_id = $3, reply_to = NULL, provider_ref = $4 WHERE tenant_id = $1 AND id = $2",
            vec![id_bytes(tenant).into(), id_bytes(id).into(), hash.into(), provider_ref.into()],
        ))
        .await
        .map_err(err)?;
        Ok(true)
    }

    /// Replaces a delivery status keyed by a clear provider id with one keyed by its hash.
    async fn convert_status(&self, txn: &DatabaseTransaction, row: &QueryResult) -> Result<bool, StoreError> {
        let shared = &self.shared;
        let tenant_bytes: Vec<u8> = row.try_get("", "tenant_id").map_err(err)?;
        let tenant = uuid_from(&tenant_bytes)?;
        let clear: String = row.try_get("", "provider_id").map_err(err)?;
        let status: String = row.try_get("", "status").map_err(err)?;
        let at: i64 = row.try_get("", "at").map_err(err)?;
        let code: Option<i64> = row.try_get("", "error_code").map_err(err)?;
        let hash = shared.tenant_key(txn, tenant).await?.provider_hash(&clear);
        txn.execute_raw(stmt(
            shared.backend,
            &format!("{INSERT_STATUS}($1, $2, $3, $4, $5){STATUS_CONFLICT}"),
            vec![tenant_bytes.clone().into(), hash.into(), status.as_str().into(), at.into(), code.into()],
        ))
        .await
        .map_err(err)?;
        txn.execute_raw(stmt(
            shared.backend,
            "DELETE FROM message_statuses WHERE tenant_id = $1 AND provider_id = $2 AND status = $3",
            vec![tenant_bytes.into(), clear.into(), status.into()],
        ))
        .await
        .map_err(err)?;
        Ok(true)
    }

    /// Removes the wamids from an erasure tombstone's evidence; `false` when there were none.
    async fn convert_tombstone(txn: &DatabaseTransaction, row: &QueryResult) -> Result<bool, StoreError> {
        let tenant: Vec<u8> = row.try_get("", "tenant_id").map_err(err)?;
        let id: Vec<u8> = row.try_get("", "id").map_err(err)?;
        let json: String = row.try_get("", "tombstone").map_err(err)?;
        let tombstone: Candidate = from_json("candidate tombstone", json.as_bytes())?;
        let Lifecycle::Erased { at, reason } = tombstone.lifecycle else { return Ok(false) };
        let scrubbed = to_json(&tombstone.erased(at, reason))?;
        if scrubbed == json {
            return Ok(false);
        }
        txn.execute_raw(stmt(
            txn.get_database_backend(),
            "UPDATE candidates SET tombstone = $3 WHERE tenant_id = $1 AND id = $2",
            vec![tenant.into(), id.into(), scrubbed.into()],
        ))
        .await
        .map_err(err)?;
        Ok(true)
    }
}

fn err(e: sea_orm::DbErr) -> StoreError {
    db_error(&e)
}
