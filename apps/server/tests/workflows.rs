//! End to end through HTTP: the DPO and recruiter workflows of issue 8 — objection review
//! queue, subject-request register, template governance, media in and out, and the
//! accountability documents — on SQLite, and on PostgreSQL under scripts/test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use hoheit_domain::ports::Clock as _;
use hoheit_domain::usecases::DispatchOutcome;
use hoheit_server::harness::{Harness, HarnessOptions, eventually};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

scenarios!(
    objection_review_queue: true,
    subject_request_register: true,
    template_governance: false,
    inbound_media: true,
    outbound_documents: true,
    accountability_documents: true,
    legal_hold_reviews: false,
);

const WAIT: Duration = Duration::from_secs(15);

/// Polls `f` until it gives a value (panics after [`WAIT`]).
async fn poll<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A second tenant (for isolation checks). Registering its channel points the simulator's
/// webhooks at it; they are pointed back at `t`.
async fn other_tenant(h: &Harness, t: &Tenant) -> Tenant {
    let other = tenant(h, "Andere AG", "100000000000999").await;
    h.sim.set_webhook(
        hoheit_dialog360::simulator::WebhookTarget::new(format!("{}{}", h.base, t.webhook_path))
            .with_header("x-hoheit-webhook-secret", t.webhook_secret.clone()),
    );
    other
}

/// Claims and dispatches everything due (for scenarios without workers).
async fn dispatch_all(h: &Harness) -> Vec<DispatchOutcome> {
    let entries = h.state.outbox.claim(h.state.clock.now(), time::Duration::minutes(1), 100).await.unwrap();
    let mut outcomes = Vec::new();
    for entry in entries {
        outcomes.push(h.state.app.dispatch(&entry).await.unwrap());
    }
    outcomes
}

/// A candidate who consented with the consent request's button (workers on or off).
async fn consented(h: &Harness, t: &Tenant, workers: bool) -> String {
    let c = candidate(t, NUMBER).await;
    assert_eq!(t.recruiter.post(&format!("/api/v1/candidates/{c}/consent-request"), json!({})).await.status, 202);
    if !workers {
        assert_eq!(dispatch_all(h).await, vec![DispatchOutcome::Sent]);
    }
    accept_consent(h, t, &c, WA, WAIT).await;
    c
}

/// The audit entries of a candidate, as the DPO reads them.
async fn audit(t: &Tenant, c: &str) -> Vec<Value> {
    let r = t.dpo.get(&format!("/api/v1/audit/entries?subject={c}")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["entries"].as_array().unwrap().clone()
}

fn has_entry(entries: &[Value], action: &str, detail: (&str, &str), role: Option<&str>) -> bool {
    entries.iter().any(|e| {
        e["action"] == action
            && e["details"][detail.0] == detail.1
            && role.is_none_or(|r| e["actor"]["type"] == "staff" && e["actor"]["role"] == r)
    })
}

async fn metric(h: &Harness, name: &str) -> Option<u64> {
    let text = reqwest::get(format!("{}/metrics", h.base)).await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name} ")).and_then(|v| v.trim().parse().ok()))
}

// ---------------------------------------------------------------- objection review (R16)

