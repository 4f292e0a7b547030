//! The canonical encoding round-trips, is canonical, and never panics on garbage.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use hoheit_audit::{
    AuditDraft, ChainHead, DecodeError, DecodedActor, DecodedEntry, DecodedValue, DetailKey, append, decode,
};
use hoheit_domain::ids::{CandidateId, StaffId, TenantId};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::{Actor, Role};
use proptest::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

fn time() -> impl Strategy<Value = OffsetDateTime> {
    // Year 1 to 9999, any nanosecond.
    (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_nanosecond(nanos).unwrap())
}

fn uuid_s() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn value() -> impl Strategy<Value = DecodedValue> {
    prop_oneof![
        uuid_s().prop_map(DecodedValue::Id),
        ".{0,20}".prop_map(DecodedValue::Code),
        any::<i64>().prop_map(DecodedValue::Int),
        any::<u64>().prop_map(DecodedValue::Count),
        any::<bool>().prop_map(DecodedValue::Bool),
        time().prop_map(DecodedValue::Time),
    ]
}

fn actor() -> impl Strategy<Value = DecodedActor> {
    prop_oneof![
        Just(DecodedActor::System),
        Just(DecodedActor::Candidate),
        (uuid_s(), "[a-z]{0,12}").prop_map(|(id, role)| DecodedActor::Staff { id: StaffId::from_uuid(id), role }),
    ]
}

fn decoded_entry() -> impl Strategy<Value = DecodedEntry> {
    (
        uuid_s(),
        any::<u64>(),
        time(),
        actor(),
        ".{0,30}",
        proptest::option::of(uuid_s()),
        proptest::option::of("R[0-9]{1,2}"),
        proptest::collection::btree_map(".{1,20}", value(), 0..8),
    )
        .prop_map(|(tenant, seq, at, actor, action, subject, rule, details)| DecodedEntry {
            version: 1,
            tenant: TenantId::from_uuid(tenant),
            seq,
            at,
            actor,
            action,
            subject: subject.map(CandidateId::from_uuid),
            rule,
            details,
        })
}

fn draft_value(key: DetailKey, pick: u8, n: u64, t: OffsetDateTime) -> AuditDraft {
    let draft = AuditDraft::new(tenant(), Actor::System, "x.y");
    match pick % 6 {
        0 => draft.with_detail(key, CandidateId::from_uuid(Uuid::from_u128(u128::from(n)))),
        1 => draft.with_detail(key, "some_code"),
        2 => draft.with_detail(key, n as i64),
        3 => draft.with_detail(key, n),
        4 => draft.with_detail(key, n.is_multiple_of(2)),
        _ => draft.with_detail(key, t),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoded_entries_round_trip(entry in decoded_entry()) {
        let bytes = entry.to_canonical_bytes();
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &entry);
        prop_assert_eq!(decoded.to_canonical_bytes(), bytes);
    }

    #[test]
    fn appended_entries_decode_to_their_fields(
        seq in 0u64..u64::MAX,
        at in time(),
        staff in any::<bool>(),
        rule in proptest::option::of(0usize..36),
        fields in proptest::collection::vec((0usize..DetailKey::ALL.len(), any::<u8>(), any::<u64>(), time()), 0..10),
    ) {
        let actor = if staff { Actor::Staff { id: StaffId::from_uuid(uuid(0xdd)), role: Role::Admin } } else { Actor::Candidate };
        let mut draft = AuditDraft::new(tenant(), actor, "consent.granted").with_subject(candidate());
        if let Some(rule) = rule {
            draft = draft.with_rule(Rule::parse(&format!("R{}", rule + 1)).unwrap());
        }
        for (key, pick, n, t) in fields {
            let key = DetailKey::ALL[key];
            let single = draft_value(key, pick, n, t);
            draft = draft.with_detail(key, *single.details().get(&key).unwrap());
        }
        let hash = hoheit_audit::genesis_hash(tenant());
        let head = ChainHead::new(tenant(), seq, hash).unwrap_or(ChainHead::genesis(tenant()));
        let (entry, next) = append(&head, draft.clone(), at).unwrap();
        prop_assert_eq!(next.seq(), head.seq() + 1);
        let decoded = decode(entry.canonical_bytes()).unwrap();
        prop_assert_eq!(decoded.tenant, tenant());
        prop_assert_eq!(decoded.seq, entry.seq());
        prop_assert_eq!(decoded.at, entry.at());
        prop_assert_eq!(decoded.at.unix_timestamp_nanos(), at.unix_timestamp_nanos());
        prop_assert_eq!(decoded.action.as_str(), entry.action());
        prop_assert_eq!(decoded.subject, entry.subject());
        prop_assert_eq!(decoded.rule.as_deref(), entry.rule().map(Rule::as_str));
        let expected_actor = match actor {
            Actor::System => DecodedActor::System,
            Actor::Staff { id, role } => DecodedActor::Staff { id, role: role.as_str().to_owned() },
            Actor::Candidate => DecodedActor::Candidate,
        };
        prop_assert_eq!(decoded.actor, expected_actor);
        let details: BTreeMap<String, DecodedValue> =
            draft.details().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_decoded())).collect();
        prop_assert_eq!(decoded.details, details);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_only_canonical_bytes_decode(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(entry) = decode(&bytes) {
            prop_assert_eq!(entry.to_canonical_bytes(), bytes);
        }
    }

    #[test]
    fn damaged_entries_never_panic_and_only_canonical_bytes_decode(
        entry in decoded_entry(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = entry.to_canonical_bytes();
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => bytes[at] = byte,
                _ => bytes.truncate(at),
            }
        }
        if let Ok(entry) = decode(&bytes) {
            prop_assert_eq!(entry.to_canonical_bytes(), bytes);
        }
    }
}

