//! Bearer-token authentication. Tokens are random (256 bits), shown once, stored as SHA-256.
//! Each token has a role; every role but `operator` is bound to one tenant.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::tenant::{Actor, Role};
use hoheit_persistence::ApiToken;
use rand::RngCore;

use crate::error::ApiError;
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

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).ok_or_else(ApiError::unauthorized)?;
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Err(ApiError::unauthorized());
        }
        let principal: Principal =
            state.tokens.lookup(&state.store, token).await?.ok_or_else(ApiError::unauthorized)?;
        if !state.limiter.allow(principal.id, state.now_instant()) {
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
