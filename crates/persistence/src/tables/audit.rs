//! `audit_entries` and `audit_heads`: the per-tenant hash chain. Audited events of a change set
//! become entries in its transaction, chained at the end of the batch under the tenant's head
//! row lock (`FOR UPDATE` on PostgreSQL, the single writer on SQLite), so the chain never forks. `audit_checkpoints` keeps
//! the checkpoints handed out; reading and verifying stream the entries page by page.

use hoheit_audit::{
    AuditDraft, ChainBreak, ChainHead, CheckpointKey, DecodedEntry, EntryHash, SignedCheckpoint, StoredEntry, Verifier,
    VerifyReport,
};
use hoheit_domain::events::EventEnvelope;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::ports::StoreError;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::{BatchCtx, Write, exec, insert_rows};
use crate::codec::{db_error, id_bytes, micros};
use crate::entity::{self, scoped};
use crate::shared::{Shared, stmt};

/// Entries per page when streaming the audit log.
const AUDIT_PAGE: u64 = 2_000;

/// `INSERT INTO audit_entries (…) VALUES `: the column list, written once.
pub(crate) const INSERT: &str =
    "INSERT INTO audit_entries (tenant_id, seq, at, action, subject, canonical, hash) VALUES ";

pub(crate) fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Notes a change set's audited events as drafts of the batch; [`chain`] appends them to the
/// tenants' chains at the batch's end.
pub(crate) fn append(w: &mut Write<'_>, events: &[EventEnvelope]) -> Result<(), StoreError> {
    for envelope in events.iter().filter(|e| e.event.audited()) {
        w.own(envelope.tenant)?;
        if let Some(draft) = AuditDraft::from_event(envelope) {
            w.ctx.drafts.push((w.tenant, draft, envelope.at));
        }
    }
    Ok(())
}

/// Appends the batch's drafts to their tenants' chains, in the order the change sets were
/// applied (issue 19): each tenant's head row is locked here, at the end of the batch, in a
/// fixed order (no deadlock between writers over heads), so two writers' batches overlap in
/// everything but this step and their commits; the chain keeps its strict order and never
/// forks, because the head is read under the lock and moved in the same transaction. The
/// entries are one multi-row insert; the heads move with a compare-and-set.
pub(crate) async fn chain(backend: DbBackend, txn: &DatabaseTransaction, ctx: &mut BatchCtx) -> Result<(), StoreError> {
    let drafts = std::mem::take(&mut ctx.drafts);
    let tenants: std::collections::BTreeSet<Uuid> = drafts.iter().map(|(t, ..)| *t).collect();
    let mut rows = Vec::with_capacity(drafts.len());
    for tenant in tenants {
        let locked = lock_head(backend, txn, tenant).await?;
        let mut head = locked;
        for (_, draft, at) in drafts.iter().filter(|(t, ..)| *t == tenant) {
            let (entry, next) = hoheit_audit::append(&head, draft.clone(), *at)
                .map_err(|e| StoreError::Corrupt(format!("audit: {e}")))?;
            rows.push(vec![
                id_bytes(tenant).into(),
                seq_i64(entry.seq()).into(),
                micros(entry.at()).into(),
                entry.action().into(),
                entry.subject().map(|s| id_bytes(s.as_uuid())).into(),
                entry.canonical_bytes().to_vec().into(),
                entry.hash().as_bytes().to_vec().into(),
            ]);
            head = next;
        }
        ctx.locked.insert(tenant, locked.seq());
        ctx.heads.insert(tenant, head);
        ctx.heads_dirty.insert(tenant);
    }
    insert_rows(backend, txn, INSERT, "", rows).await?;
    store_heads(backend, txn, ctx).await
}

/// Locks a tenant's head row for this transaction, creating it (at genesis) if needed, so that
/// even the very first entries of a tenant cannot be appended twice by two writers. The row is
/// read (and locked) first: only a tenant's very first batch inserts it, so an audited batch
/// costs one head statement here instead of two, and on PostgreSQL no `INSERT … ON CONFLICT`
/// waits for the previous holder before the `SELECT … FOR UPDATE` waits again.
pub(crate) async fn lock_head(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    tenant: Uuid,
) -> Result<ChainHead, StoreError> {
    let tenant_id = TenantId::from_uuid(tenant);
    if let Some(head) = read_head(backend, txn, tenant_id).await? {
        return Ok(head);
    }
    let genesis = ChainHead::genesis(tenant_id);
    txn.execute_raw(stmt(
        backend,
        "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING",
        vec![id_bytes(tenant).into(), genesis.hash().as_bytes().to_vec().into()],
    ))
    .await
    .map_err(|e| db_error(&e))?;
    // inserted, or another writer's insert committed meanwhile: locked now either way
    Ok(read_head(backend, txn, tenant_id).await?.unwrap_or(genesis))
}

