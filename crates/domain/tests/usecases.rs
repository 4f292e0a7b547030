//! Use cases over the ports, with the in-memory store and fake gateway of the `testing` feature:
//! the candidate journey, objections, dedupe, retention, erasure and the dispatcher's re-check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use futures_executor::block_on;
use hoheit_domain::candidate::{HoldReason, Lifecycle, ProcessEndReason};
use hoheit_domain::classifier::Classification;
use hoheit_domain::consent::{CaptureChannel, ConsentMethod, Purpose};
use hoheit_domain::conversation::{DeliveryStatus, Intent, OutboundContent};
use hoheit_domain::ids::CandidateId;
use hoheit_domain::inbound::{ContactRef, InboundContent, InboundMessage, StatusUpdate};
use hoheit_domain::objection::{DismissReason, PendingReview};
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::ports::{GatewayError, OutboxQueue, Recipient, Store, StoreError};
use hoheit_domain::subject_request::SubjectRequestKind;
use hoheit_domain::tenant::{Actor, Role};
use hoheit_domain::testing::FakeGateway;
use hoheit_domain::testing::fixtures::{TestApp, World, dpo, recruiter, staff};
use hoheit_domain::usecases::{
    ConsentInput, DispatchOutcome, ErasureOutcome, Hoheit, InboundOutcome, MessageRequest, ObjectionInput,
    ReviewDecision, UseCaseError,
};
use hoheit_domain::values::{PhoneNumber, WaUserId, Wamid};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use hoheit_domain::testing::fixtures::NUMBER;

fn new_candidate(t: &TestApp) -> CandidateId {
    block_on(t.new_candidate())
}

fn inbound(t: &TestApp, id: &str, content: InboundContent, at: OffsetDateTime) -> InboundOutcome {
    block_on(t.inbound_at(id, content, at))
}

fn text_in(t: &TestApp, id: &str, body: &str) -> InboundOutcome {
    inbound(t, id, InboundContent::Text { body: body.into() }, t.clock_now())
}

trait Now {
    fn clock_now(&self) -> OffsetDateTime;
}

impl Now for TestApp {
    fn clock_now(&self) -> OffsetDateTime {
        use hoheit_domain::ports::Clock;
        self.clock.now()
    }
}

fn send_text(t: &TestApp, c: CandidateId, body: &str) -> Result<hoheit_domain::usecases::Queued, UseCaseError> {
    block_on(t.app.send_message(t.world.tenant_id(), recruiter(), c, MessageRequest::Text(body.into())))
}

fn refusal(r: Result<hoheit_domain::usecases::Queued, UseCaseError>) -> RefusalCode {
    match r {
        Err(UseCaseError::Refused(refusal)) => refusal.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn candidate(t: &TestApp, c: CandidateId) -> hoheit_domain::candidate::Candidate {
    block_on(t.store.candidate(t.world.tenant_id(), c)).unwrap().unwrap()
}

/// Consent via the consent request's agree button.
/// A retention run by the system (`dry_run`: preview only).
fn retention(t: &TestApp, dry_run: bool) -> hoheit_domain::events::RetentionCounts {
    block_on(t.app.run_retention(t.world.tenant_id(), Actor::System, dry_run)).unwrap()
}

/// A real retention run erases `c`, and only `c`.
fn assert_retention_erases(t: &TestApp, c: CandidateId) {
    assert_eq!(retention(t, false).erased, 1);
    assert!(candidate(t, c).is_erased());
}

/// The stored message's delivery status.
fn delivery_status(t: &TestApp, message: hoheit_domain::ids::MessageId) -> Option<DeliveryStatus> {
    block_on(t.store.message(t.world.tenant_id(), message)).unwrap().unwrap().status.effective()
}

fn consented(t: &TestApp) -> CandidateId {
    block_on(t.consented())
}

/// A new app and a consented candidate with the text "Einladung" queued for them.
fn invitation_queued() -> (TestApp, CandidateId, hoheit_domain::usecases::Queued) {
    let t = World::new().app();
    let c = consented(&t);
    let queued = send_text(&t, c, "Einladung").unwrap();
    (t, c, queued)
}

/// A new app and a consented candidate whose message `body` (provider id `id`) opened a review.
fn consented_with_review(id: &str, body: &str) -> (TestApp, CandidateId, PendingReview) {
    let t = World::new().app();
    let c = consented(&t);
    text_in(&t, id, body);
    let review = candidate(&t, c).objection().review.clone().unwrap();
    (t, c, review)
}

trait DispatchNow {
    fn dispatch_all_now(&self) -> Vec<DispatchOutcome>;
}

impl DispatchNow for TestApp {
    fn dispatch_all_now(&self) -> Vec<DispatchOutcome> {
        block_on(self.dispatch_all())
    }
}

#[test]
fn consent_journey_from_request_to_delivered_message() {
    let t = World::new().app();
    let c = new_candidate(&t);
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::ConsentMissing);

    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    let request = t.gateway.sent().pop().unwrap();
    assert_eq!(request.to, Recipient::Phone(PhoneNumber::parse(NUMBER).unwrap()));
    let OutboundContent::Template { name, body_parameters, button_payloads, .. } = request.content else { panic!() };
    assert_eq!(name.as_str(), "consent_request");
    assert_eq!(body_parameters.first().map(|p| p.expose().as_str()), Some("Beispiel GmbH"));
    assert_eq!(button_payloads.len(), 3);
    // the consent template carried the notice (R15)
    assert!(candidate(&t, c).conversation.notice_sent_at().is_some());

    let agree = button_payloads[0].clone();
    inbound(&t, "wamid.tap", InboundContent::Button { payload: Some(agree), text: "Zustimmen".into() }, t.clock_now());
    let state = candidate(&t, c);
    assert!(state.consents().state(Purpose::WhatsAppChannel, t.clock_now(), 12).is_granted());
    assert!(state.conversation.window_open_at(t.clock_now()), "the tap opens the window");

    let queued = send_text(&t, c, "Wann passt Ihnen das Gespräch?").unwrap();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    let message = block_on(t.store.message(t.world.tenant_id(), queued.message)).unwrap().unwrap();
    let wamid = message.provider_id.clone().unwrap();
    // statuses out of order and duplicated converge
    for status in [DeliveryStatus::Read, DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read] {
        tagged_status(&t, &wamid, status, None);
    }
    assert_eq!(delivery_status(&t, queued.message), Some(DeliveryStatus::Read));
    let actions = t.store.actions(c);
    for expected in [
        "candidate.created",
        "message.refused",
        "consent.requested",
        "message.sent",
        "consent.granted",
        "message.queued",
    ] {
        assert!(actions.contains(&expected), "{expected} missing in {actions:?}");
    }
}

#[test]
fn stopp_objects_at_once_cancels_the_outbox_and_confirms_once() {
    let t = World::new().app();
    let c = consented(&t);
    let waiting = send_text(&t, c, "Einladung zum Gespräch").unwrap();
    assert_eq!(t.store.outbox().len(), 1);

    let out = text_in(&t, "wamid.stop", "STOPP!");
    assert!(matches!(out, InboundOutcome::Stored { classification: Classification::Objection { .. }, .. }));
    let state = candidate(&t, c);
    assert!(state.objection().is_objected());
    assert!(!state.consents().state(Purpose::WhatsAppChannel, t.clock_now(), 12).is_granted());
    // the waiting message was cancelled in the same commit; only the confirmation is queued
    let outbox = t.store.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].intent, Intent::ObjectionConfirmation);
    assert_eq!(delivery_status(&t, waiting.message), Some(DeliveryStatus::Cancelled));
    // subject request opened (R18), suppression entry written (R17)
    let requests = block_on(t.app.subject_requests(t.world.tenant_id(), Some(c))).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].kind, SubjectRequestKind::Objection);
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert!(block_on(t.store.suppression(t.world.tenant_id(), &key)).unwrap().is_some());

    let before = t.gateway.sent().len();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    assert_eq!(t.gateway.sent().len(), before + 1, "exactly the confirmation went out");
    assert_eq!(refusal(send_text(&t, c, "Noch eine Frage")), RefusalCode::Objected);
    // STOPP again: no second confirmation
    text_in(&t, "wamid.stop2", "stop");
    assert!(t.store.outbox().is_empty());
}

