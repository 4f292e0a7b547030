//! Bearer-token authentication. Tokens are random (256 bits), shown once, stored as SHA-256.
//! Each token has a role; every role but `operator` is bound to one tenant. The [`Auth`] service
//! (token lookups through the [`Platform`] port, a short cache, a per-token rate limit) is taken
//! from the router state with `FromRef`, so this module does not depend on the state.
//!
//! Lifecycle (issue 13): a token's state (active, revoked, expired) is decided on every request
//! from a lookup at most [`CACHE_TTL`] old, so a revocation on any replica takes effect
//! everywhere within that time. The first use after expiry writes `token.expired`, a use of a
//! revoked or expired token `token.use_refused` (at most once a minute per token and replica);
//! the last use is recorded at most once a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine as _;
use hoheit_domain::credential::TokenState;
use hoheit_domain::events::DomainEvent;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::Clock;
use hoheit_domain::tenant::{Actor, Role};
use hoheit_domain::usecases::Hoheit;
use hoheit_persistence::{ApiToken, PLATFORM_CHAIN, TokenRecord};
use rand::RngCore;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::ports::Platform;
use crate::state::AppState;

/// Prefix of every hoheit token (helps secret scanners).
pub const TOKEN_PREFIX: &str = "hoh_";

/// A fresh token: prefix + 32 random bytes, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The identity of the token.
    pub id: StaffId,
    /// Its tenant (`None` for the operator).
    pub tenant: Option<TenantId>,
    /// Its role.
    pub role: Role,
    /// Who created the credential (`None`: the operator's CLI, the system, or unknown).
    pub created_by: Option<StaffId>,
}

impl Principal {
    /// The actor for domain events.
    pub const fn actor(&self) -> Actor {
        Actor::Staff { id: self.id, role: self.role }
    }

    /// The caller's tenant, if the role is one of `roles`; the operator has no tenant and gets
    /// 403 on tenant routes.
    pub fn tenant_for(&self, roles: &[Role]) -> Result<TenantId, ApiError> {
        if !roles.contains(&self.role) {
            return Err(ApiError::forbidden(format!("the {} role may not do this", self.role.as_str())));
        }
        self.tenant.ok_or_else(|| ApiError::forbidden("the operator has no access to tenant data"))
    }

    /// Requires the operator role.
    pub fn operator(&self) -> Result<(), ApiError> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the platform operator may do this"))
        }
    }
}

impl From<ApiToken> for Principal {
    fn from(t: ApiToken) -> Self {
        Self { id: t.id, tenant: t.tenant, role: t.role, created_by: t.created_by }
    }
}

