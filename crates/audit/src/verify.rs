//! Streaming verification of a tenant's chain against signed checkpoints.
//!
//! The [`Verifier`] is a state machine fed one [`StoredEntry`] at a time, in the order storage
//! returns them (`ORDER BY seq`). It keeps the last two hashes, some counters, the checkpoints
//! and at most one held entry (the first out-of-place one, while a gap is being classified):
//! memory is O(number of checkpoints), never O(entries).
//!
//! # How breaks are classified
//!
//! "Expected" is the sequence number after the last accepted entry; an entry *links* at `x` when
//! its bytes decode, name this tenant and sequence `x`, and `SHA256(entry-prefix || prev ||
//! bytes)` equals its stored hash. The first entry that does not fit starts the classification:
//!
//! | what the stream shows (expected `x`) | reported |
//! |---|---|
//! | links at `x` but its `seq` column says otherwise | [`ChainBreak::ModifiedEntry`] `x` |
//! | claims `x`, does not link (or contradicts a checkpoint at `x`), and the next entry is not a valid `x` | [`ChainBreak::ModifiedEntry`] `x` |
//! | claims `x`, does not fit, and the next entry is a valid `x` | [`ChainBreak::InsertedEntry`] `x` |
//! | claims `j > x`; `x` never shows up | [`ChainBreak::DeletedEntry`] `x` |
//! | claims `j > x`; `x` shows up later, with other entries in between | [`ChainBreak::ReorderedEntries`] `x` |
//! | claims `j > x`; `x` follows at once, and the held entry fits at `j` when the chain gets there | [`ChainBreak::ReorderedEntries`] `x` |
//! | claims `j > x`; `x` follows at once, but `j` is held by another valid entry (or never reached) | [`ChainBreak::InsertedEntry`] `x` |
//! | claims a `seq` below `x`: a second valid entry for the last `seq` | [`ChainBreak::InsertedEntry`] that `seq` |
//! | claims a `seq` below `x` otherwise | [`ChainBreak::InsertedEntry`] `x` |
//! | the stream ends before a checkpoint's `seq` | [`ChainBreak::Truncated`] |
//! | a checkpoint does not verify under the key or names another tenant | [`ChainBreak::BadSignature`] its `seq` |
//!
//! Where the stream could still change the verdict (a gap that may be a reordering, an entry
//! that may be an insertion), the verdict waits for later entries or for [`Verifier::finish`].
//! Once it is final, [`Verifier::push`] answers [`Flow::Stop`] and the caller may stop reading.
//! If several breaks exist, the one at the lowest sequence number is reported (a chain break
//! before a bad checkpoint at the same sequence number).
//!
//! A chain rewritten from some entry on with freshly computed hashes links perfectly; only a
//! checkpoint taken before the rewrite catches it (reported as [`ChainBreak::ModifiedEntry`] at
//! the checkpoint's `seq`: the change lies after the previous matching checkpoint). Likewise,
//! entries after the last checkpoint can be cut off or forged by whoever can write the database:
//! [`VerifyReport::anchored_seq`] says how far the checkpoints vouch for the chain.

use hoheit_domain::ids::TenantId;
use serde::Serialize;

use crate::chain::{EntryHash, StoredEntry, entry_hash, genesis_hash};
use crate::checkpoint::{CheckpointKey, SignedCheckpoint, verify_checkpoint};
use crate::encoding;

/// The first place where a chain is not what was appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry at `seq` was changed (bytes, hash or `seq` column), or the chain at `seq` does
    /// not match a signed checkpoint there (history rewritten up to `seq`).
    #[error("audit entry {seq} was modified")]
    ModifiedEntry {
        /// Where.
        seq: u64,
    },
    /// The entry at `seq` is missing.
    #[error("audit entry {seq} was deleted")]
    DeletedEntry {
        /// Where.
        seq: u64,
    },
    /// Entries are out of order: `seq` is not where it belongs.
    #[error("audit entries reordered at {seq}")]
    ReorderedEntries {
        /// The first sequence number out of place.
        seq: u64,
    },
    /// An entry that is not part of the chain sits at the place of `seq` (a second entry for
    /// `seq`, or an extra entry where `seq` was expected).
    #[error("an audit entry was inserted at {seq}")]
    InsertedEntry {
        /// Where.
        seq: u64,
    },
    /// The chain ends at `last_seq` although a signed checkpoint covers `checkpoint_seq`.
    #[error("audit chain truncated: ends at {last_seq}, checkpoint at {checkpoint_seq}")]
    Truncated {
        /// The highest checkpoint's sequence number.
        checkpoint_seq: u64,
        /// The last sequence number present.
        last_seq: u64,
    },
    /// A checkpoint's signature is invalid, made with another key, or for another tenant.
    #[error("checkpoint at {seq} has a bad signature")]
    BadSignature {
        /// The checkpoint's sequence number.
        seq: u64,
    },
}

