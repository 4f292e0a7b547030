//! Credential lifecycle (issue 13): issuing, revoking and accepting, each written to an audit
//! chain — the tenant's for tenant credentials (through the domain's
//! `Hoheit::record_credential_events`), the operator's own platform chain for operator tokens.
//! The rules themselves (lifetimes, invitations, who may mint what) are the domain's
//! ([`hoheit_domain::credential`]); this module applies them to the stored tokens.

use hoheit_domain::credential::{
    BreakGlassReason, CredentialSettings, Invitation, InvitationError, InvitationOrigin, operator_may_mint,
};
use hoheit_domain::events::{DomainEvent, EventEnvelope};
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::Clock as _;
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::{Actor, Role};
use hoheit_persistence::{ApiToken, PLATFORM_CHAIN};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::new_token;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Prefix of invitation secrets (they are not bearer tokens and are refused as such).
pub const INVITATION_PREFIX: &str = "hoi_";

/// A token just issued: its id, the secret (shown once) and its expiry.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The identity the token acts as.
    pub id: StaffId,
    /// The bearer token.
    pub secret: String,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
}

/// Writes credential events to the right chain: the tenant's, or the operator's platform chain.
pub async fn audit(
    state: &AppState,
    tenant: Option<TenantId>,
    actor: Actor,
    events: Vec<DomainEvent>,
) -> ApiResult<()> {
    match tenant {
        Some(t) => state.app.record_credential_events(t, actor, events).await.map_err(ApiError::from),
        None => {
            let at = state.clock.now();
            for event in events {
                let envelope =
                    EventEnvelope { tenant: PLATFORM_CHAIN, subject: None, actor, at, rule: Some(Rule::R33), event };
                state.platform.append_platform_audit(&envelope).await?;
            }
            Ok(())
        }
    }
}

/// Issues a token: its expiry from the tenant's rules (`expires_in_days`, default 90, at most the
/// tenant's maximum), stored by hash, audited (`token.issued`). If the audit entry cannot be
/// written the token is revoked again: no credential exists without its audit entry.
pub async fn issue(
    state: &AppState,
    tenant: Option<TenantId>,
    role: Role,
    label: &str,
    actor: Actor,
    expires_in_days: Option<u32>,
) -> ApiResult<Issued> {
    let now = state.clock.now();
    let settings = match tenant {
        Some(t) => state.app.tenant_config(t).await?.tenant.credentials,
        None => CredentialSettings::default(),
    };
    let expires_at = Some(settings.token_expiry(expires_in_days, now).map_err(|e| ApiError::invalid(e.to_string()))?);
    let id = StaffId::from_uuid(Uuid::now_v7());
    let secret = new_token();
    let created_by = match actor {
        Actor::Staff { id, .. } => Some(id),
        Actor::System | Actor::Candidate => None,
    };
    let record = ApiToken { id, tenant, role, label: label.to_owned(), created_by, expires_at };
    state.platform.create_token(&record, &secret, now).await?;
    if let Err(e) = audit(state, tenant, actor, vec![DomainEvent::TokenIssued { staff: id, role }]).await {
        let _ = state.platform.revoke_token(tenant, id, now).await;
        return Err(e);
    }
    Ok(Issued { id, secret, expires_at })
}

/// Revokes a token of the tenant (`None`: an operator token), audited (`token.revoked`); the
/// revocation is effective on every replica within the auth cache's lifetime (2 s).
pub async fn revoke(state: &AppState, tenant: Option<TenantId>, id: StaffId, actor: Actor) -> ApiResult<()> {
    if !state.platform.revoke_token(tenant, id, state.clock.now()).await? {
        return Err(ApiError::not_found("token"));
    }
    state.auth.clear();
    audit(state, tenant, actor, vec![DomainEvent::TokenRevoked { staff: id }]).await
}

