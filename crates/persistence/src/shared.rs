//! What the store handle and the writer tasks share: the connection, the key hierarchy with its
//! caches, the tenant-configuration cache, and the dialect helper every statement goes through.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use hoheit_domain::ids::TenantId;
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::ports::{StoreError, TenantConfig};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::codec::{contact_text, db_error, id_bytes};
use crate::crypto::{CacheTicket, CandidateKey, CryptoError, KeyCache, MasterKey, TenantKey};
use crate::entity::{self, scoped};

/// Writes `$1, $2, ...` placeholders in the dialect of the backend. SQLite: plain `?` when the
/// placeholders appear in order, each once (`$1 … $n`, as in every multi-row insert), else
/// `?1, ?2, ...`. Numbered parameters cost sqlx a look-up of each one's name, which SQLite
/// answers by scanning the statement's list of names: quadratic in the parameters of a
/// multi-row insert (issue 19: `sqlite3_bind_parameter_name` was 9% of the server's CPU during
/// inbound ingest); plain `?` have no names.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres { sql.to_owned() } else { sqlite_placeholders(sql) };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$n` placeholders in SQLite's form (see [`stmt`]).
fn sqlite_placeholders(sql: &str) -> String {
    let numbers = sql.split('$').skip(1).map(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        rest.get(..digits).and_then(|d| d.parse::<usize>().ok())
    });
    let mut expected = 1;
    let in_order = numbers.into_iter().all(|n| {
        let fits = n == Some(expected);
        expected += 1;
        fits
    });
    if !in_order {
        return sql.replace('$', "?");
    }
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push('?');
        let after = rest.get(at + 1..).unwrap_or_default();
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_placeholders_are_plain_only_when_in_order() {
        use super::sqlite_placeholders as p;
        assert_eq!(p("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(p("SELECT 1 WHERE a = $1 AND b = $10"), "SELECT 1 WHERE a = ?1 AND b = ?10");
        // reused or out of order: numbered
        assert_eq!(p("UPDATE t SET a = $2 WHERE b = $1"), "UPDATE t SET a = ?2 WHERE b = ?1");
        assert_eq!(p("VALUES ($1, $2, $2)"), "VALUES (?1, ?2, ?2)");
        assert_eq!(p("SELECT 1"), "SELECT 1");
        let many: Vec<String> = (1..=12).map(|i| format!("${i}")).collect();
        assert_eq!(p(&many.join(",")), ["?"; 12].join(","));
    }
}

/// `$from, $from+1, …` for `n` values (an `IN (…)` list after the statement's other parameters).
pub(crate) fn numbered(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The tenant term of a read of rows by a list of ids (`… WHERE {term} = $1 AND id IN (…)`).
/// On SQLite it is written `+tenant_id`, which keeps the term out of index selection: without
/// ANALYZE statistics SQLite's planner takes an index led by `tenant_id` (e.g.
/// `candidates_hold_review`) as selective and walks every row of the tenant instead of looking
/// the ids up by primary key (issue 17's inbox benchmark: 11 ms instead of 0.2 ms for a page of
/// 25 among 10,000 candidates). PostgreSQL keeps statistics; it takes the plain column.
pub(crate) fn tenant_term(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Sqlite { "+tenant_id" } else { "tenant_id" }
}

/// Shared by the store handle and the writer tasks.
pub(crate) struct Shared {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: DbBackend,
    pub(crate) master: MasterKey,
    pub(crate) tenant_keys: KeyCache<Uuid, TenantKey>,
    /// Keyed by (tenant, candidate); see [`KeyCache`] for how erasure stays final.
    pub(crate) candidate_keys: KeyCache<(Uuid, Uuid), CandidateKey>,
    /// How long the keyed hashes of an erased candidate's provider ids are kept (the replay
    /// window, plus a day for clock skew).
    pub(crate) replay_window: StdDuration,
    configs: RwLock<HashMap<TenantId, (Arc<TenantConfig>, Instant)>>,
    config_ttl: StdDuration,
    /// The contact keys (blind indexes) this process last indexed per candidate, so an update
    /// that does not change them writes no index rows.
    indexed: std::sync::Mutex<HashMap<Uuid, Vec<[u8; 32]>>>,
    indexed_capacity: usize,
    /// Signalled after a commit that gave the background workers something to do.
    pub(crate) wakeups: Wakeups,
    /// Receives the writer's stage timings (see [`crate::SeaStore::observe_stages`]).
    pub(crate) stages: std::sync::OnceLock<StageObserver>,
    /// The live updates' hub (see [`crate::live`]).
    pub(crate) live: Arc<crate::live::LiveHub>,
}

/// Receives the time of one pass of a stage of the write path: `commit_wait` (a change set
/// handed to the writer until its answer), `queue_wait` (waiting for a writer), `begin`
/// (transaction and audit head locks), `apply` (the batch's statements, sealing included),
/// `flush` (buffered multi-row inserts and audit heads), `commit`.
pub type StageObserver = Arc<dyn Fn(&'static str, StdDuration) + Send + Sync>;

/// The background workers' wake-ups, signalled by the writer after a commit that gave them work
/// (issue 19): the dispatcher when an outbox entry became due or got a new due time (queued,
/// retried, waiting for its status, receipt recorded), the media fetcher when an announced file
/// was recorded as pending. Nothing else wakes them, so under inbound-only load they issue no
/// statements. A [`tokio::sync::Notify`] keeps one wake-up for a worker that is not waiting yet.
#[derive(Debug, Default)]
pub struct Wakeups {
    /// The outbox dispatcher.
    pub outbox: Arc<tokio::sync::Notify>,
    /// The media fetcher.
    pub media: Arc<tokio::sync::Notify>,
}

impl Shared {
    /// Runs one statement outside a transaction; the number of rows it changed.
    pub(crate) async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
        self.db.execute_raw(stmt(self.backend, sql, values)).await.map(|r| r.rows_affected()).map_err(|e| db_error(&e))
    }

    /// Shared state over a connection.
    pub(crate) fn new(
        db: DatabaseConnection,
        master: MasterKey,
        config_ttl: StdDuration,
        key_cache: usize,
        replay_window: StdDuration,
        live: Arc<crate::live::LiveHub>,
    ) -> Self {
        let backend = db.get_database_backend();
        Self {
            replay_window,
            db,
            backend,
            master,
            tenant_keys: KeyCache::new(10_000),
            candidate_keys: KeyCache::new(key_cache),
            configs: RwLock::new(HashMap::new()),
            config_ttl,
            indexed: std::sync::Mutex::new(HashMap::new()),
            indexed_capacity: key_cache,
            wakeups: Wakeups::default(),
            stages: std::sync::OnceLock::new(),
            live,
        }
    }

    /// Reports a stage timing to the observer, if one is set.
    pub(crate) fn stage(&self, stage: &'static str, since: Instant) {
        if let Some(observe) = self.stages.get() {
            observe(stage, since.elapsed());
        }
    }

    /// The tenant key, from the cache or unwrapped once from `tenant_keys`.
    pub(crate) async fn tenant_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: Uuid,
    ) -> Result<Arc<TenantKey>, StoreError> {
        if let Some(key) = self.tenant_keys.get(&tenant) {
            return Ok(key);
        }
        let ticket = self.tenant_keys.ticket();
        let row = entity::tenant_keys::Entity::find_by_id(id_bytes(tenant))
            .one(conn)
            .await
            .map_err(|e| db_error(&e))?
            .ok_or(StoreError::NotFound("tenant"))?;
        let key = self
            .master
            .unwrap_key(tenant, &row.wrapped)
            .map_err(|e| StoreError::Corrupt(format!("tenant key: {e}")))?;
        let key = Arc::new(TenantKey::new(tenant, key, u32::try_from(row.key_version).unwrap_or(0)));
        self.tenant_keys.insert_if_current(ticket, tenant, key.clone());
        Ok(key)
    }

    /// The blind index of a contact in a tenant, or `None` if the tenant does not exist (a read
    /// by contact then finds nothing).
    pub(crate) async fn blind_index(&self, tenant: Uuid, contact: &ContactKey) -> Result<Option<Vec<u8>>, StoreError> {
        match self.tenant_key(&self.db, tenant).await {
            Ok(key) => Ok(Some(key.blind_index(&contact_text(contact)).to_vec())),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A write transaction (`BEGIN IMMEDIATE` on SQLite: the write lock is taken at once, so a
    /// busy database is waited for up front instead of failing an upgrade halfway).
    pub(crate) async fn begin_immediate(&self) -> Result<DatabaseTransaction, StoreError> {
        self.db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(|e| db_error(&e))
    }

    /// The candidate key from the cache or by unwrapping `wrapped`, which was read after
    /// `ticket` was taken (so a concurrent erasure cannot be undone by caching it).
    pub(crate) fn candidate_key(
        &self,
        tenant_key: &TenantKey,
        tenant: Uuid,
        candidate: Uuid,
        wrapped: Option<&[u8]>,
        ticket: CacheTicket,
    ) -> Result<Arc<CandidateKey>, StoreError> {
        if let Some(key) = self.candidate_keys.get(&(tenant, candidate)) {
            return Ok(key);
        }
        let wrapped = wrapped.ok_or_else(|| StoreError::Corrupt(CryptoError::Shredded.to_string()))?;
        let key = tenant_key
            .unwrap_candidate_key(candidate, wrapped)
            .map_err(|e| StoreError::Corrupt(format!("candidate key: {e}")))?;
        let key = Arc::new(CandidateKey::new(tenant, candidate, key));
        self.candidate_keys.insert_if_current(ticket, (tenant, candidate), key.clone());
        Ok(key)
    }

    /// Candidate key by id (reads the wrapped key when not cached).
    pub(crate) async fn candidate_key_by_id<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: Uuid,
        candidate: Uuid,
    ) -> Result<Arc<CandidateKey>, StoreError> {
        if let Some(key) = self.candidate_keys.get(&(tenant, candidate)) {
            return Ok(key);
        }
        let ticket = self.candidate_keys.ticket();
        let row = scoped::<entity::candidates::Entity>(tenant)
            .filter(entity::candidates::Column::Id.eq(id_bytes(candidate)))
            .one(conn)
            .await
            .map_err(|e| db_error(&e))?
            .ok_or(StoreError::NotFound("candidate"))?;
        let tenant_key = self.tenant_key(conn, tenant).await?;
        self.candidate_key(&tenant_key, tenant, candidate, row.wrapped_key.as_deref(), ticket)
    }

    pub(crate) fn indexed_contacts(&self, candidate: Uuid) -> Option<Vec<[u8; 32]>> {
        self.indexed.lock().ok().and_then(|m| m.get(&candidate).cloned())
    }

    pub(crate) fn remember_indexed(&self, candidate: Uuid, blinds: Vec<[u8; 32]>) {
        if let Ok(mut m) = self.indexed.lock() {
            if m.len() >= self.indexed_capacity {
                m.clear();
            }
            m.insert(candidate, blinds);
        }
    }

    pub(crate) fn forget_indexed(&self, candidate: Uuid) {
        if let Ok(mut m) = self.indexed.lock() {
            m.remove(&candidate);
        }
    }

    /// A cached tenant configuration younger than the TTL.
    pub(crate) fn cached_config(&self, tenant: TenantId) -> Option<Arc<TenantConfig>> {
        let configs = self.configs.read().ok()?;
        let (config, at) = configs.get(&tenant)?;
        (at.elapsed() < self.config_ttl).then(|| config.clone())
    }

    pub(crate) fn cache_config(&self, tenant: TenantId, config: Arc<TenantConfig>) {
        if let Ok(mut configs) = self.configs.write() {
            configs.insert(tenant, (config, Instant::now()));
        }
    }

    pub(crate) fn invalidate_config(&self, tenant: TenantId) {
        if let Ok(mut configs) = self.configs.write() {
            configs.remove(&tenant);
        }
    }
}
