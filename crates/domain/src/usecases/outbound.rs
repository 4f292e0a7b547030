//! Sending: the recruiter's request is decided by the policy and either refused (audited) or
//! queued in the outbox in the same commit; the dispatcher decides again right before sending,
//! calls the gateway, and records the outcome (R1-R21 via the policy, R12 re-check).

use time::{Duration, OffsetDateTime};

use super::transact::{Decided, Retry, stage_candidate};
use super::{Hoheit, Recorder, UseCaseError};
use crate::actor::Actor;
use crate::attempt::{Resume, callback_tag, resume};
use crate::candidate::Candidate;
use crate::consent::{ConsentReply, Purpose};
use crate::conversation::{
    DeliveryStatus, Direction, Intent, Message, MessageBody, OutboundContent, StatusObservation, StatusTimeline,
};
use crate::events::DomainEvent;
use crate::ids::{CandidateId, MessageId, OutboxId, TenantId};
use crate::policy::{Draft, OutboundPolicy, Refusal, SendContext};
use crate::ports::{
    ChangeSet, GatewayError, MessageChange, OutboxChange, OutboxEntry, Recipient, StoreError, TenantConfig,
};
use crate::rules::Rule;
use crate::tenant::Tenant;
use crate::values::{LanguageCode, Pii, TemplateName};

/// Attempts before a transiently failing message is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// What a recruiter wants to send.
#[derive(Debug, Clone)]
pub enum MessageRequest {
    /// Free text (inside the window).
    Text(Pii<String>),
    /// A template with body parameters.
    Template {
        /// Name.
        name: TemplateName,
        /// Language.
        language: LanguageCode,
        /// Body parameters.
        parameters: Vec<Pii<String>>,
    },
}

/// A queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The message.
    pub message: MessageId,
    /// Its outbox entry.
    pub outbox: OutboxId,
}

/// What the dispatcher did with an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchOutcome {
    /// Accepted by the provider.
    Sent,
    /// Refused by the policy at dispatch time; never sent.
    Refused(crate::policy::RefusalCode),
    /// Failed permanently (WhatsApp code kept).
    Failed(Option<i64>),
    /// Will be retried at `not_before`.
    Retry {
        /// Next attempt.
        not_before: OffsetDateTime,
    },
    /// The request timed out after sending; it may have been delivered. Not retried.
    OutcomeUnknown,
    /// The candidate or tenant no longer exists; the entry was dropped.
    Dropped,
    /// The claim's lease ran out while the entry waited for its rate-limit slot: not sent, left
    /// for the next claim (another dispatcher may hold it by now).
    LeaseExpired,
    /// An attempt made before a crash was confirmed by a status webhook carrying the entry's
    /// tag: recorded as sent, not sent again.
    Confirmed,
    /// An attempt made before a crash has no receipt yet: the entry waits for a status webhook
    /// until `until`, then the policy is decided again and it is resent.
    AwaitingStatus {
        /// When the wait ends.
        until: OffsetDateTime,
    },
}

/// The confirmation after an objection (R14): confirms, says how to opt back in, names the contact.
pub(crate) fn objection_confirmation_text(tenant: &Tenant, language: &LanguageCode) -> String {
    let contact = tenant.privacy_contact.as_deref().unwrap_or("");
    if language.primary() == "en" {
        format!(
            "{}: we have received your objection and will not send you any more WhatsApp messages. \
             If you change your mind, reply START. Privacy contact: {contact}",
            tenant.name
        )
    } else {
        format!(
            "{}: Wir haben Ihren Widerspruch erhalten und senden Ihnen keine WhatsApp-Nachrichten mehr. \
             Falls Sie es sich anders überlegen, antworten Sie START. Datenschutzkontakt: {contact}",
            tenant.name
        )
    }
}

