//! Compact JWS parsing and signature verification with ring, and the provider's key set (JWKS).
//!
//! Only asymmetric algorithms are accepted (no `none`, no HMAC: a public key must never be
//! usable as an HMAC secret), the key's type and curve must fit the algorithm, and a key that
//! names an algorithm or a use (`enc`) other than the token's is not used.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::OidcError;

/// Largest ID token accepted (Entra ID caps group claims well below this).
pub(crate) const MAX_TOKEN_LEN: usize = 64 * 1024;

/// A JWS algorithm this relying party verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Entra ID, Keycloak default).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// Parses a JOSE `alg` value; `None` for anything not accepted (including `none` and HS*).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" => Self::EdDsa,
            _ => return None,
        })
    }

    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// OIDC Core 3.1.3.6: `at_hash` is the left half of the hash of the access token, with the
    /// hash of the ID token's algorithm (SHA-512 for Ed25519).
    pub(crate) fn half_hash(self, input: &[u8]) -> Vec<u8> {
        let full: Vec<u8> = match self {
            Self::Rs256 | Self::Ps256 | Self::Es256 => sha2::Sha256::digest(input).to_vec(),
            Self::Rs384 | Self::Ps384 | Self::Es384 => sha2::Sha384::digest(input).to_vec(),
            Self::Rs512 | Self::Ps512 | Self::EdDsa => sha2::Sha512::digest(input).to_vec(),
        };
        let half = full.len() / 2;
        full.get(..half).map(<[u8]>::to_vec).unwrap_or_default()
    }
}

/// One key of a JWKS (RFC 7517), as far as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use: `sig` or `enc`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC / OKP curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC / OKP x coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// A JWKS document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// Whether this key may verify a token signed with `alg`.
    fn fits(&self, alg: Algorithm) -> bool {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return false;
        }
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return false;
        }
        let crv = self.crv.as_deref();
        match alg {
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => self.kty == "RSA",
            Algorithm::Es256 => self.kty == "EC" && crv == Some("P-256"),
            Algorithm::Es384 => self.kty == "EC" && crv == Some("P-384"),
            Algorithm::EdDsa => self.kty == "OKP" && crv == Some("Ed25519"),
        }
    }

    /// Verifies `signature` over `message` with this key.
    fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> Result<(), OidcError> {
        let rsa = |params: &'static signature::RsaParameters| -> Result<(), OidcError> {
            let n = decode_field(self.n.as_deref())?;
            let e = decode_field(self.e.as_deref())?;
            RsaPublicKeyComponents { n: &n, e: &e }.verify(params, message, sig).map_err(|_| OidcError::BadSignature)
        };
        let ec = |verifier: &'static signature::EcdsaVerificationAlgorithm, size: usize| -> Result<(), OidcError> {
            let x = decode_field(self.x.as_deref())?;
            let y = decode_field(self.y.as_deref())?;
            if x.len() != size || y.len() != size {
                return Err(OidcError::BadSignature);
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(verifier, &point).verify(message, sig).map_err(|_| OidcError::BadSignature)
        };
        match alg {
            Algorithm::Rs256 => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::Rs384 => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
            Algorithm::Rs512 => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
            Algorithm::Ps256 => rsa(&signature::RSA_PSS_2048_8192_SHA256),
            Algorithm::Ps384 => rsa(&signature::RSA_PSS_2048_8192_SHA384),
            Algorithm::Ps512 => rsa(&signature::RSA_PSS_2048_8192_SHA512),
            Algorithm::Es256 => ec(&signature::ECDSA_P256_SHA256_FIXED, 32),
            Algorithm::Es384 => ec(&signature::ECDSA_P384_SHA384_FIXED, 48),
            Algorithm::EdDsa => {
                let x = decode_field(self.x.as_deref())?;
                UnparsedPublicKey::new(&signature::ED25519, &x)
                    .verify(message, sig)
                    .map_err(|_| OidcError::BadSignature)
            }
        }
    }
}

fn decode_field(value: Option<&str>) -> Result<Vec<u8>, OidcError> {
    let value = value.ok_or(OidcError::BadSignature)?;
    URL_SAFE_NO_PAD.decode(value).map_err(|_| OidcError::BadSignature)
}

