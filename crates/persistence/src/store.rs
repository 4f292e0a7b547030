//! The SeaORM store: connection, caches, reads, and the port implementations. Writes go to the
//! group-commit writer in `writer.rs`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use hoheit_domain::candidate::Candidate;
use hoheit_domain::conversation::{Message, MessageBody, StatusObservation, StatusTimeline};
use hoheit_domain::ids::{CandidateId, ChannelId, MediaId, MessageId, OutboxId, SubjectRequestId, TenantId};
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::legal::{LegalText, LegalTextCatalogue};
use hoheit_domain::media::MediaRecord;
use hoheit_domain::objection::{ObjectionScope, Suppression};
use hoheit_domain::ports::{ChangeSet, CommitReport, OutboxEntry, OutboxQueue, Store, StoreError, TenantConfig};
use hoheit_domain::subject_request::SubjectRequest;
use hoheit_domain::template::{Template, TemplateCatalogue};
use hoheit_domain::tenant::{Channel, Tenant};
use hoheit_domain::values::{Pii, Wamid};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use time::{Duration, OffsetDateTime};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::codec::{
    contact_text, db_error, direction_from, from_json, from_micros, id_bytes, intent_from, kind_from, micros,
    status_from, uuid_from, wamid_from,
};
use crate::crypto::{CandidateKey, CryptoError, KeyCache, MasterKey, TenantKey};
use crate::entity::{self, scoped};
use crate::writer::{Job, writer_loop};

/// How durable a SQLite commit is (the `synchronous` pragma).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    /// `FULL` (default): an acknowledged commit survives a process kill and a power loss.
    #[default]
    Full,
    /// `NORMAL`: survives a process kill; the last commits may be lost on power loss. Faster.
    Normal,
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct PersistenceConfig {
    /// `sqlite://path/to/hoheit.db?mode=rwc`, `sqlite::memory:` or `postgres://...`.
    pub database_url: String,
    /// SQLite durability.
    pub sqlite_sync: SqliteSync,
    /// Pool size.
    pub max_connections: u32,
    /// How long a cached tenant configuration is trusted (other replicas may change it).
    pub config_ttl: StdDuration,
    /// Most change sets per group commit.
    pub max_batch: usize,
    /// Unwrapped candidate keys kept in memory.
    pub key_cache: usize,
    /// Writer tasks (group commit). SQLite has one writer by nature; on PostgreSQL several
    /// transactions can commit in parallel. `None`: 1 for SQLite, 4 for PostgreSQL.
    pub writers: Option<usize>,
}

impl PersistenceConfig {
    /// Defaults for a database URL.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            sqlite_sync: SqliteSync::Full,
            max_connections: 16,
            config_ttl: StdDuration::from_secs(2),
            max_batch: 512,
            key_cache: 100_000,
            writers: None,
        }
    }
}

/// Shared by the store handle and the writer task.
pub(crate) struct Shared {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: DbBackend,
    pub(crate) master: MasterKey,
    pub(crate) tenant_keys: KeyCache<TenantKey>,
    pub(crate) candidate_keys: KeyCache<CandidateKey>,
    configs: RwLock<HashMap<TenantId, (Arc<TenantConfig>, Instant)>>,
    config_ttl: StdDuration,
    /// The contact keys (blind indexes) this process last indexed per candidate, so an update
    /// that does not change them writes no index rows.
    indexed: std::sync::Mutex<HashMap<Uuid, Vec<[u8; 32]>>>,
    indexed_capacity: usize,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct SeaStore {
    pub(crate) shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaStore").field("backend", &self.shared.backend).finish_non_exhaustive()
    }
}

