//! The recruiter inbox in the browser (issue 17, first part) over HTTP with a signed-in
//! recruiter: the conversation list, a thread (an audited content read), and a composer that
//! offers exactly what the send policy allows now, from "Einwilligung anfragen" to free text in
//! the window to the objection banner; a send the rules forbid is refused by the server even when
//! the form is posted anyway. And the DPO's console for possible objections (issue 18).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::web::{Session, by_id, content_reads};
use common::*;
use hoheit_server::harness::{Harness, HarnessOptions, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_composer_offers_what_the_rules_allow_and_the_server_refuses_the_rest() {
    let (h, _dir) = sqlite().await;
    let t = tenant(&h, "Inbox GmbH", h.sim.phone_number_id()).await;
    let c = candidate(&t, NUMBER).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@inbox.example").await;

    // the list: the candidate with its state in words
    let list = rita.get("/inbox").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains(&format!("href=\"/inbox/{c}\"")), "{}", list.html);
    let table = by_id(&list.html, "conversations").unwrap();
    assert!(table.contains("Erika Mustermann") && table.contains("Keine Einwilligung"), "{table}");

    // no consent yet: only "Einwilligung anfragen", with the requests left; no free text
    let reads = content_reads(&t).await;
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert_eq!(thread.status, 200);
    assert_eq!(content_reads(&t).await, reads + 1, "opening a thread is an audited content read");
    let banner = by_id(&thread.html, "composer-banner").unwrap();
    assert!(banner.contains("noch nicht zugestimmt"), "{banner}");
    assert_eq!(by_id(&thread.html, "consent-left").as_deref(), Some("2"));
    assert!(!thread.html.contains("compose-text"), "no free text before consent");
    assert!(!thread.html.contains("compose-template"), "no template before consent");
    // free text posted anyway is refused by the server, and nothing is queued
    let refused = rita.post(&format!("/inbox/{c}/text"), &[("text", "Hallo?")], true).await;
    assert_eq!(refused.status, 409);
    let error = by_id(&refused.html, "form-error").unwrap();
    assert!(error.contains("noch nicht zugestimmt") && error.contains("(Code: consent_missing)"), "{error}");
    assert!(h.sim.accepted_messages().is_empty());

    // the consent request: not without the CSRF token, then sent
    let forged = rita.post(&format!("/inbox/{c}/consent-request"), &[], false).await;
    assert_eq!(forged.status, 403);
    let sent = rita.post(&format!("/inbox/{c}/consent-request"), &[], true).await;
    assert_eq!((sent.status, sent.location.as_deref()), (303, Some(format!("/inbox/{c}?sent=1").as_str())));
    let thread = rita.get(&format!("/inbox/{c}?sent=1")).await;
    assert!(by_id(&thread.html, "sent").is_some());
    assert_eq!(by_id(&thread.html, "consent-left").as_deref(), Some("1"));
    assert!(by_id(&thread.html, "thread").unwrap().contains("Vorlage „consent_request“"));

    // the candidate agrees: the window is open, free text is offered
    accept_consent(&h, &t, &c, WA, WAIT).await;
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert!(by_id(&thread.html, "composer-banner").is_none(), "{}", thread.html);
    assert!(thread.html.contains("compose-text"));
    assert!(by_id(&thread.html, "notice-hint").is_none(), "the consent request carried the notice already (R15)");
    let window = by_id(&thread.html, "window").unwrap();
    assert!(window.starts_with("Antwortfenster offen bis") && window.ends_with(", noch 23 Std."), "{window}");
    // the template picker: the approved template's text with a placeholder for the value; its send
    // shows in the thread as the candidate saw it
    assert_eq!(
        by_id(&thread.html, "tpl-interview_invite-de-preview").as_deref(),
        Some("Wir laden Sie zum Gespräch am [Wert 1] ein. Antworten Sie STOPP, um keine Nachrichten mehr zu erhalten.")
    );
    assert!(by_id(&thread.html, "enter-hint").is_some(), "the keyboard hint (shown by the script)");
    let log = by_id(&thread.html, "thread").unwrap();
    assert!(log.contains("Vorlage „consent_request“") && thread.html.contains("<li>Ablehnen</li>"), "{log}");
    let fields = [("template", "interview_invite|de"), ("p1", "Dienstag, 10 Uhr")];
    assert_eq!(rita.post(&format!("/inbox/{c}/template"), &fields, true).await.status, 303);
    let log = by_id(&rita.get(&format!("/inbox/{c}")).await.html, "thread").unwrap();
    assert!(
        log.contains("Vorlage „interview_invite“ · ") && log.contains("Gespräch am Dienstag, 10 Uhr ein."),
        "{log}"
    );
    assert!(by_id(&thread.html, "consent-request").is_none(), "consent given: no request");
    assert!(by_id(&thread.html, "thread").unwrap().contains("Zustimmen"), "the candidate's button reply");
    let sent = rita.post(&format!("/inbox/{c}/text"), &[("text", "Passt Ihnen Dienstag um 10 Uhr?")], true).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    let log = by_id(&thread.html, "thread").unwrap();
    assert!(log.contains("Passt Ihnen Dienstag um 10 Uhr?"), "{log}");
    assert!(
        ["in der Warteschlange", "angenommen", "gesendet", "zugestellt"].iter().any(|w| log.contains(w)),
        "delivery state in words: {log}"
    );
    assert!(thread.html.contains("role=\"log\""));

    // STOPP: the banner says since when and how; nothing but the permitted reply
    assert_eq!(candidate_writes(&h, &t, "wamid.inbox-stopp", "STOPP").await, 200);
    assert!(
        eventually(WAIT, || async {
            by_id(&rita.get(&format!("/inbox/{c}")).await.html, "composer-banner")
                .is_some_and(|b| b.contains("widersprochen"))
        })
        .await
    );
    let thread = rita.get(&format!("/inbox/{c}")).await;
    let banner = by_id(&thread.html, "composer-banner").unwrap();
    assert!(banner.starts_with("Widerspruch am") && banner.contains("per WhatsApp-Nachricht"), "{banner}");
    assert!(by_id(&thread.html, "thread-badges").unwrap().contains("Widerspruch"));
    assert!(!thread.html.contains("compose-template") && by_id(&thread.html, "consent-request").is_none());
    let refused = rita
        .post(&format!("/inbox/{c}/template"), &[("template", "interview_invite|de"), ("p1", "Dienstag")], true)
        .await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(by_id(&refused.html, "form-error").unwrap().contains("widersprochen"));

    // another tenant's candidate and a malformed id are not found
    let other = tenant(&h, "Andere GmbH", "pn-inbox-other").await;
    let foreign = candidate(&other, "+49 170 5550999").await;
    assert_eq!(rita.get(&format!("/inbox/{foreign}")).await.status, 404);
    assert_eq!(rita.get("/inbox/not-an-id").await.status, 404);
    assert!(!rita.get("/inbox").await.html.contains(&foreign));
    h.stop().await;
}

