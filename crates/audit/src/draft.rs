//! A draft entry: everything an entry says except its place in the chain (sequence number, time,
//! hash). Made from a domain event ([`AuditDraft::from_event`]) and turned into an
//! [`crate::AuditEntry`] by [`crate::append`].

use std::collections::BTreeMap;

use hoheit_domain::events::{DomainEvent, EventEnvelope};
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::Actor;

use crate::detail::{DetailKey, DetailValue};
use crate::encoding::clamp_str;

/// An audit entry before it is appended to a tenant's chain.
///
/// Every field is typed so that no personal data fits (R34): the action and all codes are
/// `&'static str`, the subject is a pseudonymous [`CandidateId`], and detail values are
/// [`DetailValue`]s keyed by the [`DetailKey`] allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    tenant: TenantId,
    actor: Actor,
    action: &'static str,
    subject: Option<CandidateId>,
    rule: Option<Rule>,
    details: BTreeMap<DetailKey, DetailValue>,
}

impl AuditDraft {
    /// The entry for a domain event, or `None` when the event is not audited
    /// ([`DomainEvent::audited`]: delivery statuses and plain inbound messages).
    pub fn from_event(envelope: &EventEnvelope) -> Option<Self> {
        if !envelope.event.audited() {
            return None;
        }
        let mut draft = Self::new(envelope.tenant, envelope.actor, envelope.event.action());
        draft.subject = envelope.subject;
        draft.rule = envelope.rule;
        for (key, value) in event_details(&envelope.event) {
            draft.details.insert(key, value);
        }
        Some(draft)
    }

    /// A draft for an action that is not a domain event (the action must be a code compiled into
    /// the binary, like `"audit.checkpoint_signed"`). Most callers want [`Self::from_event`].
    /// An action longer than [`crate::MAX_STR_LEN`] bytes is cut at a character boundary.
    pub fn new(tenant: TenantId, actor: Actor, action: &'static str) -> Self {
        Self { tenant, actor, action: clamp_str(action), subject: None, rule: None, details: BTreeMap::new() }
    }

    /// Sets the candidate the entry is about.
    #[must_use]
    pub fn with_subject(mut self, subject: CandidateId) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Sets the rule that made the decision.
    #[must_use]
    pub fn with_rule(mut self, rule: Rule) -> Self {
        self.rule = Some(rule);
        self
    }

    /// Adds (or replaces) one detail field.
    #[must_use]
    pub fn with_detail(mut self, key: DetailKey, value: impl Into<DetailValue>) -> Self {
        self.details.insert(key, value.into());
        self
    }

    /// The tenant whose chain the entry belongs to.
    pub const fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Who caused it.
    pub const fn actor(&self) -> Actor {
        self.actor
    }

    /// The action (`consent.granted`, ...).
    pub const fn action(&self) -> &'static str {
        self.action
    }

    /// The candidate it concerns, if any.
    pub const fn subject(&self) -> Option<CandidateId> {
        self.subject
    }

    /// The rule that decided, if any.
    pub const fn rule(&self) -> Option<Rule> {
        self.rule
    }

    /// The detail fields, sorted by key name (the order of the canonical encoding).
    pub const fn details(&self) -> &BTreeMap<DetailKey, DetailValue> {
        &self.details
    }
}

