//! The DPO and admin console in the browser (issue 18) over HTTP with signed-in staff: channel
//! approval and revocation (R1, its separation of duties included), the subject-request
//! register from a request received by mail to the export download and the erasure with the
//! AGG claims-window answer, the audit log with verification and a signed checkpoint, and the
//! records as pages and downloads. Recruiters get 403 everywhere; each refusal of the domain is
//! shown in words with its code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::web::{Session, by_id};
use common::*;
use hoheit_server::harness::{Harness, HarnessOptions};
use serde_json::{Value, json};
use sha2::Digest as _;

scenarios!(
    the_dpo_revokes_and_approves_a_channel_and_the_domain_keeps_the_duties_apart: true,
    the_dpo_answers_requests_received_by_mail_with_the_export_and_the_erasure: true,
    the_audit_log_is_verified_and_checkpointed_and_the_records_are_pages_to_print: true,
    legal_texts_are_checked_while_written_and_a_material_change_says_what_it_does: true,
    the_retention_dry_run_lists_what_would_happen_and_run_now_does_it: true,
    a_recruiter_gets_403_on_every_console_page_and_action: true,
    the_admin_manages_people_and_api_tokens: true,
);

async fn approved(t: &Tenant) -> bool {
    let r = t.admin.get("/api/v1/channels").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json[0]["approved"].as_bool().unwrap()
}

