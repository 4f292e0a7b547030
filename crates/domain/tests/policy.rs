//! The send decision (RULES.md "Send decision"): every refusal code in its order, the exceptions,
//! and properties that must hold for any candidate state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoheit_domain::candidate::{Candidate, HoldReason, LegalHold, Lifecycle, RestrictionReason};
use hoheit_domain::classifier::ObjectionReason;
use hoheit_domain::consent::{Purpose, WithdrawalVia};
use hoheit_domain::conversation::{ConversationState, Intent, OutboundContent};
use hoheit_domain::ids::{ConsentRequestId, HoldId, StaffId};
use hoheit_domain::legal::{LegalTextKind, LegalTextVersion};
use hoheit_domain::objection::{Objection, ObjectionScope, ObjectionSource};
use hoheit_domain::policy::{Draft, Exception, OutboundPolicy, Permit, Refusal, RefusalCode};
use hoheit_domain::template::TemplateStatus;
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::{LanguageCode, TemplateName, Wamid};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Rewrites the candidate's last inbound time and notice time as a test setup (the state is
/// otherwise changed only through its methods).
fn set_conversation(c: &mut Candidate, change: impl FnOnce(&mut Option<OffsetDateTime>, &mut Option<OffsetDateTime>)) {
    let conv = &c.conversation;
    let (mut inbound, mut notice) = (conv.last_inbound_at(), conv.notice_sent_at());
    change(&mut inbound, &mut notice);
    c.conversation = ConversationState::restored(inbound, notice, conv.last_activity_at(), conv.outbound_count());
}

fn text() -> OutboundContent {
    OutboundContent::Text { body: "Wann passt Ihnen das Gespräch?".into() }
}

fn template(name: &str, params: usize) -> OutboundContent {
    OutboundContent::Template {
        name: TemplateName::parse(name).unwrap(),
        language: LanguageCode::german(),
        body_parameters: (0..params).map(|_| "x".into()).collect(),
        button_payloads: vec![],
    }
}

fn decide_at(
    world: &World,
    c: &Candidate,
    content: &OutboundContent,
    intent: Intent,
    now: OffsetDateTime,
) -> Result<Permit, Refusal> {
    let draft = Draft { content, intent, notice_appended: false, queued: false };
    OutboundPolicy::decide(&world.send_context(c), &draft, now)
}

fn decide(world: &World, c: &Candidate, content: &OutboundContent, intent: Intent) -> Result<Permit, Refusal> {
    decide_at(world, c, content, intent, world.now)
}

fn code(r: Result<Permit, Refusal>) -> Option<RefusalCode> {
    r.err().map(|r| r.code)
}

fn objected(world: &World, c: &mut Candidate, minutes_ago: i64) {
    c.apply_objection(Objection {
        at: world.now - Duration::minutes(minutes_ago),
        source: ObjectionSource::WhatsApp {
            provider_id: Some(Wamid::parse("wamid.stop").unwrap()),
            reason: ObjectionReason::OptOutButton,
        },
        scope: ObjectionScope::AllWhatsApp,
    });
    c.withdraw_consent(
        Purpose::WhatsAppChannel,
        world.now - Duration::minutes(minutes_ago),
        WithdrawalVia::Objection,
        12,
    );
    c.conversation.record_inbound(world.now - Duration::minutes(minutes_ago));
}

fn hold(c: &mut Candidate) {
    c.holds.push(LegalHold {
        id: HoldId::from_uuid(Uuid::nil()),
        reason: HoldReason::ClaimAsserted,
        reference: None,
        set_at: OffsetDateTime::UNIX_EPOCH,
        set_by: StaffId::from_uuid(Uuid::nil()),
        review_at: OffsetDateTime::UNIX_EPOCH,
        released_at: None,
        released_by: None,
    });
}

#[test]
fn an_engaged_candidate_may_get_text_and_templates() {
    let w = World::new();
    let c = w.engaged_candidate();
    assert_eq!(decide(&w, &c, &text(), Intent::Regular), Ok(Permit { exception: None }));
    assert_eq!(decide(&w, &c, &template("interview_invite", 1), Intent::Regular), Ok(Permit { exception: None }));
}