/// A consented candidate's invitation, queued and claimed by the dispatcher (not sent yet).
fn invitation_claimed(t: &TestApp) -> (CandidateId, Vec<hoheit_domain::ports::OutboxEntry>) {
    let c = consented(t);
    send_text(t, c, "Einladung").unwrap();
    (c, block_on(t.store.claim(t.clock_now(), Duration::minutes(1), 10)).unwrap())
}

#[test]
fn an_objection_while_a_message_waits_means_it_is_never_sent() {
    let t = World::new().app();
    // claimed by the dispatcher, then the objection arrives by phone before it sends
    let (c, claimed) = invitation_claimed(&t);
    block_on(t.app.record_objection(
        t.world.tenant_id(),
        recruiter(),
        c,
        ObjectionInput { channel: CaptureChannel::Phone, note: Some("rief an".into()), received_at: None },
    ))
    .unwrap();
    let sent_before = t.gateway.sent().len();
    for entry in claimed {
        assert_eq!(block_on(t.app.dispatch(&entry)).unwrap(), DispatchOutcome::Refused(RefusalCode::Objected));
    }
    assert_eq!(t.gateway.sent().len(), sent_before);
}

#[test]
fn an_objection_while_a_send_waits_for_its_rate_limit_slot_stops_it() {
    let t = World::new().app();
    let (c, claimed) = invitation_claimed(&t);
    assert_eq!(claimed.len(), 1);
    // the dispatcher decided (allowed) and waits for the number's slot; meanwhile the candidate's
    // objection is recorded by another request (another handle on the same store)
    let other = Hoheit::new(
        t.store.clone(),
        Arc::new(FakeGateway::default()),
        t.clock.clone(),
        Arc::new(hoheit_domain::testing::SequentialIds::new(99)),
    );
    let tenant = t.world.tenant_id();
    t.gateway.during_next_pace(async move {
        let input = ObjectionInput { channel: CaptureChannel::Phone, note: None, received_at: None };
        other.record_objection(tenant, recruiter(), c, input).await.unwrap();
    });
    let sent_before = t.gateway.sent().len();
    let paces_before = t.gateway.paces();
    assert_eq!(block_on(t.app.dispatch(&claimed[0])).unwrap(), DispatchOutcome::Refused(RefusalCode::Objected));
    assert_eq!(t.gateway.paces(), paces_before + 1, "the decision before the wait allowed it");
    assert_eq!(t.gateway.sent().len(), sent_before, "nothing reached the provider after the objection");
}

#[test]
fn a_claim_whose_lease_ran_out_during_the_wait_is_not_sent() {
    let t = World::new().app();
    let (_, claimed) = invitation_claimed(&t);
    let lease_ends = t.clock_now() + Duration::seconds(55);
    let clock = t.clock.clone();
    t.gateway.during_next_pace(async move { clock.advance(Duration::seconds(56)) });
    let sent_before = t.gateway.sent().len();
    let outcome = block_on(t.app.dispatch_within(&claimed[0], Some(lease_ends))).unwrap();
    assert_eq!(outcome, DispatchOutcome::LeaseExpired);
    assert_eq!(t.gateway.sent().len(), sent_before);
    // left for the next claim once the lease is over, then sent
    t.clock.advance(Duration::minutes(1));
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
}

/// A consented candidate who objected with `objection` (confirmation sent), asked a question five
/// minutes later and got the one reply R14 permits.
fn objected_then_answered(t: &TestApp, objection: &str) -> CandidateId {
    let c = consented(t);
    text_in(t, "wamid.stop", objection);
    t.dispatch_all_now();
    t.clock.advance(Duration::minutes(5));
    text_in(t, "wamid.q", "Bekomme ich meine Unterlagen zurück?");
    send_text(t, c, "Ja, per Post.").unwrap();
    c
}

#[test]
fn a_reply_after_the_objection_may_be_answered_inside_the_window_only() {
    let t = World::new().app();
    let c = objected_then_answered(&t, "Bitte keine Nachrichten mehr");
    t.clock.advance(Duration::hours(25));
    assert_eq!(refusal(send_text(&t, c, "Noch etwas")), RefusalCode::Objected);
}

#[test]
fn duplicate_webhooks_change_nothing() {
    let t = World::new().app();
    let c = consented(&t);
    let events = t.store.events().len();
    assert!(matches!(text_in(&t, "wamid.dup", "Hallo"), InboundOutcome::Stored { .. }));
    let after_first = t.store.events().len();
    assert!(after_first > events);
    assert_eq!(text_in(&t, "wamid.dup", "Hallo"), InboundOutcome::Duplicate);
    assert_eq!(t.store.events().len(), after_first);
    assert_eq!(
        block_on(t.store.messages(t.world.tenant_id(), c))
            .unwrap()
            .iter()
            .filter(|m| m.provider_id.as_ref().map(Wamid::as_str) == Some("wamid.dup"))
            .count(),
        1
    );
}

#[test]
fn possible_objection_opens_a_review_that_blocks_until_resolved() {
    let t = World::new().app();
    let c = consented(&t);
    let out = text_in(&t, "wamid.t2", "Ich will meine Bewerbung nicht stoppen");
    assert!(matches!(out, InboundOutcome::Stored { classification: Classification::PossibleObjection { .. }, .. }));
    assert_eq!(refusal(send_text(&t, c, "Danke!")), RefusalCode::ObjectionReviewPending);
    let review = candidate(&t, c).objection().review.clone().unwrap();
    assert!(review.due_at > t.clock_now());
    // the recruiter whose conversation it is does not decide (issue 13)
    assert!(matches!(
        block_on(t.app.decide_review(
            t.world.tenant_id(),
            recruiter(),
            c,
            review.id,
            ReviewDecision::Dismiss(DismissReason::NegatedKeyword),
        )),
        Err(UseCaseError::Forbidden(_))
    ));
    block_on(t.app.decide_review(
        t.world.tenant_id(),
        dpo(),
        c,
        review.id,
        ReviewDecision::Dismiss(DismissReason::NegatedKeyword),
    ))
    .unwrap();
    send_text(&t, c, "Danke!").unwrap();
    assert!(t.store.actions(c).contains(&"objection.review_dismissed"));
}

#[test]
fn confirming_a_review_applies_the_objection() {
    let (t, c, review) = consented_with_review("wamid.t2", "Können Sie das stoppen?");
    block_on(t.app.decide_review(t.world.tenant_id(), dpo(), c, review.id, ReviewDecision::Confirm)).unwrap();
    assert!(candidate(&t, c).objection().is_objected());
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::Objected);
}