/// The protected header fields that matter.
#[derive(Debug, Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Critical extensions: none is understood, so any makes the token unacceptable (RFC 7515
    /// 4.1.11).
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A parsed, not yet verified compact JWS.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    signing_input: &'a str,
    pub(crate) payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Parses `header.payload.signature`. Malformed -> `InvalidToken`; an algorithm that is not
    /// accepted -> `BadSignature`.
    pub(crate) fn parse(token: &'a str) -> Result<Self, OidcError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(OidcError::InvalidToken);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcError::InvalidToken);
        };
        let signing_input = token.get(..header.len() + 1 + payload.len()).ok_or(OidcError::InvalidToken)?;
        let header_bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| OidcError::InvalidToken)?;
        let raw: RawHeader = serde_json::from_slice(&header_bytes).map_err(|_| OidcError::InvalidToken)?;
        if raw.crit.is_some() {
            return Err(OidcError::InvalidToken);
        }
        let alg = Algorithm::parse(&raw.alg).ok_or(OidcError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| OidcError::InvalidToken)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| OidcError::InvalidToken)?;
        Ok(Self { alg, kid: raw.kid, signing_input, payload, signature })
    }

    /// The key of `keys` this token names: by `kid`, or the only fitting key when the token names
    /// none. `None` when no key fits.
    pub(crate) fn select_key<'k>(&self, keys: &'k [Jwk]) -> Option<&'k Jwk> {
        let mut fitting = keys.iter().filter(|k| k.fits(self.alg));
        match &self.kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None => {
                let first = fitting.next()?;
                fitting.next().is_none().then_some(first)
            }
        }
    }

    /// Verifies the signature with `key`.
    pub(crate) fn verify(&self, key: &Jwk) -> Result<(), OidcError> {
        if !key.fits(self.alg) {
            return Err(OidcError::BadSignature);
        }
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

    use super::*;

    fn es256_key() -> (EcdsaKeyPair, Jwk) {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some("k1".into()),
            use_: Some("sig".into()),
            alg: None,
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
        };
        (pair, jwk)
    }

    fn sign(pair: &EcdsaKeyPair, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    #[test]
    fn es256_signature_verifies_and_tampering_fails() {
        let (pair, jwk) = es256_key();
        let token = sign(&pair, r#"{"alg":"ES256","kid":"k1"}"#, r#"{"sub":"a"}"#);
        let jws = Jws::parse(&token).unwrap();
        let key = jws.select_key(std::slice::from_ref(&jwk)).unwrap();
        jws.verify(key).unwrap();
        assert_eq!(jws.payload, br#"{"sub":"a"}"#);

        let tampered =
            token.replacen(&URL_SAFE_NO_PAD.encode(r#"{"sub":"a"}"#), &URL_SAFE_NO_PAD.encode(r#"{"sub":"b"}"#), 1);
        let jws = Jws::parse(&tampered).unwrap();
        assert_eq!(jws.verify(&jwk), Err(OidcError::BadSignature));
    }

    #[test]
    fn none_and_hmac_are_refused() {
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(Jws::parse(&none).unwrap_err(), OidcError::BadSignature);
        let hs = format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(Jws::parse(&hs).unwrap_err(), OidcError::BadSignature);
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.AA", &"a".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(Jws::parse(token).unwrap_err(), OidcError::InvalidToken, "{token:.20}");
        }
        let crit = format!(
            "{}.{}.AA",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","crit":["x"]}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert_eq!(Jws::parse(&crit).unwrap_err(), OidcError::InvalidToken);
    }

    #[test]
    fn a_key_of_another_type_or_use_is_not_selected() {
        let (pair, mut jwk) = es256_key();
        let token = sign(&pair, r#"{"alg":"ES256","kid":"k1"}"#, "{}");
        let jws = Jws::parse(&token).unwrap();
        jwk.use_ = Some("enc".into());
        assert!(jws.select_key(std::slice::from_ref(&jwk)).is_none());
        jwk.use_ = None;
        jwk.alg = Some("RS256".into());
        assert!(jws.select_key(std::slice::from_ref(&jwk)).is_none());
        jwk.alg = None;
        jwk.kid = Some("other".into());
        assert!(jws.select_key(std::slice::from_ref(&jwk)).is_none());
    }

    #[test]
    fn without_kid_only_a_single_fitting_key_is_used() {
        let (pair, jwk) = es256_key();
        let (_, other) = es256_key();
        let token = sign(&pair, r#"{"alg":"ES256"}"#, "{}");
        let jws = Jws::parse(&token).unwrap();
        assert!(jws.select_key(std::slice::from_ref(&jwk)).is_some());
        assert!(jws.select_key(&[jwk, other]).is_none());
    }

    #[test]
    fn at_hash_uses_the_left_half() {
        // Expected value computed independently (Python hashlib + base64).
        let half = Algorithm::Rs256.half_hash(b"jHkWEdUXMU1BwAsC4vtUsZwnNSYrwMtJhhPhKRQIECm");
        let full = sha2::Sha256::digest(b"jHkWEdUXMU1BwAsC4vtUsZwnNSYrwMtJhhPhKRQIECm");
        assert_eq!(half, full[..16]);
        assert_eq!(URL_SAFE_NO_PAD.encode(&half), "L9S0KQSoPzztBnVv_GUW5Q");
        assert_eq!(Algorithm::EdDsa.half_hash(b"x"), sha2::Sha512::digest(b"x")[..32]);
    }
}