#[test]
fn refusal_1_channel_not_approved_wins_over_everything() {
    let mut w = World::new();
    let mut c = w.engaged_candidate();
    c.lifecycle = Lifecycle::Erased { at: w.now, reason: hoheit_domain::candidate::ErasureReason::RetentionExpired };
    w.config.channels[0].approval = None;
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::ChannelNotApproved));
    // revoked and expired approvals refuse too
    let mut w = World::new();
    w.config.channels[0].approval.as_mut().unwrap().revoked_at = Some(w.now - Duration::minutes(1));
    assert_eq!(
        code(decide(&w, &w.engaged_candidate(), &text(), Intent::Regular)),
        Some(RefusalCode::ChannelNotApproved)
    );
    let w = World::new();
    let review = w.channel().approval.as_ref().unwrap().review_at;
    let mut c = w.engaged_candidate();
    c.conversation.record_inbound(review);
    assert_eq!(code(decide_at(&w, &c, &text(), Intent::Regular, review)), Some(RefusalCode::ChannelNotApproved));
}

#[test]
fn refusal_2_lifecycle_and_hold() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    c.lifecycle = Lifecycle::Restricted { since: w.now, reason: RestrictionReason::Inactivity };
    assert_eq!(
        decide(&w, &c, &text(), Intent::Regular).unwrap_err(),
        Refusal { code: RefusalCode::CandidateRestricted, rule: hoheit_domain::rules::Rule::R25 }
    );
    let mut c = w.engaged_candidate();
    hold(&mut c);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::LegalHold));
    let mut c = w.engaged_candidate();
    c.lifecycle = Lifecycle::Erased { at: w.now, reason: hoheit_domain::candidate::ErasureReason::SubjectRequest };
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::CandidateErased));
}

#[test]
fn refusal_3_objection_and_its_exceptions() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    objected(&w, &mut c, 5);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::Objected));
    assert_eq!(code(decide(&w, &c, &template("interview_invite", 1), Intent::Regular)), Some(RefusalCode::Objected));
    // the single confirmation inside the window
    assert_eq!(
        decide(&w, &c, &text(), Intent::ObjectionConfirmation),
        Ok(Permit { exception: Some(Exception::ObjectionConfirmation) })
    );
    c.objection_confirmed();
    assert_eq!(code(decide(&w, &c, &text(), Intent::ObjectionConfirmation)), Some(RefusalCode::Objected));
    // a later question of the candidate may be answered inside the window, not proactively
    c.note_inbound_after_objection(w.now - Duration::minutes(1), true);
    c.conversation.record_inbound(w.now - Duration::minutes(1));
    assert_eq!(
        decide(&w, &c, &text(), Intent::Regular),
        Ok(Permit { exception: Some(Exception::ReplyAfterObjection) })
    );
    assert_eq!(code(decide(&w, &c, &template("interview_invite", 1), Intent::Regular)), Some(RefusalCode::Objected));
    assert_eq!(
        code(decide_at(&w, &c, &text(), Intent::Regular, w.now + Duration::hours(24))),
        Some(RefusalCode::Objected)
    );
}

#[test]
fn refusal_3_review_pending_blocks_proactive_sending() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    c.open_review(w.pending_review("stop", w.now + Duration::days(1)));
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::ObjectionReviewPending));
    assert_eq!(decide(&w, &c, &text(), Intent::HelpReply), Ok(Permit { exception: Some(Exception::HelpReply) }));
}

