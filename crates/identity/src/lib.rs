//! # hoheit-identity — local sign-in crypto (issue 16)
//!
//! The adapter behind the domain's `Passwords` and `SecondFactor` ports
//! ([`hoheit_domain::ports`]); the rules (who needs a second factor, throttling, sessions) are the
//! domain's.
//!
//! - Passwords: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), PHC strings,
//!   hashed and verified on a few dedicated threads ([`HASHING_THREADS`] at most, queued beyond),
//!   each with its 19 MiB work area allocated once and reused for every hash (freed after each
//!   hash, such areas stayed in glibc's per-thread arenas: ~600 MiB of resident memory after 90
//!   sign-ins); an unknown account is verified against a
//!   dummy hash so it takes as long as a wrong password. Offline strength check: an embedded list
//!   of common passwords and their stems ([`common`]).
//! - TOTP (RFC 6238) with `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of drift each
//!   way; the domain refuses a step used before. The `otpauth://` URI's QR code is rendered as
//!   SVG here (`qrcode`), no outside service.
//! - Random secrets (256 bits, base64url) for session cookies and invitations; recovery codes
//!   (80 bits, base32, grouped).

pub mod common;

use std::sync::Arc;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use base64::Engine as _;
use hoheit_domain::ports::{Passwords, SecondFactor, StoreError, TotpSetup};
use hoheit_domain::staff::{PasswordHash, SecretText};
use hoheit_domain::values::InvalidValue;
use rand::RngCore as _;
use time::OffsetDateTime;
use totp_rs::{Algorithm as TotpAlgorithm, Secret, TOTP};

/// OWASP's argon2id memory cost (KiB).
pub const ARGON2_M_KIB: u32 = 19_456;
/// OWASP's argon2id iterations.
pub const ARGON2_T: u32 = 2;
/// OWASP's argon2id parallelism.
pub const ARGON2_P: u32 = 1;

/// TOTP step in seconds.
pub const TOTP_STEP: u64 = 30;
/// TOTP digits.
pub const TOTP_DIGITS: usize = 6;

fn argon2() -> Result<Argon2<'static>, StoreError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .map_err(|_| StoreError::Unavailable("argon2 parameters".into()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The most threads that hash passwords at once (fewer on a machine with fewer cores).
pub const HASHING_THREADS: usize = 4;
/// Hashes waiting beyond the threads; more are refused (a sign-in storm is not queued forever).
const HASHING_QUEUE: usize = 1024;

type HashJob = Box<dyn FnOnce() + Send>;

/// The dedicated hashing threads, started on first use.
fn hashing_queue() -> &'static std::sync::mpsc::SyncSender<HashJob> {
    static QUEUE: std::sync::OnceLock<std::sync::mpsc::SyncSender<HashJob>> = std::sync::OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashJob>(HASHING_QUEUE);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, HASHING_THREADS);
        for n in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if spawned.is_err() {
                tracing::error!("cannot start a password hashing thread");
            }
        }
        tx
    })
}

/// Runs `work` on a hashing thread; `None` if the queue is full or the work was lost.
async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(work());
    });
    hashing_queue().try_send(job).ok()?;
    rx.await.ok()
}

thread_local! {
    /// This hashing thread's argon2 work area, allocated on its first hash and kept: a 19 MiB
    /// block freed after every hash made glibc raise its mmap threshold and keep such blocks in
    /// per-thread arenas, so the server's resident memory grew by about one work area per
    /// sign-in (issue 17's benchmark: 617 MiB after 92 sign-ins); reused, it is allocated once
    /// per thread and never freed.
    static WORK_AREA: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 into `out` with this thread's work area (grown once if `hasher` needs more).
fn argon2_into(hasher: &Argon2<'_>, blocks: usize, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    WORK_AREA.with_borrow_mut(|area| {
        if area.len() < blocks {
            area.resize(blocks, argon2::Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, out, &mut area[..])
    })
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::{Output, ParamsString};
    let failed = || StoreError::Unavailable("password hashing failed".into());
    let salt = SaltString::generate(&mut HashRng);
    let hasher = argon2()?;
    let params = hasher.params().clone();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|_| failed())?;
    let output = Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
        argon2_into(&hasher, params.block_count(), password.as_bytes(), salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(|_| failed())?;
    let phc = argon2::password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| failed())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    use argon2::password_hash::Output;
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed)) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2_into(&hasher, blocks, password.as_bytes(), salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Password)
    });
    // `Output`'s equality is constant-time
    computed.is_ok_and(|computed| computed == expected)
}

/// argon2id passwords.
#[derive(Clone)]
pub struct Argon2Passwords {
    /// A hash of a random password, verified when there is no account (equal timing).
    dummy: Arc<String>,
}

impl std::fmt::Debug for Argon2Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Argon2Passwords")
    }
}

