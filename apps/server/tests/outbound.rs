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
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    let r = operator.post("/api/v1/tenants", json!({"name": "SSRF GmbH"})).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let admin = h.client(r.str("/admin_token").unwrap());
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
