//! The application state the handlers and workers share: the domain's use cases and ports, the
//! server's own ports ([`crate::ports`]), and process-local services (clock, metrics, auth,
//! wake-ups). It holds ports only; [`crate::wiring`] builds it from the concrete adapters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::extract::FromRef;
use hoheit_audit::CheckpointSigner;
use hoheit_dialog360::SecretString;
use hoheit_domain::ports::{Clock, IdGenerator, MessagingGateway, OutboxQueue, Queries, Store};
use hoheit_domain::usecases::Hoheit;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::Auth;
use crate::config::Config;
use crate::edge::Edge;
use crate::metrics::Metrics;
use crate::ports::{Channels, Platform};

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

/// Where `--dev` points channels: the in-process simulator.
#[derive(Debug)]
pub struct DevChannel {
    /// Simulator base URL.
    pub base_url: String,
    /// Simulator API key.
    pub api_key: SecretString,
}

/// The header 360Dialog is configured to send with each webhook (shared secret).
pub const WEBHOOK_SECRET_HEADER: &str = "x-hoheit-webhook-secret";

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// Use cases.
    pub app: Hoheit,
    /// The store (decisions load and commit through the use cases; read here for media records).
    pub store: Arc<dyn Store>,
    /// The read views.
    pub queries: Arc<dyn Queries>,
    /// The outbox as the dispatcher claims it.
    pub outbox: Arc<dyn OutboxQueue>,
    /// The messaging gateway (also held by the use cases).
    pub gateway: Arc<dyn MessagingGateway>,
    /// Server housekeeping: tokens, leases, the audit log, health.
    pub platform: Arc<dyn Platform>,
    /// Channel credentials, provider clients and webhook routes.
    pub channels: Arc<dyn Channels>,
    /// The clock.
    pub clock: Arc<SystemClock>,
    /// Audit checkpoint signer.
    pub signer: Arc<CheckpointSigner>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the dispatcher: signalled by the store after a commit that queued an outbox entry or
    /// gave one a new due time (and by the send API).
    pub dispatch_wake: Arc<Notify>,
    /// Wakes the media fetcher: signalled by the store after a commit that recorded an announced
    /// file as pending.
    pub media_wake: Arc<Notify>,
    /// What each tenant's commits changed, for the inbox's live stream (issue 17).
    pub live: Arc<dyn hoheit_web::live::LiveFeed>,
    /// Token lookups and the per-token rate limit.
    pub auth: Arc<Auth>,
    /// This process's id (for leases).
    pub instance: Arc<str>,
    /// Overrides for channels created in `--dev` mode (the simulator).
    pub dev_channel: Option<Arc<DevChannel>>,
    /// The server's bounds: concurrency, per-source limits, readiness and metrics caches, the
    /// ingest circuit breaker.
    pub edge: Arc<Edge>,
    /// Staff sign-in through the tenants' identity providers (OpenID Connect).
    pub oidc: Arc<crate::oidc::OidcLogins>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
