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

/// Token lookups (cached for [`CACHE_TTL`]), their lifecycle audit and the rate limit.
pub struct Auth {
    platform: Arc<dyn Platform>,
    app: Hoheit,
    clock: Arc<dyn Clock>,
    ttl: StdDuration,
    entries: Mutex<HashMap<String, (Option<TokenRecord>, Instant)>>,
    /// Last write per (token, what) on this replica: last use, refused use.
    written: Mutex<HashMap<(StaffId, &'static str), Instant>>,
    limiter: RateLimiter,
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
        }
    }

    async fn record(&self, token: &str) -> Result<Option<TokenRecord>, ApiError> {
        if let Ok(entries) = self.entries.lock()
            && let Some((record, at)) = entries.get(token)
            && at.elapsed() < self.ttl
        {
            return Ok(record.clone());
        }
        let found = self.platform.token(token).await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(token.to_owned(), (found.clone(), Instant::now()));
        }
        Ok(found)
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
        let Some(record) = self.record(token).await? else { return Ok(None) };
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
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).ok_or_else(ApiError::unauthorized)?;
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Err(ApiError::unauthorized());
        }
        let principal: Principal = auth.lookup(token).await?.ok_or_else(ApiError::unauthorized)?;
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
