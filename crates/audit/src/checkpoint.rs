//! Signed checkpoints: a tenant's chain head (sequence number and hash) at a point in time,
//! signed with ed25519 so that a DPO can keep it outside hoheit and later prove that the history
//! up to it was neither rewritten nor cut off.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hoheit_domain::ids::TenantId;
use rand_core::CryptoRngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::chain::{ChainHead, EntryHash};

/// Domain-separation prefix of the signed checkpoint bytes.
pub const CHECKPOINT_DOMAIN: &[u8] = b"hoheit-audit/v1/checkpoint\0";

/// The `format` field of a checkpoint's JSON.
pub const CHECKPOINT_FORMAT: &str = "hoheit-audit/v1/checkpoint";

/// Length of the signed bytes: prefix (27) + tenant (16) + seq (8) + head (32) + unix seconds (8).
pub const SIGNED_LEN: usize = 27 + 16 + 8 + 32 + 8;

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not valid base64 / hex.
    #[error("key is not valid {0}")]
    Encoding(&'static str),
    /// Not 32 bytes.
    #[error("key must be 32 bytes, got {0}")]
    Length(usize),
    /// The bytes are not an ed25519 public key.
    #[error("not an ed25519 public key")]
    NotAPublicKey,
}

/// Why a checkpoint is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signature does not verify under the given public key (another key signed it, or a
    /// field was changed after signing).
    #[error("checkpoint signature invalid for this public key")]
    BadSignature,
}

/// A chain head at a time: what gets signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    tenant: TenantId,
    seq: u64,
    head: EntryHash,
    at: OffsetDateTime,
}

impl Checkpoint {
    /// A checkpoint of `head` at `at`. The time is kept in whole seconds (UTC): that is all it
    /// signs, and it keeps verification by hand simple.
    pub fn new(head: &ChainHead, at: OffsetDateTime) -> Self {
        let at = OffsetDateTime::from_unix_timestamp(at.unix_timestamp()).unwrap_or(at);
        Self { tenant: head.tenant(), seq: head.seq(), head: head.hash(), at }
    }

    /// The tenant.
    pub const fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The sequence number of the last entry covered (0: the empty chain).
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    /// The hash of that entry (the genesis hash for sequence 0).
    pub const fn head(&self) -> EntryHash {
        self.head
    }

    /// When it was taken (UTC, whole seconds).
    pub const fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// The exact bytes the signature covers:
    /// `"hoheit-audit/v1/checkpoint\0" || tenant (16) || seq (u64 BE) || head (32) || unix seconds (i64 BE)`.
    pub fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut out = [0u8; SIGNED_LEN];
        let tenant = self.tenant.as_uuid();
        let parts: [&[u8]; 5] = [
            CHECKPOINT_DOMAIN,
            tenant.as_bytes(),
            &self.seq.to_be_bytes(),
            self.head.as_bytes(),
            &self.at.unix_timestamp().to_be_bytes(),
        ];
        let mut pos = 0;
        for part in parts {
            let end = pos + part.len();
            if let Some(dst) = out.get_mut(pos..end) {
                dst.copy_from_slice(part);
            }
            pos = end;
        }
        out
    }
}

/// A checkpoint with its ed25519 signature. Serializes to the JSON a DPO keeps:
///
/// ```json
/// {"format":"hoheit-audit/v1/checkpoint","tenant":"<uuid>","seq":42,
///  "head":"<64 hex>","at":"2025-01-01T00:00:00Z","signature":"<base64, 64 bytes>"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CheckpointJson", try_from = "CheckpointJson")]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    signature: [u8; 64],
}

impl SignedCheckpoint {
    /// The signed content (not yet verified: use [`verify_checkpoint`]).
    pub const fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The tenant.
    pub const fn tenant(&self) -> TenantId {
        self.checkpoint.tenant
    }

    /// The sequence number covered.
    pub const fn seq(&self) -> u64 {
        self.checkpoint.seq
    }

    /// The head hash at that sequence number.
    pub const fn head(&self) -> EntryHash {
        self.checkpoint.head
    }

    /// When it was taken.
    pub const fn at(&self) -> OffsetDateTime {
        self.checkpoint.at
    }

    /// The 64 signature bytes.
    pub const fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Pretty JSON for export. Fails only for a time outside RFC 3339 (before year 0).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Parses the exported JSON (the signature is not checked here).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointJson {
    format: String,
    tenant: TenantId,
    seq: u64,
    head: EntryHash,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    signature: String,
}

impl From<SignedCheckpoint> for CheckpointJson {
    fn from(value: SignedCheckpoint) -> Self {
        Self {
            format: CHECKPOINT_FORMAT.to_owned(),
            tenant: value.checkpoint.tenant,
            seq: value.checkpoint.seq,
            head: value.checkpoint.head,
            at: value.checkpoint.at,
            signature: BASE64.encode(value.signature),
        }
    }
}

impl TryFrom<CheckpointJson> for SignedCheckpoint {
    type Error = String;

