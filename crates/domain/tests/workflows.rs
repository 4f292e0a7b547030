//! The DPO and recruiter workflows over the ports (in-memory store, fake gateway): objection
//! review with reasons and audited reads (R16, R33), the subject-request register with
//! fulfilment links (R18, R29-R31), template notice marks and parameter checks (R15, R21), and
//! media in and out (R27, R33).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use futures_executor::block_on;
use hoheit_domain::consent::{CaptureChannel, ConsentMethod, Purpose};
use hoheit_domain::conversation::{Intent, OutboundContent};
use hoheit_domain::events::{ContentKind, DomainEvent};
use hoheit_domain::ids::CandidateId;
use hoheit_domain::inbound::{InboundContent, MediaKind};
use hoheit_domain::media::{
    MAX_FETCH_ATTEMPTS, MediaFetch, MediaLimits, MediaRejection, MediaStatus, OutboundDocument,
};
use hoheit_domain::objection::DismissReason;
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::ports::{Clock, Store};
use hoheit_domain::subject_request::{Fulfilment, SubjectRequestKind, SubjectRequestStatus};
use hoheit_domain::tenant::{Actor, Role};
use hoheit_domain::testing::fixtures::{TestApp, World, dpo, recruiter, staff};
use hoheit_domain::usecases::{
    Answer, ConsentInput, DispatchOutcome, ErasureOutcome, InboundOutcome, MessageRequest, NewCandidate,
    ReviewDecision, UseCaseError,
};
use hoheit_domain::values::{LanguageCode, PhoneNumber, Pii, TemplateName};
use time::Duration;

fn tenant(t: &TestApp) -> hoheit_domain::ids::TenantId {
    t.world.tenant_id()
}

/// Answers the subject request `id` with `answer` as `actor`.
fn answer(
    t: &TestApp,
    actor: Actor,
    id: hoheit_domain::ids::SubjectRequestId,
    answer: Answer,
) -> Result<hoheit_domain::usecases::Answered, UseCaseError> {
    block_on(t.app.answer_subject_request(tenant(t), actor, id, answer))
}

/// A candidate who consented by phone and wrote a minute ago (the window is open, no notice yet).
fn engaged(t: &TestApp) -> CandidateId {
    let c = block_on(t.new_candidate());
    block_on(t.app.record_consent(
        tenant(t),
        recruiter(),
        c,
        ConsentInput {
            purpose: Purpose::WhatsAppChannel,
            method: ConsentMethod::RecordedVerbal {
                staff: hoheit_domain::ids::StaffId::from_uuid(uuid::Uuid::nil()),
                note: None,
            },
            capture_channel: CaptureChannel::Phone,
            texts_shown: None,
            given_at: None,
        },
    ))
    .unwrap();
    inbound(t, "wamid.hallo", InboundContent::Text { body: "Hallo".into() });
    c
}

fn inbound(t: &TestApp, id: &str, content: InboundContent) -> InboundOutcome {
    block_on(t.inbound(id, content))
}

fn events(t: &TestApp, c: CandidateId) -> Vec<(Actor, DomainEvent)> {
    t.store.events().into_iter().filter(|e| e.subject == Some(c)).map(|e| (e.actor, e.event)).collect()
}

