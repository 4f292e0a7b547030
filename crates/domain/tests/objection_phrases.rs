//! The inbound use case with classifier v2 (R8, R11, R16): a free-form sentence objection is
//! applied at once, a consent withdrawal by message withdraws consent itself (R8) and applies
//! the objection, and the audit event names the pattern that fired, never the words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use futures_executor::block_on;
use hoheit_domain::classifier::{Classification, ObjectionReason};
use hoheit_domain::consent::{ConsentEntry, Purpose, WithdrawalVia};
use hoheit_domain::events::DomainEvent;
use hoheit_domain::ids::CandidateId;
use hoheit_domain::inbound::InboundContent;
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::ports::{Clock, Store};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::Role;
use hoheit_domain::testing::fixtures::{TestApp, World, staff};
use hoheit_domain::usecases::{InboundOutcome, MessageRequest, UseCaseError};

fn text_in(t: &TestApp, id: &str, body: &str) -> InboundOutcome {
    inbound(t, id, InboundContent::Text { body: body.into() })
}

fn inbound(t: &TestApp, id: &str, content: InboundContent) -> InboundOutcome {
    block_on(t.inbound(id, content))
}

/// A candidate who agreed by the consent request's button.
fn consented(t: &TestApp) -> CandidateId {
    let c = block_on(t.consented());
    let state = block_on(t.store.candidate(t.world.tenant_id(), c)).unwrap().unwrap();
    assert!(state.consents().state(Purpose::WhatsAppChannel, t.clock.now(), 12).is_granted());
    c
}

fn send(t: &TestApp, c: CandidateId) -> Result<hoheit_domain::usecases::Queued, UseCaseError> {
    block_on(t.app.send_message(t.world.tenant_id(), staff(Role::Recruiter), c, MessageRequest::Text("Hallo".into())))
}

fn objection_classifier_codes(t: &TestApp, c: CandidateId) -> Vec<&'static str> {
    t.store
        .events()
        .into_iter()
        .filter(|e| e.subject == Some(c))
        .filter_map(|e| if let DomainEvent::ObjectionRecorded { classifier, .. } = e.event { classifier } else { None })
        .collect()
}

#[test]
fn a_sentence_objection_is_applied_at_once_and_the_audit_names_the_pattern() {
    let t = World::new().app();
    let c = consented(&t);
    assert!(send(&t, c).is_ok());
    let out = text_in(&t, "wamid.obj", "Kontaktieren Sie mich bitte nicht mehr");
    let InboundOutcome::Stored { classification, .. } = out else { panic!("stored expected") };
    assert_eq!(
        classification,
        Classification::Objection { reason: ObjectionReason::Pattern("de.negated_contact".into()) }
    );
    match send(&t, c) {
        Err(UseCaseError::Refused(r)) => assert_eq!(r.code, RefusalCode::Objected),
        other => panic!("expected objected, got {other:?}"),
    }
    assert_eq!(objection_classifier_codes(&t, c), vec!["de.negated_contact"]);
}

#[test]
fn a_withdrawal_by_message_withdraws_consent_itself_and_applies_the_objection() {
    let t = World::new().app();
    let c = consented(&t);
    let out = text_in(&t, "wamid.wdr", "Ich widerrufe meine Einwilligung");
    let InboundOutcome::Stored { classification, .. } = out else { panic!("stored expected") };
    assert!(matches!(classification, Classification::Withdrawal { .. }), "{classification:?}");

    let state = block_on(t.store.candidate(t.world.tenant_id(), c)).unwrap().unwrap();
    assert!(!state.consents().state(Purpose::WhatsAppChannel, t.clock.now(), 12).is_granted());
    assert!(state.objection().is_objected(), "no further proactive messages");
    // withdrawn by the candidate's own message (R8), not only as a side effect of the objection
    let withdrawn: Vec<&WithdrawalVia> = state
        .consents()
        .entries()
        .iter()
        .filter_map(|e| {
            if let ConsentEntry::Withdrawn { purpose: Purpose::WhatsAppChannel, via, .. } = e {
                Some(via)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(withdrawn.len(), 1);
    assert!(
        matches!(withdrawn[0], WithdrawalVia::WhatsApp { provider_id: Some(provider_id) } if provider_id.as_str() == "wamid.wdr")
    );
    assert!(
        t.store.events().iter().any(|e| e.subject == Some(c)
            && e.rule == Some(Rule::R8)
            && matches!(e.event, DomainEvent::ConsentWithdrawn { purpose: Purpose::WhatsAppChannel })),
        "the withdrawal is audited under R8"
    );
    assert_eq!(objection_classifier_codes(&t, c), vec!["de.withdraw_consent"]);
    match send(&t, c) {
        Err(UseCaseError::Refused(r)) => assert_eq!(r.code, RefusalCode::Objected),
        other => panic!("expected objected, got {other:?}"),
    }
}

#[test]
fn harmless_chat_with_keywords_does_not_block() {
    let t = World::new().app();
    let c = consented(&t);
    for (i, body) in [
        "Meine Kündigungsfrist beträgt 4 Wochen",
        "Can I cancel the appointment on Thursday? Can we do Tuesday instead?",
    ]
    .into_iter()
    .enumerate()
    {
        let out = text_in(&t, &format!("wamid.h{i}"), body);
        assert!(matches!(out, InboundOutcome::Stored { classification: Classification::None, .. }), "{body}: {out:?}");
    }
    let state = block_on(t.store.candidate(t.world.tenant_id(), c)).unwrap().unwrap();
    assert!(state.objection().review.is_none() && !state.objection().is_objected());
    assert!(send(&t, c).is_ok());
}
