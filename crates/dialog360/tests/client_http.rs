//! The client against real HTTP on loopback (wiremock): exact bodies and headers, the error
//! mapping, retries and back-off, Retry-After, timeouts, redaction, SSRF, paging, limits.
// Test helpers may unwrap; a catch-all arm here panics, so a new domain variant fails loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::wildcard_enum_match_arm
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hoheit_dialog360::{
    ClientConfig, Dialog360Client, Dialog360Error, Dialog360Gateway, EgressPolicy, MediaInfo, RetryPolicy,
    SecretString, ThroughputConfig, UserRecipientField, WebhookSettings,
};
use hoheit_domain::conversation::{OutboundContent, ReplyButton};
use hoheit_domain::ids::ChannelId;
use hoheit_domain::ports::{GatewayError, MessagingGateway, Recipient};
use hoheit_domain::values::{LanguageCode, PhoneNumber, Pii, TemplateName, WaUserId, Wamid};
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "test-key-5f3a9c";

fn config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base, SecretString::from(KEY)).unwrap();
    c.egress = EgressPolicy::insecure_loopback();
    c.retry = RetryPolicy {
        max_attempts: 3,
        max_total_delay: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        long_backoff: Duration::from_secs(60),
        jitter: true,
    };
    c.request_timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_millis(100);
    c.pair_spacing.min_interval = Duration::ZERO;
    c.throughput = ThroughputConfig { messages_per_second: 1_000, burst: 100 };
    c
}

fn client(server: &MockServer) -> Dialog360Client {
    Dialog360Client::new(config(&server.uri())).unwrap()
}

fn phone() -> Recipient {
    Recipient::Phone(PhoneNumber::parse("+49 176 12345678").unwrap())
}

fn text(body: &str) -> OutboundContent {
    OutboundContent::Text { body: body.into() }
}

fn accepted(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "4917612345678", "wa_id": "4917612345678"}],
        "messages": [{"id": id}]
    }))
}

fn meta_error(status: u16, code: i64) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": "(#x) something", "type": "OAuthException", "code": code,
                  "error_data": {"messaging_product": "whatsapp", "details": "details"}, "fbtrace_id": "Az"}
    }))
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

// ---------------------------------------------------------------- bodies and headers

#[tokio::test]
async fn text_message_body_and_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(header("D360-API-KEY", KEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4917612345678",
            "type": "text", "text": {"body": "Hallo Anna", "preview_url": false}
        })))
        .respond_with(accepted("wamid.TEXT1"))
        .expect(1)
        .mount(&server)
        .await;
    let receipt = client(&server).send(&phone(), &text("Hallo Anna")).await.unwrap();
    assert_eq!(receipt.provider_id, Wamid::parse("wamid.TEXT1").unwrap());
}

#[tokio::test]
async fn consent_template_with_parameters_and_quick_reply_payloads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4917612345678",
            "type": "template",
            "template": {"name": "consent_request_v2", "language": {"code": "de"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "ACME GmbH"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "consent:yes:r1"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "consent:no:r1"}]}
            ]}
        })))
        .respond_with(accepted("wamid.TPL1"))
        .expect(1)
        .mount(&server)
        .await;
    let content = OutboundContent::Template {
        name: TemplateName::parse("consent_request_v2").unwrap(),
        language: LanguageCode::german(),
        body_parameters: vec![Pii::from("Anna"), Pii::from("ACME GmbH")],
        button_payloads: vec!["consent:yes:r1".into(), "consent:no:r1".into()],
    };
    let receipt = client(&server).send(&phone(), &content).await.unwrap();
    assert_eq!(receipt.provider_id.as_str(), "wamid.TPL1");
}

#[tokio::test]
async fn interactive_reply_buttons() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4917612345678",
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "Passt Dienstag?"}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": "slot_yes", "title": "Ja"}},
                {"type": "reply", "reply": {"id": "slot_no", "title": "Nein"}}
            ]}}
        })))
        .respond_with(accepted("wamid.INT1"))
        .expect(1)
        .mount(&server)
        .await;
    let content = OutboundContent::Interactive {
        body: "Passt Dienstag?".into(),
        buttons: vec![
            ReplyButton { id: "slot_yes".into(), title: "Ja".into() },
            ReplyButton { id: "slot_no".into(), title: "Nein".into() },
        ],
    };
    client(&server).send(&phone(), &content).await.unwrap();
}