impl SeaStore {
    /// Connects (does not migrate) and starts the writer task. Must run inside a tokio runtime.
    pub async fn connect(config: &PersistenceConfig, master: MasterKey) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(config.database_url.clone());
        options
            .max_connections(config.max_connections)
            .min_connections(1)
            .acquire_timeout(StdDuration::from_secs(10))
            .sqlx_logging(false)
            .test_before_acquire(false);
        let sync = config.sqlite_sync;
        options.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(match sync {
                    SqliteSync::Full => SqliteSynchronous::Full,
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                })
                .foreign_keys(true)
                .busy_timeout(StdDuration::from_secs(10))
                .pragma("secure_delete", "ON")
                .statement_cache_capacity(256)
        });
        // After an I/O error SQLite rolls a transaction back by itself; sea-orm's ROLLBACK TO
        // SAVEPOINT then fails and sqlx still counts the connection as inside a transaction. Such
        // a connection would turn the next BEGIN IMMEDIATE into a SAVEPOINT of a transaction
        // that never commits (answering writes as committed and holding the write lock forever),
        // so it is closed instead of pooled. A connection that opened while the file was not
        // writable stays read-only for its life: refuse it at connect (BEGIN IMMEDIATE fails).
        options.map_sqlx_sqlite_pool_opts(|pool| {
            use sea_orm::sqlx::{Connection as _, Executor as _};
            pool.after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) })).after_connect(
                |conn, _| Box::pin(async move { conn.execute("BEGIN IMMEDIATE; ROLLBACK").await.map(|_| ()) }),
            )
        });
        options.map_sqlx_postgres_pool_opts(|pool| {
            use sea_orm::sqlx::Connection as _;
            pool.after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        });
        let db = Database::connect(options).await.map_err(|e| db_error(&e))?;
        Ok(Self::from_connection(db, master, config))
    }

    /// Wraps an existing connection (and starts the writer task).
    pub fn from_connection(db: DatabaseConnection, master: MasterKey, config: &PersistenceConfig) -> Self {
        let backend = db.get_database_backend();
        let shared = Arc::new(Shared {
            db,
            backend,
            master,
            tenant_keys: KeyCache::new(10_000),
            candidate_keys: KeyCache::new(config.key_cache),
            configs: RwLock::new(HashMap::new()),
            config_ttl: config.config_ttl,
            indexed: std::sync::Mutex::new(HashMap::new()),
            indexed_capacity: config.key_cache,
        });
        let (tx, rx) = mpsc::channel(config.max_batch.max(1) * 4);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let writers = config.writers.unwrap_or(if backend == DbBackend::Postgres { 4 } else { 1 }).max(1);
        for _ in 0..writers {
            tokio::spawn(writer_loop(shared.clone(), rx.clone(), config.max_batch.max(1)));
        }
        Self { shared, writer: tx }
    }

    /// The database connection (for migrations and health checks).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.shared.db
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.shared.backend
    }
}

/// Writes `$1, $2, ...` placeholders in the dialect of the backend (SQLite: `?1, ?2, ...`).
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres { sql.to_owned() } else { sql.replace('$', "?") };
    Statement::from_sql_and_values(backend, sql, values)
}