#[test]
fn opt_in_keyword_only_while_opted_out_creates_consent() {
    let t = World::new().app();
    let c = consented(&t);
    text_in(&t, "wamid.start0", "START");
    assert!(!candidate(&t, c).objection().is_objected());
    text_in(&t, "wamid.stop", "STOP");
    t.clock.advance(Duration::minutes(1));
    text_in(&t, "wamid.ja", "Ja");
    assert!(candidate(&t, c).objection().is_objected(), "'Ja' is never consent");
    text_in(&t, "wamid.start", "START");
    let state = candidate(&t, c);
    assert!(!state.objection().is_objected());
    assert!(state.consents().state(Purpose::WhatsAppChannel, t.clock_now(), 12).is_granted());
    let ev = state.consents().entries().last().unwrap().clone();
    let hoheit_domain::consent::ConsentEntry::Granted(ev) = ev else { panic!() };
    assert!(matches!(ev.method, ConsentMethod::OptInKeyword { .. }));
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert!(block_on(t.store.suppression(t.world.tenant_id(), &key)).unwrap().is_none());
}

#[test]
fn help_gets_an_answer_even_before_consent() {
    let t = World::new().app();
    let c = new_candidate(&t);
    text_in(&t, "wamid.help", "HILFE");
    let outbox = t.store.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].intent, Intent::HelpReply);
    assert_eq!(outbox[0].candidate, c);
    let OutboundContent::Text { body } = &outbox[0].content else { panic!() };
    assert!(body.expose().contains("STOPP") && body.expose().contains("datenschutz@beispiel.example"));
}

#[test]
fn unknown_senders_become_candidates_and_suppression_outlives_erasure() {
    let t = World::new().app();
    let out = text_in(&t, "wamid.new", "Hallo, ich habe mich beworben");
    assert!(matches!(out, InboundOutcome::Stored { .. }));
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    let c = block_on(t.store.candidate_by_contact(t.world.tenant_id(), &key)).unwrap().unwrap();
    text_in(&t, "wamid.stop", "STOPP");
    assert_eq!(block_on(t.app.request_erasure(t.world.tenant_id(), dpo(), c.id)).unwrap(), ErasureOutcome::Erased);
    assert!(t.store.is_shredded(t.world.tenant_id(), c.id));
    assert!(block_on(t.store.messages(t.world.tenant_id(), c.id)).unwrap().is_empty());
    // the same number added again inherits the objection (R17)
    let again = new_candidate(&t);
    assert_ne!(again, c.id);
    assert!(candidate(&t, again).objection().is_objected());
    assert_eq!(
        refusal(block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), again))),
        RefusalCode::Objected
    );
}

#[test]
fn business_scoped_user_ids_work_without_a_number() {
    let t = World::new().app();
    let msg = InboundMessage {
        provider_id: Wamid::parse("wamid.u1").unwrap(),
        from: ContactRef {
            wa_id: None,
            user_id: Some(WaUserId::parse("BR.1502576394655843").unwrap()),
            profile_name: None,
        },
        timestamp: t.clock_now(),
        content: InboundContent::Text { body: "Hallo".into() },
        context: None,
    };
    assert!(matches!(
        block_on(t.app.receive_inbound(t.world.tenant_id(), t.world.channel().id, &msg)).unwrap(),
        InboundOutcome::Stored { .. }
    ));
    let unidentified = InboundMessage { from: ContactRef { wa_id: None, user_id: None, profile_name: None }, ..msg };
    assert_eq!(
        block_on(t.app.receive_inbound(t.world.tenant_id(), t.world.channel().id, &unidentified)).unwrap(),
        InboundOutcome::Unidentified
    );
}

#[test]
fn retention_erases_after_six_months_and_only_then() {
    let t = World::new().app();
    let c = consented(&t);
    send_text(&t, c, "Leider eine Absage").unwrap();
    t.dispatch_all_now();
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Rejected, None)).unwrap();
    t.clock.advance(Duration::days(150));
    let dry = retention(&t, true);
    assert_eq!(dry.erased, 0);
    t.clock.advance(Duration::days(40));
    let dry = retention(&t, true);
    assert_eq!(dry.erased, 1);
    assert!(!candidate(&t, c).is_erased(), "a dry run changes nothing");
    let real = retention(&t, false);
    assert_eq!(real.erased, 1);
    let tomb = candidate(&t, c);
    assert!(tomb.is_erased());
    assert!(tomb.contact.phone.is_none() && tomb.contact.name.is_none());
    assert!(t.store.is_shredded(t.world.tenant_id(), c));
    // idempotent
    let again = retention(&t, false);
    assert_eq!(again.erased, 0);
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::CandidateErased);
    let runs = t.store.events().iter().filter(|e| e.event.action() == "retention.run").count();
    assert_eq!(runs, 4, "every run is audited, dry runs too");
}

#[test]
fn erasure_request_in_the_claims_window_is_deferred_and_restricted() {
    let t = World::new().app();
    let c = consented(&t);
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Rejected, None)).unwrap();
    t.clock.advance(Duration::days(10));
    let outcome = block_on(t.app.request_erasure(t.world.tenant_id(), dpo(), c)).unwrap();
    let ErasureOutcome::Deferred { until } = outcome else { panic!("{outcome:?}") };
    assert!(matches!(candidate(&t, c).lifecycle, Lifecycle::Restricted { .. }));
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::CandidateRestricted);
    assert!(matches!(
        block_on(t.app.read_messages(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Forbidden(_))
    ));
    assert!(block_on(t.app.read_messages(t.world.tenant_id(), dpo(), c)).is_ok());
    t.clock.set(until);
    assert_retention_erases(&t, c);
}

#[test]
fn legal_hold_blocks_erasure_and_messaging_until_released() {
    let t = World::new().app();
    let c = consented(&t);
    let hold = block_on(t.app.set_legal_hold(
        t.world.tenant_id(),
        dpo(),
        c,
        HoldReason::ClaimAsserted,
        Some("Az. 1 Ca 1/25".into()),
    ))
    .unwrap();
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::LegalHold);
    assert!(
        matches!(block_on(t.app.request_erasure(t.world.tenant_id(), dpo(), c)), Err(UseCaseError::Refused(r)) if r.code == RefusalCode::LegalHold)
    );
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Withdrawn, None)).unwrap();
    t.clock.advance(Duration::days(400));
    assert_eq!(retention(&t, false).erased, 0);
    assert!(matches!(
        block_on(t.app.set_legal_hold(t.world.tenant_id(), recruiter(), c, HoldReason::Other, None)),
        Err(UseCaseError::Forbidden(_))
    ));
    block_on(t.app.release_legal_hold(t.world.tenant_id(), dpo(), c, hold.id)).unwrap();
    assert_eq!(block_on(t.app.request_erasure(t.world.tenant_id(), dpo(), c)).unwrap(), ErasureOutcome::Erased);
}

#[test]
fn dispatcher_decides_again_revoked_approval_stops_queued_messages() {
    let t = World::new().app();
    let c = consented(&t);
    let queued = send_text(&t, c, "Hallo").unwrap();
    block_on(t.app.revoke_approval(t.world.tenant_id(), dpo(), t.world.channel().id)).unwrap();
    let sent = t.gateway.sent().len();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Refused(RefusalCode::ChannelNotApproved)]);
    assert_eq!(t.gateway.sent().len(), sent);
    assert_eq!(delivery_status(&t, queued.message), Some(DeliveryStatus::Cancelled));
}