fn refusal<T: std::fmt::Debug>(r: Result<T, UseCaseError>) -> RefusalCode {
    match r {
        Err(UseCaseError::Refused(refusal)) => refusal.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn text(t: &TestApp, c: CandidateId, body: &str) -> Result<hoheit_domain::usecases::Queued, UseCaseError> {
    block_on(t.app.send_message(tenant(t), recruiter(), c, MessageRequest::Text(body.into())))
}

#[test]
fn a_dismissed_review_unblocks_and_the_audit_says_who_and_why() {
    let t = World::new().app();
    let c = engaged(&t);
    inbound(&t, "wamid.t2", InboundContent::Text { body: "Ich will meine Bewerbung nicht stoppen".into() });
    assert_eq!(refusal(text(&t, c, "Danke!")), RefusalCode::ObjectionReviewPending);
    let (_, review) = block_on(t.app.review(
        tenant(&t),
        c,
        block_on(t.store.candidate(tenant(&t), c)).unwrap().unwrap().objection().review.clone().unwrap().id,
    ))
    .unwrap();
    assert!(!review.matched.is_empty(), "the classifier's reason is shown");

    // reading the message under review is audited with the reader
    let message = block_on(t.app.read_review_message(tenant(&t), recruiter(), c, review.id)).unwrap();
    assert_eq!(message.id, review.message);
    assert!(events(&t, c).contains(&(recruiter(), DomainEvent::ContentRead { what: ContentKind::ReviewMessage })));
    let operator = staff(Role::Operator);
    assert!(matches!(
        block_on(t.app.read_review_message(tenant(&t), operator, c, review.id)),
        Err(UseCaseError::Forbidden(_))
    ));

    block_on(t.app.decide_review(
        tenant(&t),
        dpo(),
        c,
        review.id,
        ReviewDecision::Dismiss(DismissReason::NegatedKeyword),
    ))
    .unwrap();
    assert!(events(&t, c).contains(&(
        dpo(),
        DomainEvent::ObjectionReviewDismissed { review: review.id, reason: DismissReason::NegatedKeyword }
    )));
    text(&t, c, "Danke!").unwrap();
    // decided once: a second decision finds no review
    assert!(matches!(
        block_on(t.app.decide_review(tenant(&t), dpo(), c, review.id, ReviewDecision::Confirm)),
        Err(UseCaseError::NotFound("review"))
    ));
}

#[test]
fn a_confirmed_review_applies_the_objection_and_opens_the_subject_request() {
    let t = World::new().app();
    let c = engaged(&t);
    inbound(&t, "wamid.t2", InboundContent::Text { body: "Können Sie das stoppen?".into() });
    let review = block_on(t.store.candidate(tenant(&t), c)).unwrap().unwrap().objection().review.clone().unwrap();
    let candidate = block_on(t.app.decide_review(tenant(&t), dpo(), c, review.id, ReviewDecision::Confirm)).unwrap();
    assert!(candidate.objection().is_objected());
    assert_eq!(refusal(text(&t, c, "Hallo")), RefusalCode::Objected);
    let requests = block_on(t.app.subject_requests(tenant(&t), Some(c))).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].kind, SubjectRequestKind::Objection);

    // the register links the request to the objection in effect
    let answered = answer(&t, dpo(), requests[0].id, Answer::Objection).unwrap();
    assert_eq!(answered.request.fulfilment, Some(Fulfilment::Objection { at: review.opened_at }));
    assert!(
        matches!(answered.request.status, SubjectRequestStatus::Fulfilled { ref outcome, .. } if outcome == "objection")
    );
}

/// The DPO registers a subject request of candidate `c`, received now.
fn open_request(
    t: &TestApp,
    c: CandidateId,
    kind: SubjectRequestKind,
    channel: CaptureChannel,
) -> hoheit_domain::subject_request::SubjectRequest {
    block_on(t.app.open_subject_request(tenant(t), dpo(), Some(c), kind, channel, None)).unwrap()
}

/// A new app, an engaged candidate and their open request of `kind`.
fn engaged_with_request(
    kind: SubjectRequestKind,
    channel: CaptureChannel,
) -> (TestApp, CandidateId, hoheit_domain::subject_request::SubjectRequest) {
    let t = World::new().app();
    let c = engaged(&t);
    let request = open_request(&t, c, kind, channel);
    (t, c, request)
}

#[test]
fn erasure_requests_close_with_a_link_to_the_erasure_or_its_deferral() {
    let (t, c, request) = engaged_with_request(SubjectRequestKind::Erasure, CaptureChannel::Email);
    // the wrong answer for the kind
    assert!(matches!(
        answer(&t, dpo(), request.id, Answer::Objection),
        Err(UseCaseError::Invalid(_) | UseCaseError::Conflict(_))
    ));
    // recruiters do not keep the register
    assert!(matches!(answer(&t, recruiter(), request.id, Answer::Erasure), Err(UseCaseError::Forbidden(_))));
    // rejected a week ago: inside the claims window, so restricted now and erased later (R31)
    block_on(t.app.end_process(
        tenant(&t),
        dpo(),
        c,
        hoheit_domain::candidate::ProcessEndReason::Rejected,
        Some(t.clock.now() - Duration::days(7)),
    ))
    .unwrap();
    let answered = answer(&t, dpo(), request.id, Answer::Erasure).unwrap();
    let Some(ErasureOutcome::Deferred { until }) = answered.erasure else { panic!("{:?}", answered.erasure) };
    assert_eq!(
        answered.request.status,
        SubjectRequestStatus::RefusedInPart { at: t.clock.now(), reason: "legal_claims_window".into() }
    );
    assert_eq!(answered.request.fulfilment, Some(Fulfilment::ErasureDeferred { at: t.clock.now(), erase_at: until }));
    // one register entry (the request itself), not a second one
    assert_eq!(block_on(t.app.subject_requests(tenant(&t), Some(c))).unwrap().len(), 1);

    // a second candidate, no process end: erased at once
    let (t, c, request) = engaged_with_request(SubjectRequestKind::Erasure, CaptureChannel::Paper);
    let answered = answer(&t, dpo(), request.id, Answer::Erasure).unwrap();
    assert_eq!(answered.erasure, Some(ErasureOutcome::Erased));
    assert_eq!(answered.request.fulfilment, Some(Fulfilment::Erasure { at: t.clock.now() }));
    assert!(t.store.is_shredded(tenant(&t), c));
    let stored = block_on(t.app.subject_request(tenant(&t), request.id)).unwrap();
    assert_eq!(stored, answered.request);
    assert!(matches!(answer(&t, dpo(), request.id, Answer::Erasure), Err(UseCaseError::Conflict(_))));
}

