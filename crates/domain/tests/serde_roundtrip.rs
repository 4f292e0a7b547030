//! The aggregates round-trip through JSON unchanged: the storage adapters persist them as JSON
//! (sealed), so a lossy or ambiguous encoding would corrupt data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoheit_domain::consent::Purpose;
use hoheit_domain::conversation::{DeliveryStatus, MessageBody, OutboundContent, StatusObservation, StatusTimeline};
use hoheit_domain::inbound::{InboundContent, MediaKind};
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::{LanguageCode, Pii, TemplateName};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Duration;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(&back, value);
}

#[test]
fn aggregates_round_trip() {
    let w = World::new();
    let mut c = w.engaged_candidate();
    w.grant(&mut c, Purpose::TalentPool);
    round_trip(&c);
    round_trip(&c.erased(w.now, hoheit_domain::candidate::ErasureReason::RetentionExpired));
    round_trip(&w.config.tenant);
    round_trip(&w.config.channels);
    round_trip(&w.config.legal_texts);
    round_trip(&w.config.templates);
}

#[test]
fn every_message_body_round_trips() {
    let bodies = vec![
        MessageBody::Outbound(OutboundContent::Text { body: Pii::new("Hallo".into()) }),
        MessageBody::Outbound(OutboundContent::Template {
            name: TemplateName::parse("interview_invite").unwrap(),
            language: LanguageCode::german(),
            body_parameters: vec![Pii::new("Montag".into())],
            button_payloads: vec!["p".into()],
        }),
        MessageBody::Outbound(OutboundContent::Interactive {
            body: Pii::new("Passt es?".into()),
            buttons: vec![hoheit_domain::conversation::ReplyButton { id: "yes".into(), title: "Ja".into() }],
        }),
        MessageBody::Inbound(InboundContent::Text { body: Pii::new("Hallo".into()) }),
        MessageBody::Inbound(InboundContent::Button { payload: Some("x".into()), text: Pii::new("Zustimmen".into()) }),
        MessageBody::Inbound(InboundContent::InteractiveReply { id: "a".into(), title: Pii::new("A".into()) }),
        MessageBody::Inbound(InboundContent::Media {
            kind: MediaKind::Document,
            media_id: "m1".into(),
            mime_type: Some("application/pdf".into()),
            sha256: Some(Pii::new("abc".into())),
            caption: Some(Pii::new("Lebenslauf".into())),
            filename: Some(Pii::new("cv.pdf".into())),
        }),
        MessageBody::Inbound(InboundContent::Structured { type_name: "location".into(), json: Pii::new("{}".into()) }),
        MessageBody::Inbound(InboundContent::Unsupported { type_name: "order".into(), error_code: Some(131_051) }),
    ];
    for body in &bodies {
        round_trip(body);
    }
    let w = World::new();
    let mut timeline = StatusTimeline::starting(DeliveryStatus::Queued, w.now);
    timeline.observe(StatusObservation {
        status: DeliveryStatus::Failed,
        at: w.now + Duration::seconds(1),
        error_code: Some(131_026),
    });
    round_trip(&timeline);
}