impl ChainBreak {
    /// The sequence number the break is ordered by when several exist (where it is).
    pub const fn position(&self) -> u64 {
        match *self {
            Self::ModifiedEntry { seq }
            | Self::DeletedEntry { seq }
            | Self::ReorderedEntries { seq }
            | Self::InsertedEntry { seq }
            | Self::BadSignature { seq } => seq,
            Self::Truncated { last_seq, .. } => last_seq.saturating_add(1),
        }
    }
}

/// A verified chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The tenant.
    pub tenant: TenantId,
    /// How many entries were verified.
    pub entries_verified: u64,
    /// The last sequence number (0: empty chain).
    pub last_seq: u64,
    /// The hash of the last entry (the genesis hash for an empty chain). Persistence should
    /// compare it with its head row: a difference means entries were cut off the end.
    pub head: EntryHash,
    /// How many signed checkpoints matched the chain.
    pub checkpoints_matched: usize,
    /// The highest sequence number vouched for by a matching checkpoint (0: none). Entries after
    /// it are consistent with each other but not yet anchored.
    pub anchored_seq: u64,
}

/// Whether reading more entries can still change the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Flow {
    /// Keep pushing entries.
    Continue,
    /// A break is decided; [`Verifier::finish`] will report it whatever follows.
    Stop,
}

#[derive(Debug, Clone)]
enum State {
    /// Every entry so far linked; expecting `last_seq + 1`.
    Linking,
    /// The entry at `seq` did not fit; the next entry decides between modified and inserted.
    SuspectModified { seq: u64 },
    /// An entry claiming a later `seq` came where `seq` was expected; held until `seq` shows up.
    Gap { seq: u64, held: StoredEntry, between: u64 },
    /// `seq` came right after the held entry and linked; verifying on until the held entry's own
    /// place decides between reordered and inserted.
    Resumed { seq: u64, held: StoredEntry },
    /// Decided.
    Broken(ChainBreak),
}

/// Streaming verifier of one tenant's chain. See the module docs for the classification.
///
/// ```
/// # use hoheit_audit::*;
/// # use hoheit_domain::{ids::TenantId, tenant::Actor};
/// # use time::macros::datetime;
/// # let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(1));
/// # let signer = CheckpointSigner::from_secret_bytes(&[7; 32]).unwrap();
/// # let now = datetime!(2025-01-01 00:00 UTC);
/// let draft = AuditDraft::new(tenant, Actor::System, "tenant.created");
/// let (entry, head) = append(&ChainHead::genesis(tenant), draft, now).unwrap();
/// let checkpoint = signer.sign(&head, now);
///
/// let mut verifier = Verifier::new(tenant, vec![checkpoint], &signer.public_key());
/// let _ = verifier.push(&entry.to_stored());
/// let report = verifier.finish().unwrap();
/// assert_eq!((report.last_seq, report.anchored_seq), (1, 1));
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    tenant: TenantId,
    /// Valid checkpoints of this tenant: (seq, head), sorted by seq.
    checkpoints: Vec<(u64, EntryHash)>,
    /// Index of the first checkpoint not yet passed.
    next_checkpoint: usize,
    /// Lowest seq of a checkpoint that did not verify.
    bad_signature: Option<u64>,
    checkpoints_matched: usize,
    anchored_seq: u64,
    last_seq: u64,
    /// Hash of the entry at `last_seq` (genesis at 0).
    prev: EntryHash,
    /// Hash of the entry before that (genesis while `last_seq <= 1`).
    prev2: EntryHash,
    entries_verified: u64,
    state: State,
}