#[test]
fn gateway_failures_retry_fail_or_stay_unknown() {
    let t = World::new().app();
    let c = consented(&t);
    send_text(&t, c, "1").unwrap();
    t.gateway.script([Err(GatewayError::RateLimited {
        retry_after: Some(std::time::Duration::from_secs(30)),
        code: Some(130_429),
    })]);
    let out = t.dispatch_all_now();
    let [DispatchOutcome::Retry { not_before }] = out.as_slice() else { panic!("{out:?}") };
    assert_eq!(*not_before, t.clock_now() + Duration::seconds(30));
    assert!(t.dispatch_all_now().is_empty(), "not due yet");
    t.clock.advance(Duration::seconds(31));
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);

    send_text(&t, c, "2").unwrap();
    t.gateway.script([Err(GatewayError::Undeliverable { code: Some(131_026) })]);
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Failed(Some(131_026))]);
    send_text(&t, c, "3").unwrap();
    t.gateway.script([Err(GatewayError::OutcomeUnknown)]);
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::OutcomeUnknown]);
    assert!(t.store.outbox().is_empty(), "unknown outcomes are not retried blindly");
}

#[test]
fn staff_consent_needs_an_affirmative_method_and_cannot_override_an_objection() {
    let t = World::new().app();
    let c = new_candidate(&t);
    let input = ConsentInput {
        purpose: Purpose::TalentPool,
        method: ConsentMethod::WebForm {
            form_id: "apply-v3".into(),
            ip: "203.0.113.5".into(),
            user_agent: "Firefox".into(),
        },
        capture_channel: CaptureChannel::Web,
        texts_shown: None,
        given_at: None,
    };
    block_on(t.app.record_consent(t.world.tenant_id(), recruiter(), c, input.clone())).unwrap();
    assert!(candidate(&t, c).consents().state(Purpose::TalentPool, t.clock_now(), 12).is_granted());
    let future = ConsentInput { given_at: Some(t.clock_now() + Duration::days(1)), ..input.clone() };
    assert!(matches!(
        block_on(t.app.record_consent(t.world.tenant_id(), recruiter(), c, future)),
        Err(UseCaseError::Invalid(_))
    ));
    block_on(t.app.record_objection(
        t.world.tenant_id(),
        recruiter(),
        c,
        ObjectionInput { channel: CaptureChannel::Email, note: None, received_at: None },
    ))
    .unwrap();
    assert!(!candidate(&t, c).consents().state(Purpose::TalentPool, t.clock_now(), 12).is_granted(), "R13");
    assert!(matches!(
        block_on(t.app.record_consent(t.world.tenant_id(), recruiter(), c, input)),
        Err(UseCaseError::Conflict(_))
    ));
    assert!(matches!(
        block_on(t.app.record_consent(
            t.world.tenant_id(),
            Actor::System,
            c,
            ConsentInput {
                purpose: Purpose::WhatsAppChannel,
                method: ConsentMethod::SignedForm { document_ref: "x".into() },
                capture_channel: CaptureChannel::Paper,
                texts_shown: None,
                given_at: None,
            }
        )),
        Err(UseCaseError::Forbidden(_))
    ));
}

#[test]
fn lost_races_are_retried_from_a_fresh_load() {
    let t = World::new().app();
    let c = new_candidate(&t);
    t.store.fail_next_commit(StoreError::Conflict);
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Hired, None)).unwrap();
    assert!(candidate(&t, c).process_ended_at().is_some());
    t.store.fail_next_commit(StoreError::Unavailable("disk".into()));
    assert!(matches!(
        block_on(t.app.set_legal_hold(t.world.tenant_id(), dpo(), c, HoldReason::Other, None)),
        Err(UseCaseError::Store(StoreError::Unavailable(_)))
    ));
    assert!(candidate(&t, c).holds.is_empty(), "a failed commit changes nothing");
}

#[test]
fn export_holds_everything_and_the_read_is_audited() {
    let t = World::new().app();
    let c = consented(&t);
    text_in(&t, "wamid.q", "Wann ist das Gespräch?");
    assert!(matches!(
        block_on(t.app.export_subject(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Forbidden(_))
    ));
    let export = block_on(t.app.export_subject(t.world.tenant_id(), dpo(), c)).unwrap();
    assert_eq!(export.schema_version, 1);
    assert_eq!(export.messages.len(), 3, "consent request, tap, question");
    assert!(export.recipients.iter().any(|r| r.transfer.is_some()), "US transfer stated");
    assert!(export.consent_state.iter().any(|(p, s)| *p == Purpose::WhatsAppChannel && s.is_granted()));
    assert!(t.store.actions(c).contains(&"content.read"));
    assert!(export.media.is_empty(), "no media in this conversation");
    // a running process ends by inactivity 6 months after the last activity; erasure 6 months
    // later (R24; this said `None`, "not scheduled", before R24's inactivity end existed)
    let add = hoheit_domain::calendar::add_months;
    assert_eq!(export.retention_due_at, Some(add(add(t.clock_now(), 6), 6)), "a running process is scheduled too");
    // after the process ended, the export states when the data will be erased (R30)
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Rejected, None)).unwrap();
    let export = block_on(t.app.export_subject(t.world.tenant_id(), dpo(), c)).unwrap();
    assert_eq!(export.retention_due_at, Some(hoheit_domain::calendar::add_months(t.clock_now(), 6)));
}

#[test]
fn the_consent_request_is_limited_and_not_repeated_after_consent() {
    let t = World::new().app();
    let c = new_candidate(&t);
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
    assert_eq!(
        refusal(block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c))),
        RefusalCode::ConsentRequestLimit
    );
    assert_eq!(
        t.dispatch_all_now(),
        vec![DispatchOutcome::Sent, DispatchOutcome::Sent],
        "queued requests still go out"
    );
    let t = World::new().app();
    let c = consented(&t);
    assert!(matches!(
        block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Conflict(_))
    ));
}

#[test]
fn a_button_grant_stores_complete_evidence() {
    // R5: purpose, method, channel, exact texts (version + SHA-256), language, times, who
    let t = World::new().app();
    let c = consented(&t);
    let state = candidate(&t, c);
    let granted = state
        .consents()
        .entries()
        .iter()
        .find_map(|e| match e {
            hoheit_domain::consent::ConsentEntry::Granted(ev) => Some(ev.clone()),
            hoheit_domain::consent::ConsentEntry::Requested { .. }
            | hoheit_domain::consent::ConsentEntry::Declined { .. }
            | hoheit_domain::consent::ConsentEntry::Withdrawn { .. } => None,
        })
        .unwrap();
    assert_eq!(granted.purpose, Purpose::WhatsAppChannel);
    let ConsentMethod::ButtonReply { provider_id, provider_at, .. } = &granted.method else {
        panic!("{:?}", granted.method)
    };
    assert_eq!(provider_id.as_ref().map(Wamid::as_str), Some("wamid.agree"));
    assert_eq!(*provider_at, t.clock_now());
    assert_eq!(granted.capture_channel, CaptureChannel::WhatsApp);
    assert_eq!(granted.recorded_by, Actor::Candidate);
    assert_eq!(granted.recorded_at, t.clock_now(), "server UTC time of recording");
    assert_eq!(granted.language.as_str(), "de");
    let bundle = t.world.config.legal_texts.consent_bundle(&hoheit_domain::values::LanguageCode::german()).unwrap();
    assert_eq!(granted.texts_shown, bundle, "terms, privacy notice and consent request with their hashes");
    assert_eq!(granted.texts_shown.len(), 3);
}

#[test]
fn a_withdrawal_by_mail_stops_messaging_and_cancels_the_outbox() {
    // R8
    let (t, c, _) = invitation_queued();
    block_on(t.app.record_withdrawal(
        t.world.tenant_id(),
        recruiter(),
        c,
        Purpose::WhatsAppChannel,
        CaptureChannel::Email,
    ))
    .unwrap();
    assert!(t.store.outbox().is_empty());
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::ConsentWithdrawn);
    assert!(t.store.actions(c).contains(&"consent.withdrawn"));
}

