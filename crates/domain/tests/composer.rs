//! The inbox composer (issue 17): what it offers for each state of a conversation, asked of the
//! send policy, so the page offers exactly what may be sent now.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoheit_domain::candidate::Candidate;
use hoheit_domain::classifier::ObjectionReason;
use hoheit_domain::composer::{ComposerOptions, render_body};
use hoheit_domain::consent::Purpose;
use hoheit_domain::conversation::ConversationState;
use hoheit_domain::ids::{ConsentRequestId, MessageId, ReviewId};
use hoheit_domain::objection::{Objection, ObjectionScope, ObjectionSource, PendingReview};
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::{LanguageCode, Wamid};
use time::Duration;
use uuid::Uuid;

fn options(w: &World, c: &Candidate) -> ComposerOptions {
    ComposerOptions::decide(&w.send_context(c), w.now)
}

fn ask_for_consent(w: &World, c: &mut Candidate, n: u128, days_ago: i64) {
    let texts = w.config.legal_texts.consent_bundle(&LanguageCode::german()).unwrap();
    let id = ConsentRequestId::from_uuid(Uuid::from_u128(n));
    c.request_consent(id, Purpose::WhatsAppChannel, texts, LanguageCode::german(), w.now - Duration::days(days_ago));
}

fn template_names(o: &ComposerOptions) -> Vec<&str> {
    o.templates.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn without_consent_only_the_consent_request_is_offered_with_the_requests_left() {
    let w = World::new();
    let c = w.candidate();
    let o = options(&w, &c);
    assert_eq!(o.text.map_err(|r| r.code), Err(RefusalCode::ConsentMissing));
    assert_eq!(o.blocked.map(|r| r.code), Some(RefusalCode::ConsentMissing));
    assert_eq!(o.consent_request, Some(2), "the tenant allows a request and one reminder");
    assert!(o.templates.is_empty(), "{:?}", template_names(&o));
    assert_eq!(o.window_until, None);
    assert!(o.anything());
}

#[test]
fn inside_the_window_free_text_and_the_approved_templates_the_policy_allows() {
    let w = World::new();
    let c = w.engaged_candidate();
    let o = options(&w, &c);
    assert_eq!(o.text, Ok(()));
    assert_eq!(o.blocked, None);
    assert_eq!(o.consent_request, None, "consented on the current texts: nothing to ask");
    // interview_invite (utility); not job_alert (marketing without talent-pool consent, R21)
    // and never the consent request itself
    assert_eq!(template_names(&o), ["interview_invite"]);
    assert_eq!(o.templates[0].body_parameters, 1);
    assert_eq!(o.window_until, Some(w.now - Duration::hours(1) + Duration::hours(24)));
}

#[test]
fn outside_the_window_templates_only() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    let conv = &c.conversation;
    c.conversation = ConversationState::restored(
        Some(w.now - Duration::hours(30)),
        conv.notice_sent_at(),
        conv.last_activity_at(),
        conv.outbound_count(),
    );
    let o = options(&w, &c);
    assert_eq!(o.text.map_err(|r| r.code), Err(RefusalCode::WindowClosed));
    assert_eq!(o.blocked, None, "nothing blocks regular messages as such");
    assert_eq!(template_names(&o), ["interview_invite"]);
    assert_eq!(o.window_until, None);
}

#[test]
fn after_an_objection_the_banner_names_it_and_nothing_proactive_is_offered() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    let at = w.now - Duration::minutes(5);
    c.apply_objection(Objection {
        at,
        source: ObjectionSource::WhatsApp {
            provider_id: Some(Wamid::parse("wamid.stop").unwrap()),
            reason: ObjectionReason::OptOutButton,
        },
        scope: ObjectionScope::AllWhatsApp,
    });
    let o = options(&w, &c);
    assert_eq!(o.blocked.map(|r| r.code), Some(RefusalCode::Objected));
    assert_eq!(o.objection.as_ref().map(|x| x.at), Some(at));
    assert!(o.templates.is_empty());
    assert_eq!(o.consent_request, None);
    assert_eq!(o.text.map_err(|r| r.code), Err(RefusalCode::Objected), "no new message from the candidate yet");
    // a new message of the candidate after the objection permits exactly one reply (R14)
    c.note_inbound_after_objection(w.now - Duration::minutes(1), true);
    let o = options(&w, &c);
    assert_eq!(o.text, Ok(()), "the one permitted reply");
    assert!(o.templates.is_empty(), "but no template");
    assert_eq!(o.blocked.map(|r| r.code), Some(RefusalCode::Objected), "the banner stays");
}

#[test]
fn a_pending_review_blocks_everything_until_it_is_decided() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    c.open_review(PendingReview {
        id: ReviewId::from_uuid(Uuid::nil()),
        message: MessageId::from_uuid(Uuid::nil()),
        matched: "aufhören".into(),
        opened_at: w.now,
        due_at: w.now + Duration::days(1),
        further: Vec::new(),
    });
    let o = options(&w, &c);
    assert_eq!(o.blocked.map(|r| r.code), Some(RefusalCode::ObjectionReviewPending));
    assert_eq!(o.text.map_err(|r| r.code), Err(RefusalCode::ObjectionReviewPending));
    assert!(o.templates.is_empty() && o.consent_request.is_none() && !o.anything());
}

#[test]
fn without_the_dpos_approval_nothing_is_offered() {
    let mut w = World::new();
    w.config.channels[0].approval = None;
    for c in [w.candidate(), w.engaged_candidate()] {
        let o = options(&w, &c);
        assert_eq!(o.blocked.map(|r| r.code), Some(RefusalCode::ChannelNotApproved));
        assert!(!o.anything(), "{o:?}");
    }
}

#[test]
fn the_last_allowed_consent_request_is_offered_and_then_none() {
    let w = World::new();
    let mut c = w.candidate();
    ask_for_consent(&w, &mut c, 1, 2);
    assert_eq!(options(&w, &c).consent_request, Some(1));
    ask_for_consent(&w, &mut c, 2, 1);
    let o = options(&w, &c);
    assert_eq!(o.consent_request, None, "request and one reminder were sent (R10)");
    assert!(!o.anything());
}

fn interview_invite(w: &World) -> hoheit_domain::template::Template {
    let name = hoheit_domain::values::TemplateName::parse("interview_invite").unwrap();
    w.config.templates.find(w.channel().id, &name, &LanguageCode::german()).unwrap().clone()
}

#[test]
fn a_template_renders_with_its_values_and_placeholders_for_the_missing_ones() {
    let w = World::new();
    let mut t = interview_invite(&w);
    assert_eq!(render_body(&t, &["Dienstag"], |n| format!("[Wert {n}]")), None, "no synced text, no preview");
    t.body_text = Some("Gespräch am {{1}} um {{2}} Uhr, Raum {{12}}.".into());
    t.body_parameters = 12;
    let placeholder = |n: u8| format!("[Wert {n}]");
    assert_eq!(
        render_body(&t, &[], placeholder).as_deref(),
        Some("Gespräch am [Wert 1] um [Wert 2] Uhr, Raum [Wert 12].")
    );
    let values = ["Dienstag", "10", "3", "4", "5", "6", "7", "8", "9", "10", "11", "B 1.12"];
    assert_eq!(
        render_body(&t, &values, placeholder).as_deref(),
        Some("Gespräch am Dienstag um 10 Uhr, Raum B 1.12."),
        "{{{{12}}}} is the twelfth value, not the first followed by a 2"
    );
    assert_eq!(render_body(&t, &["Montag"], |_| String::new()).as_deref(), Some("Gespräch am Montag um  Uhr, Raum ."));
}
