//! The group-commit writer: one task per process receives change sets, opens one transaction for
//! every batch that has accumulated, applies the change sets (each table's part by its module in
//! [`crate::tables`], buffering plain inserts into multi-row statements), appends the audited
//! events to the tenants' hash chains, commits once, and only then answers each caller. Under
//! load many webhooks share one fsync and a few round trips; if a change set fails (lost
//! optimistic-lock race, duplicate webhook) the batch is run again with a savepoint around each
//! change set, so that one fails alone.

use std::sync::Arc;
use std::time::Instant;

use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::{
    CandidateChange, ChangeSet, CommitReport, MediaChange, MessageChange, OutboxChange, StoreError,
};
use sea_orm::{DatabaseTransaction, DbBackend, TransactionTrait};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::batch::{BatchCtx, Write, insert_rows};
use crate::codec::db_error;
use crate::shared::Shared;
use crate::tables::{audit, candidates, config, inbox, media, messages, outbox, subject_requests, suppressions};

/// One change set waiting to be committed.
pub(crate) struct Job {
    pub(crate) tenant: TenantId,
    pub(crate) changes: ChangeSet,
    pub(crate) reply: oneshot::Sender<Result<CommitReport, StoreError>>,
    /// When it was handed to the writer.
    pub(crate) queued: std::time::Instant,
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

/// Writes the buffered inserts (see [`crate::batch::Deferred`]).
async fn flush_deferred(backend: DbBackend, txn: &DatabaseTransaction, ctx: &mut BatchCtx) -> Result<(), StoreError> {
    let deferred = std::mem::take(&mut ctx.deferred);
    // new candidates before the rows that refer to them
    insert_rows(backend, txn, candidates::INSERT, "", deferred.candidates).await?;
    let contacts = deferred.contacts.len() as u64;
    if insert_rows(backend, txn, candidates::INSERT_CONTACT, candidates::CONTACT_CONFLICT, deferred.contacts).await?
        != contacts
    {
        // a number indexed for another candidate (the run with savepoints finds which)
        return Err(StoreError::Duplicate(hoheit_domain::ports::DuplicateKey::Contact));
    }
    insert_rows(backend, txn, inbox::INSERT_NAMES, inbox::NAMES_CONFLICT, deferred.names).await?;
    // provider ids of erased candidates' messages (issue 14): a buffered message with one is a
    // replay (the batch is rerun with savepoints, which attributes the duplicate to its change
    // set); a buffered status with one is dropped
    let mut pairs = deferred.message_ids.clone();
    pairs.extend(deferred.status_ids.iter().cloned());
    let erased = messages::erased_among(backend, txn, &pairs).await?;
    if deferred.message_ids.iter().any(|p| erased.contains(p)) {
        return Err(StoreError::Duplicate(hoheit_domain::ports::DuplicateKey::InboundMessage));
    }
    let statuses: Vec<_> = deferred
        .statuses
        .into_iter()
        .zip(&deferred.status_ids)
        .filter(|(_, id)| !erased.contains(*id))
        .map(|(row, _)| row)
        .collect();
    insert_rows(backend, txn, messages::INSERT, "", deferred.messages).await?;
    insert_rows(backend, txn, messages::INSERT_STATUS, messages::STATUS_CONFLICT, statuses).await?;
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

/// Whether a change set's new candidates may be buffered with their index rows: it writes nothing
/// else at once (only rows that are buffered too), so no statement before the buffer is written
/// refers to a candidate that is not there yet.
fn only_buffered_rows(changes: &ChangeSet) -> bool {
    changes.config.is_empty()
        && changes.outbox.is_empty()
        && changes.suppressions.is_empty()
        && changes.suppressions_lifted.is_empty()
        && changes.subject_requests.is_empty()
        && changes.media.is_empty()
        && changes.candidates.iter().all(|c| matches!(c, CandidateChange::Insert { .. }))
        && changes
            .messages
            .iter()
            .all(|m| matches!(m, MessageChange::Insert(_) | MessageChange::StatusByProviderId { .. }))
}

/// How often a change set that lost a deadlock (PostgreSQL) is run again in a batch of its own.
const DEADLOCK_RETRIES: usize = 5;

/// The order in which a batch applies its change sets: by the first candidate each touches
/// (configuration-only change sets first), stable, so two writers take the candidate rows in
/// the same order and a change set keeps its place among those of the same candidate.
fn lock_order(changes: &ChangeSet) -> Option<uuid::Uuid> {
    let from_candidates = changes.candidates.iter().map(|c| match c {
        CandidateChange::Insert { candidate, .. } | CandidateChange::Update { candidate, .. } => candidate.id,
        CandidateChange::Erase { tombstone, .. } => tombstone.id,
    });
    let from_messages = changes.messages.iter().filter_map(|m| match m {
        MessageChange::Insert(m) => Some(m.candidate),
        MessageChange::Accepted { .. } | MessageChange::Status { .. } | MessageChange::StatusByProviderId { .. } => {
            None
        }
    });
    from_candidates.chain(from_messages).map(|c| c.as_uuid()).min()
}

/// Whether a change set failed only because the database chose it to break a deadlock.
fn lost_deadlock(result: &Result<CommitReport, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(kind)) if kind == crate::codec::DEADLOCK)
}