/// Issue 18 (first part): a possible objection blocks the recruiter's composer until the DPO
/// decides it in the console; the message is an audited read; recruiters have no console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_decides_a_possible_objection_in_the_console() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@console.example").await;
    let dana = Session::staff(&h, &t, "dpo", "dana@console.example").await;
    const TEXT: &str = "Ich will meine Bewerbung nicht stoppen";
    assert_eq!(candidate_writes(&h, &t, "wamid.console-1", TEXT).await, 200);
    assert!(
        eventually(WAIT, || async {
            by_id(&rita.get(&format!("/inbox/{c}")).await.html, "composer-banner")
                .is_some_and(|b| b.contains("könnte ein Widerspruch sein"))
        })
        .await,
        "the recruiter's composer waits for the review"
    );
    assert!(!rita.get(&format!("/inbox/{c}")).await.html.contains("compose-text"));
    assert_eq!(rita.get("/console/reviews").await.status, 403, "recruiters do not decide reviews");

    // the overview: what is due, in counts and dates
    assert_eq!(rita.get("/console").await.status, 403);
    let overview = dana.get("/console").await;
    assert_eq!(overview.status, 200, "{}", overview.html);
    assert_eq!(by_id(&overview.html, "reviews-open").as_deref(), Some("1"));
    assert_eq!(by_id(&overview.html, "reviews-overdue").as_deref(), Some("0"));
    assert_eq!(by_id(&overview.html, "holds-due").as_deref(), Some("0"));
    assert!(by_id(&overview.html, "requests-none").is_some());
    assert!(
        by_id(&overview.html, "channels").unwrap().contains("freigegeben, nächste Überprüfung am"),
        "{}",
        overview.html
    );
    // an access request that came by e-mail 25 days ago: due within the week
    let received = time::OffsetDateTime::from_unix_timestamp(now_unix() - 25 * 86_400)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = t
        .dpo
        .post(
            "/api/v1/subject-requests",
            json!({"kind": "access", "candidate_id": c, "channel": "email", "received_at": received}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let overview = dana.get("/console").await;
    let requests = by_id(&overview.html, "requests").unwrap_or_else(|| panic!("{}", overview.html));
    assert!(requests.contains("Auskunft (Art. 15)") && requests.contains("bald fällig"), "{requests}");

    // the queue, then the review: the message is an audited content read
    let queue = dana.get("/console/reviews").await;
    assert_eq!(queue.status, 200, "{}", queue.html);
    let table = by_id(&queue.html, "reviews").unwrap();
    assert!(table.contains("Erika Mustermann"), "{table}");
    let link = review_link(&queue.html, &c);
    let reads = content_reads(&t).await;
    let review = dana.get(&link).await;
    assert_eq!(review.status, 200, "{}", review.html);
    assert_eq!(by_id(&review.html, "review-message").as_deref(), Some(TEXT));
    assert_eq!(content_reads(&t).await, reads + 1, "reading the message under review is audited");
    assert_eq!(rita.get(&link).await.status, 403);

    // "kein Widerspruch" needs a reason; the recruiter cannot post a decision
    let decision = format!("{link}/decision");
    assert_eq!(dana.post(&decision, &[("decision", "dismiss")], true).await.status, 422);
    assert_eq!(rita.post(&decision, &[("decision", "confirm")], true).await.status, 403);
    assert_eq!(
        dana.post(&decision, &[("decision", "dismiss"), ("reason", "negated_keyword")], false).await.status,
        403
    );
    let done = dana.post(&decision, &[("decision", "dismiss"), ("reason", "negated_keyword")], true).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/console/reviews?done=dismissed")));
    let queue = dana.get("/console/reviews?done=dismissed").await;
    assert!(by_id(&queue.html, "decided").is_some() && by_id(&queue.html, "no-reviews").is_some(), "{}", queue.html);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert!(by_id(&thread.html, "composer-banner").is_none() && thread.html.contains("compose-text"), "unblocked");

    // a second possible objection, confirmed: the recruiter sees the objection
    assert_eq!(candidate_writes(&h, &t, "wamid.console-2", TEXT).await, 200);
    assert!(eventually(WAIT, || async { by_id(&dana.get("/console/reviews").await.html, "reviews").is_some() }).await);
    let queue = dana.get("/console/reviews").await;
    let link = review_link(&queue.html, &c);
    let done = dana.post(&format!("{link}/decision"), &[("decision", "confirm")], true).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/console/reviews?done=confirmed")));
    let banner = by_id(&rita.get(&format!("/inbox/{c}")).await.html, "composer-banner").unwrap();
    assert!(
        banner.starts_with("Widerspruch am") && banner.contains("nach Prüfung einer Nachricht bestätigt"),
        "{banner}"
    );
    h.stop().await;
}

/// The link to the candidate's review in the queue's HTML.
fn review_link(html: &str, candidate: &str) -> String {
    let start = html.find(&format!("/console/reviews/{candidate}/")).unwrap();
    html[start..].chars().take_while(|ch| *ch != '"').collect()
}

/// The value of the first `name="<name>" value="..."` attribute pair in the HTML.
fn field_value(html: &str, name: &str) -> String {
    let start = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    html[start..].chars().take_while(|ch| *ch != '"').collect()
}

/// Issue 17 item 5: a recruiter adds a candidate and records, in the candidate panel, what
/// arrived outside WhatsApp (consent with its evidence, the process's end, an objection); each
/// refusal comes from the server in words with its code. Legal holds are the admin's and the
/// DPO's: the recruiter is refused by the domain, the DPO sets and releases one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidate_panel_records_what_arrived_elsewhere_and_refuses_what_the_role_may_not() {
    let (h, _dir) = sqlite().await;
    let t = tenant(&h, "Panel GmbH", h.sim.phone_number_id()).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@panel.example").await;

    // add a candidate: a wrong number and a forged form are refused, then the national number
    let list = rita.get("/inbox").await;
    assert!(by_id(&list.html, "add-candidate").is_some(), "{}", list.html);
    let form = rita.get("/inbox/new").await;
    assert_eq!(form.status, 200, "{}", form.html);
    let channel = field_value(&form.html, "channel");
    assert_eq!(channel, t.channel);
    let wrong =
        rita.post("/inbox/new", &[("name", "Jonas Beispiel"), ("phone", "12"), ("channel", &channel)], true).await;
    assert_eq!(wrong.status, 422);
    assert!(by_id(&wrong.html, "form-error").unwrap().contains("keine gültige Mobilnummer"));
    assert!(wrong.html.contains("value=\"Jonas Beispiel\""), "the form keeps what was typed");
    let fields = [("name", "Jonas Beispiel"), ("phone", "0170 5550177"), ("channel", channel.as_str())];
    assert_eq!(rita.post("/inbox/new", &fields, false).await.status, 403);
    let added = rita.post("/inbox/new", &fields, true).await;
    assert_eq!(added.status, 303, "{}", added.html);
    let location = added.location.unwrap();
    let c = location.trim_start_matches("/inbox/").trim_end_matches("?done=added").to_owned();
    let again = rita.post("/inbox/new", &[("phone", "+49 170 5550177"), ("channel", &channel)], true).await;
    assert_eq!(again.status, 409);
    assert!(by_id(&again.html, "form-error").unwrap().contains("bereits angelegt"));

    // the panel of the new candidate: nothing given yet, the process runs, erasure is scheduled
    let thread = rita.get(&location).await;
    assert_eq!(thread.status, 200, "{}", thread.html);
    assert!(by_id(&thread.html, "panel-done").unwrap().contains("Fragen Sie jetzt ihre Einwilligung an"));
    assert_eq!(by_id(&thread.html, "consents").unwrap(), "WhatsApp-Nachrichten keine Talentpool keine");
    assert_eq!(by_id(&thread.html, "process").as_deref(), Some("läuft"));
    assert!(by_id(&thread.html, "erasure").unwrap().starts_with("Löschung der Daten vorgesehen am"));
    assert_eq!(by_id(&thread.html, "holds").as_deref(), Some("Keine."));
    assert!(by_id(&thread.html, "set-hold").is_none(), "no hold form for a recruiter");

    // consent received by e-mail: the evidence is required, then recorded and shown
    let consent = format!("/inbox/{c}/consent");
    let missing = rita.post(&consent, &[("purpose", "whatsapp_channel"), ("channel", "email")], true).await;
    assert_eq!(missing.status, 422);
    assert!(by_id(&missing.html, "panel-error").unwrap().contains("Bitte prüfen Sie Ihre Eingabe"));
    // the day it arrived: not in the future, not unreadable; an earlier day counts from its start
    let day = |days: i64| {
        let at = time::OffsetDateTime::from_unix_timestamp(now_unix() + days * 86_400).unwrap();
        (format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day()), at)
    };
    let (future, _) = day(3);
    let (past, past_at) = day(-10);
    for wrong in [future.as_str(), "gestern"] {
        let fields =
            [("purpose", "whatsapp_channel"), ("channel", "email"), ("note", "E-Mail"), ("received_on", wrong)];
        assert_eq!(rita.post(&consent, &fields, true).await.status, 422, "{wrong}");
    }
    let evidence = [
        ("purpose", "whatsapp_channel"),
        ("channel", "email"),
        ("note", "E-Mail vom 7.12., Akte B-17"),
        ("received_on", past.as_str()),
    ];
    assert_eq!(rita.post(&consent, &evidence, false).await.status, 403);
    let recorded = rita.post(&consent, &evidence, true).await;
    assert_eq!(
        (recorded.status, recorded.location.as_deref()),
        (303, Some(format!("/inbox/{c}?done=consent#panel").as_str()))
    );
    let thread = rita.get(&format!("/inbox/{c}?done=consent")).await;
    assert!(by_id(&thread.html, "consents").unwrap().starts_with("WhatsApp-Nachrichten erteilt seit"));
    let entries = by_id(&thread.html, "consent-evidence").unwrap();
    let given =
        format!("erteilt am {:02}.{:02}.{}, 00:00 Uhr", past_at.day(), u8::from(past_at.month()), past_at.year());
    assert!(
        entries.contains(&given)
            && entries.contains("schriftlich (Nachweis abgelegt): E-Mail vom 7.12., Akte B-17 (E-Mail;")
            && entries.contains("Nutzungsbedingungen")
            && entries.contains("Datenschutzhinweis"),
        "{entries}"
    );
    assert!(by_id(&thread.html, "thread-badges").unwrap().contains("Einwilligung erteilt"));

    // legal holds are not the recruiter's: refused by the server, in words with the code
    let refused = rita.post(&format!("/inbox/{c}/holds"), &[("reason", "claim_asserted")], true).await;
    assert_eq!(refused.status, 403);
    let error = by_id(&refused.html, "panel-error").unwrap();
    assert!(error.contains("nur die Administration oder die DSB") && error.contains("Code: forbidden"), "{error}");

    // the process ends with its reason, once
    let end = format!("/inbox/{c}/end");
    assert_eq!(rita.post(&end, &[("reason", "sometime")], true).await.status, 422);
    assert_eq!(rita.post(&end, &[("reason", "rejected")], true).await.status, 303);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    let process = by_id(&thread.html, "process").unwrap();
    assert!(process.starts_with("beendet am") && process.ends_with("Absage"), "{process}");
    assert!(by_id(&thread.html, "end-process").is_none());
    let twice = rita.post(&end, &[("reason", "hired")], true).await;
    assert_eq!(twice.status, 409);
    assert!(by_id(&twice.html, "panel-error").unwrap().contains("bereits beendet"));

    // an objection by phone: in effect, the composer locked, staff cannot record consent over it
    let objection = [("channel", "phone"), ("note", "Bitte keine WhatsApp mehr")];
    assert_eq!(rita.post(&format!("/inbox/{c}/objection"), &objection, true).await.status, 303);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    let objections = by_id(&thread.html, "objections").unwrap();
    assert!(objections.contains("vom Team erfasst, Telefon): in Kraft"), "{objections}");
    assert!(by_id(&thread.html, "composer-banner").unwrap().starts_with("Widerspruch am"));
    assert!(by_id(&thread.html, "record-consent").is_none(), "no consent form while objected");
    assert!(by_id(&thread.html, "consents").unwrap().contains("widerrufen seit"));
    let over = rita.post(&consent, &evidence, true).await;
    assert_eq!(over.status, 409);
    let error = by_id(&over.html, "panel-error").unwrap();
    assert!(error.contains("Schlüsselwort") && error.contains("Code: conflict"), "{error}");

    // the DPO sets a hold (erasure waits for it) and releases it; a second release is refused
    let dana = Session::staff(&h, &t, "dpo", "dana@panel.example").await;
    assert_eq!(dana.get("/inbox/new").await.status, 403, "the DPO adds no candidates");
    assert!(by_id(&dana.get("/inbox").await.html, "add-candidate").is_none());
    let held = dana
        .post(&format!("/inbox/{c}/holds"), &[("reason", "claim_asserted"), ("reference", "ArbG 3 Ca 17/26")], true)
        .await;
    assert_eq!(held.status, 303, "{}", held.html);
    let thread = dana.get(&format!("/inbox/{c}")).await;
    let holds = by_id(&thread.html, "holds").unwrap();
    assert!(holds.contains("Ansprüche geltend gemacht") && holds.contains("Aktenzeichen ArbG 3 Ca 17/26"), "{holds}");
    assert!(by_id(&thread.html, "erasure").unwrap().starts_with("Keine Löschung vorgesehen"));
    let start = thread.html.find(&format!("/inbox/{c}/holds/")).unwrap();
    let release: String = thread.html[start..].chars().take_while(|ch| *ch != '"').collect();
    assert_eq!(rita.post(&release, &[], true).await.status, 403, "nor may the recruiter release one");
    assert_eq!(dana.post(&release, &[], true).await.status, 303);
    let thread = dana.get(&format!("/inbox/{c}")).await;
    assert!(by_id(&thread.html, "holds").unwrap().contains("aufgehoben am"));
    assert!(by_id(&thread.html, "erasure").unwrap().starts_with("Löschung der Daten vorgesehen am"));
    let again = dana.post(&release, &[], true).await;
    assert_eq!(again.status, 409);
    assert!(by_id(&again.html, "panel-error").unwrap().contains("bereits aufgehoben"));

    // another tenant's candidate is not found for any panel action
    let other = tenant(&h, "Fremd GmbH", "pn-panel-other").await;
    let foreign = candidate(&other, "+49 170 5550888").await;
    assert_eq!(rita.post(&format!("/inbox/{foreign}/end"), &[("reason", "rejected")], true).await.status, 404);
    assert_eq!(rita.post(&format!("/inbox/{foreign}/consent"), &evidence, true).await.status, 404);
    assert_eq!(dana.post(&format!("/inbox/{foreign}/holds"), &[("reason", "other")], true).await.status, 404);
    let other_process = other.recruiter.get(&format!("/api/v1/candidates/{foreign}")).await;
    assert_eq!(other_process.status, 200);
    assert_eq!(other_process.json["process_ended_at"], Value::Null, "{:?}", other_process.json);
    h.stop().await;
}

