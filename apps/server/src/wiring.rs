//! Wiring: the ONE place that names the concrete adapters. It opens the SeaORM store, builds the
//! 360Dialog gateway and its per-channel clients, implements the server's ports
//! ([`Platform`], [`Channels`]) with them, and hands the handlers and workers an [`AppState`]
//! that holds ports only.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use hoheit_audit::{CheckpointKey, CheckpointSigner, DecodedEntry, SignedCheckpoint};
use hoheit_dialog360::webhook::WebhookVerifier;
use hoheit_dialog360::{
    ClientConfig, ConfigError as ClientConfigError, Dialog360Client, Dialog360Error, Dialog360Gateway, EgressPolicy,
    HttpClient, SecretString, WebhookSettings,
};
use hoheit_domain::credential::Invitation;
use hoheit_domain::events::EventEnvelope;
use hoheit_domain::ids::{CandidateId, ChannelId, MediaId, StaffId, TenantId};
use hoheit_domain::media::{MediaFetch, MediaRecord, MediaRejection};
use hoheit_domain::ports::{GatewayError, StoreError};
use hoheit_domain::template::Template;
use hoheit_domain::usecases::Hoheit;
use hoheit_domain::values::Pii;
use hoheit_persistence::crypto::MasterKey;
use hoheit_persistence::{ApiToken, ChannelCredentials, PersistenceConfig, SeaStore, TokenRecord, VerifyOutcome};
use secrecy::{ExposeSecret, SecretBox};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{Auth, RateLimiter};
use crate::config::Config;
use crate::edge::Edge;
use crate::metrics::Metrics;
use crate::ports::{Channels, OutboundError, Platform, Route};
use crate::state::{AppState, DevChannel, SystemClock, UuidV7, WEBHOOK_SECRET_HEADER};

/// What to do about the schema when opening the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply pending migrations (`hoheit migrate`, `serve --migrate`, the harness).
    Migrate,
    /// Give a brand-new embedded (SQLite) database its schema at once; otherwise require the
    /// schema to be current (an existing or external database is only migrated when asked).
    CreateIfNew,
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
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
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

