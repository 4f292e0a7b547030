//! `hoheit demo`: the whole journey on the embedded default against the simulated 360Dialog,
//! printing each step and its HTTP status. Exits 0 only if every step behaved as expected.

// `serde_json::Value` indexing returns `Null` for what is missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::time::Duration as StdDuration;

use hoheit_domain::consent::ConsentReply;
use hoheit_domain::tenant::Role;
use serde_json::{Value, json};

use crate::harness::{Answer, Harness, HarnessOptions, eventually};

/// The demo candidate's (fictional) number.
const CANDIDATE: &str = "+49 170 5550123";
const CANDIDATE_WA: &str = "491705550123";

struct Steps {
    n: usize,
    failed: usize,
    out: Box<dyn FnMut(&str) + Send>,
}

impl Steps {
    fn check(&mut self, what: &str, answer: Option<&Answer>, ok: bool) {
        self.n += 1;
        let status = answer.map_or_else(|| "   ".to_owned(), |a| a.status.to_string());
        let code = answer.and_then(Answer::code).map(|c| format!(" ({c})")).unwrap_or_default();
        let mark = if ok { "ok" } else { "FAILED" };
        (self.out)(&format!("{:>2}. [{status}] {what}{code} ... {mark}", self.n));
        if !ok {
            self.failed += 1;
        }
    }
}

