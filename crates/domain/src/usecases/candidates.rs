//! Candidate use cases: creation (with inherited suppression, R17), consent recorded elsewhere
//! (R4, R5), objections from any channel (R11-R13, R18, R22), process end (R24), legal holds
//! (R26), the objection review (R16) and audited content reads (R33).

use time::OffsetDateTime;

use super::{Hoheit, Recorder, UseCaseError, may_read, not_erased, permitted};
use crate::access::Action;
use crate::actor::Actor;
use crate::calendar::add_months;
use crate::candidate::{
    Candidate, CandidateSource, Contact, HoldReason, LegalHold, Lifecycle, Process, ProcessEndReason,
};
use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, Purpose, WithdrawalVia};
use crate::conversation::Message;
use crate::events::{ContentKind, DomainEvent, EventEnvelope};
use crate::ids::{CandidateId, ChannelId, HoldId, TenantId};
use crate::inbound::ContactKey;
use crate::legal::LegalTextRef;
use crate::objection::{Objection, ObjectionScope, ObjectionSource, Suppression};
use crate::ports::{CandidateChange, ChangeSet, OutboxChange, StoreError};
use crate::retention::next_due;
use crate::rules::Rule;
use crate::subject_request::{SubjectRequest, SubjectRequestKind};
use crate::values::{LanguageCode, PhoneNumber, Pii};

/// A candidate to create.
#[derive(Debug, Clone)]
pub struct NewCandidate {
    /// Their number.
    pub phone: PhoneNumber,
    /// Their name.
    pub name: Option<Pii<String>>,
    /// The channel to contact them through.
    pub channel: ChannelId,
    /// Language for legal texts and notices (default German).
    pub language: Option<LanguageCode>,
}

/// Consent captured outside WhatsApp, with its evidence.
#[derive(Debug, Clone)]
pub struct ConsentInput {
    /// Purpose.
    pub purpose: Purpose,
    /// Method (web form, signed form, recorded verbal). WhatsApp methods come only from WhatsApp.
    pub method: ConsentMethod,
    /// Where it was captured.
    pub capture_channel: CaptureChannel,
    /// Texts shown; default: the tenant's current terms, privacy notice and consent request.
    pub texts_shown: Option<Vec<LegalTextRef>>,
    /// When it was given (default now; never in the future).
    pub given_at: Option<OffsetDateTime>,
}

/// An objection received by mail, phone, letter or in person (R11, R22).
#[derive(Debug, Clone)]
pub struct ObjectionInput {
    /// How it arrived.
    pub channel: CaptureChannel,
    /// Verbatim note.
    pub note: Option<Pii<String>>,
    /// When it was received (default now; never in the future).
    pub received_at: Option<OffsetDateTime>,
}

/// Applies an objection to a candidate in a change set: suppression of all WhatsApp messages,
/// withdrawal of every consent, cancellation of queued messages, the suppression entry and the
/// subject request (R12, R13, R17, R18). Returns false if one was already in effect.
pub(crate) fn apply_objection(
    candidate: &mut Candidate,
    objection: Objection,
    actor: Actor,
    now: OffsetDateTime,
    talent_pool_months: u32,
    request_id: crate::ids::SubjectRequestId,
    changes: &mut ChangeSet,
) -> bool {
    let at = objection.at;
    let source = objection.source.as_str();
    let classifier = match &objection.source {
        ObjectionSource::WhatsApp { reason, .. } => Some(reason.audit_code()),
        ObjectionSource::Staff { .. } | ObjectionSource::Review { .. } | ObjectionSource::Suppression => None,
    };
    let scope = objection.scope;
    let capture = match &objection.source {
        ObjectionSource::Staff { channel, .. } => *channel,
        ObjectionSource::WhatsApp { .. } | ObjectionSource::Review { .. } | ObjectionSource::Suppression => {
            CaptureChannel::WhatsApp
        }
    };
    let inherited = matches!(objection.source, ObjectionSource::Suppression);
    if !candidate.objection.apply(objection) {
        return false;
    }
    let (tenant, subject) = (candidate.tenant, Some(candidate.id));
    let rec = Recorder::new(tenant, subject, actor, now);
    let rule = if capture == CaptureChannel::WhatsApp { Rule::R11 } else { Rule::R22 };
    let rule = if inherited { Rule::R17 } else { rule };
    changes.events.push(rec.rule(rule, DomainEvent::ObjectionRecorded { source, classifier, scope }));
    for purpose in Purpose::ALL {
        if candidate.consents.withdraw(purpose, at, WithdrawalVia::Objection, talent_pool_months) {
            changes.events.push(rec.rule(Rule::R13, DomainEvent::ConsentWithdrawn { purpose }));
        }
    }
    changes.outbox.push(OutboxChange::CancelPending { candidate: candidate.id });
    changes.events.push(rec.rule(Rule::R12, DomainEvent::OutboxCancelled));
    if !inherited {
        for key in candidate.contact.keys() {
            changes.suppressions.push((key, Suppression { scope, since: at }));
        }
        changes.events.push(rec.rule(Rule::R17, DomainEvent::SuppressionAdded { scope }));
        let request = SubjectRequest::open(request_id, tenant, subject, SubjectRequestKind::Objection, capture, at);
        changes.events.push(rec.rule(
            Rule::R18,
            DomainEvent::SubjectRequestOpened { request: request.id, kind: request.kind, due_at: request.due_at },
        ));
        changes.subject_requests.push(request);
    }
    true
}

