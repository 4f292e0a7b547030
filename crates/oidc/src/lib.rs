//! # hoheit-oidc — the OpenID Connect adapter
//!
//! An adapter of the hexagon: it signs staff in through their employer's identity provider
//! (Entra ID, Keycloak, any OpenID Connect provider). The domain never sees tokens; it gets a
//! [`VerifiedIdentity`] (issuer, subject, e-mail, name, groups) after every check passed, and
//! the server decides (through the accounts use case) which staff account that is.
//!
//! ```no_run
//! # async fn sign_in() -> Result<(), hoheit_oidc::OidcError> {
//! use std::sync::Arc;
//! use hoheit_oidc::{MemoryPendingStore, OidcClient, OidcTimings, ProviderConfig, SecretString};
//! let config = ProviderConfig::new(
//!     "https://login.microsoftonline.com/<tenant-id>/v2.0",
//!     "<client id>",
//!     SecretString::from("<client secret>"),
//!     "https://hoheit.example.de/auth/oidc/callback",
//! )?
//! .with_allowed_email_domains(["example.de"])?;
//! let timings = OidcTimings::default();
//! let http = hoheit_oidc::http_client(timings.request_timeout)?;
//! let client = OidcClient::new(config, timings, http, Arc::new(hoheit_oidc::WallClock));
//! let pending_store = MemoryPendingStore::new();
//!
//! let request = client.begin(Some("/inbox".into())).await?;
//! pending_store.insert(request.pending);          // server-side, single use
//! // ... redirect the browser to request.url; the provider redirects back with code + state ...
//! # let (code, state) = ("", "");
//! let pending = pending_store.take(state).ok_or(hoheit_oidc::OidcError::StateMismatch)?;
//! let identity = client.complete(pending, code, state).await?;
//! # let _ = identity; Ok(()) }
//! ```
//!
//! ## What is checked
//!
//! - Authorisation code flow with PKCE (S256), a fresh 256-bit `state` and `nonce` per sign-in;
//!   the state is compared in constant time, the pending sign-in expires
//!   ([`OidcTimings::pending_ttl`]) and is single use (the caller's store hands it out once).
//! - The discovery document (`<issuer>/.well-known/openid-configuration`) must name exactly the
//!   configured issuer; every endpoint must be https (http to loopback only where configured, for
//!   the stand-in). Discovery and JWKS are cached ([`OidcTimings::discovery_ttl`],
//!   [`OidcTimings::jwks_ttl`]). A token naming an unknown key id makes the client refetch the
//!   JWKS once (key rotation), at most once per [`OidcTimings::jwks_refetch_interval`]; a key the
//!   provider no longer publishes is not trusted.
//! - ID token: signature (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA; never `none` or
//!   HMAC; the key's type must fit the algorithm), `iss` exactly the configured issuer, `aud`
//!   contains the client id (several audiences need `azp` = client id), `exp`, `nbf`, `iat` with
//!   a small leeway (and `iat` not before the sign-in began), `nonce`, and `at_hash` when present.
//!   Time claims must be integers (a string `exp` is invalid, never skipped).
//! - Then the tenant's e-mail rule: with allowed domains configured, the e-mail must be in one of
//!   them (exact domain) and verified (unless the configuration trusts unverified e-mail).
//!
//! Errors ([`OidcError`]) have stable codes (`wrong_issuer`, `wrong_audience`, `expired`,
//! `bad_signature`, `unknown_key`, `state_mismatch`, `nonce_mismatch`, `provider_unavailable`,
//! `email_domain_not_allowed`, ...). No error text or log line carries a token, a code, a state,
//! a nonce, an e-mail address or a name; [`VerifiedIdentity`]'s `Debug` redacts them.
//!
//! ## Why not the `openidconnect` crate
//!
//! `openidconnect` 4.x brings its own reqwest 0.12 (or needs an adapter), chrono, serde_with and
//! the RustCrypto `rsa` crate (RUSTSEC-2023-0071, no fixed release in the 0.9 line);
//! `jsonwebtoken` 10+ needs aws-lc-rs (banned here: C build) or the same `rsa`, and 9.x has
//! CVE-2026-25537 (claim type confusion). The relying party is small, so it is written here:
//! reqwest 0.13 as the rest of the workspace, signatures verified with ring (already in the tree
//! as rustls' provider), claims validated by hand with typed, strict parsing.
//!
//! ## The stand-in (feature `stand-in`)
//!
//! [`stand_in::StandIn`] is an OpenID Connect provider for tests and development (like the
//! 360Dialog simulator): discovery, JWKS, `/authorize` (a page to pick a configured user, or
//! auto-approve for tests), `/token` (client secret, PKCE, redirect URI, single-use codes), with
//! knobs for a wrong issuer or audience, an expired token, a wrong nonce, and key rotation. The
//! binary `oidc-stand-in` serves it for manual and browser use.

mod client;
mod clock;
mod config;
mod error;
mod jwt;
mod pending;
#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use client::{
    AuthorizationRequest, CallbackParams, OidcClient, PendingLogin, VerifiedIdentity, http_client, pkce_challenge,
};
pub use clock::WallClock;
pub use config::{OidcTimings, ProviderConfig};
pub use error::{OidcError, ProviderErrorCode};
pub use jwt::{Algorithm, Jwk, JwkSet};
pub use pending::MemoryPendingStore;
pub use secrecy::SecretString;