/// The answer to HELP / HILFE.
pub(crate) fn help_text(tenant: &Tenant, language: &LanguageCode) -> String {
    let contact = tenant.privacy_contact.as_deref().unwrap_or("");
    let link = tenant.privacy_notice_url.as_deref().unwrap_or("");
    if language.primary() == "en" {
        format!(
            "{}: you can object to WhatsApp messages at any time, informally: reply STOP. \
             Privacy notice: {link} Privacy contact: {contact}",
            tenant.name
        )
    } else {
        format!(
            "{}: Sie können WhatsApp-Nachrichten jederzeit formlos widersprechen: antworten Sie STOPP. \
             Datenschutzhinweise: {link} Datenschutzkontakt: {contact}",
            tenant.name
        )
    }
}

/// What the send policy decides on: the tenant's configuration, the sending channel, the candidate.
pub(crate) fn send_context<'a>(
    config: &'a TenantConfig,
    channel: &'a crate::tenant::Channel,
    candidate: &'a Candidate,
) -> SendContext<'a> {
    SendContext {
        tenant: &config.tenant,
        channel,
        candidate,
        legal_texts: &config.legal_texts,
        templates: &config.templates,
    }
}

/// Decides a send and, if permitted, adds the message and its outbox entry to `changes`.
/// A refusal is returned as [`UseCaseError::Refused`]; the caller decides whether to audit it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue(
    app: &Hoheit,
    config: &TenantConfig,
    candidate: &mut Candidate,
    content: OutboundContent,
    intent: Intent,
    notice_appended: bool,
    actor: Actor,
    now: OffsetDateTime,
    changes: &mut ChangeSet,
) -> Result<Queued, UseCaseError> {
    let channel = config.channel(candidate.channel).ok_or(UseCaseError::NotFound("channel"))?;
    let ctx = send_context(config, channel, candidate);
    let draft = Draft { content: &content, intent, notice_appended, queued: false };
    let permit = OutboundPolicy::decide(&ctx, &draft, now).map_err(UseCaseError::Refused)?;
    let window_open = candidate.conversation.window_open_at(now);
    let notice = notice_appended
        || match &content {
            OutboundContent::Template { name, language, .. } => {
                config.templates.find(channel.id, name, language).is_some_and(|t| t.carries_notice)
            }
            OutboundContent::Text { .. } | OutboundContent::Interactive { .. } | OutboundContent::Document { .. } => {
                false
            }
        };
    // the rule that allowed it: the exception's, else the window (free form) or template rule
    let rule = match permit.exception {
        Some(crate::policy::Exception::ConsentRequest) => Rule::R10,
        Some(
            crate::policy::Exception::ObjectionConfirmation
            | crate::policy::Exception::ReplyAfterObjection
            | crate::policy::Exception::HelpReply,
        ) => Rule::R14,
        None if content.is_free_form() => Rule::R20,
        None => Rule::R21,
    };
    let message: MessageId = app.new_id();
    let outbox: OutboxId = app.new_id();
    let kind = content.kind();
    changes.messages.push(MessageChange::Insert(Box::new(Message {
        id: message,
        tenant: config.tenant.id,
        candidate: candidate.id,
        channel: channel.id,
        direction: Direction::Outbound,
        kind,
        intent: Some(intent),
        body: Pii::new(MessageBody::Outbound(content.clone())),
        provider_id: None,
        reply_to: None,
        created_at: now,
        provider_at: None,
        status: StatusTimeline::starting(DeliveryStatus::Queued, now),
    })));
    changes.outbox.push(OutboxChange::Enqueue(OutboxEntry {
        id: outbox,
        tenant: config.tenant.id,
        candidate: candidate.id,
        channel: channel.id,
        message,
        content,
        intent,
        notice_appended,
        created_at: now,
        attempts: 0,
        not_before: now,
        attempt: None,
    }));
    if intent == Intent::ObjectionConfirmation {
        candidate.objection_confirmed();
    }
    if permit.exception == Some(crate::policy::Exception::ReplyAfterObjection) {
        // one reply per inbound message after an objection (R14)
        candidate.objection.use_reply();
    }
    candidate.conversation.touch(now);
    changes.events.push(Recorder::new(config.tenant.id, Some(candidate.id), actor, now).rule(
        rule,
        DomainEvent::MessageQueued { message, outbox, intent, kind, exception: permit.exception, window_open, notice },
    ));
    Ok(Queued { message, outbox })
}

