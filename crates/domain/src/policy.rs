//! The outbound send policy (RULES.md "Send decision"): one pure function that decides every
//! send, in a fixed order, first refusal wins, with stable refusal codes. It runs when a
//! recruiter asks to send and again when the dispatcher is about to send.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::candidate::{Candidate, Lifecycle, RestrictionReason};
use crate::consent::{ConsentState, Purpose};
use crate::conversation::{Intent, OutboundContent};
use crate::legal::LegalTextCatalogue;
use crate::rules::Rule;
use crate::template::{TemplateCatalogue, TemplateCategory, TemplateStatus};
use crate::tenant::{Channel, Tenant};

/// A stable refusal code. These strings are part of the HTTP contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// No valid DPO approval of the channel (R1).
    ChannelNotApproved,
    /// The candidate's data is erased (R27).
    CandidateErased,
    /// Processing is restricted (R25, R31, R32).
    CandidateRestricted,
    /// A legal hold blocks messaging (R26).
    LegalHold,
    /// The candidate objected (R12).
    Objected,
    /// A possible objection awaits review (R16).
    ObjectionReviewPending,
    /// No WhatsApp consent (R10).
    ConsentMissing,
    /// Consent withdrawn or expired (R8, R9).
    ConsentWithdrawn,
    /// Consent given on outdated legal texts (R7).
    ConsentOutdated,
    /// No more consent requests allowed (R10: request + one reminder; or the candidate declined).
    ConsentRequestLimit,
    /// Free-form message outside the 24-hour window (R20).
    WindowClosed,
    /// Template unknown or not approved (R21).
    TemplateNotApproved,
    /// Marketing template without talent-pool consent (R21).
    MarketingNotConsented,
    /// First message of the conversation lacks the notice (R15).
    MissingNotice,
}

impl RefusalCode {
    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ChannelNotApproved => "channel_not_approved",
            Self::CandidateErased => "candidate_erased",
            Self::CandidateRestricted => "candidate_restricted",
            Self::LegalHold => "legal_hold",
            Self::Objected => "objected",
            Self::ObjectionReviewPending => "objection_review_pending",
            Self::ConsentMissing => "consent_missing",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::ConsentOutdated => "consent_outdated",
            Self::ConsentRequestLimit => "consent_request_limit",
            Self::WindowClosed => "window_closed",
            Self::TemplateNotApproved => "template_not_approved",
            Self::MarketingNotConsented => "marketing_not_consented",
            Self::MissingNotice => "missing_notice",
        }
    }

    /// Every code, in decision order.
    pub const ALL: [Self; 14] = [
        Self::ChannelNotApproved,
        Self::CandidateErased,
        Self::CandidateRestricted,
        Self::LegalHold,
        Self::Objected,
        Self::ObjectionReviewPending,
        Self::ConsentMissing,
        Self::ConsentWithdrawn,
        Self::ConsentOutdated,
        Self::ConsentRequestLimit,
        Self::WindowClosed,
        Self::TemplateNotApproved,
        Self::MarketingNotConsented,
        Self::MissingNotice,
    ];

    /// A human-readable explanation (English, no personal data).
    pub const fn message(self) -> &'static str {
        match self {
            Self::ChannelNotApproved => "the channel has no valid approval by the data-protection officer",
            Self::CandidateErased => "the candidate's data has been erased",
            Self::CandidateRestricted => "processing of the candidate's data is restricted",
            Self::LegalHold => "a legal hold blocks messaging this candidate",
            Self::Objected => "the candidate objected to WhatsApp messages",
            Self::ObjectionReviewPending => "a possible objection of the candidate awaits review",
            Self::ConsentMissing => "the candidate has not consented to WhatsApp messages",
            Self::ConsentWithdrawn => "the candidate's consent was withdrawn or has expired",
            Self::ConsentOutdated => "the consent was given on outdated terms or privacy notice; ask again",
            Self::ConsentRequestLimit => "no further consent request may be sent to this candidate",
            Self::WindowClosed => "free-form messages are only allowed within 24 hours of the candidate's last message",
            Self::TemplateNotApproved => "the template is unknown or not approved by WhatsApp",
            Self::MarketingNotConsented => "marketing templates need the candidate's talent-pool consent",
            Self::MissingNotice => "the first message must carry the privacy notice and the objection hint",
        }
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused send: the code and the rule that refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable code.
    pub code: RefusalCode,
    /// The rule.
    pub rule: Rule,
}

