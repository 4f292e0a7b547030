//! Ports: the traits the adapters implement. Few and coarse: a store, its read side (the list
//! views, [`Queries`]), the messaging gateway, the clock and id generation. Each is a contract; the doc comments say what an implementation
//! MUST do. Held as `Arc<dyn Port>`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::attempt::SendAttempt;
use crate::candidate::Candidate;
use crate::conversation::{Intent, Message, OutboundContent, StatusObservation};
use crate::events::EventEnvelope;
use crate::ids::{CandidateId, ChannelId, MediaId, MessageId, OutboxId, SubjectRequestId, TenantId};
use crate::inbound::ContactKey;
use crate::legal::{LegalText, LegalTextCatalogue};
use crate::media::MediaRecord;
use crate::objection::Suppression;
use crate::subject_request::SubjectRequest;
use crate::template::{Template, TemplateCatalogue};
use crate::tenant::{Channel, Tenant};
use crate::values::{PhoneNumber, Pii, WaUserId, Wamid};

/// The wall clock. Time is a parameter so tests control it.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Source of new ids (UUIDv7 in production, sequential in tests).
pub trait IdGenerator: Send + Sync {
    /// A new unique id.
    fn next_uuid(&self) -> Uuid;
}

/// Everything about a tenant that decisions need: settings, channels, legal texts, templates.
/// Small and read often: adapters may cache it (and MUST invalidate on a committed change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantConfig {
    /// The tenant.
    pub tenant: Tenant,
    /// Its channels.
    pub channels: Vec<Channel>,
    /// Its legal texts.
    pub legal_texts: LegalTextCatalogue,
    /// Its templates.
    pub templates: TemplateCatalogue,
}

impl TenantConfig {
    /// A channel of this tenant.
    pub fn channel(&self, id: ChannelId) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }
}

/// One outbox entry: a permitted message waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Id.
    pub id: OutboxId,
    /// Tenant.
    pub tenant: TenantId,
    /// Candidate.
    pub candidate: CandidateId,
    /// Channel to send through.
    pub channel: ChannelId,
    /// The stored message (status `Queued`).
    pub message: MessageId,
    /// What to send.
    pub content: OutboundContent,
    /// Why.
    pub intent: Intent,
    /// Whether the first-message notice was appended.
    pub notice_appended: bool,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Attempts so far.
    pub attempts: u32,
    /// Not to be sent before.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// The attempt recorded before the last call to the provider, while its outcome is not
    /// recorded (after a crash between the provider's acceptance and the commit); see
    /// [`crate::attempt`].
    #[serde(default)]
    pub attempt: Option<SendAttempt>,
}

/// A change to the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OutboxChange {
    /// Add an entry; visible to the dispatcher only after the commit.
    Enqueue(OutboxEntry),
    /// Cancel every pending entry of the candidate, on every channel (R12). Their messages get
    /// status `Cancelled`. An entry with an open attempt ([`OutboxEntry::attempt`]: it may have
    /// reached the provider) is left: its status webhook may still confirm it, and otherwise the
    /// dispatcher decides again after the wait, where the objection refuses it.
    CancelPending {
        /// The candidate.
        candidate: CandidateId,
    },
    /// The entry is done (sent, refused at dispatch, or failed permanently): remove it.
    Complete {
        /// The entry.
        id: OutboxId,
    },
    /// Records that the entry is about to be sent: committed BEFORE the call to the provider,
    /// so that a crash after the provider's acceptance leaves a trace. Sets the open attempt
    /// (no receipt) and `not_before` (the earliest resend if no status comes); keeps the lease.
    /// MUST fail with [`StoreError::NotFound`] if the entry is gone (cancelled meanwhile), and
    /// with [`StoreError::Conflict`] if its open attempt is no longer `expected` (another
    /// dispatcher claimed it after this claim's lease ran out and recorded its own attempt): in
    /// both cases nothing may be sent.
    Attempt {
        /// The entry.
        id: OutboxId,
        /// The start of the open attempt the claimer saw (`None`: none), compared and set.
        #[serde(default, with = "time::serde::rfc3339::option")]
        expected: Option<OffsetDateTime>,
        /// When the attempt starts.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// When it may be sent again if neither an answer nor a status webhook is recorded.
        #[serde(with = "time::serde::rfc3339")]
        not_before: OffsetDateTime,
    },
    /// A status webhook carried the entry's tag: the provider accepted the open attempt. Records
    /// the provider id as the attempt's receipt and makes the entry due at `at` at the latest
    /// (the dispatcher then records the message as sent, without sending). Nothing happens if
    /// the entry is gone or has no open attempt (the usual case: the answer was recorded first).
    /// The provider id is personal data: stored sealed.
    Receipt {
        /// The entry.
        id: OutboxId,
        /// The provider's id of the message.
        provider_id: Wamid,
        /// When the status was received.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An open attempt without a receipt waits for its status webhook until `until`; releases
    /// the lease, keeps the attempt.
    AwaitStatus {
        /// The entry.
        id: OutboxId,
        /// When the wait ends.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// Try again later (transient failure: the provider refused the attempt), releasing the
    /// lease and closing the open attempt.
    Retry {
        /// The entry.
        id: OutboxId,
        /// Earliest next attempt.
        #[serde(with = "time::serde::rfc3339")]
        not_before: OffsetDateTime,
        /// Attempts so far.
        attempts: u32,
    },
}

/// A change to a candidate. `retention_due` is the earliest time the retention decision may
/// change ([`crate::retention::next_due`]); the store indexes it for [`Store::retention_due`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CandidateChange {
    /// A new candidate (version 0). The store indexes its contact keys (blind index).
    Insert {
        /// The candidate.
        candidate: Box<Candidate>,
        /// Next retention check.
        #[serde(default, with = "time::serde::rfc3339::option")]
        retention_due: Option<OffsetDateTime>,
    },
    /// Replace the stored aggregate if its version is still `expected_version`; the stored version
    /// becomes `expected_version + 1`. Contact keys are re-indexed.
    Update {
        /// The new state.
        candidate: Box<Candidate>,
        /// The version that was loaded.
        expected_version: u64,
        /// Next retention check.
        #[serde(default, with = "time::serde::rfc3339::option")]
        retention_due: Option<OffsetDateTime>,
    },
    /// Erase (R27): delete the candidate's messages, media, outbox entries and contact index,
    /// destroy the candidate key, and keep `tombstone` (content-free) in place of the aggregate.
    Erase {
        /// The content-free tombstone.
        tombstone: Box<Candidate>,
        /// The version that was loaded.
        expected_version: u64,
    },
}

