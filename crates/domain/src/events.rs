//! Domain events: one for every state change, carrying ids, enums and rule codes, never message
//! text, numbers or names (R34). The audit adapter turns them into hash-chained entries; the
//! persistence adapter writes them in the same transaction as the change.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::Actor;
use crate::actor::Role;
use crate::candidate::{CandidateSource, ErasureReason, HoldReason, ProcessEndReason, RestrictionReason};
use crate::consent::{CaptureChannel, ConsentMethodKind, Purpose};
use crate::conversation::{DeliveryStatus, Intent, MessageKind};
use crate::credential::{BreakGlassReason, InvitationOrigin, TokenState};
use crate::ids::{
    CandidateId, ChannelId, ConsentRequestId, HoldId, LegalTextId, MediaId, MessageId, OutboxId, ReviewId, StaffId,
    SubjectRequestId, TenantId,
};
use crate::inbound::MediaKind;
use crate::legal::LegalTextKind;
use crate::media::MediaRejection;
use crate::objection::{DismissReason, ObjectionScope};
use crate::policy::{Exception, RefusalCode};
use crate::rules::Rule;
use crate::staff::{SecondFactorChange, SessionEnd, SignInFailure, SignInMethod};
use crate::subject_request::SubjectRequestKind;

/// What was read, for audited content reads (R33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// The message history.
    Messages,
    /// The Art. 15/20 export.
    Export,
    /// A message under objection review.
    ReviewMessage,
    /// A media file.
    Media,
}

impl ContentKind {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Export => "export",
            Self::ReviewMessage => "review_message",
            Self::Media => "media",
        }
    }
}

/// Counts of a retention run (R28).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionCounts {
    /// Candidates examined.
    pub examined: u64,
    /// Restricted in this run.
    pub restricted: u64,
    /// Erased in this run.
    pub erased: u64,
    /// Kept because of a legal hold although otherwise due.
    pub held: u64,
}