/// The tenant's head row, locked for this transaction on PostgreSQL (on SQLite the write
/// transaction is the lock).
async fn read_head(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
) -> Result<Option<ChainHead>, StoreError> {
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE" } else { "" };
    let row = txn
        .query_one_raw(stmt(
            backend,
            &format!("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1{lock}"),
            vec![id_bytes(tenant_id.as_uuid()).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let Some(row) = row else { return Ok(None) };
    let seq: i64 = row.try_get("", "seq").map_err(|e| db_error(&e))?;
    let hash: Vec<u8> = row.try_get("", "hash").map_err(|e| db_error(&e))?;
    head_from(tenant_id, seq, &hash).map(Some)
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

/// The head of a tenant's audit chain.
pub(crate) async fn head(shared: &Shared, tenant: TenantId) -> Result<ChainHead, StoreError> {
    let row = entity::audit_heads::Entity::find_by_id(id_bytes(tenant.as_uuid()))
        .one(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    let Some(row) = row else { return Ok(ChainHead::genesis(tenant)) };
    head_from(tenant, row.seq, &row.hash)
}

/// Keeps a checkpoint that was handed out.
pub(crate) async fn save_checkpoint(shared: &Shared, checkpoint: &SignedCheckpoint) -> Result<(), StoreError> {
    let c = checkpoint.checkpoint();
    shared
        .db
        .execute_raw(stmt(
            shared.backend,
            "INSERT INTO audit_checkpoints (tenant_id, seq, at, signed) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, seq) DO NOTHING",
            vec![
                id_bytes(c.tenant().as_uuid()).into(),
                i64::try_from(c.seq()).unwrap_or(i64::MAX).into(),
                micros(c.at()).into(),
                checkpoint.to_json().map_err(|_| StoreError::Corrupt("checkpoint".into()))?.into(),
            ],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    Ok(())
}

/// The checkpoints handed out for a tenant, oldest first.
pub(crate) async fn checkpoints(shared: &Shared, tenant: TenantId) -> Result<Vec<SignedCheckpoint>, StoreError> {
    let rows = scoped::<entity::audit_checkpoints::Entity>(tenant.as_uuid())
        .order_by_asc(entity::audit_checkpoints::Column::Seq)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter()
        .map(|r| SignedCheckpoint::from_json(&r.signed).map_err(|_| StoreError::Corrupt("checkpoint".into())))
        .collect()
}

/// Audit entries of a tenant, optionally of one subject and/or a time range, oldest first.
pub(crate) async fn entries(
    shared: &Shared,
    tenant: TenantId,
    subject: Option<CandidateId>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    limit: u64,
) -> Result<Vec<DecodedEntry>, StoreError> {
    use entity::audit_entries::Column;
    let mut query = scoped::<entity::audit_entries::Entity>(tenant.as_uuid());
    if let Some(s) = subject {
        query = query.filter(Column::Subject.eq(id_bytes(s.as_uuid())));
    }
    if let Some(f) = from {
        query = query.filter(Column::At.gte(micros(f)));
    }
    if let Some(t) = to {
        query = query.filter(Column::At.lt(micros(t)));
    }
    let rows = query.order_by_asc(Column::Seq).limit(limit).all(&shared.db).await.map_err(|e| db_error(&e))?;
    let entries = rows
        .iter()
        .map(|r| hoheit_audit::decode(&r.canonical).map_err(|_| StoreError::Corrupt("audit entry".into())))
        .collect::<Result<_, _>>()?;
    Ok(entries)
}

/// Streams a tenant's chain through the verifier, page by page (bounded memory), against
/// the given checkpoints (the stored ones plus any the DPO supplies).
pub(crate) async fn verify(
    shared: &Shared,
    tenant: TenantId,
    checkpoints: Vec<SignedCheckpoint>,
    key: &CheckpointKey,
) -> Result<Result<VerifyReport, ChainBreak>, StoreError> {
    let mut verifier = Verifier::new(tenant, checkpoints, key);
    let mut after: i64 = 0;
    loop {
        use entity::audit_entries::Column;
        let rows = scoped::<entity::audit_entries::Entity>(tenant.as_uuid())
            .filter(Column::Seq.gt(after))
            .order_by_asc(Column::Seq)
            .limit(AUDIT_PAGE)
            .all(&shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        let mut stop = false;
        for row in rows {
            let entry =
                StoredEntry { seq: u64::try_from(row.seq).unwrap_or(0), canonical: row.canonical, hash: row.hash };
            if verifier.push(&entry) == hoheit_audit::Flow::Stop {
                stop = true;
                break;
            }
        }
        if stop {
            break;
        }
    }
    Ok(verifier.finish())
}
