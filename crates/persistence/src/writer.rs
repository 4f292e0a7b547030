//! The group-commit writer: one task per process receives change sets, opens one transaction for
//! every batch that has accumulated, applies the change sets (buffering plain inserts into
//! multi-row statements), appends the audited events to the tenants' hash chains, commits once,
//! and only then answers each caller. Under load many webhooks share one fsync and a few round
//! trips; if a change set fails (lost optimistic-lock race, duplicate webhook) the batch is run
//! again with a savepoint around each change set, so that one fails alone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hoheit_audit::{AuditDraft, ChainHead, EntryHash};
use hoheit_domain::candidate::Candidate;
use hoheit_domain::conversation::{DeliveryStatus, Direction, StatusObservation, StatusTimeline};
use hoheit_domain::ids::TenantId;
use hoheit_domain::media::MediaRecord;
use hoheit_domain::ports::{
    CandidateChange, ChangeSet, CommitReport, ConfigChange, DuplicateKey, MediaChange, MessageChange, OutboxChange,
    StoreError,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait, Value};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::codec::{
    contact_text, db_error, direction_str, from_json, id_bytes, is_unique_violation, micros, to_json, to_json_bytes,
    uuid_from,
};
use crate::crypto::{CandidateKey, KeyBytes, TenantKey};
use crate::store::{Shared, stmt};

/// One change set waiting to be committed.
pub(crate) struct Job {
    pub(crate) tenant: TenantId,
    pub(crate) changes: ChangeSet,
    pub(crate) reply: oneshot::Sender<Result<CommitReport, StoreError>>,
}

/// Receives jobs and commits them in batches until every sender is gone. Several writers may
/// share one receiver (PostgreSQL): each takes the jobs waiting when it is free.
pub(crate) async fn writer_loop(
    shared: Arc<Shared>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    loop {
        let jobs = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { break };
            let mut jobs = vec![first];
            while jobs.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        commit_batch(&shared, jobs).await;
    }
}

/// What a batch changes beyond the database, published only after the commit.
#[derive(Default, Clone)]
struct BatchCtx {
    /// The heads as locked at the start of the batch (for the compare-and-set at the end).
    locked: HashMap<Uuid, u64>,
    heads: HashMap<Uuid, ChainHead>,
    heads_dirty: HashSet<Uuid>,
    tenant_keys: HashMap<Uuid, Arc<TenantKey>>,
    candidate_keys: HashMap<Uuid, Arc<CandidateKey>>,
    shredded: Vec<Uuid>,
    config_changed: HashSet<TenantId>,
    /// Contact keys indexed in this batch, per candidate (published to the cache on commit).
    indexed: HashMap<Uuid, Vec<[u8; 32]>>,
    /// Whether plain inserts may be buffered and written as multi-row statements (see
    /// [`Deferred`]).
    defer: bool,
    deferred: Deferred,
}

/// Inserts buffered during a batch without savepoints and written at its end as one multi-row
/// statement per table, so a batch costs a few round trips instead of a few per event (it is
/// what makes PostgreSQL fast). Only rows nothing else in the batch reads, updates or deletes
/// are buffered: inbound messages, delivery statuses by provider id and audit entries; a change
/// set that touches anything else writes the buffer first and buffers nothing itself. If a
/// buffered insert fails (a re-delivered webhook), the batch is rolled back and run again with a
/// savepoint per change set and no buffering, which attributes the failure to its change set.
#[derive(Default, Clone)]
struct Deferred {
    messages: Vec<Vec<Value>>,
    statuses: Vec<Vec<Value>>,
    audit: Vec<Vec<Value>>,
}

const MESSAGE_COLUMNS: &str = "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, intent, \
     provider_id, reply_to, created_at, provider_at, status, timeline, body) VALUES ";
const STATUS_COLUMNS: &str = "INSERT INTO message_statuses (tenant_id, provider_id, status, at, error_code) VALUES ";
const STATUS_CONFLICT: &str = " ON CONFLICT (tenant_id, provider_id, status) DO UPDATE SET at = excluded.at, \
     error_code = excluded.error_code WHERE excluded.at < message_statuses.at";
const AUDIT_COLUMNS: &str = "INSERT INTO audit_entries (tenant_id, seq, at, action, subject, canonical, hash) VALUES ";

/// Writes the buffered inserts (see [`Deferred`]).
async fn flush_deferred(backend: DbBackend, txn: &DatabaseTransaction, ctx: &mut BatchCtx) -> Result<(), StoreError> {
    let deferred = std::mem::take(&mut ctx.deferred);
    insert_rows(backend, txn, MESSAGE_COLUMNS, "", deferred.messages).await?;
    insert_rows(backend, txn, STATUS_COLUMNS, STATUS_CONFLICT, deferred.statuses).await?;
    insert_rows(backend, txn, AUDIT_COLUMNS, "", deferred.audit).await
}