/// One inbound message of `kind` with its object, optionally replying to `context`.
fn inbound(h: &Harness, wamid: &str, kind: &str, object: Value, context: Option<&str>) -> Value {
    let mut message = json!({"from": WA, "id": wamid, "timestamp": now_unix().to_string(), "type": kind});
    message[kind] = object;
    if let Some(id) = context {
        message["context"] = json!({"from": WA, "id": id});
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": h.sim.phone_number_id()},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": WA}],
        "messages": [message]
    }}]}]})
}

fn b64_sha256(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

/// Issue 17 item 3: what candidates send besides text reads in the thread: a reply quotes the
/// message it answers, an image is shown inline and a document is a download, both through the
/// session (each read audited), a location and a contact in words, an unsupported type named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_shows_quotes_media_locations_contacts_and_unsupported_types() {
    use base64::Engine as _;
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@media.example").await;
    let png = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap();
    let pdf = b"%PDF-1.7 Lebenslauf von Erika".to_vec();
    let image = h.sim.add_media(png.clone(), "image/png");
    let document = h.sim.add_media(pdf.clone(), "application/pdf");
    let mut unsupported = inbound(&h, "wamid.media-odd", "unsupported", Value::Null, None);
    unsupported["entry"][0]["changes"][0]["value"]["messages"][0]["errors"] =
        json!([{"code": 131051, "title": "Message type unknown"}]);
    for body in [
        inbound(
            &h,
            "wamid.media-img",
            "image",
            json!({"id": image, "mime_type": "image/png", "sha256": b64_sha256(&png), "caption": "Mein Zeugnis"}),
            None,
        ),
        inbound(
            &h,
            "wamid.media-doc",
            "document",
            json!({"id": document, "mime_type": "application/pdf", "sha256": b64_sha256(&pdf), "filename": "Lebenslauf.pdf"}),
            None,
        ),
        inbound(
            &h,
            "wamid.media-loc",
            "location",
            json!({"latitude": 52.52, "longitude": 13.405, "name": "Büro Mitte", "address": "Friedrichstraße 1, Berlin"}),
            None,
        ),
        inbound(
            &h,
            "wamid.media-vcard",
            "contacts",
            json!([{"name": {"formatted_name": "Max Muster"}, "phones": [{"phone": "+49 30 1234567"}], "emails": [{"email": "max@example.com"}]}]),
            None,
        ),
        unsupported,
        inbound(&h, "wamid.media-re1", "text", json!({"body": "Das Zeugnis ist von 2024."}), Some("wamid.media-img")),
        inbound(&h, "wamid.media-re2", "text", json!({"body": "Und das hier?"}), Some("wamid.somewhere-else")),
    ] {
        assert_eq!(post_webhook(&h, &t, &body, Some(&t.webhook_secret)).await, 200);
    }
    let thread_path = format!("/inbox/{c}");
    assert!(
        eventually(WAIT, || async {
            let html = rita.get(&thread_path).await.html;
            html.contains("<img src=") && html.contains("Lebenslauf.pdf“ herunterladen")
        })
        .await,
        "both files stored and offered"
    );
    let thread = rita.get(&thread_path).await;
    let log = by_id(&thread.html, "thread").unwrap();
    assert!(log.contains("Antwort auf: Bild: Mein Zeugnis Das Zeugnis ist von 2024."), "{log}");
    assert!(log.contains("Antwort auf eine Nachricht, die hier nicht vorliegt. Und das hier?"), "{log}");
    assert!(log.contains("Standort: Büro Mitte · Friedrichstraße 1, Berlin · 52.52000, 13.40500"), "{log}");
    assert!(log.contains("Kontakt: Max Muster, +49 30 1234567, max@example.com"), "{log}");
    assert!(
        log.contains("Nachrichtentyp, den WhatsApp nicht unterstützt „unsupported“ (WhatsApp-Fehler 131051)"),
        "{log}"
    );
    assert!(thread.html.contains("alt=\"Mein Zeugnis\""), "the caption describes the image");

    // the files come through the session only, each read audited; an image inline, a PDF as a download
    let href = |marker: &str| {
        let end = thread.html.find(marker).unwrap();
        let start = thread.html[..end].rfind(&format!("/inbox/{c}/media/")).unwrap();
        thread.html[start..].chars().take_while(|ch| *ch != '"').collect::<String>()
    };
    let (image_href, document_href) = (href("alt=\"Mein Zeugnis\""), href("Lebenslauf.pdf“ herunterladen"));
    let reads = content_reads(&t).await;
    let get = |path: String| {
        let (http, base, cookie) = (rita.http.clone(), rita.base.clone(), rita.cookie.clone());
        async move { http.get(format!("{base}{path}")).header("cookie", cookie).send().await.unwrap() }
    };
    let shown = get(image_href.clone()).await;
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/png");
    assert!(shown.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(shown.bytes().await.unwrap().to_vec(), png);
    let downloaded = get(document_href.clone()).await;
    assert_eq!(downloaded.headers()["content-type"], "application/pdf");
    assert_eq!(
        downloaded.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename*=UTF-8''Lebenslauf.pdf"
    );
    assert_eq!(downloaded.headers()["x-content-type-options"], "nosniff");
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(content_reads(&t).await, reads + 2, "each file read is audited");

    // without a session nothing; another tenant's candidate is not found
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = anonymous.get(format!("{}{document_href}", h.base)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let other = tenant(&h, "Andere GmbH", "pn-media-other").await;
    let foreign = candidate(&other, "+49 170 5550777").await;
    let media_id = document_href.rsplit('/').next().unwrap();
    assert_eq!(get(format!("/inbox/{foreign}/media/{media_id}")).await.status(), 404);
    h.stop().await;
}

/// Issue 17 items 1 and 2: the views, the filters and the search by number, and taking a
/// conversation on (audited), with restricted candidates and other roles kept out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_has_views_filters_a_number_search_and_assignment() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let other = candidate(&t, "+49 170 5550124").await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@views.example").await;
    let rolf = Session::staff(&h, &t, "recruiter", "rolf@views.example").await;
    let dana = Session::staff(&h, &t, "dpo", "dana@views.example").await;
    let listed = |html: &str, id: &str| html.contains(&format!("id=\"row-{id}\""));

    let all = rita.get("/inbox").await;
    assert_eq!(all.status, 200, "{}", all.html);
    assert!(listed(&all.html, &c) && listed(&all.html, &other));
    assert!(by_id(&all.html, &format!("row-{c}")).unwrap().contains("niemandem"));
    // the candidate writes: the window opens and a reply is owed
    assert_eq!(candidate_writes(&h, &t, "wamid.views-1", "Ist die Stelle noch frei?").await, 200);
    let needs = rita.get("/inbox?view=needs_reply").await;
    assert!(listed(&needs.html, &c) && !listed(&needs.html, &other), "{}", needs.html);
    assert!(by_id(&needs.html, &format!("row-{c}")).unwrap().contains("wartet auf Antwort"));
    assert!(needs.html.contains("aria-current=\"page\">Antwort nötig"));
    let open = rita.get("/inbox?filter=window_open").await;
    assert!(listed(&open.html, &c) && !listed(&open.html, &other));
    let objected = rita.get("/inbox?filter=objected").await;
    assert!(by_id(&objected.html, "inbox-empty").is_some());
    // the search by number, as people write it; a number that cannot exist says so
    let found = rita.get("/inbox?phone=0170+5550124").await;
    assert!(listed(&found.html, &other) && !listed(&found.html, &c), "{}", found.html);
    let nobody = rita.get("/inbox?phone=0170+5559999").await;
    assert!(by_id(&nobody.html, "inbox-empty").is_some());
    let bad = rita.get("/inbox?phone=12").await;
    assert_eq!(bad.status, 200);
    assert_eq!(by_id(&bad.html, "inbox-error").as_deref(), Some("Diese Telefonnummer kann es nicht geben."));

    // assignment: Rita takes the conversation on; Mine and Unassigned follow; it is audited
    let assignments = |t: &Tenant| {
        let admin = t.admin.clone();
        async move {
            admin.get("/api/v1/audit/entries?limit=10000").await.json.to_string().matches("candidate.assigned").count()
        }
    };
    assert_eq!(rita.post(&format!("/inbox/{c}/assignment"), &[("assign", "me")], false).await.status, 403);
    assert_eq!(dana.post(&format!("/inbox/{c}/assignment"), &[("assign", "me")], true).await.status, 403);
    let taken = rita.post(&format!("/inbox/{c}/assignment"), &[("assign", "me")], true).await;
    assert_eq!((taken.status, taken.location.clone()), (303, Some(format!("/inbox/{c}?done=assigned"))));
    assert_eq!(assignments(&t).await, 1);
    let thread = rita.get(&format!("/inbox/{c}?done=assigned")).await;
    assert_eq!(by_id(&thread.html, "assigned-to").as_deref(), Some("Ihnen"));
    assert!(thread.html.contains("id=\"unassign\""));
    let mine = rita.get("/inbox?view=mine").await;
    assert!(listed(&mine.html, &c) && !listed(&mine.html, &other));
    let unassigned = rita.get("/inbox?view=unassigned").await;
    assert!(!listed(&unassigned.html, &c) && listed(&unassigned.html, &other));
    assert!(by_id(&rolf.get("/inbox?view=mine").await.html, "inbox-empty").is_some());
    assert!(by_id(&rolf.get("/inbox").await.html, &format!("row-{c}")).unwrap().contains("jemand anderem"));
    // taking it on again changes nothing; giving it back does
    assert_eq!(rita.post(&format!("/inbox/{c}/assignment"), &[("assign", "me")], true).await.status, 303);
    assert_eq!(assignments(&t).await, 1, "no change, no entry");
    assert_eq!(rita.post(&format!("/inbox/{c}/assignment"), &[("assign", "none")], true).await.status, 303);
    assert_eq!(assignments(&t).await, 2);
    assert!(listed(&rita.get("/inbox?view=unassigned").await.html, &c));
    assert_eq!(rita.post("/inbox/not-an-id/assignment", &[("assign", "me")], true).await.status, 404);

    // an admin gives the conversation to a colleague: only to an active recruiter or admin
    let anna = Session::staff(&h, &t, "admin", "anna@views.example").await;
    let staff = t.admin.get("/api/v1/staff").await.json;
    let id_of = |email: &str| {
        staff.as_array().unwrap().iter().find(|s| s["email"] == email).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let (rolf_id, dana_id) = (id_of("rolf@views.example"), id_of("dana@views.example"));
    let thread = anna.get(&format!("/inbox/{c}")).await;
    assert!(by_id(&thread.html, "assign-colleague").is_some_and(|f| f.contains("Zuweisen an")));
    assert!(
        thread.html.contains(&format!("value=\"{rolf_id}\"")) && !thread.html.contains(&format!("value=\"{dana_id}\""))
    );
    assert!(
        !rita.get(&format!("/inbox/{c}")).await.html.contains("assign-colleague"),
        "recruiters take on, admins assign"
    );
    assert_eq!(rita.post(&format!("/inbox/{c}/assignment"), &[("assign", &rolf_id)], true).await.status, 403);
    assert_eq!(anna.post(&format!("/inbox/{c}/assignment"), &[("assign", &dana_id)], true).await.status, 422);
    let given = anna.post(&format!("/inbox/{c}/assignment"), &[("assign", &rolf_id)], true).await;
    assert_eq!(given.status, 303);
    assert!(listed(&rolf.get("/inbox?view=mine").await.html, &c), "Rolf's view follows the assignment");
    assert_eq!(by_id(&rolf.get(&format!("/inbox/{c}")).await.html, "assigned-to").as_deref(), Some("Ihnen"));
    assert_eq!(assignments(&t).await, 3);

    // an objection: filtered as such, and no longer "needs reply"
    assert_eq!(candidate_writes(&h, &t, "wamid.views-2", "STOPP").await, 200);
    assert!(
        eventually(WAIT, || async { listed(&rita.get("/inbox?filter=objected").await.html, &c) }).await,
        "the objected filter lists the candidate"
    );
    assert!(!listed(&rita.get("/inbox?view=needs_reply").await.html, &c));
    h.stop().await;
}

scenarios!(
    the_inbox_lists_newest_activity_first: true,
    unread_counts_are_each_staff_members_own_and_the_last_message_shows_no_words: true,
    the_inbox_finds_candidates_by_name_without_a_plaintext_index: true,
);

/// Issue 17 item 1: the inbox lists newest activity first (the last message either way, else the
/// creation), 25 a page; "Weitere Gespräche" continues with the rest, none twice; a cursor that
/// does not read starts from the top; a conversation with a new inbound message moves to the top.
async fn the_inbox_lists_newest_activity_first(h: &Harness) {
    let (t, c) = consenting(h).await;
    let mut others = Vec::new();
    for n in 0..26 {
        others.push(candidate(&t, &format!("+49 170 55502{n:02}")).await);
    }
    let rita = Session::staff(h, &t, "recruiter", "rita@activity.example").await;
    let rows = |html: &str| -> Vec<String> {
        html.split("<tr id=\"row-").skip(1).filter_map(|r| r.split('"').next()).map(str::to_owned).collect()
    };
    let newest_first: Vec<String> = others.iter().rev().chain([&c]).cloned().collect();
    let first = rita.get("/inbox").await;
    assert_eq!(first.status, 200, "{}", first.html);
    assert_eq!(rows(&first.html), newest_first[..25], "newest first, 25 a page");
    let next = by_id(&first.html, "inbox-next").expect("a next page");
    let href = first.html.split("id=\"inbox-next\"").next().and_then(|h| h.rsplit("href=\"").next()).unwrap();
    let href = href.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    assert!(next.contains("Weitere Gespräche") && href.contains("&after="), "{href}");
    let second = rita.get(&href).await;
    assert_eq!(rows(&second.html), newest_first[25..], "the rest, none twice");
    let garbled = rita.get("/inbox?view=all&after=not-a-position").await;
    assert_eq!((garbled.status, rows(&garbled.html)), (200, rows(&first.html)), "an unreadable cursor: the top");

    // the oldest conversation gets a message (its provider time is to the second): to the top
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(candidate_writes(h, &t, "wamid.activity-1", "Ist die Stelle noch frei?").await, 200);
    assert!(
        eventually(WAIT, || async { rows(&rita.get("/inbox").await.html).first() == Some(&c) }).await,
        "the conversation with the new message is listed first"
    );
    assert_eq!(rows(&rita.get("/inbox").await.html)[1..], newest_first[..24], "the others keep their order");
}

/// Issue 17 item 7: `hoheit serve --dev`'s development tenant comes with an approved number and
/// four sample conversations the simulator drove, one in each state a newcomer should see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_development_tenant_has_a_populated_inbox() {
    let (h, _dir) = sqlite().await;
    let tenant = hoheit_server::devdata::create_tenant(&h).await.unwrap();
    hoheit_server::devdata::populate(&h, tenant.id).await.unwrap();
    let admin = h.client(&h.token(Some(tenant.id), hoheit_domain::tenant::Role::Admin).await.unwrap());
    let rita = Session::invited_by(&h, &admin, "recruiter", "rita@dev.example").await;
    let names = |html: &str| by_id(html, "conversations").unwrap_or_default();
    let all = names(&rita.get("/inbox").await.html);
    for name in ["Erika Mustermann", "Max Beispiel", "Jana Probe", "Tom Test"] {
        assert!(all.contains(name), "{name}: {all}");
    }
    for (query, expected) in [
        ("view=needs_reply", "Erika Mustermann"),
        ("filter=waiting_for_consent", "Max Beispiel"),
        ("filter=objected", "Jana Probe"),
        ("filter=review_pending", "Tom Test"),
    ] {
        let listed = names(&rita.get(&format!("/inbox?{query}")).await.html);
        assert!(listed.contains(expected), "{query}: {listed}");
        let others = ["Erika Mustermann", "Max Beispiel", "Jana Probe", "Tom Test"]
            .iter()
            .filter(|n| listed.contains(*n))
            .count();
        assert_eq!(others, 1, "{query} lists one sample: {listed}");
    }
    h.stop().await;
}

/// Issue 17 item 3: read receipts are a tenant setting, off by default; on, a recruiter opening
/// the thread marks the candidate's newest message read at WhatsApp, the DPO's reads do not,
/// and nothing is signalled after an objection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_follow_the_tenant_setting() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@receipts.example").await;
    let dana = Session::staff(&h, &t, "dpo", "dana@receipts.example").await;
    assert_eq!(candidate_writes(&h, &t, "wamid.receipt-1", "Hallo, eine Frage").await, 200);
    assert_eq!(rita.get(&format!("/inbox/{c}")).await.status, 200);
    assert!(h.sim.read_marks().is_empty(), "off by default");

    let mut settings = t.admin.get("/api/v1/settings").await.json;
    assert_eq!(settings["read_receipts"], false);
    settings["read_receipts"] = json!(true);
    let put = t.admin.put("/api/v1/settings", settings).await;
    assert_eq!((put.status, &put.json["read_receipts"]), (200, &json!(true)), "{:?}", put.json);
    assert_eq!(dana.get(&format!("/inbox/{c}")).await.status, 200);
    assert!(h.sim.read_marks().is_empty(), "the DPO's read is not the recruiter's");
    assert_eq!(rita.get(&format!("/inbox/{c}")).await.status, 200);
    assert_eq!(h.sim.read_marks(), ["wamid.receipt-1"]);

    assert_eq!(candidate_writes(&h, &t, "wamid.receipt-2", "STOPP").await, 200);
    assert!(eventually(WAIT, || async { rita.get(&format!("/inbox/{c}")).await.html.contains("Widerspruch") }).await);
    assert_eq!(h.sim.read_marks(), ["wamid.receipt-1"], "no signal after an objection");
    h.stop().await;
}