/// The refusal of an action that is for the tenant's staff.
pub(crate) const STAFF_ONLY: &str = "only the tenant's staff can do this";

fn not_future(at: Option<OffsetDateTime>, now: OffsetDateTime, what: &str) -> Result<OffsetDateTime, UseCaseError> {
    let at = at.unwrap_or(now);
    if at > now {
        return Err(UseCaseError::Invalid(format!("{what} cannot be in the future")));
    }
    Ok(at)
}

impl Hoheit {
    /// Creates a candidate. A number on the suppression list brings its objection along (R17).
    pub async fn create_candidate(
        &self,
        tenant: TenantId,
        actor: Actor,
        input: NewCandidate,
    ) -> Result<Candidate, UseCaseError> {
        permitted(actor, Action::CreateCandidate, "only a recruiter or an admin can create a candidate")?;
        let config = self.config(tenant).await?;
        config.channel(input.channel).ok_or(UseCaseError::NotFound("channel"))?;
        let key = ContactKey::Phone(input.phone.clone());
        if self.store.candidate_by_contact(tenant, &key).await?.is_some() {
            return Err(UseCaseError::Conflict("a candidate with this phone number exists"));
        }
        let suppression = self.store.suppression(tenant, &key).await?;
        let now = self.now();
        let contact = Contact { phone: Some(input.phone), wa_user_id: None, name: input.name, profile_name: None };
        let mut candidate = Candidate::new(
            self.new_id(),
            tenant,
            input.channel,
            CandidateSource::Recruiter,
            contact,
            input.language.unwrap_or_else(LanguageCode::german),
            now,
        );
        let mut changes = ChangeSet::default();
        changes.events.push(Recorder::new(tenant, Some(candidate.id), actor, now).note(
            DomainEvent::CandidateCreated {
                channel: candidate.channel,
                source: CandidateSource::Recruiter,
                suppressed: suppression.is_some(),
            },
        ));
        if let Some(s) = suppression {
            let objection = Objection { at: s.since, source: ObjectionSource::Suppression, scope: s.scope };
            let request_id = self.new_id();
            apply_objection(
                &mut candidate,
                objection,
                Actor::System,
                now,
                config.tenant.retention.talent_pool_months,
                request_id,
                &mut changes,
            );
        }
        changes.candidates.push(CandidateChange::Insert {
            retention_due: next_due(&candidate, &config.tenant.retention, now),
            candidate: Box::new(candidate.clone()),
        });
        match self.store.commit(tenant, changes).await {
            Ok(_) => Ok(candidate),
            Err(StoreError::Duplicate(crate::ports::DuplicateKey::Contact)) => {
                Err(UseCaseError::Conflict("a candidate with this phone number exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The candidate's state (no message content).
    pub async fn candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Candidate, UseCaseError> {
        self.load_candidate(tenant, id).await
    }

    /// Records consent captured outside WhatsApp, with complete evidence (R4, R5). Staff cannot
    /// override an objection: only the candidate's opt-in keyword lifts it (R14).
    pub async fn record_consent(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        input: ConsentInput,
    ) -> Result<Candidate, UseCaseError> {
        permitted(actor, Action::RecordOnBehalf, STAFF_ONLY)?;
        if matches!(input.method, ConsentMethod::ButtonReply { .. } | ConsentMethod::OptInKeyword { .. }) {
            return Err(UseCaseError::Invalid(
                "WhatsApp consents are recorded from the candidate's reply, not by hand".into(),
            ));
        }
        if input.capture_channel == CaptureChannel::WhatsApp {
            return Err(UseCaseError::Invalid("consent captured in WhatsApp comes from the candidate's reply".into()));
        }
        self.modify_candidate(tenant, id, |config, candidate, changes, now| {
            not_erased(candidate)?;
            if candidate.objection.is_objected() {
                return Err(UseCaseError::Conflict(
                    "the candidate objected; only their opt-in keyword (START/ANMELDEN) creates a new consent",
                ));
            }
            let given_at = not_future(input.given_at, now, "given_at")?;
            let texts_shown = match &input.texts_shown {
                Some(texts) => texts.clone(),
                None => config
                    .legal_texts
                    .consent_bundle(&candidate.language)
                    .ok_or(UseCaseError::Conflict("publish terms, privacy notice and consent request first"))?,
            };
            let evidence = ConsentEvidence {
                purpose: input.purpose,
                method: input.method.clone(),
                capture_channel: input.capture_channel,
                texts_shown,
                language: candidate.language.clone(),
                recorded_at: now,
                given_at: Some(given_at),
                recorded_by: actor,
            };
            candidate.consents.grant(evidence, now).map_err(|e| UseCaseError::Invalid(e.to_string()))?;
            changes.events.push(Recorder::new(tenant, Some(candidate.id), actor, now).rule(
                Rule::R4,
                DomainEvent::ConsentGranted {
                    purpose: input.purpose,
                    method: input.method.kind(),
                    capture_channel: input.capture_channel,
                },
            ));
            Ok(candidate.clone())
        })
        .await
    }

    /// Withdraws consent for one purpose on the candidate's behalf (mail, phone; R8).
    pub async fn record_withdrawal(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        purpose: Purpose,
        channel: CaptureChannel,
    ) -> Result<Candidate, UseCaseError> {
        let staff_id = permitted(actor, Action::RecordOnBehalf, STAFF_ONLY)?;
        self.modify_candidate(tenant, id, |config, candidate, changes, now| {
            let rec = Recorder::new(tenant, Some(candidate.id), actor, now);
            let via = WithdrawalVia::Staff { staff: staff_id, channel };
            if candidate.consents.withdraw(purpose, now, via, config.tenant.retention.talent_pool_months) {
                changes.events.push(rec.rule(Rule::R8, DomainEvent::ConsentWithdrawn { purpose }));
                if purpose == Purpose::WhatsAppChannel {
                    changes.outbox.push(OutboxChange::CancelPending { candidate: candidate.id });
                    changes.events.push(rec.rule(Rule::R8, DomainEvent::OutboxCancelled));
                }
            }
            Ok(candidate.clone())
        })
        .await
    }

    /// Records an objection that arrived by any channel (R11, R22). Idempotent.
    pub async fn record_objection(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        input: ObjectionInput,
    ) -> Result<Candidate, UseCaseError> {
        let staff_id = permitted(actor, Action::RecordOnBehalf, STAFF_ONLY)?;
        let request_id = self.new_id();
        self.modify_candidate(tenant, id, |config, candidate, changes, now| {
            not_erased(candidate)?;
            let at = not_future(input.received_at, now, "received_at")?;
            let objection = Objection {
                at,
                source: ObjectionSource::Staff { staff: staff_id, channel: input.channel, note: input.note.clone() },
                scope: ObjectionScope::AllWhatsApp,
            };
            let tp_months = config.tenant.retention.talent_pool_months;
            apply_objection(candidate, objection, actor, now, tp_months, request_id, changes);
            Ok(candidate.clone())
        })
        .await
    }

    /// Ends the application process (R24); the retention clock starts.
    pub async fn end_process(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        reason: ProcessEndReason,
        at: Option<OffsetDateTime>,
    ) -> Result<Candidate, UseCaseError> {
        permitted(actor, Action::RecordOnBehalf, STAFF_ONLY)?;
        self.modify_candidate(tenant, id, |_, candidate, changes, now| {
            not_erased(candidate)?;
            if matches!(candidate.process, Process::Ended { .. }) {
                return Err(UseCaseError::Conflict("the process has already ended"));
            }
            let at = not_future(at, now, "at")?;
            candidate.process = Process::Ended { reason, at };
            changes.events.push(
                Recorder::new(tenant, Some(candidate.id), actor, now)
                    .rule(Rule::R24, DomainEvent::ProcessEnded { reason }),
            );
            Ok(candidate.clone())
        })
        .await
    }

    /// Sets a legal hold (R26): blocks erasure and messaging until released.
    pub async fn set_legal_hold(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        reason: HoldReason,
        reference: Option<Pii<String>>,
    ) -> Result<LegalHold, UseCaseError> {
        let staff_id = permitted(
            actor,
            Action::ManageLegalHolds,
            "only an admin or the data-protection officer can set a legal hold",
        )?;
        let hold_id: HoldId = self.new_id();
        self.modify_candidate(tenant, id, |config, candidate, changes, now| {
            not_erased(candidate)?;
            let hold = LegalHold {
                id: hold_id,
                reason,
                reference: reference.clone(),
                set_at: now,
                set_by: staff_id,
                review_at: add_months(now, config.tenant.messaging.legal_hold_review_months),
                released_at: None,
                released_by: None,
            };
            candidate.holds.push(hold.clone());
            changes.outbox.push(OutboxChange::CancelPending { candidate: candidate.id });
            changes.events.push(
                Recorder::new(tenant, Some(candidate.id), actor, now)
                    .rule(Rule::R26, DomainEvent::LegalHoldSet { hold: hold_id, reason }),
            );
            Ok(hold)
        })
        .await
    }

    /// Releases a legal hold explicitly (R26).
    pub async fn release_legal_hold(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        hold: HoldId,
    ) -> Result<Candidate, UseCaseError> {
        let staff_id = permitted(
            actor,
            Action::ManageLegalHolds,
            "only an admin or the data-protection officer can release a legal hold",
        )?;
        self.modify_candidate(tenant, id, |_, candidate, changes, now| {
            let entry =
                candidate.holds.iter_mut().find(|h| h.id == hold).ok_or(UseCaseError::NotFound("legal hold"))?;
            if !entry.is_active() {
                return Err(UseCaseError::Conflict("the legal hold is already released"));
            }
            entry.released_at = Some(now);
            entry.released_by = Some(staff_id);
            changes.events.push(
                Recorder::new(tenant, Some(candidate.id), actor, now)
                    .rule(Rule::R26, DomainEvent::LegalHoldReleased { hold }),
            );
            Ok(candidate.clone())
        })
        .await
    }

    /// Restricts processing on the candidate's request (Art. 18, R32): only storage and legal
    /// defence remain; queued messages are cancelled. Records the request as fulfilled.
    pub async fn restrict(&self, tenant: TenantId, actor: Actor, id: CandidateId) -> Result<Candidate, UseCaseError> {
        permitted(actor, Action::RecordOnBehalf, STAFF_ONLY)?;
        let request_id = self.new_id();
        self.modify_candidate(tenant, id, |_, candidate, changes, now| {
            match candidate.lifecycle {
                Lifecycle::Erased { .. } => return Err(UseCaseError::NotFound("candidate")),
                Lifecycle::Restricted { .. } => return Err(UseCaseError::Conflict("processing is already restricted")),
                Lifecycle::Active => {}
            }
            candidate.lifecycle =
                Lifecycle::Restricted { since: now, reason: crate::candidate::RestrictionReason::SubjectRequest };
            changes.outbox.push(OutboxChange::CancelPending { candidate: candidate.id });
            let mut request = SubjectRequest::open(
                request_id,
                tenant,
                Some(candidate.id),
                SubjectRequestKind::Restriction,
                CaptureChannel::Email,
                now,
            );
            let _ = request.close_with(crate::subject_request::Fulfilment::Restriction { at: now });
            let rec = Recorder::new(tenant, Some(candidate.id), actor, now);
            changes.events.push(rec.rule(
                Rule::R32,
                DomainEvent::CandidateRestricted { reason: crate::candidate::RestrictionReason::SubjectRequest },
            ));
            changes.events.push(rec.rule(
                Rule::R29,
                DomainEvent::SubjectRequestOpened { request: request.id, kind: request.kind, due_at: request.due_at },
            ));
            changes.events.push(rec.rule(
                Rule::R29,
                DomainEvent::SubjectRequestClosed { request: request.id, status: request.status.as_str() },
            ));
            changes.subject_requests.push(request);
            Ok(candidate.clone())
        })
        .await
    }

    /// Lifts a restriction whose reason no longer applies (a subject's restriction, or archiving
    /// after inactivity). A deferred erasure cannot be lifted: it ends in erasure.
    pub async fn lift_restriction(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<Candidate, UseCaseError> {
        permitted(
            actor,
            Action::LiftRestriction,
            "only an admin or the data-protection officer can lift a restriction",
        )?;
        self.modify_candidate(tenant, id, |_, candidate, changes, now| {
            match candidate.lifecycle {
                Lifecycle::Restricted { reason: crate::candidate::RestrictionReason::ErasureDeferred, .. } => {
                    return Err(UseCaseError::Conflict("an erasure is pending; the restriction ends with the erasure"));
                }
                Lifecycle::Restricted { .. } => {}
                Lifecycle::Active => return Err(UseCaseError::Conflict("processing is not restricted")),
                Lifecycle::Erased { .. } => return Err(UseCaseError::NotFound("candidate")),
            }
            candidate.lifecycle = Lifecycle::Active;
            // inactivity restarts from now, or archiving would restrict again at the next run
            candidate.conversation.touch(now);
            changes.events.push(
                Recorder::new(tenant, Some(candidate.id), actor, now).rule(Rule::R32, DomainEvent::RestrictionLifted),
            );
            Ok(candidate.clone())
        })
        .await
    }

    /// Reads the candidate's messages; the read is audited with the reader (R33). Restricted
    /// candidates are readable only by admin and DPO (R25, R32). A staff reader's own read
    /// marker moves to the time of the read ([`crate::ports::Store::mark_read`]), which is what
    /// the inbox counts unread messages from.
    pub async fn read_messages(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<Vec<Message>, UseCaseError> {
        permitted(actor, Action::ReadContent, STAFF_ONLY)?;
        let candidate = self.load_candidate(tenant, id).await?;
        may_read(&candidate, actor)?;
        let now = self.now();
        let read: EventEnvelope = Recorder::new(tenant, Some(id), actor, now)
            .rule(Rule::R33, DomainEvent::ContentRead { what: ContentKind::Messages });
        self.commit_events(tenant, vec![read]).await?;
        let messages = self.store.messages(tenant, id).await?;
        // the reader's own marker (issue 17: the inbox's unread count), after the audited read
        if let Actor::Staff { id: staff, .. } = actor {
            self.store.mark_read(tenant, staff, id, now).await?;
        }
        Ok(messages)
    }

    /// A staff member who writes to candidates (recruiter, admin) opened the conversation in the
    /// inbox: if the tenant sends read receipts (`MessagingSettings::read_receipts`, off by
    /// default), WhatsApp is told that the candidate's newest message was read, which marks the
    /// earlier ones too. Nothing for an objected or restricted candidate (fail safe: no signal of
    /// any kind after a "stop"), nor for the DPO's reads. Best effort: a provider failure changes
    /// nothing; returns whether a receipt was sent.
    pub async fn mark_thread_read(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        messages: &[Message],
    ) -> Result<bool, UseCaseError> {
        let Actor::Staff { role, .. } = actor else { return Ok(false) };
        if !crate::access::Action::SendMessages.allows(role) {
            return Ok(false);
        }
        let config = self.config(tenant).await?;
        if !config.tenant.messaging.read_receipts {
            return Ok(false);
        }
        let candidate = self.load_candidate(tenant, id).await?;
        if candidate.objection().active.is_some() || !matches!(candidate.lifecycle, crate::candidate::Lifecycle::Active)
        {
            return Ok(false);
        }
        let newest = messages
            .iter()
            .filter(|m| m.direction == crate::conversation::Direction::Inbound)
            .filter_map(|m| m.provider_id.as_ref().map(|w| (m.provider_at.unwrap_or(m.created_at), w)))
            .max_by_key(|(at, _)| *at);
        let Some((_, wamid)) = newest else { return Ok(false) };
        Ok(self.gateway.mark_read(candidate.channel, wamid).await.is_ok())
    }
}
