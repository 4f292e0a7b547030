//! Golden vectors: the canonical bytes and hashes of fixed entries, and a fixed checkpoint.
//!
//! If one of these fails, the on-disk format changed and every stored chain would stop
//! verifying. Do not update the vectors; introduce a new format version instead.
//!
//! The hashes were recomputed independently with Python's `hashlib`, and the checkpoint was
//! verified with Python `cryptography` and `openssl pkeyutl` following the crate docs.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use hoheit_audit::{
    AuditDraft, ChainHead, CheckpointSigner, DetailKey, SignedCheckpoint, append, decode, genesis_hash,
    verify_checkpoint,
};
use hoheit_domain::consent::Purpose;
use hoheit_domain::events::{DomainEvent, EventEnvelope};
use hoheit_domain::ids::{CandidateId, MessageId, StaffId, TenantId};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::{Actor, Role};
use time::macros::datetime;
use uuid::Uuid;

fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0x1111_1111_2222_3333_4444_5555_5555_5555))
}

fn first_draft() -> AuditDraft {
    AuditDraft::new(
        tenant(),
        Actor::Staff { id: StaffId::from_uuid(Uuid::from_u128(0xdddd)), role: Role::Recruiter },
        "message.refused",
    )
    .with_subject(CandidateId::from_uuid(Uuid::from_u128(0xcccc)))
    .with_rule(Rule::R10)
    .with_detail(DetailKey::RefusalCode, "consent_missing")
    .with_detail(DetailKey::Message, MessageId::from_uuid(Uuid::from_u128(0xeeee)))
    .with_detail(DetailKey::AtDispatch, false)
    .with_detail(DetailKey::ProviderErrorCode, -131_047_i64)
    .with_detail(DetailKey::Count, 3_u64)
    .with_detail(DetailKey::DueAt, datetime!(2025-04-01 00:00:00.5 UTC))
}

const GENESIS: &str = "f45a45754affbfe7df26b881dccc011c536c7977b18f84cad59514c96bc31cd8";
const FIRST_BYTES: &str = "011111111122223333444455555555555500000000000000010000000067c2d3a70ee6b280010000000000000000000000000000dddd0009726563727569746572000f6d6573736167652e72656675736564010000000000000000000000000000cccc01000352313000060b61745f6469737061746368050005636f756e74040000000000000003066475655f6174060000000067eb2c801dcd6500076d657373616765010000000000000000000000000000eeee1370726f76696465725f6572726f725f636f646503fffffffffffe00190c7265667573616c5f636f646502000f636f6e73656e745f6d697373696e67";
const FIRST_HASH: &str = "3649fe6a140dc716453b861279ee81c5fbc8ec8bf95e784630b5c40c09d3eeff";
const SECOND_BYTES: &str = "011111111122223333444455555555555500000000000000020000000067c39f8000000000020011636f6e73656e742e77697468647261776e0000000107707572706f736502000b74616c656e745f706f6f6c";
const SECOND_HASH: &str = "adbe72126927b3762a78c5695b4f3eee766ca98a15022639aa12532aca0bceda";
const PUBLIC_KEY: &str = "IVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=";
const SIGNED_BYTES: &str = "686f686569742d61756469742f76312f636865636b706f696e74001111111122223333444455555555555500000000000000025a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a0000000067c44840";
const SIGNATURE: &str = "LitD9SOankWRpPayOh1J0oy4KYjfcudGZeVBYgYaJ7179wlHoRyuZBhJ70yg2VfiXRkIzDQA9gh4SdmQLdPCCQ==";

#[test]
fn entry_encoding_and_chain_are_stable() {
    assert_eq!(genesis_hash(tenant()).to_hex(), GENESIS);

    let head = ChainHead::genesis(tenant());
    let (first, head) = append(&head, first_draft(), datetime!(2025-03-01 09:30:15.25 UTC)).unwrap();
    assert_eq!(hex::encode(first.canonical_bytes()), FIRST_BYTES);
    assert_eq!(first.hash().to_hex(), FIRST_HASH);

    let withdrawn = EventEnvelope {
        tenant: tenant(),
        subject: None,
        actor: Actor::Candidate,
        at: datetime!(2025-03-02 00:00 UTC),
        rule: None,
        event: DomainEvent::ConsentWithdrawn { purpose: Purpose::TalentPool },
    };
    let draft = AuditDraft::from_event(&withdrawn).unwrap();
    let (second, head) = append(&head, draft, withdrawn.at).unwrap();
    assert_eq!(hex::encode(second.canonical_bytes()), SECOND_BYTES);
    assert_eq!(second.hash().to_hex(), SECOND_HASH);
    assert_eq!(head.seq(), 2);

    // The bytes decode back to the same entry, and re-encode identically.
    let decoded = decode(first.canonical_bytes()).unwrap();
    assert_eq!(decoded.to_canonical_bytes(), first.canonical_bytes());
    assert_eq!(decoded.action, "message.refused");
}

#[test]
fn checkpoint_signature_is_stable() {
    let signer = CheckpointSigner::from_secret_bytes(&[0x42; 32]).unwrap();
    let head = ChainHead::new(tenant(), 2, hoheit_audit::EntryHash::from_bytes([0x5a; 32])).unwrap();
    let signed = signer.sign(&head, datetime!(2025-03-02 12:00:00.999 UTC));
    assert_eq!(signer.public_key().to_base64(), PUBLIC_KEY);
    assert_eq!(hex::encode(signed.checkpoint().signed_bytes()), SIGNED_BYTES);
    let json: serde_json::Value = serde_json::from_str(&signed.to_json().unwrap()).unwrap();
    assert_eq!(json["signature"], SIGNATURE);
    assert_eq!(json["at"], "2025-03-02T12:00:00Z");

    let parsed = SignedCheckpoint::from_json(&signed.to_json().unwrap()).unwrap();
    assert!(verify_checkpoint(&parsed, &signer.public_key()).is_ok());
}
