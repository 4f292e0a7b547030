//! # hoheit-audit — the tamper-evident audit log (R34)
//!
//! An adapter-side library of the hexagon, used by the persistence adapter and the `hoheit audit`
//! commands. It does no I/O: it turns domain events into audit entries, encodes them
//! canonically, chains them per tenant with SHA-256, signs checkpoints of a chain with ed25519,
//! and verifies a stored chain against those checkpoints. Persistence writes the entries in the
//! same database transaction as the change they record (see "Appending without forks").
//!
//! The goal, from the issue: *the DPO can prove what happened (consent given, objection
//! honoured, message blocked and why, data exported or erased) and can detect if anyone —
//! including the platform operator — changed that history.*
//!
//! ```
//! use hoheit_audit::{AuditDraft, ChainHead, CheckpointSigner, Verifier, append_all};
//! use hoheit_domain::events::{DomainEvent, EventEnvelope};
//! use hoheit_domain::consent::Purpose;
//! use hoheit_domain::ids::{CandidateId, TenantId};
//! use hoheit_domain::rules::Rule;
//! use hoheit_domain::tenant::Actor;
//! use time::macros::datetime;
//! use uuid::Uuid;
//!
//! let tenant = TenantId::from_uuid(Uuid::from_u128(1));
//! let now = datetime!(2025-03-01 09:30 UTC);
//! let withdrawn = EventEnvelope {
//!     tenant,
//!     subject: Some(CandidateId::from_uuid(Uuid::from_u128(2))),
//!     actor: Actor::Candidate,
//!     at: now,
//!     rule: Some(Rule::R8),
//!     event: DomainEvent::ConsentWithdrawn { purpose: Purpose::WhatsAppChannel },
//! };
//! let drafts = [withdrawn].iter().filter_map(AuditDraft::from_event).collect::<Vec<_>>();
//!
//! // Inside the commit transaction, under the head lock:
//! let head = ChainHead::genesis(tenant); // read from the head row
//! let (entries, new_head) = append_all(&head, drafts, now).unwrap();
//! assert_eq!(entries[0].action(), "consent.withdrawn");
//! // ... INSERT the entries, UPDATE the head row to new_head, COMMIT.
//!
//! // Later: sign a checkpoint for the DPO, and verify the stored chain against it.
//! let signer = CheckpointSigner::from_secret_bytes(&[42; 32]).unwrap();
//! let checkpoint = signer.sign(&new_head, now);
//! let stored: Vec<_> = entries.iter().map(|e| e.to_stored()).collect();
//! let report = Verifier::verify_all(tenant, vec![checkpoint], &signer.public_key(), &stored).unwrap();
//! assert_eq!(report.anchored_seq, 1);
//! ```
//!
//! ## What an entry holds (and cannot hold)
//!
//! Sequence number per tenant (from 1), UTC time, actor (staff id + role, system, or the
//! candidate via WhatsApp), action (`consent.granted`, from [`DomainEvent::action`](hoheit_domain::events::DomainEvent::action)), subject as
//! a pseudonymous [`CandidateId`](hoheit_domain::ids::CandidateId), the rule code where a decision was made, and a small
//! structured detail whose keys come from the allow-list [`DetailKey`].
//!
//! No phone number, message text, name or token can be put into an entry, and this is proven by
//! the types rather than by a filter: a draft's action and every text value are `&'static str`
//! (codes compiled into the binary), ids are the domain's UUID newtypes, and the remaining values
//! are integers, booleans and times ([`DetailValue`] has no constructor from `String` or `&str`
//! with a shorter lifetime; see the `compile_fail` examples in [`detail`]). Entries read back
//! from storage ([`DecodedEntry`]) own their strings, but those were hashed from drafts. The test
//! `tests/no_personal_data.rs` additionally builds the entry of every event variant and checks
//! its bytes and JSON for anything resembling a number or free text.
//!
//! Because entries hold no personal data, **erasing a candidate never touches audit entries**:
//! the chain stays complete and verifiable after erasure (R27), and the candidate id in old
//! entries no longer leads to a person once the candidate's data is gone.
//!
//! ## Canonical encoding (format v1)
//!
//! Each entry has exactly one byte representation; the hash is taken over it. Integers are
//! big-endian; strings are UTF-8 with a length prefix; the decoder ([`decode`]) rejects every
//! other byte string with a [`DecodeError`] (never a panic), so `encode(decode(b)) == b`.
//! This layout is frozen: a change needs a new version byte, and the golden test
//! `tests/golden.rs` fails if the bytes of a fixed entry change.
//!
//! | offset | size | field | encoding |
//! |---|---|---|---|
//! | 0 | 1 | format version | `0x01` |
//! | 1 | 16 | tenant | UUID, 16 bytes in RFC 4122 order |
//! | 17 | 8 | sequence number | u64, from 1 |
//! | 25 | 8 | time, seconds | i64 Unix seconds (UTC) |
//! | 33 | 4 | time, nanoseconds | u32, below 1 000 000 000 |
//! | 37 | 1 | actor tag | `0` system, `1` staff, `2` candidate |
//! | 38 | 16 + 2 + n | staff only: id, role | UUID; u16 length + role name (`dpo`) |
//! | … | 2 + n | action | u16 length + name (`consent.granted`) |
//! | … | 1 (+ 16) | subject | `0` none, or `1` + candidate UUID |
//! | … | 1 (+ 2 + n) | rule | `0` none, or `1` + u16 length + id (`R12`) |
//! | … | 2 | detail count | u16 |
//! | … | 1 + n | per detail: key | u8 length + key name; keys strictly ascending by bytes |
//! | … | 1 + … | per detail: value | type tag, then: `1` id → 16 bytes; `2` code → u16 length + UTF-8; `3` int → i64; `4` count → u64; `5` bool → `0`/`1`; `6` time → i64 seconds + u32 nanoseconds |
//!
//! Detail keys are written by name, so adding a key to the allow-list never changes existing
//! bytes, and an old entry decodes with any later release.
//!
//! ## The chain
//!
//! ```text
//! genesis(tenant) = SHA256("hoheit-audit/v1/genesis\0" || tenant_uuid_bytes)
//! hash_n          = SHA256("hoheit-audit/v1/entry\0"   || hash_(n-1) || canonical_bytes_n)
//! ```
//!
//! with `hash_0 = genesis(tenant)`. The prefixes separate these hashes from every other use of
//! SHA-256; the tenant is in the genesis hash and in every entry, so entries cannot be moved
//! between tenants. [`append`] / [`append_all`] compute the next entries from a [`ChainHead`].
//!
//! ## Appending without forks: the head-lock contract for persistence
//!
//! Two concurrent commits for one tenant must never both append after the same head (that would
//! fork the chain: two entries with the same sequence number, one of them orphaned). The
//! persistence adapter MUST implement:
//!
//! ```sql
//! CREATE TABLE audit_heads (
//!     tenant_id  <uuid>   PRIMARY KEY,
//!     seq        BIGINT   NOT NULL,            -- 0 for a new tenant
//!     hash       <bytes>  NOT NULL             -- 32 bytes; genesis hash for seq 0
//! );
//! CREATE TABLE audit_entries (
//!     tenant_id  <uuid>   NOT NULL,
//!     seq        BIGINT   NOT NULL,
//!     at         <time>   NOT NULL,            -- AuditEntry::at, for time-range queries
//!     action     TEXT     NOT NULL,            -- AuditEntry::action
//!     subject_id <uuid>   NULL,                -- AuditEntry::subject, for "by candidate"
//!     canonical  <bytes>  NOT NULL,            -- AuditEntry::canonical_bytes
//!     hash       <bytes>  NOT NULL,            -- AuditEntry::hash (32 bytes)
//!     PRIMARY KEY (tenant_id, seq)             -- the last line of defence against forks
//! );
//! CREATE INDEX audit_entries_subject ON audit_entries (tenant_id, subject_id, seq);
//! CREATE INDEX audit_entries_at      ON audit_entries (tenant_id, at);
//! ```
//!
//! In the one transaction that commits the state change (never across port calls):
//!
//! 1. Make sure the head row exists: written with the tenant (`ChainHead::genesis`), or
//!    `INSERT ... VALUES (tenant, 0, genesis) ON CONFLICT (tenant_id) DO NOTHING` (PostgreSQL
//!    and SQLite both accept this).
//! 2. Lock and read the head row:
//!    - PostgreSQL: `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE` at READ
//!      COMMITTED (the default). A second writer blocks here until the first commits, then reads
//!      the new head. Under REPEATABLE READ / SERIALIZABLE it gets a serialization failure
//!      instead: roll back and retry the whole commit.
//!    - SQLite: open the transaction with `BEGIN IMMEDIATE`, so the write lock is taken before
//!      the head is read (SQLite serialises writers; a `DEFERRED` transaction that reads first
//!      can read a head that is stale by the time it writes, and then fails with `SQLITE_BUSY`).
//!      With SeaORM: `begin_with_options(TransactionOptions { sqlite_transaction_mode:
//!      Some(SqliteTransactionMode::Immediate), ..Default::default() })`. Then a plain
//!      `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`.
//! 3. `ChainHead::new(tenant, seq, hash)`, then [`append_all`] the commit's drafts (made with
//!    [`AuditDraft::from_event`]) at the commit's time.
//! 4. `INSERT` every entry (the `(tenant_id, seq)` key rejects a duplicate).
//! 5. `UPDATE audit_heads SET seq = $new_seq, hash = $new_hash WHERE tenant_id = $t AND seq =
//!    $old_seq` and require exactly one affected row (a compare-and-set that also catches a
//!    writer that skipped step 2).
//! 6. Commit together with the state change and outbox rows.
//!
//! Any failure in 2–6 (unique violation, zero rows in 5, serialization failure, `SQLITE_BUSY`)
//! rolls back everything, including the domain change, and the commit is retried or reported;
//! a sequence number is never patched up outside the transaction. Entries are never updated or
//! deleted (not by erasure, not by retention). After verification, compare
//! [`VerifyReport::head`] with the head row: a difference means entries were cut off the end.
//!
//! Reading: list entries `WHERE tenant_id = ? AND subject_id = ? ORDER BY seq` (a candidate's
//! export, R30) or `WHERE tenant_id = ? AND at BETWEEN ? AND ? ORDER BY seq`; show them with
//! [`decode`] (a [`DecodedEntry`] serializes to JSON). To verify, stream `SELECT seq, canonical,
//! hash FROM audit_entries WHERE tenant_id = ? ORDER BY seq` into a [`Verifier`] (row by row
//! with [`Verifier::push_raw`]); memory stays O(number of checkpoints) however long the chain
//! is. `seq` is a `BIGINT` in SQL: convert with `u64::try_from` and pass a negative value as
//! `u64::MAX` (it is then reported as a break, as it should be).
//!
//! ## Checkpoints, and how a DPO verifies one by hand
//!
//! A [`SignedCheckpoint`] is a tenant's head (sequence number and hash) at a time, signed with the
//! ed25519 key of the hoheit installation ([`CheckpointSigner`], loaded from configuration as
//! base64 of its 32 secret bytes). The DPO keeps the exported JSON and the public key
//! ([`CheckpointKey`], as base64, hex or PEM) outside hoheit. Later, [`Verifier`] proves that the
//! stored chain still contains exactly that history up to the checkpoint: an edit, deletion,
//! insertion or reordering before it, a rewrite with recomputed hashes, or cutting the chain
//! short are all reported ([`ChainBreak`]).
//!
//! ```json
//! {
//!   "format": "hoheit-audit/v1/checkpoint",
//!   "tenant": "00000000-0000-0000-0000-000000000001",
//!   "seq": 1234,
//!   "head": "<64 hex digits>",
//!   "at": "2025-03-01T09:30:00Z",
//!   "signature": "<base64 of 64 bytes>"
//! }
//! ```
//!
//! The signature is plain ed25519 (RFC 8032) over exactly these 91 bytes:
//!
//! | bytes | content |
//! |---|---|
//! | 27 | ASCII `hoheit-audit/v1/checkpoint` followed by one zero byte |
//! | 16 | the tenant UUID's 16 bytes (the hex digits of `tenant` without dashes) |
//! | 8 | `seq`, unsigned 64-bit big-endian |
//! | 32 | `head`, the 32 bytes of the hex string |
//! | 8 | `at` as Unix seconds, signed 64-bit big-endian (the time has no fraction) |
//!
//! With Python and the `cryptography` package:
//!
//! ```python
//! import base64, datetime, json, struct, uuid
//! from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
//!
//! cp = json.load(open("checkpoint.json"))
//! key = Ed25519PublicKey.from_public_bytes(base64.b64decode("<public key, base64>"))
//! at = datetime.datetime.fromisoformat(cp["at"].replace("Z", "+00:00"))
//! msg = (b"hoheit-audit/v1/checkpoint\x00"
//!        + uuid.UUID(cp["tenant"]).bytes
//!        + struct.pack(">Q", cp["seq"])
//!        + bytes.fromhex(cp["head"])
//!        + struct.pack(">q", int(at.timestamp())))
//! key.verify(base64.b64decode(cp["signature"]), msg)  # raises InvalidSignature if not genuine
//! print("checkpoint genuine:", cp["tenant"], cp["seq"], cp["head"])
//! ```
//!
//! With OpenSSL 3 (the public key in PEM, from [`CheckpointKey::to_pem`]):
//!
//! ```sh
//! { printf 'hoheit-audit/v1/checkpoint\000'
//!   printf '%s' "$TENANT" | tr -d '-' | xxd -r -p
//!   printf '%016x' "$SEQ" | xxd -r -p
//!   printf '%s' "$HEAD" | xxd -r -p
//!   printf '%016x' "$(date -u -d "$AT" +%s)" | xxd -r -p
//! } > checkpoint.bin                          # must be 91 bytes
//! printf '%s' "$SIGNATURE" | base64 -d > checkpoint.sig
//! openssl pkeyutl -verify -pubin -inkey checkpoint-key.pem -rawin \
//!     -in checkpoint.bin -sigfile checkpoint.sig   # "Signature Verified Successfully"
//! ```
//!
//! To check the chain itself without hoheit, export the rows `(seq, canonical, hash)` of the
//! tenant in `seq` order and recompute: start with `h = SHA256(b"hoheit-audit/v1/genesis\0" +
//! tenant_bytes)`; for each row check that `seq` follows the previous one and that
//! `SHA256(b"hoheit-audit/v1/entry\0" + h + canonical)` equals the row's hash, then set `h` to
//! it. At the checkpoint's `seq`, `h` must equal the checkpoint's `head`.
//!
//! The secret signing key never leaves the server's configuration; [`CheckpointSigner`] zeroizes
//! it on drop and its `Debug` shows only the public key.

pub mod chain;
pub mod checkpoint;
pub mod detail;
pub mod draft;
pub mod encoding;
pub mod verify;

pub use chain::{
    AppendError, AuditEntry, ChainHead, ENTRY_DOMAIN, EntryHash, GENESIS_DOMAIN, InvalidHash, InvalidHead, StoredEntry,
    append, append_all, entry_hash, genesis_hash,
};
pub use checkpoint::{
    CHECKPOINT_DOMAIN, CHECKPOINT_FORMAT, Checkpoint, CheckpointError, CheckpointKey, CheckpointSigner, KeyError,
    SIGNED_LEN, SignedCheckpoint, verify_checkpoint,
};
pub use detail::{DetailKey, DetailValue};
pub use draft::AuditDraft;
pub use encoding::{
    DecodeError, DecodedActor, DecodedEntry, DecodedValue, FORMAT_VERSION, MAX_KEY_LEN, MAX_STR_LEN, decode,
};
pub use verify::{ChainBreak, Flow, Verifier, VerifyReport};
