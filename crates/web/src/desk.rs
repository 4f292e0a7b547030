//! The console's port to what the domain does not hold: the tenant's audit log (kept by the
//! server's audit adapter, `crates/audit` through persistence), the exact Art. 15/20 export
//! document the API hands out (the domain's export plus the candidate's audit entries), and the
//! tenant's API tokens (the server's credential store). The web crate declares it, the server
//! implements it (`apps/server/src/desk.rs`) and hands it over with
//! [`crate::WebState::with_desk`]; the pages never see an adapter type.
//!
//! Everything here is pseudonymous (ids, action names, rules, counts): no names, numbers or
//! content.

use async_trait::async_trait;
use hoheit_domain::actor::Actor;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::usecases::UseCaseError;
use time::OffsetDateTime;

/// Which audit entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about this candidate.
    pub subject: Option<CandidateId>,
    /// Only entries at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only entries before this time.
    pub to: Option<OffsetDateTime>,
    /// Only entries whose action starts with this (`consent.`, `retention.run`).
    pub action: Option<String>,
    /// At most this many, the newest.
    pub limit: usize,
}

/// One audit entry as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    /// Sequence number in the tenant's chain.
    pub seq: u64,
    /// When.
    pub at: OffsetDateTime,
    /// Who: `system`, `candidate` or the role of a staff member.
    pub actor: String,
    /// The staff member's pseudonymous id, if a staff member acted.
    pub staff: Option<String>,
    /// What (`consent.granted`, ...).
    pub action: String,
    /// About which candidate (pseudonymous id).
    pub subject: Option<CandidateId>,
    /// The rule that decided (`R12`).
    pub rule: Option<String>,
    /// The detail fields, as `key=value` (ids, codes, counts, times; never content).
    pub details: Vec<(String, String)>,
}

/// The state of the tenant's audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainState {
    /// Every entry verified.
    Intact {
        /// How many entries were verified.
        entries: u64,
        /// How many signed checkpoints matched.
        checkpoints: usize,
        /// The last entry vouched for by a checkpoint (0: none).
        anchored: u64,
    },
    /// The first break found.
    Broken {
        /// At which entry.
        seq: u64,
        /// What is wrong, in English (`audit entry 7 was modified`).
        what: String,
    },
}

/// An API token as the console lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLine {
    /// The identity it acts as.
    pub id: hoheit_domain::ids::StaffId,
    /// Its role.
    pub role: hoheit_domain::actor::Role,
    /// Its label.
    pub label: String,
    /// Issued.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// Last use (recorded at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// `active`, `revoked` or `expired`.
    pub state: hoheit_domain::credential::TokenState,
}

/// A number to register (the admin's form).
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// The business number as typed.
    pub display_phone_number: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The channel's 360Dialog API key (stored encrypted by the server, never shown again).
    pub api_key: hoheit_domain::staff::SecretText,
    /// The consent-request template's name.
    pub consent_template: String,
    /// Its language (`de`).
    pub consent_template_language: String,
}

/// A registered number and how 360Dialog must call hoheit (the secret is shown once).
#[derive(Debug, Clone)]
pub struct RegisteredChannel {
    /// The path of the webhook URL (after the public base URL).
    pub webhook_url_path: String,
    /// The header 360Dialog must send, and its value.
    pub webhook_secret_header: String,
    /// The header's value.
    pub webhook_secret: hoheit_domain::staff::SecretText,
    /// Whether the webhook was registered with 360Dialog automatically.
    pub webhook_registered: bool,
    /// Templates synced from 360Dialog.
    pub templates_synced: u32,
}

/// Why the server refused: the API's status, stable code and message (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// Stable code (`invalid_input`, `conflict`, `channel_not_available`, ...).
    pub code: &'static str,
    /// The message, in English.
    pub message: String,
}

/// What the console asks of the server beyond the domain.
#[async_trait]
pub trait Desk: Send + Sync {
    /// The tenant's entries that match, the newest first.
    async fn entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditLine>, UseCaseError>;

    /// Verifies the tenant's chain against every checkpoint handed out.
    async fn verify(&self, tenant: TenantId) -> Result<ChainState, UseCaseError>;

    /// Signs a checkpoint of the current head, keeps it and returns it as the JSON document
    /// `GET /api/v1/audit/checkpoint` answers.
    async fn checkpoint(&self, tenant: TenantId) -> Result<String, UseCaseError>;

    /// The last checkpoint handed out: the entry it vouches for and when, if any.
    async fn last_checkpoint(&self, tenant: TenantId) -> Result<Option<(u64, OffsetDateTime)>, UseCaseError>;

    /// The public key that verifies checkpoints outside hoheit (PEM).
    fn public_key_pem(&self) -> String;

    /// The Art. 15/20 export document of a candidate, byte for byte as
    /// `GET /api/v1/candidates/{id}/export` answers it (the read is audited by the domain).
    async fn subject_export(
        &self,
        tenant: TenantId,
        actor: Actor,
        candidate: CandidateId,
    ) -> Result<Vec<u8>, UseCaseError>;

    /// Registers a number exactly as `POST /api/v1/channels` does (credentials stored by the
    /// server's channel port, webhook route, template sync); admins only, decided by the domain.
    async fn register_channel(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: NewChannel,
    ) -> Result<RegisteredChannel, Refused>;

    /// The tenant's API tokens, the newest first.
    async fn tokens(&self, tenant: TenantId) -> Result<Vec<TokenLine>, UseCaseError>;

    /// Revokes a token of the tenant (audited as `token.revoked`, effective on every replica
    /// within seconds). The caller has checked that `actor` may.
    async fn revoke_token(
        &self,
        tenant: TenantId,
        actor: Actor,
        token: hoheit_domain::ids::StaffId,
    ) -> Result<(), UseCaseError>;
}
