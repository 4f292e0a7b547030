//! Verifier scenarios beyond the single-tamper property test, and streaming a long chain.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use hoheit_audit::{
    AuditDraft, AuditEntry, ChainBreak, ChainHead, CheckpointSigner, Flow, StoredEntry, Verifier, append,
};
use hoheit_domain::tenant::Actor;

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_secret_bytes(&[3; 32]).unwrap()
}

fn verify(stream: &[StoredEntry], heads: &[ChainHead]) -> Result<hoheit_audit::VerifyReport, ChainBreak> {
    let signer = signer();
    let checkpoints = heads.iter().map(|h| signer.sign(h, now())).collect();
    Verifier::verify_all(tenant(), checkpoints, &signer.public_key(), stream)
}

fn reorder(chain: &[StoredEntry], order: &[usize]) -> Vec<StoredEntry> {
    order.iter().map(|seq| chain[seq - 1].clone()).collect()
}

#[test]
fn an_empty_chain_verifies_and_a_checkpoint_of_it_anchors_sequence_zero() {
    let report = verify(&[], &[]).unwrap();
    assert_eq!((report.entries_verified, report.last_seq), (0, 0));
    assert_eq!(report.head, hoheit_audit::genesis_hash(tenant()));
    let report = verify(&[], &[ChainHead::genesis(tenant())]).unwrap();
    assert_eq!((report.checkpoints_matched, report.anchored_seq), (1, 0));
}

#[test]
fn another_tenants_chain_does_not_verify_as_this_one() {
    let drafts = vec![AuditDraft::new(other_tenant(), Actor::System, "tenant.created")];
    let (entries, _) = hoheit_audit::append_all(&ChainHead::genesis(other_tenant()), drafts, now()).unwrap();
    let stream: Vec<_> = entries.iter().map(AuditEntry::to_stored).collect();
    assert_eq!(verify(&stream, &[]), Err(ChainBreak::ModifiedEntry { seq: 1 }));
}

#[test]
fn entries_moved_later_or_earlier_are_reordered() {
    let (chain, head) = stored_chain(6);
    assert_eq!(verify(&reorder(&chain, &[1, 3, 4, 5, 2, 6]), &[head]), Err(ChainBreak::ReorderedEntries { seq: 2 }));
    assert_eq!(verify(&reorder(&chain, &[1, 2, 5, 3, 4, 6]), &[head]), Err(ChainBreak::ReorderedEntries { seq: 3 }));
    assert_eq!(verify(&reorder(&chain, &[2, 1, 3, 4, 5, 6]), &[]), Err(ChainBreak::ReorderedEntries { seq: 1 }));
    assert_eq!(verify(&reorder(&chain, &[1, 2, 3, 4, 6, 5]), &[]), Err(ChainBreak::ReorderedEntries { seq: 5 }));
}

#[test]
fn deletions_in_the_middle_are_found_without_a_checkpoint() {
    let (chain, _) = stored_chain(8);
    assert_eq!(verify(&reorder(&chain, &[1, 2, 5, 6, 7, 8]), &[]), Err(ChainBreak::DeletedEntry { seq: 3 }));
    assert_eq!(verify(&reorder(&chain, &[2, 3]), &[]), Err(ChainBreak::DeletedEntry { seq: 1 }));
}

#[test]
fn a_cut_off_tail_needs_a_checkpoint_or_the_head_row() {
    let (chain, head) = stored_chain(5);
    let cut = &chain[..3];
    // Without a checkpoint the rest still links; the report's head differs from the head row.
    let report = verify(cut, &[]).unwrap();
    assert_ne!(report.head, head.hash());
    assert_eq!(verify(cut, &[head]), Err(ChainBreak::Truncated { checkpoint_seq: 5, last_seq: 3 }));
}

#[test]
fn a_damaged_hash_column_is_a_modification() {
    let (mut chain, _) = stored_chain(3);
    chain[1].hash.pop();
    assert_eq!(verify(&chain, &[]), Err(ChainBreak::ModifiedEntry { seq: 2 }));
}

#[test]
fn push_says_when_the_verdict_is_final() {
    let (chain, _) = stored_chain(6);
    let signer = signer();
    let mut verifier = Verifier::new(tenant(), Vec::new(), &signer.public_key());
    assert_eq!(verifier.push(&chain[0]), Flow::Continue);
    // A gap may still turn out to be a reordering: keep reading.
    assert_eq!(verifier.push(&chain[2]), Flow::Continue);
    assert_eq!(verifier.push(&chain[3]), Flow::Continue);
    // Seq 2 shows up late: decided.
    assert_eq!(verifier.push(&chain[1]), Flow::Stop);
    assert_eq!(verifier.push(&chain[4]), Flow::Stop);
    assert_eq!(verifier.finish(), Err(ChainBreak::ReorderedEntries { seq: 2 }));
}

#[test]
fn chain_breaks_serialize_with_their_kind() {
    let json = serde_json::to_value(ChainBreak::Truncated { checkpoint_seq: 9, last_seq: 4 }).unwrap();
    assert_eq!(json, serde_json::json!({"kind": "truncated", "checkpoint_seq": 9, "last_seq": 4}));
    assert_eq!(ChainBreak::DeletedEntry { seq: 3 }.to_string(), "audit entry 3 was deleted");
}

/// Appends `n` entries one by one, handing each to `sink`; nothing is collected.
fn generate(n: u64, mut sink: impl FnMut(&AuditEntry)) -> ChainHead {
    let drafts = drafts(64);
    let mut head = ChainHead::genesis(tenant());
    for i in 0..n {
        let draft = drafts[(i % 64) as usize].clone();
        let (entry, next) = append(&head, draft, now()).unwrap();
        sink(&entry);
        head = next;
    }
    head
}

#[test]
fn a_long_chain_verifies_streamed_in_bounded_memory() {
    const N: u64 = 200_000;
    // First pass: the heads to checkpoint (as the server would have signed them over time).
    let mut heads = Vec::new();
    let mut prev = ChainHead::genesis(tenant());
    generate(N, |entry| {
        let head = ChainHead::new(tenant(), entry.seq(), entry.hash()).unwrap();
        if entry.seq() % 50_000 == 0 {
            heads.push(head);
        }
        prev = head;
    });
    assert_eq!(heads.len(), 4);
    let signer = signer();
    let checkpoints = heads.iter().map(|h| signer.sign(h, now())).collect();

    // Second pass: entries go straight from the generator into the verifier; the verifier
    // keeps only hashes, counters and the checkpoints (O(checkpoints), not O(entries)).
    let mut verifier = Verifier::new(tenant(), checkpoints, &signer.public_key());
    generate(N, |entry| {
        assert_eq!(verifier.push_raw(entry.seq(), entry.canonical_bytes(), entry.hash().as_bytes()), Flow::Continue);
    });
    let report = verifier.finish().unwrap();
    assert_eq!(report.entries_verified, N);
    assert_eq!(report.head, prev.hash());
    assert_eq!((report.checkpoints_matched, report.anchored_seq), (4, N));
}