async fn the_dpo_revokes_and_approves_a_channel_and_the_domain_keeps_the_duties_apart(h: &Harness) {
    let t = tenant(h, "Kanal GmbH", h.sim.phone_number_id()).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@kanal.example").await;
    // invited by the admin who registered the channel: not independent of it (R1)
    let dana = Session::staff(h, &t, "dpo", "dana@kanal.example").await;
    // invited by another admin: independent
    let other_admin = t.admin.post("/api/v1/tokens", json!({"role": "admin", "label": "zweite"})).await;
    assert_eq!(other_admin.status, 201, "{:?}", other_admin.json);
    let other_admin = h.client(other_admin.str("/token").unwrap());
    let dora = Session::invited_by(h, &other_admin, "dpo", "dora@kanal.example").await;
    let anton = Session::staff(h, &t, "admin", "anton@kanal.example").await;
    let ch = &t.channel;

    assert_eq!(rita.get("/console/channels").await.status, 403);
    let page = dora.get("/console/channels").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let card = by_id(&page.html, &format!("channel-{ch}")).unwrap();
    assert!(card.contains("+4930901820") && card.contains("nächste Überprüfung am"), "{card}");
    assert!(card.contains("DSFA-1") && card.contains("privacy_notice @ v1"), "{card}");
    assert!(!page.html.contains("class=\"approve\""), "an approval in force is not offered again");

    // revoking needs the confirmation, a CSRF token, and a role that may
    let revoke = format!("/console/channels/{ch}/revocation");
    let unconfirmed = dora.post(&revoke, &[], true).await;
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(by_id(&unconfirmed.html, "refusal-code").as_deref(), Some("invalid_input"));
    assert!(approved(&t).await, "nothing changed");
    assert_eq!(dora.post(&revoke, &[("understood", "yes")], false).await.status, 403);
    assert_eq!(rita.post(&revoke, &[("understood", "yes")], true).await.status, 403);
    assert!(approved(&t).await);
    let done = dora.post(&revoke, &[("understood", "yes")], true).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/console/channels?done=revoked")));
    assert!(!approved(&t).await, "revoked: nothing is sent any more");
    let page = dora.get("/console/channels?done=revoked").await;
    assert!(by_id(&page.html, "done").unwrap().contains("nichts mehr gesendet"), "{}", page.html);
    assert!(page.html.contains("class=\"approve\""), "the approval form is offered to the DPO");
    // the admin sees the state but is offered no approval, and the domain refuses one
    let admin_page = anton.get("/console/channels").await;
    assert_eq!(admin_page.status, 200);
    assert!(!admin_page.html.contains("class=\"approve\""));
    let approve = format!("/console/channels/{ch}/approval");
    let form = [
        ("approver_name", "Dr. Dora Datenschutz"),
        ("dpia_reference", "DSFA-2026-07"),
        ("documents", "AVV 360dialog @ 2026-03\nDatenschutzhinweise @ v1"),
        ("review_on", ""),
    ];
    assert_eq!(anton.post(&approve, &form, true).await.status, 403);
    // incomplete, and not independent: refused in words with the code
    let incomplete = dora.post(&approve, &[("approver_name", "Dr. Dora Datenschutz")], true).await;
    assert_eq!(incomplete.status, 422, "{}", incomplete.html);
    let dependent = dana.post(&approve, &form, true).await;
    assert_eq!(dependent.status, 403, "{}", dependent.html);
    assert_eq!(by_id(&dependent.html, "refusal-code").as_deref(), Some("dpo_not_independent"));
    assert!(by_id(&dependent.html, "refused").unwrap().contains("Trennung der Aufgaben"));
    assert!(!approved(&t).await);
    let done = dora.post(&approve, &form, true).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/console/channels?done=approved")));
    assert!(approved(&t).await);
    let card = by_id(&dora.get("/console/channels").await.html, &format!("channel-{ch}")).unwrap();
    assert!(card.contains("Dr. Dora Datenschutz") && card.contains("DSFA-2026-07"), "{card}");
    assert!(card.contains("AVV 360dialog @ 2026-03"), "{card}");
    assert_eq!(dora.post("/console/channels/not-an-id/approval", &form, true).await.status, 404);
    assert!(card.contains("synchronisiert") && card.contains("zuletzt am"), "the template sync state: {card}");

    // the admin registers another number; the webhook's secret is shown once
    let number = [
        ("display_phone_number", "030 901821"),
        ("phone_number_id", "100000000000777"),
        ("api_key", "geheimer-schluessel"),
        ("consent_template", "consent_request"),
        ("consent_template_language", "de"),
    ];
    assert_eq!(dora.post("/console/channels", &number, true).await.status, 403, "the DPO does not register");
    assert_eq!(rita.post("/console/channels", &number, true).await.status, 403);
    let registered = anton.post("/console/channels", &number, true).await;
    assert_eq!(registered.status, 200, "{}", registered.html);
    assert!(by_id(&registered.html, "webhook").unwrap().contains("/webhooks/360dialog/"));
    assert!(by_id(&registered.html, "webhook-secret").is_some_and(|s| s.len() >= 32));
    assert!(!registered.html.contains("geheimer-schluessel"), "the API key is never shown");
    let listed = t.admin.get("/api/v1/channels").await.json;
    let new = listed.as_array().unwrap().iter().find(|c| c["phone_number_id"] == "100000000000777").unwrap();
    assert_eq!((new["display_phone_number"].as_str(), new["approved"].as_bool()), (Some("+4930901821"), Some(false)));
    assert!(
        !anton
            .get("/console/channels")
            .await
            .html
            .contains(by_id(&registered.html, "webhook-secret").unwrap().as_str())
    );
    let again = anton.post("/console/channels", &number, true).await;
    assert_eq!((again.status, by_id(&again.html, "refusal-code").as_deref()), (409, Some("conflict")));
    let mut bad = number;
    bad[0].1 = "12";
    let refused = anton.post("/console/channels", &bad, true).await;
    assert_eq!((refused.status, by_id(&refused.html, "refusal-code").as_deref()), (400, Some("invalid_input")));
}

/// The request's id from the redirect after registering it.
fn registered(page: &common::web::Page) -> String {
    assert_eq!(page.status, 303, "{}", page.html);
    let location = page.location.as_deref().unwrap();
    location.trim_start_matches("/console/requests/").trim_end_matches("?done=registered").to_owned()
}