/// A state change. Variants hold only ids, enums, codes, counts and times; every string is a
/// `&'static str` from a fixed list, so no personal data can be put into an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A tenant was created.
    TenantCreated,
    /// Retention or messaging settings changed.
    SettingsChanged,
    /// A channel (number) was registered.
    ChannelRegistered {
        /// The channel.
        channel: ChannelId,
    },
    /// The DPO approved the channel (R1).
    ChannelApproved {
        /// The channel.
        channel: ChannelId,
        /// Review date.
        #[serde(with = "time::serde::rfc3339")]
        review_at: OffsetDateTime,
    },
    /// The approval was revoked.
    ChannelApprovalRevoked {
        /// The channel.
        channel: ChannelId,
    },
    /// A legal text version was published.
    LegalTextPublished {
        /// The text.
        text: LegalTextId,
        /// Its kind.
        kind: LegalTextKind,
        /// Whether it requires re-consent.
        material: bool,
    },
    /// Templates were synced from the provider.
    TemplatesSynced {
        /// The channel.
        channel: ChannelId,
        /// How many.
        count: u32,
    },
    /// A candidate record was created.
    CandidateCreated {
        /// Their channel.
        channel: ChannelId,
        /// Source.
        source: CandidateSource,
        /// Whether a suppression entry applied at once (R17).
        suppressed: bool,
    },
    /// A consent request was queued (R10).
    ConsentRequested {
        /// The request.
        request: ConsentRequestId,
        /// Purpose.
        purpose: Purpose,
        /// The message carrying it.
        message: MessageId,
    },
    /// Consent was granted (R4, R5).
    ConsentGranted {
        /// Purpose.
        purpose: Purpose,
        /// Method.
        method: ConsentMethodKind,
        /// Capture channel.
        capture_channel: CaptureChannel,
    },
    /// The candidate declined a consent request.
    ConsentDeclined {
        /// Purpose.
        purpose: Purpose,
        /// The request.
        request: ConsentRequestId,
    },
    /// Consent was withdrawn or expired (R8, R9, R13).
    ConsentWithdrawn {
        /// Purpose.
        purpose: Purpose,
    },
    /// An objection took effect (R11-R13).
    ObjectionRecorded {
        /// `whatsapp`, `staff`, `review` or `suppression` ([`crate::objection::ObjectionSource::as_str`]).
        source: &'static str,
        /// Why the classifier decided so (`keyword`, `phrase`, `opt_out_button`, or the pattern id
        /// such as `de.negated_contact`: [`crate::classifier::ObjectionReason::audit_code`]), if it did.
        classifier: Option<&'static str>,
        /// Scope.
        scope: ObjectionScope,
    },
    /// A possible objection was sent to review (R16).
    ObjectionReviewOpened {
        /// The review.
        review: ReviewId,
        /// Due.
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// A further possible objection arrived while a review was open: the review now covers it
    /// too and is due at the later time (R14, R16).
    ObjectionReviewExtended {
        /// The review.
        review: ReviewId,
        /// Due.
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// A review was resolved.
    ObjectionReviewResolved {
        /// The review.
        review: ReviewId,
        /// Whether it was confirmed as an objection.
        confirmed: bool,
    },
    /// An opt-in keyword lifted the objection (R14).
    ObjectionLifted,
    /// The suppression list got an entry (R17).
    SuppressionAdded {
        /// Scope.
        scope: ObjectionScope,
    },
    /// Queued messages of the candidate were cancelled (R12).
    OutboxCancelled,
    /// A message was queued after a permitted decision.
    MessageQueued {
        /// The message.
        message: MessageId,
        /// Its outbox entry.
        outbox: OutboxId,
        /// Why.
        intent: Intent,
        /// Kind.
        kind: MessageKind,
        /// Exception used, if any.
        exception: Option<Exception>,
        /// Input of the decision: whether the 24-hour window was open.
        window_open: bool,
        /// Input of the decision: whether the message carries the first-message notice.
        notice: bool,
    },
    /// A send was refused (at request or dispatch time).
    SendRefused {
        /// Refusal code.
        code: RefusalCode,
        /// Why it was asked for.
        intent: Intent,
        /// Whether the dispatcher (not the request) refused.
        at_dispatch: bool,
        /// The message, if it had been queued.
        message: Option<MessageId>,
    },
    /// The provider accepted a message.
    MessageSent {
        /// The message.
        message: MessageId,
        /// Whether it carried the first-message notice (R15).
        notice: bool,
    },
    /// The provider refused a message permanently.
    MessageFailed {
        /// The message.
        message: MessageId,
        /// WhatsApp code, if any.
        code: Option<i64>,
    },
    /// The outcome of a send is unknown (timeout after sending).
    MessageOutcomeUnknown {
        /// The message.
        message: MessageId,
    },
    /// A delivery status changed (not audited: not a compliance decision).
    MessageStatusChanged {
        /// The message.
        message: MessageId,
        /// New effective status.
        status: DeliveryStatus,
    },
    /// An inbound message was stored (not audited: content flow, not a decision).
    InboundReceived {
        /// The message.
        message: MessageId,
        /// Kind.
        kind: MessageKind,
    },
    /// The candidate asked for help.
    HelpRequested,
    /// The application process ended.
    ProcessEnded {
        /// Reason.
        reason: ProcessEndReason,
    },
    /// The conversation was assigned to a staff member (`None`: the assignment was lifted).
    CandidateAssigned {
        /// The assignee.
        staff: Option<StaffId>,
    },
    /// A legal hold was set (R26).
    LegalHoldSet {
        /// The hold.
        hold: HoldId,
        /// Why.
        reason: HoldReason,
    },
    /// A legal hold was released.
    LegalHoldReleased {
        /// The hold.
        hold: HoldId,
    },
    /// Processing was restricted.
    CandidateRestricted {
        /// Why.
        reason: RestrictionReason,
    },
    /// A restriction was lifted (Art. 18(3): the reason no longer applies).
    RestrictionLifted,
    /// Personal data was erased and the candidate key destroyed (R27).
    CandidateErased {
        /// Why.
        reason: ErasureReason,
    },
    /// An erasure request was deferred by the claims window (R31).
    ErasureDeferred {
        /// Until.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// A data-subject request was opened.
    SubjectRequestOpened {
        /// The request.
        request: SubjectRequestId,
        /// Kind.
        kind: SubjectRequestKind,
        /// Due.
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// A request was extended.
    SubjectRequestExtended {
        /// The request.
        request: SubjectRequestId,
        /// New due date.
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// A request was closed.
    SubjectRequestClosed {
        /// The request.
        request: SubjectRequestId,
        /// `fulfilled` or `refused_in_part`.
        status: &'static str,
    },
    /// Content was read by a tenant user (R33).
    ContentRead {
        /// What.
        what: ContentKind,
    },
    /// A retention run finished (R28).
    RetentionRun {
        /// Whether it only previewed.
        dry_run: bool,
        /// Counts.
        counts: RetentionCounts,
    },
    /// An API token was issued.
    TokenIssued {
        /// The staff identity it belongs to.
        staff: StaffId,
        /// Its role.
        role: Role,
    },
    /// An API token was revoked.
    TokenRevoked {
        /// The token's staff identity.
        staff: StaffId,
    },
    /// An API token was presented for the first time after its expiry.
    TokenExpired {
        /// The token's staff identity.
        staff: StaffId,
    },
    /// A revoked or expired API token was presented and refused.
    TokenUseRefused {
        /// The token's staff identity.
        staff: StaffId,
        /// Why (`revoked` or `expired`).
        state: TokenState,
    },
    /// An invitation for a tenant role was issued (the secret is never recorded).
    InvitationIssued {
        /// The staff identity the accepted invitation becomes.
        staff: StaffId,
        /// The role it grants.
        role: Role,
        /// Why it was issued.
        origin: InvitationOrigin,
        /// For a break-glass invitation, why.
        reason: Option<BreakGlassReason>,
    },
    /// An invitation was accepted: its credential now exists.
    InvitationAccepted {
        /// The staff identity.
        staff: StaffId,
        /// The role.
        role: Role,
    },
    /// The tenant's credential rules changed (R1's "DPO appointed by the admin", token lifetimes).
    CredentialSettingsChanged {
        /// Whether a DPO created by the registering admin may approve.
        dpo_appointed_by_admin: bool,
        /// The longest token lifetime in days.
        token_max_days: u32,
    },
    /// A staff account's role changed (issue 16).
    StaffRoleChanged {
        /// The account.
        staff: StaffId,
        /// The role before.
        from: Role,
        /// The role now.
        to: Role,
    },
    /// A staff account was disabled: its sessions and tokens stop working.
    StaffDisabled {
        /// The account.
        staff: StaffId,
    },
    /// A staff account signed in.
    SignInSucceeded {
        /// The account.
        staff: StaffId,
        /// How.
        method: SignInMethod,
    },
    /// A sign-in failed (the person saw a generic answer).
    SignInFailed {
        /// The account, if the e-mail or subject named one.
        staff: Option<StaffId>,
        /// Why.
        reason: SignInFailure,
    },
    /// A staff account's password was set or changed.
    PasswordChanged {
        /// The account.
        staff: StaffId,
    },
    /// A staff account's second factor changed.
    SecondFactorChanged {
        /// The account.
        staff: StaffId,
        /// What changed.
        change: SecondFactorChange,
    },
    /// Sessions of a staff account ended before their time-out.
    SessionRevoked {
        /// The account.
        staff: StaffId,
        /// Why.
        reason: SessionEnd,
        /// How many sessions.
        count: u64,
    },
    /// A reviewer dismissed a possible objection (R16): who is the actor, why is the code.
    ObjectionReviewDismissed {
        /// The review.
        review: ReviewId,
        /// Why.
        reason: DismissReason,
    },
    /// The tenant marked whether a template carries the Art. 13 / Art. 21(4) notice (R15).
    TemplateNoticeMarked {
        /// The channel.
        channel: ChannelId,
        /// The new mark.
        carries_notice: bool,
    },
    /// A media file was stored, sealed (not audited: content flow, like inbound messages).
    MediaStored {
        /// The file.
        media: MediaId,
        /// Its kind.
        kind: MediaKind,
    },
    /// A media file was refused or given up.
    MediaRejected {
        /// The file.
        media: MediaId,
        /// Why.
        reason: MediaRejection,
    },
}

stable_names!(
    DomainEvent,
    /// The action name of the audit entry (`consent.granted`, ...).
    fn action(&self) {
        TenantCreated => "tenant.created",
        SettingsChanged => "tenant.settings_changed",
        ChannelRegistered => "channel.registered",
        ChannelApproved => "channel.approved",
        ChannelApprovalRevoked => "channel.approval_revoked",
        LegalTextPublished => "legal_text.published",
        TemplatesSynced => "templates.synced",
        CandidateCreated => "candidate.created",
        ConsentRequested => "consent.requested",
        ConsentGranted => "consent.granted",
        ConsentDeclined => "consent.declined",
        ConsentWithdrawn => "consent.withdrawn",
        ObjectionRecorded => "objection.recorded",
        ObjectionReviewOpened => "objection.review_opened",
        ObjectionReviewExtended => "objection.review_extended",
        ObjectionReviewResolved => "objection.review_resolved",
        ObjectionLifted => "objection.lifted",
        SuppressionAdded => "suppression.added",
        OutboxCancelled => "outbox.cancelled",
        MessageQueued => "message.queued",
        SendRefused => "message.refused",
        MessageSent => "message.sent",
        MessageFailed => "message.failed",
        MessageOutcomeUnknown => "message.outcome_unknown",
        MessageStatusChanged => "message.status_changed",
        InboundReceived => "message.received",
        HelpRequested => "candidate.help_requested",
        ProcessEnded => "process.ended",
        CandidateAssigned => "candidate.assigned",
        LegalHoldSet => "legal_hold.set",
        LegalHoldReleased => "legal_hold.released",
        CandidateRestricted => "candidate.restricted",
        RestrictionLifted => "candidate.restriction_lifted",
        CandidateErased => "candidate.erased",
        ErasureDeferred => "erasure.deferred",
        SubjectRequestOpened => "subject_request.opened",
        SubjectRequestExtended => "subject_request.extended",
        SubjectRequestClosed => "subject_request.closed",
        ContentRead => "content.read",
        RetentionRun => "retention.run",
        TokenIssued => "token.issued",
        TokenRevoked => "token.revoked",
        TokenExpired => "token.expired",
        TokenUseRefused => "token.use_refused",
        InvitationIssued => "invitation.issued",
        InvitationAccepted => "invitation.accepted",
        CredentialSettingsChanged => "credential.settings_changed",
        StaffRoleChanged => "staff.role_changed",
        StaffDisabled => "staff.disabled",
        SignInSucceeded => "sign_in.succeeded",
        SignInFailed => "sign_in.failed",
        PasswordChanged => "staff.password_changed",
        SecondFactorChanged => "staff.second_factor_changed",
        SessionRevoked => "session.revoked",
        ObjectionReviewDismissed => "objection.review_dismissed",
        TemplateNoticeMarked => "template.notice_marked",
        MediaStored => "media.stored",
        MediaRejected => "media.rejected",
    }
);

impl DomainEvent {
    /// Whether the event is about a credential (what [`crate::usecases::Hoheit`]'s
    /// `record_credential_events` accepts): the token, invitation, staff, sign-in and session
    /// families of [`DomainEvent::action`].
    pub fn is_credential_event(&self) -> bool {
        const CREDENTIAL_FAMILIES: [&str; 5] = ["token", "invitation", "staff", "sign_in", "session"];
        self.action().split_once('.').is_some_and(|(family, _)| CREDENTIAL_FAMILIES.contains(&family))
    }

    /// Whether the event is compliance-relevant and goes into the audit log. Delivery statuses and
    /// plain inbound messages are not decisions; they stay out so the hot path stays light.
    pub const fn audited(&self) -> bool {
        !matches!(self, Self::MessageStatusChanged { .. } | Self::InboundReceived { .. } | Self::MediaStored { .. })
    }
}

/// An event with its context: who, about whom, when, and which rule decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventEnvelope {
    /// Tenant.
    pub tenant: TenantId,
    /// The candidate it concerns (pseudonymous id), if any.
    pub subject: Option<CandidateId>,
    /// Who caused it.
    pub actor: Actor,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The rule that made the decision, where one was made.
    pub rule: Option<Rule>,
    /// The event.
    pub event: DomainEvent,
}
