//! Envelope encryption at rest.
//!
//! ```text
//! master key (configuration, never in the database)
//!   └─ wraps one key per tenant            (table tenant_keys)
//!        ├─ wraps one key per candidate    (column candidates.wrapped_key)
//!        │    └─ seals the candidate's personal data: state, message bodies and provider ids,
//!        │       outbox content, media
//!        ├─ seals tenant secrets: channel details, channel credentials
//!        ├─ derives the blind-index key: HMAC-SHA256 of normalised numbers / user ids
//!        └─ derives the provider-id key: HMAC-SHA256 of wamids (dedupe, status matching)
//! ```
//!
//! AEAD is XChaCha20-Poly1305 (192-bit random nonces are safe). Every ciphertext is
//! `0x01 | key_version (u32 BE) | nonce (24) | ciphertext+tag`, and its associated data binds
//! tenant, table, row id, column and key version, so a ciphertext copied to another row, column
//! or tenant fails to decrypt. Destroying a candidate key (erasure) makes every ciphertext of
//! that candidate unreadable, in the live database and in any backup taken later.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Why something could not be decrypted or unwrapped. Says nothing about the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Too short, wrong format byte.
    #[error("ciphertext is malformed")]
    Malformed,
    /// Authentication failed: wrong key, tampered bytes, or a ciphertext from another
    /// row/column/tenant.
    #[error("ciphertext does not authenticate for this record")]
    Unauthentic,
    /// The key was destroyed (the candidate was erased).
    #[error("the key for this record was destroyed")]
    Shredded,
    /// A master key of the wrong size.
    #[error("the master key must be 32 bytes (64 hex digits or base64)")]
    BadMasterKey,
}

/// A 256-bit symmetric key that zeroizes on drop and never prints.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyBytes([u8; 32]);

impl KeyBytes {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<secret>)")
    }
}

/// Which record a ciphertext belongs to; becomes the associated data.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// Tenant.
    pub tenant: Uuid,
    /// Table.
    pub table: &'a str,
    /// Row id.
    pub row: Uuid,
    /// Column.
    pub column: &'a str,
}

impl Binding<'_> {
    fn aad(&self, version: u32) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + self.table.len() + self.column.len());
        aad.extend_from_slice(b"hoheit/v1\0");
        aad.extend_from_slice(self.tenant.as_bytes());
        aad.extend_from_slice(self.table.as_bytes());
        aad.push(0);
        aad.extend_from_slice(self.row.as_bytes());
        aad.extend_from_slice(self.column.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }
}

/// Seals `plaintext` under `key` (of version `version`) for the record `binding`.
pub fn seal(key: &KeyBytes, version: u32, binding: &Binding<'_>, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = binding.aad(version);
    // Encryption with a valid key and nonce cannot fail for inputs below 256 GiB.
    let ciphertext =
        key.cipher().encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad }).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(FORMAT);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// The key version a ciphertext was sealed with.
pub fn key_version(sealed: &[u8]) -> Result<u32, CryptoError> {
    match sealed {
        [FORMAT, a, b, c, d, ..] if sealed.len() >= HEADER_LEN + 16 => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(CryptoError::Malformed),
    }
}

/// Opens a ciphertext sealed by [`seal`] for the same record.
pub fn open(key: &KeyBytes, binding: &Binding<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let version = key_version(sealed)?;
    let nonce = sealed.get(5..HEADER_LEN).ok_or(CryptoError::Malformed)?;
    let body = sealed.get(HEADER_LEN..).ok_or(CryptoError::Malformed)?;
    let aad = binding.aad(version);
    key.cipher()
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Unauthentic)
}

/// The master key: wraps tenant keys. From configuration, never stored in the database.
pub struct MasterKey {
    key: KeyBytes,
    version: u32,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(version {}, <secret>)", self.version)
    }
}

