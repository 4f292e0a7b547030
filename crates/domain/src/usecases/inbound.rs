//! Receiving a webhook event: dedupe by provider id, find or create the candidate, classify,
//! update window, consent and objection, queue the objection confirmation or the help answer —
//! all in the same commit that stores the message (R8, R12, R14, R16, R20).

use std::sync::Arc;

use time::OffsetDateTime;

use super::candidates::apply_objection;
use super::media::pending_media;
use super::outbound::{help_text, objection_confirmation_text, queue};
use super::transact::{Decided, Retry};
use super::{Hoheit, UseCaseError};
use crate::actor::Actor;
use crate::calendar::add_business_days;
use crate::candidate::{Candidate, CandidateSource, Contact};
use crate::classifier::{Classification, ClassifierInput, classify};
use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, ConsentReply, Purpose, WithdrawalVia};
use crate::conversation::{
    Direction, Intent, Message, MessageBody, OutboundContent, StatusObservation, StatusTimeline,
};
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{ChannelId, MessageId, TenantId};
use crate::inbound::{InboundContent, InboundMessage, StatusUpdate};
use crate::objection::{Objection, ObjectionScope, ObjectionSource, PendingReview, Suppression};
use crate::ports::{CandidateChange, ChangeSet, DuplicateKey, MediaChange, MessageChange, StoreError, TenantConfig};
use crate::retention::next_due;
use crate::rules::Rule;
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
    /// Older than the replay window ([`Hoheit::is_replay`]): acknowledged, not stored.
    Stale,
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
/// be processed: an objection, a withdrawal or a possible objection needs no form and is applied
/// in any state (R11); everything else is discarded unstored (R32).
fn restricted_must_process(candidate: &Candidate, content: &InboundContent) -> bool {
    if reply_payload(content).and_then(ConsentReply::parse).is_some() {
        return false;
    }
    classifier_input(content).is_some_and(|input| {
        matches!(
            classify(input, candidate.objection.is_objected()),
            Classification::Objection { .. }
                | Classification::Withdrawal { .. }
                | Classification::PossibleObjection { .. }
        )
    })
}

fn is_active(candidate: &Candidate) -> bool {
    matches!(candidate.lifecycle, crate::candidate::Lifecycle::Active)
}

/// Dedupe: the store keeps one message per provider id, so a redelivered webhook fails the
/// commit with [`DuplicateKey::InboundMessage`]; that is the answer [`InboundOutcome::Duplicate`].
fn dedupe(result: Result<InboundOutcome, UseCaseError>) -> Result<InboundOutcome, UseCaseError> {
    match result {
        Err(UseCaseError::Store(StoreError::Duplicate(DuplicateKey::InboundMessage))) => Ok(InboundOutcome::Duplicate),
        other => other,
    }
}

/// One inbound message being decided: what every step reads.
struct Inbound<'a> {
    app: &'a Hoheit,
    config: &'a TenantConfig,
    channel: ChannelId,
    msg: &'a InboundMessage,
    now: OffsetDateTime,
}