/// Issue 13.5: the data directory (SQLite database, development key files) is the owner's
/// only: created 0700, and narrowed to 0700 if group or others had access.
#[cfg(unix)]
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(path = %dir.display(), "data directory was accessible to others; narrowed to the owner (0700)");
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// The replay window from configuration (issue 14.3).
pub fn replay_window(config: &Config) -> time::Duration {
    time::Duration::hours(i64::from(config.webhooks.replay_window_hours.max(1)))
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
async fn open_store(config: &Config) -> Result<SeaStore, String> {
    if config.is_sqlite() {
        private_dir(&config.data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    }
    let master = master_key(config)?;
    let mut pc = PersistenceConfig::new(config.database_url());
    pc.sqlite_sync = config.sqlite_sync;
    pc.max_connections = config.max_connections;
    pc.replay_window = replay_window(config).unsigned_abs();
    SeaStore::connect(&pc, master).await.map_err(|e| format!("cannot open the database: {e}"))
}

/// `hoheit migrate`: applies pending migrations.
pub async fn migrate(config: &Config) -> Result<(), String> {
    let store = open_store(config).await?;
    store.migrate().await.map_err(|e| format!("migration failed: {e}"))
}

/// Opens the database as `schema` says, builds the adapters and the state around them, and
/// loads the channels' provider clients.
pub async fn open(config: Config, dev_channel: Option<DevChannel>, schema: Schema) -> Result<AppState, String> {
    let store = open_store(&config).await?;
    match schema {
        Schema::Migrate => store.migrate().await.map_err(|e| format!("migration failed: {e}"))?,
        Schema::CreateIfNew => {
            if config.is_sqlite() && store.is_empty().await.map_err(|e| format!("database: {e}"))? {
                tracing::info!("new embedded database: applying the schema");
                store.migrate().await.map_err(|e| format!("migration failed: {e}"))?;
            }
        }
    }
    if !store.migrations_current().await.map_err(|e| format!("database: {e}"))? {
        return Err("the database schema is not current: run `hoheit migrate` (or `hoheit serve --migrate`)".into());
    }
    hoheit_dialog360::ensure_crypto_provider();
    let signer = audit_signer(&config)?;
    let config = Arc::new(config);
    let clock = Arc::new(SystemClock::default());
    let gateway = Arc::new(Dialog360Gateway::new());
    let shared = Arc::new(store.clone());
    let status_wait = time::Duration::seconds(i64::try_from(config.dispatcher.status_wait_seconds).unwrap_or(i64::MAX));
    let sending = crate::failpoint::abort_after_send_from_env(gateway.clone());
    let app = Hoheit::new(shared.clone(), sending, clock.clone(), Arc::new(UuidV7))
        .with_replay_window(replay_window(&config))
        .with_status_wait(status_wait)
        .with_queries(shared.clone())
        .with_accounts(hoheit_domain::usecases::AccountPorts {
            store: shared.clone(),
            passwords: Arc::new(hoheit_identity::Argon2Passwords::new().map_err(|e| format!("password hashing: {e}"))?),
            second_factor: Arc::new(hoheit_identity::Totp),
            sessions: config.sessions.settings(),
            totp_issuer: "hoheit".to_owned(),
        });
    let egress = config.egress().map_err(|e| e.to_string())?;
    if egress.allows_insecure_loopback() {
        tracing::warn!("dialog360.allow_insecure_loopback is on: outbound calls may go to loopback (development only)");
    }
    let probe = HttpClient::new(StdDuration::from_secs(5), &egress).map_err(|e| e.to_string())?;
    let channels = Arc::new(Dialog360Channels {
        egress,
        probe,
        store: store.clone(),
        gateway: gateway.clone(),
        config: config.clone(),
        sync: tokio::sync::Mutex::new(ChannelSync::default()),
        routes: Mutex::new(HashMap::new()),
    });
    channels.reload(StdDuration::ZERO).await.map_err(|e| format!("cannot load channels: {e}"))?;
    let platform: Arc<dyn Platform> = shared.clone();
    let metrics_token = match (&config.metrics.token, &config.metrics.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => Some(SecretString::from(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read metrics.token_file {}: {e}", file.display()))?
                .trim()
                .to_owned(),
        )),
        (None, None) => None,
    };
    let edge = Arc::new(Edge::new(&config, metrics_token.as_ref()));
    if config.oidc.allow_insecure_loopback {
        tracing::warn!(
            "oidc.allow_insecure_loopback is on: identity providers may be http on loopback (development only)"
        );
    }
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
    let oidc = Arc::new(
        crate::oidc::OidcLogins::new(Arc::new(store.clone()), clock.clone(), &config.oidc, &public_url)
            .map_err(|e| e.to_string())?,
    );
    let metrics = Arc::new(Metrics::default());
    let observed = metrics.clone();
    store.observe_stages(Arc::new(move |stage, took| observed.stage(stage, took)));
    Ok(AppState {
        oidc,
        edge,
        auth: Arc::new(
            Auth::new(
                platform.clone(),
                app.clone(),
                clock.clone(),
                RateLimiter::new(config.limits.requests_per_second, config.limits.burst),
            )
            .with_public_url(config.public_url.as_deref()),
        ),
        config,
        app,
        store: shared.clone(),
        queries: shared.clone(),
        outbox: shared,
        gateway,
        platform,
        channels,
        clock,
        signer: Arc::new(signer),
        metrics,
        dispatch_wake: store.wakeups().outbox.clone(),
        media_wake: store.wakeups().media.clone(),
        live: Arc::new(LiveSource(store.live().clone())),
        instance: Arc::from(Uuid::now_v7().to_string()),
        dev_channel: dev_channel.map(Arc::new),
    })
}

#[async_trait]
impl Platform for SeaStore {
    async fn create_token(&self, token: &ApiToken, secret: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        SeaStore::create_token(self, token, secret, now).await
    }

    async fn token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        SeaStore::token(self, secret).await
    }

    async fn tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>, StoreError> {
        SeaStore::tokens(self, tenant).await
    }

    async fn revoke_token(
        &self,
        tenant: Option<TenantId>,
        id: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        SeaStore::revoke_token(self, tenant, id, now).await
    }

    async fn touch_token(&self, id: StaffId, now: OffsetDateTime) -> Result<(), StoreError> {
        SeaStore::touch_token(self, id, now).await
    }

    async fn record_token_expiry(&self, id: StaffId, now: OffsetDateTime) -> Result<bool, StoreError> {
        SeaStore::record_token_expiry(self, id, now).await
    }

    async fn has_active_admin(&self, tenant: TenantId, now: OffsetDateTime) -> Result<bool, StoreError> {
        SeaStore::has_active_admin(self, tenant, now).await
    }

    async fn create_invitation(&self, invitation: &Invitation, secret: &str) -> Result<(), StoreError> {
        SeaStore::create_invitation(self, invitation, secret).await
    }

    async fn invitation(&self, secret: &str) -> Result<Option<Invitation>, StoreError> {
        SeaStore::invitation(self, secret).await
    }

    async fn invitations(&self, tenant: TenantId) -> Result<Vec<Invitation>, StoreError> {
        SeaStore::invitations(self, tenant).await
    }

    async fn accept_invitation(
        &self,
        invitation: StaffId,
        token: &ApiToken,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        SeaStore::accept_invitation(self, invitation, token, secret, now).await
    }

    async fn append_platform_audit(&self, envelope: &EventEnvelope) -> Result<(), StoreError> {
        SeaStore::append_platform_audit(self, envelope).await
    }

    async fn verify_platform_audit(
        &self,
        key: &hoheit_audit::CheckpointKey,
    ) -> Result<Result<hoheit_audit::VerifyReport, hoheit_audit::ChainBreak>, StoreError> {
        SeaStore::verify_platform_audit(self, key).await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        SeaStore::try_lease(self, name, holder, now, until).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        SeaStore::release_lease(self, name, holder).await
    }

    async fn live_leases(&self, prefix: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        SeaStore::live_leases(self, prefix, now).await
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        SeaStore::outbox_depth(self).await
    }

    async fn pending_media(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<(TenantId, MediaId)>, StoreError> {
        SeaStore::pending_media(self, now, limit).await
    }

    async fn audit_entries(
        &self,
        tenant: TenantId,
        subject: Option<CandidateId>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: u64,
    ) -> Result<Vec<DecodedEntry>, StoreError> {
        Ok(SeaStore::audit_entries(self, tenant, subject, from, to, limit).await?.entries)
    }

    async fn verify_audit(&self, tenant: TenantId, key: &CheckpointKey) -> Result<VerifyOutcome, StoreError> {
        let checkpoints = self.checkpoints(tenant).await?;
        SeaStore::verify_audit(self, tenant, checkpoints, key).await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<SignedCheckpoint>, StoreError> {
        SeaStore::checkpoints(self, tenant).await
    }

    async fn checkpoint(
        &self,
        tenant: TenantId,
        signer: &CheckpointSigner,
        now: OffsetDateTime,
    ) -> Result<SignedCheckpoint, StoreError> {
        let head = self.audit_head(tenant).await?;
        let signed = signer.sign(&head, now);
        self.save_checkpoint(&signed).await?;
        Ok(signed)
    }

    async fn ready(&self) -> bool {
        self.ping().await.is_ok() && self.migrations_current().await.unwrap_or(false)
    }
}

#[derive(Debug, Default)]
struct ChannelSync {
    /// Fingerprints of the credentials each registered client was built from.
    fingerprints: HashMap<ChannelId, [u8; 32]>,
    /// When the registry was last reloaded from the database.
    loaded_at: Option<Instant>,
}

/// What a client is built from, hashed (no key in memory beyond the client itself).
fn credentials_fingerprint(credentials: &ChannelCredentials) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(credentials.api_key.expose_secret().as_bytes());
    h.update([0]);
    h.update(credentials.base_url.as_deref().unwrap_or("").as_bytes());
    h.finalize().into()
}

/// The channels port over the store's sealed credentials and the 360Dialog gateway.
struct Dialog360Channels {
    /// The operator's outbound allow-list (configuration only; tenants cannot widen it).
    egress: EgressPolicy,
    /// Resolves destinations under the allow-list before they are stored.
    probe: HttpClient,
    store: SeaStore,
    gateway: Arc<Dialog360Gateway>,
    config: Arc<Config>,
    sync: tokio::sync::Mutex<ChannelSync>,
    routes: Mutex<HashMap<String, (Route, Instant)>>,
}

impl Dialog360Channels {
    fn build_client(&self, credentials: &ChannelCredentials) -> Result<Dialog360Client, String> {
        let base = credentials.base_url.clone().unwrap_or_else(|| self.config.dialog360.base_url.clone());
        let mut cc = ClientConfig::new(&base, credentials.api_key.clone()).map_err(|e| e.to_string())?;
        cc.egress = self.egress.clone();
        cc.max_template_pages = self.config.templates.max_pages;
        cc.max_template_bytes = self.config.templates.max_bytes;
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

    fn client(&self, channel: ChannelId) -> Result<Arc<Dialog360Client>, String> {
        self.gateway.client(channel).ok_or_else(|| "channel client not configured".to_owned())
    }
}

#[async_trait]
impl Channels for Dialog360Channels {
    async fn reload(&self, min_age: StdDuration) -> Result<(), StoreError> {
        let mut sync = self.sync.lock().await;
        if sync.loaded_at.is_some_and(|at| at.elapsed() < min_age) {
            return Ok(());
        }
        let all = self.store.all_channel_credentials().await?;
        let mut seen = HashSet::with_capacity(all.len());
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

    fn is_configured(&self, channel: ChannelId) -> bool {
        self.gateway.client(channel).is_some()
    }

    async fn check_base_url(&self, base_url: &str, api_key: &SecretString) -> Result<(), OutboundError> {
        let mut cc = ClientConfig::new(base_url, api_key.clone()).map_err(|e| OutboundError::Invalid(e.to_string()))?;
        cc.egress = self.egress.clone();
        match cc.validate() {
            Ok(()) => {}
            Err(ClientConfigError::NotAllowed) => return Err(OutboundError::NotAllowed),
            Err(e) => return Err(OutboundError::Invalid(e.to_string())),
        }
        self.probe.check_destination(&self.egress, &cc.base_url).await.map_err(|_| OutboundError::NotAllowed)
    }

    async fn save(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        route: &str,
        credentials: &ChannelCredentials,
    ) -> Result<(), StoreError> {
        self.store.save_channel_credentials(tenant, channel, route, credentials).await?;
        match self.build_client(credentials) {
            Ok(client) => {
                let mut sync = self.sync.lock().await;
                self.gateway.register(channel, client);
                sync.fingerprints.insert(channel, credentials_fingerprint(credentials));
            }
            Err(e) => tracing::warn!(%channel, error = %e, "channel client not configured"),
        }
        Ok(())
    }

    async fn register_webhook(
        &self,
        channel: ChannelId,
        url: String,
        header: (&str, SecretString),
    ) -> Result<(), String> {
        let settings = WebhookSettings { url, headers: vec![(header.0.to_owned(), header.1)] };
        self.client(channel)?.set_webhook(&settings).await.map_err(|e| e.to_string())
    }

    async fn fetch_templates(&self, channel: ChannelId, now: OffsetDateTime) -> Result<Vec<Template>, OutboundError> {
        let client = self.client(channel).map_err(|e| {
            tracing::warn!(%channel, error = %e, "template sync: no client");
            OutboundError::Unavailable
        })?;
        match client.list_templates().await {
            Ok(waba) => Ok(waba.iter().filter_map(|t| t.to_domain(channel, now)).collect()),
            Err(Dialog360Error::NotAllowed) => Err(OutboundError::NotAllowed),
            Err(e) => {
                // the details are for the operator only; the answer is one generic failure
                tracing::warn!(%channel, error = %e, "template sync: 360Dialog gave no usable answer");
                Err(OutboundError::Unavailable)
            }
        }
    }

    async fn fetch_media(&self, record: &MediaRecord) -> MediaFetch {
        let Some(client) = self.gateway.client(record.channel) else { return MediaFetch::Transient };
        match client.fetch_media(record.provider_media_id.expose()).await {
            Ok((_, content)) => {
                // the webhook's announcement is checked too (the client checked the media info's)
                if let Some(announced) = &record.announced_sha256
                    && !hoheit_dialog360::sha256_matches(announced.expose(), &content.bytes)
                {
                    return MediaFetch::Refused(MediaRejection::IntegrityMismatch);
                }
                MediaFetch::Fetched { content: Pii::new(content.bytes.to_vec()), mime_type: content.mime_type }
            }
            Err(e) => {
                tracing::info!(media = %record.id, error = %e, "media fetch failed");
                match e {
                    Dialog360Error::IntegrityMismatch => MediaFetch::Refused(MediaRejection::IntegrityMismatch),
                    Dialog360Error::TooLarge => MediaFetch::Refused(MediaRejection::TooLarge),
                    Dialog360Error::RefusedUrl | Dialog360Error::NotAllowed => {
                        MediaFetch::Refused(MediaRejection::RefusedUrl)
                    }
                    Dialog360Error::InvalidMediaId | Dialog360Error::InvalidRequest(_) => {
                        MediaFetch::Refused(MediaRejection::Unavailable)
                    }
                    Dialog360Error::Provider(g) if g.is_transient() => MediaFetch::Transient,
                    Dialog360Error::Provider(
                        GatewayError::ChannelFailure { .. }
                        | GatewayError::NotConfigured
                        | GatewayError::OutcomeUnknown,
                    )
                    | Dialog360Error::InvalidResponse(_) => MediaFetch::Transient,
                    Dialog360Error::Provider(_) => MediaFetch::Refused(MediaRejection::Unavailable),
                }
            }
        }
    }

    fn set_throughput_share(&self, share: u32) {
        self.gateway.set_throughput_share(share);
    }

    async fn route(&self, token: &str) -> Result<Option<Route>, StoreError> {
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

    async fn all(&self) -> Result<Vec<(TenantId, ChannelId)>, StoreError> {
        Ok(self.store.all_channel_credentials().await?.into_iter().map(|(t, c, _)| (t, c)).collect())
    }
}

/// The browser UI's state (issue 16): its settings from `[web]` (checked when the configuration
/// was loaded).
pub fn web_state(state: &AppState) -> hoheit_web::WebState {
    let mut settings = state.config.web.settings().unwrap_or_default();
    settings.max_document_bytes = state.config.media.max_bytes;
    // the origin (scheme://host[:port]) of the public URL, which state-changing requests must name
    settings.public_origin = state.config.public_url.as_deref().map(|url| {
        let url = url.trim_end_matches('/');
        match url.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()),
            None => url.to_owned(),
        }
    });
    hoheit_web::WebState::new(settings)
        .with_app(state.app.clone())
        .with_desk(std::sync::Arc::new(crate::desk::Desk(state.clone())))
        .with_live(state.live.clone())
}

/// The inbox's live stream over the store's hub ([`hoheit_persistence::live`]).
struct LiveSource(Arc<hoheit_persistence::live::LiveHub>);

impl hoheit_web::live::LiveFeed for LiveSource {
    fn cursor(&self, tenant: TenantId) -> String {
        self.0.cursor(tenant.as_uuid())
    }

    fn subscribe(&self, tenant: TenantId, after: Option<&str>) -> Box<dyn hoheit_web::live::LiveStream> {
        Box::new(LiveStreamOf(self.0.subscribe(tenant.as_uuid(), after)))
    }
}

struct LiveStreamOf(hoheit_persistence::live::LiveSubscription);

#[async_trait]
impl hoheit_web::live::LiveStream for LiveStreamOf {
    async fn next(&mut self) -> Option<hoheit_web::live::LiveEvent> {
        use hoheit_persistence::live::{LiveItem, LiveKind};
        Some(match self.0.next().await? {
            LiveItem::Change { cursor, candidate, kind, restricted } => hoheit_web::live::LiveEvent::Changed {
                cursor,
                candidate: CandidateId::from_uuid(candidate),
                status_only: kind == LiveKind::Status,
                restricted,
            },
            LiveItem::Resync { cursor } => hoheit_web::live::LiveEvent::Resync { cursor },
        })
    }
}

#[async_trait]
impl crate::ports::IdpStore for SeaStore {
    async fn idp_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Option<(hoheit_domain::idp::IdpSettings, Option<SecretString>)>, StoreError> {
        Ok(SeaStore::idp_settings(self, tenant)
            .await?
            .map(|s| (s.settings, s.client_secret.map(|secret| SecretString::from(secret.as_str())))))
    }

    async fn save_idp_settings(
        &self,
        tenant: TenantId,
        settings: &hoheit_domain::idp::IdpSettings,
        client_secret: Option<&SecretString>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        SeaStore::save_idp_settings(self, tenant, settings, client_secret.map(ExposeSecret::expose_secret), now).await
    }

    async fn put_pending_login(
        &self,
        tenant: TenantId,
        state: &str,
        data: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        SeaStore::put_pending_login(self, tenant, state, data, now).await
    }

    async fn take_pending_login(&self, state: &str) -> Result<Option<(TenantId, Vec<u8>, OffsetDateTime)>, StoreError> {
        Ok(SeaStore::take_pending_login(self, state).await?.map(|(t, data, at)| (t, data.to_vec(), at)))
    }

    async fn purge_pending_logins(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        SeaStore::purge_pending_logins(self, before).await
    }
}
