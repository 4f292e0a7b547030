//! End to end through HTTP (issue 15): free-form objections and consent withdrawals posted as
//! 360Dialog webhooks stop the next recruiter send, on SQLite and (under scripts/test) on
//! PostgreSQL. The audit entry names the classifier's pattern, never the candidate's words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hoheit_server::harness::{Harness, HarnessOptions};
use serde_json::{Value, json};

const OTHER_NUMBER: &str = "+49 170 5550124";
const OTHER_WA: &str = "491705550124";

async fn harness() -> Vec<(Harness, tempfile::TempDir)> {
    let mut out = vec![sqlite().await];
    if let Some(url) = postgres_database().await {
        let mut options = HarnessOptions::new(std::path::PathBuf::new());
        options.database_url = Some(url);
        out.push(start(options).await);
    }
    out
}

/// A candidate whose WhatsApp consent a recruiter recorded (verbal, by phone).
async fn consented(t: &Tenant, phone: &str) -> String {
    let c = candidate(t, phone).await;
    let r = record_verbal_consent(t, &c).await;
    assert!(r.status == 200 || r.status == 201, "{:?}", r.json);
    assert_eq!(whatsapp_consent(t, &c).await, "granted");
    c
}

async fn whatsapp_consent(t: &Tenant, c: &str) -> String {
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["purpose"] == "whatsapp_channel")
        .map(|x| x["state"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn send(t: &Tenant, c: &str, text: &str) -> (u16, Option<String>) {
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": text})).await;
    (r.status, r.code().map(str::to_owned))
}

async fn webhook_text(h: &Harness, t: &Tenant, from: &str, wamid: &str, text: &str) {
    let body = inbound_text(h.sim.phone_number_id(), from, wamid, text, now_unix());
    assert_eq!(post_webhook(h, t, &body, Some(&t.webhook_secret)).await, 200);
}

async fn audit(t: &Tenant, c: &str) -> Vec<Value> {
    let r = t.dpo.get(&format!("/api/v1/audit/entries?subject={c}")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentence_objection_by_webhook_stops_the_next_send_with_objected() {
    for (h, _dir) in harness().await {
        let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
        let c = consented(&t, NUMBER).await;
        let bystander = consented(&t, OTHER_NUMBER).await;
        // the candidates write first: the 24-hour window is open for free text
        webhook_text(&h, &t, WA, "wamid.HELLO", "Hallo, wann ist das Gespräch?").await;
        webhook_text(&h, &t, OTHER_WA, "wamid.HELLO2", "Guten Tag!").await;
        assert_eq!(send(&t, &c, "Hallo, passt Ihnen Dienstag?").await, (202, None));

        const OBJECTION: &str = "Kontaktieren Sie mich bitte nicht mehr";
        webhook_text(&h, &t, WA, "wamid.SENTENCE", OBJECTION).await;
        assert_eq!(send(&t, &c, "Noch eine Frage").await, (409, Some("objected".to_owned())));
        let r = t.recruiter.get(&format!("/api/v1/candidates/{c}")).await;
        assert_eq!(r.json["objection"]["objected"], true, "{:?}", r.json);

        // the audit entry says which pattern fired, and never holds the words
        let entries = audit(&t, &c).await;
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == "objection.recorded" && e["details"]["classifier"] == "de.negated_contact"),
            "{entries:?}"
        );
        assert!(!serde_json::to_string(&entries).unwrap().contains("nicht mehr"));

        // ordinary chat that contains a keyword in a harmless sense does not block
        webhook_text(&h, &t, OTHER_WA, "wamid.NOTICE", "Meine Kündigungsfrist beträgt 4 Wochen").await;
        assert_eq!(send(&t, &bystander, "Danke, dann ab dem 1.").await, (202, None));
        let reviews = t.dpo.get("/api/v1/reviews").await;
        assert_eq!(reviews.json["reviews"].as_array().map(Vec::len), Some(0), "{:?}", reviews.json);
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_by_webhook_withdraws_the_whatsapp_consent_and_blocks_sending() {
    for (h, _dir) in harness().await {
        let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
        let c = consented(&t, NUMBER).await;
        webhook_text(&h, &t, WA, "wamid.HELLO", "Hallo, wann ist das Gespräch?").await;
        assert_eq!(send(&t, &c, "Hallo").await, (202, None));

        webhook_text(&h, &t, WA, "wamid.WITHDRAW", "Ich widerrufe meine Einwilligung").await;
        assert_eq!(whatsapp_consent(&t, &c).await, "withdrawn");
        assert_eq!(send(&t, &c, "Schade, darf ich fragen warum?").await, (409, Some("objected".to_owned())));
        let entries = audit(&t, &c).await;
        assert!(
            entries.iter().any(|e| e["action"] == "consent.withdrawn" && e["rule"] == "R8"),
            "withdrawn by the candidate's own message (R8): {entries:?}"
        );
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == "objection.recorded" && e["details"]["classifier"] == "de.withdraw_consent"),
            "{entries:?}"
        );
        h.stop().await;
    }
}
