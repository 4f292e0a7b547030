//! Shared fixtures: a tenant, times, one envelope per domain event variant, random chains.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![allow(dead_code, unreachable_pub)]

use hoheit_audit::{AuditDraft, ChainHead, StoredEntry, append_all};
use hoheit_domain::candidate::{CandidateSource, ErasureReason, HoldReason, ProcessEndReason, RestrictionReason};
use hoheit_domain::consent::{CaptureChannel, ConsentMethodKind, Purpose};
use hoheit_domain::conversation::{DeliveryStatus, Intent, MessageKind};
use hoheit_domain::credential::{BreakGlassReason, InvitationOrigin, TokenState};
use hoheit_domain::events::{ContentKind, DomainEvent, EventEnvelope, RetentionCounts};
use hoheit_domain::ids::{
    CandidateId, ChannelId, ConsentRequestId, HoldId, LegalTextId, MediaId, MessageId, OutboxId, ReviewId, StaffId,
    SubjectRequestId, TenantId,
};
use hoheit_domain::inbound::MediaKind;
use hoheit_domain::legal::LegalTextKind;
use hoheit_domain::media::MediaRejection;
use hoheit_domain::objection::{DismissReason, ObjectionScope};
use hoheit_domain::policy::{Exception, RefusalCode};
use hoheit_domain::rules::Rule;
use hoheit_domain::staff::{SecondFactorChange, SessionEnd, SignInFailure, SignInMethod};
use hoheit_domain::subject_request::SubjectRequestKind;
use hoheit_domain::tenant::{Actor, Role};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// Ids made of repeated hex letters: no digit runs that could look like a phone number.
pub fn uuid(letter: u8) -> Uuid {
    Uuid::from_bytes([letter; 16])
}

pub fn tenant() -> TenantId {
    TenantId::from_uuid(uuid(0xaa))
}

pub fn other_tenant() -> TenantId {
    TenantId::from_uuid(uuid(0xbb))
}

pub fn candidate() -> CandidateId {
    CandidateId::from_uuid(uuid(0xcc))
}

pub fn staff() -> Actor {
    Actor::Staff { id: StaffId::from_uuid(uuid(0xdd)), role: Role::Dpo }
}

pub fn now() -> OffsetDateTime {
    datetime!(2025-03-01 09:30:15.123456789 UTC)
}