/// Issues an invitation for a tenant role (secret shown once, stored as a hash), audited in the
/// tenant's chain (`invitation.issued`, with origin and break-glass reason).
pub async fn invite(
    state: &AppState,
    tenant: TenantId,
    role: Role,
    origin: InvitationOrigin,
    reason: Option<BreakGlassReason>,
    actor: Actor,
) -> ApiResult<(Invitation, String)> {
    if role == Role::Operator {
        return Err(ApiError::invalid("an invitation is for a tenant role"));
    }
    let created_by = match actor {
        Actor::Staff { id, .. } => Some(id),
        Actor::System | Actor::Candidate => None,
    };
    let mut invitation =
        Invitation::new(StaffId::from_uuid(Uuid::now_v7()), tenant, role, origin, created_by, state.clock.now());
    invitation.reason = reason;
    let secret = new_token().replacen(crate::auth::TOKEN_PREFIX, INVITATION_PREFIX, 1);
    state.platform.create_invitation(&invitation, &secret).await?;
    audit(
        state,
        Some(tenant),
        actor,
        vec![DomainEvent::InvitationIssued { staff: invitation.id, role, origin, reason }],
    )
    .await?;
    Ok((invitation, secret))
}

/// Accepts an invitation: single use, before it expires; creates the credential (its creator
/// is the invitation's creator) and audits `invitation.accepted` and `token.issued` in the
/// tenant's chain, where the tenant sees them.
pub async fn accept(state: &AppState, secret: &str, expires_in_days: Option<u32>) -> ApiResult<(Invitation, Issued)> {
    let invalid = || ApiError::new(axum::http::StatusCode::NOT_FOUND, "invitation_invalid", "no such invitation");
    if !secret.starts_with(INVITATION_PREFIX) || secret.len() > 128 {
        return Err(invalid());
    }
    let mut invitation = state.platform.invitation(secret).await?.ok_or_else(invalid)?;
    let now = state.clock.now();
    invitation.accept(now).map_err(invitation_error)?;
    let settings = state.app.tenant_config(invitation.tenant).await?.tenant.credentials;
    let expires_at = Some(settings.token_expiry(expires_in_days, now).map_err(|e| ApiError::invalid(e.to_string()))?);
    let token = new_token();
    let label = match invitation.origin {
        InvitationOrigin::TenantCreated => "invitation",
        InvitationOrigin::BreakGlass => "break-glass invitation",
    };
    let record = ApiToken {
        id: invitation.id,
        tenant: Some(invitation.tenant),
        role: invitation.role,
        label: label.to_owned(),
        created_by: invitation.created_by,
        expires_at,
    };
    if !state.platform.accept_invitation(invitation.id, &record, &token, now).await? {
        return Err(invitation_error(InvitationError::Used));
    }
    let actor = Actor::Staff { id: invitation.id, role: invitation.role };
    audit(
        state,
        Some(invitation.tenant),
        actor,
        vec![
            DomainEvent::InvitationAccepted { staff: invitation.id, role: invitation.role },
            DomainEvent::TokenIssued { staff: invitation.id, role: invitation.role },
        ],
    )
    .await?;
    Ok((invitation.clone(), Issued { id: invitation.id, secret: token, expires_at }))
}

fn invitation_error(e: InvitationError) -> ApiError {
    ApiError::new(axum::http::StatusCode::GONE, e.code(), e.to_string())
}

/// What the operator may mint with the CLI for `tenant`: operator tokens only; a tenant's
/// credentials come from invitations (its first admin's with the tenant, later a break-glass
/// one).
pub fn operator_mint_allowed(role: Role, tenant: Option<TenantId>) -> Result<(), String> {
    match (role, tenant) {
        (Role::Operator, None) if operator_may_mint(role) => Ok(()),
        (Role::Operator, _) => Err("the operator role has no tenant".into()),
        (Role::Admin | Role::Dpo | Role::Recruiter, _) => Err(format!(
            "the operator does not mint {} credentials for a tenant: the tenant's first admin accepts the invitation \
             from `hoheit tenant create`, and its admin issues further tokens; for a lost admin use \
             `hoheit tenant break-glass --tenant <id> --reason lost_admin|admin_left|compromised`",
            role.as_str()
        )),
    }
}