async fn the_dpo_answers_requests_received_by_mail_with_the_export_and_the_erasure(h: &Harness) {
    let (t, c) = consenting(h).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@register.example").await;
    let dana = Session::staff(h, &t, "dpo", "dana@register.example").await;
    let today = hoheit_domain::ports::Clock::now(h.state.clock.as_ref()).date().to_string();

    assert_eq!(rita.get("/console/requests").await.status, 403);
    let page = dana.get("/console/requests").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(by_id(&page.html, "no-requests").is_some());
    let register = |kind: &'static str, phone: &'static str| {
        [("kind", kind), ("channel", "email"), ("received_on", ""), ("phone", phone)]
    };
    let mut form = register("access", "0170 5550123");
    form[2].1 = &today;
    assert_eq!(rita.post("/console/requests", &form, true).await.status, 403);
    // a number nobody has, and one that cannot exist: refused, nothing registered
    let mut unknown = register("access", "0170 5559999");
    unknown[2].1 = &today;
    let refused = dana.post("/console/requests", &unknown, true).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(by_id(&refused.html, "refused").unwrap().contains("Nummer"), "{}", refused.html);
    let mut bad = register("access", "12");
    bad[2].1 = &today;
    assert_eq!(dana.post("/console/requests", &bad, true).await.status, 422);
    assert!(by_id(&dana.get("/console/requests").await.html, "no-requests").is_some());

    // an access request by mail, the person found by the number as Germans write it
    let access = registered(&dana.post("/console/requests", &form, true).await);
    let detail = dana.get(&format!("/console/requests/{access}?done=registered")).await;
    assert_eq!(detail.status, 200, "{}", detail.html);
    let request = by_id(&detail.html, "request").unwrap();
    assert!(request.contains("E-Mail") && request.contains(&c), "{request}");
    assert!(by_id(&detail.html, "countdown").unwrap().ends_with("Tage verbleibend"), "{request}");
    // the export: the exact document as a download, the request closed with its SHA-256
    assert_eq!(rita.post(&format!("/console/requests/{access}/export"), &[], true).await.status, 403);
    let export = dana.post(&format!("/console/requests/{access}/export"), &[], true).await;
    assert_eq!(export.status, 200, "{}", export.html);
    assert!(export.content_type.starts_with("application/json"));
    assert!(export.disposition.as_deref().unwrap().starts_with("attachment"));
    let doc: Value = serde_json::from_str(&export.html).unwrap();
    assert_eq!(doc["format"], "hoheit-subject-export");
    assert!(export.html.contains(&c), "the document is the candidate's");
    assert!(doc["audit_entries"].as_array().is_some_and(|a| !a.is_empty()));
    let sha = hex::encode(sha2::Sha256::digest(export.html.as_bytes()));
    let detail = dana.get(&format!("/console/requests/{access}")).await;
    assert_eq!(by_id(&detail.html, "sha256").as_deref(), Some(sha.as_str()), "{}", detail.html);
    assert!(by_id(&detail.html, "status").unwrap().starts_with("erledigt am"));
    assert!(!detail.html.contains("id=\"export\""), "a closed request is not answered twice");

    // an erasure request after the rejection: the AGG claims window defers it, in words
    let end = t.recruiter.post(&format!("/api/v1/candidates/{c}/process-end"), json!({"reason": "rejected"})).await;
    assert_eq!(end.status, 200, "{:?}", end.json);
    let mut erasure = register("erasure", "+49 170 5550123");
    erasure[2].1 = &today;
    let erasure = registered(&dana.post("/console/requests", &erasure, true).await);
    let answer = format!("/console/requests/{erasure}/answer");
    let unconfirmed = dana.post(&answer, &[("answer", "erasure")], true).await;
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["lifecycle"], "active", "nothing erased");
    let done = dana.post(&answer, &[("answer", "erasure"), ("understood", "yes")], true).await;
    assert_eq!(done.status, 200, "{}", done.html);
    let notice = by_id(&done.html, "done").unwrap();
    assert!(notice.contains("AGG") && notice.contains("eingeschränkt") && notice.contains("gelöscht am"), "{notice}");
    assert!(by_id(&done.html, "status").unwrap().contains("legal_claims_window"), "{}", done.html);

    // an unidentified request: extended with the notice, then closed with a code
    let mut unidentified = register("objection", "");
    unidentified[2].1 = &today;
    let other = registered(&dana.post("/console/requests", &unidentified, true).await);
    let path = format!("/console/requests/{other}");
    assert!(by_id(&dana.get(&path).await.html, "request").unwrap().contains("nicht zugeordnet"));
    let extended = dana.post(&format!("{path}/extension"), &[("months", "2"), ("notified_on", &today)], true).await;
    assert_eq!((extended.status, extended.location.as_deref()), (303, Some(path.as_str())));
    let page = dana.get(&path).await;
    assert!(by_id(&page.html, "status").unwrap().starts_with("verlängert"), "{}", page.html);
    let again = dana.post(&format!("{path}/extension"), &[("months", "1"), ("notified_on", &today)], true).await;
    assert_eq!((again.status, by_id(&again.html, "refusal-code").as_deref()), (409, Some("conflict")));
    let bad_code = dana.post(&format!("{path}/closure"), &[("status", "refused_in_part"), ("code", "No!")], true).await;
    assert_eq!(bad_code.status, 422);
    let closed =
        dana.post(&format!("{path}/closure"), &[("status", "refused_in_part"), ("code", "no_data_held")], true).await;
    assert_eq!(closed.status, 303);
    let page = dana.get(&path).await;
    assert!(by_id(&page.html, "status").unwrap().contains("no_data_held"), "{}", page.html);
    assert_eq!(dana.get("/console/requests/not-an-id").await.status, 404);
    let list = by_id(&dana.get("/console/requests").await.html, "requests").unwrap();
    assert!(list.contains("Auskunft (Art. 15)") && list.contains("Löschung (Art. 17)"), "{list}");
}