/// A change to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MessageChange {
    /// Store a new message. For inbound messages the provider id MUST be unique per tenant: a
    /// second insert of the same id fails the whole commit with [`StoreError::Duplicate`].
    Insert(Box<Message>),
    /// The provider accepted an outbound message.
    Accepted {
        /// The message.
        id: MessageId,
        /// The wamid.
        provider_id: Wamid,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Merge a status into the message's timeline (commutative: any order converges).
    Status {
        /// The message.
        id: MessageId,
        /// The observation.
        observation: StatusObservation,
    },
    /// Merge a status into the timeline of the message with this provider id. Unknown provider ids
    /// are ignored (statuses of messages sent by other systems).
    StatusByProviderId {
        /// The wamid.
        provider_id: Wamid,
        /// The observation.
        observation: StatusObservation,
    },
}

/// A change to a media file. The record and the content are sealed with the candidate key; the
/// candidate must exist and not be erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaChange {
    /// A new file: inbound announced by a webhook (pending, no content yet) or an outbound
    /// document (with its content).
    Insert {
        /// The record.
        record: Box<MediaRecord>,
        /// The bytes, if already there.
        content: Option<Pii<Vec<u8>>>,
    },
    /// Replace the record (status, checks, attempts) and, if given, store the content.
    Update {
        /// The record.
        record: Box<MediaRecord>,
        /// The bytes, if fetched now.
        content: Option<Pii<Vec<u8>>>,
    },
}

/// Tenant configuration changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ConfigChange {
    /// Insert or replace the tenant (settings).
    Tenant(Box<Tenant>),
    /// Insert or replace a channel (with its approval).
    Channel(Box<Channel>),
    /// Add a legal text version (immutable once published).
    LegalText(Box<LegalText>),
    /// Replace a channel's synced templates.
    Templates {
        /// The channel.
        channel: ChannelId,
        /// Its templates.
        templates: Vec<Template>,
    },
    /// Retention settings changed: every candidate of the tenant becomes due for a retention check
    /// now, so the next run re-evaluates them under the new settings.
    RescheduleRetention,
}

/// Everything one use case changes, committed atomically: state, audit events and outbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeSet {
    /// Tenant configuration.
    pub config: Vec<ConfigChange>,
    /// Candidates.
    pub candidates: Vec<CandidateChange>,
    /// Messages.
    pub messages: Vec<MessageChange>,
    /// Outbox.
    pub outbox: Vec<OutboxChange>,
    /// Suppression entries to add (R17), keyed by contact.
    pub suppressions: Vec<(ContactKey, Suppression)>,
    /// Suppression entries to remove (the candidate opted in again, R14).
    pub suppressions_lifted: Vec<ContactKey>,
    /// Subject requests to insert or replace.
    pub subject_requests: Vec<SubjectRequest>,
    /// Media files.
    pub media: Vec<MediaChange>,
    /// Events: the audited ones become audit entries in the same transaction.
    pub events: Vec<EventEnvelope>,
}

impl ChangeSet {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.config.is_empty()
            && self.candidates.is_empty()
            && self.messages.is_empty()
            && self.outbox.is_empty()
            && self.suppressions.is_empty()
            && self.suppressions_lifted.is_empty()
            && self.subject_requests.is_empty()
            && self.media.is_empty()
            && self.events.is_empty()
    }

    /// Appends another change set.
    pub fn extend(&mut self, other: Self) {
        self.config.extend(other.config);
        self.candidates.extend(other.candidates);
        self.messages.extend(other.messages);
        self.outbox.extend(other.outbox);
        self.suppressions.extend(other.suppressions);
        self.suppressions_lifted.extend(other.suppressions_lifted);
        self.subject_requests.extend(other.subject_requests);
        self.media.extend(other.media);
        self.events.extend(other.events);
    }
}

