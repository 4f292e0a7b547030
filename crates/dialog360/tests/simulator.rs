//! The client against the fake 360Dialog, end to end over loopback: sends, failures and
//! retries, status and inbound webhooks (verified and parsed by this crate), templates, media.
#![cfg(feature = "simulator")]
// Test helpers may unwrap; a catch-all arm here panics, so a new domain variant fails loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::wildcard_enum_match_arm
)]

use std::time::Duration;

use bytes::Bytes;
use hoheit_dialog360::simulator::{
    DEFAULT_SIM_API_KEY, Failure, FailureRule, FailureScope, SimStatus, Simulator, SimulatorConfig, SimulatorHandle,
    StatusWebhooks, Trigger, WebhookTarget, template_json,
};
use hoheit_dialog360::webhook::{WebhookVerifier, parse_webhook};
use hoheit_dialog360::{
    ClientConfig, Dialog360Client, RetryPolicy, SecretSlice, SecretString, ThroughputConfig, WebhookSettings,
};
use hoheit_domain::conversation::{DeliveryStatus, OutboundContent, ReplyButton};
use hoheit_domain::inbound::{InboundContent, InboundEvent};
use hoheit_domain::ports::{GatewayError, Recipient};
use hoheit_domain::values::{LanguageCode, PhoneNumber, TemplateName, WaUserId, Wamid};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const HMAC_KEY: &[u8] = b"sim-hmac-key";
const CANDIDATE: &str = "4917612345678";

fn client_config(sim: &SimulatorHandle) -> ClientConfig {
    let mut c = sim.client_config().unwrap();
    c.retry = RetryPolicy {
        max_attempts: 4,
        max_total_delay: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        long_backoff: Duration::from_secs(60),
        jitter: true,
    };
    c.request_timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_millis(100);
    c.pair_spacing.min_interval = Duration::ZERO;
    c.throughput = ThroughputConfig { messages_per_second: 1_000, burst: 100 };
    c
}

fn client(sim: &SimulatorHandle) -> Dialog360Client {
    Dialog360Client::new(client_config(sim)).unwrap()
}

async fn sim() -> SimulatorHandle {
    Simulator::start(SimulatorConfig::default()).await.unwrap()
}

async fn sim_without_statuses() -> SimulatorHandle {
    let config = SimulatorConfig {
        status_webhooks: StatusWebhooks { enabled: false, ..StatusWebhooks::default() },
        ..SimulatorConfig::default()
    };
    Simulator::start(config).await.unwrap()
}

fn phone() -> Recipient {
    Recipient::Phone(PhoneNumber::parse(&format!("+{CANDIDATE}")).unwrap())
}

fn text(body: &str) -> OutboundContent {
    OutboundContent::Text { body: body.into() }
}

/// A webhook receiver (wiremock answering 200).
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    server
}

/// Verifies and parses everything the receiver got, in arrival order.
async fn received_events(receiver: &MockServer, verifier: &WebhookVerifier) -> Vec<InboundEvent> {
    let mut events = Vec::new();
    for request in receiver.received_requests().await.unwrap() {
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        verifier.verify(&headers, &request.body).unwrap();
        let parsed = parse_webhook(&request.body).unwrap();
        assert_eq!(parsed.skipped, 0);
        for routed in parsed.events {
            assert_eq!(routed.phone_number_id.as_deref(), Some("100000000000001"));
            events.push(routed.event);
        }
    }
    events
}

fn statuses_of(events: &[InboundEvent], id: &Wamid) -> Vec<DeliveryStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::Status(s) if &s.provider_id == id => Some(s.status),
            InboundEvent::Status(_) | InboundEvent::Message(_) | InboundEvent::Error(_) => None,
        })
        .collect()
}

fn hmac_verifier() -> WebhookVerifier {
    WebhookVerifier::new().with_hmac(SecretSlice::from(HMAC_KEY.to_vec()))
}