#[test]
fn access_requests_link_the_export_by_its_hash() {
    let (t, c, request) = engaged_with_request(SubjectRequestKind::Access, CaptureChannel::Email);
    assert!(matches!(
        answer(&t, dpo(), request.id, Answer::Export { sha256: "xyz".into() }),
        Err(UseCaseError::Invalid(_))
    ));
    let sha = "AB".repeat(32);
    let answered = answer(&t, dpo(), request.id, Answer::Export { sha256: sha }).unwrap();
    assert_eq!(answered.request.fulfilment, Some(Fulfilment::Export { at: t.clock.now(), sha256: "ab".repeat(32) }));
    // restriction is not in effect: it cannot be the answer
    let restriction = open_request(&t, c, SubjectRequestKind::Restriction, CaptureChannel::Email);
    assert!(matches!(answer(&t, dpo(), restriction.id, Answer::Restriction), Err(UseCaseError::Conflict(_))));
}

#[test]
fn the_consent_template_keeps_its_notice_mark() {
    let t = World::new().app();
    let channel = t.world.channel().id;
    let consent = TemplateName::parse("consent_request").unwrap();
    let de = LanguageCode::german();
    assert!(matches!(
        block_on(t.app.mark_template_notice(tenant(&t), dpo(), channel, &consent, &de, false)),
        Err(UseCaseError::Conflict(_))
    ));
    let invite = TemplateName::parse("interview_invite").unwrap();
    let marked = block_on(t.app.mark_template_notice(tenant(&t), dpo(), channel, &invite, &de, true)).unwrap();
    assert!(marked.carries_notice);
    assert!(
        t.store.events().iter().any(|e| e.event == DomainEvent::TemplateNoticeMarked { channel, carries_notice: true })
    );
    let unknown = TemplateName::parse("nope").unwrap();
    assert!(matches!(
        block_on(t.app.mark_template_notice(tenant(&t), dpo(), channel, &unknown, &de, true)),
        Err(UseCaseError::NotFound("template"))
    ));
}

#[test]
fn template_parameters_are_checked_before_queueing() {
    let t = World::new().app();
    let c = engaged(&t);
    let send = |params: &[&str]| {
        block_on(t.app.send_message(
            tenant(&t),
            recruiter(),
            c,
            MessageRequest::Template {
                name: TemplateName::parse("interview_invite").unwrap(),
                language: LanguageCode::german(),
                parameters: params.iter().map(|p| Pii::new((*p).to_owned())).collect(),
            },
        ))
    };
    assert!(matches!(send(&[]), Err(UseCaseError::Invalid(_))));
    assert!(matches!(send(&["Montag\n10 Uhr"]), Err(UseCaseError::Invalid(_))));
    assert!(matches!(send(&["  "]), Err(UseCaseError::Invalid(_))));
    assert!(t.store.outbox().is_empty(), "nothing was queued");
}

fn pdf() -> OutboundDocument {
    OutboundDocument {
        content: Pii::new(b"%PDF-1.7 Einladung".to_vec()),
        mime_type: "application/pdf".into(),
        filename: Pii::new("Einladung.pdf".into()),
        caption: Some(Pii::new("Ihre Einladung zum Gespräch".into())),
    }
}