impl Shared {
    /// The tenant key, from the cache or unwrapped once from `tenant_keys`.
    pub(crate) async fn tenant_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: Uuid,
    ) -> Result<Arc<TenantKey>, StoreError> {
        if let Some(key) = self.tenant_keys.get(&tenant) {
            return Ok(key);
        }
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
        self.tenant_keys.insert(tenant, key.clone());
        Ok(key)
    }

    /// The candidate key from the cache or by unwrapping `wrapped`.
    pub(crate) fn candidate_key(
        &self,
        tenant_key: &TenantKey,
        tenant: Uuid,
        candidate: Uuid,
        wrapped: Option<&[u8]>,
    ) -> Result<Arc<CandidateKey>, StoreError> {
        if let Some(key) = self.candidate_keys.get(&candidate) {
            return Ok(key);
        }
        let wrapped = wrapped.ok_or_else(|| StoreError::Corrupt(CryptoError::Shredded.to_string()))?;
        let key = tenant_key
            .unwrap_candidate_key(candidate, wrapped)
            .map_err(|e| StoreError::Corrupt(format!("candidate key: {e}")))?;
        let key = Arc::new(CandidateKey::new(tenant, candidate, key));
        self.candidate_keys.insert(candidate, key.clone());
        Ok(key)
    }

    /// Candidate key by id (reads the wrapped key when not cached).
    pub(crate) async fn candidate_key_by_id<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: Uuid,
        candidate: Uuid,
    ) -> Result<Arc<CandidateKey>, StoreError> {
        if let Some(key) = self.candidate_keys.get(&candidate) {
            return Ok(key);
        }
        let row = scoped::<entity::candidates::Entity>(tenant)
            .filter(entity::candidates::Column::Id.eq(id_bytes(candidate)))
            .one(conn)
            .await
            .map_err(|e| db_error(&e))?
            .ok_or(StoreError::NotFound("candidate"))?;
        let tenant_key = self.tenant_key(conn, tenant).await?;
        self.candidate_key(&tenant_key, tenant, candidate, row.wrapped_key.as_deref())
    }

    pub(crate) fn candidate_from_row(
        &self,
        tenant_key: &TenantKey,
        row: &entity::candidates::Model,
    ) -> Result<Candidate, StoreError> {
        let tenant = uuid_from(&row.tenant_id)?;
        let id = uuid_from(&row.id)?;
        let mut candidate: Candidate = if let Some(tombstone) = &row.tombstone {
            from_json("candidate tombstone", tombstone.as_bytes())?
        } else {
            let key = self.candidate_key(tenant_key, tenant, id, row.wrapped_key.as_deref())?;
            let sealed = row.state.as_deref().ok_or_else(|| StoreError::Corrupt("candidate state missing".into()))?;
            let plain = key
                .open("candidates", id, "state", sealed)
                .map_err(|e| StoreError::Corrupt(format!("candidate state: {e}")))?;
            from_json("candidate state", &plain)?
        };
        if candidate.id.as_uuid() != id || candidate.tenant.as_uuid() != tenant {
            return Err(StoreError::Corrupt("candidate state belongs to another record".into()));
        }
        candidate.version = u64::try_from(row.version).unwrap_or(0);
        Ok(candidate)
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

    pub(crate) fn invalidate_config(&self, tenant: TenantId) {
        if let Ok(mut configs) = self.configs.write() {
            configs.remove(&tenant);
        }
    }

    async fn load_config(&self, tenant: TenantId) -> Result<Option<TenantConfig>, StoreError> {
        let t = tenant.as_uuid();
        let Some(row) =
            entity::tenants::Entity::find_by_id(id_bytes(t)).one(&self.db).await.map_err(|e| db_error(&e))?
        else {
            return Ok(None);
        };
        let tenant_value: Tenant = from_json("tenant", row.settings.as_bytes())?;
        let key = self.tenant_key(&self.db, t).await?;
        let mut channels = Vec::new();
        for c in scoped::<entity::channels::Entity>(t).all(&self.db).await.map_err(|e| db_error(&e))? {
            let id = uuid_from(&c.id)?;
            let plain =
                key.open("channels", id, "data", &c.data).map_err(|e| StoreError::Corrupt(format!("channel: {e}")))?;
            channels.push(from_json::<Channel>("channel", &plain)?);
        }
        channels.sort_by_key(|c| c.created_at);
        let mut texts = Vec::new();
        for l in scoped::<entity::legal_texts::Entity>(t).all(&self.db).await.map_err(|e| db_error(&e))? {
            texts.push(from_json::<LegalText>("legal text", l.data.as_bytes())?);
        }
        let mut templates = Vec::new();
        for tpl in scoped::<entity::templates::Entity>(t).all(&self.db).await.map_err(|e| db_error(&e))? {
            templates.push(from_json::<Template>("template", tpl.data.as_bytes())?);
        }
        Ok(Some(TenantConfig {
            tenant: tenant_value,
            channels,
            legal_texts: LegalTextCatalogue::new(texts),
            templates: TemplateCatalogue::new(templates),
        }))
    }

    pub(crate) async fn config(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError> {
        if let Ok(configs) = self.configs.read()
            && let Some((config, at)) = configs.get(&tenant)
            && at.elapsed() < self.config_ttl
        {
            return Ok(Some(config.clone()));
        }
        let Some(config) = self.load_config(tenant).await? else { return Ok(None) };
        let config = Arc::new(config);
        if let Ok(mut configs) = self.configs.write() {
            configs.insert(tenant, (config.clone(), Instant::now()));
        }
        Ok(Some(config))
    }

    pub(crate) async fn media_from_row(&self, row: &entity::media::Model) -> Result<MediaRecord, StoreError> {
        let tenant = uuid_from(&row.tenant_id)?;
        let id = uuid_from(&row.id)?;
        let key = self.candidate_key_by_id(&self.db, tenant, uuid_from(&row.candidate_id)?).await?;
        let plain = key
            .open("media", id, "record", &row.record)
            .map_err(|e| StoreError::Corrupt(format!("media record: {e}")))?;
        let record: MediaRecord = from_json("media record", &plain)?;
        if record.id.as_uuid() != id || record.tenant.as_uuid() != tenant {
            return Err(StoreError::Corrupt("media record belongs to another row".into()));
        }
        Ok(record)
    }

    pub(crate) async fn message_from_row(
        &self,
        row: entity::messages::Model,
        statuses: &[entity::message_statuses::Model],
    ) -> Result<Message, StoreError> {
        let tenant = uuid_from(&row.tenant_id)?;
        let candidate = uuid_from(&row.candidate_id)?;
        let id = uuid_from(&row.id)?;
        let key = self.candidate_key_by_id(&self.db, tenant, candidate).await?;
        let plain = key
            .open("messages", id, "body", &row.body)
            .map_err(|e| StoreError::Corrupt(format!("message body: {e}")))?;
        let body: MessageBody = from_json("message body", &plain)?;
        let mut timeline: StatusTimeline = from_json("message timeline", row.timeline.as_bytes())?;
        for s in statuses.iter().filter(|s| Some(&s.provider_id) == row.provider_id.as_ref()) {
            let status = status_from(&s.status)?;
            timeline.observe(StatusObservation { status, at: from_micros(s.at)?, error_code: s.error_code });
        }
        Ok(Message {
            id: MessageId::from_uuid(id),
            tenant: TenantId::from_uuid(tenant),
            candidate: CandidateId::from_uuid(candidate),
            channel: ChannelId::from_uuid(uuid_from(&row.channel_id)?),
            direction: direction_from(&row.direction)?,
            kind: kind_from(&row.kind)?,
            intent: row.intent.as_deref().map(intent_from).transpose()?,
            body: Pii::new(body),
            provider_id: row.provider_id.as_deref().map(wamid_from).transpose()?,
            reply_to: row.reply_to.as_deref().map(wamid_from).transpose()?,
            created_at: from_micros(row.created_at)?,
            provider_at: row.provider_at.map(from_micros).transpose()?,
            status: timeline,
        })
    }

    async fn statuses_for(
        &self,
        tenant: Uuid,
        provider_ids: Vec<String>,
    ) -> Result<Vec<entity::message_statuses::Model>, StoreError> {
        if provider_ids.is_empty() {
            return Ok(Vec::new());
        }
        scoped::<entity::message_statuses::Entity>(tenant)
            .filter(entity::message_statuses::Column::ProviderId.is_in(provider_ids))
            .all(&self.db)
            .await
            .map_err(|e| db_error(&e))
    }

    pub(crate) fn outbox_from_row(key: &CandidateKey, row: &entity::outbox::Model) -> Result<OutboxEntry, StoreError> {
        let tenant = uuid_from(&row.tenant_id)?;
        let candidate = uuid_from(&row.candidate_id)?;
        let id = uuid_from(&row.id)?;
        let plain = key
            .open("outbox", id, "content", &row.content)
            .map_err(|e| StoreError::Corrupt(format!("outbox content: {e}")))?;
        Ok(OutboxEntry {
            id: OutboxId::from_uuid(id),
            tenant: TenantId::from_uuid(tenant),
            candidate: CandidateId::from_uuid(candidate),
            channel: ChannelId::from_uuid(uuid_from(&row.channel_id)?),
            message: MessageId::from_uuid(uuid_from(&row.message_id)?),
            content: from_json("outbox content", &plain)?,
            intent: intent_from(&row.intent)?,
            notice_appended: row.notice_appended,
            created_at: from_micros(row.created_at)?,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            not_before: from_micros(row.not_before)?,
        })
    }
}

#[async_trait]
impl Store for SeaStore {
    async fn tenant_config(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError> {
        self.shared.config(tenant).await
    }

    async fn candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Option<Candidate>, StoreError> {
        let t = tenant.as_uuid();
        let Some(row) = scoped::<entity::candidates::Entity>(t)
            .filter(entity::candidates::Column::Id.eq(id_bytes(id.as_uuid())))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?
        else {
            return Ok(None);
        };
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        self.shared.candidate_from_row(&key, &row).map(Some)
    }

    async fn candidate_by_contact(
        &self,
        tenant: TenantId,
        contact: &ContactKey,
    ) -> Result<Option<Candidate>, StoreError> {
        let t = tenant.as_uuid();
        let key = match self.shared.tenant_key(&self.shared.db, t).await {
            Ok(key) => key,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let blind = key.blind_index(&contact_text(contact)).to_vec();
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT c.id, c.tenant_id, c.version, c.lifecycle, c.process_ended_at, c.retention_due_at, \
                 c.review_due_at, c.objected, c.created_at, c.updated_at, c.wrapped_key, c.state, c.tombstone \
                 FROM contact_index i JOIN candidates c ON c.id = i.candidate_id \
                 WHERE i.tenant_id = $1 AND i.blind = $2 AND c.tenant_id = $1",
                vec![id_bytes(t).into(), blind.into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let model = candidate_model(&row)?;
        self.shared.candidate_from_row(&key, &model).map(Some)
    }

    async fn suppression(&self, tenant: TenantId, contact: &ContactKey) -> Result<Option<Suppression>, StoreError> {
        let t = tenant.as_uuid();
        let key = match self.shared.tenant_key(&self.shared.db, t).await {
            Ok(key) => key,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let blind = key.blind_index(&contact_text(contact)).to_vec();
        let row = scoped::<entity::suppressions::Entity>(t)
            .filter(entity::suppressions::Column::Blind.eq(blind))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        row.map(|r| Ok(Suppression { scope: ObjectionScope::AllWhatsApp, since: from_micros(r.since)? })).transpose()
    }

    async fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let t = tenant.as_uuid();
        let Some(row) = scoped::<entity::messages::Entity>(t)
            .filter(entity::messages::Column::Id.eq(id_bytes(id.as_uuid())))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?
        else {
            return Ok(None);
        };
        let statuses = self.shared.statuses_for(t, row.provider_id.iter().cloned().collect()).await?;
        self.shared.message_from_row(row, &statuses).await.map(Some)
    }

    async fn message_by_provider_id(
        &self,
        tenant: TenantId,
        provider_id: &Wamid,
    ) -> Result<Option<Message>, StoreError> {
        let t = tenant.as_uuid();
        let Some(row) = scoped::<entity::messages::Entity>(t)
            .filter(entity::messages::Column::ProviderId.eq(provider_id.as_str()))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?
        else {
            return Ok(None);
        };
        let statuses = self.shared.statuses_for(t, vec![provider_id.as_str().to_owned()]).await?;
        self.shared.message_from_row(row, &statuses).await.map(Some)
    }

    async fn messages(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<Message>, StoreError> {
        let t = tenant.as_uuid();
        let rows = scoped::<entity::messages::Entity>(t)
            .filter(entity::messages::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
            .order_by_asc(entity::messages::Column::CreatedAt)
            .order_by_asc(entity::messages::Column::Id)
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let ids: Vec<String> = rows.iter().filter_map(|r| r.provider_id.clone()).collect();
        let statuses = self.shared.statuses_for(t, ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.shared.message_from_row(row, &statuses).await?);
        }
        Ok(out)
    }

    async fn pending_outbox(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<OutboxEntry>, StoreError> {
        let t = tenant.as_uuid();
        let rows = scoped::<entity::outbox::Entity>(t)
            .filter(entity::outbox::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
            .order_by_asc(entity::outbox::Column::CreatedAt)
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        if rows.is_empty() {
            return Ok(out);
        }
        let key = self.shared.candidate_key_by_id(&self.shared.db, t, candidate.as_uuid()).await?;
        for row in &rows {
            out.push(Shared::outbox_from_row(&key, row)?);
        }
        Ok(out)
    }

    async fn retention_due(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CandidateId>, StoreError> {
        let rows = scoped::<entity::candidates::Entity>(tenant.as_uuid())
            .filter(entity::candidates::Column::RetentionDueAt.lte(micros(now)))
            .order_by_asc(entity::candidates::Column::RetentionDueAt)
            .limit(u64::from(limit))
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(|r| uuid_from(&r.id).map(CandidateId::from_uuid)).collect()
    }

    async fn subject_requests(
        &self,
        tenant: TenantId,
        candidate: Option<CandidateId>,
    ) -> Result<Vec<SubjectRequest>, StoreError> {
        let mut query = scoped::<entity::subject_requests::Entity>(tenant.as_uuid());
        if let Some(c) = candidate {
            query = query.filter(entity::subject_requests::Column::CandidateId.eq(id_bytes(c.as_uuid())));
        }
        let rows = query
            .order_by_asc(entity::subject_requests::Column::ReceivedAt)
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(|r| from_json("subject request", r.data.as_bytes())).collect()
    }

    async fn subject_request(
        &self,
        tenant: TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        let row = scoped::<entity::subject_requests::Entity>(tenant.as_uuid())
            .filter(entity::subject_requests::Column::Id.eq(id_bytes(id.as_uuid())))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        row.map(|r| from_json("subject request", r.data.as_bytes())).transpose()
    }

    async fn media(&self, tenant: TenantId, id: MediaId) -> Result<Option<MediaRecord>, StoreError> {
        let row = scoped::<entity::media::Entity>(tenant.as_uuid())
            .filter(entity::media::Column::Id.eq(id_bytes(id.as_uuid())))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        match row {
            Some(row) => self.shared.media_from_row(&row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn media_content(&self, tenant: TenantId, id: MediaId) -> Result<Option<Pii<Vec<u8>>>, StoreError> {
        let t = tenant.as_uuid();
        let row = scoped::<entity::media::Entity>(t)
            .filter(entity::media::Column::Id.eq(id_bytes(id.as_uuid())))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let Some(sealed) = &row.content else { return Ok(None) };
        let key = self.shared.candidate_key_by_id(&self.shared.db, t, uuid_from(&row.candidate_id)?).await?;
        let plain = key
            .open("media", uuid_from(&row.id)?, "content", sealed)
            .map_err(|e| StoreError::Corrupt(format!("media content: {e}")))?;
        Ok(Some(Pii::new(plain.to_vec())))
    }

    async fn candidate_media(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<MediaRecord>, StoreError> {
        let rows = scoped::<entity::media::Entity>(tenant.as_uuid())
            .filter(entity::media::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
            .order_by_asc(entity::media::Column::CreatedAt)
            .order_by_asc(entity::media::Column::Id)
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.shared.media_from_row(row).await?);
        }
        Ok(out)
    }

    async fn commit(&self, tenant: TenantId, changes: ChangeSet) -> Result<CommitReport, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job { tenant, changes, reply })
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }
}

pub(crate) fn candidate_model(row: &sea_orm::QueryResult) -> Result<entity::candidates::Model, StoreError> {
    let get = |e: sea_orm::DbErr| db_error(&e);
    Ok(entity::candidates::Model {
        id: row.try_get("", "id").map_err(get)?,
        tenant_id: row.try_get("", "tenant_id").map_err(get)?,
        version: row.try_get("", "version").map_err(get)?,
        lifecycle: row.try_get("", "lifecycle").map_err(get)?,
        process_ended_at: row.try_get("", "process_ended_at").map_err(get)?,
        retention_due_at: row.try_get("", "retention_due_at").map_err(get)?,
        review_due_at: row.try_get("", "review_due_at").map_err(get)?,
        objected: row.try_get("", "objected").map_err(get)?,
        created_at: row.try_get("", "created_at").map_err(get)?,
        updated_at: row.try_get("", "updated_at").map_err(get)?,
        wrapped_key: row.try_get("", "wrapped_key").map_err(get)?,
        state: row.try_get("", "state").map_err(get)?,
        tombstone: row.try_get("", "tombstone").map_err(get)?,
    })
}

#[async_trait]
impl OutboxQueue for SeaStore {
    async fn claim(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let shared = &self.shared;
        let lock = if shared.backend == DbBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE outbox SET lease_until = $1 WHERE id IN (\
               SELECT id FROM outbox WHERE not_before <= $2 AND (lease_until IS NULL OR lease_until <= $2) \
               ORDER BY not_before LIMIT $3 {lock}) \
             RETURNING id, tenant_id, candidate_id, channel_id, message_id, intent, notice_appended, created_at, \
               attempts, not_before, lease_until, content"
        );
        let txn = shared
            .db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(|e| db_error(&e))?;
        let rows = txn
            .query_all_raw(stmt(
                shared.backend,
                &sql,
                vec![micros(now + lease).into(), micros(now).into(), i64::from(limit).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        txn.commit().await.map_err(|e| db_error(&e))?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let get = |e: sea_orm::DbErr| db_error(&e);
            let model = entity::outbox::Model {
                id: row.try_get("", "id").map_err(get)?,
                tenant_id: row.try_get("", "tenant_id").map_err(get)?,
                candidate_id: row.try_get("", "candidate_id").map_err(get)?,
                channel_id: row.try_get("", "channel_id").map_err(get)?,
                message_id: row.try_get("", "message_id").map_err(get)?,
                intent: row.try_get("", "intent").map_err(get)?,
                notice_appended: row.try_get("", "notice_appended").map_err(get)?,
                created_at: row.try_get("", "created_at").map_err(get)?,
                attempts: row.try_get("", "attempts").map_err(get)?,
                not_before: row.try_get("", "not_before").map_err(get)?,
                lease_until: row.try_get("", "lease_until").map_err(get)?,
                content: row.try_get("", "content").map_err(get)?,
            };
            let tenant = uuid_from(&model.tenant_id)?;
            let candidate = uuid_from(&model.candidate_id)?;
            let decoded = async {
                let key = shared.candidate_key_by_id(&shared.db, tenant, candidate).await?;
                Shared::outbox_from_row(&key, &model)
            }
            .await;
            match decoded {
                Ok(entry) => entries.push(entry),
                // an entry whose candidate was erased in between: drop it
                Err(StoreError::NotFound(_) | StoreError::Corrupt(_)) => {
                    tracing::warn!(outbox = %uuid_from(&model.id).unwrap_or_default(), "dropping an undecryptable outbox entry");
                    let _ = shared
                        .db
                        .execute_raw(stmt(
                            shared.backend,
                            "DELETE FROM outbox WHERE id = $1",
                            vec![model.id.clone().into()],
                        ))
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }

    async fn release(&self, ids: &[OutboxId]) -> Result<(), StoreError> {
        for id in ids {
            self.shared
                .db
                .execute_raw(stmt(
                    self.shared.backend,
                    "UPDATE outbox SET lease_until = NULL WHERE id = $1",
                    vec![id_bytes(id.as_uuid()).into()],
                ))
                .await
                .map_err(|e| db_error(&e))?;
        }
        Ok(())
    }
}
