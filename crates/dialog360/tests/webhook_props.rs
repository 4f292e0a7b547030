//! Properties: the parser and the verifier never panic, whatever arrives, and a batch never
//! loses or invents messages.
// Test helpers may unwrap; a catch-all arm here panics, so a new domain variant fails loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::wildcard_enum_match_arm
)]

use hoheit_dialog360::SecretSlice;
use hoheit_dialog360::webhook::{SIGNATURE_HEADER, WebhookVerifier, parse_webhook, sign};
use hoheit_domain::inbound::InboundEvent;
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("text"),
            Just("image"),
            Just("interactive"),
            Just("button"),
            Just("id"),
            Just("timestamp"),
            Just("1749416383"),
            Just("wamid.X"),
            Just("sent"),
            Just("failed"),
            Just("button_reply"),
            Just("4917612345678"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        let keys = prop_oneof![
            "[a-z_]{1,10}",
            Just("id".to_owned()),
            Just("type".to_owned()),
            Just("from".to_owned()),
            Just("timestamp".to_owned()),
            Just("text".to_owned()),
            Just("body".to_owned()),
            Just("status".to_owned()),
            Just("errors".to_owned()),
            Just("code".to_owned()),
            Just("context".to_owned()),
            Just("interactive".to_owned()),
            Just("button_reply".to_owned()),
            Just("contacts".to_owned()),
            Just("wa_id".to_owned()),
            Just("user_id".to_owned()),
            Just("pricing".to_owned()),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn webhook_with(value: Value) -> Value {
    json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":value}]}]})
}

fn fixtures() -> Vec<Value> {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut all: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .map(|p| (p.display().to_string(), serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().map(|(_, v)| v).collect()
}

/// Replaces the `pick`-th node (pre-order) of `value` by `replacement`.
fn replace_node(value: &mut Value, pick: &mut usize, replacement: &Value) -> bool {
    if *pick == 0 {
        *value = replacement.clone();
        return true;
    }
    *pick -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| replace_node(v, pick, replacement)),
        Value::Object(map) => map.values_mut().any(|v| replace_node(v, pick, replacement)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_webhook(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let _ = parse_webhook(value.to_string().as_bytes());
        let _ = parse_webhook(webhook_with(value.clone()).to_string().as_bytes());
        let _ = parse_webhook(json!({"entry": [value]}).to_string().as_bytes());
    }

    #[test]
    fn every_message_becomes_an_event_or_a_skip(messages in prop::collection::vec(arb_json(), 0..8)) {
        let count = messages.len();
        let body = webhook_with(json!({"metadata":{"phone_number_id":"1"},"messages": messages}));
        let parsed = parse_webhook(body.to_string().as_bytes()).unwrap();
        let events = parsed.events.iter().filter(|e| matches!(e.event, InboundEvent::Message(_))).count();
        prop_assert_eq!(events + parsed.skipped as usize, count);
    }

    #[test]
    fn mutated_fixtures_never_panic(which in any::<prop::sample::Index>(), pick in 0usize..200, replacement in arb_json()) {
        let all = fixtures();
        let mut fixture = which.get(&all).clone();
        let mut pick = pick;
        replace_node(&mut fixture, &mut pick, &replacement);
        let _ = parse_webhook(fixture.to_string().as_bytes());
    }

    #[test]
    fn verifier_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..512),
        secret in prop::collection::vec(any::<u8>(), 0..64),
        header in "[ -~]{0,80}",
    ) {
        let verifier = WebhookVerifier::new()
            .with_secret_header("x-secret", hoheit_dialog360::SecretString::from("expected"))
            .with_hmac(SecretSlice::from(secret));
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&header) {
            headers.insert("x-secret", value.clone());
            headers.insert(SIGNATURE_HEADER, value);
        }
        let _ = verifier.verify(&headers, &body);
    }

    #[test]
    fn signatures_verify_only_the_signed_body(
        body in prop::collection::vec(any::<u8>(), 0..512),
        other in prop::collection::vec(any::<u8>(), 0..512),
        key in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let verifier = WebhookVerifier::new().with_hmac(SecretSlice::from(key.clone()));
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&sign(&key, &body)).unwrap());
        prop_assert!(verifier.verify(&headers, &body).is_ok());
        prop_assert_eq!(verifier.verify(&headers, &other).is_ok(), other == body);
    }
}

#[test]
fn replace_node_helper_works() {
    let mut v = json!({"a":[1,2]});
    let mut pick = 2;
    assert!(replace_node(&mut v, &mut pick, &json!("x")));
    assert_eq!(v, json!({"a":["x",2]}));
    let _unused: Map<String, Value> = Map::new();
}