/// What a commit did beyond the obvious.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReport {
    /// Outbox entries cancelled by `CancelPending`.
    pub outbox_cancelled: u32,
    /// Status observations that matched no message.
    pub statuses_unmatched: u32,
}

/// Which unique key a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKey {
    /// An inbound message with this provider id is stored already (webhook redelivery).
    InboundMessage,
    /// Another candidate of the tenant has this phone number or user id.
    Contact,
    /// A legal text with this kind, version and language exists.
    LegalTextVersion,
    /// Another record with this id exists.
    Id,
}

impl std::fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InboundMessage => "inbound message",
            Self::Contact => "contact",
            Self::LegalTextVersion => "legal text version",
            Self::Id => "id",
        })
    }
}

/// Store failures. Messages carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// An optimistic-lock check failed: reload and decide again.
    #[error("the record was changed concurrently")]
    Conflict,
    /// A unique key exists already.
    #[error("duplicate {0}")]
    Duplicate(DuplicateKey),
    /// Referenced record missing.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Stored data cannot be decrypted or decoded (tampering, wrong key, swapped ciphertext).
    #[error("stored data is corrupt or cannot be decrypted: {0}")]
    Corrupt(String),
    /// The database is unavailable or failed; retrying may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// The store: loads what a decision needs and commits change sets atomically.