#[tokio::test]
async fn mark_read_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(header("D360-API-KEY", KEY))
        .and(body_json(json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).mark_read(&Wamid::parse("wamid.IN1").unwrap()).await.unwrap();
}

#[tokio::test]
async fn business_scoped_user_ids_go_to_the_configured_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/messages")).respond_with(accepted("wamid.U1")).mount(&server).await;
    let user = Recipient::User(WaUserId::parse("BR.1502576394655843").unwrap());
    client(&server).send(&user, &text("Hi")).await.unwrap();
    let mut named = config(&server.uri());
    named.user_recipient_field = UserRecipientField::Named("recipient".into());
    Dialog360Client::new(named).unwrap().send(&user, &text("Hi")).await.unwrap();
    let bodies: Vec<Value> = requests(&server).await.iter().map(|r| r.body_json().unwrap()).collect();
    assert_eq!(bodies[0]["to"], "BR.1502576394655843");
    assert_eq!(bodies[1]["recipient"], "BR.1502576394655843");
    assert!(bodies[1].get("to").is_none());
}

#[tokio::test]
async fn sandbox_style_messages_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(accepted("wamid.SB"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.messages_path = "/v1/messages".into();
    Dialog360Client::new(c).unwrap().send(&phone(), &text("x")).await.unwrap();
}

// ---------------------------------------------------------------- error classes

#[tokio::test]
async fn each_error_class_is_mapped_and_permanent_errors_are_not_retried() {
    let cases: Vec<(ResponseTemplate, GatewayError, usize)> = vec![
        (meta_error(400, 131_047), GatewayError::WindowClosed { code: Some(131_047) }, 1),
        (meta_error(400, 131_026), GatewayError::Undeliverable { code: Some(131_026) }, 1),
        (meta_error(400, 131_050), GatewayError::Rejected { code: Some(131_050) }, 1),
        (meta_error(400, 131_049), GatewayError::Rejected { code: Some(131_049) }, 1),
        (meta_error(400, 131_051), GatewayError::Rejected { code: Some(131_051) }, 1),
        (meta_error(400, 132_001), GatewayError::TemplateRejected { code: Some(132_001) }, 1),
        (meta_error(400, 132_015), GatewayError::TemplateRejected { code: Some(132_015) }, 1),
        (meta_error(403, 368), GatewayError::ChannelFailure { code: Some(368) }, 1),
        (meta_error(400, 131_042), GatewayError::ChannelFailure { code: Some(131_042) }, 1),
        (meta_error(400, 133_010), GatewayError::ChannelFailure { code: Some(133_010) }, 1),
        (
            ResponseTemplate::new(401).set_body_json(
                json!({"meta": {"success": false, "http_code": 401, "developer_message": "Invalid api_key"}}),
            ),
            GatewayError::ChannelFailure { code: Some(401) },
            1,
        ),
        (
            ResponseTemplate::new(400).set_body_json(
                json!({"meta": {"success": false, "http_code": 400, "developer_message": "Your WhatsApp for Business API has been disabled"}}),
            ),
            GatewayError::ChannelFailure { code: None },
            1,
        ),
        (meta_error(400, 100), GatewayError::Rejected { code: Some(100) }, 1),
        // transient ones: retried up to max_attempts (3)
        (meta_error(429, 130_429), GatewayError::RateLimited { retry_after: None, code: Some(130_429) }, 3),
        (
            ResponseTemplate::new(400).set_body_json(
                json!({"meta": {"success": false, "http_code": 400, "developer_message": "You have exceeded the endpoint rate limit"}}),
            ),
            GatewayError::RateLimited { retry_after: None, code: None },
            3,
        ),
        (
            ResponseTemplate::new(502).set_body_json(
                json!({"meta": {"success": false, "http_code": 502, "developer_message": "WhatsApp for Business API not available"}}),
            ),
            GatewayError::Transient { code: Some(502) },
            3,
        ),
        (ResponseTemplate::new(500).set_body_string("<html>oops</html>"), GatewayError::Transient { code: Some(500) }, 3),
    ];
    for (response, expected, attempts) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path("/messages")).respond_with(response).mount(&server).await;
        let error = client(&server).send(&phone(), &text("x")).await.unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(requests(&server).await.len(), attempts, "{expected:?}");
        let printed = format!("{error} {error:?}");
        assert!(!printed.contains(KEY) && !printed.contains("4917612345678"), "{printed}");
    }
}