impl MasterKey {
    /// Parses 32 bytes given as 64 hex digits or base64.
    pub fn from_secret(secret: &SecretBox<str>, version: u32) -> Result<Self, CryptoError> {
        let text = secret.expose_secret().trim();
        let bytes = Zeroizing::new(decode_key_text(text).ok_or(CryptoError::BadMasterKey)?);
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self { key: KeyBytes(array), version })
    }

    /// A random master key (tests, first start in development).
    pub fn generate(version: u32) -> Self {
        Self { key: KeyBytes::random(), version }
    }

    /// The key as 64 hex digits, to write it to a key file once.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.0))
    }

    /// The version stored with every wrapped tenant key.
    pub const fn version(&self) -> u32 {
        self.version
    }

    fn binding(tenant: Uuid) -> Binding<'static> {
        Binding { tenant, table: "tenant_keys", row: tenant, column: "wrapped" }
    }

    /// Wraps a tenant key.
    pub fn wrap(&self, tenant: Uuid, key: &KeyBytes) -> Vec<u8> {
        seal(&self.key, self.version, &Self::binding(tenant), &key.0)
    }

    /// Unwraps a tenant key.
    pub fn unwrap_key(&self, tenant: Uuid, wrapped: &[u8]) -> Result<KeyBytes, CryptoError> {
        if key_version(wrapped)? != self.version {
            return Err(CryptoError::Unauthentic);
        }
        let plain = open(&self.key, &Self::binding(tenant), wrapped)?;
        let array: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(KeyBytes(array))
    }
}

fn decode_key_text(text: &str) -> Option<Vec<u8>> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(text).ok();
    }
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A tenant's unwrapped key and what derives from it.
#[derive(Debug)]
pub struct TenantKey {
    tenant: Uuid,
    key: KeyBytes,
    version: u32,
    blind: KeyBytes,
    provider: KeyBytes,
}

/// The prefix of a keyed provider-id hash as stored (`hmac:` + 64 hex digits): tells a hashed
/// value from a clear wamid written by an older version (see `SeaStore::migrate`).
pub const PROVIDER_HASH_PREFIX: &str = "hmac:";

impl TenantKey {
    /// Builds the tenant key (version = the tenant key's version).
    pub fn new(tenant: Uuid, key: KeyBytes, version: u32) -> Self {
        let blind = derive(&key, b"hoheit/v1/blind-index");
        let provider = derive(&key, b"hoheit/v1/provider-id");
        Self { tenant, key, version, blind, provider }
    }

    /// The keyed hash of a provider's message id (a wamid, which WhatsApp builds from the
    /// customer's number): `hmac:` + hex of HMAC-SHA256 with a key derived from the tenant key
    /// under its own label, so it cannot be compared with the blind index or across tenants.
    /// Dedupe and status matching use it; the id itself is only kept sealed (issue 13).
    pub fn provider_hash(&self, provider_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.provider.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(provider_id.as_bytes());
        format!("{PROVIDER_HASH_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Seals tenant-level data.
    pub fn seal(&self, table: &str, row: Uuid, column: &str, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.key, self.version, &Binding { tenant: self.tenant, table, row, column }, plaintext)
    }

    /// Opens tenant-level data.
    pub fn open(&self, table: &str, row: Uuid, column: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.key, &Binding { tenant: self.tenant, table, row, column }, sealed)
    }

    /// Wraps a candidate key.
    pub fn wrap_candidate_key(&self, candidate: Uuid, key: &KeyBytes) -> Vec<u8> {
        self.seal("candidates", candidate, "wrapped_key", &key.0)
    }

    /// Unwraps a candidate key.
    pub fn unwrap_candidate_key(&self, candidate: Uuid, wrapped: &[u8]) -> Result<KeyBytes, CryptoError> {
        let plain = self.open("candidates", candidate, "wrapped_key", wrapped)?;
        let array: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(KeyBytes(array))
    }

    /// The blind index of a contact key: HMAC-SHA256 with a key derived from the tenant key.
    pub fn blind_index(&self, normalised: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.blind.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC accepts keys of any length, so `new_from_slice` cannot fail; this keeps the code total.
fn unreachable_hmac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

fn derive(key: &KeyBytes, label: &[u8]) -> KeyBytes {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).unwrap_or_else(|_| unreachable_hmac());
    mac.update(label);
    KeyBytes(mac.finalize().into_bytes().into())
}

/// A candidate's unwrapped key.
#[derive(Debug)]
pub struct CandidateKey {
    tenant: Uuid,
    candidate: Uuid,
    key: KeyBytes,
}

impl CandidateKey {
    /// Builds it.
    pub fn new(tenant: Uuid, candidate: Uuid, key: KeyBytes) -> Self {
        Self { tenant, candidate, key }
    }

    /// Seals a column of a row belonging to this candidate.
    pub fn seal(&self, table: &str, row: Uuid, column: &str, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.key, 1, &Binding { tenant: self.tenant, table, row, column }, plaintext)
    }