/// `head (…), (…), … tail` in chunks that stay under both databases' parameter limits.
async fn insert_rows(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), StoreError> {
    const MAX_PARAMS: usize = 30_000;
    let width = rows.first().map_or(1, Vec::len).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(MAX_PARAMS / width).collect();
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 5 + tail.len());
        sql.push_str(head);
        let mut values = Vec::with_capacity(chunk.len() * width);
        for (r, row) in chunk.into_iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..row.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(values.len() + c + 1).to_string());
            }
            sql.push(')');
            values.extend(row);
        }
        sql.push_str(tail);
        exec(txn, backend, &sql, values).await.map_err(|e| db_error(&e))?;
    }
    Ok(())
}

/// Whether a change set only makes rows that may be buffered (see [`Deferred`]) besides
/// statements that never read them.
fn only_bufferable_reads(changes: &ChangeSet) -> bool {
    changes.media.is_empty()
        && changes.candidates.iter().all(|c| !matches!(c, CandidateChange::Erase { .. }))
        && changes
            .messages
            .iter()
            .all(|m| matches!(m, MessageChange::Insert(_) | MessageChange::StatusByProviderId { .. }))
        && changes.outbox.iter().all(|o| !matches!(o, OutboxChange::CancelPending { .. }))
}

async fn commit_batch(shared: &Shared, jobs: Vec<Job>) {
    let (meta, replies): (Vec<(TenantId, ChangeSet)>, Vec<_>) =
        jobs.into_iter().map(|j| ((j.tenant, j.changes), j.reply)).unzip();
    let outcome = run_batch(shared, &meta).await;
    match outcome {
        Ok((results, ctx)) => {
            for (id, key) in ctx.tenant_keys {
                shared.tenant_keys.insert(id, key);
            }
            for (id, key) in ctx.candidate_keys {
                shared.candidate_keys.insert(id, key);
            }
            for (id, blinds) in ctx.indexed {
                shared.remember_indexed(id, blinds);
            }
            for id in &ctx.shredded {
                shared.candidate_keys.remove(id);
                shared.forget_indexed(*id);
            }
            for tenant in ctx.config_changed {
                shared.invalidate_config(tenant);
            }
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = replies.len(), "group commit failed");
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Commits a batch. First optimistically without savepoints (two statements fewer per change
/// set); only if one change set fails is the batch rolled back and run again with a savepoint
/// around each change set, so the others still commit. A batch of one needs no savepoint at all.
async fn run_batch(
    shared: &Shared,
    jobs: &[(TenantId, ChangeSet)],
) -> Result<(Vec<Result<CommitReport, StoreError>>, BatchCtx), StoreError> {
    match attempt(shared, jobs, false).await? {
        Attempt::Committed(results, ctx) => Ok((results, *ctx)),
        Attempt::Failed(e) if jobs.len() == 1 => Ok((vec![Err(e)], BatchCtx::default())),
        Attempt::Failed(_) => match attempt(shared, jobs, true).await? {
            Attempt::Committed(results, ctx) => Ok((results, *ctx)),
            Attempt::Failed(e) => Err(e),
        },
    }
}

enum Attempt {
    Committed(Vec<Result<CommitReport, StoreError>>, Box<BatchCtx>),
    /// Without savepoints: a change set failed and the transaction was rolled back.
    Failed(StoreError),
}

async fn attempt(shared: &Shared, jobs: &[(TenantId, ChangeSet)], savepoints: bool) -> Result<Attempt, StoreError> {
    let txn = shared
        .db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .map_err(|e| db_error(&e))?;
    let mut ctx = BatchCtx::default();
    // lock the audit heads of every tenant with audited events, in a fixed order (no deadlocks
    // between replicas); the lock is held until the commit
    let tenants: BTreeSet<Uuid> =
        jobs.iter().filter(|(_, c)| c.events.iter().any(|e| e.event.audited())).map(|(t, _)| t.as_uuid()).collect();
    for tenant in tenants {
        let head = lock_head(shared.backend, &txn, tenant).await?;
        ctx.locked.insert(tenant, head.seq());
        ctx.heads.insert(tenant, head);
    }
    let mut results = Vec::with_capacity(jobs.len());
    let defer = !savepoints && jobs.len() > 1;
    for (tenant, changes) in jobs {
        if !savepoints {
            let simple = only_bufferable_reads(changes);
            ctx.defer = defer && simple;
            let applied = async {
                if !simple {
                    flush_deferred(shared.backend, &txn, &mut ctx).await?;
                }
                apply(shared, &txn, &mut ctx, *tenant, changes).await
            }
            .await;
            match applied {
                Ok(report) => results.push(Ok(report)),
                Err(e) => {
                    txn.rollback().await.map_err(|e| db_error(&e))?;
                    return Ok(Attempt::Failed(e));
                }
            }
            continue;
        }
        let snapshot = ctx.clone();
        let savepoint = txn.begin().await.map_err(|e| db_error(&e))?;
        match apply(shared, &savepoint, &mut ctx, *tenant, changes).await {
            Ok(report) => {
                savepoint.commit().await.map_err(|e| db_error(&e))?;
                results.push(Ok(report));
            }
            Err(e) => {
                savepoint.rollback().await.map_err(|e| db_error(&e))?;
                ctx = snapshot;
                results.push(Err(e));
            }
        }
    }
    if let Err(e) = flush_deferred(shared.backend, &txn, &mut ctx).await {
        txn.rollback().await.map_err(|e| db_error(&e))?;
        return Ok(Attempt::Failed(e));
    }
    ctx.defer = false;
    for tenant in &ctx.heads_dirty {
        if let (Some(head), Some(old)) = (ctx.heads.get(tenant), ctx.locked.get(tenant)) {
            // compare-and-set: also catches a writer that skipped the lock
            let updated = txn
                .execute_raw(stmt(
                    shared.backend,
                    "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1 AND seq = $4",
                    vec![
                        id_bytes(*tenant).into(),
                        seq_i64(head.seq()).into(),
                        head.hash().as_bytes().to_vec().into(),
                        seq_i64(*old).into(),
                    ],
                ))
                .await
                .map_err(|e| db_error(&e))?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    txn.commit().await.map_err(|e| db_error(&e))?;
    Ok(Attempt::Committed(results, Box::new(ctx)))
}

fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Locks a tenant's head row for this transaction, creating it (at genesis) if needed, so that
/// even the very first entries of a tenant cannot be appended twice by two writers.
async fn lock_head(backend: DbBackend, txn: &DatabaseTransaction, tenant: Uuid) -> Result<ChainHead, StoreError> {
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
    let hash = EntryHash::from_slice(&hash).map_err(|_| StoreError::Corrupt("audit head hash".into()))?;
    ChainHead::new(tenant_id, u64::try_from(seq).unwrap_or(0), hash)
        .map_err(|_| StoreError::Corrupt("audit head".into()))
}

async fn exec(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, sea_orm::DbErr> {
    txn.execute_raw(stmt(backend, sql, values)).await.map(|r| r.rows_affected())
}

async fn tenant_key(
    shared: &Shared,
    txn: &DatabaseTransaction,
    ctx: &BatchCtx,
    tenant: Uuid,
) -> Result<Arc<TenantKey>, StoreError> {
    if let Some(key) = ctx.tenant_keys.get(&tenant) {
        return Ok(key.clone());
    }
    shared.tenant_key(txn, tenant).await
}

async fn candidate_key(
    shared: &Shared,
    txn: &DatabaseTransaction,
    ctx: &BatchCtx,
    tenant: Uuid,
    candidate: Uuid,
) -> Result<Arc<CandidateKey>, StoreError> {
    if ctx.shredded.contains(&candidate) {
        return Err(StoreError::NotFound("candidate"));
    }
    if let Some(key) = ctx.candidate_keys.get(&candidate) {
        return Ok(key.clone());
    }
    shared.candidate_key_by_id(txn, tenant, candidate).await
}

/// The time a change set happened (its events' time): used where the store must stamp a change.
fn change_time(changes: &ChangeSet) -> OffsetDateTime {
    changes.events.iter().map(|e| e.at).max().unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[allow(clippy::too_many_lines)]
async fn apply(
    shared: &Shared,
    txn: &DatabaseTransaction,
    ctx: &mut BatchCtx,
    tenant_id: TenantId,
    changes: &ChangeSet,
) -> Result<CommitReport, StoreError> {
    let b = shared.backend;
    let tenant = tenant_id.as_uuid();
    let t = || -> Value { id_bytes(tenant).into() };
    let at = change_time(changes);
    let mut report = CommitReport::default();
    let err = |e: sea_orm::DbErr| db_error(&e);

    for change in &changes.config {
        ctx.config_changed.insert(tenant_id);
        match change {
            ConfigChange::Tenant(value) => {
                if value.id != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                exec(
                    txn,
                    b,
                    "INSERT INTO tenants (id, name, settings, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, settings = excluded.settings",
                    vec![
                        t(),
                        value.name.clone().into(),
                        to_json(value.as_ref())?.into(),
                        micros(value.created_at).into(),
                    ],
                )
                .await
                .map_err(err)?;
                let has_key = ctx.tenant_keys.contains_key(&tenant)
                    || txn
                        .query_one_raw(stmt(b, "SELECT 1 AS one FROM tenant_keys WHERE tenant_id = $1", vec![t()]))
                        .await
                        .map_err(err)?
                        .is_some();
                if !has_key {
                    let key = KeyBytes::random();
                    let wrapped = shared.master.wrap(tenant, &key);
                    exec(
                        txn,
                        b,
                        "INSERT INTO tenant_keys (tenant_id, key_version, master_version, wrapped) VALUES ($1, 1, $2, $3)",
                        vec![t(), i64::from(shared.master.version()).into(), wrapped.into()],
                    )
                    .await
                    .map_err(err)?;
                    ctx.tenant_keys.insert(tenant, Arc::new(TenantKey::new(tenant, key, 1)));
                }
            }
            ConfigChange::Channel(channel) => {
                if channel.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let key = tenant_key(shared, txn, ctx, tenant).await?;
                let id = channel.id.as_uuid();
                let sealed = key.seal("channels", id, "data", &to_json_bytes(channel.as_ref())?);
                exec(
                    txn,
                    b,
                    "INSERT INTO channels (id, tenant_id, phone_number_id, data, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, phone_number_id = excluded.phone_number_id \
                     WHERE channels.tenant_id = excluded.tenant_id",
                    vec![
                        id_bytes(id).into(),
                        t(),
                        channel.phone_number_id.clone().into(),
                        sealed.into(),
                        micros(channel.created_at).into(),
                    ],
                )
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) })?;
            }
            ConfigChange::LegalText(text) => {
                exec(
                    txn,
                    b,
                    "INSERT INTO legal_texts (id, tenant_id, kind, version, language, data, published_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    vec![
                        id_bytes(text.id.as_uuid()).into(),
                        t(),
                        text.kind.as_str().into(),
                        text.version.as_str().into(),
                        text.language.as_str().into(),
                        to_json(text.as_ref())?.into(),
                        micros(text.published_at).into(),
                    ],
                )
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate(DuplicateKey::LegalTextVersion)
                    } else {
                        db_error(&e)
                    }
                })?;
            }
            ConfigChange::Templates { channel, templates } => {
                exec(
                    txn,
                    b,
                    "DELETE FROM templates WHERE tenant_id = $1 AND channel_id = $2",
                    vec![t(), id_bytes(channel.as_uuid()).into()],
                )
                .await
                .map_err(err)?;
                for template in templates {
                    exec(
                        txn,
                        b,
                        "INSERT INTO templates (tenant_id, channel_id, name, language, data) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (channel_id, name, language) DO UPDATE SET data = excluded.data",
                        vec![
                            t(),
                            id_bytes(channel.as_uuid()).into(),
                            template.name.as_str().into(),
                            template.language.as_str().into(),
                            to_json(template)?.into(),
                        ],
                    )
                    .await
                    .map_err(err)?;
                }
            }
            ConfigChange::RescheduleRetention => {
                exec(
                    txn,
                    b,
                    "UPDATE candidates SET retention_due_at = $2 WHERE tenant_id = $1 AND tombstone IS NULL",
                    vec![t(), micros(at).into()],
                )
                .await
                .map_err(err)?;
            }
        }
    }

    for change in &changes.candidates {
        match change {
            CandidateChange::Insert { candidate, retention_due } => {
                if candidate.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let tkey = tenant_key(shared, txn, ctx, tenant).await?;
                let id = candidate.id.as_uuid();
                let ckey = Arc::new(CandidateKey::new(tenant, id, KeyBytes::random()));
                let wrapped = tkey.wrap_candidate_key(id, &ckey_bytes(&ckey));
                let state = ckey.seal("candidates", id, "state", &to_json_bytes(candidate.as_ref())?);
                exec(
                    txn,
                    b,
                    "INSERT INTO candidates (id, tenant_id, version, lifecycle, process_ended_at, retention_due_at, \
                     review_due_at, objected, created_at, updated_at, wrapped_key, state, tombstone) \
                     VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8, $8, $9, $10, NULL)",
                    vec![
                        id_bytes(id).into(),
                        t(),
                        candidate.lifecycle.as_str().into(),
                        candidate.process_ended_at().map(micros).into(),
                        retention_due.map(micros).into(),
                        candidate.objection.review.as_ref().map(|r| micros(r.due_at)).into(),
                        candidate.objection.is_objected().into(),
                        micros(candidate.created_at).into(),
                        wrapped.into(),
                        state.into(),
                    ],
                )
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) }
                })?;
                ctx.candidate_keys.insert(id, ckey);
                index_contacts(shared, txn, ctx, &tkey, tenant, candidate).await?;
            }
            CandidateChange::Update { candidate, expected_version, retention_due } => {
                if candidate.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let id = candidate.id.as_uuid();
                let ckey = candidate_key(shared, txn, ctx, tenant, id).await?;
                let state = ckey.seal("candidates", id, "state", &to_json_bytes(candidate.as_ref())?);
                let expected = i64::try_from(*expected_version).unwrap_or(i64::MAX);
                let updated = exec(
                    txn,
                    b,
                    "UPDATE candidates SET version = $3, lifecycle = $4, process_ended_at = $5, retention_due_at = $6, \
                     review_due_at = $7, objected = $8, updated_at = $9, state = $10 \
                     WHERE tenant_id = $1 AND id = $2 AND version = $11 AND tombstone IS NULL",
                    vec![
                        t(),
                        id_bytes(id).into(),
                        expected.saturating_add(1).into(),
                        candidate.lifecycle.as_str().into(),
                        candidate.process_ended_at().map(micros).into(),
                        retention_due.map(micros).into(),
                        candidate.objection.review.as_ref().map(|r| micros(r.due_at)).into(),
                        candidate.objection.is_objected().into(),
                        micros(at).into(),
                        state.into(),
                        expected.into(),
                    ],
                )
                .await
                .map_err(err)?;
                if updated == 0 {
                    return Err(StoreError::Conflict);
                }
                let tkey = tenant_key(shared, txn, ctx, tenant).await?;
                index_contacts(shared, txn, ctx, &tkey, tenant, candidate).await?;
            }
            CandidateChange::Erase { tombstone, expected_version } => {
                if tombstone.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let id = tombstone.id.as_uuid();
                let c = || -> Value { id_bytes(id).into() };
                exec(
                    txn,
                    b,
                    "DELETE FROM message_statuses WHERE tenant_id = $1 AND provider_id IN \
                     (SELECT provider_id FROM messages WHERE tenant_id = $1 AND candidate_id = $2 AND provider_id IS NOT NULL)",
                    vec![t(), c()],
                )
                .await
                .map_err(err)?;
                for table in ["media", "messages", "outbox", "contact_index"] {
                    exec(
                        txn,
                        b,
                        &format!("DELETE FROM {table} WHERE tenant_id = $1 AND candidate_id = $2"),
                        vec![t(), c()],
                    )
                    .await
                    .map_err(err)?;
                }
                let expected = i64::try_from(*expected_version).unwrap_or(i64::MAX);
                let updated = exec(
                    txn,
                    b,
                    "UPDATE candidates SET version = $3, lifecycle = 'erased', retention_due_at = NULL, review_due_at = NULL, \
                     updated_at = $4, wrapped_key = NULL, state = NULL, tombstone = $5 \
                     WHERE tenant_id = $1 AND id = $2 AND version = $6 AND tombstone IS NULL",
                    vec![
                        t(),
                        c(),
                        expected.saturating_add(1).into(),
                        micros(at).into(),
                        to_json(tombstone.as_ref())?.into(),
                        expected.into(),
                    ],
                )
                .await
                .map_err(err)?;
                if updated == 0 {
                    return Err(StoreError::Conflict);
                }
                ctx.candidate_keys.remove(&id);
                ctx.indexed.remove(&id);
                ctx.shredded.push(id);
            }
        }
    }

    for change in &changes.messages {
        match change {
            MessageChange::Insert(m) => {
                if m.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let id = m.id.as_uuid();
                let ckey = candidate_key(shared, txn, ctx, tenant, m.candidate.as_uuid()).await?;
                let body = ckey.seal("messages", id, "body", &to_json_bytes(&m.body)?);
                let values = vec![
                    id_bytes(id).into(),
                    t(),
                    id_bytes(m.candidate.as_uuid()).into(),
                    id_bytes(m.channel.as_uuid()).into(),
                    direction_str(m.direction).into(),
                    m.kind.as_str().into(),
                    m.intent.map(|i| i.as_str().to_owned()).into(),
                    m.provider_id.as_ref().map(|p| p.as_str().to_owned()).into(),
                    m.reply_to.as_ref().map(|p| p.as_str().to_owned()).into(),
                    micros(m.created_at).into(),
                    m.provider_at.map(micros).into(),
                    m.status.effective().map(|s| s.as_str().to_owned()).into(),
                    to_json(&m.status)?.into(),
                    body.into(),
                ];
                if ctx.defer && m.direction == Direction::Inbound {
                    ctx.deferred.messages.push(values);
                    continue;
                }
                exec(
                    txn,
                    b,
                    "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, intent, provider_id, \
                     reply_to, created_at, provider_at, status, timeline, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    values,
                )
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate(match m.direction {
                            Direction::Inbound => DuplicateKey::InboundMessage,
                            Direction::Outbound => DuplicateKey::Id,
                        })
                    } else {
                        db_error(&e)
                    }
                })?;
            }
            MessageChange::Accepted { id, provider_id, at } => {
                let observation = StatusObservation { status: DeliveryStatus::Accepted, at: *at, error_code: None };
                let found =
                    update_timeline(b, txn, tenant, id.as_uuid(), observation, Some(provider_id.as_str())).await?;
                if !found {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::Status { id, observation } => {
                if !update_timeline(b, txn, tenant, id.as_uuid(), *observation, None).await? {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::StatusByProviderId { provider_id, observation } => {
                let values = vec![
                    t(),
                    provider_id.as_str().into(),
                    observation.status.as_str().into(),
                    micros(observation.at).into(),
                    observation.error_code.into(),
                ];
                if ctx.defer {
                    ctx.deferred.statuses.push(values);
                    continue;
                }
                exec(txn, b, &format!("{STATUS_COLUMNS}($1, $2, $3, $4, $5){STATUS_CONFLICT}"), values)
                    .await
                    .map_err(err)?;
            }
        }
    }

    for change in &changes.outbox {
        match change {
            OutboxChange::Enqueue(entry) => {
                if entry.tenant != tenant_id {
                    return Err(StoreError::NotFound("tenant"));
                }
                let id = entry.id.as_uuid();
                let ckey = candidate_key(shared, txn, ctx, tenant, entry.candidate.as_uuid()).await?;
                let content = ckey.seal("outbox", id, "content", &to_json_bytes(&entry.content)?);
                exec(
                    txn,
                    b,
                    "INSERT INTO outbox (id, tenant_id, candidate_id, channel_id, message_id, intent, notice_appended, \
                     created_at, attempts, not_before, lease_until, content) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)",
                    vec![
                        id_bytes(id).into(),
                        t(),
                        id_bytes(entry.candidate.as_uuid()).into(),
                        id_bytes(entry.channel.as_uuid()).into(),
                        id_bytes(entry.message.as_uuid()).into(),
                        entry.intent.as_str().into(),
                        entry.notice_appended.into(),
                        micros(entry.created_at).into(),
                        i32::try_from(entry.attempts).unwrap_or(i32::MAX).into(),
                        micros(entry.not_before).into(),
                        content.into(),
                    ],
                )
                .await
                .map_err(err)?;
            }
            OutboxChange::CancelPending { candidate } => {
                let c = id_bytes(candidate.as_uuid());
                let rows = txn
                    .query_all_raw(stmt(
                        b,
                        "SELECT message_id FROM outbox WHERE tenant_id = $1 AND candidate_id = $2",
                        vec![t(), c.clone().into()],
                    ))
                    .await
                    .map_err(err)?;
                for row in rows {
                    let message: Vec<u8> = row.try_get("", "message_id").map_err(err)?;
                    let observation = StatusObservation { status: DeliveryStatus::Cancelled, at, error_code: None };
                    update_timeline(b, txn, tenant, uuid_from(&message)?, observation, None).await?;
                }
                let n =
                    exec(txn, b, "DELETE FROM outbox WHERE tenant_id = $1 AND candidate_id = $2", vec![t(), c.into()])
                        .await
                        .map_err(err)?;
                report.outbox_cancelled += u32::try_from(n).unwrap_or(u32::MAX);
            }
            OutboxChange::Complete { id } => {
                exec(
                    txn,
                    b,
                    "DELETE FROM outbox WHERE tenant_id = $1 AND id = $2",
                    vec![t(), id_bytes(id.as_uuid()).into()],
                )
                .await
                .map_err(err)?;
            }
            OutboxChange::Retry { id, not_before, attempts } => {
                exec(
                    txn,
                    b,
                    "UPDATE outbox SET not_before = $3, attempts = $4, lease_until = NULL WHERE tenant_id = $1 AND id = $2",
                    vec![
                        t(),
                        id_bytes(id.as_uuid()).into(),
                        micros(*not_before).into(),
                        i32::try_from(*attempts).unwrap_or(i32::MAX).into(),
                    ],
                )
                .await
                .map_err(err)?;
            }
        }
    }

    if !changes.suppressions.is_empty() || !changes.suppressions_lifted.is_empty() {
        let key = tenant_key(shared, txn, ctx, tenant).await?;
        for (contact, suppression) in &changes.suppressions {
            exec(
                txn,
                b,
                "INSERT INTO suppressions (tenant_id, blind, scope, since) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, blind) DO NOTHING",
                vec![
                    t(),
                    key.blind_index(&contact_text(contact)).to_vec().into(),
                    suppression.scope.as_str().into(),
                    micros(suppression.since).into(),
                ],
            )
            .await
            .map_err(err)?;
        }
        for contact in &changes.suppressions_lifted {
            exec(
                txn,
                b,
                "DELETE FROM suppressions WHERE tenant_id = $1 AND blind = $2",
                vec![t(), key.blind_index(&contact_text(contact)).to_vec().into()],
            )
            .await
            .map_err(err)?;
        }
    }

    for request in &changes.subject_requests {
        if request.tenant != tenant_id {
            return Err(StoreError::NotFound("tenant"));
        }
        exec(
            txn,
            b,
            "INSERT INTO subject_requests (id, tenant_id, candidate_id, kind, status, received_at, due_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, due_at = excluded.due_at, data = excluded.data \
             WHERE subject_requests.tenant_id = excluded.tenant_id",
            vec![
                id_bytes(request.id.as_uuid()).into(),
                t(),
                request.candidate.map(|c| id_bytes(c.as_uuid())).into(),
                request.kind.as_str().into(),
                request.status.as_str().into(),
                micros(request.received_at).into(),
                micros(request.due_at).into(),
                to_json(request)?.into(),
            ],
        )
        .await
        .map_err(err)?;
    }

    for change in &changes.media {
        let (record, content, insert) = match change {
            MediaChange::Insert { record, content } => (record, content, true),
            MediaChange::Update { record, content } => (record, content, false),
        };
        if record.tenant != tenant_id {
            return Err(StoreError::NotFound("tenant"));
        }
        apply_media(b, txn, shared, ctx, tenant, record, content.as_ref().map(|c| c.expose().as_slice()), insert)
            .await?;
    }

    let audited: Vec<_> = changes.events.iter().filter(|e| e.event.audited()).collect();
    if !audited.is_empty() {
        let mut head = *ctx.heads.get(&tenant).ok_or_else(|| StoreError::Corrupt("audit head not locked".into()))?;
        for envelope in audited {
            if envelope.tenant != tenant_id {
                return Err(StoreError::NotFound("tenant"));
            }
            let Some(draft) = AuditDraft::from_event(envelope) else { continue };
            let (entry, next) = hoheit_audit::append(&head, draft, envelope.at)
                .map_err(|e| StoreError::Corrupt(format!("audit: {e}")))?;
            let values = vec![
                t(),
                seq_i64(entry.seq()).into(),
                micros(entry.at()).into(),
                entry.action().into(),
                entry.subject().map(|s| id_bytes(s.as_uuid())).into(),
                entry.canonical_bytes().to_vec().into(),
                entry.hash().as_bytes().to_vec().into(),
            ];
            if ctx.defer {
                ctx.deferred.audit.push(values);
            } else {
                exec(txn, b, &format!("{AUDIT_COLUMNS}($1, $2, $3, $4, $5, $6, $7)"), values).await.map_err(err)?;
            }
            head = next;
        }
        ctx.heads.insert(tenant, head);
        ctx.heads_dirty.insert(tenant);
    }
    Ok(report)
}

/// Inserts or updates a media row: the record and the content sealed with the candidate key
/// (which fails for an erased candidate), kind/direction/status/size/times in clear.
#[allow(clippy::too_many_arguments)]
async fn apply_media(
    b: DbBackend,
    txn: &DatabaseTransaction,
    shared: &Shared,
    ctx: &BatchCtx,
    tenant: Uuid,
    record: &MediaRecord,
    content: Option<&[u8]>,
    insert: bool,
) -> Result<(), StoreError> {
    let id = record.id.as_uuid();
    let ckey = candidate_key(shared, txn, ctx, tenant, record.candidate.as_uuid()).await?;
    let sealed_record = ckey.seal("media", id, "record", &to_json_bytes(record)?);
    let sealed_content = content.map(|c| ckey.seal("media", id, "content", c));
    let direction = direction_str(record.direction);
    let size = record.size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let attempts = i32::try_from(record.attempts).unwrap_or(i32::MAX);
    if insert {
        exec(
            txn,
            b,
            "INSERT INTO media (id, tenant_id, candidate_id, message_id, channel_id, direction, kind, status, size, \
             attempts, next_attempt_at, created_at, settled_at, record, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            vec![
                id_bytes(id).into(),
                id_bytes(tenant).into(),
                id_bytes(record.candidate.as_uuid()).into(),
                id_bytes(record.message.as_uuid()).into(),
                id_bytes(record.channel.as_uuid()).into(),
                direction.into(),
                record.kind.as_str().into(),
                record.status.as_str().into(),
                size.into(),
                attempts.into(),
                record.next_attempt_at.map(micros).into(),
                micros(record.created_at).into(),
                record.settled_at.map(micros).into(),
                sealed_record.into(),
                sealed_content.into(),
            ],
        )
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) })?;
        return Ok(());
    }
    let mut values: Vec<Value> = vec![
        id_bytes(tenant).into(),
        id_bytes(id).into(),
        id_bytes(record.candidate.as_uuid()).into(),
        record.status.as_str().into(),
        size.into(),
        attempts.into(),
        record.next_attempt_at.map(micros).into(),
        record.settled_at.map(micros).into(),
        sealed_record.into(),
    ];
    let set_content = if let Some(sealed) = sealed_content {
        values.push(sealed.into());
        ", content = $10"
    } else {
        ""
    };
    let updated = exec(
        txn,
        b,
        &format!(
            "UPDATE media SET status = $4, size = $5, attempts = $6, next_attempt_at = $7, settled_at = $8, \
             record = $9{set_content} WHERE tenant_id = $1 AND id = $2 AND candidate_id = $3"
        ),
        values,
    )
    .await
    .map_err(|e| db_error(&e))?;
    if updated == 0 {
        return Err(StoreError::NotFound("media"));
    }
    Ok(())
}