async fn the_audit_log_is_verified_and_checkpointed_and_the_records_are_pages_to_print(h: &Harness) {
    let (t, c) = consenting(h).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@audit.example").await;
    let dana = Session::staff(h, &t, "dpo", "dana@audit.example").await;
    for path in
        ["/console/audit", "/console/audit/public-key.pem", "/console/records", "/console/records/privacy-notice"]
    {
        assert_eq!(rita.get(path).await.status, 403, "{path}");
    }
    assert_eq!(rita.post("/console/audit/checkpoint", &[], true).await.status, 403);

    // browse: everything, then by action and by person
    let page = dana.get("/console/audit").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let entries = by_id(&page.html, "entries").unwrap();
    assert!(entries.contains("channel.approved") && entries.contains("consent.granted"), "{entries}");
    // the log holds pseudonyms; the DPO alone sees the name next to the id, never the number
    assert!(entries.contains("Erika Mustermann") && !entries.contains("5550123"), "{entries}");
    let anna = Session::staff(h, &t, "admin", "anna@audit.example").await;
    let admin_view = by_id(&anna.get("/console/audit").await.html, "entries").unwrap();
    assert!(admin_view.contains(&c) && !admin_view.contains("Erika"), "the admin sees pseudonyms only");
    assert!(!t.dpo.get("/api/v1/audit/entries?limit=10000").await.json.to_string().contains("Erika"));
    let consent = by_id(&dana.get("/console/audit?action=consent.").await.html, "entries").unwrap();
    assert!(consent.contains("consent.granted") && !consent.contains("channel.approved"), "{consent}");
    let person = by_id(&dana.get(&format!("/console/audit?subject={c}")).await.html, "entries").unwrap();
    assert!(person.contains(&c) && !person.contains("channel.approved"), "{person}");
    let none = dana.get("/console/audit?from=2001-01-01&to=2001-01-02").await;
    assert!(by_id(&none.html, "no-entries").is_some());
    assert_eq!(dana.get("/console/audit?subject=Erika").await.status, 422);

    // verify, take a checkpoint, verify again: anchored by it
    assert!(
        by_id(&dana.get("/console").await.html, "last-checkpoint")
            .unwrap()
            .starts_with("Noch kein signierter Prüfpunkt")
    );
    let verdict = by_id(&dana.get("/console/audit?verify=1").await.html, "verdict").unwrap();
    assert!(
        verdict.starts_with("Die Protokollkette ist unverändert") && verdict.contains("Noch kein Prüfpunkt"),
        "{verdict}"
    );
    assert_eq!(dana.post("/console/audit/checkpoint", &[], false).await.status, 403);
    let checkpoint = dana.post("/console/audit/checkpoint", &[], true).await;
    assert_eq!(checkpoint.status, 200, "{}", checkpoint.html);
    assert!(checkpoint.disposition.as_deref().unwrap().contains("hoheit-audit-checkpoint.json"));
    let signed: Value = serde_json::from_str(&checkpoint.html).unwrap();
    let seq = signed["seq"].as_u64().unwrap();
    assert!(seq > 0 && signed["tenant"] == t.id.as_str(), "{signed}");
    let verdict = by_id(&dana.get("/console/audit?verify=1").await.html, "verdict").unwrap();
    assert!(verdict.contains(&format!("abgesichert bis Eintrag {seq}")), "{verdict}");
    // the overview: the chain verified, and the last checkpoint
    let overview = dana.get("/console").await;
    assert!(by_id(&overview.html, "chain").unwrap().starts_with("Die Protokollkette ist unverändert"));
    let last = by_id(&overview.html, "last-checkpoint").unwrap();
    assert!(last.starts_with(&format!("Letzter signierter Prüfpunkt: bis Eintrag {seq},")), "{last}");
    let key = dana.get("/console/audit/public-key.pem").await;
    assert!(key.html.starts_with("-----BEGIN PUBLIC KEY-----"), "{}", key.html);
    assert_eq!(key.html, t.dpo.get("/api/v1/audit/public-key").await.json["pem"].as_str().unwrap());

    // the overview: the last retention run
    let overview = dana.get("/console").await;
    assert_eq!(by_id(&overview.html, "last-run").as_deref(), Some("In den letzten 90 Tagen lief keine Löschung."));
    let run = t.dpo.post("/api/v1/retention/run", json!({})).await;
    assert_eq!(run.status, 200, "{:?}", run.json);
    let last = by_id(&dana.get("/console").await.html, "last-run").unwrap();
    assert!(last.starts_with("Letzter Lauf:") && last.ends_with(" / 0 / 0 / 0"), "{last}");

    // the records: a page to print, and the Markdown the API gives
    let record = dana.get("/console/records").await;
    assert_eq!(record.status, 200, "{}", record.html);
    let text = by_id(&record.html, "record").unwrap();
    assert!(text.contains("Art. 30") && text.contains("Beispiel GmbH") && text.contains("+4930901820"), "{text}");
    let markdown = dana.get("/console/records?format=markdown").await;
    assert!(markdown.content_type.starts_with("text/markdown") && markdown.disposition.is_some());
    assert!(markdown.html.starts_with("# Record of processing activities (Art. 30 GDPR)"), "{}", markdown.html);
    let section = dana.get("/console/records/privacy-notice?language=en").await;
    assert_eq!(section.status, 200);
    let api = t.dpo.get("/api/v1/privacy-notice/whatsapp-section?language=en").await;
    let heading = api.json["text"].as_str().unwrap().lines().next().unwrap().to_owned();
    assert!(!heading.is_empty() && section.html.contains(&heading), "the API's section: {heading}");
    assert!(section.html.contains("lang=\"en\""));
}