/// Rows of a table for one candidate, counted in the database itself (a second connection).
async fn rows_of(h: &Harness, table: &str, candidate: &str) -> i64 {
    use sea_orm::ConnectionTrait as _;
    let conn = sea_orm::Database::connect(h.state.config.database_url()).await.unwrap();
    let backend = conn.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE candidate_id = {placeholder}");
    let id = uuid::Uuid::parse_str(candidate).unwrap().as_bytes().to_vec();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(backend, sql, vec![id.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Issue 17 item 1: each row shows the signed-in staff member's own unread count (inbound
/// messages after their own read marker; opening the thread sets it; a colleague's count is
/// theirs alone) and the last message without its words: who, what kind, when, and outbound
/// the delivery state in words. The erasure deletes the read markers.
async fn unread_counts_are_each_staff_members_own_and_the_last_message_shows_no_words(h: &Harness) {
    let (t, c) = consenting(h).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@unread.example").await;
    let rolf = Session::staff(h, &t, "recruiter", "rolf@unread.example").await;
    let unread = |page: &common::web::Page| by_id(&page.html, &format!("unread-{c}")).unwrap();
    let last = |page: &common::web::Page| by_id(&page.html, &format!("last-{c}")).unwrap();

    let list = rita.get("/inbox").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert_eq!(unread(&list), "alles gelesen");
    assert_eq!(last(&list), "noch keine Nachricht");

    // two questions arrive: two unread for everyone, the row is marked in words
    for (wamid, text) in [("wamid.unread-1", "Geheimfrage Alpha zur Stelle"), ("wamid.unread-2", "Geheimfrage Beta")] {
        assert_eq!(candidate_writes(h, &t, wamid, text).await, 200);
    }
    let list = rita.get("/inbox").await;
    assert_eq!(unread(&list), "2 ungelesen");
    assert!(list.html.contains(&format!("<tr id=\"row-{c}\" class=\"has-unread\">")), "{}", list.html);
    let summary = last(&list);
    assert!(summary.starts_with("Bewerbende Person · Textnachricht · ") && summary.ends_with(" Uhr"), "{summary}");
    assert!(!list.html.contains("Geheimfrage"), "no message words in the list (no unaudited content read)");
    assert_eq!(unread(&rolf.get("/inbox").await), "2 ungelesen");

    // Rita opens the thread (the audited read): her count falls to none, Rolf's stays
    let reads = content_reads(&t).await;
    assert!(rita.get(&format!("/inbox/{c}")).await.html.contains("Geheimfrage Beta"));
    assert_eq!(content_reads(&t).await, reads + 1);
    let list = rita.get("/inbox").await;
    assert_eq!(unread(&list), "alles gelesen");
    assert!(list.html.contains(&format!("<tr id=\"row-{c}\">")));
    assert_eq!(unread(&rolf.get("/inbox").await), "2 ungelesen", "each staff member's own marker");

    // Rita answers: the team's text message with its delivery state in words, not its words
    let reply = "Antwort mit dem Kennwort Zitronenfalter";
    assert_eq!(rita.post(&format!("/inbox/{c}/text"), &[("text", reply)], true).await.status, 303);
    assert!(eventually(WAIT, || async { !h.sim.accepted_messages().is_empty() }).await, "the reply went out");
    let ours = h.sim.accepted_messages().last().unwrap().id.as_str().to_owned();
    let read = status(h.sim.phone_number_id(), &ours, "read", now_unix());
    assert_eq!(post_webhook(h, &t, &read, Some(&t.webhook_secret)).await, 200);
    assert!(
        eventually(WAIT, || async { last(&rita.get("/inbox").await).ends_with(" · gelesen") }).await,
        "the delivery state in words"
    );
    let list = rita.get("/inbox").await;
    assert!(last(&list).starts_with("Ihr Team · Textnachricht · "), "{}", last(&list));
    assert!(!list.html.contains("Zitronenfalter"));
    assert_eq!(unread(&list), "alles gelesen", "our own messages are not unread");

    // another question: one for Rita, three for Rolf
    assert_eq!(candidate_writes(h, &t, "wamid.unread-3", "Geheimfrage Gamma").await, 200);
    assert_eq!(unread(&rita.get("/inbox").await), "1 ungelesen");
    assert_eq!(unread(&rolf.get("/inbox").await), "3 ungelesen");

    // the erasure takes the read markers with it, in its commit
    assert_eq!(rows_of(h, "thread_reads", &c).await, 1, "Rita's marker (Rolf never opened it)");
    let r = t.dpo.post(&format!("/api/v1/candidates/{c}/erasure"), json!({})).await;
    assert!(r.status < 300, "{:?}", r.json);
    assert_eq!(rows_of(h, "thread_reads", &c).await, 0);
    assert_eq!(rows_of(h, "name_tokens", &c).await, 0);
}

/// Issue 17 item 1: the one search box finds a phone number as before, and otherwise names by
/// keyed hashes of their tokens: a whole word, a beginning of three letters or more, either
/// German spelling, every word typed (AND); a recruiter never finds a restricted candidate
/// (R25), the DPO does; an erased candidate's name hashes are gone.
async fn the_inbox_finds_candidates_by_name_without_a_plaintext_index(h: &Harness) {
    let t = tenant(h, "Namen GmbH", h.sim.phone_number_id()).await;
    let named = |phone: &'static str, name: &'static str| {
        let recruiter = t.recruiter.clone();
        let channel = t.channel.clone();
        async move {
            let r = recruiter
                .post("/api/v1/candidates", json!({"phone": phone, "name": name, "channel_id": channel}))
                .await;
            assert_eq!(r.status, 201, "{:?}", r.json);
            r.str("/id").unwrap().to_owned()
        }
    };
    let erika = named("+49 170 5550301", "Erika Mustermann").await;
    let juergen = named("+49 170 5550302", "Jürgen Müller-Lüdenscheidt").await;
    let hans = named("+49 170 5550303", "Hans Straße").await;
    let frieda = named("+49 170 5550304", "Frieda Musterfrau").await;
    // Frieda's process ended and she asked for erasure inside the claims window: restricted
    let end = format!("/api/v1/candidates/{frieda}/process-end");
    assert_eq!(t.recruiter.post(&end, json!({"reason": "rejected"})).await.status, 200);
    let r = t.dpo.post(&format!("/api/v1/candidates/{frieda}/erasure"), json!({})).await;
    assert_eq!(r.code(), Some("legal_claims_window"), "{:?}", r.json);

    let rita = Session::staff(h, &t, "recruiter", "rita@names.example").await;
    let dana = Session::staff(h, &t, "dpo", "dana@names.example").await;
    let rows = |html: &str| -> Vec<String> {
        html.split("<tr id=\"row-").skip(1).filter_map(|r| r.split('"').next()).map(str::to_owned).collect()
    };
    let search = |session: &'static str, text: &str| {
        let path = format!("/inbox?q={}", text.replace(' ', "+"));
        let s = if session == "dana" { &dana } else { &rita };
        async move {
            let page = s.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.html);
            assert!(by_id(&page.html, "inbox-error").is_none(), "{}", page.html);
            rows(&page.html)
        }
    };
    assert_eq!(search("rita", "Mustermann").await, [erika.as_str()], "a whole word");
    assert_eq!(search("rita", "must").await, [erika.as_str()], "a beginning; the restricted one is not found");
    let mut both = search("dana", "MUST").await;
    both.sort();
    let mut expected = vec![erika.clone(), frieda.clone()];
    expected.sort();
    assert_eq!(both, expected, "the DPO finds the restricted candidate too (R25)");
    for spelling in ["Müller", "Mueller", "muller", "Lüdenscheidt", "Luedenscheidt", "jürgen müll"] {
        assert_eq!(search("rita", spelling).await, [juergen.as_str()], "{spelling}");
    }
    assert_eq!(search("rita", "Strasse").await, [hans.as_str()], "ß = ss");
    assert_eq!(search("rita", "erika must").await, [erika.as_str()], "every word");
    assert!(search("rita", "Erika Müller").await.is_empty(), "all words must match");
    assert!(search("rita", "Zacharias").await.is_empty(), "no match");
    let nobody = rita.get("/inbox?q=Zacharias").await;
    assert!(by_id(&nobody.html, "inbox-empty").is_some());
    assert!(nobody.html.contains("value=\"Zacharias\""), "the search stays in the box");
    // a phone number is still found through the blind index, in the same box
    assert_eq!(search("rita", "0170 5550302").await, [juergen.as_str()]);
    // views still apply to name results
    assert!(search("rita", "Mustermann&view=mine").await.is_empty());

    // the erasure deletes the candidate's name hashes and read markers
    rita.get(&format!("/inbox/{erika}")).await;
    assert!(rows_of(h, "name_tokens", &erika).await > 0, "hashes of name and prefixes");
    assert_eq!(rows_of(h, "thread_reads", &erika).await, 1);
    let r = t.dpo.post(&format!("/api/v1/candidates/{erika}/erasure"), json!({})).await;
    assert!(r.status < 300, "{:?}", r.json);
    assert_eq!(rows_of(h, "name_tokens", &erika).await, 0);
    assert_eq!(rows_of(h, "thread_reads", &erika).await, 0);
    assert!(search("rita", "Mustermann").await.is_empty());
    assert!(search("dana", "Erika").await.is_empty());
}
