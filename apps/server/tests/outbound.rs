//! Issue 14 items 1 and 4 end to end: the outbound allow-list at channel creation (outside
//! development mode), one generic answer for provider failures, and no number oracle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use hoheit_server::harness::HarnessOptions;
use serde_json::json;

/// A harness as in production: no loopback, the default hosts plus `localhost` (an operator
/// mistake the resolver guard must still catch).
fn production(options: &mut HarnessOptions) {
    options.env.push(("HOHEIT_DIALOG360__ALLOW_INSECURE_LOOPBACK".into(), "false".into()));
    options.env.push((
        "HOHEIT_DIALOG360__ALLOWED_HOSTS".into(),
        "[waba-v2.360dialog.io, localhost, waba-sandbox.360dialog.io]".into(),
    ));
}

#[tokio::test]
async fn ssrf_destinations_are_refused_with_one_stable_code() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.workers = false;
    production(&mut options);
    let (h, _dir) = common::start(options).await;
    assert!(!h.state.config.dialog360.allow_insecure_loopback);
    assert!(h.state.config.dialog360.allowed_hosts.iter().any(|host| host == "localhost"));
    let r = common::operator_creates_tenant(&h, json!({"name": "SSRF GmbH"})).await;
    let admin = h.client(&common::accept(&h, r.str("/admin_invitation/invitation").unwrap(), None).await);
    let sim = h.sim.base_url();
    let mut messages = Vec::new();
    for (i, base_url) in [
        sim.as_str(),                        // loopback, http (the simulator: fine in --dev only)
        "https://127.0.0.1",                 // loopback literal
        "https://[::1]",                     // loopback IPv6
        "https://10.0.0.1",                  // RFC 1918
        "https://172.20.1.1",                // RFC 1918
        "https://192.168.178.1",             // RFC 1918
        "https://169.254.169.254",           // link-local, cloud metadata
        "https://[fd00:ec2::254]",           // metadata (IPv6 ULA)
        "https://[fe80::1]",                 // link-local IPv6
        "https://100.64.0.1",                // CGNAT
        "https://2130706433",                // 127.0.0.1 as a number
        "https://localhost",                 // allow-listed, but resolves to loopback
        "http://waba-v2.360dialog.io",       // http in production
        "https://waba-v2.360dialog.io:8443", // another port
        "https://attacker.example",          // not on the list
        "https://waba-v2.360dialog.io.attacker.example",
    ]
    .into_iter()
    .enumerate()
    {
        let r = admin
            .post(
                "/api/v1/channels",
                json!({
                    "display_phone_number": "+49 30 901820",
                    "phone_number_id": format!("ssrf-{i}"),
                    "api_key": "x",
                    "base_url": base_url,
                    "consent_template": {"name": "consent_request", "language": "de"}
                }),
            )
            .await;
        assert_eq!(r.status, 400, "{base_url}: {:?}", r.json);
        assert_eq!(r.code(), Some("base_url_not_allowed"), "{base_url}: {:?}", r.json);
        messages.push(r.str("/error/message").unwrap().to_owned());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "one message whatever the reason: {messages:?}");
    assert!(!messages[0].contains("127.0.0.1") && !messages[0].contains("localhost"));
    // nothing was stored, and the simulator saw no request
    let r = admin.get("/api/v1/channels").await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(0), "{:?}", r.json);
    assert!(h.sim.requests().is_empty(), "no outbound call reached the simulator");
    // malformed URLs stay invalid_input
    let r = admin
        .post(
            "/api/v1/channels",
            json!({"display_phone_number": "+49 30 901820", "phone_number_id": "bad", "api_key": "x",
                   "base_url": "not a url", "consent_template": {"name": "consent_request", "language": "de"}}),
        )
        .await;
    assert_eq!(r.code(), Some("invalid_input"), "{:?}", r.json);
    h.stop().await;
}

fn channel_body(phone_number_id: &str, base_url: Option<&str>) -> serde_json::Value {
    let mut body = json!({
        "display_phone_number": "+49 30 901820",
        "phone_number_id": phone_number_id,
        "api_key": "x",
        "consent_template": {"name": "consent_request", "language": "de"}
    });
    if let Some(url) = base_url {
        body["base_url"] = json!(url);
    }
    body
}

/// A tenant with only an admin (operator-created).
async fn bare_tenant(h: &hoheit_server::harness::Harness, name: &str) -> hoheit_server::harness::Client {
    let r = common::operator_creates_tenant(
        h,
        json!({"name": name, "privacy_contact": "dpo@example.com", "privacy_notice_url": "https://example.com/datenschutz"}),
    )
    .await;
    h.client(&common::accept(h, r.str("/admin_invitation/invitation").unwrap(), None).await)
}

#[tokio::test]
async fn a_number_of_another_tenant_is_not_confirmed() {
    number_oracle(None).await;
    // PostgreSQL too (scripts/test): its unique-key error must give the same answer
    if let Some(url) = common::postgres_database().await {
        number_oracle(Some(url)).await;
    }
}