#[allow(clippy::too_many_arguments)] // one flat constructor reads better than a one-off struct
fn refusal_event(
    tenant: TenantId,
    candidate: CandidateId,
    actor: Actor,
    now: OffsetDateTime,
    refusal: crate::policy::Refusal,
    intent: Intent,
    at_dispatch: bool,
    message: Option<MessageId>,
) -> crate::events::EventEnvelope {
    Recorder::new(tenant, Some(candidate), actor, now)
        .rule(refusal.rule, DomainEvent::SendRefused { code: refusal.code, intent, at_dispatch, message })
}

/// Who sends what kind of message, and when: the part of a [`queue`] call that is not state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sending {
    /// Who asked.
    pub(crate) actor: Actor,
    /// Why the message is sent.
    pub(crate) intent: Intent,
    /// Whether the content carries the first-message notice.
    pub(crate) notice_appended: bool,
    /// The decision time.
    pub(crate) now: OffsetDateTime,
}

/// [`queue`] for a staff request: a policy refusal becomes a [`Decided::Fail`] that audits the
/// refusal (R34) and returns it; other errors fail the use case.
pub(crate) fn queue_or_refuse<T>(
    app: &Hoheit,
    config: &TenantConfig,
    candidate: &mut Candidate,
    content: OutboundContent,
    send: Sending,
    changes: &mut ChangeSet,
) -> Result<Result<Queued, Decided<T>>, UseCaseError> {
    let Sending { actor, intent, notice_appended, now } = send;
    match queue(app, config, candidate, content, intent, notice_appended, actor, now, changes) {
        Ok(queued) => Ok(Ok(queued)),
        Err(UseCaseError::Refused(refusal)) => Ok(Err(refused(config.tenant.id, candidate.id, send, refusal))),
        Err(e) => Err(e),
    }
}

/// A staff request the policy refused before anything was queued: audit the refusal, fail with it.
fn refused<T>(tenant: TenantId, candidate: CandidateId, send: Sending, refusal: Refusal) -> Decided<T> {
    Decided::Fail(refusal_record(tenant, candidate, send, refusal), UseCaseError::Refused(refusal))
}

/// The audit record of a staff request the policy refused before anything was queued (R34).
pub(crate) fn refusal_record(tenant: TenantId, candidate: CandidateId, send: Sending, refusal: Refusal) -> ChangeSet {
    let record = refusal_event(tenant, candidate, send.actor, send.now, refusal, send.intent, false, None);
    ChangeSet { events: vec![record], ..ChangeSet::default() }
}

/// Exponential back-off for transient failures: 2, 4, 8, ... seconds, capped at 15 minutes.
fn backoff(attempts: u32) -> Duration {
    Duration::seconds(2_i64.saturating_pow(attempts.min(20)).min(900))
}

impl Hoheit {
    /// A recruiter's message: decided by the policy, then queued (202) or refused (409, audited).
    /// The first free-text message of a conversation gets the notice appended (R15).
    pub async fn send_message(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        request: MessageRequest,
    ) -> Result<Queued, UseCaseError> {
        self.transact_candidate(tenant, id, |(config, mut candidate, now)| {
            let expected_version = candidate.version;
            let (content, notice_appended) = match &request {
                MessageRequest::Text(body) => {
                    if body.expose().trim().is_empty() || body.expose().chars().count() > 4096 {
                        return Err(UseCaseError::Invalid("text must be 1 to 4096 characters".into()));
                    }
                    if candidate.conversation.needs_notice() {
                        let text =
                            format!("{}{}", body.expose(), config.tenant.first_message_notice(&candidate.language));
                        (OutboundContent::Text { body: text.into() }, true)
                    } else {
                        (OutboundContent::Text { body: body.clone() }, false)
                    }
                }
                MessageRequest::Template { name, language, parameters } => {
                    if let Some(t) = config.templates.find(candidate.channel, name, language) {
                        t.check_parameters(parameters).map_err(|e| UseCaseError::Invalid(e.to_string()))?;
                    }
                    let content = OutboundContent::Template {
                        name: name.clone(),
                        language: language.clone(),
                        body_parameters: parameters.clone(),
                        button_payloads: Vec::new(),
                    };
                    (content, false)
                }
            };
            let mut changes = ChangeSet::default();
            let send = Sending { actor, intent: Intent::Regular, notice_appended, now };
            let queued = match queue_or_refuse(self, &config, &mut candidate, content, send, &mut changes)? {
                Ok(queued) => queued,
                Err(refused) => return Ok(refused),
            };
            stage_candidate(&mut changes, &config, candidate, expected_version, now);
            Ok(Decided::Commit(changes, queued))
        })
        .await
    }