///
/// Contract for every implementation (the shared store test suite checks it):
/// - every method is scoped to one tenant: data of another tenant is never returned or changed;
/// - [`Store::commit`] applies all of a [`ChangeSet`] in one transaction or nothing of it; audited
///   events become audit entries in that transaction; outbox entries become visible on commit;
/// - personal data is stored encrypted; erasure destroys the candidate key;
/// - errors are [`StoreError`]s without personal data.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync {
    /// The tenant's configuration, or `None` if the tenant does not exist. Shared (`Arc`) because
    /// it is read on every decision and may be cached.
    async fn tenant_config(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError>;

    /// A candidate (also an erased tombstone), or `None`.
    async fn candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Option<Candidate>, StoreError>;

    /// Several candidates at once (a page of the inbox), in no particular order; ids not found in
    /// the tenant are left out. The default reads them one by one; a database store reads them
    /// with one statement.
    async fn candidates(&self, tenant: TenantId, ids: &[CandidateId]) -> Result<Vec<Candidate>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.candidate(tenant, *id).await? {
                found.push(c);
            }
        }
        Ok(found)
    }

    /// The candidate with this contact key (phone or BSUID), or `None`. MUST use the blind index,
    /// never a clear-text number.
    async fn candidate_by_contact(&self, tenant: TenantId, key: &ContactKey) -> Result<Option<Candidate>, StoreError>;

    /// The suppression entry for this contact (R17), or `None`.
    async fn suppression(&self, tenant: TenantId, key: &ContactKey) -> Result<Option<Suppression>, StoreError>;

    /// A message by id.
    async fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// A message by provider id (wamid), or `None`.
    async fn message_by_provider_id(
        &self,
        tenant: TenantId,
        provider_id: &Wamid,
    ) -> Result<Option<Message>, StoreError>;

    /// The candidate's messages, oldest first.
    async fn messages(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<Message>, StoreError>;

    /// The candidate's pending outbox entries.
    async fn pending_outbox(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Candidates whose retention decision may have changed by `now` (their next due time has
    /// passed), at most `limit`, ordered by due time.
    async fn retention_due(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CandidateId>, StoreError>;

    /// The tenant's subject requests (of one candidate if given).
    async fn subject_requests(
        &self,
        tenant: TenantId,
        candidate: Option<CandidateId>,
    ) -> Result<Vec<SubjectRequest>, StoreError>;

    /// One subject request.
    async fn subject_request(
        &self,
        tenant: TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError>;

    /// A media file's record, or `None` (also after the candidate's erasure).
    async fn media(&self, tenant: TenantId, id: MediaId) -> Result<Option<MediaRecord>, StoreError>;

    /// The bytes of a stored media file, or `None` (pending, rejected, erased).
    async fn media_content(&self, tenant: TenantId, id: MediaId) -> Result<Option<Pii<Vec<u8>>>, StoreError>;

    /// The candidate's media records, oldest first.
    async fn candidate_media(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<MediaRecord>, StoreError>;

    /// Applies a change set atomically (see the trait docs).
    async fn commit(&self, tenant: TenantId, changes: ChangeSet) -> Result<CommitReport, StoreError>;

    /// Records that the staff member `staff` read the candidate's conversation up to `at` (their
    /// own read marker, issue 17: the inbox counts the inbound messages stored after it, see
    /// [`Queries::conversation_summaries`]). Upserted per (tenant, staff, candidate) and never
    /// moved back (an earlier `at` than the stored one changes nothing); kept to the
    /// microsecond. Nothing is recorded for a candidate that does not exist or is erased, and an
    /// erasure deletes the candidate's markers in its own commit. Not audited itself: it follows
    /// the audited content read ([`crate::usecases::Hoheit::read_messages`]).
    async fn mark_read(
        &self,
        tenant: TenantId,
        staff: crate::ids::StaffId,
        candidate: CandidateId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The outbox as the dispatcher sees it.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OutboxQueue: Send + Sync {
    /// Claims up to `limit` due entries (`not_before <= now`, not leased or lease expired) for
    /// `lease`; a claimed entry is invisible to other claimers until the lease expires or it is
    /// completed/retried. Across tenants.
    async fn claim(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Releases the leases of the given entries (graceful shutdown) without counting an attempt.
    async fn release(&self, ids: &[OutboxId]) -> Result<(), StoreError>;

    /// The earliest time an entry becomes claimable (its `not_before`, or its lease's end if
    /// later), across tenants; `None` when the outbox is empty (or the queue cannot tell). The
    /// dispatcher sleeps until then when a claim found nothing (unless woken by new work).
    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(None)
    }
}

/// Whom to send to: a number, or the business-scoped user id when the number is hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Recipient {
    /// E.164 number.
    Phone(PhoneNumber),
    /// Business-scoped user id.
    User(WaUserId),
}

/// The provider's receipt of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The wamid.
    pub provider_id: Wamid,
}

/// Why the gateway could not send. `code` is WhatsApp's numeric error code where one was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// 131047: more than 24 h since the user's last message. Permanent for this message.
    #[error("outside the customer-service window")]
    WindowClosed {
        /// WhatsApp code.
        code: Option<i64>,
    },
    /// Throughput or pair-rate limit: retry after the given time.
    #[error("rate limited")]
    RateLimited {
        /// When to retry, if the provider said.
        retry_after: Option<StdDuration>,
        /// WhatsApp code.
        code: Option<i64>,
    },
    /// 131026 and similar: the recipient cannot receive it. Permanent.
    #[error("undeliverable")]
    Undeliverable {
        /// WhatsApp code.
        code: Option<i64>,
    },
    /// 132xxx: template missing, paused, parameters wrong. Permanent.
    #[error("template rejected")]
    TemplateRejected {
        /// WhatsApp code.
        code: Option<i64>,
    },
    /// Other permanent refusal of this message (131049, 131050, 131051, 4xx).
    #[error("rejected by the provider")]
    Rejected {
        /// WhatsApp code.
        code: Option<i64>,
    },
    /// The channel itself is broken (bad API key, number blocked, payment). Permanent until fixed.
    #[error("channel failure")]
    ChannelFailure {
        /// WhatsApp code or HTTP status.
        code: Option<i64>,
    },
    /// 5xx, connection failure before sending. Retry.
    #[error("transient provider failure")]
    Transient {
        /// WhatsApp code or HTTP status.
        code: Option<i64>,
    },
    /// Timed out after the request was sent: it may have been delivered. Do not retry blindly.
    #[error("outcome unknown")]
    OutcomeUnknown,
    /// No gateway is configured for this channel.
    #[error("channel not configured")]
    NotConfigured,
}

impl GatewayError {
    /// Whether retrying later may succeed.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient { .. })
    }

    /// The WhatsApp code, if any.
    pub const fn code(&self) -> Option<i64> {
        match self {
            Self::WindowClosed { code }
            | Self::RateLimited { code, .. }
            | Self::Undeliverable { code }
            | Self::TemplateRejected { code }
            | Self::Rejected { code }
            | Self::ChannelFailure { code }
            | Self::Transient { code } => *code,
            Self::OutcomeUnknown | Self::NotConfigured => None,
        }
    }
}

/// Sends WhatsApp messages through the provider.
///
/// A send is two steps so that the caller can decide again right before the message leaves
/// (an objection may arrive while a message waits for the number's rate limit): [`pace`]
/// waits for and takes the slot, then the caller re-checks and calls [`send`] for exactly one
/// attempt.
///
/// Contract: `send` MUST either return the provider's id of an accepted message or a
/// [`GatewayError`] that says truthfully whether the message may have gone out
/// ([`GatewayError::OutcomeUnknown`]); it makes ONE attempt (no internal retries, no waiting
/// for limits: transient failures are returned so the caller decides again before the next
/// attempt); errors carry no personal data.
///
/// [`pace`]: MessagingGateway::pace
/// [`send`]: MessagingGateway::send
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MessagingGateway: Send + Sync {
    /// Waits until one more message may go to `to` through the channel's number (the provider's
    /// throughput and pair-rate limits) and takes that slot. Gateways without limits return at
    /// once.
    async fn pace(&self, channel: ChannelId, to: &Recipient) -> Result<(), GatewayError> {
        let _ = (channel, to);
        Ok(())
    }

    /// Waits for the number's hard ceiling (the provider's messages per sliding second) and
    /// takes a departure: called right before the dispatcher's last decision, so that between
    /// that decision and the request only [`MessagingGateway::send`] lies and no limiter wait.
    /// The send that follows MUST NOT wait for the ceiling again. Gateways without a ceiling
    /// return at once.
    async fn depart(&self, channel: ChannelId) {
        let _ = channel;
    }

    /// Sends a message through the channel's number: one attempt, after [`MessagingGateway::pace`]
    /// and [`MessagingGateway::depart`].
    /// MUST pass `tag` ([`crate::attempt::callback_tag`] of the outbox id) to the provider as
    /// the message's `biz_opaque_callback_data`, which its status webhooks echo: after a crash
    /// that is how an accepted attempt is recognised.
    async fn send(
        &self,
        channel: ChannelId,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError>;

    /// Marks an inbound message as read.
    async fn mark_read(&self, channel: ChannelId, provider_id: &Wamid) -> Result<(), GatewayError>;

    /// Uploads a file to the provider through the channel's number and returns the provider's
    /// media id, to send it by id (never as a public link). Gateways without uploads answer
    /// [`GatewayError::NotConfigured`].
    async fn upload_media(
        &self,
        channel: ChannelId,
        content: &Pii<Vec<u8>>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GatewayError> {
        let _ = (channel, content, mime_type, filename);
        Err(GatewayError::NotConfigured)
    }
}

// ---------------------------------------------------------------- read side

/// Where a candidate stands in a list: erased candidates are never listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListedLifecycle {
    /// Normal processing.
    Active,
    /// Restricted (archived for inactivity R25, erasure deferred R31, Art. 18 restriction).
    Restricted,
}

impl ListedLifecycle {
    /// Stable name (`active`, `restricted`), as stored and as the API shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Restricted => "restricted",
        }
    }
}

/// One row of a tenant's candidate list: only what is kept in clear (no number, no name, no
/// content), so a list never unwraps a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateSummary {
    /// The candidate.
    pub id: CandidateId,
    /// Active or restricted.
    pub lifecycle: ListedLifecycle,
    /// Whether an objection is in effect.
    pub objected: bool,
    /// When the application process ended, if it did.
    #[serde(with = "time::serde::rfc3339::option")]
    pub process_ended_at: Option<OffsetDateTime>,
    /// When the retention run decides about the candidate next.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retention_due_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Last activity ([`crate::retention::last_activity`]), to the microsecond: the last message
    /// in either direction, or the creation.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
}

/// Which page of the candidate list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidatePage {
    /// Also list restricted candidates (R25: only for roles that may see them, which the caller
    /// decides).
    pub include_restricted: bool,
    /// Continue after this candidate (ids are time-ordered, so this is creation order).
    pub after: Option<CandidateId>,
    /// Page size.
    pub limit: u32,
}

