//! The server's own ports: what the binary needs from the adapters beyond the domain's ports
//! (`Store`, `Queries`, `OutboxQueue`, `MessagingGateway`). The wiring module implements them
//! with the concrete adapters; handlers and workers see only these traits.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use hoheit_audit::{ChainBreak, CheckpointKey, CheckpointSigner, DecodedEntry, SignedCheckpoint, VerifyReport};
use hoheit_dialog360::SecretString;
use hoheit_dialog360::webhook::WebhookVerifier;
use hoheit_domain::credential::Invitation;
use hoheit_domain::events::EventEnvelope;
use hoheit_domain::ids::{CandidateId, ChannelId, MediaId, StaffId, TenantId};
use hoheit_domain::media::{MediaFetch, MediaRecord};
use hoheit_domain::ports::StoreError;
use hoheit_domain::template::Template;
use hoheit_persistence::{ApiToken, ChannelCredentials, TokenRecord, VerifyOutcome};
use time::OffsetDateTime;

/// Server housekeeping on the database: API tokens, leases for work that must not run twice
/// across replicas, the audit log's read side, counters for metrics, health and schema.
#[async_trait]
pub trait Platform: Send + Sync {
    /// Stores a token (its SHA-256 only).
    async fn create_token(&self, token: &ApiToken, secret: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// The token with this secret, whatever its state (revoked and expired ones too: their use
    /// is audited).
    async fn token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// The tokens of a tenant (`None`: the operator's), without secrets.
    async fn tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes a token of the tenant (`None`: an operator token); whether it was in force.
    async fn revoke_token(
        &self,
        tenant: Option<TenantId>,
        id: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Records the token's last use (at most once a minute).
    async fn touch_token(&self, id: StaffId, now: OffsetDateTime) -> Result<(), StoreError>;

    /// Marks a token's expiry as recorded; `true` for the first caller only.
    async fn record_token_expiry(&self, id: StaffId, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Whether the tenant has an admin credential in force.
    async fn has_active_admin(&self, tenant: TenantId, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Stores an invitation (its secret as a hash only).
    async fn create_invitation(&self, invitation: &Invitation, secret: &str) -> Result<(), StoreError>;

    /// The invitation with this secret.
    async fn invitation(&self, secret: &str) -> Result<Option<Invitation>, StoreError>;

    /// A tenant's invitations, without secrets.
    async fn invitations(&self, tenant: TenantId) -> Result<Vec<Invitation>, StoreError>;

    /// Accepts the invitation and stores its credential atomically; `false` if it was used or
    /// expired meanwhile.
    async fn accept_invitation(
        &self,
        invitation: StaffId,
        token: &ApiToken,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Appends an event to the operator's own audit chain.
    async fn append_platform_audit(&self, envelope: &EventEnvelope) -> Result<(), StoreError>;

    /// Verifies the operator's audit chain.
    async fn verify_platform_audit(&self, key: &CheckpointKey) -> Result<Result<VerifyReport, ChainBreak>, StoreError>;

    /// Takes or renews a named lease until `until` if it is free, expired or already ours.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Gives a lease back.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// How many leases whose name starts with `prefix` are held at `now`.
    async fn live_leases(&self, prefix: &str, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Entries waiting in the outbox (all tenants).
    async fn outbox_depth(&self) -> Result<u64, StoreError>;

    /// Media files due to be fetched, across tenants, oldest first.
    async fn pending_media(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<(TenantId, MediaId)>, StoreError>;

    /// Audit entries of a tenant, optionally of one subject and/or a time range, oldest first.
    async fn audit_entries(
        &self,
        tenant: TenantId,
        subject: Option<CandidateId>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: u64,
    ) -> Result<Vec<DecodedEntry>, StoreError>;

    /// Verifies a tenant's chain against every checkpoint handed out.
    async fn verify_audit(&self, tenant: TenantId, key: &CheckpointKey) -> Result<VerifyOutcome, StoreError>;

    /// The checkpoints handed out for a tenant, oldest first.
    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<SignedCheckpoint>, StoreError>;

    /// Signs a checkpoint of the tenant's current head and keeps it.
    async fn checkpoint(
        &self,
        tenant: TenantId,
        signer: &CheckpointSigner,
        now: OffsetDateTime,
    ) -> Result<SignedCheckpoint, StoreError>;

    /// Whether the database accepts writes and the migrations are current (`/readyz`).
    async fn ready(&self) -> bool;
}

/// Why an outbound destination or provider call failed. One variant per thing the caller may act
/// on: the details of a provider failure are logged for the operator, never returned, so an
/// answer never tells a reachable destination from an unreachable one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The destination is not on the operator's allow-list (or resolves to a refused address).
    #[error("destination not allowed")]
    NotAllowed,
    /// The URL or key is malformed (says what, never echoes the value).
    #[error("{0}")]
    Invalid(String),
    /// The provider could not be reached or gave no usable answer.
    #[error("360Dialog could not be reached or gave no usable answer")]
    Unavailable,
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

/// The provider side of channels: their credentials and webhook routes, the provider clients
/// built from them, and what the server asks the provider beyond sending (templates, webhook
/// registration, media downloads, throughput shares).
#[async_trait]
pub trait Channels: Send + Sync {
    /// Brings the provider clients in line with the stored channels (other replicas add and
    /// rotate them); skipped if the last reload is younger than `min_age`.
    async fn reload(&self, min_age: StdDuration) -> Result<(), StoreError>;

    /// Whether a client exists for the channel.
    fn is_configured(&self, channel: ChannelId) -> bool;

    /// Checks a provider base URL before it is stored: its syntax, the outbound allow-list and
    /// the addresses its host resolves to now.
    async fn check_base_url(&self, base_url: &str, api_key: &SecretString) -> Result<(), OutboundError>;

    /// Stores the channel's credentials (sealed) under its webhook route token and builds its
    /// client; a client that cannot be built is logged, the credentials are kept.
    async fn save(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        route: &str,
        credentials: &ChannelCredentials,
    ) -> Result<(), StoreError>;

    /// Registers the webhook URL (with the secret header) with the provider.
    async fn register_webhook(
        &self,
        channel: ChannelId,
        url: String,
        header: (&str, SecretString),
    ) -> Result<(), String>;

    /// The channel's templates as the provider has them now.
    async fn fetch_templates(&self, channel: ChannelId, now: OffsetDateTime) -> Result<Vec<Template>, OutboundError>;

    /// Downloads an announced inbound media file and checks it against the announcement.
    async fn fetch_media(&self, record: &MediaRecord) -> MediaFetch;

    /// This replica's share of each number's throughput (1 of `share` live replicas).
    fn set_throughput_share(&self, share: u32);

    /// The route of a webhook token (cached briefly), or `None`.
    async fn route(&self, token: &str) -> Result<Option<Route>, StoreError>;

    /// Every channel of every tenant.
    async fn all(&self) -> Result<Vec<(TenantId, ChannelId)>, StoreError>;
}

/// A tenant's identity provider settings and pending OpenID Connect sign-ins (issue 16). Both
/// are sealed with the tenant key at rest; a pending sign-in is handed out at most once across
/// all replicas.
#[async_trait]
pub trait IdpStore: Send + Sync {
    /// The settings and whether a client secret is stored, with the secret.
    async fn idp_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Option<(hoheit_domain::idp::IdpSettings, Option<SecretString>)>, StoreError>;

    /// Stores settings; `client_secret` `None` keeps the stored one.
    async fn save_idp_settings(
        &self,
        tenant: TenantId,
        settings: &hoheit_domain::idp::IdpSettings,
        client_secret: Option<&SecretString>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Keeps a pending sign-in under its state.
    async fn put_pending_login(
        &self,
        tenant: TenantId,
        state: &str,
        data: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Takes (removes) the pending sign-in with this state: tenant, record, start time.
    async fn take_pending_login(&self, state: &str) -> Result<Option<(TenantId, Vec<u8>, OffsetDateTime)>, StoreError>;

    /// Forgets pending sign-ins started before `before`.
    async fn purge_pending_logins(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