async fn number_oracle(database_url: Option<String>) {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.workers = false;
    options.database_url = database_url;
    let (h, _dir) = common::start(options).await;
    let first = bare_tenant(&h, "Erste GmbH").await;
    let second = bare_tenant(&h, "Zweite GmbH").await;
    assert_eq!(first.post("/api/v1/channels", channel_body("pnid-taken", None)).await.status, 201);

    // the same tenant again: today's answer, 409 conflict
    let again = first.post("/api/v1/channels", channel_body("pnid-taken", None)).await;
    assert_eq!((again.status, again.code()), (409, Some("conflict")), "{:?}", again.json);

    // another tenant: a generic refusal that does not confirm the other tenant
    let r = second.post("/api/v1/channels", channel_body("pnid-taken", None)).await;
    assert_eq!((r.status, r.code()), (409, Some("channel_not_available")), "{:?}", r.json);
    let message = r.str("/error/message").unwrap().to_lowercase();
    for leak in ["tenant", "duplicate", "exists", "erste", "pnid-taken", "already", "another"] {
        assert!(!message.contains(leak), "{leak} in {message}");
    }
    // nothing was stored for the second tenant, and a free number still works
    assert_eq!(second.get("/api/v1/channels").await.json.as_array().map(Vec::len), Some(0));
    assert_eq!(second.post("/api/v1/channels", channel_body("pnid-free", None)).await.status, 201);
    h.stop().await;
}

/// A look-alike provider that answers at once until `slow` is set, then holds every request for
/// 60 s (template listings and media downloads alike).
async fn slow_provider(slow: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::response::IntoResponse as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let slow = slow.clone();
        async move {
            if slow.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
            if uri.path() == "/v1/configs/templates" {
                axum::Json(json!({"count": 0, "total": 0, "offset": 0, "limit": 100, "waba_templates": []}))
                    .into_response()
            } else {
                axum::Json(json!({})).into_response()
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn media_webhook(phone_number_id: &str, from: &str, wamid: &str, media_id: &str) -> serde_json::Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": common::now_unix().to_string(), "type": "document",
                      "document": {"id": media_id, "mime_type": "application/pdf", "filename": "cv.pdf"}}]
    }}]}]})
}

#[tokio::test]
async fn a_slow_tenant_does_not_stall_the_others() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.workers = false;
    options.env.push(("HOHEIT_TEMPLATES__TENANT_BUDGET_SECONDS".into(), "1".into()));
    options.env.push(("HOHEIT_MEDIA__TENANT_BUDGET_SECONDS".into(), "1".into()));
    options.env.push(("HOHEIT_DIALOG360__REQUEST_TIMEOUT_SECONDS".into(), "30".into()));
    let (h, _dir) = common::start(options).await;

    // tenant A on a provider that becomes slow; tenant B on the simulator
    let slow = Arc::new(AtomicBool::new(false));
    let slow_url = slow_provider(slow.clone()).await;
    let a_admin = bare_tenant(&h, "Langsam GmbH").await;
    let r = a_admin.post("/api/v1/channels", channel_body("pnid-slow", Some(&slow_url))).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let a = common::Tenant {
        id: String::new(),
        admin: a_admin.clone(),
        dpo: a_admin.clone(),
        recruiter: a_admin.clone(),
        channel: r.str("/id").unwrap().to_owned(),
        webhook_path: r.str("/webhook_url_path").unwrap().to_owned(),
        webhook_secret: r.str("/webhook_secret").unwrap().to_owned(),
    };
    let b = common::tenant(&h, "Schnell GmbH", h.sim.phone_number_id()).await;
    slow.store(true, Ordering::SeqCst);

    // templates: B gets the simulator's new template although A's listing hangs
    let mut templates = hoheit_server::harness::simulator_templates();
    templates.push(hoheit_dialog360::simulator::template_json("new_round", "de", "UTILITY", "APPROVED", "Neu.", &[]));
    h.sim.set_templates(templates);
    let started = Instant::now();
    let synced = hoheit_server::workers::sync_templates_once(&h.state).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the round ended with A's budget: {:?}", started.elapsed());
    assert_eq!(synced, 1, "B's channel synced, A's abandoned");
    let listed = b.admin.get(&format!("/api/v1/channels/{}/templates", b.channel)).await;
    assert!(listed.json.as_array().unwrap().iter().any(|t| t["name"] == "new_round"), "{:?}", listed.json);

    // media: B's file is fetched and stored although A's download hangs
    let pdf = b"%PDF-1.7 Lebenslauf".to_vec();
    let b_media = h.sim.add_media(pdf, "application/pdf");
    let a_status = common::post_webhook(
        &h,
        &a,
        &media_webhook("pnid-slow", "491705550111", "wamid.A1", "slowmedia1"),
        Some(&a.webhook_secret),
    )
    .await;
    assert_eq!(a_status, 200);
    let b_status = common::post_webhook(
        &h,
        &b,
        &media_webhook(h.sim.phone_number_id(), "491705550122", "wamid.B1", &b_media),
        Some(&b.webhook_secret),
    )
    .await;
    assert_eq!(b_status, 200);
    let started = Instant::now();
    let handled = hoheit_server::workers::fetch_media_once(&h.state).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the round ended with A's budget: {:?}", started.elapsed());
    assert_eq!(handled, 1, "B's file handled, A's left for the next round");
    // A's file is still pending (nothing recorded for it), B's is not
    let pending =
        h.state.platform.pending_media(hoheit_domain::ports::Clock::now(h.state.clock.as_ref()), 10).await.unwrap();
    let a_tenant = pending.iter().map(|(t, _)| t.to_string()).collect::<Vec<_>>();
    assert_eq!(pending.len(), 1, "only A's file is pending: {a_tenant:?}");
    assert_ne!(a_tenant[0], b.id);
    h.stop().await;
}
