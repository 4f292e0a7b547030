//! Authenticity of a webhook delivery, checked on the raw bytes before anything is parsed:
//! a shared-secret header (configured as a custom webhook header at 360Dialog) and/or an
//! HMAC-SHA256 of the body in `x-360dialog-signature`. All comparisons are constant-time.
//! No timestamp is signed, so deduplication by message id is the replay defence.

use std::fmt;

use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header 360Dialog signs partner webhooks in.
pub const SIGNATURE_HEADER: &str = "x-360dialog-signature";

/// Why a delivery was not accepted as authentic. Carries header names only, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header is absent (or not visible ASCII).
    #[error("missing header {0}")]
    MissingHeader(String),
    /// The shared-secret header has the wrong value.
    #[error("bad secret")]
    BadSecret,
    /// The signature does not match the body (or is not hex).
    #[error("bad signature")]
    BadSignature,
    /// Neither a secret header nor an HMAC key is configured, and unsigned deliveries were not
    /// explicitly allowed.
    #[error("webhook verification is not configured")]
    NotConfigured,
}

/// Checks deliveries of one channel's webhook. Build it once per channel.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret_header: Option<(String, SecretString)>,
    hmac_key: Option<SecretSlice<u8>>,
    signature_header: String,
    allow_unverified: bool,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret_header", &self.secret_header.as_ref().map(|(name, _)| name.as_str()))
            .field("hmac", &self.hmac_key.is_some())
            .field("signature_header", &self.signature_header)
            .field("allow_unverified", &self.allow_unverified)
            .finish()
    }
}

impl Default for WebhookVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookVerifier {
    /// A verifier that accepts nothing until a check is configured.
    pub fn new() -> Self {
        Self {
            secret_header: None,
            hmac_key: None,
            signature_header: SIGNATURE_HEADER.to_owned(),
            allow_unverified: false,
        }
    }

    /// Requires header `name` (case-insensitive) to equal `value`.
    #[must_use]
    pub fn with_secret_header(mut self, name: &str, value: SecretString) -> Self {
        self.secret_header = Some((name.to_ascii_lowercase(), value));
        self
    }

    /// Requires an HMAC-SHA256 of the raw body under `key`, hex, in the signature header
    /// (an optional `sha256=` prefix is accepted).
    #[must_use]
    pub fn with_hmac(mut self, key: SecretSlice<u8>) -> Self {
        self.hmac_key = Some(key);
        self
    }

    /// Looks for the signature in another header.
    #[must_use]
    pub fn with_signature_header(mut self, name: &str) -> Self {
        self.signature_header = name.to_ascii_lowercase();
        self
    }

    /// Accepts deliveries without any check when nothing is configured (development only; the
    /// route token in the URL is then the only protection).
    #[must_use]
    pub const fn allow_unverified(mut self, allow: bool) -> Self {
        self.allow_unverified = allow;
        self
    }

    /// Verifies a delivery given its headers (an `http::HeaderMap`, as axum hands it over).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        self.verify_with(|name| headers.get(name).map(|v| v.as_bytes()), body)
    }

    /// Verifies a delivery with any header lookup (`name` is lowercase).
    pub fn verify_with<'h>(&self, header: impl Fn(&str) -> Option<&'h [u8]>, body: &[u8]) -> Result<(), VerifyError> {
        if self.secret_header.is_none() && self.hmac_key.is_none() {
            return if self.allow_unverified { Ok(()) } else { Err(VerifyError::NotConfigured) };
        }
        if let Some((name, expected)) = &self.secret_header {
            let given = header(name).ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
            if !secrets_equal(given, expected.expose_secret().as_bytes()) {
                return Err(VerifyError::BadSecret);
            }
        }
        if let Some(key) = &self.hmac_key {
            let name = &self.signature_header;
            let given = header(name).ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
            if !signature_matches(key.expose_secret(), given, body) {
                return Err(VerifyError::BadSignature);
            }
        }
        Ok(())
    }
}

/// The hex HMAC-SHA256 of `body` (what 360Dialog puts into `x-360dialog-signature`).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this arm is unreachable in practice.
        Err(_) => String::new(),
    }
}

