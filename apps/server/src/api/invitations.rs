//! Invitations (issue 13): a tenant's first admin (and, on request, its first DPO) gets in by
//! accepting the invitation that came with the tenant; a break-glass invitation (operator CLI,
//! lost admin) works the same way. Accepting needs no bearer token: the invitation secret is the
//! credential, single-use and expiring. The tenant's admin and DPO list every invitation, its
//! origin and whether it was used: an invitation the operator redeemed is visible to them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, can, fmt_time};
use crate::credentials;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![accept_invitation, list_invitations]
}

/// Accepts an invitation (no bearer token): single use, within 72 hours. Returns the new
/// credential, shown once. Audited in the tenant's chain (`invitation.accepted`, `token.issued`).
#[utoipa::path(post, path = "/invitations/accept", tag = "tenants", request_body = AcceptInvitation,
    responses((status = 201, body = InvitationAccepted), (status = 404, body = ErrorBody, description = "invitation_invalid"),
        (status = 410, body = ErrorBody, description = "invitation_used or invitation_expired")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AcceptInvitation>,
) -> ApiResult<(StatusCode, Json<InvitationAccepted>)> {
    let (invitation, issued) = credentials::accept(&state, body.invitation.trim(), body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationAccepted {
            tenant_id: invitation.tenant.to_string(),
            id: issued.id.to_string(),
            role: invitation.role.as_str().to_owned(),
            token: issued.secret,
            expires_at: issued.expires_at.map(fmt_time),
        }),
    ))
}

/// The tenant's invitations (admin, DPO): role, origin (`tenant_created`, `break_glass` with its
/// reason), creator, times, whether used. Never a secret.
#[utoipa::path(get, path = "/invitations", tag = "tenants",
    responses((status = 200, body = [InvitationView]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_invitations(caller: Caller<can::ListCredentials>) -> ApiResult<Json<Vec<InvitationView>>> {
    let invitations = caller.state.platform.invitations(caller.tenant).await?;
    Ok(Json(invitations.iter().map(InvitationView::from).collect()))
}

/// `POST /api/v1/invitations/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The invitation secret (`hoi_...`).
    pub invitation: String,
    /// Lifetime of the new token in days (default 90; at most the tenant's `token_max_days`).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// The credential an accepted invitation created (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    /// Tenant.
    pub tenant_id: String,
    /// The identity the token acts as.
    pub id: String,
    /// Role.
    pub role: String,
    /// The bearer token. Shown only once.
    pub token: String,
    /// When it stops working.
    pub expires_at: Option<String>,
}

/// An invitation issued (its secret is never shown again).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationIssued {
    /// The identity the accepted invitation becomes.
    pub id: String,
    /// Role it grants.
    pub role: String,
    /// The secret to hand to the invited person (accept with `POST /api/v1/invitations/accept`).
    /// Shown only once.
    pub invitation: String,
    /// Until when it can be accepted.
    pub expires_at: String,
}

/// An invitation as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    /// The identity the accepted invitation becomes.
    pub id: String,
    /// Role.
    pub role: String,
    /// `tenant_created` or `break_glass`.
    pub origin: String,
    /// For `break_glass`: `lost_admin`, `admin_left` or `compromised`.
    pub reason: Option<String>,
    /// Creator (`null`: the operator or the system).
    pub created_by: Option<String>,
    /// Issued.
    pub created_at: String,
    /// Acceptable until.
    pub expires_at: String,
    /// When accepted, if it was.
    pub accepted_at: Option<String>,
}

impl From<&hoheit_domain::credential::Invitation> for InvitationView {
    fn from(i: &hoheit_domain::credential::Invitation) -> Self {
        Self {
            id: i.id.to_string(),
            role: i.role.as_str().to_owned(),
            origin: i.origin.as_str().to_owned(),
            reason: i.reason.map(|r| r.as_str().to_owned()),
            created_by: i.created_by.map(|s| s.to_string()),
            created_at: fmt_time(i.created_at),
            expires_at: fmt_time(i.expires_at),
            accepted_at: i.accepted_at.map(fmt_time),
        }
    }
}

impl InvitationIssued {
    /// From a fresh invitation and its secret.
    pub fn new(i: &hoheit_domain::credential::Invitation, secret: String) -> Self {
        Self {
            id: i.id.to_string(),
            role: i.role.as_str().to_owned(),
            invitation: secret,
            expires_at: fmt_time(i.expires_at),
        }
    }
}