/// Which page of the candidate list to read in activity order ([`Queries::candidate_activity_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPage {
    /// Also list restricted candidates (R25: only for roles that may see them, which the caller
    /// decides).
    pub include_restricted: bool,
    /// Continue after this position (the previous page's last row, [`ActivityCursor::of`]).
    pub after: Option<ActivityCursor>,
    /// Page size.
    pub limit: u32,
    /// Only candidates in this state ([`ActivityFilter::matches`], which a store answers from
    /// its clear columns); the caller decides again on the candidates it loads.
    pub only: Option<ActivityFilter>,
}

/// A state an activity page may be narrowed to ([`ActivityPage::only`]): the inbox's filters
/// that a store can answer without opening a candidate's sealed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityFilter {
    /// An objection is in effect (the store's `objected`).
    Objected,
    /// A possible objection waits for review (R16; the store's review due date).
    ReviewPending,
    /// The application process ended (the store's process end).
    ProcessEnded,
}

impl ActivityFilter {
    /// Whether the candidate is in this state: what a store's clear columns must agree with.
    pub fn matches(self, candidate: &crate::candidate::Candidate) -> bool {
        match self {
            ActivityFilter::Objected => candidate.objection().is_objected(),
            ActivityFilter::ReviewPending => candidate.objection().review.is_some(),
            ActivityFilter::ProcessEnded => candidate.process_ended_at().is_some(),
        }
    }
}

/// A position in the newest-activity-first order: (last activity, id), both descending. Written
/// as `<unix-nanos>.<id>` ([`std::fmt::Display`], [`std::str::FromStr`]), e.g. in a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    /// The row's last activity ([`CandidateSummary::last_activity_at`]).
    pub last_activity_at: OffsetDateTime,
    /// The row's candidate.
    pub id: CandidateId,
}

impl ActivityCursor {
    /// The position of a listed row: the next page continues after it.
    pub const fn of(row: &CandidateSummary) -> Self {
        Self { last_activity_at: row.last_activity_at, id: row.id }
    }
}

impl std::fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.last_activity_at.unix_timestamp_nanos(), self.id)
    }
}

impl std::str::FromStr for ActivityCursor {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const BAD: &str = "not an activity cursor";
        let (nanos, id) = s.split_once('.').ok_or(BAD)?;
        let nanos: i128 = nanos.parse().map_err(|_| BAD)?;
        let last_activity_at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| BAD)?;
        Ok(Self { last_activity_at, id: id.parse().map_err(|_| BAD)? })
    }
}

