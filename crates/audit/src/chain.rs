//! The per-tenant SHA-256 chain: hashes, the chain head, and appending drafts to it.

use std::collections::BTreeMap;
use std::fmt;

use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::Actor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::detail::{DetailKey, DetailValue, Repr};
use crate::draft::AuditDraft;
use crate::encoding::{self, ActorRef, Header, ValueRef};

/// Domain-separation prefix of an entry hash.
pub const ENTRY_DOMAIN: &[u8] = b"hoheit-audit/v1/entry\0";
/// Domain-separation prefix of a tenant's genesis hash.
pub const GENESIS_DOMAIN: &[u8] = b"hoheit-audit/v1/genesis\0";

/// A SHA-256 hash in the chain (an entry's hash, or a tenant's genesis hash).
/// Prints and serializes as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryHash([u8; 32]);

/// Bytes or text that are not a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash (expected 32 bytes / 64 hex digits)")]
pub struct InvalidHash;

impl EntryHash {
    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 32 bytes read from storage.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidHash> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| InvalidHash)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, InvalidHash> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| InvalidHash)?;
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", self.to_hex())
    }
}

impl Serialize for EntryHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EntryHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// `SHA256("hoheit-audit/v1/genesis\0" || tenant_uuid_bytes)`: the "previous hash" of a tenant's
/// first entry. Binding the tenant into it makes one tenant's chain useless in another's.
pub fn genesis_hash(tenant: TenantId) -> EntryHash {
    let digest = Sha256::new().chain_update(GENESIS_DOMAIN).chain_update(tenant.as_uuid().as_bytes()).finalize();
    EntryHash(digest.into())
}

/// `SHA256("hoheit-audit/v1/entry\0" || prev_hash || canonical_bytes)`.
pub fn entry_hash(prev: &EntryHash, canonical: &[u8]) -> EntryHash {
    let digest = Sha256::new().chain_update(ENTRY_DOMAIN).chain_update(prev.0).chain_update(canonical).finalize();
    EntryHash(digest.into())
}

/// The end of a tenant's chain: the last sequence number and its hash (`0` and the genesis hash
/// for a tenant without entries). Persistence keeps exactly one head row per tenant and locks it
/// while appending (see the crate docs, "Appending without forks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    tenant: TenantId,
    seq: u64,
    hash: EntryHash,
}

/// A head read from storage that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a chain head at sequence 0 must carry the tenant's genesis hash")]
pub struct InvalidHead;

impl ChainHead {
    /// The head of a tenant without entries.
    pub fn genesis(tenant: TenantId) -> Self {
        Self { tenant, seq: 0, hash: genesis_hash(tenant) }
    }

    /// A head as stored in the head row. Sequence 0 must come with the genesis hash.
    pub fn new(tenant: TenantId, seq: u64, hash: EntryHash) -> Result<Self, InvalidHead> {
        if seq == 0 && hash != genesis_hash(tenant) {
            return Err(InvalidHead);
        }
        Ok(Self { tenant, seq, hash })
    }

    /// The tenant.
    pub const fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The last sequence number (0: no entries yet).
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    /// The last entry's hash (the genesis hash when there is none).
    pub const fn hash(&self) -> EntryHash {
        self.hash
    }
}

/// Why a draft cannot be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The draft belongs to another tenant than the head.
    #[error("draft of tenant {draft} appended to the chain of tenant {head}")]
    TenantMismatch {
        /// The head's tenant.
        head: TenantId,
        /// The draft's tenant.
        draft: TenantId,
    },
    /// The sequence number would overflow `u64`.
    #[error("audit sequence numbers exhausted")]
    SequenceExhausted,
    /// The entry time or a detail time cannot be represented in UTC (beyond year 9999).
    #[error("time out of range for an audit entry")]
    TimeOutOfRange,
}

/// An appended entry: its fields, its place in the chain, its canonical bytes and hash. Store
/// `seq`, `tenant`, `at`, `action`, `subject`, `canonical_bytes` and `hash`; the first five are
/// there for queries (by subject, by time) and are covered by the hash through the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    seq: u64,
    at: OffsetDateTime,
    draft: AuditDraft,
    canonical: Vec<u8>,
    hash: EntryHash,
}

impl AuditEntry {
    /// The tenant.
    pub const fn tenant(&self) -> TenantId {
        self.draft.tenant()
    }

    /// Sequence number in the tenant's chain, from 1.
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    /// When (UTC).
    pub const fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// Who.
    pub const fn actor(&self) -> Actor {
        self.draft.actor()
    }