fn ckey_bytes(key: &CandidateKey) -> KeyBytes {
    key.key_bytes().clone()
}

/// Indexes a candidate's contact keys (blind index). A key that belongs to another candidate is
/// a duplicate contact.
async fn index_contacts(
    shared: &Shared,
    txn: &DatabaseTransaction,
    ctx: &mut BatchCtx,
    key: &TenantKey,
    tenant: Uuid,
    candidate: &Candidate,
) -> Result<(), StoreError> {
    let b = shared.backend;
    let cid = candidate.id.as_uuid();
    let blinds: Vec<[u8; 32]> = candidate.contact.keys().iter().map(|c| key.blind_index(&contact_text(c))).collect();
    // the hot path: an update whose contact keys this process indexed already
    let known = ctx.indexed.get(&cid).cloned().or_else(|| shared.indexed_contacts(cid));
    if known.as_ref() == Some(&blinds) {
        return Ok(());
    }
    let id = id_bytes(cid);
    for blind in &blinds {
        // inserted, or already ours: one row affected; another candidate's: none
        let affected = exec(
            txn,
            b,
            "INSERT INTO contact_index (tenant_id, blind, candidate_id) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, blind) DO UPDATE SET candidate_id = excluded.candidate_id \
             WHERE contact_index.candidate_id = excluded.candidate_id",
            vec![id_bytes(tenant).into(), blind.to_vec().into(), id.clone().into()],
        )
        .await
        .map_err(|e| db_error(&e))?;
        if affected == 0 {
            return Err(StoreError::Duplicate(DuplicateKey::Contact));
        }
    }
    ctx.indexed.insert(cid, blinds);
    Ok(())
}

