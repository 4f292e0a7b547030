//! Tampering with a stored chain is detected, with the right kind; an untouched chain verifies.

// Test code: a failed unwrap or index is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use hoheit_audit::{
    AuditDraft, ChainBreak, ChainHead, CheckpointSigner, DetailKey, Flow, SignedCheckpoint, StoredEntry, Verifier,
    VerifyReport, append, append_all, entry_hash,
};
use hoheit_domain::tenant::Actor;
use proptest::prelude::*;
use std::sync::OnceLock;

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_secret_bytes(&[0x17; 32]).unwrap()
}

/// The heads after every entry (index 0 = genesis), to sign checkpoints anywhere.
fn heads(stored: &[StoredEntry]) -> Vec<ChainHead> {
    let mut heads = vec![ChainHead::genesis(tenant())];
    for entry in stored {
        let hash = hoheit_audit::EntryHash::from_slice(&entry.hash).unwrap();
        heads.push(ChainHead::new(tenant(), entry.seq, hash).unwrap());
    }
    heads
}

/// Longest chain the properties build.
const MAX: usize = 60;

/// Checkpoints of [`stored_chain`] at every seq up to [`MAX`], signed once: chains of any length
/// are prefixes of each other, and ed25519 is slow in debug builds.
fn checkpoints_at(chain: &[StoredEntry], seqs: &[u64]) -> Vec<SignedCheckpoint> {
    static SIGNED: OnceLock<Vec<SignedCheckpoint>> = OnceLock::new();
    let signed = SIGNED.get_or_init(|| {
        let (full, _) = stored_chain(MAX);
        let signer = signer();
        heads(&full).iter().map(|head| signer.sign(head, now())).collect()
    });
    let heads = heads(chain);
    seqs.iter()
        .map(|seq| {
            let checkpoint = signed[*seq as usize].clone();
            assert_eq!(checkpoint.head(), heads[*seq as usize].hash(), "not a prefix of the cached chain");
            checkpoint
        })
        .collect()
}

/// Verifies with `verify_all` (which stops early) and with a full push loop (which does not),
/// and checks both agree: reading on after `Flow::Stop` never changes the verdict.
fn verify(stream: &[StoredEntry], checkpoints: Vec<SignedCheckpoint>) -> Result<VerifyReport, ChainBreak> {
    let key = signer().public_key();
    let verifier = Verifier::new(tenant(), checkpoints, &key);
    let mut early = verifier.clone();
    for entry in stream {
        if early.push(entry) == Flow::Stop {
            break;
        }
    }
    let early = early.finish();
    let mut full = verifier;
    for entry in stream {
        let _ = full.push(entry);
    }
    assert_eq!(full.finish(), early);
    early
}

#[derive(Debug, Clone)]
enum Tamper {
    FlipBit { entry: usize, byte: usize, bit: u8 },
    FlipHashBit { entry: usize, byte: usize, bit: u8 },
    ChangeSeqColumn { entry: usize, delta: u64 },
    Delete { entry: usize },
    InsertCopy { of: usize, at: usize },
    InsertForged { at: usize },
    InsertGarbage { at: usize, bytes: Vec<u8> },
    Swap { a: usize, b: usize },
    Truncate { keep: usize },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let i = any::<usize>();
    prop_oneof![
        (i, i, 0u8..8).prop_map(|(entry, byte, bit)| Tamper::FlipBit { entry, byte, bit }),
        (i, i, 0u8..8).prop_map(|(entry, byte, bit)| Tamper::FlipHashBit { entry, byte, bit }),
        (i, 1u64..).prop_map(|(entry, delta)| Tamper::ChangeSeqColumn { entry, delta }),
        i.prop_map(|entry| Tamper::Delete { entry }),
        (i, i).prop_map(|(of, at)| Tamper::InsertCopy { of, at }),
        i.prop_map(|at| Tamper::InsertForged { at }),
        (i, proptest::collection::vec(any::<u8>(), 0..120)).prop_map(|(at, bytes)| Tamper::InsertGarbage { at, bytes }),
        (i, i).prop_map(|(a, b)| Tamper::Swap { a, b }),
        i.prop_map(|keep| Tamper::Truncate { keep }),
    ]
}

