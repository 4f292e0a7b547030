//! The stand-in's signing keys: RSA 2048 (RS256, generated with the `rsa` crate, signed with ring)
//! or P-256 (ES256, generated and signed with ring).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs8::EncodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;

use crate::jwt::Jwk;

/// Which algorithm the stand-in signs ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    /// RS256 with a fresh RSA 2048 key (what Entra ID and Keycloak use).
    #[default]
    Rs256,
    /// ES256 with a fresh P-256 key.
    Es256,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// One signing key with its public JWK.
pub(crate) struct SigningKey {
    pair: Pair,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.jwk.kid).finish_non_exhaustive()
    }
}

/// Why a key could not be made or used.
#[derive(Debug, thiserror::Error)]
#[error("stand-in key error: {0}")]
pub struct KeyError(&'static str);

impl KeyError {
    pub(crate) const fn from_static(reason: &'static str) -> Self {
        Self(reason)
    }
}

impl SigningKey {
    /// A fresh key (RSA generation takes a moment: call it off the async threads).
    pub(crate) fn generate(alg: SigningAlgorithm, kid: String) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        match alg {
            SigningAlgorithm::Rs256 => {
                let private =
                    rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|_| KeyError("rsa generate"))?;
                let der = private.to_pkcs8_der().map_err(|_| KeyError("rsa pkcs8"))?;
                let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|_| KeyError("rsa load"))?;
                let jwk = Jwk {
                    kty: "RSA".into(),
                    kid: Some(kid),
                    use_: Some("sig".into()),
                    alg: Some("RS256".into()),
                    n: Some(URL_SAFE_NO_PAD.encode(private.n().to_bytes_be())),
                    e: Some(URL_SAFE_NO_PAD.encode(private.e().to_bytes_be())),
                    crv: None,
                    x: None,
                    y: None,
                };
                Ok(Self { pair: Pair::Rsa(pair), jwk })
            }
            SigningAlgorithm::Es256 => {
                let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError("ec generate"))?;
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng)
                    .map_err(|_| KeyError("ec load"))?;
                let point = pair.public_key().as_ref();
                let (x, y) =
                    (point.get(1..33).ok_or(KeyError("ec point"))?, point.get(33..65).ok_or(KeyError("ec point"))?);
                let jwk = Jwk {
                    kty: "EC".into(),
                    kid: Some(kid),
                    use_: Some("sig".into()),
                    alg: Some("ES256".into()),
                    n: None,
                    e: None,
                    crv: Some("P-256".into()),
                    x: Some(URL_SAFE_NO_PAD.encode(x)),
                    y: Some(URL_SAFE_NO_PAD.encode(y)),
                };
                Ok(Self { pair: Pair::Ec(pair), jwk })
            }
        }
    }

    pub(crate) const fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub(crate) fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_) => "ES256",
        }
    }

    /// A compact JWS of `claims`.
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> Result<String, KeyError> {
        let header = serde_json::json!({ "alg": self.alg(), "typ": "JWT", "kid": self.jwk.kid });
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0_u8; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).map_err(|_| KeyError("rsa sign"))?;
                sig
            }
            Pair::Ec(pair) => pair.sign(&rng, input.as_bytes()).map_err(|_| KeyError("ec sign"))?.as_ref().to_vec(),
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}
