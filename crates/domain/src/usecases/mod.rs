//! Use cases (application services): load what a decision needs through the [`Store`], decide
//! with the pure model, commit one [`ChangeSet`](crate::ports::ChangeSet) atomically. Every state
//! change emits its domain events in the same change set, so the audit trail is written in the
//! same transaction.
//!
//! Every such use case follows one pattern, written once (`Hoheit::transact` in
//! `usecases/transact.rs`): load -> decide -> commit; a commit that loses an optimistic-lock race
//! ([`StoreError::Conflict`]) is retried from a fresh load a few times; nothing is decided on
//! stale state.

mod accounts;
mod admin;
mod candidates;
mod console;
mod delivery;
mod inbound;
mod inbox;
mod media;
mod outbound;
mod retention_run;
mod reviews;
mod subject_requests;
mod transact;

use std::sync::Arc;

use time::OffsetDateTime;

pub use crate::accountability::{DataRecipient, recipients};
pub use crate::tenant::ApprovalInput;
pub use accounts::{
    AcceptLocal, Accepted, AccountError, AccountPorts, NewSession, PendingSession, SecondFactorCode, SessionPrincipal,
    SessionView, SignIn, SignInStep, StaffInvitation, StaffInvite, StaffView, TotpEnrolled, VerifiedIdentity,
};
pub use admin::{ChannelInput, LegalTextInput};
pub use candidates::{ConsentInput, NewCandidate, ObjectionInput};
pub use console::{ConsoleOverview, OVERVIEW_HORIZON, PREVIEW_LIMIT, RetentionPreviewItem, ReviewItem};
pub use inbound::InboundOutcome;
pub use inbox::{InboxFilter, InboxPage, InboxQuery, InboxRow, InboxView};
pub use media::fetch_backoff;
pub use outbound::{DispatchOutcome, MAX_ATTEMPTS, MessageRequest, Queued};
pub use retention_run::{ErasureOutcome, SubjectExport};
pub use reviews::ReviewDecision;
pub use subject_requests::{Answer, Answered};

use crate::actor::Actor;
use crate::candidate::Candidate;
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CandidateId, TenantId};
use crate::legal::LegalTextError;
use crate::policy::Refusal;
use crate::ports::{Clock, IdGenerator, Store, StoreError, TenantConfig};
use crate::rules::Rule;
use crate::values::InvalidValue;

/// Why a use case did not do what was asked. Messages carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UseCaseError {
    /// The tenant, candidate, channel, ... does not exist (or belongs to another tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The send policy refused.
    #[error("refused: {}", .0.code)]
    Refused(Refusal),
    /// Input that does not fit the model.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The actor's role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The approving DPO's credential was created by the channel's registering admin (R1's
    /// separation of duties) and the tenant did not configure "DPO appointed by the admin".
    #[error("{}", crate::credential::DpoNotIndependent)]
    DpoNotIndependent,
    /// An outside service (the messaging provider) failed; retrying later may help.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InvalidValue> for UseCaseError {
    fn from(e: InvalidValue) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<LegalTextError> for UseCaseError {
    fn from(e: LegalTextError) -> Self {
        match e {
            LegalTextError::VersionExists => Self::Conflict("this legal text version is already published"),
            LegalTextError::InvalidBody | LegalTextError::ConsentRequestIncomplete { .. } => {
                Self::Invalid(e.to_string())
            }
        }
    }
}

/// The application: the ports, and every use case as a method.
#[derive(Clone)]
pub struct Hoheit {
    store: Arc<dyn Store>,
    gateway: Arc<dyn crate::ports::MessagingGateway>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    replay_window: time::Duration,
    /// How long an attempt without a recorded outcome waits for a status webhook before it is
    /// sent again ([`crate::attempt`]).
    status_wait: time::Duration,
    /// Staff accounts and sessions (issue 16): absent until wired with [`Hoheit::with_accounts`].
    accounts: Option<Arc<AccountPorts>>,
    /// The read port the inbox lists conversations with: absent until wired with
    /// [`Hoheit::with_queries`].
    queries: Option<Arc<dyn crate::ports::Queries>>,
}

/// How old a webhook event may be and still be stored (R36, issue 14): 360Dialog redelivers an
/// unacknowledged webhook for up to 7 days, so anything older is a replay, not a redelivery.
pub const DEFAULT_REPLAY_WINDOW: time::Duration = time::Duration::days(7);

impl std::fmt::Debug for Hoheit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hoheit").finish_non_exhaustive()
    }
}

