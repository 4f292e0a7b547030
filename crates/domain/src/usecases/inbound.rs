//! Receiving a webhook event: dedupe by provider id, find or create the candidate, classify,
//! update window, consent and objection, queue the objection confirmation or the help answer —
//! all in the same commit that stores the message (R8, R12, R14, R16, R20).

use time::OffsetDateTime;

use super::candidates::apply_objection;
use super::media::pending_media;
use super::outbound::{help_text, objection_confirmation_text, queue};
use super::{CONFLICT_RETRIES, Hoheit, UseCaseError, event};
use crate::calendar::add_business_days;
use crate::candidate::{Candidate, CandidateSource, Contact};
use crate::classifier::{Classification, ClassifierInput, classify};
use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, ConsentReply, Purpose};
use crate::conversation::{
    Direction, Intent, Message, MessageBody, OutboundContent, StatusObservation, StatusTimeline,
};
use crate::events::DomainEvent;
use crate::ids::{ChannelId, MessageId, TenantId};
use crate::inbound::{InboundContent, InboundMessage, StatusUpdate};
use crate::objection::{Objection, ObjectionScope, ObjectionSource, PendingReview};
use crate::ports::{CandidateChange, ChangeSet, DuplicateKey, MediaChange, MessageChange, StoreError, TenantConfig};
use crate::retention::next_due;
use crate::rules::Rule;
use crate::tenant::Actor;
use crate::values::LanguageCode;

/// What receiving an inbound message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    /// Stored, with the classification it got.
    Stored {
        /// The stored message.
        message: MessageId,
        /// Classification.
        classification: Classification,
    },
    /// This provider id was stored before (webhook redelivery): nothing changed.
    Duplicate,
    /// The message names no sender we can key on (neither number nor user id): not stored.
    Unidentified,
    /// The sender's record is erased or restricted: the message is not stored.
    Discarded,
}

fn classifier_input(content: &InboundContent) -> Option<ClassifierInput<'_>> {
    match content {
        InboundContent::Text { body } => Some(ClassifierInput::Text(body.expose())),
        InboundContent::Button { payload, text } => {
            Some(ClassifierInput::Button { payload: payload.as_deref(), title: text.expose() })
        }
        InboundContent::InteractiveReply { id, title } => {
            Some(ClassifierInput::Button { payload: Some(id), title: title.expose() })
        }
        InboundContent::Media { .. } | InboundContent::Structured { .. } | InboundContent::Unsupported { .. } => None,
    }
}

fn reply_payload(content: &InboundContent) -> Option<&str> {
    match content {
        InboundContent::Button { payload, .. } => payload.as_deref(),
        InboundContent::InteractiveReply { id, .. } => Some(id),
        InboundContent::Text { .. }
        | InboundContent::Media { .. }
        | InboundContent::Structured { .. }
        | InboundContent::Unsupported { .. } => None,
    }
}

/// Whether an inbound message has content a recruiter may answer after an objection (R14): not
/// a bare acknowledgement ("ok", "danke", an emoji) and not a reaction or sticker.
fn has_content(content: &InboundContent) -> bool {
    match content {
        InboundContent::Text { body } => !crate::objection::is_bare_acknowledgement(body.expose()),
        InboundContent::Button { .. } | InboundContent::InteractiveReply { .. } => true,
        InboundContent::Media { kind, caption, .. } => {
            *kind != crate::inbound::MediaKind::Sticker
                || caption.as_ref().is_some_and(|c| !crate::objection::is_bare_acknowledgement(c.expose()))
        }
        InboundContent::Structured { .. } | InboundContent::Unsupported { .. } => false,
    }
}

/// Whether a message of a restricted (archived, Art. 18, deferred-erasure) candidate must still
/// be processed: an objection or a possible objection needs no form and is applied in any state
/// (R11); everything else is discarded unstored (R32).
fn restricted_must_process(candidate: &Candidate, content: &InboundContent) -> bool {
    if reply_payload(content).and_then(ConsentReply::parse).is_some() {
        return false;
    }
    classifier_input(content).is_some_and(|input| {
        matches!(
            classify(input, candidate.objection.is_objected()),
            Classification::Objection { .. } | Classification::PossibleObjection { .. }
        )
    })
}