/// Runs the demo in a temporary data directory; returns whether every step passed.
pub async fn run(out: Box<dyn FnMut(&str) + Send>) -> Result<bool, String> {
    let dir = std::env::temp_dir().join(format!("hoheit-demo-{}", uuid::Uuid::new_v4().simple()));
    let harness = Harness::start(HarnessOptions::new(dir.clone())).await?;
    let result = journey(&harness, out).await;
    harness.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[allow(clippy::too_many_lines)]
async fn journey(h: &Harness, out: Box<dyn FnMut(&str) + Send>) -> Result<bool, String> {
    let mut s = Steps { n: 0, failed: 0, out };
    (s.out)(&format!(
        "hoheit demo: server at {} with a simulated 360Dialog at {} (no real WhatsApp message leaves this machine)",
        h.base,
        h.sim.base_url()
    ));
    let operator = h.client(&h.token(None, Role::Operator).await?);

    let r = operator.post("/api/v1/tenants", json!({"name": "Beispiel GmbH", "privacy_contact": "datenschutz@beispiel.example", "privacy_notice_url": "https://beispiel.example/datenschutz", "invite_dpo": true})).await;
    s.check(
        "operator creates the tenant \"Beispiel GmbH\" and receives invitations, no credential",
        Some(&r),
        r.status == 201 && r.json.get("admin_token").is_none(),
    );
    let tenant: Option<hoheit_domain::ids::TenantId> = r.str("/id").and_then(|id| id.parse().ok());
    let anonymous = crate::harness::Client::anonymous(&h.base);
    let accept = |field: &str| json!({"invitation": r.str(field).unwrap_or_default()});
    let a = anonymous.post("/api/v1/invitations/accept", accept("/admin_invitation/invitation")).await;
    s.check("the employer's admin accepts the invitation", Some(&a), a.status == 201);
    let admin = h.client(a.str("/token").ok_or("no admin token")?);
    let d = anonymous.post("/api/v1/invitations/accept", accept("/dpo_invitation/invitation")).await;
    s.check("the DPO accepts the invitation (appointed independently of the admin)", Some(&d), d.status == 201);
    let dpo = h.client(d.str("/token").unwrap_or_default());
    let r = admin.post("/api/v1/tokens", json!({"role": "recruiter", "label": "recruiting team"})).await;
    s.check("admin creates a recruiter token", Some(&r), r.status == 201);
    let recruiter = h.client(r.str("/token").unwrap_or_default());

    let r = admin.post("/api/v1/channels", crate::harness::simulator_channel(h)).await;
    s.check(
        "admin connects the WhatsApp number (templates synced, webhook registered)",
        Some(&r),
        r.status == 201 && r.json["webhook_registered"] == true,
    );
    let channel = r.str("/id").unwrap_or_default().to_owned();

    for (kind, body) in crate::harness::sample_legal_texts("Beispiel GmbH", "https://beispiel.example/datenschutz") {
        let r = admin
            .post("/api/v1/legal-texts", json!({"kind": kind, "version": "2026-01", "language": "de", "body": body}))
            .await;
        s.check(&format!("admin publishes the legal text '{kind}'"), Some(&r), r.status == 201);
    }

    let r = recruiter
        .post("/api/v1/candidates", json!({"phone": CANDIDATE, "name": "Erika Mustermann", "channel_id": channel}))
        .await;
    s.check("recruiter adds the candidate", Some(&r), r.status == 201);
    let cand = r.str("/id").unwrap_or_default().to_owned();

    let r =
        recruiter.post(&format!("/api/v1/candidates/{cand}/messages"), json!({"text": "Hallo Frau Mustermann!"})).await;
    s.check(
        "a message before the DPO's approval is refused",
        Some(&r),
        r.status == 409 && r.code() == Some("channel_not_approved"),
    );

    let r = dpo
        .post(
            &format!("/api/v1/channels/{channel}/approval"),
            json!({
                "approver_name": "Dr. Daten Schutz",
                "dpia_reference": "DSFA-2026-001",
                "documents": ["privacy_notice@2026-01", "dpa_360dialog@2025"]
            }),
        )
        .await;
    s.check("the DPO approves WhatsApp as a channel", Some(&r), r.status == 200);

    let r =
        recruiter.post(&format!("/api/v1/candidates/{cand}/messages"), json!({"text": "Hallo Frau Mustermann!"})).await;
    s.check("a message without consent is refused", Some(&r), r.status == 409 && r.code() == Some("consent_missing"));

    let r = recruiter.post(&format!("/api/v1/candidates/{cand}/consent-request"), json!({})).await;
    s.check("recruiter sends the consent request (template with Zustimmen/Ablehnen/STOPP)", Some(&r), r.status == 202);
    let sent = eventually(StdDuration::from_secs(10), || async { !h.sim.accepted_messages().is_empty() }).await;
    let agree = h
        .sim
        .accepted_messages()
        .first()
        .and_then(|m| m.body.pointer("/template/components").and_then(Value::as_array).cloned())
        .and_then(|c| {
            c.iter().find_map(|comp| comp.pointer("/parameters/0/payload").and_then(Value::as_str).map(str::to_owned))
        })
        .filter(|p| matches!(ConsentReply::parse(p), Some(ConsentReply::Agree(_))));
    s.check("360Dialog received the consent request", None, sent && agree.is_some());

    h.sim.inject_button_reply(CANDIDATE_WA, agree.as_deref().unwrap_or_default(), "Zustimmen");
    let granted = eventually(StdDuration::from_secs(10), || async {
        let r = recruiter.get(&format!("/api/v1/candidates/{cand}")).await;
        r.json["consents"][0]["state"] == "granted"
    })
    .await;
    s.check("the candidate taps \"Zustimmen\": consent recorded with evidence", None, granted);

    let r = recruiter
        .post(&format!("/api/v1/candidates/{cand}/messages"), json!({"text": "Danke! Passt Ihnen Dienstag, 10 Uhr?"}))
        .await;
    s.check("recruiter's message is accepted", Some(&r), r.status == 202);
    let message = r.str("/message_id").unwrap_or_default().to_owned();
    let read = eventually(StdDuration::from_secs(10), || async {
        let r = recruiter.get(&format!("/api/v1/candidates/{cand}/messages")).await;
        r.json["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == message.as_str() && m["status"] == "read"))
    })
    .await;
    s.check("the message is sent, delivered and read (status webhooks)", None, read);

    h.sim.inject_inbound_text(CANDIDATE_WA, "STOPP");
    let objected = eventually(StdDuration::from_secs(10), || async {
        recruiter.get(&format!("/api/v1/candidates/{cand}")).await.json["objection"]["objected"] == true
    })
    .await;
    s.check("the candidate writes \"STOPP\": objection in effect at once", None, objected);
    let r = recruiter
        .post(&format!("/api/v1/candidates/{cand}/messages"), json!({"text": "Schade! Noch eine Frage ..."}))
        .await;
    s.check("the next message is refused", Some(&r), r.status == 409 && r.code() == Some("objected"));

    let r = dpo.get(&format!("/api/v1/candidates/{cand}/export")).await;
    let complete = r.json["messages"].as_array().is_some_and(|m| m.len() >= 4)
        && r.json["audit_entries"].as_array().is_some_and(|a| !a.is_empty());
    s.check("the DPO exports the candidate's data (Art. 15/20, audited)", Some(&r), r.status == 200 && complete);

    let r = recruiter.post(&format!("/api/v1/candidates/{cand}/process-end"), json!({"reason": "rejected"})).await;
    s.check("the application process ends (rejection)", Some(&r), r.status == 200);

    h.state.clock.advance(time::Duration::days(190));
    let r = recruiter.get(&format!("/api/v1/candidates/{cand}")).await;
    s.check("six months later the staff's 90-day tokens have expired", Some(&r), r.status == 401);
    // fresh tokens for the rest of the journey (minted in-process by the demo harness)
    let dpo = h.client(&h.token(tenant, Role::Dpo).await?);
    let recruiter = h.client(&h.token(tenant, Role::Recruiter).await?);
    let r = dpo.post("/api/v1/retention/run?dry_run=false", json!({})).await;
    s.check(
        "six months later: the retention run erases the candidate",
        Some(&r),
        r.status == 200 && r.json["erased"] == 1,
    );
    let r = recruiter.get(&format!("/api/v1/candidates/{cand}")).await;
    s.check(
        "the candidate is erased (key destroyed, suppression kept)",
        Some(&r),
        r.status == 200 && r.json["lifecycle"] == "erased",
    );
    let r = recruiter.get(&format!("/api/v1/candidates/{cand}/messages")).await;
    s.check(
        "no messages remain",
        Some(&r),
        r.status == 200 && r.json["messages"].as_array().is_some_and(Vec::is_empty),
    );

    let r = dpo.get("/api/v1/audit/verify").await;
    s.check("audit verify: the tamper-evident log is intact", Some(&r), r.status == 200 && r.json["ok"] == true);
    let r = dpo.get("/api/v1/audit/checkpoint").await;
    s.check("the DPO takes a signed audit checkpoint", Some(&r), r.status == 200 && r.json["signature"].is_string());

    let passed = s.failed == 0;
    (s.out)(&if passed {
        format!("demo passed: all {} steps behaved as expected", s.n)
    } else {
        format!("demo FAILED: {} of {} steps", s.failed, s.n)
    });
    Ok(passed)
}
