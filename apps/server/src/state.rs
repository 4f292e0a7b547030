//! Wiring: builds the adapters from the configuration and holds them for the handlers and
//! workers. This is the only place where the domain meets concrete adapters.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use hoheit_audit::CheckpointSigner;
use hoheit_dialog360::webhook::WebhookVerifier;
use hoheit_dialog360::{ClientConfig, Dialog360Client, Dialog360Gateway, SecretString};
use hoheit_domain::ids::{ChannelId, StaffId, TenantId};
use hoheit_domain::ports::{Clock, IdGenerator};
use hoheit_domain::usecases::Hoheit;
use hoheit_persistence::crypto::MasterKey;
use hoheit_persistence::{ChannelCredentials, PersistenceConfig, SeaStore};
use secrecy::{ExposeSecret, SecretBox};
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::Principal;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The wall clock, with an offset the demo can move forward (retention "six months later").
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_seconds: AtomicI64,
}

impl SystemClock {
    /// Moves the clock forward (demo only).
    pub fn advance(&self, by: time::Duration) {
        self.offset_seconds.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

/// UUIDv7 ids (time-ordered, good for B-tree indexes).
#[derive(Debug, Default)]
pub struct UuidV7;

impl IdGenerator for UuidV7 {
    fn next_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Per-token token bucket.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<StaffId, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second, bursts up to `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate.max(1)), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Whether a request of this token may pass now.
    pub fn allow(&self, id: StaffId, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        if buckets.len() > 100_000 {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(id).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Caches token lookups briefly (revocation takes effect within the TTL).
#[derive(Debug)]
pub struct TokenCache {
    ttl: StdDuration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    fn new(ttl: StdDuration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The principal of a token.
    pub async fn lookup(&self, store: &SeaStore, token: &str) -> Result<Option<Principal>, ApiError> {
        if let Ok(entries) = self.entries.lock()
            && let Some((p, at)) = entries.get(token)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(*p));
        }
        let found = store.token(token).await?.map(Principal::from);
        if let (Some(p), Ok(mut entries)) = (found, self.entries.lock()) {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(token.to_owned(), (p, Instant::now()));
        }
        Ok(found)
    }

    /// Forgets everything (after a revocation).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// A webhook route: which channel, and how its deliveries are verified.
#[derive(Debug, Clone)]
pub struct Route {
    /// Tenant.
    pub tenant: TenantId,
    /// Channel.
    pub channel: ChannelId,
    /// Verifier (secret header and/or HMAC).
    pub verifier: Arc<WebhookVerifier>,
}

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// Use cases.
    pub app: Hoheit,
    /// The store (also for server-only operations).
    pub store: SeaStore,
    /// The 360Dialog gateway registry.
    pub gateway: Arc<Dialog360Gateway>,
    /// The clock.
    pub clock: Arc<SystemClock>,
    /// Audit checkpoint signer.
    pub signer: Arc<CheckpointSigner>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the dispatcher when something was queued.
    pub dispatch_wake: Arc<Notify>,
    /// Wakes the media fetcher when a webhook announced files.
    pub media_wake: Arc<Notify>,
    /// Per-token rate limit.
    pub limiter: Arc<RateLimiter>,
    /// Token cache.
    pub tokens: Arc<TokenCache>,
    /// Webhook route cache.
    pub routes: Arc<Mutex<HashMap<String, (Route, Instant)>>>,
    /// This process's id (for leases).
    pub instance: Arc<str>,
    /// Overrides for channels created in `--dev` mode (the simulator).
    pub dev_channel: Option<Arc<DevChannel>>,
    /// Fingerprints of the credentials each registered client was built from, and when the
    /// registry was last reloaded from the database (other replicas add and rotate channels).
    channel_sync: Arc<tokio::sync::Mutex<ChannelSync>>,
}

#[derive(Debug, Default)]
struct ChannelSync {
    fingerprints: HashMap<ChannelId, [u8; 32]>,
    loaded_at: Option<Instant>,
}

/// What a client is built from, hashed (no key in memory beyond the client itself).
fn credentials_fingerprint(credentials: &ChannelCredentials) -> [u8; 32] {
    use secrecy::ExposeSecret as _;
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(credentials.api_key.expose_secret().as_bytes());
    h.update([0]);
    h.update(credentials.base_url.as_deref().unwrap_or("").as_bytes());
    h.finalize().into()
}

/// Where `--dev` points channels: the in-process simulator.
#[derive(Debug)]
pub struct DevChannel {
    /// Simulator base URL.
    pub base_url: String,
    /// Simulator API key.
    pub api_key: SecretString,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("instance", &self.instance).finish_non_exhaustive()
    }
}

/// Reads a secret from a value, a file, or a default file that is created (0600) if missing.
fn load_or_create_secret(
    value: Option<&SecretString>,
    file: Option<&Path>,
    default_file: &Path,
    create: impl FnOnce() -> String,
    what: &str,
) -> Result<SecretString, String> {
    if let Some(v) = value {
        return Ok(v.clone());
    }
    let path = file.unwrap_or(default_file);
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SecretString::from(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            let secret = create();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "created a new {what} file (mode 0600). PRODUCTION NEEDS A MANAGED KEY: keep it in a secret manager and back it up; losing it makes the data unreadable"
            );
            Ok(SecretString::from(secret))
        }
        Err(e) => Err(format!("cannot read the {what} from {}: {e}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// The master key from configuration (or the development key file).
pub fn master_key(config: &Config) -> Result<MasterKey, String> {
    let secret = load_or_create_secret(
        config.master_key.as_ref(),
        config.master_key_file.as_deref(),
        &config.data_dir.join("master.key"),
        || MasterKey::generate(1).to_hex().to_string(),
        "master key",
    )?;
    let boxed: SecretBox<str> = SecretBox::from(Box::<str>::from(secret.expose_secret()));
    MasterKey::from_secret(&boxed, 1)
        .map_err(|e| format!("master key: {e} (expected 32 bytes as 64 hex digits or base64)"))
}

/// The audit signing key from configuration (or the development key file).
pub fn audit_signer(config: &Config) -> Result<CheckpointSigner, String> {
    let secret = load_or_create_secret(
        config.audit_signing_key.as_ref(),
        config.audit_signing_key_file.as_deref(),
        &config.data_dir.join("audit-signing.key"),
        || CheckpointSigner::generate(&mut rand::rngs::OsRng).to_base64_secret().expose_secret().to_owned(),
        "audit signing key",
    )?;
    CheckpointSigner::from_base64(&secret).map_err(|e| format!("audit signing key: {e} (expected 32 bytes, base64)"))
}

/// Opens the store (does not migrate).
pub async fn open_store(config: &Config) -> Result<SeaStore, String> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    }
    let master = master_key(config)?;
    let mut pc = PersistenceConfig::new(config.database_url());
    pc.sqlite_sync = config.sqlite_sync;
    pc.max_connections = config.max_connections;
    SeaStore::connect(&pc, master).await.map_err(|e| format!("cannot open the database: {e}"))
}

impl AppState {
    /// Builds the state around an opened (and migrated) store.
    pub async fn build(config: Config, store: SeaStore, dev_channel: Option<DevChannel>) -> Result<Self, String> {
        hoheit_dialog360::ensure_crypto_provider();
        let signer = audit_signer(&config)?;
        let clock = Arc::new(SystemClock::default());
        let gateway = Arc::new(Dialog360Gateway::new());
        let app = Hoheit::new(Arc::new(store.clone()), gateway.clone(), clock.clone(), Arc::new(UuidV7));
        let state = Self {
            limiter: Arc::new(RateLimiter::new(config.limits.requests_per_second, config.limits.burst)),
            config: Arc::new(config),
            app,
            store,
            gateway,
            clock,
            signer: Arc::new(signer),
            metrics: Arc::new(Metrics::default()),
            dispatch_wake: Arc::new(Notify::new()),
            media_wake: Arc::new(Notify::new()),
            tokens: Arc::new(TokenCache::new(StdDuration::from_secs(10))),
            routes: Arc::new(Mutex::new(HashMap::new())),
            instance: Arc::from(Uuid::now_v7().to_string()),
            dev_channel: dev_channel.map(Arc::new),
            channel_sync: Arc::new(tokio::sync::Mutex::new(ChannelSync::default())),
        };
        state.reload_channels(StdDuration::ZERO).await.map_err(|e| format!("cannot load channels: {e}"))?;
        Ok(state)
    }

    /// Brings the gateway's clients in line with the channels in the database: channels another
    /// replica registered or whose key it rotated get a (new) client, deleted ones lose theirs.
    /// Clients whose credentials did not change are kept (with their rate-limit state). Skipped
    /// if the last reload is younger than `min_age` (many sends for an unknown channel cause one
    /// reload, not one each).
    pub async fn reload_channels(&self, min_age: StdDuration) -> Result<(), hoheit_domain::ports::StoreError> {
        let mut sync = self.channel_sync.lock().await;
        if sync.loaded_at.is_some_and(|at| at.elapsed() < min_age) {
            return Ok(());
        }
        let all = self.store.all_channel_credentials().await?;
        let mut seen = std::collections::HashSet::with_capacity(all.len());
        for (_, channel, credentials) in all {
            seen.insert(channel);
            let fingerprint = credentials_fingerprint(&credentials);
            if sync.fingerprints.get(&channel) == Some(&fingerprint) && self.gateway.client(channel).is_some() {
                continue;
            }
            match self.build_client(&credentials) {
                Ok(client) => {
                    self.gateway.register(channel, client);
                    sync.fingerprints.insert(channel, fingerprint);
                }
                Err(e) => tracing::warn!(%channel, error = %e, "channel client not configured"),
            }
        }
        for channel in self.gateway.channels() {
            if !seen.contains(&channel) {
                self.gateway.remove(channel);
                sync.fingerprints.remove(&channel);
            }
        }
        sync.loaded_at = Some(Instant::now());
        Ok(())
    }

    /// A monotonic instant (rate limiting).
    pub fn now_instant(&self) -> Instant {
        Instant::now()
    }

    /// Builds the 360Dialog client of a channel and registers it with the gateway.
    pub async fn register_client(&self, channel: ChannelId, credentials: &ChannelCredentials) -> Result<(), String> {
        let client = self.build_client(credentials)?;
        let mut sync = self.channel_sync.lock().await;
        self.gateway.register(channel, client);
        sync.fingerprints.insert(channel, credentials_fingerprint(credentials));
        Ok(())
    }

    fn build_client(&self, credentials: &ChannelCredentials) -> Result<Dialog360Client, String> {
        let base = credentials.base_url.clone().unwrap_or_else(|| self.config.dialog360.base_url.clone());
        let mut cc = ClientConfig::new(&base, credentials.api_key.clone()).map_err(|e| e.to_string())?;
        cc.request_timeout = StdDuration::from_secs(self.config.dialog360.request_timeout_seconds.max(1));
        cc.connect_timeout = cc
            .request_timeout
            .min(StdDuration::from_secs(5))
            .saturating_sub(StdDuration::from_millis(1))
            .max(StdDuration::from_millis(100));
        cc.throughput.messages_per_second = self.config.dialog360.messages_per_second;
        cc.pair_spacing.min_interval = StdDuration::from_millis(self.config.dialog360.pair_spacing_millis);
        cc.max_media_bytes = self.config.media.max_bytes;
        Dialog360Client::new(cc).map_err(|e| e.to_string())
    }

    /// The route of a webhook token (cached briefly).
    pub async fn route(&self, token: &str) -> Result<Option<Route>, ApiError> {
        if let Ok(routes) = self.routes.lock()
            && let Some((route, at)) = routes.get(token)
            && at.elapsed() < StdDuration::from_secs(30)
        {
            return Ok(Some(route.clone()));
        }
        let Some((tenant, channel, credentials)) = self.store.channel_by_route(token).await? else { return Ok(None) };
        let mut verifier =
            WebhookVerifier::new().with_secret_header(WEBHOOK_SECRET_HEADER, credentials.webhook_secret.clone());
        if let Some(hmac) = &credentials.hmac_secret {
            verifier =
                verifier.with_hmac(hoheit_dialog360::SecretSlice::from(hmac.expose_secret().as_bytes().to_vec()));
        }
        let route = Route { tenant, channel, verifier: Arc::new(verifier) };
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(token.to_owned(), (route.clone(), Instant::now()));
        }
        Ok(Some(route))
    }
}

/// The header 360Dialog is configured to send with each webhook (shared secret).
pub const WEBHOOK_SECRET_HEADER: &str = "x-hoheit-webhook-secret";