impl Hoheit {
    /// Receives one inbound message from a channel's verified webhook. Idempotent: a redelivered
    /// provider id returns [`InboundOutcome::Duplicate`] and changes nothing.
    pub async fn receive_inbound(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        message: &InboundMessage,
    ) -> Result<InboundOutcome, UseCaseError> {
        let Some(key) = message.from.key() else {
            return Ok(InboundOutcome::Unidentified);
        };
        let mut attempt = 0;
        loop {
            let config = self.config(tenant).await?;
            config.channel(channel).ok_or(UseCaseError::NotFound("channel"))?;
            let existing = self.store.candidate_by_contact(tenant, &key).await?;
            let suppression = if existing.is_none() { self.store.suppression(tenant, &key).await? } else { None };
            let now = self.now();
            let (changes, outcome) = self.inbound_changes(&config, channel, existing, suppression, message, now)?;
            let Some(changes) = changes else {
                return Ok(outcome);
            };
            match self.store.commit(tenant, changes).await {
                Ok(_) => return Ok(outcome),
                Err(StoreError::Duplicate(DuplicateKey::InboundMessage)) => {
                    return Ok(InboundOutcome::Duplicate);
                }
                Err(StoreError::Conflict | StoreError::Duplicate(DuplicateKey::Contact))
                    if attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[allow(clippy::too_many_lines)]
    fn inbound_changes(
        &self,
        config: &TenantConfig,
        channel: ChannelId,
        existing: Option<Candidate>,
        suppression: Option<crate::objection::Suppression>,
        msg: &InboundMessage,
        now: OffsetDateTime,
    ) -> Result<(Option<ChangeSet>, InboundOutcome), UseCaseError> {
        let tenant = config.tenant.id;
        let tp_months = config.tenant.retention.talent_pool_months;
        let mut changes = ChangeSet::default();
        let is_new = existing.is_none();
        let mut candidate = match existing {
            Some(c) => c,
            None => {
                let contact = Contact {
                    phone: msg.from.wa_id.as_ref().and_then(|w| crate::values::PhoneNumber::from_wa_id(w).ok()),
                    wa_user_id: msg.from.user_id.clone(),
                    name: None,
                    profile_name: msg.from.profile_name.clone(),
                };
                let c = Candidate::new(
                    self.new_id(),
                    tenant,
                    channel,
                    CandidateSource::Inbound,
                    contact,
                    LanguageCode::german(),
                    now,
                );
                changes.events.push(event(
                    tenant,
                    Some(c.id),
                    Actor::Candidate,
                    now,
                    None,
                    DomainEvent::CandidateCreated {
                        channel,
                        source: CandidateSource::Inbound,
                        suppressed: suppression.is_some(),
                    },
                ));
                c
            }
        };
        if candidate.is_erased() {
            return Ok((None, InboundOutcome::Discarded));
        }
        let restricted = !matches!(candidate.lifecycle, crate::candidate::Lifecycle::Active);
        if restricted && !restricted_must_process(&candidate, &msg.content) {
            // Restricted (archived, Art. 18, deferred erasure): only storage and legal defence
            // (R32); nothing new is processed, except an objection (R11, below).
            return Ok((None, InboundOutcome::Discarded));
        }
        let expected_version = candidate.version;
        let subject = Some(candidate.id);
        if let Some(s) = suppression {
            let objection = Objection { at: s.since, source: ObjectionSource::Suppression, scope: s.scope };
            apply_objection(&mut candidate, objection, Actor::System, now, tp_months, self.new_id(), &mut changes);
        }
        // keep contact details fresh (the number may appear next to a user id later)
        if candidate.contact.wa_user_id.is_none() {
            candidate.contact.wa_user_id.clone_from(&msg.from.user_id);
        }
        if candidate.contact.phone.is_none() {
            candidate.contact.phone =
                msg.from.wa_id.as_ref().and_then(|w| crate::values::PhoneNumber::from_wa_id(w).ok());
        }
        if msg.from.profile_name.is_some() {
            candidate.contact.profile_name.clone_from(&msg.from.profile_name);
        }

        let message_id: MessageId = self.new_id();
        let message = Message {
            id: message_id,
            tenant,
            candidate: candidate.id,
            channel,
            direction: Direction::Inbound,
            kind: msg.content.kind(),
            intent: None,
            body: crate::values::Pii::new(MessageBody::Inbound(msg.content.clone())),
            provider_id: Some(msg.provider_id.clone()),
            reply_to: msg.context.clone(),
            created_at: now,
            provider_at: Some(msg.timestamp),
            status: StatusTimeline::default(),
        };
        // an announced file is fetched, checked and stored sealed by the adapter later
        if let InboundContent::Media { kind, media_id, mime_type, sha256, filename, .. } = &msg.content {
            let record = pending_media(
                self.new_id(),
                &message,
                *kind,
                media_id,
                mime_type.as_ref(),
                filename.as_ref(),
                sha256.as_ref(),
                now,
            );
            changes.media.push(MediaChange::Insert { record: Box::new(record), content: None });
        }
        changes.messages.push(MessageChange::Insert(Box::new(message)));
        changes.events.push(event(
            tenant,
            subject,
            Actor::Candidate,
            now,
            None,
            DomainEvent::InboundReceived { message: message_id, kind: msg.content.kind() },
        ));

        // consent buttons of a consent request (R4, R5): tied to the request that was shown
        let consent_reply = reply_payload(&msg.content).and_then(ConsentReply::parse);
        let mut classification = Classification::None;
        match consent_reply {
            Some(ConsentReply::Agree(request)) if !candidate.objection.is_objected() => {
                if let Some((purpose, texts, language)) = candidate.consents.find_request(request) {
                    let evidence = ConsentEvidence {
                        purpose: *purpose,
                        method: ConsentMethod::ButtonReply {
                            request,
                            provider_id: msg.provider_id.clone(),
                            provider_at: msg.timestamp,
                        },
                        capture_channel: CaptureChannel::WhatsApp,
                        texts_shown: texts.clone(),
                        language: language.clone(),
                        recorded_at: now,
                        given_at: Some(msg.timestamp),
                        recorded_by: Actor::Candidate,
                    };
                    let purpose = *purpose;
                    if candidate.consents.grant(evidence, now).is_ok() {
                        changes.events.push(event(
                            tenant,
                            subject,
                            Actor::Candidate,
                            now,
                            Some(Rule::R4),
                            DomainEvent::ConsentGranted {
                                purpose,
                                method: crate::consent::ConsentMethodKind::ButtonReply,
                                capture_channel: CaptureChannel::WhatsApp,
                            },
                        ));
                    }
                }
            }
            Some(ConsentReply::Decline(request)) => {
                if let Ok(purpose) = candidate.consents.decline(request, now) {
                    changes.events.push(event(
                        tenant,
                        subject,
                        Actor::Candidate,
                        now,
                        Some(Rule::R4),
                        DomainEvent::ConsentDeclined { purpose, request },
                    ));
                }
            }
            Some(ConsentReply::Agree(_)) | None => {
                if let Some(input) = classifier_input(&msg.content) {
                    classification = classify(input, candidate.objection.is_objected());
                }
            }
        }

        let mut queue_reply: Option<(Intent, String)> = None;
        match &classification {
            Classification::Objection { reason } => {
                let objection = Objection {
                    at: msg.timestamp,
                    source: ObjectionSource::WhatsApp { provider_id: msg.provider_id.clone(), reason: reason.clone() },
                    scope: ObjectionScope::AllWhatsApp,
                };
                if apply_objection(
                    &mut candidate,
                    objection,
                    Actor::Candidate,
                    now,
                    tp_months,
                    self.new_id(),
                    &mut changes,
                ) {
                    queue_reply = Some((
                        Intent::ObjectionConfirmation,
                        objection_confirmation_text(&config.tenant, &candidate.language),
                    ));
                }
            }
            Classification::PossibleObjection { matched } => {
                let due_at = add_business_days(now, config.tenant.messaging.objection_review_business_days);
                if candidate.objection.is_objected() {
                    // already objected: nothing more to block
                } else if let Some(review) = candidate.objection.review.as_mut() {
                    // a second possible objection during an open review extends it (R14, R16)
                    review.extend(message_id, due_at);
                    changes.events.push(event(
                        tenant,
                        subject,
                        Actor::System,
                        now,
                        Some(Rule::R16),
                        DomainEvent::ObjectionReviewExtended { review: review.id, due_at: review.due_at },
                    ));
                } else {
                    let review = PendingReview {
                        id: self.new_id(),
                        message: message_id,
                        matched: matched.clone(),
                        opened_at: msg.timestamp,
                        due_at,
                        further: Vec::new(),
                    };
                    changes.events.push(event(
                        tenant,
                        subject,
                        Actor::System,
                        now,
                        Some(Rule::R16),
                        DomainEvent::ObjectionReviewOpened { review: review.id, due_at: review.due_at },
                    ));
                    candidate.objection.review = Some(review);
                }
            }
            Classification::OptIn if restricted => {}
            Classification::OptIn => {
                {
                    // the bare keyword shows the candidate no legal text: the evidence lists none
                    // (R5), so the consent counts as outdated (R7) until the candidate agrees to
                    // the consent request on the current texts
                    candidate.objection.lift();
                    let evidence = ConsentEvidence {
                        purpose: Purpose::WhatsAppChannel,
                        method: ConsentMethod::OptInKeyword {
                            provider_id: msg.provider_id.clone(),
                            provider_at: msg.timestamp,
                        },
                        capture_channel: CaptureChannel::WhatsApp,
                        texts_shown: Vec::new(),
                        language: candidate.language.clone(),
                        recorded_at: now,
                        given_at: Some(msg.timestamp),
                        recorded_by: Actor::Candidate,
                    };
                    if candidate.consents.grant(evidence, now).is_ok() {
                        changes.suppressions_lifted.extend(candidate.contact.keys());
                        changes.events.push(event(
                            tenant,
                            subject,
                            Actor::Candidate,
                            now,
                            Some(Rule::R14),
                            DomainEvent::ObjectionLifted,
                        ));
                        changes.events.push(event(
                            tenant,
                            subject,
                            Actor::Candidate,
                            now,
                            Some(Rule::R14),
                            DomainEvent::ConsentGranted {
                                purpose: Purpose::WhatsAppChannel,
                                method: crate::consent::ConsentMethodKind::OptInKeyword,
                                capture_channel: CaptureChannel::WhatsApp,
                            },
                        ));
                    }
                }
            }
            Classification::Help if restricted => {}
            Classification::Help => {
                changes.events.push(event(tenant, subject, Actor::Candidate, now, None, DomainEvent::HelpRequested));
                queue_reply = Some((Intent::HelpReply, help_text(&config.tenant, &candidate.language)));
            }
            Classification::None => {}
        }

        // the window opens from the candidate's own message, at the provider's timestamp (R20)
        candidate.conversation.record_inbound(msg.timestamp);
        candidate.objection.note_inbound(msg.timestamp, has_content(&msg.content));

        if let Some((intent, text)) = queue_reply {
            let content = OutboundContent::Text { body: text.into() };
            // these system texts carry the objection hint and the privacy contact themselves
            queue(self, config, &mut candidate, content, intent, true, Actor::System, now, &mut changes)
                .map(|_| ())
                .or_else(|e| match e {
                    UseCaseError::Refused(_) => Ok(()),
                    other @ (UseCaseError::NotFound(_)
                    | UseCaseError::Invalid(_)
                    | UseCaseError::Conflict(_)
                    | UseCaseError::Forbidden(_)
                    | UseCaseError::Unavailable(_)
                    | UseCaseError::Store(_)) => Err(other),
                })?;
        }

        let retention_due = next_due(&candidate, &config.tenant.retention, now);
        changes.candidates.push(if is_new {
            CandidateChange::Insert { candidate: Box::new(candidate), retention_due }
        } else {
            CandidateChange::Update { candidate: Box::new(candidate), expected_version, retention_due }
        });
        Ok((Some(changes), InboundOutcome::Stored { message: message_id, classification }))
    }

    /// Applies a delivery status from a webhook. Statuses merge commutatively, so order and
    /// duplicates do not matter; statuses of unknown messages are ignored.
    pub async fn apply_status(&self, tenant: TenantId, status: &StatusUpdate) -> Result<(), UseCaseError> {
        let observation = StatusObservation {
            status: status.status,
            at: status.timestamp,
            error_code: status.errors.first().map(|e| e.code),
        };
        let changes = ChangeSet {
            messages: vec![MessageChange::StatusByProviderId { provider_id: status.provider_id.clone(), observation }],
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(())
    }
}