#[test]
fn refusal_4_consent_states() {
    let w = World::new();
    let mut c = w.candidate();
    c.conversation.record_inbound(w.now - Duration::hours(1));
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::ConsentMissing));
    // the consent-request template is the exception, up to the limit (R10)
    let request = template("consent_request", 1);
    assert_eq!(
        decide(&w, &c, &request, Intent::ConsentRequest),
        Ok(Permit { exception: Some(Exception::ConsentRequest) })
    );
    let bundle = w.config.legal_texts.consent_bundle(&LanguageCode::german()).unwrap();
    c.request_consent(
        ConsentRequestId::from_uuid(Uuid::from_u128(1)),
        Purpose::WhatsAppChannel,
        bundle.clone(),
        LanguageCode::german(),
        w.now,
    );
    assert!(decide(&w, &c, &request, Intent::ConsentRequest).is_ok(), "one reminder allowed");
    // the dispatcher's re-check of the queued request does not count it twice
    let draft = Draft { content: &request, intent: Intent::ConsentRequest, notice_appended: false, queued: true };
    assert!(OutboundPolicy::decide(&w.send_context(&c), &draft, w.now).is_ok());
    c.request_consent(
        ConsentRequestId::from_uuid(Uuid::from_u128(2)),
        Purpose::WhatsAppChannel,
        bundle,
        LanguageCode::german(),
        w.now,
    );
    assert_eq!(code(decide(&w, &c, &request, Intent::ConsentRequest)), Some(RefusalCode::ConsentRequestLimit));
    // a free text can never be the consent request
    let mut fresh = w.candidate();
    fresh.conversation.record_inbound(w.now);
    assert_eq!(code(decide(&w, &fresh, &text(), Intent::ConsentRequest)), Some(RefusalCode::ConsentMissing));
    // withdrawn
    let mut c = w.engaged_candidate();
    c.withdraw_consent(Purpose::WhatsAppChannel, w.now, WithdrawalVia::Objection, 12);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::ConsentWithdrawn));
    assert_eq!(code(decide(&w, &c, &request, Intent::ConsentRequest)), Some(RefusalCode::ConsentWithdrawn));
}

#[test]
fn refusal_4_outdated_texts_need_new_consent() {
    let mut w = World::new();
    let c = w.engaged_candidate();
    let text_v2 = w
        .config
        .legal_texts
        .prepare(
            hoheit_domain::ids::LegalTextId::from_uuid(Uuid::from_u128(99)),
            LegalTextKind::PrivacyNotice,
            LegalTextVersion::parse("v2").unwrap(),
            LanguageCode::german(),
            "Datenschutzhinweise v2 (neuer Auftragsverarbeiter)".into(),
            None,
            true,
            "Beispiel GmbH",
            w.now - Duration::hours(2),
        )
        .unwrap();
    w.config.legal_texts.push(text_v2);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::ConsentOutdated));
    assert_eq!(
        decide(&w, &c, &template("consent_request", 1), Intent::ConsentRequest),
        Ok(Permit { exception: Some(Exception::ConsentRequest) })
    );
}

#[test]
fn refusal_5_window_closed_for_free_form_only() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    // the candidate wrote an hour ago: the window is open for 23 more hours
    let later = w.now + Duration::hours(22) + Duration::minutes(59);
    assert!(decide_at(&w, &c, &text(), Intent::Regular, later).is_ok());
    let closed = w.now + Duration::hours(23);
    assert_eq!(code(decide_at(&w, &c, &text(), Intent::Regular, closed)), Some(RefusalCode::WindowClosed));
    assert!(decide_at(&w, &c, &template("interview_invite", 1), Intent::Regular, closed).is_ok());
    // our own templates do not open the window; only the candidate's messages do
    set_conversation(&mut c, |inbound, _| *inbound = None);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::WindowClosed));
}

#[test]
fn refusal_6_templates() {
    let mut w = World::new();
    let c = w.engaged_candidate();
    assert_eq!(
        code(decide(&w, &c, &template("no_such_template", 0), Intent::Regular)),
        Some(RefusalCode::TemplateNotApproved)
    );
    assert_eq!(
        code(decide(&w, &c, &template("job_alert", 0), Intent::Regular)),
        Some(RefusalCode::MarketingNotConsented)
    );
    let mut pooled = c.clone();
    w.grant(&mut pooled, Purpose::TalentPool);
    assert!(decide(&w, &pooled, &template("job_alert", 0), Intent::Regular).is_ok());
    let mut templates: Vec<_> = w.config.templates.templates().to_vec();
    templates.iter_mut().for_each(|t| t.status = TemplateStatus::Paused);
    w.config.templates = hoheit_domain::template::TemplateCatalogue::new(templates);
    assert_eq!(
        code(decide(&w, &c, &template("interview_invite", 1), Intent::Regular)),
        Some(RefusalCode::TemplateNotApproved)
    );
}