fn signature_matches(key: &[u8], header: &[u8], body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(header) else { return false };
    let text = text.trim();
    let hex_part = text
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("sha256="))
        .and_then(|_| text.get(7..))
        .unwrap_or(text);
    let Ok(given) = hex::decode(hex_part) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return false };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// Constant-time equality that does not leak the length either (both sides are hashed first).
fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    let given = Sha256::digest(given);
    let expected = Sha256::digest(expected);
    bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

/// Whether the route token from the URL path is the channel's (constant-time).
pub fn route_token_matches(expected: &SecretString, given: &str) -> bool {
    secrets_equal(given.as_bytes(), expected.expose_secret().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    fn key() -> SecretSlice<u8> {
        SecretSlice::from(b"hmac-key".to_vec())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn secret_header() {
        let v = WebhookVerifier::new().with_secret_header("X-Hoheit-Secret", SecretString::from("s3cr3t"));
        assert_eq!(v.verify(&headers(&[("x-hoheit-secret", "s3cr3t")]), BODY), Ok(()));
        assert_eq!(v.verify(&headers(&[("x-hoheit-secret", "s3cr3")]), BODY), Err(VerifyError::BadSecret));
        assert_eq!(v.verify(&headers(&[("x-hoheit-secret", "")]), BODY), Err(VerifyError::BadSecret));
        assert_eq!(v.verify(&headers(&[]), BODY), Err(VerifyError::MissingHeader("x-hoheit-secret".into())));
    }

    #[test]
    fn hmac_signature_with_and_without_prefix() {
        let v = WebhookVerifier::new().with_hmac(key());
        let sig = sign(b"hmac-key", BODY);
        assert_eq!(v.verify(&headers(&[(SIGNATURE_HEADER, &sig)]), BODY), Ok(()));
        assert_eq!(v.verify(&headers(&[(SIGNATURE_HEADER, &format!("sha256={sig}"))]), BODY), Ok(()));
        assert_eq!(v.verify(&headers(&[(SIGNATURE_HEADER, &sig.to_uppercase())]), BODY), Ok(()));
        assert_eq!(
            v.verify(&headers(&[(SIGNATURE_HEADER, &sig)]), b"{\"tampered\":1}"),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(v.verify(&headers(&[(SIGNATURE_HEADER, "zz")]), BODY), Err(VerifyError::BadSignature));
        assert_eq!(v.verify(&headers(&[]), BODY), Err(VerifyError::MissingHeader(SIGNATURE_HEADER.into())));
    }

    #[test]
    fn both_checks_must_pass() {
        let v = WebhookVerifier::new().with_secret_header("x-s", SecretString::from("a")).with_hmac(key());
        let sig = sign(b"hmac-key", BODY);
        assert_eq!(v.verify(&headers(&[("x-s", "a"), (SIGNATURE_HEADER, &sig)]), BODY), Ok(()));
        assert_eq!(v.verify(&headers(&[("x-s", "b"), (SIGNATURE_HEADER, &sig)]), BODY), Err(VerifyError::BadSecret));
        assert!(v.verify(&headers(&[("x-s", "a")]), BODY).is_err());
    }

    #[test]
    fn unconfigured_refuses_unless_allowed() {
        assert_eq!(WebhookVerifier::new().verify(&HeaderMap::new(), BODY), Err(VerifyError::NotConfigured));
        assert_eq!(WebhookVerifier::new().allow_unverified(true).verify(&HeaderMap::new(), BODY), Ok(()));
    }

    #[test]
    fn errors_and_debug_carry_no_secret() {
        let v = WebhookVerifier::new().with_secret_header("x-s", SecretString::from("topsecret")).with_hmac(key());
        let printed = format!("{v:?}");
        assert!(!printed.contains("topsecret") && !printed.contains("hmac-key"), "{printed}");
        let err = v.verify(&headers(&[("x-s", "topsecreT")]), BODY).unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn route_tokens() {
        let t = SecretString::from("r0ute-t0ken");
        assert!(route_token_matches(&t, "r0ute-t0ken"));
        assert!(!route_token_matches(&t, "r0ute-t0ke"));
        assert!(!route_token_matches(&t, ""));
    }
}