impl Argon2Passwords {
    /// Ready to hash (computes the dummy hash once).
    pub fn new() -> Result<Self, StoreError> {
        let dummy = hash_blocking(&random_secret())?;
        Ok(Self { dummy: Arc::new(dummy) })
    }
}

#[async_trait]
impl Passwords for Argon2Passwords {
    async fn hash(&self, password: &SecretText) -> Result<PasswordHash, StoreError> {
        let password = password.expose().to_owned();
        on_hashing_thread(move || hash_blocking(&password))
            .await
            .ok_or_else(|| StoreError::Unavailable("password hashing is busy; retry later".into()))?
            .map(PasswordHash::new)
    }

    async fn verify(&self, password: &SecretText, hash: Option<&PasswordHash>) -> bool {
        let password = password.expose().to_owned();
        let (phc, real) = match hash {
            Some(h) => (h.as_str().to_owned(), true),
            None => (self.dummy.as_str().to_owned(), false),
        };
        // a full queue fails the check (fail safe): the sign-in is refused, not waved through
        let ok = on_hashing_thread(move || verify_blocking(&password, &phc)).await.unwrap_or(false);
        ok && real
    }

    fn is_common(&self, password: &SecretText) -> bool {
        common::is_common(password.expose())
    }
}

/// A random secret of 256 bits, base64url without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// TOTP, recovery codes and random secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totp;

fn totp_for(secret: &SecretText) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.expose().to_owned()).to_bytes().ok()?;
    Some(TOTP::new_unchecked(TotpAlgorithm::SHA1, TOTP_DIGITS, 1, TOTP_STEP, bytes))
}

/// The TOTP code of a base32 secret at `now` (for development tools and tests; the server only
/// verifies).
pub fn totp_code(secret: &str, now: OffsetDateTime) -> Option<String> {
    let seconds = u64::try_from(now.unix_timestamp()).ok()?;
    Some(totp_for(&SecretText::new(secret))?.generate(seconds))
}