    /// Opens a column of a row belonging to this candidate.
    pub fn open(&self, table: &str, row: Uuid, column: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.key, &Binding { tenant: self.tenant, table, row, column }, sealed)
    }

    /// The candidate.
    pub const fn candidate(&self) -> Uuid {
        self.candidate
    }

    pub(crate) const fn key_bytes(&self) -> &KeyBytes {
        &self.key
    }
}

type CacheState<K, V> = (HashMap<K, std::sync::Arc<V>>, VecDeque<K>, u64);

/// A small bounded cache (FIFO eviction) for unwrapped keys, so the hot path does not unwrap a
/// key per request. Entries zeroize when evicted (their key types zeroize on drop).
///
/// Erasure must not be undone by a reader that unwrapped a key from a row it read before the
/// erasure committed and caches it afterwards. So a removal bumps a generation counter under the
/// same lock, and a reader takes a [`CacheTicket`] before it reads the wrapped key and caches the
/// unwrapped key with [`KeyCache::insert_if_current`], which refuses if anything was removed in
/// between (the reader still gets its key for the rows it already holds; it is just not cached).
#[derive(Debug)]
pub struct KeyCache<K, V> {
    inner: Mutex<CacheState<K, V>>,
    capacity: usize,
}

/// The cache's removal generation at the time a reader started loading a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTicket(u64);