async fn legal_texts_are_checked_while_written_and_a_material_change_says_what_it_does(h: &Harness) {
    let t = tenant(h, "Recht GmbH", h.sim.phone_number_id()).await;
    let anna = Session::staff(h, &t, "admin", "anna@recht.example").await;
    let dana = Session::staff(h, &t, "dpo", "dana@recht.example").await;
    let rita = Session::staff(h, &t, "recruiter", "rita@recht.example").await;

    let page = anna.get("/console/legal-texts").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let table = by_id(&page.html, "legal-texts").unwrap();
    assert!(table.contains("Datenschutzhinweise") && table.contains("Einwilligungsanfrage"), "{table}");
    assert_eq!(table.matches("gilt").count(), 3, "one version of each text is in force: {table}");
    // the DPO reads, the admin publishes
    let dpo_page = dana.get("/console/legal-texts").await;
    assert_eq!(dpo_page.status, 200);
    assert!(!dpo_page.html.contains("id=\"publish\""), "only the admin is offered publishing");

    // the R6 check while typing (htmx asks for the fragment): what is missing, in words
    let draft = |body: &'static str| {
        [("kind", "consent_request"), ("language", "de"), ("version", "v2"), ("body", body), ("url", "")]
    };
    let incomplete = anna
        .http
        .post(format!("{}/console/legal-texts/check", anna.base))
        .header("cookie", &anna.cookie)
        .header("origin", &anna.base)
        .header("hx-request", "true")
        .form(&[draft("Recht GmbH fragt: WhatsApp?").as_slice(), &[("csrf_token", anna.csrf.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(incomplete.status(), 200);
    let fragment = incomplete.text().await.unwrap();
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    let missing = by_id(&fragment, "r6-missing").unwrap();
    assert!(missing.contains("dass WhatsApp und Meta beteiligt sind") && missing.contains("USA"), "{missing}");
    assert!(!missing.contains("Name des Arbeitgebers"), "the employer is named: {missing}");
    assert!(by_id(&fragment, "legal-preview").unwrap().contains("Recht GmbH fragt"));
    // without JavaScript: the whole page with the draft kept; the recruiter may not even check
    let full = anna.post("/console/legal-texts/check", &draft("Recht GmbH fragt: WhatsApp?"), true).await;
    assert!(full.html.contains("<html") && by_id(&full.html, "r6-missing").is_some());
    assert!(full.html.contains("Recht GmbH fragt: WhatsApp?</textarea>"));
    assert_eq!(rita.post("/console/legal-texts/check", &draft("x"), true).await.status, 403);
    assert_eq!(dana.post("/console/legal-texts/check", &draft("x"), true).await.status, 403);
    // publishing an incomplete consent request is refused by the domain, in words
    let refused = anna.post("/console/legal-texts", &draft("Recht GmbH fragt: WhatsApp?"), true).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(by_id(&refused.html, "refused").unwrap().contains("whatsapp_meta"));

    // a material privacy notice: published, and the page says consents must be renewed
    let notice = [
        ("kind", "privacy_notice"),
        ("language", "de"),
        ("version", "v2"),
        ("body", "Datenschutzhinweise, Fassung 2"),
        ("url", ""),
        ("material", "yes"),
    ];
    assert_eq!(dana.post("/console/legal-texts", &notice, true).await.status, 403);
    let done = anna.post("/console/legal-texts", &notice, true).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/console/legal-texts?done=material")));
    let page = anna.get("/console/legal-texts?done=material").await;
    assert!(by_id(&page.html, "done").unwrap().contains("erneuert werden (R7)"));
    let sha = hex::encode(sha2::Sha256::digest(b"Datenschutzhinweise, Fassung 2"));
    assert!(by_id(&page.html, "legal-texts").unwrap().contains(&sha), "each version with its SHA-256");
    let again = anna.post("/console/legal-texts", &notice, true).await;
    assert_eq!(by_id(&again.html, "refusal-code").as_deref(), Some("conflict"), "published versions are immutable");
}

async fn the_retention_dry_run_lists_what_would_happen_and_run_now_does_it(h: &Harness) {
    let (t, c) = consenting(h).await;
    let dana = Session::staff(h, &t, "dpo", "dana@fristen.example").await;
    let rita = Session::staff(h, &t, "recruiter", "rita@fristen.example").await;
    assert_eq!(rita.get("/console/retention").await.status, 403);

    let page = dana.get("/console/retention").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(
        "id=\"erase_after_months\" name=\"erase_after_months\" type=\"number\" min=\"3\" max=\"6\" value=\"6\""
    ));
    assert!(by_id(&page.html, "preview-none").is_some(), "a running process: nothing due");
    // the process ended with a rejection 7 months ago: the candidate is due for erasure (R24)
    let at = time::OffsetDateTime::from_unix_timestamp(now_unix() - 214 * 86_400)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let end =
        t.recruiter.post(&format!("/api/v1/candidates/{c}/process-end"), json!({"reason": "rejected", "at": at})).await;
    assert_eq!(end.status, 200, "{:?}", end.json);
    let preview = by_id(&dana.get("/console/retention").await.html, "preview").unwrap();
    assert!(preview.contains(&c) && preview.contains("löschen: Frist nach Verfahrensende abgelaufen"), "{preview}");
    assert!(preview.contains("beim nächsten Lauf") && preview.contains("R24"), "{preview}");
    assert_eq!(
        t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["lifecycle"],
        "active",
        "the dry run changes nothing"
    );

    // the policy: ranges enforced by the domain; a recruiter cannot change it
    let mut policy = vec![
        ("erase_after_months", "4"),
        ("claims_window_months", "3"),
        ("talent_pool_months", "12"),
        ("archive_after_days", ""),
        ("process_end_after_inactive_months", "6"),
    ];
    assert_eq!(rita.post("/console/retention/policy", &policy, true).await.status, 403);
    policy[0].1 = "9";
    let out_of_range = dana.post("/console/retention/policy", &policy, true).await;
    assert_eq!(out_of_range.status, 422, "{}", out_of_range.html);
    policy[0].1 = "4";
    let saved = dana.post("/console/retention/policy", &policy, true).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/console/retention?done=saved")));
    assert_eq!(t.dpo.get("/api/v1/retention-policy").await.json["erase_after_months"], 4);

    // run now: only after the confirmation; then erased, and the run is listed
    assert_eq!(dana.post("/console/retention/run", &[], true).await.status, 422);
    assert_eq!(rita.post("/console/retention/run", &[("understood", "yes")], true).await.status, 403);
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["lifecycle"], "active");
    let ran = dana.post("/console/retention/run", &[("understood", "yes")], true).await;
    assert_eq!(ran.status, 200, "{}", ran.html);
    assert!(by_id(&ran.html, "done").unwrap().ends_with("1 / 0 / 1 / 0"), "{}", ran.html);
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["lifecycle"], "erased");
    let runs = by_id(&ran.html, "runs").unwrap();
    assert!(runs.contains("1 / 0 / 1 / 0") && runs.contains("dpo"), "{runs}");
    assert!(by_id(&ran.html, "preview-none").is_some());
}