    /// What (`consent.granted`, ...).
    pub const fn action(&self) -> &'static str {
        self.draft.action()
    }

    /// About which candidate (pseudonymous id), if any.
    pub const fn subject(&self) -> Option<CandidateId> {
        self.draft.subject()
    }

    /// The rule that decided, if any.
    pub const fn rule(&self) -> Option<Rule> {
        self.draft.rule()
    }

    /// The detail fields.
    pub const fn details(&self) -> &BTreeMap<DetailKey, DetailValue> {
        self.draft.details()
    }

    /// The canonical bytes (format v1) that the hash covers.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// `SHA256("hoheit-audit/v1/entry\0" || prev_hash || canonical_bytes)`.
    pub const fn hash(&self) -> EntryHash {
        self.hash
    }

    /// What persistence stores and later hands to the [`crate::Verifier`].
    pub fn to_stored(&self) -> StoredEntry {
        StoredEntry { seq: self.seq, canonical: self.canonical.clone(), hash: self.hash.0.to_vec() }
    }

    /// Like [`Self::to_stored`], without copying the bytes.
    pub fn into_stored(self) -> StoredEntry {
        StoredEntry { seq: self.seq, canonical: self.canonical, hash: self.hash.0.to_vec() }
    }
}

/// An entry as read back from storage: the `seq` column, the canonical bytes and the stored hash.
/// Nothing here is trusted; the [`crate::Verifier`] checks it. The hash is raw bytes so that a
/// damaged column (wrong length) is reported as a modified entry rather than failing the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The sequence number column.
    pub seq: u64,
    /// The canonical bytes column.
    pub canonical: Vec<u8>,
    /// The hash column (32 bytes when intact).
    pub hash: Vec<u8>,
}

/// Appends one draft after `head` at time `at`: the entry gets `head.seq() + 1`, its canonical
/// bytes and its hash; the returned head replaces `head`. Pure: the caller persists both in the
/// transaction that holds the head lock (crate docs, "Appending without forks").
///
/// `at` is normalised to UTC. Pass the time of the change being recorded (the event envelope's
/// `at`); time is not required to grow along the chain, the sequence number orders it.
pub fn append(head: &ChainHead, draft: AuditDraft, at: OffsetDateTime) -> Result<(AuditEntry, ChainHead), AppendError> {
    if draft.tenant() != head.tenant {
        return Err(AppendError::TenantMismatch { head: head.tenant, draft: draft.tenant() });
    }
    let seq = head.seq.checked_add(1).ok_or(AppendError::SequenceExhausted)?;
    let at = encoding::to_utc(at).ok_or(AppendError::TimeOutOfRange)?;
    let canonical = encode_draft(&draft, seq, at)?;
    let hash = entry_hash(&head.hash, &canonical);
    let next = ChainHead { tenant: head.tenant, seq, hash };
    Ok((AuditEntry { seq, at, draft, canonical, hash }, next))
}

/// Appends drafts in order (all recorded by one commit, at one time). All or nothing: on error
/// nothing is returned and the caller's head is unchanged.
pub fn append_all(
    head: &ChainHead,
    drafts: impl IntoIterator<Item = AuditDraft>,
    at: OffsetDateTime,
) -> Result<(Vec<AuditEntry>, ChainHead), AppendError> {
    let mut current = *head;
    let drafts = drafts.into_iter();
    let mut entries = Vec::with_capacity(drafts.size_hint().0);
    for draft in drafts {
        let (entry, next) = append(&current, draft, at)?;
        entries.push(entry);
        current = next;
    }
    Ok((entries, current))
}