/// A search by name ([`Queries::candidates_by_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSearch {
    /// The normalised search tokens ([`crate::names::tokens`]); every one must match.
    pub tokens: Vec<String>,
    /// Whether restricted candidates are included (admin and DPO only, R25).
    pub include_restricted: bool,
    /// At most this many.
    pub limit: u32,
}

/// One conversation of an inbox page as a staff member sees it, without content
/// ([`Queries::conversation_summaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The candidate.
    pub candidate: CandidateId,
    /// Inbound messages stored after the viewer's read marker.
    pub unread: u32,
    /// The last message, if any.
    pub last: Option<LastMessage>,
}

/// What the last message of a conversation was, without its content: who, what kind, when and,
/// outbound, how far it got. Read from clear columns (showing the words would be a content read,
/// R33, which only opening the thread is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastMessage {
    /// Inbound (the candidate) or outbound.
    pub direction: crate::conversation::Direction,
    /// The kind of message.
    pub kind: crate::message::MessageKind,
    /// For a media message, the kind of file, if recorded.
    pub media: Option<crate::inbound::MediaKind>,
    /// Why an outbound message was sent (a recruiter's message, the consent request, an
    /// automatic answer); `None` inbound.
    pub intent: Option<Intent>,
    /// When it was stored, to the microsecond.
    pub at: OffsetDateTime,
    /// Outbound: the effective delivery status (statuses recorded for its provider id merged
    /// in); `None` inbound.
    pub status: Option<crate::message::DeliveryStatus>,
}

/// An open objection review in the queue (R16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenReview {
    /// The candidate whose message is under review.
    pub candidate: CandidateId,
    /// When the review is due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// A tenant as the platform operator sees it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    /// Id.
    pub id: TenantId,
    /// The employer's name.
    pub name: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The subject requests that need attention (R29), each list ordered by due date.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DueSubjectRequests {
    /// Open or extended, past their due date.
    pub overdue: Vec<SubjectRequest>,
    /// Open or extended, not overdue, due within the horizon.
    pub due_soon: Vec<SubjectRequest>,
}

impl DueSubjectRequests {
    /// Sorts `requests` into overdue and due-soon at `now` with the given horizon.
    pub fn from_register(mut requests: Vec<SubjectRequest>, now: OffsetDateTime, within: Duration) -> Self {
        requests.sort_by_key(|r| r.due_at);
        let (overdue, rest): (Vec<_>, Vec<_>) = requests.into_iter().partition(|r| r.is_overdue(now));
        let due_soon = rest.into_iter().filter(|r| r.is_due_soon(now, within)).collect();
        Self { overdue, due_soon }
    }
}

/// Deadline counts across all tenants, for the operator's gauges (numbers only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineCounts {
    /// Open objection reviews (R16).
    pub reviews_open: u64,
    /// Open objection reviews past their due time.
    pub reviews_overdue: u64,
    /// Open or extended subject requests past their due date (R29).
    pub subject_requests_overdue: u64,
    /// Open or extended subject requests due within the horizon, not yet overdue.
    pub subject_requests_due_soon: u64,
    /// Media files waiting to be fetched.
    pub media_pending: u64,
    /// Candidates whose legal-hold review is due (R26: a hold in force with a review date
    /// reached).
    #[serde(default)]
    pub legal_hold_reviews_due: u64,
}

/// A candidate whose legal hold is due for review (R26): ids and times only, no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueLegalHold {
    /// The held candidate.
    pub candidate: CandidateId,
    /// The earliest review date among its holds in force (reached).
    #[serde(with = "time::serde::rfc3339")]
    pub review_at: OffsetDateTime,
}