#[tokio::test]
async fn a_send_is_recorded_answered_and_followed_by_signed_status_webhooks() {
    let sim = sim().await;
    let hook = receiver().await;
    sim.set_webhook(WebhookTarget::new(hook.uri()).with_header("X-Hoheit-Secret", "s3cr3t").with_hmac(HMAC_KEY));
    let receipt = client(&sim).send(&phone(), &text("Hallo Anna")).await.unwrap();

    let requests = sim.requests_to("/messages");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(request.authorized);
    assert_eq!(request.header("d360-api-key"), Some("<redacted>"));
    assert!(!format!("{:?}", sim.requests()).contains(DEFAULT_SIM_API_KEY));
    assert_eq!(request.json.as_ref().unwrap()["text"]["body"], "Hallo Anna");
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].id, receipt.provider_id);
    assert_eq!(accepted[0].to, CANDIDATE);

    assert!(sim.wait_for_deliveries(3, Duration::from_secs(5)).await);
    let verifier = hmac_verifier().with_secret_header("X-Hoheit-Secret", SecretString::from("s3cr3t"));
    let events = received_events(&hook, &verifier).await;
    assert_eq!(
        statuses_of(&events, &receipt.provider_id),
        vec![DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn status_webhooks_echo_the_sends_biz_opaque_callback_data() {
    let sim = sim().await;
    let hook = receiver().await;
    sim.set_webhook(WebhookTarget::new(hook.uri()).with_hmac(HMAC_KEY));
    let tag = "hoheit.outbox.01938a2e-7c1f-7b2a-9d3e-5f6a7b8c9d0e";
    let tagged = client(&sim).send_once_tagged(&phone(), &text("eins"), tag).await.unwrap();
    let plain = client(&sim).send_once(&phone(), &text("zwei")).await.unwrap();
    assert_eq!(sim.accepted_messages()[0].body["biz_opaque_callback_data"], tag);
    assert!(sim.wait_for_deliveries(6, Duration::from_secs(5)).await);
    let events = received_events(&hook, &hmac_verifier()).await;
    let callbacks = |id: &Wamid| -> Vec<Option<String>> {
        events
            .iter()
            .filter_map(|e| match e {
                InboundEvent::Status(s) if &s.provider_id == id => Some(s.callback_data.clone()),
                InboundEvent::Status(_) | InboundEvent::Message(_) | InboundEvent::Error(_) => None,
            })
            .collect()
    };
    assert_eq!(callbacks(&tagged.provider_id), vec![Some(tag.to_owned()); 3]);
    assert_eq!(callbacks(&plain.provider_id), vec![None; 3]);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limited_then_accepted_is_retried_and_delivered_once() {
    let sim = sim_without_statuses().await;
    sim.script_failure(Failure::RateLimited { retry_after: None }, Trigger::Next(1));
    let receipt = client(&sim).send(&phone(), &text("x")).await.unwrap();
    assert_eq!(sim.requests_to("/messages").len(), 2);
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].id, receipt.provider_id);
}

#[tokio::test]
async fn server_errors_then_success() {
    let sim = sim_without_statuses().await;
    sim.script_failure(Failure::ServerError(502), Trigger::Next(2));
    client(&sim).send(&phone(), &text("x")).await.unwrap();
    assert_eq!(sim.requests_to("/messages").len(), 3);
    assert_eq!(sim.accepted_messages().len(), 1);
}

#[tokio::test]
async fn scripted_permanent_failures() {
    let sim = sim_without_statuses().await;
    let c = client(&sim);
    sim.script_failure(Failure::WindowClosed, Trigger::Next(1));
    assert_eq!(c.send(&phone(), &text("x")).await.unwrap_err(), GatewayError::WindowClosed { code: Some(131_047) });
    sim.script_failure(Failure::MetaError { http_status: 400, code: 131_026 }, Trigger::Next(1));
    assert_eq!(c.send(&phone(), &text("x")).await.unwrap_err(), GatewayError::Undeliverable { code: Some(131_026) });
    sim.script_failure(Failure::Unauthorized, Trigger::Next(1));
    assert_eq!(c.send(&phone(), &text("x")).await.unwrap_err(), GatewayError::ChannelFailure { code: Some(401) });
    assert_eq!(sim.requests_to("/messages").len(), 3, "permanent errors are not retried");
    assert!(sim.accepted_messages().is_empty());
}

#[tokio::test]
async fn endpoint_rate_limit_and_pair_rate_limit_are_retried() {
    let sim = sim_without_statuses().await;
    sim.script_failure(Failure::EndpointRateLimit, Trigger::Next(1));
    sim.script_failure(Failure::PairRateLimited, Trigger::Next(1));
    let mut config = client_config(&sim);
    config.pair_spacing.min_interval = Duration::from_millis(100);
    Dialog360Client::new(config).unwrap().send(&phone(), &text("x")).await.unwrap();
    assert_eq!(sim.requests_to("/messages").len(), 3);
    assert_eq!(sim.accepted_messages().len(), 1);
}

#[tokio::test]
async fn a_hanging_send_is_outcome_unknown() {
    let sim = sim_without_statuses().await;
    sim.script_failure(Failure::Hang, Trigger::Next(1));
    let mut config = client_config(&sim);
    config.request_timeout = Duration::from_millis(200);
    let error = Dialog360Client::new(config).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::OutcomeUnknown);
    assert_eq!(sim.requests_to("/messages").len(), 1);
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_fine() {
    let sim = sim_without_statuses().await;
    sim.script_failure(Failure::Slow(Duration::from_millis(100)), Trigger::Next(1));
    client(&sim).send(&phone(), &text("x")).await.unwrap();
    assert_eq!(sim.requests_to("/messages").len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_outcome_unknown_for_sends_and_retried_for_reads() {
    let sim = sim_without_statuses().await;
    let c = client(&sim);
    sim.script_failure(Failure::DropConnection, Trigger::Next(1));
    assert_eq!(c.send(&phone(), &text("x")).await.unwrap_err(), GatewayError::OutcomeUnknown);
    assert!(sim.accepted_messages().is_empty());
    sim.script_failure(Failure::DropConnection, Trigger::Next(1));
    c.mark_read(&Wamid::parse("wamid.IN1").unwrap()).await.unwrap();
    assert_eq!(sim.read_marks(), vec!["wamid.IN1".to_owned()]);
}

#[tokio::test]
async fn a_wrong_key_is_a_channel_failure() {
    let sim = sim_without_statuses().await;
    let mut config = client_config(&sim);
    config.api_key = SecretString::from("wrong-key");
    let error = Dialog360Client::new(config).unwrap().send(&phone(), &text("x")).await.unwrap_err();
    assert_eq!(error, GatewayError::ChannelFailure { code: Some(401) });
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].authorized);
    assert_eq!(requests[0].header("d360-api-key"), Some("<redacted>"));
}

#[tokio::test]
async fn invalid_bodies_are_refused_like_the_cloud_api() {
    let sim = sim_without_statuses().await;
    let four = OutboundContent::Interactive {
        body: "Wählen Sie".into(),
        buttons: (0..4).map(|i| ReplyButton { id: format!("b{i}"), title: format!("B{i}") }).collect(),
    };
    let error = client(&sim).send(&phone(), &four).await.unwrap_err();
    assert_eq!(error, GatewayError::Rejected { code: Some(131_009) });
    let empty = text("");
    assert_eq!(client(&sim).send(&phone(), &empty).await.unwrap_err(), GatewayError::Rejected { code: Some(131_009) });
}

#[tokio::test]
async fn the_window_is_enforced_when_configured() {
    let config = SimulatorConfig {
        enforce_window: true,
        status_webhooks: StatusWebhooks { enabled: false, ..StatusWebhooks::default() },
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let c = client(&sim);
    assert_eq!(c.send(&phone(), &text("x")).await.unwrap_err(), GatewayError::WindowClosed { code: Some(131_047) });
    // templates are allowed outside the window
    let template = OutboundContent::Template {
        name: TemplateName::parse("hello").unwrap(),
        language: LanguageCode::german(),
        body_parameters: vec![],
        button_payloads: vec![],
    };
    c.send(&phone(), &template).await.unwrap();
    // an inbound message opens the window
    sim.inject_inbound_text(CANDIDATE, "Hallo");
    c.send(&phone(), &text("x")).await.unwrap();
}

#[tokio::test]
async fn probabilistic_failures_repeat_with_the_seed() {
    async fn run() -> Vec<bool> {
        let sim = sim_without_statuses().await;
        sim.script(FailureRule {
            failure: Failure::ServerError(503),
            trigger: Trigger::Probability(0.5),
            scope: FailureScope::Messages,
        });
        let mut config = client_config(&sim);
        config.retry = RetryPolicy::none();
        let c = Dialog360Client::new(config).unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..16 {
            outcomes.push(c.send(&phone(), &text("x")).await.is_ok());
        }
        outcomes
    }
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

#[tokio::test]
async fn injected_candidate_messages_and_button_replies_arrive_as_webhooks() {
    let sim = sim().await;
    let hook = receiver().await;
    sim.set_webhook(WebhookTarget::new(hook.uri()).with_hmac(HMAC_KEY));
    let c = client(&sim);
    let inbound = sim.inject_inbound_text(CANDIDATE, "Ich habe Interesse");
    let template = OutboundContent::Template {
        name: TemplateName::parse("consent_request").unwrap(),
        language: LanguageCode::german(),
        body_parameters: vec!["Anna".into()],
        button_payloads: vec!["consent:yes:r1".into(), "consent:no:r1".into()],
    };
    let request = c.send(&phone(), &template).await.unwrap();
    let reply = sim.inject_button_reply(CANDIDATE, "consent:yes:r1", "Ja");
    // 1 inbound + 3 statuses + 1 reply
    assert!(sim.wait_for_deliveries(5, Duration::from_secs(5)).await);
    let events = received_events(&hook, &hmac_verifier()).await;
    let messages: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::Message(m) => Some(m),
            InboundEvent::Status(_) | InboundEvent::Error(_) => None,
        })
        .collect();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].provider_id, inbound);
    assert_eq!(messages[0].content, InboundContent::Text { body: "Ich habe Interesse".into() });
    assert_eq!(messages[0].from.wa_id.as_ref().map(|w| w.as_str()), Some(CANDIDATE));
    assert_eq!(messages[1].provider_id, reply);
    assert_eq!(
        messages[1].content,
        InboundContent::Button { payload: Some("consent:yes:r1".into()), text: "Ja".into() }
    );
    assert_eq!(messages[1].context.as_ref(), Some(&request.provider_id), "the reply answers the consent request");
}

