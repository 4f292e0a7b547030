//! Checkpoint signing, export and verification.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use hoheit_audit::{
    ChainBreak, ChainHead, CheckpointError, CheckpointKey, CheckpointSigner, EntryHash, KeyError, SignedCheckpoint,
    Verifier, verify_checkpoint,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use secrecy::{ExposeSecret, SecretString};

fn signer() -> CheckpointSigner {
    CheckpointSigner::generate(&mut StdRng::seed_from_u64(7))
}

fn head() -> ChainHead {
    ChainHead::new(tenant(), 42, EntryHash::from_bytes([0x5a; 32])).unwrap()
}

#[test]
fn signature_round_trip_through_json() {
    let signer = signer();
    let signed = signer.sign(&head(), now());
    let parsed = SignedCheckpoint::from_json(&signed.to_json().unwrap()).unwrap();
    assert_eq!(parsed, signed);
    let checkpoint = verify_checkpoint(&parsed, &signer.public_key()).unwrap();
    assert_eq!(checkpoint.tenant(), tenant());
    assert_eq!(checkpoint.seq(), 42);
    assert_eq!(checkpoint.head(), head().hash());
    // Whole seconds only.
    assert_eq!(checkpoint.at().unix_timestamp(), now().unix_timestamp());
    assert_eq!(checkpoint.at().nanosecond(), 0);
}

#[test]
fn a_checkpoint_signed_with_another_key_is_rejected() {
    let signed = signer().sign(&head(), now());
    let other = CheckpointSigner::generate(&mut StdRng::seed_from_u64(8));
    assert_eq!(verify_checkpoint(&signed, &other.public_key()), Err(CheckpointError::BadSignature));
}

#[test]
fn every_tampered_field_is_rejected() {
    let signer = signer();
    let json: serde_json::Value = serde_json::from_str(&signer.sign(&head(), now()).to_json().unwrap()).unwrap();
    let tampered = [
        ("tenant", serde_json::json!(other_tenant().to_string())),
        ("seq", serde_json::json!(43)),
        ("seq", serde_json::json!(41)),
        ("head", serde_json::json!("5a".repeat(31) + "5b")),
        ("at", serde_json::json!("2025-03-01T09:30:16Z")),
    ];
    for (field, value) in tampered {
        let mut changed = json.clone();
        changed[field] = value;
        let parsed = SignedCheckpoint::from_json(&changed.to_string()).unwrap();
        assert_eq!(verify_checkpoint(&parsed, &signer.public_key()), Err(CheckpointError::BadSignature), "{field}");
    }
    // A flipped signature bit.
    let signed = signer.sign(&head(), now());
    let mut sig = *signed.signature();
    sig[5] ^= 1;
    let mut changed = json.clone();
    changed["signature"] = serde_json::json!(base64_encode(&sig));
    let parsed = SignedCheckpoint::from_json(&changed.to_string()).unwrap();
    assert!(verify_checkpoint(&parsed, &signer.public_key()).is_err());
    // Unsigned additions are refused when parsing.
    for (field, value) in [
        ("at", serde_json::json!("2025-03-01T09:30:15.5Z")),
        ("format", serde_json::json!("hoheit-audit/v2/checkpoint")),
        ("signature", serde_json::json!("AAAA")),
        ("note", serde_json::json!("trust me")),
    ] {
        let mut changed = json.clone();
        changed[field] = value;
        assert!(SignedCheckpoint::from_json(&changed.to_string()).is_err(), "{field}");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn the_verifier_reports_bad_and_foreign_checkpoints() {
    let (chain, head) = stored_chain(3);
    let signer = signer();
    let other = CheckpointSigner::generate(&mut StdRng::seed_from_u64(9));
    let key = signer.public_key();

    let forged = other.sign(&head, now());
    assert_eq!(
        Verifier::verify_all(tenant(), vec![signer.sign(&head, now()), forged], &key, &chain),
        Err(ChainBreak::BadSignature { seq: 3 })
    );

    // A genuine checkpoint of another tenant does not vouch for this chain.
    let foreign = signer.sign(&ChainHead::genesis(other_tenant()), now());
    assert_eq!(Verifier::verify_all(tenant(), vec![foreign], &key, &chain), Err(ChainBreak::BadSignature { seq: 0 }));

    // The break with the lower sequence number wins.
    let mut damaged = chain.clone();
    damaged[0].canonical[20] ^= 1;
    assert_eq!(
        Verifier::verify_all(tenant(), vec![other.sign(&head, now())], &key, &damaged),
        Err(ChainBreak::ModifiedEntry { seq: 1 })
    );
}

#[test]
fn keys_import_and_export() {
    let signer = signer();
    let public = signer.public_key();
    assert_eq!(CheckpointKey::from_base64(&public.to_base64()).unwrap(), public);
    assert_eq!(CheckpointKey::from_hex(&public.to_hex()).unwrap(), public);
    assert_eq!(CheckpointKey::from_bytes(&public.to_bytes()).unwrap(), public);
    assert_eq!(CheckpointKey::from_hex("abcd"), Err(KeyError::Length(2)));
    assert_eq!(CheckpointKey::from_base64("%%%"), Err(KeyError::Encoding("base64")));
    assert!(public.to_pem().starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));

    let secret = signer.to_base64_secret();
    let reloaded = CheckpointSigner::from_base64(&secret).unwrap();
    assert_eq!(reloaded.public_key(), public);
    assert_eq!(
        CheckpointSigner::from_base64(&SecretString::from("c2hvcnQ=")).map(|s| s.public_key()),
        Err(KeyError::Length(5))
    );
    assert!(CheckpointSigner::from_secret_bytes(&[1; 31]).is_err());

    // Debug never shows the secret.
    let debug = format!("{signer:?}");
    assert!(debug.contains(&public.to_base64()));
    assert!(!debug.contains(secret.expose_secret()));
    let secret_bytes = base64_decode(secret.expose_secret());
    assert!(!debug.contains(&hex::encode(&secret_bytes)));
    assert!(!debug.contains(&format!("{:?}", secret_bytes)));
}
