//! One fixture per documented webhook shape (tests/fixtures), parsed into the exact domain events.
// Test helpers may unwrap; a catch-all arm here panics, so a new domain variant fails loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::wildcard_enum_match_arm
)]

use hoheit_dialog360::webhook::{ParsedWebhook, RoutedEvent, parse_webhook};
use hoheit_domain::conversation::DeliveryStatus;
use hoheit_domain::inbound::{
    InboundContent, InboundEvent, InboundMessage, MediaKind, Pricing, ProviderError, StatusUpdate,
};
use hoheit_domain::values::{WaId, WaUserId, Wamid};
use serde_json::Value;
use time::OffsetDateTime;

const PHONE_NUMBER_ID: &str = "106540352242922";
const WABA_ID: &str = "102290129340398";
const FROM: &str = "4917612345678";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> ParsedWebhook {
    parse_webhook(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap()
}

fn wamid(id: &str) -> Wamid {
    Wamid::parse(id).unwrap()
}

/// The single message of a fixture, checked for routing and the default sender.
fn single_message(name: &str) -> InboundMessage {
    let parsed = parse(name);
    assert_eq!(parsed.skipped, 0, "{name}");
    assert_eq!(parsed.events.len(), 1, "{name}");
    let RoutedEvent { phone_number_id, waba_id, event } = parsed.events.into_iter().next().unwrap();
    assert_eq!(phone_number_id.as_deref(), Some(PHONE_NUMBER_ID), "{name}");
    assert_eq!(waba_id.as_deref(), Some(WABA_ID), "{name}");
    match event {
        InboundEvent::Message(m) => m,
        other => panic!("{name}: expected a message, got {other:?}"),
    }
}

fn default_sender(message: &InboundMessage) {
    assert_eq!(message.from.wa_id, Some(WaId::parse(FROM).unwrap()));
    assert_eq!(message.from.user_id, None);
    assert_eq!(message.from.profile_name.as_ref().map(|n| n.expose().as_str()), Some("Anna Beispiel"));
    assert_eq!(message.timestamp, at(1_749_416_383));
}

fn structured(name: &str, type_name: &str) -> Value {
    let m = single_message(name);
    default_sender(&m);
    match m.content {
        InboundContent::Structured { type_name: t, json } => {
            assert_eq!(t, type_name);
            serde_json::from_str(json.expose()).unwrap()
        }
        other => panic!("{name}: {other:?}"),
    }
}

fn media(name: &str) -> InboundContent {
    let m = single_message(name);
    default_sender(&m);
    m.content
}

fn single_status(name: &str) -> StatusUpdate {
    let parsed = parse(name);
    assert_eq!(parsed.events.len(), 1, "{name}");
    match parsed.events.into_iter().next().map(|e| e.event) {
        Some(InboundEvent::Status(s)) => s,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn text() {
    let m = single_message("message_text.json");
    default_sender(&m);
    assert_eq!(m.provider_id, wamid("wamid.HBgNNDkxNzYxMjM0NTY3OBUCABIYFjNFQjBDNkQ0RkE1RjFDMkE0RTdFAA=="));
    assert_eq!(m.context, None);
    assert_eq!(m.content, InboundContent::Text { body: "Hallo, ich interessiere mich für die Stelle.".into() });
}

#[test]
fn template_quick_reply_button_keeps_payload_and_context() {
    let m = single_message("message_button.json");
    default_sender(&m);
    assert_eq!(
        m.content,
        InboundContent::Button {
            payload: Some("consent:yes:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()),
            text: "Ja, einverstanden".into()
        }
    );
    assert_eq!(m.context, Some(wamid("wamid.CONSENTREQUEST01")));
}

#[test]
fn interactive_button_reply() {
    let m = single_message("message_interactive_button_reply.json");
    assert_eq!(m.content, InboundContent::InteractiveReply { id: "consent_yes".into(), title: "Ja".into() });
    assert_eq!(m.context, Some(wamid("wamid.OURQUESTION01")));
}

#[test]
fn interactive_list_reply() {
    let m = single_message("message_interactive_list_reply.json");
    assert_eq!(m.content, InboundContent::InteractiveReply { id: "slot_2".into(), title: "Dienstag 10 Uhr".into() });
}

#[test]
fn interactive_nfm_reply_is_structured() {
    let json = structured("message_interactive_nfm_reply.json", "interactive");
    assert_eq!(json["type"], "nfm_reply");
    assert_eq!(json["nfm_reply"]["name"], "flow");
}

#[test]
fn image() {
    assert_eq!(
        media("message_image.json"),
        InboundContent::Media {
            kind: MediaKind::Image,
            media_id: "1037543291543636".into(),
            mime_type: Some("image/jpeg".into()),
            sha256: Some("ubsz6d/Fsu6TmQ6YHiKnI3fr5+8pFJhVzbFCCxC7qlA=".into()),
            caption: Some("Mein Zeugnis".into()),
            filename: None,
        }
    );
}

#[test]
fn document() {
    assert_eq!(
        media("message_document.json"),
        InboundContent::Media {
            kind: MediaKind::Document,
            media_id: "1122334455667788".into(),
            mime_type: Some("application/pdf".into()),
            sha256: Some("AbCdEf0123456789".into()),
            caption: Some("Lebenslauf".into()),
            filename: Some("Lebenslauf_Anna_Beispiel.pdf".into()),
        }
    );
}

#[test]
fn audio_video_sticker() {
    for (name, kind, id, mime) in [
        ("message_audio.json", MediaKind::Audio, "2233445566778899", "audio/ogg; codecs=opus"),
        ("message_video.json", MediaKind::Video, "3344556677889900", "video/mp4"),
        ("message_sticker.json", MediaKind::Sticker, "4455667788990011", "image/webp"),
    ] {
        match media(name) {
            InboundContent::Media { kind: k, media_id, mime_type, sha256, .. } => {
                assert_eq!(k, kind, "{name}");
                assert_eq!(media_id, id, "{name}");
                assert_eq!(mime_type.as_deref(), Some(mime), "{name}");
                assert!(sha256.is_some(), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn location() {
    let json = structured("message_location.json", "location");
    assert_eq!(json["name"], "Alexanderplatz");
    assert_eq!(json["latitude"], 52.520008);
}

#[test]
fn contacts() {
    let json = structured("message_contacts.json", "contacts");
    assert_eq!(json[0]["name"]["formatted_name"], "Max Muster");
}

#[test]
fn reaction() {
    let json = structured("message_reaction.json", "reaction");
    assert_eq!(json["message_id"], "wamid.OURMESSAGE01");
}

#[test]
fn order() {
    let json = structured("message_order.json", "order");
    assert_eq!(json["product_items"][0]["product_retailer_id"], "sku1");
}

#[test]
fn system() {
    let json = structured("message_system.json", "system");
    assert_eq!(json["type"], "user_changed_number");
}

#[test]
fn unsupported_keeps_the_error_code() {
    let m = single_message("message_unsupported.json");
    default_sender(&m);
    assert_eq!(m.content, InboundContent::Unsupported { type_name: "unsupported".into(), error_code: Some(131_051) });
}

#[test]
fn unknown_future_type_is_unsupported_not_an_error() {
    let m = single_message("message_unknown_future_type.json");
    assert_eq!(m.content, InboundContent::Unsupported { type_name: "hologram".into(), error_code: None });
}

#[test]
fn context_reply() {
    let m = single_message("message_context_reply.json");
    assert_eq!(m.content, InboundContent::Text { body: "Gerne, Dienstag passt.".into() });
    assert_eq!(m.context, Some(wamid("wamid.OURINVITE01")));
}

#[test]
fn username_user_without_phone_number() {
    let m = single_message("message_username_user_id_only.json");
    assert_eq!(m.from.wa_id, None);
    assert_eq!(m.from.user_id, Some(WaUserId::parse("BR.1502576394655843").unwrap()));
    assert_eq!(m.from.profile_name.as_ref().map(|n| n.expose().as_str()), Some("anna.b"));
    // numeric timestamps are tolerated
    assert_eq!(m.timestamp, at(1_749_416_390));
    assert!(m.from.key().is_some(), "the candidate can still be found by the user id");
}

#[test]
fn status_to_a_business_scoped_user_id() {
    let s = single_status("status_user_id.json");
    assert_eq!(s.provider_id, wamid("wamid.OUT02"));
    assert_eq!(s.recipient, None);
    assert_eq!(s.recipient_user_id, Some(WaUserId::parse("DE.13491208655302741918").unwrap()));
}

#[test]
fn status_sent_with_pricing() {
    let s = single_status("status_sent.json");
    assert_eq!(
        s,
        StatusUpdate {
            provider_id: wamid("wamid.OUT01"),
            status: DeliveryStatus::Sent,
            timestamp: at(1_749_416_400),
            recipient: Some(WaId::parse(FROM).unwrap()),
            recipient_user_id: None,
            errors: vec![],
            pricing: Some(Pricing {
                billable: Some(true),
                model: Some("PMP".into()),
                category: Some("utility".into())
            }),
            callback_data: None,
        }
    );
}

#[test]
fn status_echoing_our_biz_opaque_callback_data() {
    let s = single_status("status_callback_data.json");
    assert_eq!(s.provider_id, wamid("wamid.OUT03"));
    assert_eq!(s.callback_data.as_deref(), Some("hoheit.outbox.01938a2e-7c1f-7b2a-9d3e-5f6a7b8c9d0e"));
    let outbox = s.callback_data.as_deref().and_then(hoheit_domain::attempt::parse_callback_tag);
    assert_eq!(outbox.map(|id| id.to_string()).as_deref(), Some("01938a2e-7c1f-7b2a-9d3e-5f6a7b8c9d0e"));
}

#[test]
fn status_delivered() {
    let s = single_status("status_delivered.json");
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(s.timestamp, at(1_749_416_401));
    assert!(s.pricing.is_some());
}

#[test]
fn status_read() {
    let s = single_status("status_read.json");
    assert_eq!(s.status, DeliveryStatus::Read);
    assert_eq!(s.pricing, None);
}

#[test]
fn status_failed_with_errors() {
    let s = single_status("status_failed.json");
    assert_eq!(s.status, DeliveryStatus::Failed);
    assert_eq!(s.provider_id, wamid("wamid.OUT02"));
    assert_eq!(s.errors, vec![ProviderError { code: 131_047, title: Some("Re-engagement message".into()) }]);
}

#[test]
fn unknown_status_strings_are_skipped_and_counted() {
    let parsed = parse("status_unknown_string.json");
    assert_eq!(parsed.skipped, 2);
    assert_eq!(parsed.events.len(), 1);
    assert!(matches!(&parsed.events[0].event, InboundEvent::Status(s) if s.status == DeliveryStatus::Delivered));
}

#[test]
fn top_level_errors() {
    let parsed = parse("errors_top_level.json");
    assert_eq!(parsed.skipped, 1, "the error without a code");
    assert_eq!(
        parsed.events,
        vec![RoutedEvent {
            phone_number_id: Some(PHONE_NUMBER_ID.into()),
            waba_id: Some(WABA_ID.into()),
            event: InboundEvent::Error(ProviderError { code: 131_000, title: Some("Something went wrong".into()) }),
        }]
    );
}

#[test]
fn multi_entry_batch_keeps_order_and_routing() {
    let parsed = parse("batch_multi_entry.json");
    assert_eq!(parsed.skipped, 0);
    let summary: Vec<(Option<&str>, String)> = parsed
        .events
        .iter()
        .map(|e| {
            let what = match &e.event {
                InboundEvent::Message(m) => format!("message {}", m.provider_id.as_str()),
                InboundEvent::Status(s) => format!("status {}", s.provider_id.as_str()),
                InboundEvent::Error(err) => format!("error {}", err.code),
            };
            (e.phone_number_id.as_deref(), what)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some(PHONE_NUMBER_ID), "message wamid.B1".to_owned()),
            (Some(PHONE_NUMBER_ID), "message wamid.B2".to_owned()),
            (Some(PHONE_NUMBER_ID), "status wamid.OUT10".to_owned()),
            (Some(PHONE_NUMBER_ID), "status wamid.OUT11".to_owned()),
            (Some("208765432109876"), "message wamid.B3".to_owned()),
        ]
    );
    // each message gets its own sender from contacts[]
    let names: Vec<Option<String>> = parsed
        .events
        .iter()
        .filter_map(|e| match &e.event {
            InboundEvent::Message(m) => Some(m.from.profile_name.as_ref().map(|n| n.expose().clone())),
            InboundEvent::Status(_) | InboundEvent::Error(_) => None,
        })
        .collect();
    assert_eq!(names, vec![Some("Anna Beispiel".into()), Some("Ben Zwei".into()), Some("Cem Drei".into())]);
    assert_eq!(parsed.events[4].waba_id.as_deref(), Some("999888777666555"));
}

#[test]
fn malformed_items_do_not_fail_the_batch() {
    let parsed = parse("batch_with_malformed_items.json");
    let contents: Vec<(String, InboundContent)> = parsed
        .events
        .iter()
        .map(|e| match &e.event {
            InboundEvent::Message(m) => (m.provider_id.as_str().to_owned(), m.content.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        contents,
        vec![
            ("wamid.GOOD01".into(), InboundContent::Text { body: "gut".into() }),
            ("wamid.BAD01".into(), InboundContent::Unsupported { type_name: "text".into(), error_code: None }),
            ("wamid.BAD03".into(), InboundContent::Unsupported { type_name: "image".into(), error_code: None }),
            ("wamid.GOOD02".into(), InboundContent::Text { body: "auch gut".into() }),
        ]
    );
    // no id, unreadable timestamp, not an object
    assert_eq!(parsed.skipped, 3);
}

#[test]
fn other_webhook_fields_are_ignored() {
    let parsed = parse("template_status_update.json");
    assert!(parsed.events.is_empty());
    assert_eq!(parsed.ignored_changes, 1);
    assert_eq!(parsed.skipped, 0);
}

#[test]
fn every_fixture_parses_and_debug_output_hides_personal_data() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let parsed = parse(&name);
        let printed = format!("{parsed:?}");
        for personal in ["4917612345678", "Anna Beispiel", "Hallo", "Lebenslauf", "BR.1502576394655843"] {
            assert!(!printed.contains(personal), "{name} prints {personal}: {printed}");
        }
        count += 1;
    }
    assert!(count >= 27, "fixtures found: {count}");
}