#[test]
fn a_document_is_decided_before_upload_and_sent_by_media_id() {
    let t = World::new().app();
    // without consent nothing leaves hoheit: no upload, an audited refusal
    let stranger = block_on(t.app.create_candidate(
        tenant(&t),
        recruiter(),
        NewCandidate {
            phone: PhoneNumber::parse("+49 170 7654321").unwrap(),
            name: None,
            channel: t.world.channel().id,
            language: None,
        },
    ))
    .unwrap()
    .id;
    let r = block_on(t.app.send_document(tenant(&t), recruiter(), stranger, pdf(), MediaLimits::default()));
    assert_eq!(refusal(r), RefusalCode::ConsentMissing);
    assert!(t.gateway.uploads().is_empty());

    let c = engaged(&t);
    let queued = block_on(t.app.send_document(tenant(&t), recruiter(), c, pdf(), MediaLimits::default())).unwrap();
    let uploads = t.gateway.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].mime_type, "application/pdf");
    assert_eq!(uploads[0].content.expose(), b"%PDF-1.7 Einladung");
    assert_eq!(block_on(t.dispatch_all()), vec![DispatchOutcome::Sent]);
    let sent = t.gateway.sent().pop().unwrap();
    let OutboundContent::Document { media_id, filename, caption } = sent.content else { panic!("{:?}", sent.content) };
    assert_eq!(media_id, uploads[0].media_id);
    assert_eq!(filename.expose(), "Einladung.pdf");
    // the first message of the conversation carries the notice in the caption (R15)
    let caption = caption.unwrap();
    assert!(caption.expose().starts_with("Ihre Einladung zum Gespräch"));
    assert!(caption.expose().contains("STOPP"), "{}", caption.expose());
    // a sealed copy is kept with the candidate's data and can be read (audited)
    let files = block_on(t.app.media_files(tenant(&t), c)).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].message, queued.message);
    assert_eq!(files[0].status, MediaStatus::Stored);
    let (record, bytes) = block_on(t.app.read_media(tenant(&t), recruiter(), c, files[0].id)).unwrap();
    assert_eq!(record.kind, MediaKind::Document);
    assert_eq!(bytes.expose(), b"%PDF-1.7 Einladung");
    assert!(events(&t, c).contains(&(recruiter(), DomainEvent::ContentRead { what: ContentKind::Media })));
    // the message is a media message, queued as a regular recruiter message
    assert!(t.store.events().iter().any(|e| matches!(
        e.event,
        DomainEvent::MessageQueued {
            intent: Intent::Regular,
            kind: hoheit_domain::conversation::MessageKind::Media,
            ..
        }
    )));
}

#[test]
fn documents_outside_the_window_or_of_the_wrong_type_are_refused() {
    let t = World::new().app();
    let c = engaged(&t);
    t.clock.advance(Duration::hours(25));
    let r = block_on(t.app.send_document(tenant(&t), recruiter(), c, pdf(), MediaLimits::default()));
    assert_eq!(refusal(r), RefusalCode::WindowClosed);
    let mut exe = pdf();
    exe.mime_type = "application/x-msdownload".into();
    assert!(matches!(
        block_on(t.app.send_document(tenant(&t), recruiter(), c, exe, MediaLimits::default())),
        Err(UseCaseError::Invalid(_))
    ));
    assert!(t.gateway.uploads().is_empty());
}

fn image_in(t: &TestApp, id: &str, media_id: &str) {
    let out = inbound(
        t,
        id,
        InboundContent::Media {
            kind: MediaKind::Image,
            media_id: media_id.into(),
            mime_type: Some("image/jpeg".into()),
            sha256: Some(Pii::new("announced".into())),
            caption: None,
            filename: None,
        },
    );
    assert!(matches!(out, InboundOutcome::Stored { .. }));
}

/// A new app and an engaged candidate who sent `n` images (`wamid.img1`, media id `m1`, ...),
/// with their media records.
fn engaged_with_images(n: usize) -> (TestApp, CandidateId, Vec<hoheit_domain::media::MediaRecord>) {
    let t = World::new().app();
    let c = engaged(&t);
    for i in 1..=n {
        image_in(&t, &format!("wamid.img{i}"), &format!("m{i}"));
    }
    let files = block_on(t.app.media_files(tenant(&t), c)).unwrap();
    (t, c, files)
}

