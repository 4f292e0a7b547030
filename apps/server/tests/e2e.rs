//! End-to-end: the real server on port 0 (SQLite, and PostgreSQL under scripts/test) with the
//! 360Dialog simulator, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use hoheit_dialog360::simulator::{Failure, Trigger};
use hoheit_server::harness::{Client, HarnessOptions, eventually};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_journey_passes_on_sqlite() {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let passed = hoheit_server::demo::run(Box::new(move |l| sink.lock().unwrap().push(l.to_owned()))).await.unwrap();
    let lines = lines.lock().unwrap();
    assert!(passed, "{}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.contains("consent_missing")));
    assert!(lines.iter().any(|l| l.contains("(objected)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_journey_passes_on_postgres() {
    let Some(url) = postgres_database().await else { return };
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.database_url = Some(url);
    let (h, _dir) = start(options).await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let c = candidate(&t, NUMBER).await;
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Hallo"})).await;
    assert_eq!(r.code(), Some("consent_missing"));
    assert_eq!(t.recruiter.post(&format!("/api/v1/candidates/{c}/consent-request"), json!({})).await.status, 202);
    accept_consent(&h, &t, &c, WA, Duration::from_secs(10)).await;
    assert_eq!(
        t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Willkommen"})).await.status,
        202
    );
    h.sim.inject_inbound_text(WA, "STOPP");
    assert!(
        eventually(Duration::from_secs(10), || async {
            t.recruiter.get(&format!("/api/v1/candidates/{c}")).await.json["objection"]["objected"] == true
        })
        .await
    );
    assert_eq!(t.dpo.get("/api/v1/audit/verify").await.json["ok"], true);
    h.stop().await;
}

/// Every route of the API, with the roles allowed to use it.
fn routes(
    c: &str,
    ch: &str,
    hold: &str,
    review: &str,
) -> Vec<(&'static str, String, Option<serde_json::Value>, &'static [&'static str])> {
    const ALL: &[&str] = &["admin", "dpo", "recruiter"];
    const ADMIN: &[&str] = &["admin"];
    const ADMIN_DPO: &[&str] = &["admin", "dpo"];
    const RECRUITING: &[&str] = &["admin", "recruiter"];
    const DPO: &[&str] = &["dpo"];
    vec![
        ("GET", format!("/api/v1/candidates/{c}"), None, ALL),
        ("POST", format!("/api/v1/candidates/{c}/consent-request"), Some(json!({})), RECRUITING),
        (
            "POST",
            format!("/api/v1/candidates/{c}/consents"),
            Some(json!({"purpose": "talent_pool", "method": "recorded_verbal", "capture_channel": "phone"})),
            ALL,
        ),
        (
            "POST",
            format!("/api/v1/candidates/{c}/withdrawals"),
            Some(json!({"purpose": "talent_pool", "channel": "email"})),
            ALL,
        ),
        ("POST", format!("/api/v1/candidates/{c}/process-end"), Some(json!({"reason": "hired"})), ALL),
        ("POST", format!("/api/v1/candidates/{c}/legal-holds"), Some(json!({"reason": "other"})), ADMIN_DPO),
        ("DELETE", format!("/api/v1/candidates/{c}/legal-holds/{hold}"), None, ADMIN_DPO),
        ("GET", format!("/api/v1/candidates/{c}/messages"), None, ALL),
        ("POST", format!("/api/v1/candidates/{c}/messages"), Some(json!({"text": "Hallo"})), RECRUITING),
        ("GET", format!("/api/v1/candidates/{c}/export"), None, ADMIN_DPO),
        ("GET", format!("/api/v1/candidates/{c}/reviews/{review}"), None, ALL),
        ("GET", format!("/api/v1/candidates/{c}/reviews/{review}/message"), None, ALL),
        (
            "POST",
            format!("/api/v1/candidates/{c}/reviews/{review}/decision"),
            Some(json!({"decision": "dismiss", "reason": "unrelated_meaning"})),
            ADMIN_DPO,
        ),
        ("DELETE", format!("/api/v1/tokens/{review}"), None, ADMIN),
        ("GET", format!("/api/v1/candidates/{c}/media"), None, ALL),
        ("GET", format!("/api/v1/candidates/{c}/media/{review}"), None, ALL),
        (
            "POST",
            format!("/api/v1/candidates/{c}/documents"),
            Some(json!({"filename": "a.pdf", "mime_type": "application/pdf", "content_base64": "JVBERi0xLjQK"})),
            RECRUITING,
        ),
        ("GET", format!("/api/v1/channels/{ch}/templates"), None, ALL),
        (
            "PUT",
            format!("/api/v1/channels/{ch}/templates/interview_invite/de"),
            Some(json!({"carries_notice": true})),
            ADMIN_DPO,
        ),
        ("GET", format!("/api/v1/subject-requests/{review}"), None, ADMIN_DPO),
        ("POST", format!("/api/v1/subject-requests/{review}/extension"), Some(json!({"months": 1})), ADMIN_DPO),
        ("POST", format!("/api/v1/subject-requests/{review}/fulfilment"), Some(json!({"answer": "export"})), ADMIN_DPO),
        (
            "POST",
            format!("/api/v1/subject-requests/{review}/closure"),
            Some(json!({"status": "fulfilled", "code": "done"})),
            ADMIN_DPO,
        ),
        ("POST", format!("/api/v1/candidates/{c}/objections"), Some(json!({"channel": "email"})), ALL),
        ("POST", format!("/api/v1/candidates/{c}/erasure"), Some(json!({})), ADMIN_DPO),
        ("POST", format!("/api/v1/candidates/{c}/restriction"), Some(json!({})), ALL),
        ("DELETE", format!("/api/v1/candidates/{c}/restriction"), None, ADMIN_DPO),
        (
            "POST",
            format!("/api/v1/channels/{ch}/approval"),
            Some(json!({"approver_name": "x", "dpia_reference": "y", "documents": ["a@1"]})),
            DPO,
        ),
        ("POST", format!("/api/v1/channels/{ch}/templates/sync"), Some(json!({})), ADMIN),
        ("DELETE", format!("/api/v1/channels/{ch}/approval"), None, ADMIN_DPO),
    ]
}

/// Routes without an object id: the tenant comes from the token.
fn tenant_routes() -> Vec<(&'static str, &'static str, Option<serde_json::Value>, &'static [&'static str])> {
    const ALL: &[&str] = &["admin", "dpo", "recruiter"];
    const ADMIN: &[&str] = &["admin"];
    const ADMIN_DPO: &[&str] = &["admin", "dpo"];
    vec![
        ("GET", "/api/v1/channels", None, ALL),
        ("GET", "/api/v1/candidates", None, ALL),
        ("GET", "/api/v1/candidates?include_restricted=true", None, ADMIN_DPO),
        ("GET", "/api/v1/legal-texts", None, ALL),
        ("GET", "/api/v1/retention-policy", None, ADMIN_DPO),
        ("GET", "/api/v1/settings", None, ADMIN_DPO),
        ("GET", "/api/v1/reviews", None, ALL),
        ("GET", "/api/v1/subject-requests", None, ADMIN_DPO),
        ("POST", "/api/v1/retention/run?dry_run=true", Some(json!({})), ADMIN_DPO),
        ("GET", "/api/v1/audit/verify", None, ADMIN_DPO),
        ("GET", "/api/v1/audit/public-key", None, ADMIN_DPO),
        ("GET", "/api/v1/audit/entries", None, ADMIN_DPO),
        ("POST", "/api/v1/tokens", Some(json!({"role": "recruiter", "label": "x"})), ADMIN),
        ("GET", "/api/v1/tokens", None, ADMIN_DPO),
        ("GET", "/api/v1/invitations", None, ADMIN_DPO),
        ("GET", "/api/v1/settings/credentials", None, ADMIN_DPO),
        ("GET", "/api/v1/tenants", None, &[]),
        ("GET", "/api/v1/subject-requests/due", None, ADMIN_DPO),
        ("GET", "/api/v1/records-of-processing", None, ADMIN_DPO),
        ("GET", "/api/v1/privacy-notice/whatsapp-section?language=de", None, ADMIN_DPO),
    ]
}

async fn call(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> hoheit_server::harness::Answer {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    client.call(m, path, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_isolation_across_every_route_and_role() {
    let (h, _dir) = sqlite().await;
    let a = tenant(&h, "Erste GmbH", h.sim.phone_number_id()).await;
    let b = tenant(&h, "Zweite GmbH", "999000999").await;
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    let hold_b = {
        let c = candidate(&b, "+49 170 2220000").await;
        let r = b.dpo.post(&format!("/api/v1/candidates/{c}/legal-holds"), json!({"reason": "other"})).await;
        (c, r.str("/id").unwrap().to_owned())
    };
    let fake_review = uuid::Uuid::new_v4().to_string();
    // other tenant's objects: 404 for every role that may use the route, 403 for the others
    for (role, client) in [("admin", &a.admin), ("dpo", &a.dpo), ("recruiter", &a.recruiter)] {
        for (method, path, body, allowed) in routes(&hold_b.0, &b.channel, &hold_b.1, &fake_review) {
            let r = call(client, method, &path, body).await;
            let expected = if allowed.contains(&role) { 404 } else { 403 };
            assert_eq!(r.status, expected, "{role} {method} {path}: {:?}", r.json);
        }
    }
    // the operator reaches no tenant route and no content
    for (method, path, body, _) in routes(&hold_b.0, &b.channel, &hold_b.1, &fake_review) {
        let r = call(&operator, method, &path, body).await;
        assert_eq!(r.status, 403, "operator {method} {path}");
    }
    for (method, path, body, allowed) in tenant_routes() {
        for (role, client) in
            [("admin", &a.admin), ("dpo", &a.dpo), ("recruiter", &a.recruiter), ("operator", &operator)]
        {
            let r = call(client, method, path, body.clone()).await;
            let ok = if role == "operator" { path == "/api/v1/tenants" } else { allowed.contains(&role) };
            if ok {
                assert!(r.status < 300, "{role} {method} {path}: {} {:?}", r.status, r.json);
            } else {
                assert_eq!(r.status, 403, "{role} {method} {path}: {:?}", r.json);
            }
        }
    }
    // own objects: a role that may not use a route gets 403 (and nothing changes); the reading
    // routes answer 200 to every role that may use them
    let own = candidate(&a, NUMBER).await;
    let own_hold = a.dpo.post(&format!("/api/v1/candidates/{own}/legal-holds"), json!({"reason": "other"})).await;
    let own_hold = own_hold.str("/id").unwrap().to_owned();
    for (role, client) in [("admin", &a.admin), ("dpo", &a.dpo), ("recruiter", &a.recruiter)] {
        for (method, path, body, allowed) in routes(&own, &a.channel, &own_hold, &fake_review) {
            if allowed.contains(&role) {
                if method == "GET" && !path.contains(&fake_review) {
                    let r = call(client, method, &path, body).await;
                    assert_eq!(r.status, 200, "{role} {method} {path}: {:?}", r.json);
                }
            } else {
                let r = call(client, method, &path, body).await;
                assert_eq!(r.status, 403, "{role} {method} {path} on its own tenant: {:?}", r.json);
            }
        }
    }
    let r = a.recruiter.get(&format!("/api/v1/candidates/{own}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["lifecycle"], "active", "the refused calls changed nothing");
    assert!(r.json.get("phone").is_none() && !r.json.to_string().contains("5550123"), "the status view has no number");
    // no token, a wrong token
    assert_eq!(Client::anonymous(&h.base).get("/api/v1/channels").await.code(), Some("unauthorized"));
    assert_eq!(h.client("hoh_not-a-real-token").get("/api/v1/channels").await.status, 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_authenticity_failures_write_nothing_and_duplicates_are_acknowledged() {
    let (h, _dir, t, c) = beispiel_with_candidate().await;
    let pnid = h.sim.phone_number_id().to_owned();
    let body = inbound_text(&pnid, WA, "wamid.E2E1", "Hallo, eine Frage", now_unix());
    let head_before = t.dpo.get("/api/v1/audit/entries").await.json["entries"].as_array().unwrap().len();
    assert_eq!(post_webhook(&h, &t, &body, None).await, 401);
    assert_eq!(post_webhook(&h, &t, &body, Some("wrong-secret")).await, 401);
    let wrong_route = reqwest::Client::new()
        .post(format!("{}/webhooks/360dialog/not-a-route", h.base))
        .header("x-hoheit-webhook-secret", &t.webhook_secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_route.status().as_u16(), 401);
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await;
    assert!(r.json["messages"].as_array().unwrap().is_empty(), "nothing was written");
    assert_eq!(
        t.dpo.get("/api/v1/audit/entries").await.json["entries"].as_array().unwrap().len(),
        head_before + 1,
        "only the audited read"
    );
    // malformed: 400, nothing stored
    let raw = reqwest::Client::new()
        .post(format!("{}{}", h.base, t.webhook_path))
        .header("x-hoheit-webhook-secret", &t.webhook_secret)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    // accepted, then the same delivery again: 200 both times, stored once
    assert_eq!(post_webhook(&h, &t, &body, Some(&t.webhook_secret)).await, 200);
    assert_eq!(post_webhook(&h, &t, &body, Some(&t.webhook_secret)).await, 200);
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await;
    assert_eq!(r.json["messages"].as_array().unwrap().len(), 1);
    // the window opened from the candidate's message
    assert!(t.recruiter.get(&format!("/api/v1/candidates/{c}")).await.json["window_open_until"].is_string());
    h.stop().await;
}

/// A SQLite server, the tenant "Beispiel GmbH" on the simulator's number and a candidate.
async fn beispiel_with_candidate() -> (hoheit_server::harness::Harness, tempfile::TempDir, Tenant, String) {
    let (h, dir) = sqlite().await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let c = candidate(&t, NUMBER).await;
    (h, dir, t, c)
}

/// Waits until the simulated 360Dialog accepted a message containing `text`: its wamid.
async fn accepted_wamid(h: &hoheit_server::harness::Harness, text: &str) -> String {
    let has = |m: &&hoheit_dialog360::simulator::AcceptedMessage| m.body.to_string().contains(text);
    assert!(eventually(Duration::from_secs(10), || async { h.sim.accepted_messages().iter().any(|m| has(&m)) }).await);
    h.sim.accepted_messages().iter().find(has).unwrap().id.as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_statuses_converge() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let pnid = h.sim.phone_number_id().to_owned();
    assert_eq!(candidate_writes(&h, &t, "wamid.Q", "Frage").await, 200);
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Antwort"})).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    let id = r.str("/message_id").unwrap().to_owned();
    let wamid = accepted_wamid(&h, "Antwort").await;
    for s in ["read", "sent", "read", "delivered"] {
        assert_eq!(post_webhook(&h, &t, &status(&pnid, &wamid, s, now_unix()), Some(&t.webhook_secret)).await, 200);
    }
    assert!(
        eventually(Duration::from_secs(5), || async {
            let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await;
            r.json["messages"].as_array().unwrap().iter().any(|m| m["id"] == id.as_str() && m["status"] == "read")
        })
        .await
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_while_a_message_waits_means_it_is_never_sent() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.workers = false;
    let (h, _dir) = start(options).await;
    let (t, c) = consenting(&h).await;
    assert_eq!(candidate_writes(&h, &t, "wamid.H", "Hallo").await, 200);
    let r =
        t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "CANARY-waiting-message"})).await;
    assert_eq!(r.status, 202);
    // the objection arrives while the message waits in the outbox
    assert_eq!(candidate_writes(&h, &t, "wamid.S", "Bitte keine Nachrichten mehr").await, 200);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hoheit_server::workers::dispatcher(h.state.clone(), rx));
    assert!(
        eventually(Duration::from_secs(10), || async { !h.sim.accepted_messages().is_empty() }).await,
        "the confirmation goes out"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tx.send(true);
    worker.await.unwrap();
    let sent: Vec<String> = h.sim.accepted_messages().iter().map(|m| m.body.to_string()).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(!sent[0].contains("CANARY-waiting-message"));
    assert!(sent[0].contains("Widerspruch"), "the one confirmation");
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await;
    assert!(r.json["messages"].as_array().unwrap().iter().any(|m| m["status"] == "cancelled"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_failures_are_retried_and_the_message_is_delivered_once() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    assert_eq!(candidate_writes(&h, &t, "wamid.H", "Hallo").await, 200);
    h.sim.script_failure(Failure::RateLimited { retry_after: None }, Trigger::Next(1));
    h.sim.script_failure(Failure::ServerError(503), Trigger::Next(1));
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Einmal bitte"})).await;
    assert_eq!(r.status, 202);
    assert!(
        eventually(Duration::from_secs(20), || async {
            h.sim.accepted_messages().iter().any(|m| m.body.to_string().contains("Einmal bitte"))
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let count = h.sim.accepted_messages().iter().filter(|m| m.body.to_string().contains("Einmal bitte")).count();
    assert_eq!(count, 1);
    assert!(h.sim.requests_to("/messages").len() >= 3, "the failures were retried");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_errors_and_operational_endpoints() {
    let (h, _dir) = sqlite().await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let anon = Client::anonymous(&h.base);
    assert_eq!(anon.get("/healthz").await.status, 200);
    assert_eq!(anon.get("/readyz").await.status, 200);
    let spec = anon.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    for path in [
        "/api/v1/candidates/{id}/messages",
        "/api/v1/channels/{id}/approval",
        "/webhooks/360dialog/{route}",
        "/api/v1/audit/checkpoint",
    ] {
        assert!(spec.json["paths"].get(path).is_some(), "{path} missing in the OpenAPI document");
    }
    let metrics = reqwest::get(format!("{}/metrics", h.base)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("hoheit_outbox_depth") && metrics.contains("hoheit_http_requests_total"));
    // invalid input gets a stable code and no echo of the value
    let r = t.recruiter.post("/api/v1/candidates", json!({"phone": "call me maybe", "channel_id": t.channel})).await;
    assert_eq!((r.status, r.code()), (400, Some("invalid_input")));
    let r = t.recruiter.post("/api/v1/candidates", json!({"phone": 491705550123_u64, "channel_id": t.channel})).await;
    assert_eq!(r.code(), Some("invalid_input"));
    assert!(!r.json.to_string().contains("491705550123"), "{:?}", r.json);
    // non-affirmative consent is rejected by name
    let c = candidate(&t, NUMBER).await;
    let r = t
        .recruiter
        .post(
            &format!("/api/v1/candidates/{c}/consents"),
            json!({"purpose": "whatsapp_channel", "method": "import", "capture_channel": "web"}),
        )
        .await;
    assert_eq!(r.code(), Some("invalid_input"));
    // body too large
    let big = "x".repeat(70_000);
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": big})).await;
    assert_eq!((r.status, r.code()), (413, Some("payload_too_large")));
    let r = t.recruiter.get("/api/v1/no-such-route").await;
    assert_eq!(r.code(), Some("not_found"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_numbers_are_read_in_the_tenant_region() {
    let (h, _dir) = sqlite().await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let create = |phone: &str, region: Option<&str>| {
        let mut body = json!({"phone": phone, "channel_id": t.channel});
        if let Some(region) = region {
            body["region"] = json!(region);
        }
        t.recruiter.post("/api/v1/candidates", body)
    };
    // as German recruiters type numbers: national, normalised to E.164 (the duplicate shows it)
    assert_eq!(create("0170 7654321", None).await.status, 201);
    let r = create("+49 170 7654321", None).await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    // numbers that cannot exist are refused with the existing code, without echoing the number
    for impossible in ["+49 100 1234567", "0100 1234567", "0170 123", "+999 12345678"] {
        let r = create(impossible, None).await;
        assert_eq!((r.status, r.code()), (400, Some("invalid_input")), "{impossible}");
        assert!(!r.json.to_string().contains("1234567"), "{:?}", r.json);
    }
    // a region per request, or the tenant's default region
    assert_eq!(create("0664 1234567", Some("AT")).await.status, 201);
    assert_eq!(create("0664 1234567", Some("XX")).await.code(), Some("invalid_input"));
    let mut settings = t.admin.get("/api/v1/settings").await.json;
    assert_eq!(settings["default_region"], "DE");
    settings["default_region"] = json!("XX");
    assert_eq!(t.admin.put("/api/v1/settings", settings.clone()).await.code(), Some("invalid_input"));
    settings["default_region"] = json!("at");
    let r = t.admin.put("/api/v1/settings", settings).await;
    assert_eq!((r.status, &r.json["default_region"]), (200, &json!("AT")), "{:?}", r.json);
    assert_eq!(create("0664 7654321", None).await.status, 201);
    assert_eq!(create("+43 664 7654321", None).await.status, 409);
    // omitted in a PUT, the region stays
    let mut settings = t.admin.get("/api/v1/settings").await.json;
    settings.as_object_mut().unwrap().remove("default_region");
    assert_eq!(t.admin.put("/api/v1/settings", settings).await.json["default_region"], "AT");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_token() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.env =
        vec![("HOHEIT_LIMITS__REQUESTS_PER_SECOND".into(), "1".into()), ("HOHEIT_LIMITS__BURST".into(), "3".into())];
    let (h, _dir) = start(options).await;
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(operator.get("/api/v1/tenants").await.status);
    }
    assert_eq!(&codes[..3], &[200, 200, 200]);
    assert!(codes[3..].contains(&429), "{codes:?}");
    h.stop().await;
}

async fn more_candidates(t: &Tenant, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(candidate(t, &format!("+49 170 33300{i:02}")).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_inside_the_claims_window_answers_409_with_the_date() {
    let (h, _dir, t, c) = beispiel_with_candidate().await;
    let others: Vec<String> = more_candidates(&t, 3).await;
    let listed = |r: &hoheit_server::harness::Answer| -> Vec<String> {
        r.json["candidates"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    let all = t.recruiter.get("/api/v1/candidates").await;
    assert_eq!(all.status, 200);
    assert_eq!(listed(&all).len(), 4);
    assert!(listed(&all).contains(&c));
    // pages of two, in creation order
    let first = t.recruiter.get("/api/v1/candidates?limit=2").await;
    let next = first.str("/next_after").unwrap().to_owned();
    let second = t.recruiter.get(&format!("/api/v1/candidates?limit=2&after={next}")).await;
    let mut paged = listed(&first);
    paged.extend(listed(&second));
    assert_eq!(paged, listed(&all));
    assert!(others.iter().all(|o| paged.contains(o)));
    assert_eq!(t.recruiter.get("/api/v1/candidates?after=nonsense").await.code(), Some("invalid_input"));
    // the subscriber digits of every listed number, in any format ("170" alone also occurs by
    // chance in ids and fractional seconds)
    let text = all.json.to_string();
    for digits in ["1705550123", "5550123", "17033300", "33300"] {
        assert!(!text.contains(digits), "no number in the list");
    }
    assert_eq!(
        t.recruiter.post(&format!("/api/v1/candidates/{c}/process-end"), json!({"reason": "rejected"})).await.status,
        200
    );
    let r = t.dpo.post(&format!("/api/v1/candidates/{c}/erasure"), json!({})).await;
    assert_eq!((r.status, r.code()), (409, Some("legal_claims_window")));
    assert!(r.str("/error/erase_at").is_some());
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}")).await;
    assert_eq!(r.json["lifecycle"], "restricted");
    // restricted: hidden from the normal list (R25), listed for admin and DPO on request
    assert!(!listed(&t.recruiter.get("/api/v1/candidates").await).contains(&c));
    assert!(!listed(&t.dpo.get("/api/v1/candidates").await).contains(&c));
    let with = t.dpo.get("/api/v1/candidates?include_restricted=true").await;
    let row = with.json["candidates"].as_array().unwrap().iter().find(|r| r["id"] == c.as_str()).unwrap().clone();
    assert_eq!(row["lifecycle"], "restricted");
    assert_eq!(t.recruiter.get("/api/v1/candidates?include_restricted=true").await.status, 403);
    assert_eq!(
        t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await.status,
        403,
        "restricted: recruiters may not read"
    );
    assert_eq!(t.dpo.get(&format!("/api/v1/candidates/{c}/messages")).await.status, 200);
    let requests = t.dpo.get("/api/v1/subject-requests").await;
    assert!(
        requests.json["subject_requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"]["status"] == "refused_in_part")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_senders_messages_in_one_delivery_apply_in_order() {
    let (h, _dir) = sqlite().await;
    let (t, c) = consenting(&h).await;
    let pnid = h.sim.phone_number_id().to_owned();
    let now = now_unix();
    let mut body = inbound_text(&pnid, WA, "wamid.ORD1", "STOPP", now);
    let second = inbound_text(&pnid, WA, "wamid.ORD2", "START", now + 1)["entry"][0]["changes"][0]["value"]["messages"]
        [0]
    .clone();
    body["entry"][0]["changes"][0]["value"]["messages"].as_array_mut().unwrap().push(second);
    assert_eq!(post_webhook(&h, &t, &body, Some(&t.webhook_secret)).await, 200);
    let r = t.recruiter.get(&format!("/api/v1/candidates/{c}")).await;
    assert_eq!(r.json["objection"]["objected"], false, "STOPP then START: opted in again");
    assert_eq!(r.json["consents"][0]["state"], "granted");
    h.stop().await;
}

/// A Cloud API webhook body with one inbound text message answering `context` (our message).
fn inbound_reply(
    phone_number_id: &str,
    from: &str,
    wamid: &str,
    context: &str,
    text: &str,
    timestamp: i64,
) -> serde_json::Value {
    let mut body = inbound_text(phone_number_id, from, wamid, text, timestamp);
    body["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = json!({"from": "4930901820", "id": context});
    body
}

/// The database as text: the SQLite file with WAL and shared memory, or a `pg_dump`.
fn database_text(dir: &std::path::Path, postgres: Option<&str>) -> String {
    let bytes = match postgres {
        None => {
            let file = dir.join("hoheit.db");
            let mut all = std::fs::read(&file).unwrap();
            for suffix in ["-wal", "-shm"] {
                if let Ok(more) = std::fs::read(format!("{}{suffix}", file.display())) {
                    all.extend(more);
                }
            }
            all
        }
        Some(url) => {
            let pg_dump = std::env::var("HOHEIT_TEST_PG_DUMP").ok().unwrap_or_else(|| {
                let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .unwrap()
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin/pg_dump"))
                    .filter(|p| p.exists())
                    .collect();
                found.sort();
                found.pop().expect("pg_dump").display().to_string()
            });
            let out = std::process::Command::new(pg_dump).arg("--data-only").arg(url).output().unwrap();
            assert!(out.status.success(), "pg_dump failed");
            out.stdout
        }
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The audit entries except reads (reading the entries is itself audited).
async fn audit_changes(t: &Tenant) -> Vec<serde_json::Value> {
    let r = t.dpo.get("/api/v1/audit/entries").await;
    r.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["action"].as_str().unwrap_or_default().ends_with(".read"))
        .cloned()
        .collect()
}

/// Issues 13 and 14 over HTTP: webhooks with realistic wamids (base64 of a structure that starts
/// with the number), a reply to our message, statuses; the number is nowhere in the database
/// files in clear or in any base64 alignment, before or after the erasure; a pre-erasure webhook
/// replayed after the erasure creates nothing; an event older than the replay window is
/// acknowledged and not stored.
async fn provider_ids_hold_no_number_and_replays_create_nothing(postgres: Option<String>) {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.database_url = postgres.clone();
    let (h, dir) = start(options).await;
    let (t, c) = consenting(&h).await;
    let pnid = h.sim.phone_number_id().to_owned();
    let wamid = |n: u64| hoheit_domain::testing::contract::realistic_wamid(WA, n).as_str().to_owned();
    let secret = Some(t.webhook_secret.as_str());
    let first = inbound_text(&pnid, WA, &wamid(1), "Hallo, ist die Stelle noch frei?", now_unix());
    assert_eq!(post_webhook(&h, &t, &first, secret).await, 200);
    // our answer goes out; the provider's statuses come back; the candidate replies to it
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": "Ja, gerne"})).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    let ours = accepted_wamid(&h, "Ja, gerne").await;
    for s in ["sent", "delivered", "read"] {
        assert_eq!(post_webhook(&h, &t, &status(&pnid, &ours, s, now_unix()), secret).await, 200);
    }
    assert_eq!(post_webhook(&h, &t, &status(&pnid, &wamid(9), "read", now_unix()), secret).await, 200);
    let reply = inbound_reply(&pnid, WA, &wamid(2), &wamid(3), "Wann passt es Ihnen?", now_unix());
    assert_eq!(post_webhook(&h, &t, &reply, secret).await, 200);
    let messages = t.recruiter.get(&format!("/api/v1/candidates/{c}/messages")).await;
    assert_eq!(messages.json["messages"].as_array().unwrap().len(), 3, "{:?}", messages.json);
    let mut needles = hoheit_domain::testing::contract::base64_forms(WA);
    needles.extend(["5550123".to_owned(), WA.to_owned()]);
    needles.extend((1..=3).chain([9]).map(wamid));
    assert!(wamid(1).contains(&needles[0]), "the number can be read out of the fixture");
    let check = |when: &str| {
        let text = database_text(dir.path(), postgres.as_deref());
        assert!(text.contains("hmac:"), "{when}: hashed provider ids are in the files (the check can fail)");
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{when}: {needle} in the database");
        }
    };
    check("before erasure");
    // erasure
    let r = t.dpo.post(&format!("/api/v1/candidates/{c}/erasure"), json!({})).await;
    assert!(r.status < 300, "{:?}", r.json);
    check("after erasure");
    let trail = audit_changes(&t).await;
    // 360Dialog redelivers the pre-erasure webhooks: acknowledged, nothing comes back
    assert_eq!(post_webhook(&h, &t, &first, secret).await, 200);
    assert_eq!(post_webhook(&h, &t, &reply, secret).await, 200);
    assert_eq!(post_webhook(&h, &t, &status(&pnid, &ours, "read", now_unix()), secret).await, 200);
    let listed = t.dpo.get("/api/v1/candidates?include_restricted=true").await;
    assert!(listed.json["candidates"].as_array().unwrap().is_empty(), "no candidate: {:?}", listed.json);
    assert_eq!(audit_changes(&t).await, trail, "no audit entry");
    check("after the replay");
    // older than the replay window (7 days by default): acknowledged, not stored, even from a new number
    let old = inbound_text(&pnid, "491705550999", "wamid.OLD1", "Hallo", now_unix() - 8 * 24 * 3600);
    assert_eq!(post_webhook(&h, &t, &old, secret).await, 200);
    assert!(
        t.dpo.get("/api/v1/candidates?include_restricted=true").await.json["candidates"].as_array().unwrap().is_empty()
    );
    assert_eq!(audit_changes(&t).await, trail);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_ids_hold_no_number_and_replays_create_nothing_on_sqlite() {
    provider_ids_hold_no_number_and_replays_create_nothing(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_ids_hold_no_number_and_replays_create_nothing_on_postgres() {
    let Some(url) = postgres_database().await else { return };
    provider_ids_hold_no_number_and_replays_create_nothing(Some(url)).await;
}