/// Applies the tamper to a chain of `n >= 2` entries and returns the stream with the break a
/// verifier holding a checkpoint at the head must report.
fn apply(chain: &[StoredEntry], tamper: &Tamper) -> (Vec<StoredEntry>, ChainBreak) {
    let n = chain.len();
    let mut s = chain.to_vec();
    let seq_of = |index: usize| index as u64 + 1;
    let expected = match *tamper {
        Tamper::FlipBit { entry, byte, bit } => {
            let e = entry % n;
            let len = s[e].canonical.len();
            s[e].canonical[byte % len] ^= 1 << bit;
            ChainBreak::ModifiedEntry { seq: seq_of(e) }
        }
        Tamper::FlipHashBit { entry, byte, bit } => {
            let e = entry % n;
            s[e].hash[byte % 32] ^= 1 << bit;
            ChainBreak::ModifiedEntry { seq: seq_of(e) }
        }
        Tamper::ChangeSeqColumn { entry, delta } => {
            let e = entry % n;
            s[e].seq = s[e].seq.wrapping_add(delta);
            ChainBreak::ModifiedEntry { seq: seq_of(e) }
        }
        Tamper::Delete { entry } => {
            let e = entry % n;
            s.remove(e);
            if e == n - 1 {
                ChainBreak::Truncated { checkpoint_seq: n as u64, last_seq: n as u64 - 1 }
            } else {
                ChainBreak::DeletedEntry { seq: seq_of(e) }
            }
        }
        Tamper::InsertCopy { of, at } => {
            let (of, at) = (of % n, at % (n + 1));
            s.insert(at, chain[of].clone());
            // `at` entries precede the copy. A copy right after its original is a second entry
            // for that seq; anywhere else it is an extra entry where `at + 1` was expected.
            let copied = seq_of(of);
            let at = at as u64;
            ChainBreak::InsertedEntry { seq: if copied == at { at } else { at + 1 } }
        }
        Tamper::InsertForged { at } => {
            // A well-formed entry with a correctly computed hash, claiming the slot it sits in.
            let at = at % n;
            let prev = heads(chain)[at].hash();
            let head = ChainHead::new(tenant(), at as u64, prev).unwrap();
            let draft = AuditDraft::new(tenant(), Actor::System, "forged.entry").with_detail(DetailKey::Count, 1u64);
            let (forged, _) = append(&head, draft, now()).unwrap();
            s.insert(at, forged.into_stored());
            ChainBreak::InsertedEntry { seq: seq_of(at) }
        }
        Tamper::InsertGarbage { at, ref bytes } => {
            let at = at % (n + 1);
            let hash = entry_hash(&hoheit_audit::EntryHash::from_bytes([1; 32]), bytes).as_bytes().to_vec();
            s.insert(at, StoredEntry { seq: seq_of(at), canonical: bytes.clone(), hash });
            if at == n {
                ChainBreak::ModifiedEntry { seq: seq_of(at) }
            } else {
                ChainBreak::InsertedEntry { seq: seq_of(at) }
            }
        }
        Tamper::Swap { a, b } => {
            let (a, b) = (a % n, b % n);
            let (a, b) = (a.min(b), a.max(b));
            let b = if a == b { (a + 1) % n } else { b };
            let (a, b) = (a.min(b), a.max(b));
            s.swap(a, b);
            ChainBreak::ReorderedEntries { seq: seq_of(a) }
        }
        Tamper::Truncate { keep } => {
            let keep = keep % n;
            s.truncate(keep);
            ChainBreak::Truncated { checkpoint_seq: n as u64, last_seq: keep as u64 }
        }
    };
    (s, expected)
}

proptest! {
    // Each case checks ed25519 signatures (about 10 ms each in debug builds).
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn untouched_chains_verify(n in 0usize..=MAX, extra in proptest::collection::vec(any::<usize>(), 0..3)) {
        let (chain, head) = stored_chain(n);
        let mut seqs: Vec<u64> = extra.iter().map(|i| (i % (n + 1)) as u64).collect();
        seqs.push(n as u64);
        let report = verify(&chain, checkpoints_at(&chain, &seqs)).unwrap();
        prop_assert_eq!(report.entries_verified, n as u64);
        prop_assert_eq!(report.last_seq, n as u64);
        prop_assert_eq!(report.head, head.hash());
        prop_assert_eq!(report.anchored_seq, n as u64);
        prop_assert_eq!(report.checkpoints_matched, seqs.len());
        // Without checkpoints too.
        prop_assert_eq!(verify(&chain, Vec::new()).unwrap().head, head.hash());
    }

    #[test]
    fn a_rewritten_history_is_caught_by_the_checkpoint_after_it(n in 2usize..40, k in any::<usize>(), m in any::<usize>()) {
        // The operator changes entry `k` and recomputes every hash after it: the chain links
        // again, but the checkpoint at `m >= k` no longer matches.
        let k = k % n;
        let m = k + m % (n - k); // index of the checkpointed entry, >= k
        let (chain, _) = stored_chain(n);
        let mut drafts = drafts(n);
        drafts[k] = AuditDraft::new(tenant(), Actor::System, "consent.granted");
        let (rewritten, _) = append_all(&ChainHead::genesis(tenant()), drafts, now()).unwrap();
        let rewritten: Vec<_> = rewritten.into_iter().map(|e| e.into_stored()).collect();
        prop_assert!(verify(&rewritten, Vec::new()).is_ok());
        let seq = m as u64 + 1;
        prop_assert_eq!(
            verify(&rewritten, checkpoints_at(&chain, &[seq])),
            Err(ChainBreak::ModifiedEntry { seq })
        );
    }
}

proptest! {
    // Nine kinds of tampering at random places: more cases than the others.
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_single_tampering_is_detected_with_its_kind(
        n in 2usize..40,
        tamper in tamper(),
        extra in proptest::collection::vec(any::<usize>(), 0..2),
    ) {
        let (chain, _) = stored_chain(n);
        let (stream, expected) = apply(&chain, &tamper);
        // A checkpoint at the head, plus some anywhere (they must not change the verdict).
        let mut seqs: Vec<u64> = extra.iter().map(|i| (i % (n + 1)) as u64).collect();
        seqs.push(n as u64);
        prop_assert_eq!(verify(&stream, checkpoints_at(&chain, &seqs)), Err(expected));
    }
}

#[test]
fn an_entry_appended_after_the_last_checkpoint_is_not_anchored() {
    // Whoever can write the database can append a well-formed entry after the last checkpoint;
    // the report says how far the checkpoints vouch for the chain.
    let (mut chain, head) = stored_chain(5);
    let checkpoints = checkpoints_at(&chain, &[5]);
    let (forged, _) = append(&head, AuditDraft::new(tenant(), Actor::System, "forged.entry"), now()).unwrap();
    chain.push(forged.into_stored());
    let report = verify(&chain, checkpoints).unwrap();
    assert_eq!((report.last_seq, report.anchored_seq), (6, 5));
}