/// Every console page and action answers a recruiter with 403, whatever the id.
async fn a_recruiter_gets_403_on_every_console_page_and_action(h: &Harness) {
    let t = tenant(h, "Sperre GmbH", h.sim.phone_number_id()).await;
    let rita = Session::staff(h, &t, "recruiter", "rita@sperre.example").await;
    let id = "01a25104-bf21-773b-97cd-34d25df63bd2";
    for path in [
        "/console".to_owned(),
        "/console/reviews".to_owned(),
        format!("/console/reviews/{id}/{id}"),
        "/console/channels".to_owned(),
        "/console/requests".to_owned(),
        format!("/console/requests/{id}"),
        "/console/audit".to_owned(),
        "/console/audit/public-key.pem".to_owned(),
        "/console/records".to_owned(),
        "/console/records?format=markdown".to_owned(),
        "/console/records/privacy-notice".to_owned(),
        "/console/legal-texts".to_owned(),
        "/console/retention".to_owned(),
    ] {
        assert_eq!(rita.get(&path).await.status, 403, "GET {path}");
    }
    let channel = &t.channel;
    for path in [
        format!("/console/reviews/{id}/{id}/decision"),
        format!("/console/channels/{channel}/approval"),
        format!("/console/channels/{channel}/revocation"),
        "/console/requests".to_owned(),
        format!("/console/requests/{id}/extension"),
        format!("/console/requests/{id}/answer"),
        format!("/console/requests/{id}/export"),
        format!("/console/requests/{id}/closure"),
        "/console/audit/checkpoint".to_owned(),
        "/console/legal-texts".to_owned(),
        "/console/legal-texts/check".to_owned(),
        "/console/retention/policy".to_owned(),
        "/console/retention/run".to_owned(),
    ] {
        let r = rita
            .post(
                &path,
                &[
                    ("understood", "yes"),
                    ("decision", "confirm"),
                    ("kind", "access"),
                    ("channel", "email"),
                    ("received_on", "2026-12-01"),
                    ("approver_name", "R"),
                    ("dpia_reference", "D"),
                    ("documents", "a @ 1"),
                    ("months", "1"),
                    ("notified_on", "2026-12-01"),
                    ("answer", "erasure"),
                    ("status", "fulfilled"),
                    ("code", "done"),
                    ("version", "v9"),
                    ("language", "de"),
                    ("body", "x"),
                    ("erase_after_months", "6"),
                    ("claims_window_months", "3"),
                    ("talent_pool_months", "12"),
                    ("process_end_after_inactive_months", "6"),
                ],
                true,
            )
            .await;
        assert_eq!(r.status, 403, "POST {path}: {}", r.html);
    }
    assert!(approved_still(&t).await);
    // the operator has no console: its bearer token opens no page (pages take a session only)
    let operator = h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/console", "/console/audit", "/console/requests", "/staff"] {
        let r = http.get(format!("{}{path}", h.base)).bearer_auth(&operator).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/signin"), "{path}");
    }
}