    /// Sends the channel's consent-request template (R10), with reply buttons tied to this request.
    pub async fn request_consent(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<Queued, UseCaseError> {
        self.transact_candidate(tenant, id, |(config, mut candidate, now)| {
            let expected_version = candidate.version;
            let tp_months = config.tenant.retention.talent_pool_months;
            let granted = candidate.consents.state(Purpose::WhatsAppChannel, now, tp_months).is_granted();
            if granted && candidate.consents.is_current(Purpose::WhatsAppChannel, &config.legal_texts, now, tp_months) {
                return Err(UseCaseError::Conflict("the candidate has already consented"));
            }
            let channel = config.channel(candidate.channel).ok_or(UseCaseError::NotFound("channel"))?;
            let template = channel.consent_template.clone();
            let texts = config
                .legal_texts
                .consent_bundle(&template.language)
                .ok_or(UseCaseError::Conflict("publish terms, privacy notice and consent request first"))?;
            let request_id = self.new_id();
            let synced = config.templates.find(channel.id, &template.name, &template.language);
            let params: Vec<Pii<String>> = [Some(config.tenant.name.clone()), config.tenant.privacy_notice_url.clone()]
                .into_iter()
                .flatten()
                .take(synced.map_or(0, |t| usize::from(t.body_parameters)))
                .map(Pii::new)
                .collect();
            let payloads: Vec<String> = [
                ConsentReply::agree_payload(request_id),
                ConsentReply::decline_payload(request_id),
                crate::classifier::OPT_OUT_PAYLOAD.to_owned(),
            ]
            .into_iter()
            .take(synced.map_or(2, |t| usize::from(t.quick_replies)))
            .collect();
            let content = OutboundContent::Template {
                name: template.name.clone(),
                language: template.language.clone(),
                body_parameters: params,
                button_payloads: payloads,
            };
            let mut changes = ChangeSet::default();
            let send = Sending { actor, intent: Intent::ConsentRequest, notice_appended: false, now };
            let queued = match queue_or_refuse(self, &config, &mut candidate, content, send, &mut changes)? {
                Ok(queued) => queued,
                Err(refused) => return Ok(refused),
            };
            // R6 holds for the text the candidate actually sees: the template synced from the
            // provider, as rendered with the parameters above
            if let Some(synced) = synced {
                let rendered = crate::template::rendered_consent_body(
                    synced,
                    &config.tenant.name,
                    config.tenant.privacy_notice_url.as_deref(),
                );
                let complete = rendered.is_some_and(|body| {
                    crate::legal::missing_consent_request_elements(&body, &config.tenant.name).is_empty()
                });
                if !complete {
                    return Err(UseCaseError::Conflict(
                        "the synced consent-request template must name the employer, the purpose, WhatsApp/Meta, \
                         the US transfer and how to withdraw or object (R6); change it at WhatsApp and sync again",
                    ));
                }
            }
            candidate.consents.request(request_id, Purpose::WhatsAppChannel, texts, template.language.clone(), now);
            changes.events.push(Recorder::new(tenant, Some(id), actor, now).rule(
                Rule::R10,
                DomainEvent::ConsentRequested {
                    request: request_id,
                    purpose: Purpose::WhatsAppChannel,
                    message: queued.message,
                },
            ));
            stage_candidate(&mut changes, &config, candidate, expected_version, now);
            Ok(Decided::Commit(changes, queued))
        })
        .await
    }

    /// Dispatches one claimed outbox entry: decide again, wait for the provider's rate limits,
    /// decide once more (an objection may have arrived meanwhile), record the attempt durably,
    /// make one attempt (tagged with the outbox id), record the outcome.
    /// Never sends twice: after the gateway call, only the recording is retried; a transient
    /// failure goes back to the outbox and is decided again before the next attempt. An entry
    /// whose attempt was recorded but whose outcome was not (the process died in between) is
    /// not sent again while a status webhook may still confirm it ([`crate::attempt::resume`]).
    pub async fn dispatch(&self, entry: &OutboxEntry) -> Result<DispatchOutcome, UseCaseError> {
        self.dispatch_within(entry, None).await
    }

    /// [`Hoheit::dispatch`] for a claim that holds until `lease_ends`: if the wait for the
    /// rate-limit slot reaches it, nothing is sent (another dispatcher may have claimed the entry
    /// after the lease ran out) and the entry is left for the next claim.
    pub async fn dispatch_within(
        &self,
        entry: &OutboxEntry,
        lease_ends: Option<OffsetDateTime>,
    ) -> Result<DispatchOutcome, UseCaseError> {
        let tenant = entry.tenant;
        match resume(entry.attempt.as_ref(), self.now(), self.status_wait) {
            // Resend: no status came for an attempt before a crash within the wait; it is decided
            // again below like a first send
            Resume::Send | Resume::Resend => {}
            Resume::Confirmed(provider_id) => {
                // the provider accepted it before a crash: record it, never send it again
                self.record_sent(entry, provider_id, self.now()).await?;
                return Ok(DispatchOutcome::Confirmed);
            }
            Resume::AwaitStatus { until } => {
                let changes = ChangeSet {
                    outbox: vec![OutboxChange::AwaitStatus { id: entry.id, until }],
                    ..ChangeSet::default()
                };
                self.store.commit(tenant, changes).await?;
                return Ok(DispatchOutcome::AwaitingStatus { until });
            }
        }
        let Some((config, candidate)) = self.dispatch_state(entry).await? else {
            return self.finish_dropped(entry).await;
        };
        if let Err(refusal) = Self::dispatch_decision(entry, &config, &candidate, self.now()) {
            return self.cancel_refused(entry, refusal).await;
        }
        let recipient = match (&candidate.contact.phone, &candidate.contact.wa_user_id) {
            (Some(phone), _) => Recipient::Phone(phone.clone()),
            (None, Some(user)) => Recipient::User(user.clone()),
            (None, None) => return self.finish_dropped(entry).await,
        };
        let paced = self.gateway.pace(entry.channel, &recipient).await;
        if lease_ends.is_some_and(|end| self.now() >= end) {
            return Ok(DispatchOutcome::LeaseExpired);
        }
        // The wait may have been long (the number's limit, the recipient's spacing): what was
        // allowed before it is decided again on fresh state, before the attempt is recorded.
        let Some((config, candidate)) = self.dispatch_state(entry).await? else {
            return self.finish_dropped(entry).await;
        };
        if let Err(refusal) = Self::dispatch_decision(entry, &config, &candidate, self.now()) {
            return self.cancel_refused(entry, refusal).await;
        }
        let result = match paced {
            Ok(()) => {
                // durably before the call: a crash after the provider's acceptance leaves a trace,
                // and the entry then waits for the status webhook instead of being resent
                let at = self.now();
                let attempt = ChangeSet {
                    outbox: vec![OutboxChange::Attempt {
                        id: entry.id,
                        expected: entry.attempt.as_ref().map(|a| a.started_at),
                        at,
                        not_before: at + self.status_wait,
                    }],
                    ..ChangeSet::default()
                };
                match self.store.commit(tenant, attempt).await {
                    Ok(_) => {}
                    // cancelled (an objection) since it was decided: nothing is sent
                    Err(StoreError::NotFound(_)) => return Ok(DispatchOutcome::Dropped),
                    // another dispatcher took it over after this claim's lease ran out
                    Err(StoreError::Conflict) => return Ok(DispatchOutcome::LeaseExpired),
                    Err(e) => return Err(e.into()),
                }
                // The number's hard ceiling is waited for before the last decision, not after it
                // (the provider-failure drill found a send 524 ms after an acknowledged objection
                // that had waited there).
                self.gateway.depart(entry.channel).await;
                // Decided once more after the attempt is durable, right before the call: an
                // objection committed after the attempt record leaves the entry in place (it
                // might have gone out) but is seen here, so the window in which an acknowledged
                // objection can still be overtaken is only this read and the call, as before the
                // attempt record existed (the drill found a send 228 ms after an acknowledged
                // objection on PostgreSQL without this read).
                let Some((config, candidate)) = self.dispatch_state(entry).await? else {
                    return self.finish_dropped(entry).await;
                };
                if let Err(refusal) = Self::dispatch_decision(entry, &config, &candidate, self.now()) {
                    return self.cancel_refused(entry, refusal).await;
                }
                self.gateway.send(entry.channel, &recipient, &entry.content, &callback_tag(entry.id)).await
            }
            Err(e) => Err(e),
        };
        let now = self.now();
        match result {
            Ok(receipt) => {
                self.record_sent(entry, receipt.provider_id, now).await?;
                Ok(DispatchOutcome::Sent)
            }
            Err(GatewayError::OutcomeUnknown) => {
                let unknown = Recorder::new(tenant, Some(entry.candidate), Actor::System, now)
                    .note(DomainEvent::MessageOutcomeUnknown { message: entry.message });
                self.finish(entry, DeliveryStatus::Unknown, None, Some(unknown), now).await?;
                Ok(DispatchOutcome::OutcomeUnknown)
            }
            Err(e) if (e.is_transient() || e == GatewayError::NotConfigured) && entry.attempts + 1 < MAX_ATTEMPTS => {
                let wait = match &e {
                    GatewayError::RateLimited { retry_after: Some(after), .. } => {
                        Duration::try_from(*after).unwrap_or(Duration::MINUTE).max(backoff(entry.attempts))
                    }
                    GatewayError::RateLimited { .. }
                    | GatewayError::Transient { .. }
                    | GatewayError::NotConfigured
                    | GatewayError::WindowClosed { .. }
                    | GatewayError::Undeliverable { .. }
                    | GatewayError::TemplateRejected { .. }
                    | GatewayError::Rejected { .. }
                    | GatewayError::ChannelFailure { .. }
                    | GatewayError::OutcomeUnknown => backoff(entry.attempts),
                };
                let not_before = now + wait;
                let changes = ChangeSet {
                    outbox: vec![OutboxChange::Retry { id: entry.id, not_before, attempts: entry.attempts + 1 }],
                    ..ChangeSet::default()
                };
                self.store.commit(tenant, changes).await?;
                Ok(DispatchOutcome::Retry { not_before })
            }
            Err(e) => {
                let code = e.code();
                let failed = Recorder::new(tenant, Some(entry.candidate), Actor::System, now)
                    .note(DomainEvent::MessageFailed { message: entry.message, code });
                self.finish(entry, DeliveryStatus::Failed, code, Some(failed), now).await?;
                Ok(DispatchOutcome::Failed(code))
            }
        }
    }

    /// The tenant's configuration and the candidate as they are now (`None`: gone).
    async fn dispatch_state(
        &self,
        entry: &OutboxEntry,
    ) -> Result<Option<(std::sync::Arc<TenantConfig>, Candidate)>, UseCaseError> {
        let Some(config) = self.store.tenant_config(entry.tenant).await? else {
            return Ok(None);
        };
        Ok(self.store.candidate(entry.tenant, entry.candidate).await?.map(|candidate| (config, candidate)))
    }

    /// The policy's decision for a queued entry.
    fn dispatch_decision(
        entry: &OutboxEntry,
        config: &TenantConfig,
        candidate: &Candidate,
        now: OffsetDateTime,
    ) -> Result<(), crate::policy::Refusal> {
        let Some(channel) = config.channel(entry.channel) else {
            return Err(crate::policy::Refusal {
                code: crate::policy::RefusalCode::ChannelNotApproved,
                rule: Rule::R1,
            });
        };
        let ctx = send_context(config, channel, candidate);
        let draft = Draft {
            content: &entry.content,
            intent: entry.intent,
            notice_appended: entry.notice_appended,
            queued: true,
        };
        OutboundPolicy::decide(&ctx, &draft, now).map(|_| ())
    }

    /// Cancels an entry the policy refuses at dispatch, with the refusal audited.
    async fn cancel_refused(
        &self,
        entry: &OutboxEntry,
        refusal: crate::policy::Refusal,
    ) -> Result<DispatchOutcome, UseCaseError> {
        let now = self.now();
        let refused = refusal_event(
            entry.tenant,
            entry.candidate,
            Actor::System,
            now,
            refusal,
            entry.intent,
            true,
            Some(entry.message),
        );
        self.finish(entry, DeliveryStatus::Cancelled, None, Some(refused), now).await?;
        Ok(DispatchOutcome::Refused(refusal.code))
    }

    async fn finish_dropped(&self, entry: &OutboxEntry) -> Result<DispatchOutcome, UseCaseError> {
        match self.finish(entry, DeliveryStatus::Cancelled, None, None, self.now()).await {
            Ok(()) | Err(UseCaseError::Store(StoreError::NotFound(_))) => Ok(DispatchOutcome::Dropped),
            Err(e) => Err(e),
        }
    }

    /// Ends an outbox entry that will not be (re)sent: the message's final status, the entry
    /// removed, and the event that says why, in one commit.
    async fn finish(
        &self,
        entry: &OutboxEntry,
        status: DeliveryStatus,
        error_code: Option<i64>,
        why: Option<crate::events::EventEnvelope>,
        now: OffsetDateTime,
    ) -> Result<(), UseCaseError> {
        let changes = ChangeSet {
            messages: vec![MessageChange::Status {
                id: entry.message,
                observation: StatusObservation { status, at: now, error_code },
            }],
            outbox: vec![OutboxChange::Complete { id: entry.id }],
            events: why.into_iter().collect(),
            ..ChangeSet::default()
        };
        self.store.commit(entry.tenant, changes).await?;
        Ok(())
    }

    /// Records an accepted send; retries only the recording on a lost race.
    async fn record_sent(
        &self,
        entry: &OutboxEntry,
        provider_id: crate::values::Wamid,
        now: OffsetDateTime,
    ) -> Result<(), UseCaseError> {
        let tenant = entry.tenant;
        let load = || async move {
            let config = self.store.tenant_config(tenant).await?;
            let candidate = self.store.candidate(tenant, entry.candidate).await?;
            Ok((config, candidate))
        };
        self.transact(tenant, Retry::CONFLICT.patient(), load, |(config, candidate)| {
            let carries_notice = entry.notice_appended
                || match (&entry.content, &config) {
                    (OutboundContent::Template { name, language, .. }, Some(config)) => {
                        config.templates.find(entry.channel, name, language).is_some_and(|t| t.carries_notice)
                    }
                    (OutboundContent::Template { .. }, None)
                    | (
                        OutboundContent::Text { .. }
                        | OutboundContent::Interactive { .. }
                        | OutboundContent::Document { .. },
                        _,
                    ) => false,
                };
            let mut changes = ChangeSet {
                messages: vec![MessageChange::Accepted {
                    id: entry.message,
                    provider_id: provider_id.clone(),
                    at: now,
                }],
                outbox: vec![OutboxChange::Complete { id: entry.id }],
                events: vec![
                    Recorder::new(tenant, Some(entry.candidate), Actor::System, now)
                        .note(DomainEvent::MessageSent { message: entry.message, notice: carries_notice }),
                ],
                ..ChangeSet::default()
            };
            if let (Some(config), Some(mut candidate)) = (config, candidate)
                && !candidate.is_erased()
            {
                let expected_version = candidate.version;
                candidate.conversation.record_sent(now, carries_notice);
                stage_candidate(&mut changes, &config, candidate, expected_version, now);
            }
            Ok(Decided::Commit(changes, ()))
        })
        .await
    }
}
