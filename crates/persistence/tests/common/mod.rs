//! Test databases: a fresh SQLite file per test, and a fresh PostgreSQL database per test when
//! `HOHEIT_TEST_POSTGRES_URL` is set (scripts/test sets it). Without it the PostgreSQL variants
//! pass trivially and say once, on the terminal, that they were skipped. [`SeaHarness`] hands
//! either to the store contract (`hoheit_domain::testing::contract`).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Once};

use async_trait::async_trait;
use hoheit_audit::CheckpointSigner;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::ports::{OutboxQueue, Queries, Store, StoreError};
use hoheit_domain::testing::contract::Harness;
use hoheit_persistence::crypto::MasterKey;
use hoheit_persistence::{PersistenceConfig, SeaStore, VerifyOutcome};
use sea_orm::{ConnectionTrait, Database};

pub enum Kind {
    Sqlite { dir: tempfile::TempDir, file: PathBuf },
    Postgres { admin_url: String, name: String, url: String },
}

pub struct Db {
    pub store: SeaStore,
    pub kind: Kind,
    pub master_hex: String,
}

static SKIP_NOTICE: Once = Once::new();

pub fn postgres_url() -> Option<String> {
    let url = std::env::var("HOHEIT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        SKIP_NOTICE.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTE: PostgreSQL store tests SKIPPED (HOHEIT_TEST_POSTGRES_URL not set); run scripts/test to include them.\n"
            );
        });
    }
    url
}

impl Db {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hoheit.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let master = MasterKey::generate(1);
        let master_hex = master.to_hex().to_string();
        let store = open(&url, master).await;
        Self { store, kind: Kind::Sqlite { dir, file }, master_hex }
    }

    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_url()?;
        let name = format!("hoheit_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.expect("connect to PostgreSQL");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
        admin.close().await.ok();
        let url = replace_db(&admin_url, &name);
        let master = MasterKey::generate(1);
        let master_hex = master.to_hex().to_string();
        let store = open(&url, master).await;
        Some(Self { store, kind: Kind::Postgres { admin_url, name, url }, master_hex })
    }

    /// Another store handle on the same database (a second process or replica).
    pub async fn reopen(&self) -> SeaStore {
        let master =
            MasterKey::from_secret(&secrecy::SecretBox::from(Box::<str>::from(self.master_hex.as_str())), 1).unwrap();
        open(&self.url(), master).await
    }

    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Sqlite { file, .. } => format!("sqlite://{}?mode=rwc", file.display()),
            Kind::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }
}

fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

pub async fn open(url: &str, master: MasterKey) -> SeaStore {
    let mut config = PersistenceConfig::new(url);
    config.max_connections = 8;
    config.config_ttl = std::time::Duration::from_millis(0);
    let store = SeaStore::connect(&config, master).await.expect("connect");
    hoheit_persistence::migrate(store.connection()).await.expect("migrate");
    store
}

/// Runs a test future on a fresh multi-threaded runtime (the store's writers run on it).
pub fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(test);
}

/// A fresh database as a subject of the store contract.
pub struct SeaHarness {
    pub db: Db,
}

impl SeaHarness {
    pub async fn sqlite() -> Option<Self> {
        Some(Self { db: Db::sqlite().await })
    }

    pub async fn postgres() -> Option<Self> {
        Db::postgres().await.map(|db| Self { db })
    }
}

#[async_trait]
impl Harness for SeaHarness {
    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.db.store.clone())
    }

    fn queue(&self) -> Arc<dyn OutboxQueue> {
        Arc::new(self.db.store.clone())
    }

    fn queries(&self) -> Arc<dyn Queries> {
        Arc::new(self.db.store.clone())
    }

    async fn replica(&self) -> (Arc<dyn Store>, Arc<dyn OutboxQueue>) {
        let replica = self.db.reopen().await;
        (Arc::new(replica.clone()), Arc::new(replica))
    }

    async fn audit_trail(&self, tenant: TenantId, subject: Option<CandidateId>) -> Result<Vec<String>, StoreError> {
        let read = self.db.store.audit_entries(tenant, subject, None, None, 1_000_000).await?;
        Ok(read.entries.into_iter().map(|e| e.action).collect())
    }

    async fn audit_verified(&self, tenant: TenantId) -> Result<Option<u64>, StoreError> {
        let key = CheckpointSigner::generate(&mut rand::rngs::OsRng).public_key();
        Ok(match self.db.store.verify_audit(tenant, vec![], &key).await? {
            VerifyOutcome::Ok(report) => Some(report.entries_verified),
            VerifyOutcome::Broken(_) => None,
        })
    }
}