#[test]
fn a_deferred_erasure_is_registered_as_refused_in_part() {
    // R31
    let t = World::new().app();
    let c = consented(&t);
    block_on(t.app.end_process(t.world.tenant_id(), recruiter(), c, ProcessEndReason::Rejected, None)).unwrap();
    block_on(t.app.request_erasure(t.world.tenant_id(), dpo(), c)).unwrap();
    let requests = block_on(t.app.subject_requests(t.world.tenant_id(), Some(c))).unwrap();
    let erasure = requests.iter().find(|r| r.kind == SubjectRequestKind::Erasure).unwrap();
    assert!(
        matches!(&erasure.status, hoheit_domain::subject_request::SubjectRequestStatus::RefusedInPart { reason, .. } if reason == "legal_claims_window")
    );
}

#[test]
fn content_reads_are_audited_with_the_reader_and_refused_to_the_operator() {
    // R33
    let t = World::new().app();
    let c = consented(&t);
    block_on(t.app.read_messages(t.world.tenant_id(), recruiter(), c)).unwrap();
    let read = t.store.events().into_iter().rev().find(|e| e.event.action() == "content.read").unwrap();
    assert_eq!(read.actor, recruiter());
    assert_eq!(read.subject, Some(c));
    let operator = staff(Role::Operator);
    assert!(matches!(block_on(t.app.read_messages(t.world.tenant_id(), operator, c)), Err(UseCaseError::Forbidden(_))));
    assert!(matches!(
        block_on(t.app.export_subject(t.world.tenant_id(), operator, c)),
        Err(UseCaseError::Forbidden(_))
    ));
}

#[test]
fn art_18_restriction_blocks_everything_but_storage_and_can_be_lifted() {
    // R32
    let t = World::new().app();
    let c = consented(&t);
    send_text(&t, c, "wartet").unwrap();
    block_on(t.app.restrict(t.world.tenant_id(), recruiter(), c)).unwrap();
    assert!(t.store.outbox().is_empty(), "queued messages cancelled");
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::CandidateRestricted);
    assert_eq!(text_in(&t, "wamid.r1", "Hallo?"), InboundOutcome::Discarded, "new messages are not processed");
    assert!(matches!(
        block_on(t.app.read_messages(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Forbidden(_))
    ));
    assert!(matches!(
        block_on(t.app.lift_restriction(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Forbidden(_))
    ));
    block_on(t.app.lift_restriction(t.world.tenant_id(), dpo(), c)).unwrap();
    assert!(matches!(candidate(&t, c).lifecycle, Lifecycle::Active));
    let requests = block_on(t.app.subject_requests(t.world.tenant_id(), Some(c))).unwrap();
    assert!(requests.iter().any(|r| r.kind == SubjectRequestKind::Restriction));
}

#[test]
fn every_audited_decision_names_its_rule() {
    // R34: every refusal and every permitted send carries the rule that decided it
    let t = World::new().app();
    let c = new_candidate(&t);
    let _ = send_text(&t, c, "vor der Einwilligung");
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
    for e in t.store.events() {
        if matches!(
            e.event,
            hoheit_domain::events::DomainEvent::SendRefused { .. }
                | hoheit_domain::events::DomainEvent::MessageQueued { .. }
        ) {
            assert!(e.rule.is_some(), "{e:?}");
        }
    }
    let queued = t.store.events().into_iter().find(|e| e.event.action() == "message.queued").unwrap();
    assert_eq!(queued.rule, Some(hoheit_domain::rules::Rule::R10), "the consent-request exception");
}

#[test]
fn a_new_tenant_is_private_by_default() {
    // R36 (with R24's 6-month default): talent pool and archive off, auto-deletion on
    let tenant = hoheit_domain::tenant::Tenant::new(
        hoheit_domain::ids::TenantId::from_uuid(uuid::Uuid::nil()),
        "X GmbH",
        OffsetDateTime::UNIX_EPOCH,
    )
    .unwrap();
    assert_eq!(tenant.retention.erase_after_months, 6);
    assert_eq!(tenant.retention.talent_pool_months, 12);
    assert_eq!(tenant.retention.archive_after_days, None);
    assert_eq!(tenant.messaging.consent_request_limit, 2);
    let fresh = World::new().candidate();
    assert!(
        !fresh.consents().state(Purpose::TalentPool, OffsetDateTime::UNIX_EPOCH, 12).is_granted(),
        "no talent pool without consent"
    );
}

#[test]
fn a_legal_hold_is_due_for_review_after_six_months() {
    // R26
    let t = World::new().app();
    let c = new_candidate(&t);
    let hold =
        block_on(t.app.set_legal_hold(t.world.tenant_id(), dpo(), c, HoldReason::AuthorityInquiry, None)).unwrap();
    assert_eq!(hold.review_at, hoheit_domain::calendar::add_months(t.clock_now(), 6));
    assert!(hold.is_active());
}

/// A consented candidate of a tenant that archives after 30 days, 31 days later after the
/// retention run (and that run's counts).
fn archived() -> (TestApp, CandidateId, hoheit_domain::events::RetentionCounts) {
    let mut world = World::new();
    world.config.tenant.retention.archive_after_days = Some(30);
    let t = world.app();
    let c = consented(&t);
    t.clock.advance(Duration::days(31));
    let counts = retention(&t, false);
    (t, c, counts)
}

#[test]
fn inactive_conversations_are_archived_by_the_retention_run() {
    // R25: restricted after N days without activity, never messageable, readable by admin/DPO only
    let (t, c, counts) = archived();
    assert_eq!(counts.restricted, 1);
    assert!(matches!(
        candidate(&t, c).lifecycle,
        Lifecycle::Restricted { reason: hoheit_domain::candidate::RestrictionReason::Inactivity, .. }
    ));
    assert_eq!(refusal(send_text(&t, c, "Hallo?")), RefusalCode::CandidateRestricted);
    assert!(matches!(
        block_on(t.app.read_messages(t.world.tenant_id(), recruiter(), c)),
        Err(UseCaseError::Forbidden(_))
    ));
    assert!(block_on(t.app.read_messages(t.world.tenant_id(), dpo(), c)).is_ok());
}

fn last_grant(t: &TestApp, c: CandidateId) -> serde_json::Value {
    let state = candidate(t, c);
    let Some(hoheit_domain::consent::ConsentEntry::Granted(ev)) =
        state.consents().entries().iter().rev().find(|e| matches!(e, hoheit_domain::consent::ConsentEntry::Granted(_)))
    else {
        panic!("no grant")
    };
    serde_json::to_value(ev).unwrap()
}

fn rfc3339(at: OffsetDateTime) -> serde_json::Value {
    serde_json::Value::String(at.format(&time::format_description::well_known::Rfc3339).unwrap())
}

#[test]
fn a_stopp_from_a_restricted_candidate_is_applied_not_dropped() {
    // R11: an objection needs no form and is applied in any lifecycle state
    let t = World::new().app();
    let c = consented(&t);
    block_on(t.app.restrict(t.world.tenant_id(), recruiter(), c)).unwrap();
    assert_eq!(text_in(&t, "wamid.r1", "Hallo?"), InboundOutcome::Discarded, "other messages stay unprocessed");
    let out = text_in(&t, "wamid.r2", "STOPP");
    assert!(matches!(out, InboundOutcome::Stored { classification: Classification::Objection { .. }, .. }), "{out:?}");
    let state = candidate(&t, c);
    assert!(state.objection().is_objected());
    assert!(matches!(state.lifecycle, Lifecycle::Restricted { .. }), "still restricted");
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert!(block_on(t.store.suppression(t.world.tenant_id(), &key)).unwrap().is_some(), "R17");
    let requests = block_on(t.app.subject_requests(t.world.tenant_id(), Some(c))).unwrap();
    assert!(requests.iter().any(|r| r.kind == SubjectRequestKind::Objection), "R18");
    assert!(t.store.outbox().is_empty(), "a restricted candidate gets no confirmation");
}

#[test]
fn a_stopp_from_an_archived_candidate_is_applied_not_dropped() {
    // R11 with R25: an archived (restricted after inactivity) candidate's objection counts
    let (t, c, _) = archived();
    assert!(matches!(candidate(&t, c).lifecycle, Lifecycle::Restricted { .. }));
    let out = text_in(&t, "wamid.a1", "Bitte keine Nachrichten mehr");
    assert!(matches!(out, InboundOutcome::Stored { classification: Classification::Objection { .. }, .. }), "{out:?}");
    assert!(candidate(&t, c).objection().is_objected());
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert!(block_on(t.store.suppression(t.world.tenant_id(), &key)).unwrap().is_some());
}

#[test]
fn after_an_objection_each_message_permits_one_reply_and_acknowledgements_none() {
    // R14: one reply per inbound message with content; none for "ok", "danke" or an emoji
    let t = World::new().app();
    let c = objected_then_answered(&t, "STOPP");
    assert_eq!(refusal(send_text(&t, c, "Und noch etwas")), RefusalCode::Objected, "one reply per message");
    for (i, ack) in ["danke", "Ok 👍", "👍", "Alles klar, vielen Dank!"].into_iter().enumerate() {
        t.clock.advance(Duration::minutes(1));
        text_in(&t, &format!("wamid.ack{i}"), ack);
        assert_eq!(refusal(send_text(&t, c, "Gern geschehen")), RefusalCode::Objected, "{ack:?} permits no reply");
    }
    t.clock.advance(Duration::minutes(1));
    text_in(&t, "wamid.q2", "Wann kommen sie an?");
    send_text(&t, c, "Diese Woche.").unwrap();
    // the queued replies still pass the dispatcher's re-check
    assert!(t.dispatch_all_now().iter().all(|o| *o == DispatchOutcome::Sent));
}

#[test]
fn a_second_possible_objection_during_an_open_review_extends_it() {
    // R14 / R16: the reviewer sees every possible objection and the review does not end early
    let (t, c, first) = consented_with_review("wamid.p1", "Ich will meine Bewerbung nicht stoppen");
    t.clock.advance(Duration::days(1));
    let out = text_in(&t, "wamid.p2", "Können Sie das stoppen?");
    let InboundOutcome::Stored { message, classification: Classification::PossibleObjection { .. } } = out else {
        panic!("{out:?}")
    };
    let review = candidate(&t, c).objection().review.clone().unwrap();
    assert_eq!(review.id, first.id, "the open review is extended, not replaced");
    assert!(review.due_at > first.due_at, "due later: {} vs {}", review.due_at, first.due_at);
    assert!(review.further.contains(&message));
    assert!(t.store.actions(c).contains(&"objection.review_extended"));
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::ObjectionReviewPending);
}