async fn objection_review_queue(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let other = other_tenant(h, &t).await;
    let c = consented(h, &t, true).await;
    const TEXT: &str = "Ich will meine Bewerbung nicht stoppen";
    h.sim.inject_inbound_text(WA, TEXT);
    let review =
        poll("the review", || async { t.recruiter.get("/api/v1/reviews").await.json["reviews"].get(0).cloned() }).await;
    let rid = review["review_id"].as_str().unwrap().to_owned();
    assert_eq!(review["overdue"], false);
    // tier 2 blocks proactive sending until decided
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Danke!"})).await;
    assert_eq!(r.code(), Some("objection_review_pending"));

    // the reason, not the text
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/reviews/{rid}")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["reason"]["classification"], "possible_objection");
    assert!(!r.json["reason"]["matched"].as_str().unwrap().is_empty());
    assert!(!r.json.to_string().contains("Bewerbung"), "no message text in the review: {}", r.json);
    // another tenant's review does not exist for them
    assert_eq!(other.dpo.get(&format!("/api/v1/candidates/{c}/reviews/{rid}")).await.status, 404);
    assert_eq!(other.dpo.get(&format!("/api/v1/candidates/{c}/reviews/{rid}/message")).await.status, 404);

    // reading the message is allowed to staff and audited with the reader
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/reviews/{rid}/message")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["content"]["content"]["body"], TEXT);
    assert!(has_entry(&audit(&t, &c).await, "content.read", ("content", "review_message"), Some("recruiter")));

    // the recruiter whose conversation it is does not decide (issue 13): 403, nothing changes
    let path = format!("/api/v1/candidates/{c}/reviews/{rid}/decision");
    let r = t.recruiter.post(&path, json!({"decision": "dismiss", "reason": "negated_keyword"})).await;
    assert_eq!((r.status, r.code()), (403, Some("forbidden")), "{:?}", r.json);
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Danke!"})).await;
    assert_eq!(r.code(), Some("objection_review_pending"), "the refused decision changed nothing");
    // dismissing needs a reason from the list; the decision is audited with who and why
    assert_eq!(t.admin.post(&path, json!({"decision": "dismiss"})).await.code(), Some("invalid_input"));
    assert_eq!(
        t.admin.post(&path, json!({"decision": "dismiss", "reason": "because"})).await.code(),
        Some("invalid_input")
    );
    let r = t.admin.post(&path, json!({"decision": "dismiss", "reason": "negated_keyword"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json["objection"]["review"].is_null());
    assert_eq!(r.json["objection"]["objected"], false);
    let entries = audit(&t, &c).await;
    assert!(has_entry(&entries, "objection.review_dismissed", ("dismiss_reason", "negated_keyword"), Some("admin")));
    assert!(has_entry(&entries, "objection.review_dismissed", ("review", &rid), None));
    assert_eq!(
        t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Danke!"})).await.status,
        202
    );
    assert_eq!(t.admin.post(&path, json!({"decision": "confirm"})).await.status, 404, "decided once");

    // a second possible objection, left past its due time: overdue in the list and the gauge
    h.sim.inject_inbound_text(WA, "Können Sie die Nachrichten stoppen, bitte?");
    assert!(eventually(WAIT, || async { t.dpo.get("/api/v1/reviews").await.json["reviews"].get(0).is_some() }).await);
    assert_eq!(metric(h, "hoheit_objection_reviews_open").await, Some(1));
    assert_eq!(metric(h, "hoheit_objection_reviews_overdue").await, Some(0));
    h.state.clock.advance(time::Duration::days(5));
    let r = t.dpo.get("/api/v1/reviews").await;
    assert_eq!(r.json["reviews"][0]["overdue"], true, "{:?}", r.json);
    let rid2 = r.json["reviews"][0]["review_id"].as_str().unwrap().to_owned();
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}/reviews/{rid2}")).await.json["overdue"], true);
    assert_eq!(metric(h, "hoheit_objection_reviews_overdue").await, Some(1));

    // confirming applies the objection as if tier 1 and opens the subject request (R18)
    let r =
        t.dpo.post(&format!("/api/v1/candidates/{c}/reviews/{rid2}/decision"), json!({"decision": "confirm"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["objection"]["objected"], true);
    assert_eq!(r.json["objection"]["source"], "review");
    let requests = t.dpo.get("/api/v1/subject-requests").await.json["subject_requests"].clone();
    assert!(requests.as_array().unwrap().iter().any(|r| r["kind"] == "objection" && r["candidate"] == c));
    assert_eq!(metric(h, "hoheit_objection_reviews_open").await, Some(0));
    assert!(has_entry(&audit(&t, &c).await, "objection.review_resolved", ("review", &rid2), Some("dpo")));
}

// ---------------------------------------------------------------- legal-hold reviews (R26)

async fn legal_hold_reviews(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let other = other_tenant(h, &t).await;
    let held = candidate(&t, "+49 170 4444444").await;
    let released = candidate(&t, "+49 170 5555555").await;
    let set = |c: &str, reason: &str| {
        let (dpo, path) = (t.dpo.clone(), format!("/api/v1/candidates/{c}/legal-holds"));
        let body = json!({"reason": reason, "reference": "Az. 1 Ca 234/26"});
        async move {
            let r = dpo.post(&path, body).await;
            assert_eq!(r.status, 201, "{:?}", r.json);
            r.str("/id").unwrap().to_owned()
        }
    };
    let hold = set(&held, "claim_asserted").await;
    let gone = set(&released, "authority_inquiry").await;
    let r = t.dpo.delete(&format!("/api/v1/candidates/{released}/legal-holds/{gone}")).await;
    assert_eq!(r.status, 204, "{:?}", r.json);

    // nothing due yet: an empty list, a zero gauge
    let r = t.dpo.get("/api/v1/legal-holds?due=true").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["legal_holds"], json!([]));
    assert_eq!(metric(h, "hoheit_legal_hold_reviews_due").await, Some(0));
    assert_eq!(t.dpo.get("/api/v1/subject-requests/due").await.json["legal_hold_reviews_due"], 0);

    // past the review date (6 months by default): listed with its hold, counted in the gauge
    h.state.clock.advance(time::Duration::days(190));
    let r = t.dpo.get("/api/v1/legal-holds?due=true").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let due = r.json["legal_holds"].as_array().unwrap();
    assert_eq!(due.len(), 1, "the released hold is not due: {:?}", r.json);
    assert_eq!(due[0]["candidate_id"], held.as_str());
    assert_eq!(due[0]["holds"][0]["id"], hold.as_str());
    assert_eq!(due[0]["holds"][0]["reason"], "claim_asserted");
    assert_eq!(due[0]["review_at"], due[0]["holds"][0]["review_at"]);
    assert!(!r.json.to_string().contains("Ca 234"), "no case reference in the list");
    assert_eq!(t.dpo.get("/api/v1/subject-requests/due").await.json["legal_hold_reviews_due"], 1, "deadline view");
    assert_eq!(t.admin.get("/api/v1/legal-holds?due=true").await.status, 200);
    assert_eq!(metric(h, "hoheit_legal_hold_reviews_due").await, Some(1));

    // admin and DPO only; only due=true; tenant-scoped
    assert_eq!(t.recruiter.get("/api/v1/legal-holds?due=true").await.status, 403);
    assert_eq!(t.dpo.get("/api/v1/legal-holds").await.code(), Some("invalid_input"));
    assert_eq!(t.dpo.get("/api/v1/legal-holds?due=false").await.code(), Some("invalid_input"));
    assert_eq!(other.dpo.get("/api/v1/legal-holds?due=true").await.json["legal_holds"], json!([]));

    // released after review: no longer due
    let r = t.dpo.delete(&format!("/api/v1/candidates/{held}/legal-holds/{hold}")).await;
    assert_eq!(r.status, 204, "{:?}", r.json);
    assert_eq!(t.dpo.get("/api/v1/legal-holds?due=true").await.json["legal_holds"], json!([]));
    assert_eq!(metric(h, "hoheit_legal_hold_reviews_due").await, Some(0));
}

// ---------------------------------------------------------------- subject requests (R29-R31)

fn ago(h: &Harness, days: i64) -> String {
    (h.state.clock.now() - time::Duration::days(days)).format(&time::format_description::well_known::Rfc3339).unwrap()
}

async fn subject_request_register(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let other = other_tenant(h, &t).await;
    let c = consented(h, &t, true).await;
    let open = |kind: &str, received: Option<String>, candidate: Option<&str>| {
        let body = json!({"kind": kind, "channel": "email", "received_at": received, "candidate_id": candidate});
        let dpo = t.dpo.clone();
        async move {
            let r = dpo.post("/api/v1/subject-requests", body).await;
            assert_eq!(r.status, 201, "{:?}", r.json);
            r.str("/id").unwrap().to_owned()
        }
    };
    let late = open("access", Some(ago(h, 40)), Some(&c)).await;
    let soon = open("portability", Some(ago(h, 26)), Some(&c)).await;
    let fresh = open("restriction", None, Some(&c)).await;

    // overdue and due soon, and the gauges
    let r = t.dpo.get("/api/v1/subject-requests/due").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let ids = |key: &str| -> Vec<String> {
        r.json[key].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids("overdue"), vec![late.clone()]);
    assert_eq!(ids("due_soon"), vec![soon.clone()]);
    assert_eq!(r.json["overdue"][0]["overdue"], true);
    assert_eq!(
        t.dpo.get("/api/v1/subject-requests/due?within_days=40").await.json["due_soon"].as_array().unwrap().len(),
        2
    );
    assert_eq!(t.dpo.get("/api/v1/subject-requests/due?within_days=0").await.code(), Some("invalid_input"));
    assert_eq!(t.recruiter.get("/api/v1/subject-requests/due").await.status, 403);
    assert_eq!(metric(h, "hoheit_subject_requests_overdue").await, Some(1));
    assert_eq!(metric(h, "hoheit_subject_requests_due_soon").await, Some(1));
    assert_eq!(other.dpo.get(&format!("/api/v1/subject-requests/{late}")).await.status, 404);

    // extension only with the notice inside the first month (Art. 12(3))
    let ext = format!("/api/v1/subject-requests/{late}/extension");
    let r = t.dpo.post(&ext, json!({"months": 2})).await;
    assert_eq!(r.code(), Some("invalid_input"), "notified after the first month: {:?}", r.json);
    assert_eq!(t.dpo.post(&ext, json!({"months": 3, "notified_at": ago(h, 30)})).await.code(), Some("invalid_input"));
    let r = t.dpo.post(&ext, json!({"months": 2, "notified_at": ago(h, 30)})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "extended");
    assert_eq!(r.json["overdue"], false);
    assert!(r.json["notified_at"].is_string());
    assert_eq!(t.dpo.post(&ext, json!({"months": 1, "notified_at": ago(h, 29)})).await.code(), Some("conflict"));

    // an export answers an access request; the register keeps the SHA-256 of what was handed out
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{late}/fulfilment"), json!({"answer": "erasure"})).await;
    assert_eq!(r.code(), Some("invalid_input"), "an erasure does not answer an access request");
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{late}/fulfilment"), json!({"answer": "export"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let export = r.json["export"].clone();
    assert_eq!(export["format"], "hoheit-subject-export");
    assert!(export["audit_entries"].as_array().is_some_and(|a| !a.is_empty()));
    let sha = hex(&Sha256::digest(serde_json::to_vec(&export).unwrap()));
    assert_eq!(r.json["subject_request"]["status"], "fulfilled");
    assert_eq!(r.json["subject_request"]["outcome"], "export");
    assert_eq!(r.json["subject_request"]["fulfilment"]["kind"], "export");
    assert_eq!(r.json["subject_request"]["fulfilment"]["sha256"], sha);
    assert!(has_entry(&audit(&t, &c).await, "content.read", ("content", "export"), Some("dpo")));
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{late}/fulfilment"), json!({"answer": "export"})).await;
    assert_eq!(r.code(), Some("conflict"), "closed once");

    // a restriction request is answered by the restriction in effect (restrict first)
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{fresh}/fulfilment"), json!({"answer": "restriction"})).await;
    assert_eq!(r.code(), Some("conflict"));

    // an unidentified requester: closed with a code
    let nobody = open("access", None, None).await;
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{nobody}/fulfilment"), json!({"answer": "export"})).await;
    assert_eq!(r.code(), Some("conflict"));
    let close = |id: &str, status: &str, code: &str| {
        let (path, body) = (format!("/api/v1/subject-requests/{id}/closure"), json!({"status": status, "code": code}));
        let dpo = t.dpo.clone();
        async move { dpo.post(&path, body).await }
    };
    let r = close(&nobody, "fulfilled", "no_data_held").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["outcome"], "no_data_held");
    let r = close(&soon, "refused_in_part", "Mustermann").await;
    assert_eq!(r.code(), Some("invalid_input"), "codes only, no free text");

    // an objection on WhatsApp opens its request by itself; it is answered by that objection
    h.sim.inject_inbound_text(WA, "STOPP");
    let objection = poll("the objection's subject request", || async {
        let list = t.dpo.get("/api/v1/subject-requests").await.json["subject_requests"].clone();
        list.as_array()?.iter().find(|r| r["kind"] == "objection").and_then(|r| r["id"].as_str().map(str::to_owned))
    })
    .await;
    let r =
        t.dpo.post(&format!("/api/v1/subject-requests/{objection}/fulfilment"), json!({"answer": "objection"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["subject_request"]["fulfilment"]["kind"], "objection");
    let since = t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["objection"]["since"].clone();
    assert_eq!(r.json["subject_request"]["fulfilment"]["at"], since);

    // once processing is restricted (Art. 18), the restriction request is answered by it
    let r = t.dpo.post(&format!("/api/v1/candidates/{c}/restriction"), json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{fresh}/fulfilment"), json!({"answer": "restriction"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["subject_request"]["fulfilment"]["kind"], "restriction");
    assert_eq!(r.json["subject_request"]["outcome"], "restriction");

    // an erasure request is answered by the erasure it triggers
    let erase = open("erasure", None, Some(&c)).await;
    let r = t.dpo.post(&format!("/api/v1/subject-requests/{erase}/fulfilment"), json!({"answer": "erasure"})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["erasure"]["status"], "erased");
    assert_eq!(r.json["subject_request"]["fulfilment"]["kind"], "erasure");
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}")).await.json["lifecycle"], "erased");
    assert!(has_entry(&audit(&t, &c).await, "subject_request.closed", ("subject_request", &erase), Some("dpo")));
    let r = t.dpo.get(&format!("/api/v1/subject-requests/{erase}")).await;
    assert_eq!(r.json["status"], "fulfilled");
    // the register outlives the erasure
    assert_eq!(t.dpo.get(&format!("/api/v1/subject-requests/{late}")).await.json["fulfilment"]["sha256"], sha);
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

// ---------------------------------------------------------------- templates (R15, R21)

async fn template_governance(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let other = other_tenant(h, &t).await;
    let ch = &t.channel;
    let r = t.recruiter.get(&format!("/api/v1/channels/{ch}/templates")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let list = r.json.as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    let consent = list.iter().find(|t| t["name"] == "consent_request").unwrap();
    assert_eq!(consent["consent_template"], true);
    assert_eq!(consent["carries_notice"], true);
    assert_eq!(consent["status"], "APPROVED");
    assert_eq!(consent["category"], "UTILITY");
    assert_eq!(consent["quick_replies"], 3);
    assert!(consent["components"].as_array().is_some_and(|c| !c.is_empty()));
    assert_eq!(other.dpo.get(&format!("/api/v1/channels/{ch}/templates")).await.status, 404);

    // marking the notice (audited); the consent template keeps its mark
    let invite = format!("/api/v1/channels/{ch}/templates/interview_invite/de");
    assert_eq!(t.recruiter.put(&invite, json!({"carries_notice": true})).await.status, 403);
    let r = t.dpo.put(&invite, json!({"carries_notice": true})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["carries_notice"], true);
    let r = t
        .admin
        .put(&format!("/api/v1/channels/{ch}/templates/consent_request/de"), json!({"carries_notice": false}))
        .await;
    assert_eq!(r.code(), Some("conflict"));
    assert_eq!(
        t.dpo.put(&format!("/api/v1/channels/{ch}/templates/nope/de"), json!({"carries_notice": true})).await.status,
        404
    );
    let entries = t.dpo.get("/api/v1/audit/entries").await.json["entries"].clone();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "template.notice_marked" && e["details"]["notice"] == true)
    );

    // a consented candidate; parameters are checked before queueing
    let c = consented(h, &t, false).await;
    let send = |params: Value| {
        let recruiter = t.recruiter.clone();
        let c = c.clone();
        async move {
            recruiter
                .post(
                    &format!("/api/v1/candidates/{c}/messages"),
                    json!({"template": {"name": "interview_invite", "language": "de", "parameters": params}}),
                )
                .await
        }
    };
    assert_eq!(send(json!([])).await.code(), Some("invalid_input"));
    assert_eq!(send(json!(["Montag\n10 Uhr"])).await.code(), Some("invalid_input"));
    assert_eq!(send(json!(["   "])).await.code(), Some("invalid_input"));
    assert_eq!(send(json!(["Montag, 10 Uhr"])).await.status, 202);

    // the template is paused between the decision and the dispatch: refused at dispatch
    let mut templates = hoheit_server::harness::simulator_templates();
    for tpl in &mut templates {
        if tpl["name"] == "interview_invite" {
            tpl["status"] = json!("PAUSED");
        }
    }
    templates.push(json!({"name": "offer_letter", "language": "de", "status": "APPROVED", "category": "UTILITY",
        "components": [{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Ihr Angebot, {{1}}"}]}));
    h.sim.set_templates(templates);
    let r = t.admin.post(&format!("/api/v1/channels/{ch}/templates/sync"), json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json, 4);
    let list = t.dpo.get(&format!("/api/v1/channels/{ch}/templates")).await.json;
    let find = |name: &str| list.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(find("interview_invite")["status"], "PAUSED");
    assert_eq!(find("interview_invite")["carries_notice"], true, "the mark survives the sync");
    assert_eq!(find("offer_letter")["unsupported"], json!(["header_parameter"]));
    let sent_before = h.sim.accepted_messages().len();
    assert_eq!(
        dispatch_all(h).await,
        vec![DispatchOutcome::Refused(hoheit_domain::policy::RefusalCode::TemplateNotApproved)]
    );
    assert_eq!(h.sim.accepted_messages().len(), sent_before, "nothing reached 360Dialog");
    let entries = audit(&t, &c).await;
    assert!(entries.iter().any(|e| e["action"] == "message.refused"
        && e["details"]["refusal_code"] == "template_not_approved"
        && e["details"]["at_dispatch"] == true));
    let messages = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await.json["messages"].clone();
    assert_eq!(messages.as_array().unwrap().last().unwrap()["status"], "cancelled");
    // and refused when asked, too
    assert_eq!(send(json!(["Dienstag"])).await.code(), Some("template_not_approved"));
    // a template needing a header parameter is refused before queueing
    let r = t
        .recruiter
        .post(
            &format!("/api/v1/candidates/{c}/messages"),
            json!({"template": {"name": "offer_letter", "language": "de", "parameters": ["Erika"]}}),
        )
        .await;
    assert_eq!(r.code(), Some("invalid_input"), "{:?}", r.json);
}

// ---------------------------------------------------------------- media (R27, R33)

fn media_webhook(phone_number_id: &str, wamid: &str, kind: &str, media: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": WA}],
        "messages": [{"from": WA, "id": wamid, "timestamp": now_unix().to_string(), "type": kind, kind: media}]
    }}]}]})
}

fn b64_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

async fn media_status(t: &Tenant, c: &str, n: usize) -> Vec<Value> {
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/media")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let list = r.json.as_array().unwrap().clone();
    if list.len() == n { list } else { Vec::new() }
}

async fn inbound_media(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let other = other_tenant(h, &t).await;
    let c = candidate(&t, NUMBER).await;
    let pdf = b"%PDF-1.7 Lebenslauf von Erika".to_vec();
    let good = h.sim.add_media(pdf.clone(), "application/pdf");
    let forged = h.sim.add_media(b"%PDF-1.7 anders".to_vec(), "application/pdf");
    let svg = h.sim.add_media(b"<svg onload=alert(1)/>".to_vec(), "image/svg+xml");
    let pnid = h.sim.phone_number_id().to_owned();
    let doc = |id: &str, sha: String| json!({"id": id, "mime_type": "application/pdf", "sha256": sha, "filename": "Lebenslauf.pdf"});
    for (wamid, kind, media) in [
        ("wamid.doc1", "document", doc(&good, b64_sha256(&pdf))),
        ("wamid.doc2", "document", doc(&forged, b64_sha256(&pdf))),
        (
            "wamid.img3",
            "image",
            json!({"id": svg, "mime_type": "image/svg+xml", "sha256": b64_sha256(b"<svg onload=alert(1)/>")}),
        ),
    ] {
        assert_eq!(post_webhook(h, &t, &media_webhook(&pnid, wamid, kind, media), Some(&t.webhook_secret)).await, 200);
    }
    let files = poll("the media files to settle", || async {
        let files = media_status(&t, &c, 3).await;
        (files.len() == 3 && files.iter().all(|f| f["status"] != "pending")).then_some(files)
    })
    .await;
    let stored = &files[0];
    assert_eq!(stored["status"], "stored", "{files:?}");
    assert_eq!(stored["direction"], "inbound");
    assert_eq!(stored["kind"], "document");
    assert_eq!(stored["size"], pdf.len());
    assert_eq!(stored["sha256"], hex(&Sha256::digest(&pdf)));
    assert!(!serde_json::to_string(&files).unwrap().contains("Lebenslauf"), "no file name in the list");
    assert_eq!(files[1]["status"], "rejected");
    assert_eq!(files[1]["rejection"], "integrity_mismatch");
    assert_eq!(files[2]["status"], "rejected");
    assert_eq!(files[2]["rejection"], "type_not_allowed");

    // the file, read by staff, audited with the reader
    let id = stored["id"].as_str().unwrap();
    let resp = media_file(h, &t, &c, id).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("Lebenslauf.pdf"));
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    assert!(has_entry(&audit(&t, &c).await, "content.read", ("content", "media"), Some("recruiter")));
    let rejected = files[1]["id"].as_str().unwrap();
    assert_eq!(t.recruiter.get(&format!("/api/v1/candidates/{c}/media/{rejected}")).await.code(), Some("conflict"));
    assert!(has_entry(&audit(&t, &c).await, "media.rejected", ("media_rejection", "integrity_mismatch"), None));
    // other tenants and the operator get nothing
    assert_eq!(other.dpo.get(&format!("/api/v1/candidates/{c}/media/{id}")).await.status, 404);
    assert_eq!(other.dpo.get(&format!("/api/v1/candidates/{c}/media")).await.status, 404);
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    assert_eq!(operator.get(&format!("/api/v1/candidates/{c}/media/{id}")).await.status, 403);
    // 360Dialog was asked through its media endpoints only
    assert!(h.sim.requests().iter().any(|r| r.path == format!("/{good}")));

    // restricted (R25, R32): only admin and DPO read, and the read is audited
    assert_eq!(t.dpo.post(&format!("/api/v1/candidates/{c}/restriction"), json!({})).await.status, 200);
    assert_eq!(t.recruiter.get(&format!("/api/v1/candidates/{c}/media/{id}")).await.code(), Some("forbidden"));
    let resp = raw_get(h, &t, hoheit_domain::tenant::Role::Dpo, &format!("/api/v1/candidates/{c}/media/{id}")).await;
    assert_eq!(resp.status(), 200);
    assert!(has_entry(&audit(&t, &c).await, "content.read", ("content", "media"), Some("dpo")));

    // erased with the candidate
    assert_eq!(t.dpo.post(&format!("/api/v1/candidates/{c}/erasure"), json!({})).await.status, 200);
    assert_eq!(t.recruiter.get(&format!("/api/v1/candidates/{c}/media")).await.json, json!([]));
    assert_eq!(t.recruiter.get(&format!("/api/v1/candidates/{c}/media/{id}")).await.status, 404);
    let rows = raw_count(h, "SELECT COUNT(*) AS n FROM media").await;
    assert_eq!(rows, 0);
}