fn encode_draft(draft: &AuditDraft, seq: u64, at: OffsetDateTime) -> Result<Vec<u8>, AppendError> {
    let actor = match draft.actor() {
        Actor::System => ActorRef::System,
        Actor::Staff { id, role } => ActorRef::Staff { id: id.as_uuid(), role: role.as_str() },
        Actor::Candidate => ActorRef::Candidate,
    };
    let header = Header {
        tenant: draft.tenant().as_uuid(),
        seq,
        at,
        actor,
        action: draft.action(),
        subject: draft.subject().map(|s| s.as_uuid()),
        rule: draft.rule().map(Rule::as_str),
    };
    // Times are encoded as unix seconds + nanoseconds and must decode back into UTC.
    for value in draft.details().values() {
        if let Repr::Time(t) = value.0
            && encoding::to_utc(t).is_none()
        {
            return Err(AppendError::TimeOutOfRange);
        }
    }
    let details = draft.details().iter().map(|(key, value)| {
        let value = match value.0 {
            Repr::Id(id) => ValueRef::Id(id),
            Repr::Code(code) => ValueRef::Code(code),
            Repr::Int(v) => ValueRef::Int(v),
            Repr::Count(v) => ValueRef::Count(v),
            Repr::Bool(v) => ValueRef::Bool(v),
            Repr::Time(t) => ValueRef::Time(t),
        };
        (key.as_str(), value)
    });
    Ok(encoding::encode(&header, details))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoheit_domain::tenant::Role;
    use time::macros::datetime;
    use uuid::Uuid;

    fn tenant() -> TenantId {
        TenantId::from_uuid(Uuid::from_u128(1))
    }

    fn draft() -> AuditDraft {
        AuditDraft::new(tenant(), Actor::System, "tenant.created")
    }

    const NOW: OffsetDateTime = datetime!(2025-01-01 12:00 UTC);

    #[test]
    fn sequence_numbers_start_at_one_and_hashes_chain() {
        let genesis = ChainHead::genesis(tenant());
        assert_eq!((genesis.seq(), genesis.hash()), (0, genesis_hash(tenant())));
        let (first, head) = append(&genesis, draft(), NOW).unwrap();
        assert_eq!(first.seq(), 1);
        assert_eq!(first.hash(), entry_hash(&genesis.hash(), first.canonical_bytes()));
        let (second, head2) = append(&head, draft(), NOW).unwrap();
        assert_eq!(second.seq(), 2);
        assert_eq!(second.hash(), entry_hash(&first.hash(), second.canonical_bytes()));
        assert_eq!(head2, ChainHead::new(tenant(), 2, second.hash()).unwrap());
        // Same content at another place in the chain hashes differently.
        assert_ne!(first.hash(), second.hash());
    }

    #[test]
    fn genesis_differs_per_tenant() {
        assert_ne!(genesis_hash(tenant()), genesis_hash(TenantId::from_uuid(Uuid::from_u128(2))));
    }

    #[test]
    fn a_draft_of_another_tenant_is_refused() {
        let other = TenantId::from_uuid(Uuid::from_u128(2));
        let err = append(&ChainHead::genesis(other), draft(), NOW).unwrap_err();
        assert_eq!(err, AppendError::TenantMismatch { head: other, draft: tenant() });
    }

    #[test]
    fn append_all_is_all_or_nothing() {
        let other = TenantId::from_uuid(Uuid::from_u128(2));
        let head = ChainHead::genesis(tenant());
        let drafts = vec![draft(), AuditDraft::new(other, Actor::Candidate, "x")];
        assert!(append_all(&head, drafts, NOW).is_err());
        let (entries, next) = append_all(&head, vec![draft(), draft(), draft()], NOW).unwrap();
        assert_eq!(entries.iter().map(AuditEntry::seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(next.seq(), 3);
        assert_eq!(next.hash(), entries[2].hash());
    }

    #[test]
    fn limits_are_errors_not_panics() {
        let full = ChainHead::new(tenant(), u64::MAX, EntryHash([1; 32])).unwrap();
        assert_eq!(append(&full, draft(), NOW).unwrap_err(), AppendError::SequenceExhausted);
        let far = datetime!(9999-12-31 23:00 -5);
        let head = ChainHead::genesis(tenant());
        assert_eq!(append(&head, draft(), far).unwrap_err(), AppendError::TimeOutOfRange);
        let with_far_detail = draft().with_detail(DetailKey::DueAt, far);
        assert_eq!(append(&head, with_far_detail, NOW).unwrap_err(), AppendError::TimeOutOfRange);
        assert_eq!(ChainHead::new(tenant(), 0, EntryHash([1; 32])), Err(InvalidHead));
    }

    #[test]
    fn entry_time_is_normalised_to_utc() {
        let head = ChainHead::genesis(tenant());
        let (a, _) = append(&head, draft(), datetime!(2025-01-01 13:00 +1)).unwrap();
        let (b, _) = append(&head, draft(), NOW).unwrap();
        assert_eq!(a.at(), NOW);
        assert_eq!(a.at().offset(), time::UtcOffset::UTC);
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn entries_expose_what_persistence_indexes() {
        let subject = CandidateId::from_uuid(Uuid::from_u128(9));
        let staff = hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(3));
        let d = AuditDraft::new(tenant(), Actor::Staff { id: staff, role: Role::Dpo }, "content.read")
            .with_subject(subject)
            .with_rule(Rule::R33)
            .with_detail(DetailKey::Content, "export");
        let (entry, _) = append(&ChainHead::genesis(tenant()), d, NOW).unwrap();
        assert_eq!(
            (entry.tenant(), entry.action(), entry.subject(), entry.at()),
            (tenant(), "content.read", Some(subject), NOW)
        );
        assert_eq!(entry.rule(), Some(Rule::R33));
        assert_eq!(entry.details().len(), 1);
        let stored = entry.to_stored();
        assert_eq!(
            (stored.seq, stored.canonical.as_slice(), stored.hash.as_slice()),
            (1, entry.canonical_bytes(), &entry.hash().as_bytes()[..])
        );
        assert_eq!(entry.clone().into_stored(), stored);
    }

    #[test]
    fn hashes_parse_and_print_as_hex() {
        let hash = genesis_hash(tenant());
        assert_eq!(EntryHash::from_hex(&hash.to_hex()), Ok(hash));
        assert_eq!(EntryHash::from_slice(hash.as_bytes()), Ok(hash));
        assert_eq!(EntryHash::from_slice(&[0; 31]), Err(InvalidHash));
        assert_eq!(EntryHash::from_hex("zz"), Err(InvalidHash));
        assert_eq!(format!("{hash}"), hash.to_hex());
        assert_eq!(serde_json::to_string(&hash).unwrap(), format!("\"{hash}\""));
    }
}
