//! The relying party: `begin` (authorisation URL + the pending sign-in to keep server-side) and
//! `complete` (code exchange, ID token verification, e-mail domain rule).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hoheit_domain::ports::Clock;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use url::Url;

use crate::config::{OidcTimings, ProviderConfig};
use crate::error::OidcError;
use crate::jwt::{Jwk, JwkSet, Jws};

/// Largest answer read from the provider (discovery, JWKS, token).
const MAX_BODY: usize = 1024 * 1024;

/// A sign-in that has been started and not completed. Keep it server-side (never in the
/// browser), keyed by [`PendingLogin::state`], and hand it to [`OidcClient::complete`] at most
/// once: taking it out of the store is what makes a replayed `state` fail.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
    issuer: String,
    client_id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(default)]
    return_to: Option<String>,
}

impl PendingLogin {
    /// The `state` sent to the provider: the key to store this under.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the sign-in began.
    pub const fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// Where the caller wanted to go after signing in (as given to `begin`; the caller checks it
    /// is a local path before using it).
    pub fn return_to(&self) -> Option<&str> {
        self.return_to.as_deref()
    }

    /// The issuer this sign-in was started with.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("issuer", &self.issuer)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What `begin` returns: send the browser to `url`, keep `pending`.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The provider's authorisation endpoint with all parameters.
    pub url: Url,
    /// The pending sign-in to keep server-side.
    pub pending: PendingLogin,
}

/// The person the provider vouches for, after every check passed.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The issuer (as configured).
    pub issuer: String,
    /// The provider's stable subject id for the person.
    pub subject: String,
    /// The e-mail address, if the provider sent one (personal data).
    pub email: Option<String>,
    /// Whether the provider says the e-mail address is verified.
    pub email_verified: bool,
    /// The display name, if sent (personal data).
    pub name: Option<String>,
    /// Group or role names from the configured claim (empty if absent).
    pub groups: Vec<String>,
}

impl std::fmt::Debug for VerifiedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdentity")
            .field("issuer", &self.issuer)
            .field("subject", &"<redacted>")
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("email_verified", &self.email_verified)
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .field("groups", &self.groups.len())
            .finish()
    }
}

/// The query of the provider's redirect back to the callback.
#[derive(Clone, Default, Deserialize)]
pub struct CallbackParams {
    /// The authorisation code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state sent.
    #[serde(default)]
    pub state: Option<String>,
    /// An OAuth error code instead of a code.
    #[serde(default)]
    pub error: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state.as_ref().map(|_| "<redacted>"))
            .field("error", &self.error.as_deref().map(crate::error::ProviderErrorCode::parse))
            .finish()
    }
}

/// The provider metadata that matters (OpenID Connect Discovery 1.0).
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct Cache {
    discovery: Option<(Arc<Discovery>, OffsetDateTime)>,
    jwks: Option<(Arc<Vec<Jwk>>, OffsetDateTime)>,
    last_forced_refetch: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// The standard claims checked, plus the rest for the groups claim. Time claims must be
/// integers: a string `exp` makes the token invalid, it is never skipped.
#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    at_hash: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified` as a boolean, or as the strings some providers send.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_true(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Text(t) => t == "true",
        }
    }
}

/// One tenant's OpenID Connect relying party. Caches the provider's discovery document and
/// JWKS (per client; build one client per tenant configuration and reuse it).
pub struct OidcClient {
    config: ProviderConfig,
    timings: OidcTimings,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient").field("issuer", &self.config.issuer()).finish_non_exhaustive()
    }
}

/// An HTTP client fit for talking to identity providers: rustls with the ring provider, no
/// redirects (a redirect could lead off the provider), no proxies, a request timeout.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, OidcError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("hoheit-oidc/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| OidcError::InvalidConfig("cannot build the HTTP client"))
}

fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE S256 challenge of a verifier (RFC 7636 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn eq_ct(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl OidcClient {
    /// A relying party for `config`. `http` should come from [`http_client`] (or be built with
    /// the same rules: no redirects); `clock` decides token validity and cache ages.
    pub fn new(config: ProviderConfig, timings: OidcTimings, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self { config, timings, http, clock, cache: Mutex::new(Cache::default()) }
    }

    /// The configuration.
    pub const fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The timings.
    pub const fn timings(&self) -> &OidcTimings {
        &self.timings
    }

    /// Starts a sign-in: the URL to send the browser to (authorisation code flow with PKCE S256,
    /// fresh `state` and `nonce`) and the pending sign-in to keep server-side under its state.
    /// `return_to` is kept with it for after the sign-in.
    pub async fn begin(&self, return_to: Option<String>) -> Result<AuthorizationRequest, OidcError> {
        let discovery = self.discovery().await?;
        if discovery.code_challenge_methods_supported.as_ref().is_some_and(|m| !m.iter().any(|m| m == "S256")) {
            return Err(OidcError::InvalidConfig("the identity provider does not support PKCE S256"));
        }
        let mut url = Url::parse(&discovery.authorization_endpoint).map_err(|_| OidcError::InvalidToken)?;
        self.config.check_scheme(&url)?;
        let pending = PendingLogin {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            issuer: self.config.issuer().to_owned(),
            client_id: self.config.client_id().to_owned(),
            created_at: self.clock.now(),
            return_to,
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.config.client_id())
            .append_pair("redirect_uri", self.config.redirect_uri().as_str())
            .append_pair("scope", &self.config.scopes().join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(AuthorizationRequest { url, pending })
    }

    /// Completes a sign-in from the provider's redirect: `state` must be the pending sign-in's,
    /// the sign-in not older than [`OidcTimings::pending_ttl`], the code is exchanged (with the
    /// PKCE verifier and the client secret), and the ID token's signature and claims (iss, aud,
    /// azp, exp, iat, nbf, nonce, at_hash) are checked; then the e-mail domain rule.
    pub async fn complete(
        &self,
        pending: PendingLogin,
        code: &str,
        state: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        if !eq_ct(&pending.state, state)
            || pending.issuer != self.config.issuer()
            || pending.client_id != self.config.client_id()
        {
            return Err(OidcError::StateMismatch);
        }
        let now = self.clock.now();
        if now - pending.created_at > self.timings.pending_ttl {
            return Err(OidcError::PendingExpired);
        }
        if code.is_empty() || code.len() > 4096 {
            return Err(OidcError::CodeRejected);
        }
        let discovery = self.discovery().await?;
        let tokens = self.exchange(&discovery, &pending, code).await?;
        let id_token = tokens.id_token.ok_or(OidcError::InvalidToken)?;
        let identity = self.verify_id_token(&discovery, &id_token, &pending, tokens.access_token.as_deref()).await?;
        self.check_email(&identity)?;
        Ok(identity)
    }

    /// Completes a sign-in from the callback's query: an `error` from the provider becomes
    /// [`OidcError::ProviderError`]; a missing code or state is a state mismatch.
    pub async fn complete_callback(
        &self,
        pending: PendingLogin,
        params: &CallbackParams,
    ) -> Result<VerifiedIdentity, OidcError> {
        if let Some(error) = &params.error {
            return Err(OidcError::ProviderError(crate::error::ProviderErrorCode::parse(error)));
        }
        let (Some(code), Some(state)) = (&params.code, &params.state) else {
            return Err(OidcError::StateMismatch);
        };
        self.complete(pending, code, state).await
    }

    fn check_email(&self, identity: &VerifiedIdentity) -> Result<(), OidcError> {
        let allowed = self.config.allowed_email_domains();
        if allowed.is_empty() {
            return Ok(());
        }
        let domain = identity
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(local, domain)| (local, domain.to_ascii_lowercase()))
            .filter(|(local, _)| !local.is_empty())
            .map(|(_, domain)| domain)
            .ok_or(OidcError::EmailDomainNotAllowed)?;
        if !allowed.contains(&domain) {
            return Err(OidcError::EmailDomainNotAllowed);
        }
        if self.config.require_verified_email() && !identity.email_verified {
            return Err(OidcError::EmailNotVerified);
        }
        Ok(())
    }

    async fn exchange(
        &self,
        discovery: &Discovery,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<TokenResponse, OidcError> {
        let url = Url::parse(&discovery.token_endpoint).map_err(|_| OidcError::InvalidToken)?;
        self.config.check_scheme(&url)?;
        let methods = discovery.token_endpoint_auth_methods_supported.as_deref();
        let basic = methods.is_none_or(|m| m.is_empty() || m.iter().any(|m| m == "client_secret_basic"));
        let secret: &SecretString = self.config.client_secret();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri().as_str()),
            ("code_verifier", &pending.pkce_verifier),
        ];
        let mut request = self.http.post(url).header(reqwest::header::ACCEPT, "application/json");
        if basic {
            // RFC 6749 2.3.1: both parts form-urlencoded before Basic encoding.
            let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", encode(self.config.client_id()), encode(secret.expose_secret()));
            request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(credentials)));
        } else {
            form.push(("client_id", self.config.client_id()));
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = request.form(&form).send().await.map_err(|_| OidcError::ProviderUnavailable)?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(OidcError::ProviderUnavailable);
        }
        if !status.is_success() {
            tracing::info!(status = status.as_u16(), "identity provider refused the authorisation code");
            return Err(OidcError::CodeRejected);
        }
        let body = read_limited(response).await?;
        serde_json::from_slice(&body).map_err(|_| OidcError::InvalidToken)
    }

    async fn verify_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        pending: &PendingLogin,
        access_token: Option<&str>,
    ) -> Result<VerifiedIdentity, OidcError> {
        let jws = Jws::parse(token)?;
        if discovery
            .id_token_signing_alg_values_supported
            .as_ref()
            .is_some_and(|a| !a.iter().any(|a| a == jws.alg.as_str()))
        {
            return Err(OidcError::BadSignature);
        }
        let key = self.key_for(&jws).await?;
        jws.verify(&key)?;
        let claims: IdClaims = serde_json::from_slice(&jws.payload).map_err(|_| OidcError::InvalidToken)?;

        if claims.iss != self.config.issuer() {
            return Err(OidcError::WrongIssuer);
        }
        let client_id = self.config.client_id();
        let audiences: Vec<&str> = match &claims.aud {
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(list) => list.iter().map(String::as_str).collect(),
        };
        if !audiences.contains(&client_id) {
            return Err(OidcError::WrongAudience);
        }
        // OIDC Core 3.1.3.7 (4, 5): several audiences need azp, and azp must be us.
        match claims.azp.as_deref() {
            Some(azp) if azp != client_id => return Err(OidcError::WrongAudience),
            None if audiences.len() > 1 => return Err(OidcError::WrongAudience),
            Some(_) | None => {}
        }
        let now = self.clock.now().unix_timestamp();
        let leeway = secs(self.timings.leeway);
        if claims.exp.saturating_add(leeway) <= now {
            return Err(OidcError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) || claims.iat > now.saturating_add(leeway) {
            return Err(OidcError::Expired);
        }
        // A token issued before this sign-in began was not issued for it.
        if claims.iat.saturating_add(leeway) < pending.created_at.unix_timestamp() {
            return Err(OidcError::Expired);
        }
        match claims.nonce.as_deref() {
            Some(nonce) if eq_ct(nonce, &pending.nonce) => {}
            Some(_) | None => return Err(OidcError::NonceMismatch),
        }
        if let Some(at_hash) = claims.at_hash.as_deref() {
            let access_token = access_token.ok_or(OidcError::AtHashMismatch)?;
            let expected = URL_SAFE_NO_PAD.encode(jws.alg.half_hash(access_token.as_bytes()));
            if !eq_ct(at_hash, &expected) {
                return Err(OidcError::AtHashMismatch);
            }
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(OidcError::InvalidToken);
        }
        let groups = match claims.rest.get(self.config.groups_claim()) {
            Some(serde_json::Value::Array(values)) => {
                values.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect()
            }
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            Some(_) | None => Vec::new(),
        };
        Ok(VerifiedIdentity {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
            email_verified: claims.email_verified.as_ref().is_some_and(Flag::is_true),
            name: claims.name,
            groups,
        })
    }

    /// The key the token names: from the cached JWKS, or after one refetch when the key id is
    /// unknown (at most one such refetch per [`OidcTimings::jwks_refetch_interval`]).
    async fn key_for(&self, jws: &Jws<'_>) -> Result<Jwk, OidcError> {
        let keys = self.jwks(false).await?;
        if let Some(key) = jws.select_key(&keys) {
            return Ok(key.clone());
        }
        let keys = self.jwks(true).await?;
        jws.select_key(&keys).cloned().ok_or(OidcError::UnknownKey)
    }

    async fn jwks(&self, force: bool) -> Result<Arc<Vec<Jwk>>, OidcError> {
        let discovery = self.discovery().await?;
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        let fresh = cache.jwks.as_ref().filter(|(_, at)| now - *at < self.timings.jwks_ttl).map(|(k, _)| Arc::clone(k));
        if force {
            let allowed = cache.last_forced_refetch.is_none_or(|at| now - at >= self.timings.jwks_refetch_interval);
            if !allowed {
                return fresh.ok_or(OidcError::UnknownKey);
            }
            cache.last_forced_refetch = Some(now);
        } else if let Some(keys) = fresh {
            return Ok(keys);
        }
        let url = Url::parse(&discovery.jwks_uri).map_err(|_| OidcError::InvalidToken)?;
        self.config.check_scheme(&url)?;
        let set: JwkSet = self.get_json(url).await?;
        let keys = Arc::new(set.keys);
        cache.jwks = Some((Arc::clone(&keys), now));
        Ok(keys)
    }

    async fn discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        if let Some((doc, at)) = &cache.discovery
            && now - *at < self.timings.discovery_ttl
        {
            return Ok(Arc::clone(doc));
        }
        self.config.check_issuer()?;
        let doc: Discovery = self.get_json(self.config.discovery_url()?).await?;
        if doc.issuer != self.config.issuer() {
            return Err(OidcError::WrongIssuer);
        }
        let doc = Arc::new(doc);
        cache.discovery = Some((Arc::clone(&doc), now));
        Ok(doc)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| OidcError::ProviderUnavailable)?;
        if !response.status().is_success() {
            tracing::warn!(status = response.status().as_u16(), "identity provider metadata request failed");
            return Err(OidcError::ProviderUnavailable);
        }
        let body = read_limited(response).await?;
        serde_json::from_slice(&body).map_err(|_| OidcError::InvalidToken)
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| OidcError::ProviderUnavailable)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::InvalidToken);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn pending_login_round_trips_and_hides_secrets_in_debug() {
        let pending = PendingLogin {
            state: "st".into(),
            nonce: "no".into(),
            pkce_verifier: "ver".into(),
            issuer: "https://idp".into(),
            client_id: "c".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            return_to: Some("/inbox".into()),
        };
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(serde_json::from_str::<PendingLogin>(&json).unwrap(), pending);
        let debug = format!("{pending:?}");
        assert!(!debug.contains("ver") && !debug.contains("\"st\"") && !debug.contains("no\""));
    }

    #[test]
    fn verified_identity_debug_redacts_personal_data() {
        let identity = VerifiedIdentity {
            issuer: "https://idp".into(),
            subject: "sub-1".into(),
            email: Some("erika@example.de".into()),
            email_verified: true,
            name: Some("Erika".into()),
            groups: vec!["hr".into()],
        };
        let debug = format!("{identity:?}");
        assert!(!debug.contains("erika") && !debug.contains("Erika") && !debug.contains("sub-1"), "{debug}");
    }
}