#[test]
fn staff_given_time_is_stored_as_given_at_and_recorded_at_is_the_server_time() {
    // R5
    let t = World::new().app();
    let c = new_candidate(&t);
    let given = t.clock_now() - Duration::days(2);
    let input = ConsentInput {
        purpose: Purpose::TalentPool,
        method: ConsentMethod::SignedForm { document_ref: "scan-17".into() },
        capture_channel: CaptureChannel::Paper,
        texts_shown: None,
        given_at: Some(given),
    };
    block_on(t.app.record_consent(t.world.tenant_id(), recruiter(), c, input)).unwrap();
    let ev = last_grant(&t, c);
    assert_eq!(ev["recorded_at"], rfc3339(t.clock_now()), "{ev}");
    assert_eq!(ev["given_at"], rfc3339(given), "{ev}");
}

#[test]
fn an_opt_in_keyword_lists_no_text_it_did_not_show() {
    // R5: START shows the candidate no legal text, so its evidence lists none; the consent is
    // outdated (R7) until the candidate agrees to the consent request on the current texts
    let t = World::new().app();
    let c = consented(&t);
    text_in(&t, "wamid.stop", "STOPP");
    t.dispatch_all_now();
    t.clock.advance(Duration::minutes(1));
    text_in(&t, "wamid.start", "START");
    assert!(!candidate(&t, c).objection().is_objected());
    let ev = last_grant(&t, c);
    assert_eq!(ev["texts_shown"], serde_json::json!([]), "{ev}");
    assert_eq!(ev["recorded_at"], rfc3339(t.clock_now()));
    assert_eq!(refusal(send_text(&t, c, "Willkommen zurück")), RefusalCode::ConsentOutdated);
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
}

/// The fixture's consent-request template with another synced text (built through JSON, so the
/// test reads the same on code that did not know the text yet).
fn consent_template_with_text(t: &TestApp, text: &str) -> hoheit_domain::template::Template {
    let channel = t.world.channel();
    let template =
        t.world.config.templates.find(channel.id, &channel.consent_template.name, &channel.consent_template.language);
    let mut json = serde_json::to_value(template.unwrap()).unwrap();
    json["body_text"] = serde_json::Value::String(text.to_owned());
    json["components_json"] = serde_json::json!([{ "type": "BODY", "text": text }]).to_string().into();
    serde_json::from_value(json).unwrap()
}

fn sync_consent_template(t: &TestApp, text: &str) {
    let channel = t.world.channel().id;
    let template = consent_template_with_text(t, text);
    block_on(t.app.sync_templates(t.world.tenant_id(), Actor::System, channel, vec![template])).unwrap();
}

fn consent_template_marked(t: &TestApp) -> bool {
    let config = block_on(t.app.tenant_config(t.world.tenant_id())).unwrap();
    let channel = t.world.channel();
    config
        .templates
        .find(channel.id, &channel.consent_template.name, &channel.consent_template.language)
        .unwrap()
        .carries_notice
}

#[test]
fn no_message_without_the_notice_link_and_the_privacy_contact() {
    // R15: the notice needs a link and a contact; an empty link is no link
    let mut world = World::new();
    world.config.tenant.privacy_notice_url = Some(String::new());
    let t = world.app();
    let c = new_candidate(&t);
    let r = block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c));
    assert_eq!(refusal(r), RefusalCode::MissingNotice);

    let t = World::new().app();
    let c = consented(&t);
    send_text(&t, c, "Hallo").unwrap();
    // the tenant's own retention and messaging settings, with these contact and link
    let contact_and_link = |t: &TestApp, contact: Option<&str>, link: Option<&str>| {
        let tenant = &t.world.config.tenant;
        block_on(t.app.update_settings(
            tenant.id,
            staff(Role::Admin),
            tenant.retention.clone(),
            tenant.messaging.clone(),
            contact.map(str::to_owned),
            link.map(str::to_owned),
        ))
    };
    contact_and_link(&t, None, t.world.config.tenant.privacy_notice_url.as_deref()).unwrap();
    assert_eq!(refusal(send_text(&t, c, "Hallo")), RefusalCode::MissingNotice, "no privacy contact");

    // settings never store a blank link; a link must be a link
    let t = World::new().app();
    let updated = contact_and_link(&t, Some("datenschutz@beispiel.example"), Some("   ")).unwrap();
    assert_eq!(updated.privacy_notice_url, None);
    assert!(matches!(contact_and_link(&t, None, Some("beispiel.example/datenschutz")), Err(UseCaseError::Invalid(_))));
}