/// The read side: the list and read views the API and the browser UI show. Decisions never
/// read through this port (they load aggregates through [`Store`]); it only serves views.
///
/// Contract for every implementation:
/// - every method that takes a tenant MUST return that tenant's data only;
/// - [`Queries::tenants`] and [`Queries::deadline_counts`] are the only views across tenants
///   (the platform operator's): they MUST return no personal data, only ids, names of the
///   employers, times and counts;
/// - lists MUST NOT unwrap keys or return personal data beyond what the method says (the
///   candidate list reads clear columns only); erased candidates are never listed;
/// - errors are [`StoreError`]s without personal data.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Queries: Send + Sync {
    /// Every tenant, oldest first (operator view).
    async fn tenants(&self) -> Result<Vec<TenantSummary>, StoreError>;

    /// A page of the tenant's candidates in creation order, starting after `page.after`, at most
    /// `page.limit`. Restricted candidates MUST be left out unless `page.include_restricted`;
    /// erased ones MUST always be left out.
    async fn candidate_page(&self, tenant: TenantId, page: CandidatePage) -> Result<Vec<CandidateSummary>, StoreError>;

    /// A page of the tenant's candidates newest activity first: by
    /// [`CandidateSummary::last_activity_at`] descending, then by id descending, strictly after
    /// `page.after` in that order (so paging neither repeats nor skips a row that did not move),
    /// at most `page.limit`. Restricted candidates MUST be left out unless
    /// `page.include_restricted`; erased ones MUST always be left out.
    async fn candidate_activity_page(
        &self,
        tenant: TenantId,
        page: ActivityPage,
    ) -> Result<Vec<CandidateSummary>, StoreError>;

    /// For each of `candidates` (a page of the inbox) that is the tenant's and not erased: how
    /// many of its inbound messages were stored after `viewer`'s read marker
    /// ([`Store::mark_read`]; all of them if there is none), and its last message without
    /// content ([`LastMessage`]: from the clear columns only, no key is unwrapped). In the order
    /// of `candidates`, each at most once; one statement per kind of figure for the whole page,
    /// not one per candidate. Only `viewer`'s own marker is read: there is no view of another
    /// staff member's reading (works council, § 87(1) Nr. 6 BetrVG).
    async fn conversation_summaries(
        &self,
        tenant: TenantId,
        viewer: crate::ids::StaffId,
        candidates: &[CandidateId],
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// The tenant's candidates whose name index holds every one of `search.tokens` (normalised
    /// by [`crate::names::tokens`]; indexed as [`crate::names::index_terms`]), newest activity
    /// first as in [`Queries::candidate_activity_page`], at most `search.limit`. MUST NOT keep or
    /// compare names in clear (the adapter stores keyed hashes of the terms). Restricted
    /// candidates only if `search.include_restricted`; erased ones never. No tokens: none.
    async fn candidates_by_name(&self, tenant: TenantId, search: NameSearch) -> Result<Vec<CandidateId>, StoreError>;

    /// The candidates with an open objection review, earliest due first (R16).
    async fn open_reviews(&self, tenant: TenantId) -> Result<Vec<OpenReview>, StoreError>;

    /// The tenant's subject requests that are overdue or due within `within` of `now` (R29);
    /// [`DueSubjectRequests::from_register`] over [`Store::subject_requests`] is the rule. (The
    /// conversation and the whole register are [`Store::messages`] and
    /// [`Store::subject_requests`]; this port has no copies of them.)
    async fn due_subject_requests(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        within: Duration,
    ) -> Result<DueSubjectRequests, StoreError>;

    /// The tenant's candidates with a legal hold in force whose review date is at or before
    /// `now` (R26), earliest review first. Erased candidates are never listed (they hold
    /// nothing); restricted ones are (a hold often is why they are kept).
    async fn due_legal_holds(&self, tenant: TenantId, now: OffsetDateTime) -> Result<Vec<DueLegalHold>, StoreError>;

    /// Deadline counts across all tenants at `now`; "due soon" means due after `now` and no
    /// later than `soon` (operator view, numbers only).
    async fn deadline_counts(&self, now: OffsetDateTime, soon: OffsetDateTime) -> Result<DeadlineCounts, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Staff accounts and sessions (issue 16)
// ---------------------------------------------------------------------------------------------

/// Storage of staff accounts, their invitations, recovery codes, sessions and sign-in throttles.
/// Personal data (e-mail, name, identity-provider subject) and the TOTP secret MUST be sealed
/// with the tenant key; e-mail and subject are found by a keyed hash. Every state here lives in
/// the database so that it holds across replicas.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a new invited account and its invitation (secret stored as a hash only), atomically.
    /// `Duplicate` if the e-mail is taken in the tenant.
    async fn create_invited_account(
        &self,
        account: &crate::staff::StaffAccount,
        invitation: &crate::credential::Invitation,
        secret: &str,
    ) -> Result<(), StoreError>;

    /// The invitation with this secret, whatever its state.
    async fn invitation(&self, secret: &str) -> Result<Option<crate::credential::Invitation>, StoreError>;

    /// Marks the invitation accepted and stores `account` (inserted, or replacing the invited
    /// one of the same id), atomically; `false` if the invitation was used meanwhile.
    /// `Duplicate` if the e-mail or identity-provider subject is taken in the tenant.
    async fn accept_invitation_account(
        &self,
        invitation: crate::ids::StaffId,
        account: &crate::staff::StaffAccount,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// An account of the tenant.
    async fn account(
        &self,
        tenant: TenantId,
        id: crate::ids::StaffId,
    ) -> Result<Option<crate::staff::StaffAccount>, StoreError>;

    /// An account by id alone (a token or session names the id; the tenant comes with it).
    async fn account_by_id(&self, id: crate::ids::StaffId) -> Result<Option<crate::staff::StaffAccount>, StoreError>;

    /// The account with this e-mail in the tenant.
    async fn account_by_email(
        &self,
        tenant: TenantId,
        email: &crate::staff::Email,
    ) -> Result<Option<crate::staff::StaffAccount>, StoreError>;

    /// The account bound to this identity-provider subject in the tenant.
    async fn account_by_idp(
        &self,
        tenant: TenantId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<crate::staff::StaffAccount>, StoreError>;

    /// The tenant's accounts, oldest first.
    async fn accounts(&self, tenant: TenantId) -> Result<Vec<crate::staff::StaffAccount>, StoreError>;

    /// Saves a changed account if its stored version is `account.version` (then stores
    /// `version + 1`); `Conflict` otherwise.
    async fn save_account(&self, account: &crate::staff::StaffAccount) -> Result<(), StoreError>;

    /// Replaces the account's recovery codes by these SHA-256 hashes.
    async fn set_recovery_codes(
        &self,
        tenant: TenantId,
        staff: crate::ids::StaffId,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError>;

    /// Uses a recovery code (by hash): `true` once, if it exists and was not used.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        staff: crate::ids::StaffId,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// How many unused recovery codes the account has.
    async fn recovery_codes_left(&self, tenant: TenantId, staff: crate::ids::StaffId) -> Result<u32, StoreError>;

    /// Stores a new session.
    async fn create_session(&self, session: &crate::staff::Session) -> Result<(), StoreError>;

    /// The session with this hash, whatever its state.
    async fn session(&self, hash: &crate::staff::SessionHash) -> Result<Option<crate::staff::Session>, StoreError>;

    /// Replaces the session `old` by `new` atomically (rotation: the old id stops working);
    /// `false` if `old` was revoked or gone meanwhile.
    async fn rotate_session(
        &self,
        old: &crate::staff::SessionHash,
        new: &crate::staff::Session,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Records a request on the session (`last_seen_at`).
    async fn touch_session(&self, hash: &crate::staff::SessionHash, now: OffsetDateTime) -> Result<(), StoreError>;

    /// Revokes one session of the account by its public id; whether it was in force.
    async fn revoke_session(
        &self,
        staff: crate::ids::StaffId,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Revokes every session of the account in force; how many.
    async fn revoke_sessions(&self, staff: crate::ids::StaffId, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// The account's sessions not revoked and not past their absolute time-out, newest first.
    async fn sessions(
        &self,
        staff: crate::ids::StaffId,
        now: OffsetDateTime,
    ) -> Result<Vec<crate::staff::Session>, StoreError>;

    /// The failures counted for a key, if any.
    async fn throttle(&self, key: &crate::staff::ThrottleKey) -> Result<Option<crate::staff::Throttle>, StoreError>;

    /// Counts one more failure for the key (atomically) and returns the new state.
    async fn record_failure(
        &self,
        key: &crate::staff::ThrottleKey,
        now: OffsetDateTime,
    ) -> Result<crate::staff::Throttle, StoreError>;

    /// Forgets the failures of a key (after a success).
    async fn clear_throttle(&self, key: &crate::staff::ThrottleKey) -> Result<(), StoreError>;
}

/// Password hashing (argon2id, OWASP parameters, PHC strings) and the offline strength check.
/// Hashing is slow on purpose: implementations run it off the async executor's threads.
#[async_trait]
pub trait Passwords: Send + Sync {
    /// Hashes a password.
    async fn hash(&self, password: &crate::staff::SecretText) -> Result<crate::staff::PasswordHash, StoreError>;

    /// Whether the password matches the hash. With `None` it verifies against a fixed dummy hash
    /// and returns `false`, so an unknown account takes as long as a wrong password.
    async fn verify(&self, password: &crate::staff::SecretText, hash: Option<&crate::staff::PasswordHash>) -> bool;

    /// Whether the password is on the embedded list of common passwords.
    fn is_common(&self, password: &crate::staff::SecretText) -> bool;
}

/// What a TOTP set-up shows once: the secret (base32, for typing in), the `otpauth://` URI and
/// its QR code as SVG.
#[derive(Clone)]
pub struct TotpSetup {
    /// The base32 secret.
    pub secret: crate::staff::SecretText,
    /// The `otpauth://totp/...` URI.
    pub uri: crate::staff::SecretText,
    /// The QR code of the URI, an SVG document (rendered on the server).
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(..)")
    }
}

/// TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of drift each way), recovery codes and
/// random secrets.
pub trait SecondFactor: Send + Sync {
    /// A new random TOTP secret (160 bits, base32).
    fn new_totp_secret(&self) -> crate::staff::SecretText;

    /// The set-up of a secret for an account (`label`: what the authenticator app shows, e.g.
    /// the e-mail; `issuer`: "hoheit").
    fn totp_setup(
        &self,
        secret: &crate::staff::SecretText,
        label: &str,
        issuer: &str,
    ) -> Result<TotpSetup, crate::values::InvalidValue>;

    /// The time step a code is valid for at `now` (current, previous or next), or `None`.
    fn verify_totp(&self, secret: &crate::staff::SecretText, code: &str, now: OffsetDateTime) -> Option<u64>;

    /// A random secret of 256 bits, base64url (session cookie values, invitation secrets).
    fn random_secret(&self) -> String;

    /// A fresh recovery code (80 bits, grouped for reading, e.g. `abcd-efgh-ijkl-mnop`).
    fn recovery_code(&self) -> String;
}

/// The SHA-256 of a recovery code as typed (lower-cased, without separators and spaces).
pub fn recovery_code_hash(code: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let normalised: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    sha2::Sha256::digest(normalised.as_bytes()).into()
}