#[test]
fn decode_reports_typed_errors() {
    let (entry, _) = append(
        &ChainHead::genesis(tenant()),
        AuditDraft::new(tenant(), Actor::System, "a.b").with_detail(DetailKey::Confirmed, true),
        now(),
    )
    .unwrap();
    let good = entry.canonical_bytes().to_vec();
    assert!(decode(&good).is_ok());

    assert_eq!(decode(&[]), Err(DecodeError::UnexpectedEnd { offset: 0 }));
    let mut v2 = good.clone();
    v2[0] = 2;
    assert_eq!(decode(&v2), Err(DecodeError::UnknownVersion(2)));

    let mut actor = good.clone();
    actor[37] = 9;
    assert_eq!(decode(&actor), Err(DecodeError::InvalidTag { field: "actor", value: 9, offset: 37 }));

    let mut nanos = good.clone();
    nanos[33..37].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    assert_eq!(decode(&nanos), Err(DecodeError::InvalidTime { offset: 25 }));

    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(decode(&trailing), Err(DecodeError::TrailingBytes { count: 1 }));

    let mut flag = good.clone();
    *flag.last_mut().unwrap() = 2; // the bool value
    assert!(matches!(decode(&flag), Err(DecodeError::InvalidTag { field: "bool value", value: 2, .. })));

    assert!(matches!(decode(&good[..good.len() - 1]), Err(DecodeError::UnexpectedEnd { .. })));
}

#[test]
fn unsorted_or_duplicate_detail_keys_are_rejected() {
    let entry = DecodedEntry {
        version: 1,
        tenant: tenant(),
        seq: 1,
        at: now(),
        actor: DecodedActor::System,
        action: "a".into(),
        subject: None,
        rule: None,
        details: BTreeMap::from([
            ("a".to_owned(), DecodedValue::Bool(true)),
            ("b".to_owned(), DecodedValue::Bool(false)),
        ]),
    };
    let mut bytes = entry.to_canonical_bytes();
    let n = bytes.len();
    // Each detail is `01 'x' 05 v` (4 bytes): swap the key letters of the two details.
    bytes[n - 7] = b'b';
    bytes[n - 3] = b'a';
    assert!(matches!(decode(&bytes), Err(DecodeError::UnsortedDetails { .. })));
    bytes[n - 7] = b'a';
    assert!(matches!(decode(&bytes), Err(DecodeError::UnsortedDetails { .. })));
}

#[test]
fn decoded_entries_serialize_for_the_dpo() {
    let draft = AuditDraft::from_event(&envelope(hoheit_domain::events::DomainEvent::ConsentWithdrawn {
        purpose: hoheit_domain::consent::Purpose::TalentPool,
    }))
    .unwrap();
    let (entry, _) = append(&ChainHead::genesis(tenant()), draft, now()).unwrap();
    let json = serde_json::to_value(decode(entry.canonical_bytes()).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "version": 1,
            "tenant": tenant().to_string(),
            "seq": 1,
            "at": "2025-03-01T09:30:15.123456789Z",
            "actor": {"type": "staff", "id": "dddddddd-dddd-dddd-dddd-dddddddddddd", "role": "dpo"},
            "action": "consent.withdrawn",
            "subject": candidate().to_string(),
            "rule": "R12",
            "details": {"purpose": "talent_pool"},
        })
    );
}

#[test]
fn overlong_codes_are_cut_at_a_character_boundary() {
    let long: &'static str = Box::leak("ä".repeat(40_000).into_boxed_str());
    let draft = AuditDraft::new(tenant(), Actor::System, long).with_detail(DetailKey::Purpose, long);
    assert!(draft.action().len() <= hoheit_audit::MAX_STR_LEN);
    let (entry, _) = append(&ChainHead::genesis(tenant()), draft, now()).unwrap();
    let decoded = decode(entry.canonical_bytes()).unwrap();
    assert_eq!(decoded.action, entry.action());
    assert_eq!(decoded.action.len(), 65_534);
}