#[tokio::test]
async fn long_rate_limits_go_back_to_the_caller_with_a_long_retry_after() {
    for code in [131_048, 80_007, 4] {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path("/messages")).respond_with(meta_error(400, code)).mount(&server).await;
        let error = client(&server).send(&phone(), &text("x")).await.unwrap_err();
        // 60 s does not fit the 5 s budget: no retry, the dispatcher reschedules.
        assert_eq!(error, GatewayError::RateLimited { retry_after: Some(Duration::from_secs(60)), code: Some(code) });
        assert_eq!(requests(&server).await.len(), 1);
    }
}

// ---------------------------------------------------------------- retries

/// Answers `first` for the first `n` requests, then `then`.
fn sequence(n: usize, first: ResponseTemplate, then: ResponseTemplate) -> impl Fn(&Request) -> ResponseTemplate {
    let count = Arc::new(AtomicUsize::new(0));
    move |_: &Request| if count.fetch_add(1, Ordering::SeqCst) < n { first.clone() } else { then.clone() }
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(sequence(2, ResponseTemplate::new(503), accepted("wamid.AFTER")))
        .mount(&server)
        .await;
    let receipt = client(&server).send(&phone(), &text("x")).await.unwrap();
    assert_eq!(receipt.provider_id.as_str(), "wamid.AFTER");
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn the_total_delay_budget_ends_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/messages")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let mut c = config(&server.uri());
    c.retry.max_attempts = 50;
    c.retry.initial_backoff = Duration::from_millis(100);
    c.retry.max_backoff = Duration::from_millis(100);
    c.retry.jitter = false;
    c.retry.max_total_delay = Duration::from_millis(350);
    let error = Dialog360Client::new(c).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::Transient { code: Some(503) });
    // waits of 100 ms fit three times into 350 ms: 4 attempts
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(sequence(1, meta_error(429, 130_429).insert_header("Retry-After", "1"), accepted("wamid.RA")))
        .mount(&server)
        .await;
    let started = Instant::now();
    client(&server).send(&phone(), &text("x")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(sequence(
            1,
            ResponseTemplate::new(503)
                .insert_header("Date", "Wed, 21 Oct 2015 07:28:00 GMT")
                .insert_header("Retry-After", "Wed, 21 Oct 2015 07:28:01 GMT"),
            accepted("wamid.RD"),
        ))
        .mount(&server)
        .await;
    let started = Instant::now();
    client(&server).send(&phone(), &text("x")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn retry_after_beyond_the_budget_is_returned_not_waited_for() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(meta_error(429, 130_429).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = client(&server).send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::RateLimited { retry_after: Some(Duration::from_secs(120)), code: Some(130_429) });
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(requests(&server).await.len(), 1);
}

// ---------------------------------------------------------------- timeouts and connections

#[tokio::test]
async fn a_timeout_after_sending_is_outcome_unknown_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(accepted("wamid.LATE").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.request_timeout = Duration::from_millis(200);
    let error = Dialog360Client::new(c).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::OutcomeUnknown);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn idempotent_calls_are_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true})).set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.request_timeout = Duration::from_millis(150);
    let error = Dialog360Client::new(c).unwrap().mark_read(&Wamid::parse("wamid.X").unwrap()).await.unwrap_err();
    assert_eq!(error, GatewayError::Transient { code: None });
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error =
        Dialog360Client::new(config(&format!("http://{addr}"))).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::Transient { code: None });
}

#[tokio::test]
async fn a_connect_timeout_is_transient_not_unknown() {
    // a connection that is never established (here: a name that never resolves): nothing was sent.
    struct Stalls;
    impl reqwest::dns::Resolve for Stalls {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Err("never".into())
            })
        }
    }
    let egress = EgressPolicy::new(["stalls.test"]).unwrap();
    let mut c = config("https://stalls.test");
    c.egress = egress.clone();
    c.connect_timeout = Duration::from_millis(100);
    c.request_timeout = Duration::from_secs(2);
    let http = hoheit_dialog360::HttpClient::with_resolver(c.connect_timeout, &egress, Arc::new(Stalls)).unwrap();
    let error = Dialog360Client::with_http_client(c, http).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::Transient { code: None });
}