/// Which exception of the rules allowed a send that the normal path would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exception {
    /// The consent-request template before consent (R10).
    ConsentRequest,
    /// The single confirmation after an objection (R14).
    ObjectionConfirmation,
    /// A reply inside the window to a message the candidate sent after objecting (R14).
    ReplyAfterObjection,
    /// The answer to HELP inside the window.
    HelpReply,
}

impl Exception {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConsentRequest => "consent_request",
            Self::ObjectionConfirmation => "objection_confirmation",
            Self::ReplyAfterObjection => "reply_after_objection",
            Self::HelpReply => "help_reply",
        }
    }
}

/// A permitted send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permit {
    /// The exception used, if any.
    pub exception: Option<Exception>,
}

/// What the policy decides on.
#[derive(Debug, Clone, Copy)]
pub struct SendContext<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The channel that will send.
    pub channel: &'a Channel,
    /// The candidate.
    pub candidate: &'a Candidate,
    /// The tenant's legal texts.
    pub legal_texts: &'a LegalTextCatalogue,
    /// The tenant's templates (as last synced).
    pub templates: &'a TemplateCatalogue,
}

/// What is to be sent.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    /// Content.
    pub content: &'a OutboundContent,
    /// Why.
    pub intent: Intent,
    /// Whether hoheit appended the first-message notice to this (free-form) message.
    pub notice_appended: bool,
    /// Whether this is the dispatcher's re-check of a queued message: the queued message itself
    /// already counts as the consent request or the confirmation it is.
    pub queued: bool,
}

/// The send policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboundPolicy;

const fn refuse(code: RefusalCode, rule: Rule) -> Result<Permit, Refusal> {
    Err(Refusal { code, rule })
}