impl Verifier {
    /// A verifier for `tenant`'s chain. Each checkpoint's signature is checked here against
    /// `public_key` (the key the tenant's DPO holds, not one shipped with the checkpoints).
    pub fn new(tenant: TenantId, checkpoints: Vec<SignedCheckpoint>, public_key: &CheckpointKey) -> Self {
        let genesis = genesis_hash(tenant);
        let mut valid = Vec::with_capacity(checkpoints.len());
        let mut bad_signature: Option<u64> = None;
        for signed in &checkpoints {
            match verify_checkpoint(signed, public_key) {
                Ok(checkpoint) if checkpoint.tenant() == tenant => valid.push((checkpoint.seq(), checkpoint.head())),
                Ok(_) | Err(_) => {
                    bad_signature = Some(bad_signature.map_or(signed.seq(), |seq| seq.min(signed.seq())));
                }
            }
        }
        valid.sort_by_key(|(seq, _)| *seq);
        let mut verifier = Self {
            tenant,
            checkpoints: valid,
            next_checkpoint: 0,
            bad_signature,
            checkpoints_matched: 0,
            anchored_seq: 0,
            last_seq: 0,
            prev: genesis,
            prev2: genesis,
            entries_verified: 0,
            state: State::Linking,
        };
        // Checkpoints of the empty chain vouch for the genesis hash.
        if verifier.checkpoint_ok(0, &genesis) {
            verifier.pass_checkpoints(0);
        } else {
            verifier.state = State::Broken(ChainBreak::ModifiedEntry { seq: 0 });
        }
        verifier
    }

