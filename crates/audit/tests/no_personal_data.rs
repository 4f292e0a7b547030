//! R34: an audit entry holds no content, numbers or tokens.
//!
//! The main proof is in the types (see `hoheit_audit::detail`: its `compile_fail` doctests show
//! that runtime strings, phone numbers and raw UUIDs do not convert into detail values). These
//! tests add the run-time view: the entry of every domain event variant, as bytes and as the JSON
//! a DPO sees, contains nothing but ids, codes, small numbers and times.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use hoheit_audit::{AuditDraft, ChainHead, DecodedValue, DetailKey, append, decode};
use hoheit_domain::events::DomainEvent;

#[test]
fn fixtures_cover_every_event_variant() {
    let indices: BTreeSet<usize> = all_events().iter().map(variant_index).collect();
    assert_eq!(indices, (0..VARIANTS).collect());
}

#[test]
fn unaudited_events_make_no_entry_and_audited_ones_keep_their_action() {
    for event in all_events() {
        let draft = AuditDraft::from_event(&envelope(event.clone()));
        assert_eq!(draft.is_some(), event.audited(), "{event:?}");
        if let Some(draft) = draft {
            assert_eq!(draft.action(), event.action());
            assert_eq!(draft.subject(), Some(candidate()));
            assert_eq!(draft.rule().map(|r| r.as_str()), Some("R12"));
        }
    }
    assert!(
        AuditDraft::from_event(&envelope(DomainEvent::InboundReceived {
            message: hoheit_domain::ids::MessageId::from_uuid(uuid(1)),
            kind: hoheit_domain::conversation::MessageKind::Text,
        }))
        .is_none()
    );
}

/// The longest run of ASCII digits in `bytes`.
fn longest_digit_run(bytes: &[u8]) -> usize {
    bytes.split(|b| !b.is_ascii_digit()).map(<[u8]>::len).max().unwrap_or(0)
}

#[test]
fn entries_of_every_variant_hold_no_phone_number_or_free_text() {
    for event in all_events().into_iter().filter(DomainEvent::audited) {
        let draft = AuditDraft::from_event(&envelope(event.clone())).unwrap();
        let (entry, _) = append(&ChainHead::genesis(tenant()), draft, now()).unwrap();
        let bytes = entry.canonical_bytes();
        // E.164 numbers have at least 8 digits; nothing in an entry comes close.
        assert!(longest_digit_run(bytes) < 7, "{event:?}: digit run in {bytes:02x?}");
        let decoded = decode(bytes).unwrap();
        let json = serde_json::to_string(&decoded).unwrap();
        assert!(!json.contains('+'), "{json}");
        // Every text field is a code: lowercase ASCII, digits, `_`, `.`, or a rule id.
        let mut texts = vec![decoded.action.clone()];
        texts.extend(decoded.rule.clone());
        for value in decoded.details.values() {
            match value {
                DecodedValue::Code(code) => texts.push(code.clone()),
                DecodedValue::Int(n) => assert!(n.unsigned_abs() < 10_000_000, "{event:?}"),
                DecodedValue::Count(n) => assert!(*n < 10_000_000, "{event:?}"),
                DecodedValue::Id(_) | DecodedValue::Bool(_) | DecodedValue::Time(_) => {}
            }
        }
        for text in texts {
            assert!(
                !text.is_empty()
                    && text.len() <= 64
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'),
                "{event:?}: {text:?} is not a code"
            );
        }
        // Only allow-listed keys.
        for key in decoded.details.keys() {
            assert!(DetailKey::parse(key).is_some(), "{key}");
        }
    }
}

#[test]
fn each_detail_key_always_carries_the_same_kind_of_value() {
    let mut kinds: BTreeMap<DetailKey, &'static str> = BTreeMap::new();
    for event in all_events() {
        let Some(draft) = AuditDraft::from_event(&envelope(event.clone())) else { continue };
        for (key, value) in draft.details() {
            let kind = match value.to_decoded() {
                DecodedValue::Id(_) => "id",
                DecodedValue::Code(_) => "code",
                DecodedValue::Int(_) => "int",
                DecodedValue::Count(_) => "count",
                DecodedValue::Bool(_) => "bool",
                DecodedValue::Time(_) => "time",
            };
            let previous = *kinds.entry(*key).or_insert(kind);
            assert_eq!(previous, kind, "{key} used as {previous} and {kind}");
        }
    }
}

#[test]
fn the_phone_number_type_exists_but_cannot_reach_an_entry() {
    // Counterpart of the `compile_fail` doctests: the domain parses numbers fine, but the only
    // ways into a draft are `&'static str`, domain ids, integers, booleans and times.
    let phone = hoheit_domain::values::PhoneNumber::parse("+4915112345678");
    assert!(phone.is_ok());
}