impl Inbound<'_> {
    /// Decides the whole message: the steps in order, one change set.
    fn decide(
        &self,
        existing: Option<Candidate>,
        suppression: Option<Suppression>,
    ) -> Result<Decided<InboundOutcome>, UseCaseError> {
        let mut changes = ChangeSet::default();
        let is_new = existing.is_none();
        let Some(mut candidate) = self.sender(existing, suppression, &mut changes) else {
            return Ok(Decided::Done(InboundOutcome::Discarded));
        };
        let expected_version = candidate.version;
        let message = self.store_message(&candidate, &mut changes);
        let classification = if self.consent_reply(&mut candidate, &mut changes) {
            Classification::None
        } else {
            self.classification(&candidate)
        };
        let answer = self.act_on(&classification, message, &mut candidate, &mut changes);
        Self::window(&mut candidate, self.msg.timestamp, &self.msg.content);
        if let Some((intent, text)) = answer {
            self.notice(&mut candidate, intent, text, &mut changes)?;
        }
        let retention_due = next_due(&candidate, &self.config.tenant.retention, self.now);
        changes.candidates.push(if is_new {
            CandidateChange::Insert { candidate: Box::new(candidate), retention_due }
        } else {
            CandidateChange::Update { candidate: Box::new(candidate), expected_version, retention_due }
        });
        Ok(Decided::Commit(changes, InboundOutcome::Stored { message, classification }))
    }

    /// An event about the sender, now.
    fn event(&self, candidate: &Candidate, actor: Actor, rule: Option<Rule>, event: DomainEvent) -> EventEnvelope {
        super::event(self.config.tenant.id, Some(candidate.id), actor, self.now, rule, event)
    }

    /// Sender: the known candidate, or a new one created from the sender's ids (a suppressed
    /// number brings its objection along, R17); contact details kept fresh. `None` when the
    /// record is erased or restricted: only storage and legal defence (R32), nothing new is
    /// processed, except an objection, which needs no form (R11).
    fn sender(
        &self,
        existing: Option<Candidate>,
        suppression: Option<Suppression>,
        changes: &mut ChangeSet,
    ) -> Option<Candidate> {
        let from = &self.msg.from;
        let phone = || from.wa_id.as_ref().and_then(|w| crate::values::PhoneNumber::from_wa_id(w).ok());
        let mut candidate = existing.unwrap_or_else(|| {
            let contact = Contact {
                phone: phone(),
                wa_user_id: from.user_id.clone(),
                name: None,
                profile_name: from.profile_name.clone(),
            };
            let source = CandidateSource::Inbound;
            let c = Candidate::new(
                self.app.new_id(),
                self.config.tenant.id,
                self.channel,
                source,
                contact,
                LanguageCode::german(),
                self.now,
            );
            let created =
                DomainEvent::CandidateCreated { channel: self.channel, source, suppressed: suppression.is_some() };
            changes.events.push(self.event(&c, Actor::Candidate, None, created));
            c
        });
        if candidate.is_erased() {
            return None;
        }
        if !is_active(&candidate) && !restricted_must_process(&candidate, &self.msg.content) {
            // restricted (archived, Art. 18, deferred erasure): only storage and legal defence
            // (R32); nothing new is processed, except an objection (R11)
            return None;
        }
        if let Some(s) = suppression {
            let objection = Objection { at: s.since, source: ObjectionSource::Suppression, scope: s.scope };
            self.object(&mut candidate, objection, Actor::System, changes);
        }
        // keep contact details fresh (the number may appear next to a user id later)
        if candidate.contact.wa_user_id.is_none() {
            candidate.contact.wa_user_id.clone_from(&from.user_id);
        }
        if candidate.contact.phone.is_none() {
            candidate.contact.phone = phone();
        }
        if from.profile_name.is_some() {
            candidate.contact.profile_name.clone_from(&from.profile_name);
        }
        Some(candidate)
    }

    /// Records an objection with the tenant's talent-pool period; whether it is new.
    fn object(&self, candidate: &mut Candidate, objection: Objection, actor: Actor, changes: &mut ChangeSet) -> bool {
        let tp_months = self.config.tenant.retention.talent_pool_months;
        apply_objection(candidate, objection, actor, self.now, tp_months, self.app.new_id(), changes)
    }

    /// The message itself, stored sealed; an announced file is recorded as pending (fetched,
    /// checked and stored sealed by the adapter later).
    fn store_message(&self, candidate: &Candidate, changes: &mut ChangeSet) -> MessageId {
        let msg = self.msg;
        let message_id: MessageId = self.app.new_id();
        let message = Message {
            id: message_id,
            tenant: self.config.tenant.id,
            candidate: candidate.id,
            channel: self.channel,
            direction: Direction::Inbound,
            kind: msg.content.kind(),
            intent: None,
            body: crate::values::Pii::new(MessageBody::Inbound(msg.content.clone())),
            provider_id: Some(msg.provider_id.clone()),
            reply_to: msg.context.clone(),
            created_at: self.now,
            provider_at: Some(msg.timestamp),
            status: StatusTimeline::default(),
        };
        if let InboundContent::Media { kind, media_id, mime_type, sha256, filename, .. } = &msg.content {
            let record = pending_media(
                self.app.new_id(),
                &message,
                *kind,
                media_id,
                mime_type.as_ref(),
                filename.as_ref(),
                sha256.as_ref(),
                self.now,
            );
            changes.media.push(MediaChange::Insert { record: Box::new(record), content: None });
        }
        changes.messages.push(MessageChange::Insert(Box::new(message)));
        let received = DomainEvent::InboundReceived { message: message_id, kind: msg.content.kind() };
        changes.events.push(self.event(candidate, Actor::Candidate, None, received));
        message_id
    }

    /// Consent reply: a consent-request button (R4, R5), tied to the request that was shown.
    /// Returns whether the message was taken as a consent reply; if not, it is classified. An
    /// "agree" from a candidate who objected is not a consent: it is classified like any text.
    fn consent_reply(&self, candidate: &mut Candidate, changes: &mut ChangeSet) -> bool {
        let msg = self.msg;
        match reply_payload(&msg.content).and_then(ConsentReply::parse) {
            Some(ConsentReply::Agree(request)) if !candidate.objection.is_objected() => {
                if let Some((purpose, texts, language)) = candidate.consents.find_request(request) {
                    let evidence = ConsentEvidence {
                        purpose: *purpose,
                        method: ConsentMethod::ButtonReply {
                            request,
                            provider_id: Some(msg.provider_id.clone()),
                            provider_at: msg.timestamp,
                        },
                        capture_channel: CaptureChannel::WhatsApp,
                        texts_shown: texts.clone(),
                        language: language.clone(),
                        recorded_at: self.now,
                        given_at: Some(msg.timestamp),
                        recorded_by: Actor::Candidate,
                    };
                    let purpose = *purpose;
                    if candidate.consents.grant(evidence, self.now).is_ok() {
                        let granted = DomainEvent::ConsentGranted {
                            purpose,
                            method: crate::consent::ConsentMethodKind::ButtonReply,
                            capture_channel: CaptureChannel::WhatsApp,
                        };
                        changes.events.push(self.event(candidate, Actor::Candidate, Some(Rule::R4), granted));
                    }
                }
                true
            }
            Some(ConsentReply::Decline(request)) => {
                if let Ok(purpose) = candidate.consents.decline(request, self.now) {
                    let declined = DomainEvent::ConsentDeclined { purpose, request };
                    changes.events.push(self.event(candidate, Actor::Candidate, Some(Rule::R4), declined));
                }
                true
            }
            Some(ConsentReply::Agree(_)) | None => false,
        }
    }

    /// Classification: what the candidate's words or button mean (R11-R14, R16); media and
    /// structured messages are not classified.
    fn classification(&self, candidate: &Candidate) -> Classification {
        classifier_input(&self.msg.content)
            .map_or(Classification::None, |input| classify(input, candidate.objection.is_objected()))
    }

    /// Acts on the classification; returns the automatic answer to queue, if any.
    fn act_on(
        &self,
        classification: &Classification,
        message: MessageId,
        candidate: &mut Candidate,
        changes: &mut ChangeSet,
    ) -> Option<(Intent, String)> {
        match classification {
            Classification::Objection { reason } => self.objection(reason, candidate, changes),
            Classification::Withdrawal { reason } => {
                // consent withdrawal by message (R8): effective at the message's time, in this
                // commit; the objection then stops every proactive message
                self.withdrawal(candidate, changes);
                self.objection(reason, candidate, changes)
            }
            Classification::PossibleObjection { matched } => {
                self.review(matched, message, candidate, changes);
                None
            }
            // a restricted candidate's record only takes objections (R11, R32)
            Classification::OptIn | Classification::Help if !is_active(candidate) => None,
            Classification::OptIn => {
                self.opt_in(candidate, changes);
                None
            }
            Classification::Help => {
                changes.events.push(self.event(candidate, Actor::Candidate, None, DomainEvent::HelpRequested));
                Some((Intent::HelpReply, help_text(&self.config.tenant, &candidate.language)))
            }
            Classification::None => None,
        }
    }

    /// Withdrawal: the candidate's message withdrew their consent (R8): every granted consent is
    /// withdrawn at the message's time, in this commit.
    fn withdrawal(&self, candidate: &mut Candidate, changes: &mut ChangeSet) {
        let tp_months = self.config.tenant.retention.talent_pool_months;
        for purpose in Purpose::ALL {
            let via = WithdrawalVia::WhatsApp { provider_id: Some(self.msg.provider_id.clone()) };
            if candidate.consents.withdraw(purpose, self.msg.timestamp, via, tp_months) {
                let withdrawn = DomainEvent::ConsentWithdrawn { purpose };
                changes.events.push(self.event(candidate, Actor::Candidate, Some(Rule::R8), withdrawn));
            }
        }
    }

    /// Objection: messaging on WhatsApp stops at once (R11, R12); a new objection is confirmed
    /// (R14): the confirmation text is returned.
    fn objection(
        &self,
        reason: &crate::classifier::ObjectionReason,
        candidate: &mut Candidate,
        changes: &mut ChangeSet,
    ) -> Option<(Intent, String)> {
        let msg = self.msg;
        let objection = Objection {
            at: msg.timestamp,
            source: ObjectionSource::WhatsApp { provider_id: Some(msg.provider_id.clone()), reason: reason.clone() },
            scope: ObjectionScope::AllWhatsApp,
        };
        self.object(candidate, objection, Actor::Candidate, changes).then(|| {
            (Intent::ObjectionConfirmation, objection_confirmation_text(&self.config.tenant, &candidate.language))
        })
    }

    /// A possible objection goes to review by a person (R16), unless the candidate objected
    /// already; one during an open review extends that review (R14): it covers this message too
    /// and is due at the later time.
    fn review(&self, matched: &str, message: MessageId, candidate: &mut Candidate, changes: &mut ChangeSet) {
        if candidate.objection.is_objected() {
            return;
        }
        let due_at = add_business_days(self.now, self.config.tenant.messaging.objection_review_business_days);
        if let Some(review) = candidate.objection.review.as_mut() {
            review.extend(message, due_at);
            let extended = DomainEvent::ObjectionReviewExtended { review: review.id, due_at: review.due_at };
            changes.events.push(self.event(candidate, Actor::System, Some(Rule::R16), extended));
            return;
        }
        let review = PendingReview {
            id: self.app.new_id(),
            message,
            matched: matched.to_owned(),
            opened_at: self.msg.timestamp,
            due_at,
            further: Vec::new(),
        };
        let opened = DomainEvent::ObjectionReviewOpened { review: review.id, due_at: review.due_at };
        changes.events.push(self.event(candidate, Actor::System, Some(Rule::R16), opened));
        candidate.open_review(review);
    }

    /// Opt-in keyword: lifts the objection and grants the channel consent (R14). The bare keyword
    /// shows the candidate no legal text, so the evidence lists none (R5): the consent counts as
    /// outdated (R7) until the candidate agrees to the consent request on the current texts.
    fn opt_in(&self, candidate: &mut Candidate, changes: &mut ChangeSet) {
        candidate.objection.lift();
        let evidence = ConsentEvidence {
            purpose: Purpose::WhatsAppChannel,
            method: ConsentMethod::OptInKeyword {
                provider_id: Some(self.msg.provider_id.clone()),
                provider_at: self.msg.timestamp,
            },
            capture_channel: CaptureChannel::WhatsApp,
            texts_shown: Vec::new(),
            language: candidate.language.clone(),
            recorded_at: self.now,
            given_at: Some(self.msg.timestamp),
            recorded_by: Actor::Candidate,
        };
        if candidate.consents.grant(evidence, self.now).is_ok() {
            changes.suppressions_lifted.extend(candidate.contact.keys());
            changes.events.push(self.event(candidate, Actor::Candidate, Some(Rule::R14), DomainEvent::ObjectionLifted));
            let granted = DomainEvent::ConsentGranted {
                purpose: Purpose::WhatsAppChannel,
                method: crate::consent::ConsentMethodKind::OptInKeyword,
                capture_channel: CaptureChannel::WhatsApp,
            };
            changes.events.push(self.event(candidate, Actor::Candidate, Some(Rule::R14), granted));
        }
    }

    /// Window: the 24-hour window opens from the candidate's own message, at the provider's
    /// timestamp (R20); the objection state notes it too: after an objection, a message with
    /// content permits one reply, a bare acknowledgement none (R14).
    fn window(candidate: &mut Candidate, at: OffsetDateTime, content: &InboundContent) {
        candidate.conversation.record_inbound(at);
        candidate.objection.note_inbound(at, has_content(content));
    }

    /// Notice: queues the automatic answer (objection confirmation or help text). These system
    /// texts carry the objection hint and the privacy contact themselves; if the policy refuses
    /// one, it is simply not sent.
    fn notice(
        &self,
        candidate: &mut Candidate,
        intent: Intent,
        text: String,
        changes: &mut ChangeSet,
    ) -> Result<(), UseCaseError> {
        let content = OutboundContent::Text { body: text.into() };
        match queue(self.app, self.config, candidate, content, intent, true, Actor::System, self.now, changes) {
            Ok(_) | Err(UseCaseError::Refused(_)) => Ok(()),
            Err(
                other @ (UseCaseError::NotFound(_)
                | UseCaseError::Invalid(_)
                | UseCaseError::Conflict(_)
                | UseCaseError::Forbidden(_)
                | UseCaseError::DpoNotIndependent
                | UseCaseError::Unavailable(_)
                | UseCaseError::Store(_)),
            ) => Err(other),
        }
    }
}