#[test]
fn the_consent_templates_notice_mark_follows_its_synced_text() {
    // R15: derived from the text, not set blindly
    let t = World::new().app();
    assert!(consent_template_marked(&t));
    // the synced text lost the link: the mark goes, and the consent request cannot be the first message
    sync_consent_template(
        &t,
        "{{1}} möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. WhatsApp gehört zu Meta; Daten \
         können in die USA übermittelt werden. Sie können jederzeit widersprechen: antworten Sie STOPP.",
    );
    assert!(!consent_template_marked(&t), "no link in the text: no notice");
    let c = new_candidate(&t);
    let r = block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c));
    assert_eq!(refusal(r), RefusalCode::MissingNotice);
    let channel = t.world.channel();
    assert!(matches!(
        block_on(t.app.mark_template_notice(
            t.world.tenant_id(),
            staff(Role::Dpo),
            channel.id,
            &channel.consent_template.name,
            &channel.consent_template.language,
            true,
        )),
        Err(UseCaseError::Conflict(_))
    ));
    // no objection hint either
    sync_consent_template(
        &t,
        "{{1}} möchte Sie zu Ihrer Bewerbung über WhatsApp (Meta, Daten in die USA) kontaktieren. Datenschutz: {{2}}",
    );
    assert!(!consent_template_marked(&t), "no objection hint: no notice");
    // link (as parameter) and hint: marked
    sync_consent_template(&t, hoheit_domain::testing::fixtures::CONSENT_TEMPLATE_DE);
    assert!(consent_template_marked(&t));
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
}

#[test]
fn the_synced_consent_template_is_checked_for_the_r6_elements() {
    // R6 holds for the text the candidate sees, not only for the published legal text
    let t = World::new().app();
    sync_consent_template(
        &t,
        "{{1}} möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. Sie können jederzeit widersprechen: \
         antworten Sie STOPP. Datenschutzhinweise: {{2}}",
    );
    let c = new_candidate(&t);
    let r = block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c));
    assert!(matches!(r, Err(UseCaseError::Conflict(_))), "{r:?}");
    assert!(t.store.outbox().is_empty());
    sync_consent_template(&t, hoheit_domain::testing::fixtures::CONSENT_TEMPLATE_DE);
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
}

#[test]
fn a_candidate_an_unknown_sender_created_is_erased_after_inactivity() {
    // R24: no recorded process end keeps nobody forever; the inactivity end counts as the end
    let t = World::new().app();
    let out = inbound(
        &t,
        "wamid.unknown",
        InboundContent::Text { body: "Hallo, ist die Stelle noch frei?".into() },
        t.clock_now(),
    );
    assert!(matches!(out, InboundOutcome::Stored { .. }));
    let key = hoheit_domain::inbound::ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    let c = block_on(t.store.candidate_by_contact(t.world.tenant_id(), &key)).unwrap().unwrap().id;
    // 6 months without activity end the process, the 6-month erase period then runs
    t.clock.advance(Duration::days(360));
    let counts = retention(&t, false);
    assert_eq!(counts.erased, 0, "not before the erase period has run");
    t.clock.advance(Duration::days(10));
    assert_retention_erases(&t, c);
}

/// Issue 14.3: a delivery status whose timestamp is older than the replay window is a replay:
/// acknowledged (no error) and not stored; one inside the window is merged as usual.
#[test]
fn a_status_older_than_the_replay_window_is_not_stored() {
    let t = World::new().app();
    let c = new_candidate(&t);
    block_on(t.app.request_consent(t.world.tenant_id(), recruiter(), c)).unwrap();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    let messages = block_on(t.store.messages(t.world.tenant_id(), c)).unwrap();
    let sent = messages.iter().find(|m| m.provider_id.is_some()).unwrap();
    let status = |status, timestamp| StatusUpdate {
        provider_id: sent.provider_id.clone().unwrap(),
        status,
        timestamp,
        recipient: None,
        recipient_user_id: None,
        errors: vec![],
        pricing: None,
        callback_data: None,
    };
    let now = t.clock_now();
    assert!(t.app.is_replay(now - Duration::days(7) - Duration::seconds(1)));
    assert!(!t.app.is_replay(now - Duration::days(7) + Duration::seconds(1)));
    block_on(t.app.apply_status(t.world.tenant_id(), &status(DeliveryStatus::Read, now - Duration::days(8)))).unwrap();
    assert_ne!(delivery_status(&t, sent.id), Some(DeliveryStatus::Read), "the replayed status was not stored");
    block_on(t.app.apply_status(t.world.tenant_id(), &status(DeliveryStatus::Read, now - Duration::days(6)))).unwrap();
    assert_eq!(delivery_status(&t, sent.id), Some(DeliveryStatus::Read));
    // the window is configurable, and a window of zero falls back to the default
    assert_eq!(t.app.clone().with_replay_window(Duration::ZERO).replay_window(), Duration::days(7));
    assert!(t.app.clone().with_replay_window(Duration::days(1)).is_replay(now - Duration::days(2)));
}

// ---------------------------------------------------------------- exactly once across crashes

/// Claims the one due entry and dispatches it until the provider accepted it, then "crashes":
/// the dispatch is dropped before the answer is recorded. Returns the entry and the provider id.
fn crash_after_acceptance(t: &TestApp) -> (hoheit_domain::ports::OutboxEntry, Wamid) {
    let claimed = block_on(t.store.claim(t.clock_now(), Duration::minutes(1), 10)).unwrap();
    assert_eq!(claimed.len(), 1);
    t.gateway.crash_after_next_accept();
    {
        let mut dispatch = std::pin::pin!(t.app.dispatch(&claimed[0]));
        let poll = dispatch.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(poll.is_pending(), "the send never answers");
    }
    (claimed[0].clone(), t.gateway.accepted_unanswered().last().unwrap().clone())
}

fn tagged_status(t: &TestApp, wamid: &Wamid, status: DeliveryStatus, tag: Option<String>) {
    let update = StatusUpdate {
        provider_id: wamid.clone(),
        status,
        timestamp: t.clock_now(),
        recipient: None,
        recipient_user_id: None,
        errors: vec![],
        pricing: None,
        callback_data: tag,
    };
    block_on(t.app.apply_status(t.world.tenant_id(), &update)).unwrap();
}

fn pending(t: &TestApp, c: CandidateId) -> Vec<hoheit_domain::ports::OutboxEntry> {
    block_on(t.store.pending_outbox(t.world.tenant_id(), c)).unwrap()
}

#[test]
fn every_send_carries_its_outbox_id_as_an_opaque_tag() {
    let (t, _, queued) = invitation_queued();
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    let tag = t.gateway.sent().last().unwrap().tag.clone();
    assert_eq!(tag, hoheit_domain::attempt::callback_tag(queued.outbox));
    assert!(!tag.contains("170") && !tag.contains("Einladung"), "no personal data in the tag");
}