/// A raw GET by a staff member of `role` (raw bytes and headers, for answers that are not JSON).
async fn raw_get(h: &Harness, t: &Tenant, role: hoheit_domain::tenant::Role, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", h.base))
        .bearer_auth(h.token(Some(t.id.parse().unwrap()), role).await.unwrap())
        .send()
        .await
        .unwrap()
}

/// A media file of candidate `c` as a recruiter downloads it.
async fn media_file(h: &Harness, t: &Tenant, c: &str, id: &str) -> reqwest::Response {
    raw_get(h, t, hoheit_domain::tenant::Role::Recruiter, &format!("/api/v1/candidates/{c}/media/{id}")).await
}

async fn raw_count(h: &Harness, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait as _;
    // a second connection to the same database (the state holds ports, not the connection)
    let conn = sea_orm::Database::connect(h.state.config.database_url()).await.unwrap();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn outbound_documents(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let pdf = b"%PDF-1.7 Einladung zum Gespraech".to_vec();
    let body = |mime: &str, bytes: &[u8]| {
        json!({"filename": "Einladung.pdf", "mime_type": mime, "caption": "Ihre Einladung",
               "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
    };
    // no consent: refused before anything is uploaded
    let stranger = candidate(&t, "+49 170 5550999").await;
    let r = t.recruiter.post(&format!("/api/v1/candidates/{stranger}/documents"), body("application/pdf", &pdf)).await;
    assert_eq!(r.code(), Some("consent_missing"), "{:?}", r.json);
    assert!(h.sim.requests_to("/media").is_empty());

    let c = consented(h, &t, true).await;
    h.sim.inject_inbound_text(WA, "Wann ist das Gespräch?");
    assert!(
        eventually(WAIT, || async {
            let messages = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await.json["messages"].clone();
            messages.as_array().is_some_and(|m| m.iter().any(|m| m["direction"] == "inbound" && m["kind"] == "text"))
        })
        .await
    );
    let path = format!("/api/v1/candidates/{c}/documents");
    assert_eq!(t.recruiter.post(&path, body("application/x-msdownload", b"MZ")).await.code(), Some("invalid_input"));
    assert_eq!(t.dpo.post(&path, body("application/pdf", &pdf)).await.status, 403, "recruiting roles send");
    let r = t
        .recruiter
        .post(&path, json!({"filename": "a.pdf", "mime_type": "application/pdf", "content_base64": "%%%"}))
        .await;
    assert_eq!(r.code(), Some("invalid_input"));
    let before = h.sim.accepted_messages().len();
    let r = t.recruiter.post(&path, body("application/pdf", &pdf)).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    assert!(eventually(WAIT, || async { h.sim.accepted_messages().len() > before }).await);
    let sent = h.sim.accepted_messages().last().unwrap().body.clone();
    assert_eq!(sent["type"], "document");
    assert!(sent["document"].get("link").is_none(), "never a public link");
    assert_eq!(sent["document"]["filename"], "Einladung.pdf");
    let uploads = h.sim.requests_to("/media");
    assert_eq!(uploads.len(), 1);
    assert!(uploads[0].authorized);
    let media_id = sent["document"]["id"].as_str().unwrap();
    // the upload is what 360Dialog holds under that id
    let info = reqwest::Client::new()
        .get(format!("{}/{media_id}", h.sim.base_url()))
        .header("D360-API-KEY", hoheit_dialog360::simulator::DEFAULT_SIM_API_KEY)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(info["sha256"], hex(&Sha256::digest(&pdf)));
    // a sealed copy with the candidate's data, readable (audited)
    let files = t.recruiter.get(&format!("/api/v1/candidates/{c}/media")).await.json;
    let file = files.as_array().unwrap().iter().find(|f| f["direction"] == "outbound").unwrap().clone();
    assert_eq!(file["status"], "stored");
    assert_eq!(file["mime_type"], "application/pdf");
    let id = file["id"].as_str().unwrap();
    let resp = media_file(h, &t, &c, id).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    let messages = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await.json["messages"].clone();
    let last = messages.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "media");
    // documents are larger than the 64 KiB of other API bodies
    let big = [b"%PDF-1.7 ".as_slice(), &vec![b'x'; 200 * 1024]].concat();
    assert_eq!(t.recruiter.post(&path, body("application/pdf", &big)).await.status, 202);
    assert!(
        eventually(WAIT, || async {
            t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await.json["messages"]
                .as_array()
                .unwrap()
                .last()
                .is_some_and(|m| m["status"] == "read")
        })
        .await
    );
}

// ---------------------------------------------------------------- accountability (R2, R35)

async fn accountability_documents(h: &Harness) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let r = t.dpo.get("/api/v1/records-of-processing").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["controller"]["name"], "Beispiel GmbH");
    assert_eq!(r.json["controller"]["privacy_contact"], "dpo@example.com");
    let recipients = r.json["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 3);
    assert!(recipients.iter().any(
        |r| r["name"].as_str().unwrap().contains("360dialog") && r["location"].as_str().unwrap().contains("Berlin")
    ));
    assert!(recipients.iter().any(|r| r["transfer"].as_str().is_some_and(|t| t.contains("Data Privacy Framework"))));
    let period = |json: &Value, id: &str| {
        json["retention"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap()["period"].clone()
    };
    assert_eq!(period(&r.json, "candidate_data"), "6 months");
    assert_eq!(r.json["channels"][0]["approved"], true);
    assert_eq!(r.json["channels"][0]["dpia_reference"], "DSFA-1");
    assert!(r.json["security_measures"].as_array().unwrap().len() >= 5);
    // generated from the configuration: a new retention period shows at once
    let policy =
        json!({"erase_after_months": 4, "claims_window_months": 3, "talent_pool_months": 12, "archive_after_days": 90});
    assert_eq!(t.dpo.put("/api/v1/retention-policy", policy).await.status, 200);
    let r = t.admin.get("/api/v1/records-of-processing").await;
    assert_eq!(period(&r.json, "candidate_data"), "4 months");
    assert_eq!(period(&r.json, "inactive_conversation"), "90 days");
    // as Markdown
    let resp = raw_get(h, &t, hoheit_domain::tenant::Role::Dpo, "/api/v1/records-of-processing?format=markdown").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let md = resp.text().await.unwrap();
    assert!(md.starts_with("# Record of processing activities (Art. 30 GDPR)"));
    assert!(md.contains("| 4 months |") && md.contains("Meta Platforms Ireland"));
    assert_eq!(t.dpo.get("/api/v1/records-of-processing?format=pdf").await.code(), Some("invalid_input"));
    assert_eq!(t.recruiter.get("/api/v1/records-of-processing").await.status, 403);
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    assert_eq!(operator.get("/api/v1/records-of-processing").await.status, 403);

    // the privacy-notice section, German and English, from the same configuration
    let de = t.dpo.get("/api/v1/privacy-notice/whatsapp-section?language=de").await;
    assert_eq!(de.status, 200, "{:?}", de.json);
    let text = de.str("/text").unwrap();
    for needle in [
        "Beispiel GmbH",
        "360dialog GmbH",
        "Meta Platforms Ireland",
        "USA",
        "Data Privacy Framework",
        "4 Monate",
        "STOPP",
        "widerrufen",
    ] {
        assert!(text.contains(needle), "de: {needle}");
    }
    let en = t.admin.get("/api/v1/privacy-notice/whatsapp-section?language=en").await;
    let text = en.str("/text").unwrap();
    for needle in ["Beispiel GmbH", "USA", "4 months", "reply **STOP**", "withdraw your consent"] {
        assert!(text.contains(needle), "en: {needle}");
    }
    assert_eq!(en.str("/language"), Some("en"));
    assert_eq!(t.dpo.get("/api/v1/privacy-notice/whatsapp-section?language=fr").await.code(), Some("invalid_input"));

    // the CLI prints the same documents for an operator's scripts
    let tenant: hoheit_domain::ids::TenantId = t.id.parse().unwrap();
    let cli = hoheit_server::cli::records_of_processing(&h.state, tenant, true).await.unwrap();
    assert!(cli.contains("| 4 months |"));
    let cli = hoheit_server::cli::privacy_notice(&h.state, tenant, "en").await.unwrap();
    assert!(cli.contains("reply **STOP**"));
}

// ---------------------------------------------------------------- the contract

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workflow_route_is_in_the_openapi_document() {
    let spec: Value = serde_json::from_str(&hoheit_server::openapi::spec_json()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/candidates/{id}/reviews/{review}", "get"),
        ("/api/v1/candidates/{id}/reviews/{review}/message", "get"),
        ("/api/v1/candidates/{id}/reviews/{review}/decision", "post"),
        ("/api/v1/subject-requests/due", "get"),
        ("/api/v1/subject-requests/{request}", "get"),
        ("/api/v1/subject-requests/{request}/extension", "post"),
        ("/api/v1/subject-requests/{request}/fulfilment", "post"),
        ("/api/v1/subject-requests/{request}/closure", "post"),
        ("/api/v1/channels/{id}/templates", "get"),
        ("/api/v1/channels/{id}/templates/{name}/{language}", "put"),
        ("/api/v1/candidates/{id}/media", "get"),
        ("/api/v1/candidates/{id}/media/{media}", "get"),
        ("/api/v1/candidates/{id}/documents", "post"),
        ("/api/v1/records-of-processing", "get"),
        ("/api/v1/privacy-notice/whatsapp-section", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
    }
    // decisions go through /decision only (it records who and why)
    assert!(paths["/api/v1/candidates/{id}/reviews/{review}"].get("post").is_none());
    let _ = PathBuf::new();
}