#[tokio::test]
async fn accepted_without_an_id_is_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp"})))
        .mount(&server)
        .await;
    assert_eq!(client(&server).send(&phone(), &text("x")).await.unwrap_err(), GatewayError::OutcomeUnknown);
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn the_key_never_shows_in_debug_output() {
    let server = MockServer::start().await;
    let c = client(&server);
    let printed = format!("{c:?} {:?}", config(&server.uri()));
    assert!(!printed.contains(KEY), "{printed}");
    assert!(printed.contains("REDACTED"), "{printed}");
    let gateway = Dialog360Gateway::new();
    gateway.register(ChannelId::from_uuid(uuid_from(1)), c);
    assert!(!format!("{gateway:?}").contains(KEY));
}

fn uuid_from(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

// ---------------------------------------------------------------- gateway registry

#[tokio::test]
async fn the_gateway_routes_by_channel() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    Mock::given(method("POST")).respond_with(accepted("wamid.FIRST")).mount(&first).await;
    Mock::given(method("POST")).respond_with(accepted("wamid.SECOND")).mount(&second).await;
    let a = ChannelId::from_uuid(uuid_from(1));
    let b = ChannelId::from_uuid(uuid_from(2));
    let gateway = Dialog360Gateway::new();
    assert_eq!(
        gateway.send(a, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap_err(),
        GatewayError::NotConfigured
    );
    assert_eq!(gateway.mark_read(a, &Wamid::parse("wamid.Z").unwrap()).await.unwrap_err(), GatewayError::NotConfigured);
    gateway.register(a, client(&first));
    gateway.register(b, client(&second));
    assert_eq!(
        gateway.send(a, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap().provider_id.as_str(),
        "wamid.FIRST"
    );
    assert_eq!(
        gateway.send(b, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap().provider_id.as_str(),
        "wamid.SECOND"
    );
    // replace a's client (key rotation, new number)
    assert!(gateway.register(a, client(&second)).is_some());
    assert_eq!(
        gateway.send(a, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap().provider_id.as_str(),
        "wamid.SECOND"
    );
    assert!(gateway.remove(a).is_some());
    assert_eq!(
        gateway.send(a, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap_err(),
        GatewayError::NotConfigured
    );
    assert_eq!(gateway.channels(), vec![b]);
}

#[tokio::test]
async fn through_the_gateway_a_send_is_one_attempt_after_pacing() {
    // the dispatcher decides again between the wait for the limits and every attempt, so the
    // gateway's send never retries by itself (the client's own `send` does)
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(sequence(1, meta_error(429, 130_429), accepted("wamid.ONCE")))
        .mount(&server)
        .await;
    let channel = ChannelId::from_uuid(uuid_from(7));
    let gateway = Dialog360Gateway::new();
    gateway.register(channel, client(&server));
    gateway.pace(channel, &phone()).await.unwrap();
    let error = gateway.send(channel, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap_err();
    assert_eq!(error, GatewayError::RateLimited { retry_after: None, code: Some(130_429) });
    assert_eq!(requests(&server).await.len(), 1, "no retry inside the gateway");
    gateway.pace(channel, &phone()).await.unwrap();
    assert_eq!(
        gateway.send(channel, &phone(), &text("x"), "hoheit.outbox.test").await.unwrap().provider_id.as_str(),
        "wamid.ONCE"
    );
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["biz_opaque_callback_data"], "hoheit.outbox.test", "every attempt carries the tag");
    }
    assert_eq!(
        gateway.pace(ChannelId::from_uuid(uuid_from(8)), &phone()).await.unwrap_err(),
        GatewayError::NotConfigured
    );
}

#[tokio::test]
async fn two_replicas_pace_a_number_at_half_its_rate_each() {
    let server = MockServer::start().await;
    let channel = ChannelId::from_uuid(uuid_from(9));
    let gateway = Dialog360Gateway::new();
    let mut c = config(&server.uri());
    c.throughput = ThroughputConfig { messages_per_second: 20, burst: 1 };
    gateway.register(channel, Dialog360Client::new(c).unwrap());
    gateway.set_throughput_share(2);
    let started = Instant::now();
    for i in 0..5 {
        let to = Recipient::Phone(PhoneNumber::parse(&format!("+49 176 1234561{i}")).unwrap());
        gateway.pace(channel, &to).await.unwrap();
    }
    // five slots at 10/s (half of 20/s): the fifth 400 ms after the first
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
}

// ---------------------------------------------------------------- limits

#[tokio::test]
async fn the_same_recipient_is_spaced_others_are_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/messages")).respond_with(accepted("wamid.S")).mount(&server).await;
    let mut c = config(&server.uri());
    c.pair_spacing.min_interval = Duration::from_millis(300);
    let c = Dialog360Client::new(c).unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        c.send(&phone(), &text("x")).await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_number_throughput_is_limited() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/messages")).respond_with(accepted("wamid.T")).mount(&server).await;
    let mut c = config(&server.uri());
    c.throughput = ThroughputConfig { messages_per_second: 20, burst: 1 };
    let c = Dialog360Client::new(c).unwrap();
    let started = Instant::now();
    for i in 0..6 {
        let to = Recipient::Phone(PhoneNumber::parse(&format!("+49 176 1234560{i}")).unwrap());
        c.send(&to, &text("x")).await.unwrap();
    }
    // six messages at 20/s: the sixth leaves 250 ms after the first
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_pair_rate_limit_delays_the_retry_by_the_spacing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(sequence(1, meta_error(400, 131_056), accepted("wamid.PAIR")))
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.pair_spacing.min_interval = Duration::from_millis(400);
    let c = Dialog360Client::new(c).unwrap();
    let started = Instant::now();
    c.send(&phone(), &text("x")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    assert_eq!(requests(&server).await.len(), 2);
}

// ---------------------------------------------------------------- templates

#[tokio::test]
async fn templates_are_paged_until_all_are_fetched() {
    let server = MockServer::start().await;
    let all: Vec<Value> = (0..5)
        .map(|i| {
            json!({"name": format!("tpl_{i}"), "language": "de", "status": if i == 3 { "PAUSED" } else { "APPROVED" },
                   "category": if i == 4 { "MARKETING" } else { "UTILITY" },
                   "components": [{"type": "BODY", "text": "Hallo {{1}}, {{2}}"},
                                  {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Ja"}]}]})
        })
        .collect();
    let pages = all.clone();
    Mock::given(method("GET"))
        .and(path("/v1/configs/templates"))
        .and(header("D360-API-KEY", KEY))
        .and(query_param("limit", "2"))
        .respond_with(move |request: &Request| {
            let offset: usize =
                request.url.query_pairs().find(|(k, _)| k == "offset").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = pages.iter().skip(offset).take(2).cloned().collect();
            ResponseTemplate::new(200).set_body_json(
                json!({"count": page.len(), "total": 5, "offset": offset, "limit": 2, "waba_templates": page}),
            )
        })
        .expect(3)
        .mount(&server)
        .await;
    let mut c = config(&server.uri());
    c.template_page_size = 2;
    let templates = Dialog360Client::new(c).unwrap().list_templates().await.unwrap();
    let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["tpl_0", "tpl_1", "tpl_2", "tpl_3", "tpl_4"]);
    assert_eq!(templates[3].status, hoheit_domain::template::TemplateStatus::Paused);
    assert_eq!(templates[4].category, Some(hoheit_domain::template::TemplateCategory::Marketing));
    assert_eq!((templates[0].body_parameters, templates[0].quick_replies), (2, 1));
    let offsets: Vec<String> = requests(&server)
        .await
        .iter()
        .filter_map(|r| r.url.query_pairs().find(|(k, _)| k == "offset").map(|(_, v)| v.into_owned()))
        .collect();
    assert_eq!(offsets, vec!["0", "2", "4"]);
    let domain = templates[0].to_domain(ChannelId::from_uuid(uuid_from(7)), time::OffsetDateTime::UNIX_EPOCH).unwrap();
    assert_eq!(domain.name.as_str(), "tpl_0");
    assert_eq!(domain.body_parameters, 2);
}

// ---------------------------------------------------------------- webhook settings

#[tokio::test]
async fn webhook_url_and_headers_are_set_and_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/configs/webhook"))
        .and(body_json(
            json!({"url": "https://hoheit.example/webhooks/360dialog/tok", "headers": {"X-Hoheit-Secret": "s3cr3t"}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"url": "https://hoheit.example/webhooks/360dialog/tok"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/configs/webhook"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"url": "https://hoheit.example/webhooks/360dialog/tok", "headers": {"X-Hoheit-Secret": "s3cr3t"}}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let settings = WebhookSettings {
        url: "https://hoheit.example/webhooks/360dialog/tok".into(),
        headers: vec![("X-Hoheit-Secret".into(), SecretString::from("s3cr3t"))],
    };
    c.set_webhook(&settings).await.unwrap();
    let read = c.webhook().await.unwrap();
    assert_eq!(read.url, settings.url);
    assert_eq!(read.headers.len(), 1);
    let bad = WebhookSettings {
        url: "https://x.example/".into(),
        headers: vec![("bad header".into(), SecretString::from("v"))],
    };
    assert_eq!(c.set_webhook(&bad).await, Err(Dialog360Error::InvalidRequest("invalid webhook header name")));
}

// ---------------------------------------------------------------- media

#[tokio::test]
async fn media_is_fetched_through_the_api_host() {
    let server = MockServer::start().await;
    let bytes = b"%PDF-1.7 fake".to_vec();
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    Mock::given(method("GET"))
        .and(path("/1037543291543636"))
        .and(header("D360-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1037543291543636&ext=1&hash=h",
            "mime_type": "application/pdf", "sha256": digest, "file_size": bytes.len(), "id": "1037543291543636",
            "messaging_product": "whatsapp"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/whatsapp_business/attachments/"))
        .and(query_param("mid", "1037543291543636"))
        .and(header("D360-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_raw(bytes.clone(), "application/pdf"))
        .expect(1)
        .mount(&server)
        .await;
    let (info, content) = client(&server).fetch_media("1037543291543636").await.unwrap();
    assert_eq!(info.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(content.bytes, Bytes::from(bytes));
    assert_eq!(content.mime_type.as_deref(), Some("application/pdf"));
    assert!(!format!("{content:?}").contains("PDF"));
}

#[tokio::test]
async fn media_from_foreign_hosts_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_string("secret")).mount(&other).await;
    let c = client(&server);
    for url in [
        format!("{}/steal", other.uri()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "https://evil.example/x".to_owned(),
        "https://waba-v2.360dialog.io.evil.example/x".to_owned(),
    ] {
        let info = MediaInfo { id: "1".into(), url, mime_type: None, sha256: None, file_size: None };
        assert_eq!(c.download_media(&info).await.unwrap_err(), Dialog360Error::RefusedUrl);
    }
    assert!(requests(&other).await.is_empty());
    assert!(requests(&server).await.is_empty());
    assert_eq!(c.media_info("../v1/configs/webhook").await.unwrap_err(), Dialog360Error::InvalidMediaId);
}

#[tokio::test]
async fn media_integrity_and_size_are_checked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/whatsapp_business/attachments/"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7_u8; 2048]))
        .mount(&server)
        .await;
    let url = format!("{}/whatsapp_business/attachments/?mid=1", server.uri());
    let c = client(&server);
    let wrong =
        MediaInfo { id: "1".into(), url: url.clone(), mime_type: None, sha256: Some("0".repeat(64)), file_size: None };
    assert_eq!(c.download_media(&wrong).await.unwrap_err(), Dialog360Error::IntegrityMismatch);
    let mut small = config(&server.uri());
    small.max_media_bytes = 1024;
    let c = Dialog360Client::new(small).unwrap();
    let info = MediaInfo { id: "1".into(), url, mime_type: None, sha256: None, file_size: None };
    assert_eq!(c.download_media(&info).await.unwrap_err(), Dialog360Error::TooLarge);
}

#[tokio::test]
async fn media_upload_is_multipart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/media"))
        .and(header("D360-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "555000111"})))
        .expect(1)
        .mount(&server)
        .await;
    let id = client(&server).upload_media(Bytes::from_static(b"\x89PNG fake"), "image/png", "bild.png").await.unwrap();
    assert_eq!(id, "555000111");
    let request = &requests(&server).await[0];
    let content_type = request.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("multipart/form-data; boundary="), "{content_type}");
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains("name=\"messaging_product\"\r\n\r\nwhatsapp"), "{body}");
    assert!(body.contains("name=\"file\"; filename=\"bild.png\""), "{body}");
    assert!(body.contains("content-type: image/png") || body.contains("Content-Type: image/png"), "{body}");
    assert!(body.contains("\u{89}PNG fake") || request.body.windows(8).any(|w| w == b"PNG fake"));
}