/// Every variant exactly once (with `Option` fields filled, so every key is exercised).
pub fn all_events() -> Vec<DomainEvent> {
    let channel = ChannelId::from_uuid(uuid(0xa1));
    let message = MessageId::from_uuid(uuid(0xa2));
    let request = ConsentRequestId::from_uuid(uuid(0xa3));
    let review = ReviewId::from_uuid(uuid(0xa4));
    let hold = HoldId::from_uuid(uuid(0xa5));
    let subject_request = SubjectRequestId::from_uuid(uuid(0xa6));
    let later = datetime!(2025-04-01 00:00 UTC);
    vec![
        DomainEvent::TenantCreated,
        DomainEvent::SettingsChanged,
        DomainEvent::ChannelRegistered { channel },
        DomainEvent::ChannelApproved { channel, review_at: later },
        DomainEvent::ChannelApprovalRevoked { channel },
        DomainEvent::LegalTextPublished {
            text: LegalTextId::from_uuid(uuid(0xa7)),
            kind: LegalTextKind::PrivacyNotice,
            material: true,
        },
        DomainEvent::TemplatesSynced { channel, count: 12 },
        DomainEvent::CandidateCreated { channel, source: CandidateSource::Inbound, suppressed: false },
        DomainEvent::ConsentRequested { request, purpose: Purpose::WhatsAppChannel, message },
        DomainEvent::ConsentGranted {
            purpose: Purpose::TalentPool,
            method: ConsentMethodKind::ButtonReply,
            capture_channel: CaptureChannel::WhatsApp,
        },
        DomainEvent::ConsentDeclined { purpose: Purpose::WhatsAppChannel, request },
        DomainEvent::ConsentWithdrawn { purpose: Purpose::WhatsAppChannel },
        DomainEvent::ObjectionRecorded {
            source: "whatsapp",
            classifier: Some("keyword"),
            scope: ObjectionScope::AllWhatsApp,
        },
        DomainEvent::ObjectionReviewOpened { review, due_at: later },
        DomainEvent::ObjectionReviewExtended { review, due_at: later },
        DomainEvent::ObjectionReviewResolved { review, confirmed: true },
        DomainEvent::ObjectionLifted,
        DomainEvent::RestrictionLifted,
        DomainEvent::SuppressionAdded { scope: ObjectionScope::AllWhatsApp },
        DomainEvent::OutboxCancelled,
        DomainEvent::MessageQueued {
            message,
            outbox: OutboxId::from_uuid(uuid(0xa8)),
            intent: Intent::ObjectionConfirmation,
            kind: MessageKind::Text,
            exception: Some(Exception::ObjectionConfirmation),
            window_open: true,
            notice: true,
        },
        DomainEvent::SendRefused {
            code: RefusalCode::ConsentMissing,
            intent: Intent::Regular,
            at_dispatch: true,
            message: Some(message),
        },
        DomainEvent::MessageSent { message, notice: true },
        DomainEvent::MessageFailed { message, code: Some(131_047) },
        DomainEvent::MessageOutcomeUnknown { message },
        DomainEvent::MessageStatusChanged { message, status: DeliveryStatus::Delivered },
        DomainEvent::InboundReceived { message, kind: MessageKind::Text },
        DomainEvent::HelpRequested,
        DomainEvent::ProcessEnded { reason: ProcessEndReason::Rejected },
        DomainEvent::CandidateAssigned { staff: Some(StaffId::from_uuid(uuid(0xa9))) },
        DomainEvent::CandidateAssigned { staff: None },
        DomainEvent::LegalHoldSet { hold, reason: HoldReason::ClaimAsserted },
        DomainEvent::LegalHoldReleased { hold },
        DomainEvent::CandidateRestricted { reason: RestrictionReason::Inactivity },
        DomainEvent::CandidateErased { reason: ErasureReason::SubjectRequest },
        DomainEvent::ErasureDeferred { until: later },
        DomainEvent::SubjectRequestOpened {
            request: subject_request,
            kind: SubjectRequestKind::Erasure,
            due_at: later,
        },
        DomainEvent::SubjectRequestExtended { request: subject_request, due_at: later },
        DomainEvent::SubjectRequestClosed { request: subject_request, status: "fulfilled" },
        DomainEvent::ContentRead { what: ContentKind::Export },
        DomainEvent::RetentionRun {
            dry_run: false,
            counts: RetentionCounts { examined: 40, restricted: 3, erased: 2, held: 1 },
        },
        DomainEvent::TokenIssued { staff: StaffId::from_uuid(uuid(0xa9)), role: Role::Dpo },
        DomainEvent::TokenRevoked { staff: StaffId::from_uuid(uuid(0xa9)) },
        DomainEvent::TokenExpired { staff: StaffId::from_uuid(uuid(0xa9)) },
        DomainEvent::TokenUseRefused { staff: StaffId::from_uuid(uuid(0xa9)), state: TokenState::Revoked },
        DomainEvent::InvitationIssued {
            staff: StaffId::from_uuid(uuid(0xab)),
            role: Role::Admin,
            origin: InvitationOrigin::BreakGlass,
            reason: Some(BreakGlassReason::LostAdmin),
        },
        DomainEvent::InvitationAccepted { staff: StaffId::from_uuid(uuid(0xab)), role: Role::Admin },
        DomainEvent::CredentialSettingsChanged { dpo_appointed_by_admin: true, token_max_days: 30 },
        DomainEvent::StaffRoleChanged { staff: StaffId::from_uuid(uuid(0xab)), from: Role::Recruiter, to: Role::Dpo },
        DomainEvent::StaffDisabled { staff: StaffId::from_uuid(uuid(0xab)) },
        DomainEvent::SignInSucceeded { staff: StaffId::from_uuid(uuid(0xab)), method: SignInMethod::Oidc },
        DomainEvent::SignInFailed { staff: Some(StaffId::from_uuid(uuid(0xab))), reason: SignInFailure::WrongPassword },
        DomainEvent::PasswordChanged { staff: StaffId::from_uuid(uuid(0xab)) },
        DomainEvent::SecondFactorChanged {
            staff: StaffId::from_uuid(uuid(0xab)),
            change: SecondFactorChange::RecoveryCodeUsed,
        },
        DomainEvent::SessionRevoked {
            staff: StaffId::from_uuid(uuid(0xab)),
            reason: SessionEnd::AccountDisabled,
            count: 2,
        },
        DomainEvent::ObjectionReviewDismissed { review, reason: DismissReason::NegatedKeyword },
        DomainEvent::TemplateNoticeMarked { channel, carries_notice: true },
        DomainEvent::MediaStored { media: MediaId::from_uuid(uuid(0xaa)), kind: MediaKind::Document },
        DomainEvent::MediaRejected { media: MediaId::from_uuid(uuid(0xaa)), reason: MediaRejection::IntegrityMismatch },
    ]
}

/// Number of `DomainEvent` variants; [`variant_index`] fails to compile when one is added, which
/// is the reminder to extend [`all_events`] and this count.
pub const VARIANTS: usize = 58;