/// Percent-encodes for an `otpauth://` URI (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://` URI of a TOTP secret (Google Authenticator key-URI format).
pub fn otpauth_uri(secret: &str, label: &str, issuer: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}",
        encode(issuer),
        encode(label),
        encode(issuer)
    )
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, InvalidValue> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|_| InvalidValue::new("otpauth uri", "too long"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SecondFactor for Totp {
    fn new_totp_secret(&self) -> SecretText {
        let mut bytes = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretText::new(Secret::Raw(bytes.to_vec()).to_encoded().to_string())
    }

    fn totp_setup(&self, secret: &SecretText, label: &str, issuer: &str) -> Result<TotpSetup, InvalidValue> {
        if totp_for(secret).is_none() {
            return Err(InvalidValue::new("totp secret", "not base32"));
        }
        let uri = otpauth_uri(secret.expose(), label, issuer);
        let qr = qr_svg(&uri)?;
        Ok(TotpSetup { secret: secret.clone(), uri: SecretText::new(uri), qr_svg: qr })
    }

    fn verify_totp(&self, secret: &SecretText, code: &str, now: OffsetDateTime) -> Option<u64> {
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = totp_for(secret)?;
        let seconds = u64::try_from(now.unix_timestamp()).ok()?;
        let step = seconds / TOTP_STEP;
        // the previous, current and next step (one step of clock drift each way)
        [step.checked_sub(1), Some(step), step.checked_add(1)]
            .into_iter()
            .flatten()
            .find(|s| constant_time_eq(totp.generate(s * TOTP_STEP).as_bytes(), code.as_bytes()))
    }

    fn random_secret(&self) -> String {
        random_secret()
    }

    fn recovery_code(&self) -> String {
        let mut bytes = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let encoded = Secret::Raw(bytes.to_vec()).to_encoded().to_string().to_lowercase();
        let chars: Vec<char> = encoded.chars().filter(char::is_ascii_alphanumeric).collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn argon2id_with_owasp_parameters_hashes_and_verifies() {
        let p = Argon2Passwords::new().unwrap();
        let hash = p.hash(&"correct horse battery staple".into()).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(p.verify(&"correct horse battery staple".into(), Some(&hash)).await);
        assert!(!p.verify(&"correct horse battery stapl".into(), Some(&hash)).await);
        assert!(!p.verify(&"anything".into(), None).await, "no account: never verified");
        assert!(!p.verify(&"x".into(), Some(&PasswordHash::new("not a phc"))).await);
        let again = p.hash(&"correct horse battery staple".into()).await.unwrap();
        assert_ne!(hash, again, "salted");
    }

    #[test]
    fn the_reused_work_area_agrees_with_the_argon2_crates_own_hashing_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        // ours -> the crate's verifier (hashes stay standard PHC strings)
        let ours = hash_blocking("Sommer 2026!").unwrap();
        let parsed = argon2::password_hash::PasswordHash::new(&ours).unwrap();
        assert!(argon2().unwrap().verify_password(b"Sommer 2026!", &parsed).is_ok());
        assert!(argon2().unwrap().verify_password(b"Sommer 2025!", &parsed).is_err());
        // the crate's hashes, with other parameters (smaller and larger work areas, argon2i) ->
        // ours, on the same thread one after the other: the area is reused and grown, never stale
        for (algorithm, m, t) in [(Algorithm::Argon2id, 4_096, 1), (Algorithm::Argon2i, 24_576, 2)] {
            let hasher = Argon2::new(algorithm, Version::V0x13, Params::new(m, t, 1, None).unwrap());
            let phc = hasher.hash_password(b"Winter", &SaltString::generate(&mut HashRng)).unwrap().to_string();
            assert!(verify_blocking("Winter", &phc), "{phc}");
            assert!(!verify_blocking("winter", &phc), "{phc}");
            assert!(verify_blocking("Sommer 2026!", &ours), "after a larger area");
        }
        assert!(!verify_blocking("Sommer 2026!", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"), "no hash part");
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_on_at_most_the_dedicated_threads_and_queues_the_rest() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..3 * HASHING_THREADS)
            .map(|_| {
                let (now, peak) = (now.clone(), peak.clone());
                tokio::spawn(on_hashing_thread(move || {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(running, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    now.fetch_sub(1, Ordering::SeqCst);
                    std::thread::current().name().map(str::to_owned)
                }))
            })
            .collect();
        let mut names = Vec::new();
        for job in jobs {
            names.push(job.await.unwrap().unwrap());
        }
        assert!(names.iter().all(|n| n.as_deref().is_some_and(|n| n.starts_with("argon2-"))), "{names:?}");
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, HASHING_THREADS);
        assert_eq!(peak.load(Ordering::SeqCst), threads, "as many at once as there are hashing threads, no more");
        // and the real thing still hashes and verifies concurrently
        let p = Argon2Passwords::new().unwrap();
        let (first, second): (SecretText, SecretText) = ("erste Phrase lang".into(), "zweite Phrase lang".into());
        let (a, b) = tokio::join!(p.hash(&first), p.hash(&second));
        let (a, b) = (a.unwrap(), b.unwrap());
        let (ok_a, ok_b) = tokio::join!(p.verify(&first, Some(&a)), p.verify(&first, Some(&b)));
        assert!(ok_a && !ok_b);
    }

    #[test]
    fn rfc6238_sha1_test_vectors_and_one_step_of_drift() {
        // RFC 6238 Appendix B: secret "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last 6 digits: 287082
        let secret = SecretText::new(Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string());
        let at = OffsetDateTime::from_unix_timestamp(59).unwrap();
        assert_eq!(Totp.verify_totp(&secret, "287082", at), Some(1));
        // T = 1111111109 -> 07081804 -> 081804
        let at = OffsetDateTime::from_unix_timestamp(1_111_111_109).unwrap();
        assert_eq!(Totp.verify_totp(&secret, "081804", at), Some(37_037_036));
        // accepted one step later and one earlier, not two
        let later = at + time::Duration::seconds(30);
        assert_eq!(Totp.verify_totp(&secret, "081804", later), Some(37_037_036));
        assert_eq!(Totp.verify_totp(&secret, "081804", later + time::Duration::seconds(30)), None);
        assert_eq!(Totp.verify_totp(&secret, "08180", at), None);
        assert_eq!(Totp.verify_totp(&secret, "abcdef", at), None);
    }

    #[test]
    fn a_new_secret_has_160_bits_and_a_qr_code_as_svg() {
        let s = Totp.new_totp_secret();
        assert_eq!(Secret::Encoded(s.expose().to_owned()).to_bytes().unwrap().len(), 20);
        assert_ne!(s, Totp.new_totp_secret());
        let setup = Totp.totp_setup(&s, "anna@example.com", "hoheit").unwrap();
        assert!(setup.uri.expose().starts_with("otpauth://totp/hoheit:anna%40example.com?secret="));
        assert!(setup.uri.expose().contains("&issuer=hoheit&algorithm=SHA1&digits=6&period=30"));
        assert!(setup.qr_svg.contains("<svg") && setup.qr_svg.contains("</svg>"));
        let now = datetime!(2026-12-07 10:00 UTC);
        let code = totp_for(&s).unwrap().generate(u64::try_from(now.unix_timestamp()).unwrap());
        assert!(Totp.verify_totp(&s, &code, now).is_some());
    }

    #[test]
    fn recovery_codes_and_secrets_are_random_and_readable() {
        let a = Totp.recovery_code();
        assert_eq!(a.len(), 19, "{a}");
        assert_eq!(a.matches('-').count(), 3);
        assert_ne!(a, Totp.recovery_code());
        assert_eq!(random_secret().len(), 43);
        assert_ne!(random_secret(), random_secret());
    }
}