#[test]
fn an_attempt_cut_off_by_a_crash_waits_for_its_status_and_is_confirmed_by_it_without_a_resend() {
    let (t, c, queued) = invitation_queued();
    let sends = t.gateway.sent().len();
    let (entry, wamid) = crash_after_acceptance(&t);
    assert_eq!(t.gateway.sent().len(), sends + 1);
    let open = pending(&t, c);
    assert_eq!(open.len(), 1, "the outcome was never recorded");
    let attempt = open[0].attempt.clone().expect("the attempt was recorded before the call");
    assert_eq!(attempt.receipt, None);

    // the lease is over, the wait is not: nothing is claimed, and a dispatcher that has the entry
    // anyway waits instead of sending
    t.clock.advance(Duration::minutes(2));
    assert_eq!(t.dispatch_all_now(), vec![]);
    let until = attempt.started_at + hoheit_domain::attempt::DEFAULT_STATUS_WAIT;
    assert_eq!(block_on(t.app.dispatch(&open[0])).unwrap(), DispatchOutcome::AwaitingStatus { until });
    assert_eq!(t.gateway.sent().len(), sends + 1, "not resent within the wait");

    // the status webhook echoes the tag: the attempt is confirmed, recorded as sent, not resent
    tagged_status(&t, &wamid, DeliveryStatus::Sent, Some(hoheit_domain::attempt::callback_tag(entry.id)));
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Confirmed]);
    assert_eq!(t.gateway.sent().len(), sends + 1, "exactly one send reached the provider");
    assert!(pending(&t, c).is_empty());
    let message = block_on(t.store.message(t.world.tenant_id(), queued.message)).unwrap().unwrap();
    assert_eq!(message.provider_id, Some(wamid));
    assert!(message.status.get(DeliveryStatus::Accepted).is_some());
    assert!(t.store.actions(c).contains(&"message.sent"));
    // later statuses and redeliveries change nothing
    t.clock.advance(Duration::minutes(10));
    assert_eq!(t.dispatch_all_now(), vec![]);
}

#[test]
fn a_status_without_our_tag_confirms_nothing() {
    let (t, c, _) = invitation_queued();
    let (entry, wamid) = crash_after_acceptance(&t);
    tagged_status(&t, &wamid, DeliveryStatus::Sent, None);
    tagged_status(&t, &wamid, DeliveryStatus::Sent, Some(entry.id.to_string()));
    assert_eq!(pending(&t, c)[0].attempt.as_ref().unwrap().receipt, None);
}

#[test]
fn without_a_status_the_attempt_is_decided_again_and_resent_after_the_wait() {
    let (t, c, queued) = invitation_queued();
    let sends = t.gateway.sent().len();
    crash_after_acceptance(&t);
    t.clock.advance(Duration::minutes(4));
    assert_eq!(t.dispatch_all_now(), vec![], "still within the wait");
    t.clock.advance(Duration::minutes(1));
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
    let sent = t.gateway.sent();
    assert_eq!(sent.len(), sends + 2, "the one duplicate the design accepts when no status ever comes");
    assert_eq!(sent[sends].tag, sent[sends + 1].tag, "the resend carries the same tag");
    assert!(pending(&t, c).is_empty());
    assert_eq!(delivery_status(&t, queued.message), Some(DeliveryStatus::Accepted));
}

#[test]
fn an_objection_during_the_wait_wins_over_the_resend() {
    let (t, c, queued) = invitation_queued();
    crash_after_acceptance(&t);
    let input = ObjectionInput { channel: CaptureChannel::Phone, note: None, received_at: None };
    block_on(t.app.record_objection(t.world.tenant_id(), recruiter(), c, input)).unwrap();
    let sends = t.gateway.sent().len();
    t.clock.advance(Duration::minutes(6));
    let outcomes = t.dispatch_all_now();
    assert!(outcomes.contains(&DispatchOutcome::Refused(RefusalCode::Objected)), "{outcomes:?}");
    let regular: Vec<_> = t
        .gateway
        .sent()
        .into_iter()
        .skip(sends)
        .filter(|s| matches!(s.content, OutboundContent::Text { .. }))
        .collect();
    assert!(
        regular.iter().all(|s| s.tag != hoheit_domain::attempt::callback_tag(queued.outbox)),
        "the message was not resent after the objection"
    );
    assert_eq!(delivery_status(&t, queued.message), Some(DeliveryStatus::Cancelled));
    assert!(pending(&t, c).is_empty());
}

#[test]
fn a_status_after_an_objection_still_records_the_attempt_that_went_out_before_it() {
    let (t, c, queued) = invitation_queued();
    let (entry, wamid) = crash_after_acceptance(&t);
    let input = ObjectionInput { channel: CaptureChannel::Phone, note: None, received_at: None };
    block_on(t.app.record_objection(t.world.tenant_id(), recruiter(), c, input)).unwrap();
    let sends = t.gateway.sent().len();
    tagged_status(&t, &wamid, DeliveryStatus::Delivered, Some(hoheit_domain::attempt::callback_tag(entry.id)));
    t.clock.advance(Duration::minutes(2));
    let outcomes = t.dispatch_all_now();
    assert!(outcomes.contains(&DispatchOutcome::Confirmed), "{outcomes:?}");
    assert!(
        t.gateway.sent().into_iter().skip(sends).all(|s| s.tag != hoheit_domain::attempt::callback_tag(entry.id)),
        "confirmed, not resent"
    );
    let message = block_on(t.store.message(t.world.tenant_id(), queued.message)).unwrap().unwrap();
    assert_eq!(message.provider_id, Some(wamid));
    assert!(message.status.get(DeliveryStatus::Accepted).is_some(), "no longer only cancelled");
}

#[test]
fn an_entry_cancelled_after_the_last_decision_is_not_sent() {
    let (t, _, _) = invitation_queued();
    let claimed = block_on(t.store.claim(t.clock_now(), Duration::minutes(1), 10)).unwrap();
    // gone between the decision and the attempt's record (here: removed while waiting for the slot)
    let store = t.store.clone();
    let (tenant, id) = (t.world.tenant_id(), claimed[0].id);
    t.gateway.during_next_pace(async move {
        let changes = hoheit_domain::ports::ChangeSet {
            outbox: vec![hoheit_domain::ports::OutboxChange::Complete { id }],
            ..Default::default()
        };
        store.commit(tenant, changes).await.unwrap();
    });
    let sends = t.gateway.sent().len();
    assert_eq!(block_on(t.app.dispatch(&claimed[0])).unwrap(), DispatchOutcome::Dropped);
    assert_eq!(t.gateway.sent().len(), sends, "the attempt's record found no entry: nothing sent");
}

#[test]
fn a_transient_failure_closes_the_attempt_and_the_retry_is_not_held_back() {
    let (t, c, _) = invitation_queued();
    t.gateway.script([Err(GatewayError::Transient { code: Some(503) })]);
    let outcomes = t.dispatch_all_now();
    assert!(matches!(outcomes.as_slice(), [DispatchOutcome::Retry { .. }]), "{outcomes:?}");
    assert_eq!(pending(&t, c)[0].attempt, None, "the provider refused it: no attempt is open");
    t.clock.advance(Duration::seconds(3));
    assert_eq!(t.dispatch_all_now(), vec![DispatchOutcome::Sent]);
}

#[test]
fn a_claimer_whose_lease_ran_out_does_not_send_what_another_claimer_attempted() {
    let (t, c, _) = invitation_queued();
    let stale = block_on(t.store.claim(t.clock_now(), Duration::seconds(5), 10)).unwrap();
    assert_eq!(stale.len(), 1);
    // the first claim's lease runs out while it is slow; a second dispatcher claims the entry,
    // records its attempt and dies after the provider accepted it
    t.clock.advance(Duration::seconds(6));
    crash_after_acceptance(&t);
    let sends = t.gateway.sent().len();
    assert_eq!(block_on(t.app.dispatch(&stale[0])).unwrap(), DispatchOutcome::LeaseExpired);
    assert_eq!(t.gateway.sent().len(), sends, "the stale claimer's attempt was refused: not sent twice");
    assert!(pending(&t, c)[0].attempt.is_some(), "the other claimer's attempt stays open");
}