impl<K: std::hash::Hash + Eq + Clone, V> KeyCache<K, V> {
    /// A cache of at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new((HashMap::new(), VecDeque::new(), 0)), capacity: capacity.max(1) }
    }

    /// A cached key.
    pub fn get(&self, id: &K) -> Option<std::sync::Arc<V>> {
        self.inner.lock().ok().and_then(|g| g.0.get(id).cloned())
    }

    /// Take this before reading a wrapped key from the database.
    pub fn ticket(&self) -> CacheTicket {
        CacheTicket(self.inner.lock().map_or(u64::MAX, |g| g.2))
    }

    /// Caches a key unless a key was removed since `ticket` was taken (a concurrent erasure may
    /// have destroyed it). Returns whether it was cached.
    pub fn insert_if_current(&self, ticket: CacheTicket, id: K, value: std::sync::Arc<V>) -> bool {
        let Ok(mut g) = self.inner.lock() else { return false };
        if g.2 != ticket.0 {
            return false;
        }
        Self::put(&mut g, self.capacity, id, value);
        true
    }

    fn put(g: &mut CacheState<K, V>, capacity: usize, id: K, value: std::sync::Arc<V>) {
        if g.0.insert(id.clone(), value).is_none() {
            g.1.push_back(id);
        }
        while g.0.len() > capacity {
            match g.1.pop_front() {
                Some(old) => {
                    g.0.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Forgets a key (erasure, rotation) and invalidates every ticket taken before.
    pub fn remove(&self, id: &K) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.remove(id);
            g.1.retain(|k| k != id);
            g.2 = g.2.wrapping_add(1);
        }
    }

    /// Forgets everything and invalidates every ticket taken before.
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.clear();
            g.1.clear();
            g.2 = g.2.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(row: u128, column: &'static str) -> Binding<'static> {
        Binding { tenant: Uuid::from_u128(1), table: "messages", row: Uuid::from_u128(row), column }
    }

    #[test]
    fn round_trip_and_binding() {
        let key = KeyBytes::random();
        let sealed = seal(&key, 3, &binding(7, "body"), b"Hallo Erika");
        assert_eq!(key_version(&sealed), Ok(3));
        assert_eq!(open(&key, &binding(7, "body"), &sealed).unwrap().as_slice(), b"Hallo Erika");
        // another row, column or tenant: does not authenticate
        assert_eq!(open(&key, &binding(8, "body"), &sealed), Err(CryptoError::Unauthentic));
        assert_eq!(open(&key, &binding(7, "caption"), &sealed), Err(CryptoError::Unauthentic));
        let other_tenant = Binding { tenant: Uuid::from_u128(2), ..binding(7, "body") };
        assert_eq!(open(&key, &other_tenant, &sealed), Err(CryptoError::Unauthentic));
        assert_eq!(open(&KeyBytes::random(), &binding(7, "body"), &sealed), Err(CryptoError::Unauthentic));
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(open(&key, &binding(7, "body"), &tampered), Err(CryptoError::Unauthentic));
        assert_eq!(open(&key, &binding(7, "body"), &[1, 2, 3]), Err(CryptoError::Malformed));
    }

    #[test]
    fn nonces_are_fresh() {
        let key = KeyBytes::random();
        assert_ne!(seal(&key, 1, &binding(1, "b"), b"x"), seal(&key, 1, &binding(1, "b"), b"x"));
    }

    #[test]
    fn master_key_wraps_tenant_keys_and_rejects_other_tenants() {
        let master = MasterKey::generate(1);
        let tenant_key = KeyBytes::random();
        let wrapped = master.wrap(Uuid::from_u128(5), &tenant_key);
        let back = master.unwrap_key(Uuid::from_u128(5), &wrapped).unwrap();
        assert_eq!(back.0, tenant_key.0);
        assert!(master.unwrap_key(Uuid::from_u128(6), &wrapped).is_err());
        assert!(MasterKey::generate(1).unwrap_key(Uuid::from_u128(5), &wrapped).is_err());
    }

    #[test]
    fn master_key_parsing_and_redaction() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let key = MasterKey::from_secret(&SecretBox::from(Box::<str>::from(hex)), 1).unwrap();
        assert_eq!(key.to_hex().as_str(), hex);
        assert!(!format!("{key:?}").contains("0011"));
        assert_eq!(
            MasterKey::from_secret(&SecretBox::from(Box::<str>::from("short")), 1).unwrap_err(),
            CryptoError::BadMasterKey
        );
    }

    #[test]
    fn blind_index_is_keyed_per_tenant() {
        let a = TenantKey::new(Uuid::from_u128(1), KeyBytes::random(), 1);
        let b = TenantKey::new(Uuid::from_u128(2), KeyBytes::random(), 1);
        assert_eq!(a.blind_index("phone:+491701234567"), a.blind_index("phone:+491701234567"));
        assert_ne!(a.blind_index("phone:+491701234567"), b.blind_index("phone:+491701234567"));
    }

    #[test]
    fn cache_is_bounded() {
        let cache = KeyCache::new(2);
        for i in 0..5u128 {
            assert!(cache.insert_if_current(cache.ticket(), Uuid::from_u128(i), std::sync::Arc::new(i)));
        }
        assert!(cache.get(&Uuid::from_u128(0)).is_none());
        assert_eq!(cache.get(&Uuid::from_u128(4)).map(|v| *v), Some(4));
    }

    #[test]
    fn provider_hash_is_keyed_per_tenant_and_apart_from_the_blind_index() {
        let key = KeyBytes::random();
        let a = TenantKey::new(Uuid::from_u128(1), key.clone(), 1);
        let b = TenantKey::new(Uuid::from_u128(2), KeyBytes::random(), 1);
        let id = "wamid.HBgMNDkxNzA5ODc2NTQzFQIAEhgU";
        let hashed = a.provider_hash(id);
        assert_eq!(hashed, TenantKey::new(Uuid::from_u128(1), key, 1).provider_hash(id));
        assert!(hashed.starts_with(PROVIDER_HASH_PREFIX) && hashed.len() == PROVIDER_HASH_PREFIX.len() + 64);
        assert!(!hashed.contains("NDkx"));
        assert_ne!(hashed, b.provider_hash(id), "another tenant, another hash");
        assert_ne!(hashed[PROVIDER_HASH_PREFIX.len()..], hex::encode(a.blind_index(id)), "domain-separated");
    }

    /// The erasure race: a reader takes its ticket, reads the wrapped key (before the erasure
    /// committed), the erasure commits and removes the key, the reader unwraps and caches: the
    /// cache must refuse, or the erased candidate's key would be back in memory.
    #[test]
    fn a_reader_cannot_cache_a_key_removed_after_it_started_loading() {
        let cache: KeyCache<(Uuid, Uuid), u32> = KeyCache::new(10);
        let who = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(cache.insert_if_current(cache.ticket(), who, std::sync::Arc::new(7)));
        let reader = cache.ticket();
        cache.remove(&who); // the erasure's commit
        assert!(!cache.insert_if_current(reader, who, std::sync::Arc::new(7)));
        assert!(cache.get(&who).is_none());
        // a reader that starts after the erasure may cache again (it will find no wrapped key)
        assert!(cache.insert_if_current(cache.ticket(), who, std::sync::Arc::new(8)));
        // keyed by (tenant, candidate): the same candidate id under another tenant is another entry
        assert!(cache.get(&(Uuid::from_u128(9), Uuid::from_u128(2))).is_none());
    }
}
