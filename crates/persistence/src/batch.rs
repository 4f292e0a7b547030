//! The state of one group-commit transaction as the table modules see it: the transaction, what
//! the batch changed so far beyond the database (keys, shredded candidates, indexed contacts,
//! audit heads; published only after the commit), and the inserts buffered for multi-row
//! statements.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hoheit_audit::ChainHead;
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::StoreError;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{db_error, id_bytes};
use crate::crypto::{CandidateKey, TenantKey};
use crate::shared::{Shared, stmt};

/// What a batch changes beyond the database, published only after the commit.
#[derive(Default, Clone)]
pub(crate) struct BatchCtx {
    /// The heads as locked at the start of the batch (for the compare-and-set at the end).
    pub(crate) locked: HashMap<Uuid, u64>,
    pub(crate) heads: HashMap<Uuid, ChainHead>,
    pub(crate) heads_dirty: HashSet<Uuid>,
    pub(crate) tenant_keys: HashMap<Uuid, Arc<TenantKey>>,
    pub(crate) candidate_keys: HashMap<(Uuid, Uuid), Arc<CandidateKey>>,
    /// (tenant, candidate) erased in this batch.
    pub(crate) shredded: Vec<(Uuid, Uuid)>,
    pub(crate) config_changed: HashSet<TenantId>,
    /// Contact keys indexed in this batch, per candidate (published to the cache on commit).
    pub(crate) indexed: HashMap<Uuid, Vec<[u8; 32]>>,
    /// Whether plain inserts may be buffered and written as multi-row statements (see
    /// [`Deferred`]).
    pub(crate) defer: bool,
    /// Whether a new candidate's rows (candidate, contact index, name index) may be buffered
    /// too: only in a change set whose every other row is buffered as well (nothing written at
    /// once refers to the candidate before the buffer is written).
    pub(crate) defer_candidates: bool,
    /// The provider-id hashes of the current change set's statuses, in order, as
    /// `tables::messages` computed them (the live updates reuse them instead of hashing again).
    pub(crate) status_hashes: Vec<String>,
    pub(crate) deferred: Deferred,
    /// The batch's audited events in the order of its change sets, chained at its end
    /// ([`crate::tables::audit::chain`]).
    pub(crate) drafts: Vec<(Uuid, hoheit_audit::AuditDraft, time::OffsetDateTime)>,
    /// What the committed change sets changed, for the live updates (see [`crate::live`]).
    pub(crate) live: Vec<crate::live::Raw>,
}

impl BatchCtx {
    /// Takes over what a later batch learned that matters after its commit (keys to cache, index
    /// entries, erasures, configuration changes, live updates).
    pub(crate) fn absorb(&mut self, other: BatchCtx) {
        self.tenant_keys.extend(other.tenant_keys);
        self.candidate_keys.extend(other.candidate_keys);
        self.indexed.extend(other.indexed);
        self.shredded.extend(other.shredded);
        self.config_changed.extend(other.config_changed);
        self.live.extend(other.live);
    }
}

/// Inserts buffered during a batch without savepoints and written at its end as one multi-row
/// statement per table, so a batch costs a few round trips instead of a few per event (it is
/// what makes PostgreSQL fast). Only rows nothing else in the batch reads, updates or deletes
/// are buffered: inbound messages, delivery statuses by provider id, audit entries and, in a
/// change set that writes nothing else at once, new candidates with their index rows; a change
/// set that touches anything else writes the buffer first and buffers nothing itself. If a
/// buffered insert fails (a re-delivered webhook), the batch is rolled back and run again with a
/// savepoint per change set and no buffering, which attributes the failure to its change set.
#[derive(Default, Clone)]
pub(crate) struct Deferred {
    /// New candidates (issue 19: one statement per batch instead of one per inbound message of
    /// a new sender), then their contact-index and name-index rows.
    pub(crate) candidates: Vec<Vec<Value>>,
    pub(crate) contacts: Vec<Vec<Value>>,
    pub(crate) names: Vec<Vec<Value>>,
    pub(crate) messages: Vec<Vec<Value>>,
    /// (tenant, provider-id hash) of the buffered inbound messages that have one.
    pub(crate) message_ids: Vec<(Uuid, String)>,
    pub(crate) statuses: Vec<Vec<Value>>,
    /// (tenant, provider-id hash) of each buffered status, in the order of `statuses`.
    pub(crate) status_ids: Vec<(Uuid, String)>,
}

/// One change set being applied inside a batch: the table modules write through it.
pub(crate) struct Write<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) txn: &'a DatabaseTransaction,
    pub(crate) ctx: &'a mut BatchCtx,
    pub(crate) tenant_id: TenantId,
    pub(crate) tenant: Uuid,
    /// When the change set happened (its latest event's time): where the store must stamp a
    /// change.
    pub(crate) at: OffsetDateTime,
}

impl Write<'_> {
    pub(crate) fn backend(&self) -> DbBackend {
        self.shared.backend
    }

    /// The tenant id as a column value.
    pub(crate) fn t(&self) -> Value {
        id_bytes(self.tenant).into()
    }

    /// Runs a statement; returns the rows affected.
    pub(crate) async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64, sea_orm::DbErr> {
        exec(self.txn, self.shared.backend, sql, values).await
    }

    /// The tenant key (created in this batch, cached, or unwrapped).
    pub(crate) async fn tenant_key(&self) -> Result<Arc<TenantKey>, StoreError> {
        if let Some(key) = self.ctx.tenant_keys.get(&self.tenant) {
            return Ok(key.clone());
        }
        self.shared.tenant_key(self.txn, self.tenant).await
    }

    /// A candidate's key; erased (also earlier in this batch): not found.
    pub(crate) async fn candidate_key(&self, candidate: Uuid) -> Result<Arc<CandidateKey>, StoreError> {
        if self.ctx.shredded.contains(&(self.tenant, candidate)) {
            return Err(StoreError::NotFound("candidate"));
        }
        if let Some(key) = self.ctx.candidate_keys.get(&(self.tenant, candidate)) {
            return Ok(key.clone());
        }
        self.shared.candidate_key_by_id(self.txn, self.tenant, candidate).await
    }

    /// Fails unless a record names this change set's tenant.
    pub(crate) fn own(&self, tenant: TenantId) -> Result<(), StoreError> {
        if tenant == self.tenant_id { Ok(()) } else { Err(StoreError::NotFound("tenant")) }
    }
}

/// Runs a statement in a transaction; returns the rows affected.
pub(crate) async fn exec(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, sea_orm::DbErr> {
    txn.execute_raw(stmt(backend, sql, values)).await.map(|r| r.rows_affected())
}

/// `($1, $2, …, $n)`: the placeholders of one row of `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    let mut sql = String::with_capacity(n * 5 + 2);
    sql.push('(');
    for i in 1..=n {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push(')');
    sql
}

/// `head (…), (…), … tail` in chunks that stay under both databases' parameter limits; the
/// rows affected.
pub(crate) async fn insert_rows(
    backend: DbBackend,
    txn: &DatabaseTransaction,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<u64, StoreError> {
    const MAX_PARAMS: usize = 30_000;
    let width = rows.first().map_or(1, Vec::len).max(1);
    let mut rows = rows.into_iter().peekable();
    let mut affected = 0;
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
        affected += exec(txn, backend, &sql, values).await.map_err(|e| db_error(&e))?;
    }
    Ok(affected)
}