impl Hoheit {
    /// Wires the ports.
    pub fn new(
        store: Arc<dyn Store>,
        gateway: Arc<dyn crate::ports::MessagingGateway>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            store,
            gateway,
            clock,
            ids,
            replay_window: DEFAULT_REPLAY_WINDOW,
            status_wait: crate::attempt::DEFAULT_STATUS_WAIT,
            accounts: None,
            queries: None,
        }
    }

    /// Sets the replay window: webhook events older than this are acknowledged and not stored
    /// (default [`DEFAULT_REPLAY_WINDOW`]). A window of zero or less is taken as the default.
    #[must_use]
    pub fn with_replay_window(mut self, window: time::Duration) -> Self {
        self.replay_window = if window.is_positive() { window } else { DEFAULT_REPLAY_WINDOW };
        self
    }

    /// The replay window.
    pub const fn replay_window(&self) -> time::Duration {
        self.replay_window
    }

    /// Whether a webhook event with WhatsApp's timestamp `at` is older than the replay window:
    /// such an event is a replay (360Dialog stopped redelivering it), acknowledged and not stored.
    pub fn is_replay(&self, at: OffsetDateTime) -> bool {
        at < self.now() - self.replay_window
    }

    /// Sets how long an attempt whose outcome was not recorded (a crash between the provider's
    /// acceptance and the commit) waits for a status webhook before it is decided again and
    /// resent (default [`crate::attempt::DEFAULT_STATUS_WAIT`]).
    #[must_use]
    pub fn with_status_wait(mut self, wait: time::Duration) -> Self {
        self.status_wait = wait.max(time::Duration::ZERO);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn new_id<T: From<uuid::Uuid>>(&self) -> T {
        T::from(self.ids.next_uuid())
    }

    /// The read port ([`Hoheit::with_queries`]); `Unavailable` where it is not wired.
    fn read_port(&self) -> Result<&dyn crate::ports::Queries, UseCaseError> {
        self.queries.as_deref().ok_or(UseCaseError::Unavailable("the read port is not wired"))
    }

    async fn config(&self, tenant: TenantId) -> Result<Arc<TenantConfig>, UseCaseError> {
        self.store.tenant_config(tenant).await?.ok_or(UseCaseError::NotFound("tenant"))
    }

    async fn load_candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Candidate, UseCaseError> {
        self.store.candidate(tenant, id).await?.ok_or(UseCaseError::NotFound("candidate"))
    }
}

/// What the events of one decision share: tenant, subject, actor and time. Builds each event
/// envelope of that decision in one line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorder {
    tenant: TenantId,
    subject: Option<CandidateId>,
    actor: Actor,
    at: OffsetDateTime,
}

impl Recorder {
    /// Events about `subject` (or the tenant as a whole), caused by `actor` at `at`.
    pub(crate) const fn new(tenant: TenantId, subject: Option<CandidateId>, actor: Actor, at: OffsetDateTime) -> Self {
        Self { tenant, subject, actor, at }
    }

    /// An event that a rule requires (its id goes into the audit entry).
    pub(crate) fn rule(self, rule: Rule, event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            tenant: self.tenant,
            subject: self.subject,
            actor: self.actor,
            at: self.at,
            rule: Some(rule),
            event,
        }
    }

    /// An event that no single rule requires.
    pub(crate) fn note(self, event: DomainEvent) -> EventEnvelope {
        EventEnvelope { tenant: self.tenant, subject: self.subject, actor: self.actor, at: self.at, rule: None, event }
    }
}

/// Builds an event envelope.
pub(crate) fn event(
    tenant: TenantId,
    subject: Option<CandidateId>,
    actor: Actor,
    at: OffsetDateTime,
    rule: Option<Rule>,
    event: DomainEvent,
) -> EventEnvelope {
    EventEnvelope { tenant, subject, actor, at, rule, event }
}

/// The staff member doing `action` if the actor's role may (the role sets are in
/// [`crate::access`], nowhere else), otherwise `Forbidden(refusal)`.
pub(crate) fn permitted(
    actor: Actor,
    action: crate::access::Action,
    refusal: &'static str,
) -> Result<crate::ids::StaffId, UseCaseError> {
    crate::access::staff_for(actor, action).ok_or(UseCaseError::Forbidden(refusal))
}

/// An erased candidate is gone for every change staff make to it: `NotFound`.
pub(crate) fn not_erased(candidate: &Candidate) -> Result<(), UseCaseError> {
    if candidate.is_erased() {
        return Err(UseCaseError::NotFound("candidate"));
    }
    Ok(())
}

/// Refuses a restricted candidate's content to an actor who does not see restricted data (R25).
pub(crate) fn may_read(candidate: &Candidate, actor: Actor) -> Result<(), UseCaseError> {
    if matches!(candidate.lifecycle, crate::candidate::Lifecycle::Restricted { .. })
        && !crate::access::reads_restricted(actor)
    {
        return Err(UseCaseError::Forbidden("restricted: only an admin or the data-protection officer may read"));
    }
    Ok(())
}