#[test]
fn refusal_7_first_message_needs_the_notice() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    set_conversation(&mut c, |_, notice| *notice = None);
    assert_eq!(code(decide(&w, &c, &text(), Intent::Regular)), Some(RefusalCode::MissingNotice));
    assert_eq!(
        code(decide(&w, &c, &template("interview_invite", 1), Intent::Regular)),
        Some(RefusalCode::MissingNotice)
    );
    let draft = Draft { content: &text(), intent: Intent::Regular, notice_appended: true, queued: false };
    assert!(OutboundPolicy::decide(&w.send_context(&c), &draft, w.now).is_ok());
    // the consent request template carries the notice itself
    let mut fresh = w.candidate();
    fresh.conversation.record_inbound(w.now);
    assert!(decide(&w, &fresh, &template("consent_request", 1), Intent::ConsentRequest).is_ok());
}

#[test]
fn codes_are_stable_strings() {
    let codes: Vec<&str> = RefusalCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "channel_not_approved",
            "candidate_erased",
            "candidate_restricted",
            "legal_hold",
            "objected",
            "objection_review_pending",
            "consent_missing",
            "consent_withdrawn",
            "consent_outdated",
            "consent_request_limit",
            "window_closed",
            "template_not_approved",
            "marketing_not_consented",
            "missing_notice",
        ]
    );
}

// ---- properties over arbitrary states ----

#[derive(Debug, Clone)]
struct Setup {
    lifecycle: u8,
    held: bool,
    objection: Option<(i64, bool, Option<i64>)>,
    review: bool,
    consent: u8,
    inbound_minutes_ago: Option<i64>,
    notice: bool,
    approved: bool,
    content: u8,
    intent: u8,
    notice_appended: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (
            0u8..3,
            any::<bool>(),
            proptest::option::of((1i64..3000, any::<bool>(), proptest::option::of(0i64..3000))),
            any::<bool>(),
        ),
        (0u8..4, proptest::option::of(0i64..3000), any::<bool>(), any::<bool>()),
        (0u8..4, 0u8..4, any::<bool>()),
    )
        .prop_map(
            |(
                (lifecycle, held, objection, review),
                (consent, inbound, notice, approved),
                (content, intent, notice_appended),
            )| Setup {
                lifecycle,
                held,
                objection,
                review,
                consent,
                inbound_minutes_ago: inbound,
                notice,
                approved,
                content,
                intent,
                notice_appended,
            },
        )
}

fn build(s: &Setup) -> (World, Candidate, OutboundContent, Intent, bool) {
    let mut w = World::new();
    if !s.approved {
        w.config.channels[0].approval = None;
    }
    let mut c = w.candidate();
    match s.consent {
        1 => w.grant(&mut c, Purpose::WhatsAppChannel),
        2 => {
            w.grant(&mut c, Purpose::WhatsAppChannel);
            c.withdraw_consent(Purpose::WhatsAppChannel, w.now - Duration::days(1), WithdrawalVia::Objection, 12);
        }
        3 => {
            w.grant(&mut c, Purpose::WhatsAppChannel);
            w.grant(&mut c, Purpose::TalentPool);
        }
        _ => {}
    }
    if let Some(m) = s.inbound_minutes_ago {
        c.conversation.record_inbound(w.now - Duration::minutes(m));
    }
    if s.notice {
        set_conversation(&mut c, |_, notice| *notice = Some(w.now - Duration::days(3)));
    }
    if let Some((ago, confirmed, later)) = s.objection {
        c.apply_objection(Objection {
            at: w.now - Duration::minutes(ago),
            source: ObjectionSource::Staff {
                staff: StaffId::from_uuid(Uuid::nil()),
                channel: hoheit_domain::consent::CaptureChannel::Email,
                note: None,
            },
            scope: ObjectionScope::AllWhatsApp,
        });
        if confirmed {
            c.objection_confirmed();
        }
        if let Some(l) = later {
            c.note_inbound_after_objection(w.now - Duration::minutes(l), true);
            c.conversation.record_inbound(w.now - Duration::minutes(l));
        }
    }
    if s.review {
        c.open_review(w.pending_review("stop", w.now));
    }
    match s.lifecycle {
        1 => c.lifecycle = Lifecycle::Restricted { since: w.now, reason: RestrictionReason::SubjectRequest },
        2 => {
            c.lifecycle =
                Lifecycle::Erased { at: w.now, reason: hoheit_domain::candidate::ErasureReason::RetentionExpired }
        }
        _ => {}
    }
    if s.held {
        hold(&mut c);
    }
    let content = match s.content {
        0 => text(),
        1 => template("interview_invite", 1),
        2 => template("job_alert", 0),
        _ => template("consent_request", 1),
    };
    let intent = [Intent::Regular, Intent::ConsentRequest, Intent::ObjectionConfirmation, Intent::HelpReply]
        [usize::from(s.intent)];
    (w, c, content, intent, s.notice_appended)
}