/// The detail fields of every event variant. One exhaustive match: a new variant in the domain
/// does not compile until it is mapped here. Options that are `None` are left out.
fn event_details(event: &DomainEvent) -> Vec<(DetailKey, DetailValue)> {
    use DetailKey as K;

    fn v(value: impl Into<DetailValue>) -> DetailValue {
        value.into()
    }

    match event {
        DomainEvent::TenantCreated
        | DomainEvent::SettingsChanged
        | DomainEvent::ObjectionLifted
        | DomainEvent::RestrictionLifted
        | DomainEvent::OutboxCancelled
        | DomainEvent::HelpRequested => Vec::new(),
        DomainEvent::ChannelRegistered { channel } | DomainEvent::ChannelApprovalRevoked { channel } => {
            vec![(K::Channel, v(*channel))]
        }
        DomainEvent::ChannelApproved { channel, review_at } => {
            vec![(K::Channel, v(*channel)), (K::ReviewAt, v(*review_at))]
        }
        DomainEvent::LegalTextPublished { text, kind, material } => {
            vec![(K::LegalText, v(*text)), (K::LegalTextKind, v(kind.as_str())), (K::Material, v(*material))]
        }
        DomainEvent::TemplatesSynced { channel, count } => {
            vec![(K::Channel, v(*channel)), (K::Count, v(*count))]
        }
        DomainEvent::CandidateCreated { channel, source, suppressed } => {
            vec![(K::Channel, v(*channel)), (K::CandidateSource, v(source.as_str())), (K::Suppressed, v(*suppressed))]
        }
        DomainEvent::ConsentRequested { request, purpose, message } => {
            vec![(K::ConsentRequest, v(*request)), (K::Purpose, v(purpose.as_str())), (K::Message, v(*message))]
        }
        DomainEvent::ConsentGranted { purpose, method, capture_channel } => vec![
            (K::Purpose, v(purpose.as_str())),
            (K::ConsentMethod, v(method.as_str())),
            (K::CaptureChannel, v(capture_channel.as_str())),
        ],
        DomainEvent::ConsentDeclined { purpose, request } => {
            vec![(K::Purpose, v(purpose.as_str())), (K::ConsentRequest, v(*request))]
        }
        DomainEvent::ConsentWithdrawn { purpose } => vec![(K::Purpose, v(purpose.as_str()))],
        DomainEvent::ObjectionRecorded { source, classifier, scope } => {
            let mut details = vec![(K::ObjectionSource, v(*source)), (K::ObjectionScope, v(scope.as_str()))];
            if let Some(classifier) = classifier {
                details.push((K::Classifier, v(*classifier)));
            }
            details
        }
        DomainEvent::ObjectionReviewOpened { review, due_at }
        | DomainEvent::ObjectionReviewExtended { review, due_at } => {
            vec![(K::Review, v(*review)), (K::DueAt, v(*due_at))]
        }
        DomainEvent::ObjectionReviewResolved { review, confirmed } => {
            vec![(K::Review, v(*review)), (K::Confirmed, v(*confirmed))]
        }
        DomainEvent::SuppressionAdded { scope } => vec![(K::ObjectionScope, v(scope.as_str()))],
        DomainEvent::MessageQueued { message, outbox, intent, kind, exception, window_open, notice } => {
            let mut details = vec![
                (K::Message, v(*message)),
                (K::Outbox, v(*outbox)),
                (K::Intent, v(intent.as_str())),
                (K::MessageKind, v(kind.as_str())),
                (K::WindowOpen, v(*window_open)),
                (K::Notice, v(*notice)),
            ];
            if let Some(exception) = exception {
                details.push((K::Exception, v(exception.as_str())));
            }
            details
        }
        DomainEvent::SendRefused { code, intent, at_dispatch, message } => {
            let mut details = vec![
                (K::RefusalCode, v(code.as_str())),
                (K::Intent, v(intent.as_str())),
                (K::AtDispatch, v(*at_dispatch)),
            ];
            if let Some(message) = message {
                details.push((K::Message, v(*message)));
            }
            details
        }
        DomainEvent::MessageSent { message, notice } => {
            vec![(K::Message, v(*message)), (K::Notice, v(*notice))]
        }
        DomainEvent::MessageFailed { message, code } => {
            let mut details = vec![(K::Message, v(*message))];
            if let Some(code) = code {
                details.push((K::ProviderErrorCode, v(*code)));
            }
            details
        }
        DomainEvent::MessageOutcomeUnknown { message } => vec![(K::Message, v(*message))],
        DomainEvent::MessageStatusChanged { message, status } => {
            vec![(K::Message, v(*message)), (K::DeliveryStatus, v(status.as_str()))]
        }
        DomainEvent::InboundReceived { message, kind } => {
            vec![(K::Message, v(*message)), (K::MessageKind, v(kind.as_str()))]
        }
        DomainEvent::ProcessEnded { reason } => vec![(K::ProcessEndReason, v(reason.as_str()))],
        DomainEvent::CandidateAssigned { staff } => staff.iter().map(|s| (K::Staff, v(*s))).collect(),
        DomainEvent::LegalHoldSet { hold, reason } => {
            vec![(K::Hold, v(*hold)), (K::HoldReason, v(reason.as_str()))]
        }
        DomainEvent::LegalHoldReleased { hold } => vec![(K::Hold, v(*hold))],
        DomainEvent::CandidateRestricted { reason } => vec![(K::RestrictionReason, v(reason.as_str()))],
        DomainEvent::CandidateErased { reason } => vec![(K::ErasureReason, v(reason.as_str()))],
        DomainEvent::ErasureDeferred { until } => vec![(K::Until, v(*until))],
        DomainEvent::SubjectRequestOpened { request, kind, due_at } => {
            vec![(K::SubjectRequest, v(*request)), (K::SubjectRequestKind, v(kind.as_str())), (K::DueAt, v(*due_at))]
        }
        DomainEvent::SubjectRequestExtended { request, due_at } => {
            vec![(K::SubjectRequest, v(*request)), (K::DueAt, v(*due_at))]
        }
        DomainEvent::SubjectRequestClosed { request, status } => {
            vec![(K::SubjectRequest, v(*request)), (K::SubjectRequestStatus, v(*status))]
        }
        DomainEvent::ContentRead { what } => vec![(K::Content, v(what.as_str()))],
        DomainEvent::RetentionRun { dry_run, counts } => vec![
            (K::DryRun, v(*dry_run)),
            (K::Examined, v(counts.examined)),
            (K::Restricted, v(counts.restricted)),
            (K::Erased, v(counts.erased)),
            (K::Held, v(counts.held)),
        ],
        DomainEvent::TokenIssued { staff, role } => vec![(K::Staff, v(*staff)), (K::Role, v(role.as_str()))],
        DomainEvent::TokenRevoked { staff } | DomainEvent::TokenExpired { staff } => vec![(K::Staff, v(*staff))],
        DomainEvent::TokenUseRefused { staff, state } => {
            vec![(K::Staff, v(*staff)), (K::TokenState, v(state.as_str()))]
        }
        DomainEvent::InvitationIssued { staff, role, origin, reason } => {
            let mut d =
                vec![(K::Staff, v(*staff)), (K::Role, v(role.as_str())), (K::InvitationOrigin, v(origin.as_str()))];
            if let Some(reason) = reason {
                d.push((K::BreakGlassReason, v(reason.as_str())));
            }
            d
        }
        DomainEvent::InvitationAccepted { staff, role } => vec![(K::Staff, v(*staff)), (K::Role, v(role.as_str()))],
        DomainEvent::CredentialSettingsChanged { dpo_appointed_by_admin, token_max_days } => {
            vec![(K::DpoAppointedByAdmin, v(*dpo_appointed_by_admin)), (K::TokenMaxDays, v(*token_max_days))]
        }
        DomainEvent::StaffRoleChanged { staff, from, to } => {
            vec![(K::Staff, v(*staff)), (K::FromRole, v(from.as_str())), (K::Role, v(to.as_str()))]
        }
        DomainEvent::StaffDisabled { staff } | DomainEvent::PasswordChanged { staff } => vec![(K::Staff, v(*staff))],
        DomainEvent::SignInSucceeded { staff, method } => {
            vec![(K::Staff, v(*staff)), (K::SignInMethod, v(method.as_str()))]
        }
        DomainEvent::SignInFailed { staff, reason } => {
            let mut d = vec![(K::SignInFailure, v(reason.as_str()))];
            if let Some(staff) = staff {
                d.push((K::Staff, v(*staff)));
            }
            d
        }
        DomainEvent::SecondFactorChanged { staff, change } => {
            vec![(K::Staff, v(*staff)), (K::SecondFactorChange, v(change.as_str()))]
        }
        DomainEvent::SessionRevoked { staff, reason, count } => {
            vec![(K::Staff, v(*staff)), (K::SessionEnd, v(reason.as_str())), (K::Count, v(*count))]
        }
        DomainEvent::ObjectionReviewDismissed { review, reason } => {
            vec![(K::Review, v(*review)), (K::DismissReason, v(reason.as_str()))]
        }
        DomainEvent::TemplateNoticeMarked { channel, carries_notice } => {
            vec![(K::Channel, v(*channel)), (K::Notice, v(*carries_notice))]
        }
        DomainEvent::MediaStored { media, kind } => vec![(K::Media, v(*media)), (K::MediaKind, v(kind.as_str()))],
        DomainEvent::MediaRejected { media, reason } => {
            vec![(K::Media, v(*media)), (K::MediaRejection, v(reason.as_str()))]
        }
    }
}