async fn approved_still(t: &Tenant) -> bool {
    approved(t).await
}

/// The row of `email` in the staff table, and the account's id from its `id="staff-..."`.
fn staff_id(html: &str, email: &str) -> String {
    let at = html.find(email).unwrap();
    let row = html[..at].rfind("id=\"staff-").unwrap() + "id=\"staff-".len();
    html[row..].chars().take_while(|ch| *ch != '"').collect()
}

async fn the_admin_manages_people_and_api_tokens(h: &Harness) {
    let t = tenant(h, "Leute GmbH", h.sim.phone_number_id()).await;
    let anna = Session::staff(h, &t, "admin", "anna@leute.example").await;
    let dana = Session::staff(h, &t, "dpo", "dana@leute.example").await;
    let rita = Session::staff(h, &t, "recruiter", "rita@leute.example").await;
    let rolf = Session::staff(h, &t, "recruiter", "rolf@leute.example").await;

    let page = anna.get("/staff").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let (rita_id, rolf_id, dana_id) = (
        staff_id(&page.html, "rita@leute.example"),
        staff_id(&page.html, "rolf@leute.example"),
        staff_id(&page.html, "dana@leute.example"),
    );
    // the tokens with role, expiry and last use; never a secret
    let tokens = by_id(&page.html, "tokens").unwrap();
    assert!(tokens.contains("Recruiting") && tokens.contains("gültig"), "{tokens}");
    let listed = t.admin.get("/api/v1/tokens").await;
    let recruiter_token = listed.json.as_array().unwrap().iter().find(|x| x["role"] == "recruiter").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(page.html.contains(&format!("id=\"token-{recruiter_token}\"")));
    // the DPO sees the people but changes nothing
    let dpo_page = dana.get("/staff").await;
    assert_eq!(dpo_page.status, 200);
    assert!(!dpo_page.html.contains("/revocation") && !dpo_page.html.contains("/disable"));
    assert_eq!(dana.post(&format!("/staff/{rita_id}/role"), &[("role", "dpo")], true).await.status, 403);
    assert_eq!(dana.post(&format!("/staff/tokens/{recruiter_token}/revocation"), &[], true).await.status, 403);
    assert_eq!(rita.post(&format!("/staff/{rolf_id}/disable"), &[("understood", "yes")], true).await.status, 403);

    // revoke a token: the API refuses it from then on
    assert_eq!(t.recruiter.get("/api/v1/candidates").await.status, 200);
    let revoked = anna.post(&format!("/staff/tokens/{recruiter_token}/revocation"), &[], true).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/staff?done=revoked")));
    assert_eq!(t.recruiter.get("/api/v1/candidates").await.status, 401);
    let page = anna.get("/staff?done=revoked").await;
    assert!(by_id(&page.html, "done").is_some());
    assert!(by_id(&page.html, &format!("token-{recruiter_token}")).unwrap().contains("widerrufen"));

    // a role change ends the person's sessions; disabling needs the confirmation
    let changed = anna.post(&format!("/staff/{rolf_id}/role"), &[("role", "dpo")], true).await;
    assert_eq!((changed.status, changed.location.as_deref()), (303, Some("/staff?done=role")));
    assert_eq!(rolf.get("/inbox").await.status, 303, "signed out by the role change");
    assert!(by_id(&anna.get("/staff").await.html, &format!("staff-{rolf_id}")).unwrap().contains("Datenschutz"));
    assert_eq!(anna.post(&format!("/staff/{rita_id}/disable"), &[], true).await.status, 422);
    assert_eq!(rita.get("/inbox").await.status, 200);
    let disabled = anna.post(&format!("/staff/{rita_id}/disable"), &[("understood", "yes")], true).await;
    assert_eq!((disabled.status, disabled.location.as_deref()), (303, Some("/staff?done=disabled")));
    assert_eq!(rita.get("/inbox").await.status, 303, "a disabled account's session ends at once");
    // the second factor: reset, the session ends
    assert_eq!(dana.get("/console").await.status, 200);
    let reset = anna.post(&format!("/staff/{dana_id}/second-factor-reset"), &[], true).await;
    assert_eq!((reset.status, reset.location.as_deref()), (303, Some("/staff?done=reset")));
    assert_eq!(dana.get("/console").await.status, 303);
    assert_eq!(anna.post("/staff/not-an-id/role", &[("role", "dpo")], true).await.status, 422);
}
