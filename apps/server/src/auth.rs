//! Bearer-token authentication. Tokens are random (256 bits), shown once, stored as SHA-256.
//! Each token has a role; every role but `operator` is bound to one tenant. The [`Auth`] service
//! (token lookups through the [`Platform`] port, a short cache, a per-token rate limit) is taken
//! from the router state with `FromRef`, so this module does not depend on the state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine as _;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::tenant::{Actor, Role};
use hoheit_persistence::ApiToken;
use rand::RngCore;

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
        Self { id: t.id, tenant: t.tenant, role: t.role }
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

/// Token lookups (cached briefly: revocation takes effect within the TTL) and the rate limit.
pub struct Auth {
    platform: Arc<dyn Platform>,
    ttl: StdDuration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    limiter: RateLimiter,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Auth {
    /// Looks tokens up through `platform`, caches them for 10 s, limits each token.
    pub fn new(platform: Arc<dyn Platform>, limiter: RateLimiter) -> Self {
        Self { platform, ttl: StdDuration::from_secs(10), entries: Mutex::new(HashMap::new()), limiter }
    }

    /// The principal of a token.
    pub async fn lookup(&self, token: &str) -> Result<Option<Principal>, ApiError> {
        if let Ok(entries) = self.entries.lock()
            && let Some((p, at)) = entries.get(token)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(*p));
        }
        let found = self.platform.token(token).await?.map(Principal::from);
        if let (Some(p), Ok(mut entries)) = (found, self.entries.lock()) {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(token.to_owned(), (p, Instant::now()));
        }
        Ok(found)
    }

    /// Forgets every cached lookup (after a revocation).
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