#[tokio::test]
async fn interactive_replies_and_business_scoped_users() {
    let sim = sim_without_statuses().await;
    let hook = receiver().await;
    sim.set_webhook(WebhookTarget::new(hook.uri()));
    let user = "BR.1502576394655843";
    let receipt = client(&sim).send(&Recipient::User(WaUserId::parse(user).unwrap()), &text("Hi")).await.unwrap();
    assert_eq!(sim.accepted_messages()[0].to, user);
    sim.inject_interactive_reply(user, "slot_yes", "Ja");
    assert!(sim.wait_for_deliveries(1, Duration::from_secs(5)).await);
    let events = received_events(&hook, &WebhookVerifier::new().allow_unverified(true)).await;
    match &events[..] {
        [InboundEvent::Message(m)] => {
            assert_eq!(m.from.wa_id, None);
            assert_eq!(m.from.user_id.as_ref().map(|u| u.as_str()), Some(user));
            assert_eq!(m.content, InboundContent::InteractiveReply { id: "slot_yes".into(), title: "Ja".into() });
            assert_eq!(m.context.as_ref(), Some(&receipt.provider_id));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn out_of_order_and_duplicated_statuses() {
    let config = SimulatorConfig {
        status_webhooks: StatusWebhooks {
            out_of_order: true,
            duplicate: true,
            delay: Duration::ZERO,
            ..StatusWebhooks::default()
        },
        seed: 7,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let hook = receiver().await;
    sim.set_webhook(WebhookTarget::new(hook.uri()));
    let receipt = client(&sim).send(&phone(), &text("x")).await.unwrap();
    assert!(sim.wait_for_deliveries(4, Duration::from_secs(5)).await);
    let events = received_events(&hook, &WebhookVerifier::new().allow_unverified(true)).await;
    let mut statuses = statuses_of(&events, &receipt.provider_id);
    assert_eq!(statuses.len(), 4);
    // whatever the order, the highest status wins
    assert_eq!(statuses.iter().max(), Some(&DeliveryStatus::Read));
    statuses.sort();
    statuses.dedup();
    assert_eq!(statuses, vec![DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read]);
}

#[tokio::test]
async fn failed_status_and_webhook_retries() {
    let sim = sim_without_statuses().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&hook)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).with_priority(2).mount(&hook).await;
    sim.set_webhook(WebhookTarget::new(hook.uri()));
    let id = Wamid::parse("wamid.OUT9").unwrap();
    sim.inject_status(&id, SimStatus::Failed { code: 131_026 }, CANDIDATE);
    assert!(sim.wait_for_deliveries(1, Duration::from_secs(5)).await);
    let attempts: Vec<(u32, Option<u16>)> = sim.deliveries().iter().map(|d| (d.attempt, d.http_status)).collect();
    assert_eq!(attempts, vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]);
    let last = hook.received_requests().await.unwrap().pop().unwrap();
    let parsed = parse_webhook(&last.body).unwrap();
    match &parsed.events[0].event {
        InboundEvent::Status(s) => {
            assert_eq!(s.status, DeliveryStatus::Failed);
            assert_eq!(s.errors[0].code, 131_026);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn webhooks_wait_for_a_target_and_the_api_sets_it() {
    let sim = sim_without_statuses().await;
    sim.inject_inbound_text(CANDIDATE, "früh");
    let hook = receiver().await;
    let c = client(&sim);
    c.set_webhook(&WebhookSettings {
        url: hook.uri(),
        headers: vec![("X-Hoheit-Secret".into(), SecretString::from("s3cr3t"))],
    })
    .await
    .unwrap();
    assert_eq!(c.webhook().await.unwrap().url, hook.uri());
    assert!(sim.wait_for_deliveries(1, Duration::from_secs(5)).await);
    let verifier = WebhookVerifier::new().with_secret_header("x-hoheit-secret", SecretString::from("s3cr3t"));
    let events = received_events(&hook, &verifier).await;
    assert!(matches!(&events[..], [InboundEvent::Message(_)]));
}

#[tokio::test]
async fn templates_are_listed_with_paging_and_checked_on_send() {
    let sim = sim_without_statuses().await;
    let mut templates: Vec<_> = (0..7)
        .map(|i| template_json(&format!("tpl_{i}"), "de", "UTILITY", "APPROVED", "Hallo {{1}}", &["Ja", "Nein"]))
        .collect();
    templates.push(template_json("paused_one", "de", "MARKETING", "PAUSED", "Hi", &[]));
    sim.set_templates(templates);
    let mut config = client_config(&sim);
    config.template_page_size = 3;
    let c = Dialog360Client::new(config).unwrap();
    let listed = c.list_templates().await.unwrap();
    assert_eq!(listed.len(), 8);
    assert_eq!(listed[0].quick_replies, 2);
    assert_eq!(sim.requests_to("/v1/configs/templates").len(), 3);
    let send = |name: &str| OutboundContent::Template {
        name: TemplateName::parse(name).unwrap(),
        language: LanguageCode::german(),
        body_parameters: vec!["A".into()],
        button_payloads: vec![],
    };
    c.send(&phone(), &send("tpl_3")).await.unwrap();
    assert_eq!(
        c.send(&phone(), &send("missing")).await.unwrap_err(),
        GatewayError::TemplateRejected { code: Some(132_001) }
    );
    assert_eq!(
        c.send(&phone(), &send("paused_one")).await.unwrap_err(),
        GatewayError::TemplateRejected { code: Some(132_015) }
    );
}

#[tokio::test]
async fn media_upload_and_download_through_the_lookaside_rewrite() {
    let sim = sim_without_statuses().await;
    let c = client(&sim);
    let id = c.upload_media(Bytes::from_static(b"%PDF-1.7 Lebenslauf"), "application/pdf", "cv.pdf").await.unwrap();
    let (info, content) = c.fetch_media(&id).await.unwrap();
    assert!(info.url.starts_with("https://lookaside.fbsbx.com/"));
    assert_eq!(content.bytes, Bytes::from_static(b"%PDF-1.7 Lebenslauf"));
    assert_eq!(content.mime_type.as_deref(), Some("application/pdf"));
    let stored = sim.add_media(b"GIF89a".to_vec(), "image/gif");
    assert_eq!(c.fetch_media(&stored).await.unwrap().1.bytes, Bytes::from_static(b"GIF89a"));
    assert!(c.fetch_media("404404").await.is_err());
}