impl Hoheit {
    /// Receives one inbound message from a channel's verified webhook. Idempotent: a redelivered
    /// provider id returns [`InboundOutcome::Duplicate`] and changes nothing.
    ///
    /// The decision runs in named steps, in this order: find or create the sender
    /// (`Inbound::sender`), store the message (`Inbound::store_message`), a consent reply
    /// (`Inbound::consent_reply`), else the classification (`Inbound::classification`) and what
    /// it asks for (`Inbound::act_on`: objection, withdrawal, review, opt-in, help), the window
    /// (`Inbound::window`), the automatic answer (`Inbound::notice`); a redelivery is
    /// recognised when the commit meets the stored provider id (`dedupe`).
    pub async fn receive_inbound(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        message: &InboundMessage,
    ) -> Result<InboundOutcome, UseCaseError> {
        if self.is_replay(message.timestamp) {
            return Ok(InboundOutcome::Stale);
        }
        let Some(key) = message.from.key() else {
            return Ok(InboundOutcome::Unidentified);
        };
        let key = &key;
        let load = || async move {
            let config = self.config(tenant).await?;
            config.channel(channel).ok_or(UseCaseError::NotFound("channel"))?;
            let existing = self.store.candidate_by_contact(tenant, key).await?;
            let suppression = if existing.is_none() { self.store.suppression(tenant, key).await? } else { None };
            Ok((config, existing, suppression, self.now()))
        };
        let decide = |(config, existing, suppression, now): (Arc<TenantConfig>, _, _, _)| {
            Inbound { app: self, config: &config, channel, msg: message, now }.decide(existing, suppression)
        };
        dedupe(self.transact(tenant, Retry::CONFLICT.or_duplicate_contact(), load, decide).await)
    }