async fn commit_batch(shared: &Shared, mut jobs: Vec<Job>) {
    for job in &jobs {
        shared.stage("queue_wait", job.queued);
    }
    jobs.sort_by_key(|j| lock_order(&j.changes));
    let (meta, replies): (Vec<(TenantId, ChangeSet)>, Vec<_>) =
        jobs.into_iter().map(|j| ((j.tenant, j.changes), j.reply)).unzip();
    // taken before the batch: a key created in it is not cached if any key was removed (an
    // erasure, also on another writer) meanwhile
    let (tenant_ticket, candidate_ticket) = (shared.tenant_keys.ticket(), shared.candidate_keys.ticket());
    let mut outcome = run_batch(shared, &meta).await;
    // a change set that lost a deadlock is run again (alone: the others committed)
    for _ in 0..DEADLOCK_RETRIES {
        let (results, ctx) = match &mut outcome {
            Ok(done) => (&mut done.0, &mut done.1),
            // the whole batch lost (e.g. at its chain step): all of it again
            Err(StoreError::Unavailable(kind)) if kind == crate::codec::DEADLOCK => {
                tokio::time::sleep(std::time::Duration::from_millis(rand::random::<u64>() % 20)).await;
                outcome = run_batch(shared, &meta).await;
                continue;
            }
            Err(_) => break,
        };
        let lost: Vec<usize> = (0..results.len()).filter(|i| results.get(*i).is_some_and(lost_deadlock)).collect();
        if lost.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(rand::random::<u64>() % 20)).await;
        let again: Vec<(TenantId, ChangeSet)> = lost.iter().filter_map(|i| meta.get(*i).cloned()).collect();
        match run_batch(shared, &again).await {
            Ok((retried, more)) => {
                for (i, result) in lost.into_iter().zip(retried) {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = result;
                    }
                }
                ctx.absorb(more);
            }
            Err(e) => {
                tracing::warn!(error = %e, "retry after a deadlock failed");
                break;
            }
        }
    }
    match outcome {
        Ok((results, ctx)) => {
            for (id, key) in ctx.tenant_keys {
                shared.tenant_keys.insert_if_current(tenant_ticket, id, key);
            }
            for (id, key) in ctx.candidate_keys {
                shared.candidate_keys.insert_if_current(candidate_ticket, id, key);
            }
            for (id, blinds) in ctx.indexed {
                shared.remember_indexed(id, blinds);
            }
            for (tenant, id) in &ctx.shredded {
                shared.candidate_keys.remove(&(*tenant, *id));
                shared.forget_indexed(*id);
            }
            for tenant in ctx.config_changed {
                shared.invalidate_config(tenant);
            }
            wake_workers(shared, &meta, &results);
            shared.live.committed(ctx.live);
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

/// Wakes the background workers the committed change sets gave work (see
/// [`crate::Wakeups`]): the dispatcher for an outbox entry that was queued or got a new due
/// time, the media fetcher for a file recorded as pending. Completions, cancellations and the
/// attempt records of sends in flight wake nobody.
fn wake_workers(shared: &Shared, jobs: &[(TenantId, ChangeSet)], results: &[Result<CommitReport, StoreError>]) {
    let committed = || jobs.iter().zip(results).filter(|(_, r)| r.is_ok()).map(|((_, c), _)| c);
    if committed().any(|c| {
        c.outbox.iter().any(|o| {
            matches!(
                o,
                OutboxChange::Enqueue(_)
                    | OutboxChange::Retry { .. }
                    | OutboxChange::AwaitStatus { .. }
                    | OutboxChange::Receipt { .. }
            )
        })
    }) {
        shared.wakeups.outbox.notify_one();
    }
    if committed().any(|c| c.media.iter().any(|m| matches!(m, MediaChange::Insert { content: None, .. }))) {
        shared.wakeups.media.notify_one();
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
    let started = Instant::now();
    let txn = shared.begin_immediate().await?;
    let mut ctx = BatchCtx::default();
    shared.stage("begin", started);
    let started = Instant::now();
    let mut results = Vec::with_capacity(jobs.len());
    let defer = !savepoints && jobs.len() > 1;
    for (tenant, changes) in jobs {
        if !savepoints {
            let simple = only_bufferable_reads(changes);
            ctx.defer = defer && simple;
            ctx.defer_candidates = ctx.defer && only_buffered_rows(changes);
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
    shared.stage("apply", started);
    let started = Instant::now();
    if let Err(e) = flush_deferred(shared.backend, &txn, &mut ctx).await {
        txn.rollback().await.map_err(|e| db_error(&e))?;
        return Ok(Attempt::Failed(e));
    }
    ctx.defer = false;
    ctx.defer_candidates = false;
    // the audit chain last: its head locks are held only for this step and the commit
    if let Err(e) = audit::chain(shared.backend, &txn, &mut ctx).await {
        txn.rollback().await.map_err(|e| db_error(&e))?;
        return Ok(Attempt::Failed(e));
    }
    shared.stage("flush", started);
    let started = Instant::now();
    txn.commit().await.map_err(|e| db_error(&e))?;
    shared.stage("commit", started);
    Ok(Attempt::Committed(results, Box::new(ctx)))
}

/// The time a change set happened (its events' time): used where the store must stamp a change.
fn change_time(changes: &ChangeSet) -> OffsetDateTime {
    changes.events.iter().map(|e| e.at).max().unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Applies one change set, table by table, in a fixed order (configuration first, the audit
/// chain last).
async fn apply(
    shared: &Shared,
    txn: &DatabaseTransaction,
    ctx: &mut BatchCtx,
    tenant_id: TenantId,
    changes: &ChangeSet,
) -> Result<CommitReport, StoreError> {
    let mut report = CommitReport::default();
    ctx.status_hashes.clear();
    let mut w = Write { shared, txn, ctx, tenant_id, tenant: tenant_id.as_uuid(), at: change_time(changes) };
    config::apply(&mut w, &changes.config).await?;
    candidates::apply(&mut w, &changes.candidates).await?;
    messages::apply(&mut w, &changes.messages, &mut report).await?;
    outbox::apply(&mut w, &changes.outbox, &mut report).await?;
    suppressions::apply(&mut w, &changes.suppressions, &changes.suppressions_lifted).await?;
    subject_requests::apply(&mut w, &changes.subject_requests).await?;
    media::apply(&mut w, &changes.media).await?;
    audit::append(&mut w, &changes.events)?;
    live_changes(&mut w, changes).await?;
    Ok(report)
}

/// Notes which conversations the change set changed, for the live updates ([`crate::live`]):
/// a candidate's state, a new message or a file is content, a delivery status is a status (by
/// message id or provider-id hash: the hub finds the candidate). Nothing on SQLite for a tenant
/// nobody watches; on PostgreSQL another replica may have viewers, so always.
async fn live_changes(w: &mut Write<'_>, changes: &ChangeSet) -> Result<(), StoreError> {
    use crate::live::{LiveKind, Raw};
    if !w.shared.live.wanted(w.tenant) {
        return Ok(());
    }
    let t = w.tenant;
    // the statuses' provider-id hashes as tables::messages computed them, in order
    let mut hashes = std::mem::take(&mut w.ctx.status_hashes).into_iter();
    for c in &changes.candidates {
        let (CandidateChange::Insert { candidate, .. }
        | CandidateChange::Update { candidate, .. }
        | CandidateChange::Erase { tombstone: candidate, .. }) = c;
        w.ctx.live.push(Raw::Candidate(t, candidate.id.as_uuid(), LiveKind::Content));
    }
    for m in &changes.messages {
        let raw = match m {
            MessageChange::Insert(m) => Raw::Candidate(t, m.candidate.as_uuid(), LiveKind::Content),
            MessageChange::Accepted { id, .. } | MessageChange::Status { id, .. } => Raw::Message(t, id.as_uuid()),
            MessageChange::StatusByProviderId { provider_id, .. } => match hashes.next() {
                Some(hash) => Raw::Provider(t, hash),
                None => Raw::Provider(t, w.tenant_key().await?.provider_hash(provider_id.as_str())),
            },
        };
        w.ctx.live.push(raw);
    }
    for m in &changes.media {
        let (MediaChange::Insert { record, .. } | MediaChange::Update { record, .. }) = m;
        w.ctx.live.push(Raw::Candidate(t, record.candidate.as_uuid(), LiveKind::Content));
    }
    Ok(())
}