#[test]
fn inbound_media_is_announced_fetched_checked_and_stored() {
    let t = World::new().app();
    let c = engaged(&t);
    image_in(&t, "wamid.img1", "1037543291543636");
    let files = block_on(t.app.media_files(tenant(&t), c)).unwrap();
    assert_eq!(files.len(), 1);
    let file = files[0].clone();
    assert_eq!(file.status, MediaStatus::Pending);
    assert_eq!(file.provider_media_id.expose(), "1037543291543636");
    // not stored yet: nothing to read
    assert!(matches!(block_on(t.app.read_media(tenant(&t), recruiter(), c, file.id)), Err(UseCaseError::Conflict(_))));
    let limits = MediaLimits::default();
    // a transient failure counts an attempt and keeps it pending
    let status = block_on(t.app.record_media_fetch(tenant(&t), file.id, MediaFetch::Transient, limits)).unwrap();
    assert_eq!(status, MediaStatus::Pending);
    let stored = block_on(t.store.media(tenant(&t), file.id)).unwrap().unwrap();
    assert_eq!(stored.attempts, 1);
    assert!(stored.next_attempt_at.unwrap() > t.clock.now());
    let fetched =
        MediaFetch::Fetched { content: Pii::new(vec![0xFF, 0xD8, 0xFF]), mime_type: Some("image/jpeg".into()) };
    let status = block_on(t.app.record_media_fetch(tenant(&t), file.id, fetched, limits)).unwrap();
    assert_eq!(status, MediaStatus::Stored);
    let (record, bytes) = block_on(t.app.read_media(tenant(&t), dpo(), c, file.id)).unwrap();
    assert_eq!(bytes.expose(), &vec![0xFF, 0xD8, 0xFF]);
    assert_eq!(record.size, Some(3));
    assert_eq!(record.sha256.as_deref(), Some(hoheit_domain::media::sha256_hex(&[0xFF, 0xD8, 0xFF]).as_str()));
    // idempotent: a second report changes nothing
    let again =
        block_on(t.app.record_media_fetch(tenant(&t), file.id, MediaFetch::Refused(MediaRejection::TooLarge), limits))
            .unwrap();
    assert_eq!(again, MediaStatus::Stored);
}

#[test]
fn media_that_fails_the_checks_is_rejected_and_audited() {
    let (t, c, files) = engaged_with_images(4);
    let limits = MediaLimits { max_bytes: 6 };
    let record = |i: usize, fetch: MediaFetch| {
        block_on(t.app.record_media_fetch(tenant(&t), files[i].id, fetch, limits)).unwrap()
    };
    let svg = MediaFetch::Fetched { content: Pii::new(b"<svg/>".to_vec()), mime_type: Some("image/svg+xml".into()) };
    assert_eq!(record(0, svg), MediaStatus::Rejected);
    let big = MediaFetch::Fetched { content: Pii::new(vec![0; 7]), mime_type: Some("image/jpeg".into()) };
    assert_eq!(record(1, big), MediaStatus::Rejected);
    assert_eq!(record(2, MediaFetch::Refused(MediaRejection::IntegrityMismatch)), MediaStatus::Rejected);
    for _ in 0..MAX_FETCH_ATTEMPTS - 1 {
        assert_eq!(record(3, MediaFetch::Transient), MediaStatus::Pending);
    }
    assert_eq!(record(3, MediaFetch::Transient), MediaStatus::Rejected);
    let reasons: Vec<MediaRejection> = events(&t, c)
        .into_iter()
        .filter_map(|(_, e)| if let DomainEvent::MediaRejected { reason, .. } = e { Some(reason) } else { None })
        .collect();
    assert_eq!(
        reasons,
        [
            MediaRejection::TypeNotAllowed,
            MediaRejection::TooLarge,
            MediaRejection::IntegrityMismatch,
            MediaRejection::Unavailable
        ]
    );
    assert!(matches!(
        block_on(t.app.read_media(tenant(&t), recruiter(), c, files[0].id)),
        Err(UseCaseError::Conflict(_))
    ));
}

#[test]
fn media_is_erased_with_the_candidate_and_a_late_fetch_is_dropped() {
    let (t, c, files) = engaged_with_images(2);
    let fetched = || MediaFetch::Fetched { content: Pii::new(vec![1, 2, 3]), mime_type: Some("image/png".into()) };
    block_on(t.app.record_media_fetch(tenant(&t), files[0].id, fetched(), MediaLimits::default())).unwrap();
    assert_eq!(block_on(t.app.request_erasure(tenant(&t), dpo(), c)).unwrap(), ErasureOutcome::Erased);
    assert!(block_on(t.store.media(tenant(&t), files[0].id)).unwrap().is_none());
    assert!(block_on(t.store.media_content(tenant(&t), files[0].id)).unwrap().is_none());
    assert!(block_on(t.app.media_files(tenant(&t), c)).unwrap().is_empty());
    // the worker fetched the second file before the erasure and reports afterwards: gone
    assert!(matches!(
        block_on(t.app.record_media_fetch(tenant(&t), files[1].id, fetched(), MediaLimits::default())),
        Err(UseCaseError::NotFound(_))
    ));
}
