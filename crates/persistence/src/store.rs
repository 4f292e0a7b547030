//! The SeaORM store: connection and settings, and the domain ports implemented on it. Reads go
//! to the table modules ([`crate::tables`]); writes go to the group-commit writer
//! ([`crate::writer`]), which applies them table by table.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use hoheit_domain::candidate::Candidate;
use hoheit_domain::conversation::Message;
use hoheit_domain::ids::{CandidateId, MediaId, MessageId, OutboxId, SubjectRequestId, TenantId};
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::media::MediaRecord;
use hoheit_domain::objection::Suppression;
use hoheit_domain::ports::{ChangeSet, CommitReport, OutboxEntry, OutboxQueue, Store, StoreError, TenantConfig};
use hoheit_domain::subject_request::SubjectRequest;
use hoheit_domain::values::{Pii, Wamid};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use time::{Duration, OffsetDateTime};
use tokio::sync::{mpsc, oneshot};

use crate::codec::db_error;
use crate::crypto::MasterKey;
use crate::shared::Shared;
use crate::tables;
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
    /// The webhook replay window (issue 14): the keyed hashes of an erased candidate's
    /// provider ids are kept this long (plus a day for clock skew), so a redelivery of a
    /// pre-erasure webhook stays a duplicate. Default 7 days, 360Dialog's longest redelivery.
    pub replay_window: StdDuration,
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
            replay_window: StdDuration::from_secs(7 * 24 * 3600),
        }
    }
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
    /// The background workers' wake-ups, signalled after commits that gave them work.
    pub fn wakeups(&self) -> &crate::Wakeups {
        &self.shared.wakeups
    }

    /// The live updates' hub: streams of what each tenant's commits changed (see
    /// [`crate::live`]).
    pub fn live(&self) -> &Arc<crate::live::LiveHub> {
        &self.shared.live
    }

    /// Sets where the write path reports its stage timings (once; later calls are ignored).
    pub fn observe_stages(&self, observer: crate::StageObserver) {
        let _ = self.shared.stages.set(observer);
    }

    /// Connects (does not migrate) and starts the writer task. Must run inside a tokio runtime.
    pub async fn connect(config: &PersistenceConfig, master: MasterKey) -> Result<Self, StoreError> {
        if let Some(path) = sqlite_path(&config.database_url) {
            let create = config.database_url.contains("mode=rwc");
            private_sqlite_files(&path, create)
                .map_err(|e| StoreError::Unavailable(format!("database file: {}", e.kind())))?;
        }
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
        let (live, live_feed) = crate::live::LiveHub::new();
        live.start(db.clone(), live_feed);
        let shared = Arc::new(Shared::new(db, master, config.config_ttl, config.key_cache, config.replay_window, live));
        let backend = shared.backend;
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

/// The file of a SQLite URL (`sqlite://path?mode=rwc`, `sqlite:path`); `None` for in-memory
/// databases and other backends.
pub(crate) fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:") && !rest.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// Issue 13.5: the database and its WAL and shared-memory files are readable by the owner only.
/// When the URL lets SQLite create the database (`mode=rwc`), the directory is created 0700 if
/// missing and the database file 0600 before SQLite opens it (SQLite gives the `-wal` and `-shm`
/// files it creates the database file's mode); existing files are narrowed to 0600.
#[cfg(unix)]
pub(crate) fn private_sqlite_files(path: &std::path::Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    if create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        drop(std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?);
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn private_sqlite_files(_path: &std::path::Path, _create: bool) -> std::io::Result<()> {
    Ok(())
}

#[async_trait]
impl Store for SeaStore {
    async fn tenant_config(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError> {
        if let Some(config) = self.shared.cached_config(tenant) {
            return Ok(Some(config));
        }
        let Some(config) = tables::config::load(&self.shared, tenant).await? else { return Ok(None) };
        let config = Arc::new(config);
        self.shared.cache_config(tenant, config.clone());
        Ok(Some(config))
    }

    async fn candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Option<Candidate>, StoreError> {
        tables::candidates::by_id(&self.shared, tenant, id).await
    }

    async fn candidates(&self, tenant: TenantId, ids: &[CandidateId]) -> Result<Vec<Candidate>, StoreError> {
        tables::candidates::by_ids(&self.shared, tenant, ids).await
    }

    async fn candidate_by_contact(
        &self,
        tenant: TenantId,
        contact: &ContactKey,
    ) -> Result<Option<Candidate>, StoreError> {
        tables::candidates::by_contact(&self.shared, tenant, contact).await
    }

    async fn suppression(&self, tenant: TenantId, contact: &ContactKey) -> Result<Option<Suppression>, StoreError> {
        tables::suppressions::of_contact(&self.shared, tenant, contact).await
    }

    async fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, StoreError> {
        tables::messages::by_id(&self.shared, tenant, id).await
    }

    async fn message_by_provider_id(
        &self,
        tenant: TenantId,
        provider_id: &Wamid,
    ) -> Result<Option<Message>, StoreError> {
        tables::messages::by_provider_id(&self.shared, tenant, provider_id).await
    }

    async fn messages(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<Message>, StoreError> {
        tables::messages::of_candidate(&self.shared, tenant, candidate).await
    }

    async fn pending_outbox(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<OutboxEntry>, StoreError> {
        tables::outbox::of_candidate(&self.shared, tenant, candidate).await
    }

    async fn retention_due(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CandidateId>, StoreError> {
        tables::candidates::retention_due(&self.shared, tenant, now, limit).await
    }

    async fn subject_requests(
        &self,
        tenant: TenantId,
        candidate: Option<CandidateId>,
    ) -> Result<Vec<SubjectRequest>, StoreError> {
        tables::subject_requests::list(&self.shared, tenant, candidate).await
    }

    async fn subject_request(
        &self,
        tenant: TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        tables::subject_requests::by_id(&self.shared, tenant, id).await
    }

    async fn media(&self, tenant: TenantId, id: MediaId) -> Result<Option<MediaRecord>, StoreError> {
        tables::media::by_id(&self.shared, tenant, id).await
    }

    async fn media_content(&self, tenant: TenantId, id: MediaId) -> Result<Option<Pii<Vec<u8>>>, StoreError> {
        tables::media::content(&self.shared, tenant, id).await
    }

    async fn candidate_media(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<MediaRecord>, StoreError> {
        tables::media::of_candidate(&self.shared, tenant, candidate).await
    }

    async fn commit(&self, tenant: TenantId, changes: ChangeSet) -> Result<CommitReport, StoreError> {
        let (reply, answer) = oneshot::channel();
        let queued = std::time::Instant::now();
        self.writer
            .send(Job { tenant, changes, reply, queued })
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        let answer = answer.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        self.shared.stage("commit_wait", queued);
        answer
    }

    async fn mark_read(
        &self,
        tenant: TenantId,
        staff: hoheit_domain::ids::StaffId,
        candidate: CandidateId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        crate::tables::inbox::mark_read(&self.shared, tenant, staff, candidate, at).await
    }
}

#[async_trait]
impl OutboxQueue for SeaStore {
    async fn claim(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        tables::outbox::claim(&self.shared, now, lease, limit).await
    }

    async fn release(&self, ids: &[OutboxId]) -> Result<(), StoreError> {
        tables::outbox::release(&self.shared, ids).await
    }

    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        tables::outbox::next_due(&self.shared).await
    }
}