    fn try_from(value: CheckpointJson) -> Result<Self, Self::Error> {
        if value.format != CHECKPOINT_FORMAT {
            return Err(format!("unknown checkpoint format {:?}", value.format));
        }
        // Only whole seconds are signed; a fraction would be an unsigned (forgeable) field.
        if value.at.nanosecond() != 0 {
            return Err("checkpoint time must be whole seconds".to_owned());
        }
        let bytes = BASE64.decode(value.signature.trim()).map_err(|_| "signature is not base64".to_owned())?;
        let signature = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| "signature must be 64 bytes".to_owned())?;
        let at = OffsetDateTime::from_unix_timestamp(value.at.unix_timestamp()).unwrap_or(value.at);
        Ok(Self { checkpoint: Checkpoint { tenant: value.tenant, seq: value.seq, head: value.head, at }, signature })
    }
}

/// The checkpoint signing key (ed25519). A secret: loaded from configuration, zeroized on drop
/// (ed25519-dalek's `SigningKey` zeroizes itself), never printed by `Debug`.
pub struct CheckpointSigner {
    key: SigningKey,
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner").field("public_key", &self.public_key().to_base64()).finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// The key from its 32 secret bytes (the ed25519 seed).
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(<[u8; 32]>::try_from(bytes).map_err(|_| KeyError::Length(bytes.len()))?);
        Ok(Self { key: SigningKey::from_bytes(&seed) })
    }

    /// The key from the base64 of its 32 secret bytes, as configuration holds it.
    pub fn from_base64(secret: &SecretString) -> Result<Self, KeyError> {
        let bytes =
            Zeroizing::new(BASE64.decode(secret.expose_secret().trim()).map_err(|_| KeyError::Encoding("base64"))?);
        Self::from_secret_bytes(&bytes)
    }

    /// A fresh key (development, `hoheit audit keygen`). Production keys come from configuration.
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        Self { key: SigningKey::generate(rng) }
    }

    /// The secret as base64, for writing a freshly generated key into configuration once.
    pub fn to_base64_secret(&self) -> SecretString {
        let seed = Zeroizing::new(self.key.to_bytes());
        SecretString::from(BASE64.encode(*seed))
    }

    /// The public key a DPO verifies checkpoints with.
    pub fn public_key(&self) -> CheckpointKey {
        CheckpointKey(self.key.verifying_key())
    }

    /// Signs the chain head `head` as of `at`.
    pub fn sign(&self, head: &ChainHead, at: OffsetDateTime) -> SignedCheckpoint {
        let checkpoint = Checkpoint::new(head, at);
        let signature = self.key.sign(&checkpoint.signed_bytes());
        SignedCheckpoint { checkpoint, signature: signature.to_bytes() }
    }
}

/// An ed25519 public key that verifies checkpoints. Exported as base64 or hex (32 raw bytes) or
/// as PEM (SubjectPublicKeyInfo) for `openssl`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CheckpointKey(VerifyingKey);

/// DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (32 bytes) }.
const SPKI_ED25519_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

impl CheckpointKey {
    /// From the 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| KeyError::Length(bytes.len()))?;
        VerifyingKey::from_bytes(&bytes).map(Self).map_err(|_| KeyError::NotAPublicKey)
    }

    /// From base64 of the 32 raw bytes.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| KeyError::Encoding("base64"))?;
        Self::from_bytes(&bytes)
    }

    /// From hex of the 32 raw bytes.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Encoding("hex"))?;
        Self::from_bytes(&bytes)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Base64 of the 32 raw bytes.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_bytes())
    }

    /// Hex of the 32 raw bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// PEM (`-----BEGIN PUBLIC KEY-----`), readable by `openssl pkeyutl` and Python's
    /// `cryptography` (`load_pem_public_key`).
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_ED25519_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", BASE64.encode(der))
    }
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointKey({})", self.to_base64())
    }
}

impl fmt::Display for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Checks a checkpoint's signature under `key` (strict ed25519 verification: no malleable
/// signatures, no weak keys) and returns what it vouches for.
pub fn verify_checkpoint(signed: &SignedCheckpoint, key: &CheckpointKey) -> Result<Checkpoint, CheckpointError> {
    let signature = Signature::from_bytes(&signed.signature);
    key.0
        .verify_strict(&signed.checkpoint.signed_bytes(), &signature)
        .map(|()| signed.checkpoint)
        .map_err(|_| CheckpointError::BadSignature)
}