    /// Verifies a whole stream (stopping early once a break is decided).
    pub fn verify_all<'a>(
        tenant: TenantId,
        checkpoints: Vec<SignedCheckpoint>,
        public_key: &CheckpointKey,
        entries: impl IntoIterator<Item = &'a StoredEntry>,
    ) -> Result<VerifyReport, ChainBreak> {
        let mut verifier = Self::new(tenant, checkpoints, public_key);
        for entry in entries {
            if verifier.push(entry) == Flow::Stop {
                break;
            }
        }
        verifier.finish()
    }

    /// Feeds the next entry as read from storage.
    pub fn push(&mut self, entry: &StoredEntry) -> Flow {
        self.push_raw(entry.seq, &entry.canonical, &entry.hash)
    }

    /// Like [`Self::push`], from borrowed columns (no copy per row).
    pub fn push_raw(&mut self, seq: u64, canonical: &[u8], hash: &[u8]) -> Flow {
        let x = self.expected();
        let state = std::mem::replace(&mut self.state, State::Linking);
        self.state = match state {
            State::Broken(found) => State::Broken(found),
            State::Linking => self.on_linking(x, seq, canonical, hash),
            State::SuspectModified { seq: suspect } => {
                let valid = seq == suspect && self.fit(suspect, canonical, hash, &self.prev).is_some();
                let found = if valid {
                    ChainBreak::InsertedEntry { seq: suspect }
                } else {
                    ChainBreak::ModifiedEntry { seq: suspect }
                };
                State::Broken(found)
            }
            State::Gap { seq: missing, held, between } => {
                if seq != missing {
                    State::Gap { seq: missing, held, between: between.saturating_add(1) }
                } else if let Some(linked) = self.fit(missing, canonical, hash, &self.prev).filter(|_| between == 0) {
                    self.accept(linked);
                    State::Resumed { seq: missing, held }
                } else {
                    State::Broken(ChainBreak::ReorderedEntries { seq: missing })
                }
            }
            State::Resumed { seq: first, held } => {
                let linked = if seq == x { self.fit(x, canonical, hash, &self.prev) } else { None };
                if let Some(linked) = linked {
                    if held.seq == x {
                        State::Broken(ChainBreak::InsertedEntry { seq: first })
                    } else {
                        self.accept(linked);
                        State::Resumed { seq: first, held }
                    }
                } else if self.held_fits(&held, x) {
                    State::Broken(ChainBreak::ReorderedEntries { seq: first })
                } else {
                    State::Broken(ChainBreak::InsertedEntry { seq: first })
                }
            }
        };
        match self.state {
            State::Broken(_) => Flow::Stop,
            State::Linking | State::SuspectModified { .. } | State::Gap { .. } | State::Resumed { .. } => {
                Flow::Continue
            }
        }
    }

    /// Ends the stream: the report, or the first break.
    pub fn finish(self) -> Result<VerifyReport, ChainBreak> {
        let x = self.expected();
        let chain_break = match &self.state {
            State::Broken(found) => Some(found.clone()),
            State::SuspectModified { seq } => Some(ChainBreak::ModifiedEntry { seq: *seq }),
            State::Gap { seq, .. } => Some(ChainBreak::DeletedEntry { seq: *seq }),
            State::Resumed { seq, held } => Some(if self.held_fits(held, x) {
                ChainBreak::ReorderedEntries { seq: *seq }
            } else {
                ChainBreak::InsertedEntry { seq: *seq }
            }),
            State::Linking => self
                .checkpoints
                .last()
                .filter(|(seq, _)| *seq > self.last_seq)
                .map(|(seq, _)| ChainBreak::Truncated { checkpoint_seq: *seq, last_seq: self.last_seq }),
        };
        let bad_signature = self.bad_signature.map(|seq| ChainBreak::BadSignature { seq });
        let first = match (chain_break, bad_signature) {
            (Some(chain), Some(bad)) => Some(if bad.position() < chain.position() { bad } else { chain }),
            (chain, bad) => chain.or(bad),
        };
        match first {
            Some(found) => Err(found),
            None => Ok(VerifyReport {
                tenant: self.tenant,
                entries_verified: self.entries_verified,
                last_seq: self.last_seq,
                head: self.prev,
                checkpoints_matched: self.checkpoints_matched,
                anchored_seq: self.anchored_seq,
            }),
        }
    }

    const fn expected(&self) -> u64 {
        self.last_seq.saturating_add(1)
    }

    fn on_linking(&mut self, x: u64, seq: u64, canonical: &[u8], hash: &[u8]) -> State {
        if let Some(linked) = self.link(x, canonical, hash, &self.prev) {
            if seq != x {
                // The bytes are intact; the seq column was edited.
                return State::Broken(ChainBreak::ModifiedEntry { seq: x });
            }
            if !self.checkpoint_ok(x, &linked) {
                return State::SuspectModified { seq: x };
            }
            self.accept(linked);
            return State::Linking;
        }
        if seq == x {
            return State::SuspectModified { seq: x };
        }
        if seq > x {
            let held = StoredEntry { seq, canonical: canonical.to_vec(), hash: hash.to_vec() };
            return State::Gap { seq: x, held, between: 0 };
        }
        // A seq already passed: a second valid entry for the last seq is a fork at that seq;
        // anything else is an extra entry where `x` was expected.
        if seq == self.last_seq && seq > 0 && self.fit(seq, canonical, hash, &self.prev2).is_some() {
            State::Broken(ChainBreak::InsertedEntry { seq })
        } else {
            State::Broken(ChainBreak::InsertedEntry { seq: x })
        }
    }

    /// The entry's hash if its bytes decode, belong to this tenant at `seq`, and hash to the
    /// stored `hash` after `prev`.
    fn link(&self, seq: u64, canonical: &[u8], hash: &[u8], prev: &EntryHash) -> Option<EntryHash> {
        let computed = entry_hash(prev, canonical);
        let parsed = encoding::parse(canonical, |_, _| {}).ok()?;
        (computed.as_bytes().as_slice() == hash && parsed.seq == seq && parsed.tenant == self.tenant.as_uuid())
            .then_some(computed)
    }

    /// [`Self::link`], and consistent with every checkpoint at `seq`.
    fn fit(&self, seq: u64, canonical: &[u8], hash: &[u8], prev: &EntryHash) -> Option<EntryHash> {
        self.link(seq, canonical, hash, prev).filter(|linked| self.checkpoint_ok(seq, linked))
    }

    fn held_fits(&self, held: &StoredEntry, x: u64) -> bool {
        held.seq == x && self.fit(x, &held.canonical, &held.hash, &self.prev).is_some()
    }

    /// Whether every not yet passed checkpoint at `seq` names `hash`.
    fn checkpoint_ok(&self, seq: u64, hash: &EntryHash) -> bool {
        self.checkpoints
            .get(self.next_checkpoint..)
            .unwrap_or_default()
            .iter()
            .take_while(|(at, _)| *at == seq)
            .all(|(_, head)| head == hash)
    }

    fn accept(&mut self, hash: EntryHash) {
        self.last_seq = self.expected();
        self.prev2 = self.prev;
        self.prev = hash;
        self.entries_verified = self.entries_verified.saturating_add(1);
        self.pass_checkpoints(self.last_seq);
    }

    /// Counts the checkpoints at `seq` as matched (the caller checked them) and moves past them.
    fn pass_checkpoints(&mut self, seq: u64) {
        while let Some((at, _)) = self.checkpoints.get(self.next_checkpoint) {
            if *at != seq {
                break;
            }
            self.checkpoints_matched = self.checkpoints_matched.saturating_add(1);
            self.anchored_seq = seq;
            self.next_checkpoint = self.next_checkpoint.saturating_add(1);
        }
    }
}