/// Merges an observation into a message's local timeline; sets the provider id when given.
/// Returns whether the message exists.
async fn update_timeline(
    b: DbBackend,
    txn: &DatabaseTransaction,
    tenant: Uuid,
    message: Uuid,
    observation: StatusObservation,
    provider_id: Option<&str>,
) -> Result<bool, StoreError> {
    let row = txn
        .query_one_raw(stmt(
            b,
            "SELECT timeline FROM messages WHERE tenant_id = $1 AND id = $2",
            vec![id_bytes(tenant).into(), id_bytes(message).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let Some(row) = row else { return Ok(false) };
    let json: String = row.try_get("", "timeline").map_err(|e| db_error(&e))?;
    let mut timeline: StatusTimeline = from_json("message timeline", json.as_bytes())?;
    timeline.observe(observation);
    let status = timeline.effective().map(|s| s.as_str().to_owned());
    let sql = if provider_id.is_some() {
        "UPDATE messages SET timeline = $3, status = $4, provider_id = $5 WHERE tenant_id = $1 AND id = $2"
    } else {
        "UPDATE messages SET timeline = $3, status = $4 WHERE tenant_id = $1 AND id = $2"
    };
    let mut values: Vec<Value> =
        vec![id_bytes(tenant).into(), id_bytes(message).into(), to_json(&timeline)?.into(), status.into()];
    if let Some(p) = provider_id {
        values.push(p.into());
    }
    exec(txn, b, sql, values).await.map_err(|e| db_error(&e))?;
    Ok(true)
}