pub fn variant_index(event: &DomainEvent) -> usize {
    match event {
        DomainEvent::TenantCreated => 0,
        DomainEvent::SettingsChanged => 1,
        DomainEvent::ChannelRegistered { .. } => 2,
        DomainEvent::ChannelApproved { .. } => 3,
        DomainEvent::ChannelApprovalRevoked { .. } => 4,
        DomainEvent::LegalTextPublished { .. } => 5,
        DomainEvent::TemplatesSynced { .. } => 6,
        DomainEvent::CandidateCreated { .. } => 7,
        DomainEvent::ConsentRequested { .. } => 8,
        DomainEvent::ConsentGranted { .. } => 9,
        DomainEvent::ConsentDeclined { .. } => 10,
        DomainEvent::ConsentWithdrawn { .. } => 11,
        DomainEvent::ObjectionRecorded { .. } => 12,
        DomainEvent::ObjectionReviewOpened { .. } => 13,
        DomainEvent::ObjectionReviewResolved { .. } => 14,
        DomainEvent::ObjectionLifted => 15,
        DomainEvent::SuppressionAdded { .. } => 16,
        DomainEvent::OutboxCancelled => 17,
        DomainEvent::MessageQueued { .. } => 18,
        DomainEvent::SendRefused { .. } => 19,
        DomainEvent::MessageSent { .. } => 20,
        DomainEvent::MessageFailed { .. } => 21,
        DomainEvent::MessageOutcomeUnknown { .. } => 22,
        DomainEvent::MessageStatusChanged { .. } => 23,
        DomainEvent::InboundReceived { .. } => 24,
        DomainEvent::HelpRequested => 25,
        DomainEvent::ProcessEnded { .. } => 26,
        DomainEvent::LegalHoldSet { .. } => 27,
        DomainEvent::LegalHoldReleased { .. } => 28,
        DomainEvent::CandidateRestricted { .. } => 29,
        DomainEvent::CandidateErased { .. } => 30,
        DomainEvent::ErasureDeferred { .. } => 31,
        DomainEvent::SubjectRequestOpened { .. } => 32,
        DomainEvent::SubjectRequestExtended { .. } => 33,
        DomainEvent::SubjectRequestClosed { .. } => 34,
        DomainEvent::ContentRead { .. } => 35,
        DomainEvent::RetentionRun { .. } => 36,
        DomainEvent::TokenIssued { .. } => 37,
        DomainEvent::RestrictionLifted => 38,
        DomainEvent::ObjectionReviewDismissed { .. } => 39,
        DomainEvent::TemplateNoticeMarked { .. } => 40,
        DomainEvent::MediaStored { .. } => 41,
        DomainEvent::MediaRejected { .. } => 42,
        DomainEvent::ObjectionReviewExtended { .. } => 43,
        DomainEvent::TokenRevoked { .. } => 44,
        DomainEvent::TokenExpired { .. } => 45,
        DomainEvent::TokenUseRefused { .. } => 46,
        DomainEvent::InvitationIssued { .. } => 47,
        DomainEvent::InvitationAccepted { .. } => 48,
        DomainEvent::CredentialSettingsChanged { .. } => 49,
        DomainEvent::StaffRoleChanged { .. } => 50,
        DomainEvent::StaffDisabled { .. } => 51,
        DomainEvent::SignInSucceeded { .. } => 52,
        DomainEvent::SignInFailed { .. } => 53,
        DomainEvent::PasswordChanged { .. } => 54,
        DomainEvent::SecondFactorChanged { .. } => 55,
        DomainEvent::SessionRevoked { .. } => 56,
        DomainEvent::CandidateAssigned { .. } => 57,
    }
}

pub fn envelope(event: DomainEvent) -> EventEnvelope {
    EventEnvelope {
        tenant: tenant(),
        subject: Some(candidate()),
        actor: staff(),
        at: now(),
        rule: Some(Rule::R12),
        event,
    }
}

/// The audited events as drafts, cycling through actors and optional fields.
pub fn drafts(n: usize) -> Vec<AuditDraft> {
    let events: Vec<_> = all_events().into_iter().filter(DomainEvent::audited).collect();
    (0..n)
        .map(|i| {
            let mut env = envelope(events[i % events.len()].clone());
            env.actor = match i % 3 {
                0 => Actor::System,
                1 => staff(),
                _ => Actor::Candidate,
            };
            if i % 4 == 0 {
                env.subject = None;
                env.rule = None;
            }
            AuditDraft::from_event(&env).expect("audited event")
        })
        .collect()
}

/// A chain of `n` entries of [`tenant`] as storage would return it, and its head.
pub fn stored_chain(n: usize) -> (Vec<StoredEntry>, ChainHead) {
    let (entries, head) = append_all(&ChainHead::genesis(tenant()), drafts(n), now()).expect("append");
    (entries.into_iter().map(|e| e.into_stored()).collect(), head)
}
