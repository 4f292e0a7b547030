//! `audit_entries` and `audit_heads`: the per-tenant hash chain. Audited events of a change set
//! become entries in its transaction, under the tenant's head row lock (`FOR UPDATE` on
//! PostgreSQL, the single writer on SQLite), so the chain never forks.

use std::sync::LazyLock;

use hoheit_audit::{AuditDraft, ChainHead, EntryHash};
use hoheit_domain::events::EventEnvelope;
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::StoreError;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};
use uuid::Uuid;

use crate::batch::{BatchCtx, Write, exec, placeholders};
use crate::codec::{db_error, id_bytes, micros};
use crate::shared::stmt;

/// `INSERT INTO audit_entries (…) VALUES `: the column list, written once.
pub(crate) const INSERT: &str =
    "INSERT INTO audit_entries (tenant_id, seq, at, action, subject, canonical, hash) VALUES ";
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| format!("{INSERT}{}", placeholders(7)));

pub(crate) fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Appends a change set's audited events to the tenant's chain (its head locked by the batch).
pub(crate) async fn append(w: &mut Write<'_>, events: &[EventEnvelope]) -> Result<(), StoreError> {
    let audited: Vec<_> = events.iter().filter(|e| e.event.audited()).collect();
    if audited.is_empty() {
        return Ok(());
    }
    let tenant = w.tenant;
    let mut head = *w.ctx.heads.get(&tenant).ok_or_else(|| StoreError::Corrupt("audit head not locked".into()))?;
    for envelope in audited {
        w.own(envelope.tenant)?;
        let Some(draft) = AuditDraft::from_event(envelope) else { continue };
        let (entry, next) =
            hoheit_audit::append(&head, draft, envelope.at).map_err(|e| StoreError::Corrupt(format!("audit: {e}")))?;
        let values = vec![
            w.t(),
            seq_i64(entry.seq()).into(),
            micros(entry.at()).into(),
            entry.action().into(),
            entry.subject().map(|s| id_bytes(s.as_uuid())).into(),
            entry.canonical_bytes().to_vec().into(),
            entry.hash().as_bytes().to_vec().into(),
        ];
        if w.ctx.defer {
            w.ctx.deferred.audit.push(values);
        } else {
            w.exec(&INSERT_ONE, values).await.map_err(|e| db_error(&e))?;
        }
        head = next;
    }
    w.ctx.heads.insert(tenant, head);
    w.ctx.heads_dirty.insert(tenant);
    Ok(())
}

/// Locks a tenant's head row for this transaction, creating it (at genesis) if needed, so that
/// even the very first entries of a tenant cannot be appended twice by two writers.
pub(crate) async fn lock_head(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    tenant: Uuid,
) -> Result<ChainHead, StoreError> {
    let genesis = ChainHead::genesis(TenantId::from_uuid(tenant));
    txn.execute_raw(stmt(
        backend,
        "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING",
        vec![id_bytes(tenant).into(), genesis.hash().as_bytes().to_vec().into()],
    ))
    .await
    .map_err(|e| db_error(&e))?;
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE" } else { "" };
    let row = txn
        .query_one_raw(stmt(
            backend,
            &format!("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1{lock}"),
            vec![id_bytes(tenant).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let tenant_id = TenantId::from_uuid(tenant);
    let Some(row) = row else { return Ok(ChainHead::genesis(tenant_id)) };
    let seq: i64 = row.try_get("", "seq").map_err(|e| db_error(&e))?;
    let hash: Vec<u8> = row.try_get("", "hash").map_err(|e| db_error(&e))?;
    head_from(tenant_id, seq, &hash)
}

/// A head row back to the chain head.
pub(crate) fn head_from(tenant: TenantId, seq: i64, hash: &[u8]) -> Result<ChainHead, StoreError> {
    let hash = EntryHash::from_slice(hash).map_err(|_| StoreError::Corrupt("audit head hash".into()))?;
    let seq = u64::try_from(seq).map_err(|_| StoreError::Corrupt("audit head".into()))?;
    ChainHead::new(tenant, seq, hash).map_err(|_| StoreError::Corrupt("audit head".into()))
}

/// Moves the heads the batch appended to (compare-and-set against the heads locked at its
/// start: also catches a writer that skipped the lock).
pub(crate) async fn store_heads(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    ctx: &BatchCtx,
) -> Result<(), StoreError> {
    for tenant in &ctx.heads_dirty {
        if let (Some(head), Some(old)) = (ctx.heads.get(tenant), ctx.locked.get(tenant)) {
            let updated = exec(
                txn,
                backend,
                "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1 AND seq = $4",
                vec![
                    id_bytes(*tenant).into(),
                    seq_i64(head.seq()).into(),
                    head.hash().as_bytes().to_vec().into(),
                    seq_i64(*old).into(),
                ],
            )
            .await
            .map_err(|e| db_error(&e))?;
            if updated != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(())
}