/// The setup built and the policy's decision on its draft.
fn decided(s: &Setup) -> (World, Candidate, OutboundContent, Result<Permit, Refusal>) {
    let (w, c, content, intent, notice_appended) = build(s);
    let draft = Draft { content: &content, intent, notice_appended, queued: false };
    let decision = OutboundPolicy::decide(&w.send_context(&c), &draft, w.now);
    (w, c, content, decision)
}

proptest! {
    #[test]
    fn nothing_is_ever_permitted_for_erased_restricted_or_held(s in setup()) {
        let (_, _, _, decision) = decided(&s);
        if s.lifecycle != 0 || s.held {
            prop_assert!(decision.is_err());
        }
    }

    #[test]
    fn nothing_without_a_valid_approval(s in setup()) {
        let (_, _, _, decision) = decided(&s);
        if !s.approved {
            prop_assert_eq!(decision.unwrap_err().code, RefusalCode::ChannelNotApproved);
        }
    }

    #[test]
    fn nothing_proactive_after_an_objection(s in setup()) {
        let (w, c, content, decision) = decided(&s);
        if c.objection().is_objected()
            && let Ok(permit) = decision {
                // only replies inside the window: the one confirmation or an answer to a later message
                prop_assert!(content.is_free_form());
                prop_assert!(c.conversation.window_open_at(w.now));
                prop_assert!(matches!(permit.exception, Some(Exception::ObjectionConfirmation | Exception::ReplyAfterObjection)));
            }
    }

    #[test]
    fn free_text_outside_the_window_is_never_permitted(s in setup()) {
        let (w, c, content, decision) = decided(&s);
        if content.is_free_form() && !c.conversation.window_open_at(w.now) {
            prop_assert!(decision.is_err());
        }
    }

    #[test]
    fn without_consent_only_the_consent_request_or_a_requested_reply(s in setup()) {
        let (w, c, content, decision) = decided(&s);
        let consented = c.consents().state(Purpose::WhatsAppChannel, w.now, 12).is_granted();
        if let (false, Ok(permit)) = (consented, decision) {
            prop_assert!(permit.exception.is_some(), "{:?}", permit);
            if permit.exception == Some(Exception::ConsentRequest) {
                prop_assert!(!content.is_free_form());
            } else {
                prop_assert!(content.is_free_form() && c.conversation.window_open_at(w.now));
            }
        }
    }

    #[test]
    fn a_permitted_first_message_always_carries_the_notice(s in setup()) {
        let (_, c, content, decision) = decided(&s);
        if decision.is_ok() && c.conversation.needs_notice() {
            let template_notice = matches!(&content, OutboundContent::Template { name, .. } if name.as_str() == "consent_request");
            prop_assert!(s.notice_appended || template_notice);
        }
    }
}

#[test]
fn expired_talent_pool_consent_refuses_marketing() {
    // R9: talent-pool consent runs out after the tenant's months (12 by default)
    let mut w = World::new();
    w.config.channels[0].approval.as_mut().unwrap().review_at = w.now + Duration::days(800);
    let mut c = w.engaged_candidate();
    w.grant(&mut c, Purpose::TalentPool);
    let template = template("job_alert", 0);
    assert!(decide(&w, &c, &template, Intent::Regular).is_ok());
    let later = w.now + Duration::days(366);
    c.conversation.record_inbound(later - Duration::hours(1));
    assert_eq!(code(decide_at(&w, &c, &template, Intent::Regular, later)), Some(RefusalCode::MarketingNotConsented));
}