    /// Applies a delivery status from a webhook. Statuses merge commutatively, so order and
    /// duplicates do not matter; statuses of unknown messages are ignored. A status older than
    /// the replay window ([`Hoheit::is_replay`]) is not stored. A status whose
    /// `biz_opaque_callback_data` names an outbox entry with an open attempt records that
    /// attempt's receipt (the message is then recorded as sent, not resent).
    pub async fn apply_status(&self, tenant: TenantId, status: &StatusUpdate) -> Result<(), UseCaseError> {
        if self.is_replay(status.timestamp) {
            return Ok(());
        }
        let observation = StatusObservation {
            status: status.status,
            at: status.timestamp,
            error_code: status.errors.first().map(|e| e.code),
        };
        // a status tagged with an outbox id is the receipt of that entry's attempt (crash recovery)
        let now = self.now();
        let receipt = status
            .callback_data
            .as_deref()
            .and_then(crate::attempt::parse_callback_tag)
            .map(|id| crate::ports::OutboxChange::Receipt { id, provider_id: status.provider_id.clone(), at: now });
        let changes = ChangeSet {
            messages: vec![MessageChange::StatusByProviderId { provider_id: status.provider_id.clone(), observation }],
            outbox: receipt.into_iter().collect(),
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(())
    }
}