impl OutboundPolicy {
    /// Decides a send at `now`. First refusal wins, in the order of RULES.md.
    pub fn decide(ctx: &SendContext<'_>, draft: &Draft<'_>, now: OffsetDateTime) -> Result<Permit, Refusal> {
        let candidate = ctx.candidate;
        let tp_months = ctx.tenant.retention.talent_pool_months;
        let window_open = candidate.conversation.window_open_at(now);
        let free_form = draft.content.is_free_form();

        // 1. channel approval
        if !ctx.channel.is_approved_at(now) {
            return refuse(RefusalCode::ChannelNotApproved, Rule::R1);
        }
        // 2. lifecycle and holds
        match candidate.lifecycle {
            Lifecycle::Erased { .. } => return refuse(RefusalCode::CandidateErased, Rule::R27),
            Lifecycle::Restricted { reason, .. } => {
                let rule = match reason {
                    RestrictionReason::Inactivity => Rule::R25,
                    RestrictionReason::SubjectRequest => Rule::R32,
                    RestrictionReason::ErasureDeferred => Rule::R31,
                };
                return refuse(RefusalCode::CandidateRestricted, rule);
            }
            Lifecycle::Active => {}
        }
        if candidate.is_held() {
            return refuse(RefusalCode::LegalHold, Rule::R26);
        }
        // 3. objection and review, with the exceptions of R14
        let mut exception = None;
        if let Some(objection) = &candidate.objection.active {
            // one reply per inbound message with content (R14); the dispatcher's re-check of a
            // queued reply finds that reply already used up by queueing it
            let inbound_after = candidate.objection.inbound_after_objection_at.is_some_and(|t| t > objection.at);
            let reply_open = if draft.queued { inbound_after } else { candidate.objection.reply_permitted() };
            exception = match draft.intent {
                Intent::ObjectionConfirmation
                    if (draft.queued || !candidate.objection.confirmation_sent) && window_open && free_form =>
                {
                    Some(Exception::ObjectionConfirmation)
                }
                Intent::Regular | Intent::HelpReply if reply_open && window_open && free_form => {
                    Some(Exception::ReplyAfterObjection)
                }
                Intent::Regular | Intent::HelpReply | Intent::ObjectionConfirmation | Intent::ConsentRequest => {
                    return refuse(RefusalCode::Objected, Rule::R12);
                }
            };
        } else if candidate.objection.review.is_some() {
            exception = match draft.intent {
                Intent::HelpReply if window_open && free_form => Some(Exception::HelpReply),
                Intent::Regular | Intent::HelpReply | Intent::ObjectionConfirmation | Intent::ConsentRequest => {
                    return refuse(RefusalCode::ObjectionReviewPending, Rule::R16);
                }
            };
        } else if draft.intent == Intent::ObjectionConfirmation {
            // nothing to confirm: the confirmation is only for an objection in effect
            return refuse(RefusalCode::Objected, Rule::R14);
        } else if draft.intent == Intent::HelpReply && window_open && free_form {
            exception = Some(Exception::HelpReply);
        }
        // 4. consent (not for the replies the exceptions allow)
        if exception.is_none() {
            let state = candidate.consents.state(Purpose::WhatsAppChannel, now, tp_months);
            let is_request = draft.intent == Intent::ConsentRequest && !free_form;
            match state {
                ConsentState::Granted { .. } => {
                    let current =
                        candidate.consents.is_current(Purpose::WhatsAppChannel, ctx.legal_texts, now, tp_months);
                    if !current {
                        if !is_request {
                            return refuse(RefusalCode::ConsentOutdated, Rule::R7);
                        }
                        exception = Some(Exception::ConsentRequest);
                    }
                }
                ConsentState::None | ConsentState::Requested { .. } => {
                    if !is_request {
                        return refuse(RefusalCode::ConsentMissing, Rule::R10);
                    }
                    let sent = candidate.consents.requests_pending(Purpose::WhatsAppChannel);
                    let earlier = if draft.queued { sent.saturating_sub(1) } else { sent };
                    if earlier >= ctx.tenant.messaging.consent_request_limit {
                        return refuse(RefusalCode::ConsentRequestLimit, Rule::R10);
                    }
                    exception = Some(Exception::ConsentRequest);
                }
                ConsentState::Declined { .. } => {
                    let code = if is_request { RefusalCode::ConsentRequestLimit } else { RefusalCode::ConsentMissing };
                    return refuse(code, Rule::R10);
                }
                ConsentState::Withdrawn { .. } => {
                    return refuse(RefusalCode::ConsentWithdrawn, Rule::R8);
                }
                ConsentState::Expired { .. } => {
                    return refuse(RefusalCode::ConsentWithdrawn, Rule::R9);
                }
            }
        }
        // 5. the 24-hour window
        if free_form && !window_open {
            return refuse(RefusalCode::WindowClosed, Rule::R20);
        }
        // 6. templates
        let mut template_notice = false;
        if let OutboundContent::Template { name, language, .. } = draft.content {
            let Some(template) = ctx.templates.find(ctx.channel.id, name, language) else {
                return refuse(RefusalCode::TemplateNotApproved, Rule::R21);
            };
            if template.status != TemplateStatus::Approved {
                return refuse(RefusalCode::TemplateNotApproved, Rule::R21);
            }
            if template.category == TemplateCategory::Marketing
                && !candidate.consents.state(Purpose::TalentPool, now, tp_months).is_granted()
            {
                return refuse(RefusalCode::MarketingNotConsented, Rule::R21);
            }
            template_notice = template.carries_notice;
        }
        // 7. the first-message notice: without a privacy-notice link and a privacy contact no
        // message can carry it (or the contact that confirmations and help answers name)
        if !ctx.tenant.has_notice_details() {
            return refuse(RefusalCode::MissingNotice, Rule::R15);
        }
        if candidate.conversation.needs_notice() && !(template_notice || draft.notice_appended) {
            return refuse(RefusalCode::MissingNotice, Rule::R15);
        }
        Ok(Permit { exception })
    }
}