/// Per-token token bucket.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<StaffId, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second, bursts up to `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate.max(1)), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Whether a request of this token may pass now.
    pub fn allow(&self, id: StaffId, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        if buckets.len() > 100_000 {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(id).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How long a token lookup is reused: a revocation is effective on every replica within it.
pub const CACHE_TTL: StdDuration = StdDuration::from_secs(2);

/// How often a token's last use, or a refused use, is written (per token and replica).
const WRITE_EVERY: StdDuration = StdDuration::from_secs(60);

/// A cached token lookup: the record, whether its staff account may act, when looked up.
type CachedToken = (Option<TokenRecord>, Option<bool>, Instant);

/// Token lookups (cached for [`CACHE_TTL`]), their lifecycle audit and the rate limit.
pub struct Auth {
    platform: Arc<dyn Platform>,
    app: Hoheit,
    clock: Arc<dyn Clock>,
    ttl: StdDuration,
    /// Token lookups with whether the token's staff account may act (`None`: no account).
    entries: Mutex<HashMap<String, CachedToken>>,
    /// Last write per (token, what) on this replica: last use, refused use.
    written: Mutex<HashMap<(StaffId, &'static str), Instant>>,
    limiter: RateLimiter,
    /// The public origin (`https://host[:port]`) state-changing session requests must come from.
    public_origin: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Auth {
    /// Looks tokens up through `platform`, caches them for [`CACHE_TTL`], audits their lifecycle
    /// through `app` (tenant tokens) or the platform chain (operator tokens), limits each token.
    pub fn new(platform: Arc<dyn Platform>, app: Hoheit, clock: Arc<dyn Clock>, limiter: RateLimiter) -> Self {
        Self {
            platform,
            app,
            clock,
            ttl: CACHE_TTL,
            entries: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
            limiter,
            public_origin: None,
        }
    }

    /// Sets the public URL whose origin (scheme, host, port) browser requests must come from.
    #[must_use]
    pub fn with_public_url(mut self, public_url: Option<&str>) -> Self {
        self.public_origin = public_url.and_then(origin_of);
        self
    }

    async fn record(&self, token: &str) -> Result<(Option<TokenRecord>, Option<bool>), ApiError> {
        if let Ok(entries) = self.entries.lock()
            && let Some((record, may_act, at)) = entries.get(token)
            && at.elapsed() < self.ttl
        {
            return Ok((record.clone(), *may_act));
        }
        let found = self.platform.token(token).await?;
        // a token acting as a staff account stops with the account (issue 16)
        let may_act = match &found {
            Some(r) => self.app.staff_may_act(r.token.id).await.map_err(crate::error::account_error)?,
            None => None,
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(token.to_owned(), (found.clone(), may_act, Instant::now()));
        }
        Ok((found, may_act))
    }

    /// Whether `what` for this token is due to be written on this replica (at most once a minute).
    fn due(&self, id: StaffId, what: &'static str) -> bool {
        let Ok(mut written) = self.written.lock() else { return true };
        if written.len() > 100_000 {
            written.clear();
        }
        let now = Instant::now();
        match written.get(&(id, what)) {
            Some(at) if now.saturating_duration_since(*at) < WRITE_EVERY => false,
            _ => {
                written.insert((id, what), now);
                true
            }
        }
    }

    /// The principal of a token in force; `None` for an unknown, revoked or expired one (the
    /// latter two audited).
    pub async fn lookup(&self, token: &str) -> Result<Option<Principal>, ApiError> {
        let (record, may_act) = self.record(token).await?;
        let Some(record) = record else { return Ok(None) };
        if may_act == Some(false) {
            // the account is disabled: its tokens are refused (within the cache's 2 s)
            return Ok(None);
        }
        let now = self.clock.now();
        let t = &record.token;
        match TokenState::at(record.revoked_at, t.expires_at, now) {
            TokenState::Active => {
                if self.due(t.id, "used") {
                    self.platform.touch_token(t.id, now).await?;
                }
                Ok(Some(Principal::from(t.clone())))
            }
            state @ (TokenState::Revoked | TokenState::Expired) => {
                self.refused(t, state, now).await;
                Ok(None)
            }
        }
    }

    /// Audits the use of a revoked or expired token (best effort: the request is refused anyway).
    async fn refused(&self, t: &ApiToken, state: TokenState, now: OffsetDateTime) {
        let mut events = Vec::new();
        if state == TokenState::Expired && self.platform.record_token_expiry(t.id, now).await.unwrap_or(false) {
            events.push(DomainEvent::TokenExpired { staff: t.id });
        }
        if self.due(t.id, "refused") {
            events.push(DomainEvent::TokenUseRefused { staff: t.id, state });
        }
        if events.is_empty() {
            return;
        }
        let actor = Actor::Staff { id: t.id, role: t.role };
        let written = match t.tenant {
            Some(tenant) => self.app.record_credential_events(tenant, actor, events).await.map_err(|e| e.to_string()),
            None => {
                let mut result = Ok(());
                for event in events {
                    let envelope = hoheit_domain::events::EventEnvelope {
                        tenant: PLATFORM_CHAIN,
                        subject: None,
                        actor,
                        at: now,
                        rule: Some(hoheit_domain::rules::Rule::R33),
                        event,
                    };
                    if let Err(e) = self.platform.append_platform_audit(&envelope).await {
                        result = Err(e.to_string());
                    }
                }
                result
            }
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not audit the use of a revoked or expired token");
        }
    }

    /// Forgets every cached lookup (after a revocation on this replica).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

impl<S> FromRequestParts<S> for Principal
where
    Arc<Auth>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Auth>::from_ref(state);
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = match header {
            Some(header) => {
                let token = header.strip_prefix("Bearer ").map(str::trim).ok_or_else(ApiError::unauthorized)?;
                if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
                    return Err(ApiError::unauthorized());
                }
                auth.lookup(token).await?.ok_or_else(ApiError::unauthorized)?
            }
            None => auth.session_principal(parts).await?,
        };
        if !auth.limiter.allow(principal.id, Instant::now()) {
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this token",
            ));
        }
        Ok(principal)
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether a request changes state (everything but GET, HEAD, OPTIONS).
fn changes_state(method: &axum::http::Method) -> bool {
    !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS)
}

/// `Ok` if the check `passed`, otherwise 403 with `code`.
fn forbidden_unless(passed: bool, code: &'static str, message: &'static str) -> Result<(), ApiError> {
    if passed { Ok(()) } else { Err(ApiError::new(axum::http::StatusCode::FORBIDDEN, code, message)) }
}

impl Auth {
    /// Refuses a browser request that does not come from hoheit's own origin (403
    /// `cross_origin`).
    pub fn check_origin(&self, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let host = header("host").unwrap_or("");
        let expected = self.public_origin.clone().unwrap_or_else(|| format!("http://{host}"));
        let origin = header("origin");
        let same = hoheit_domain::staff::same_origin_request(origin, header("sec-fetch-site"), &expected)
            || (self.public_origin.is_none()
                && !host.is_empty()
                && origin.and_then(origin_of).is_some_and(|o| o.ends_with(&format!("://{host}"))));
        forbidden_unless(same, "cross_origin", "a state-changing request must come from hoheit's own pages")
    }

    /// Refuses a request whose `X-CSRF-Token` is not `expected` (403 `csrf_failed`).
    pub fn check_csrf(headers: &axum::http::HeaderMap, expected: &str) -> Result<(), ApiError> {
        let presented = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        let matches = hoheit_domain::staff::csrf_matches(expected, presented);
        forbidden_unless(matches, "csrf_failed", "the CSRF token is missing or wrong (header X-CSRF-Token)")
    }

    /// The principal of the request's session cookie (issue 16): a signed-in session of an
    /// active account, checked in the store on every request. A state-changing request must come
    /// from hoheit's own origin (`Origin` / `Sec-Fetch-Site`, 403 `cross_origin`) and carry the
    /// session's CSRF token in `X-CSRF-Token` (403 `csrf_failed`).
    pub async fn session_principal(&self, parts: &Parts) -> Result<Principal, ApiError> {
        let cookie = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(hoheit_domain::staff::session_cookie_value)
            .ok_or_else(ApiError::unauthorized)?;
        let session = self.app.session(&cookie).await.map_err(|e| {
            if matches!(e, hoheit_domain::usecases::AccountError::Store(_)) {
                crate::error::account_error(e)
            } else {
                ApiError::unauthorized()
            }
        })?;
        if changes_state(&parts.method) {
            self.check_origin(&parts.headers)?;
            Self::check_csrf(&parts.headers, &session.csrf_token)?;
        }
        Ok(Principal {
            id: session.staff,
            tenant: Some(session.tenant),
            role: session.role,
            created_by: session.appointed_by,
        })
    }
}

impl<S> FromRequestParts<S> for SessionCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let cookie = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(hoheit_domain::staff::session_cookie_value);
        Ok(Self { state: AppState::from_ref(state), headers: parts.headers.clone(), cookie })
    }
}

/// The session cookie of a request, if any (the sign-in routes work on it without requiring a
/// full session), with the request's headers (origin, CSRF token, user agent) and the server's
/// state, so a handler needs no `State` or `HeaderMap` beside it.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    /// The server's state.
    pub state: AppState,
    /// The request's headers.
    pub headers: axum::http::HeaderMap,
    /// The cookie value.
    pub cookie: Option<hoheit_domain::staff::SecretText>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_long() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        // 32 bytes = 256 bits, base64url without padding = 43 characters
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
    }
}
