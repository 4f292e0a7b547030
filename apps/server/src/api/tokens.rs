//! API tokens of a tenant's roles (operator tokens are created with the CLI): issue (admin, with
//! an expiry up to the tenant's maximum), list without secrets (admin, DPO), revoke (admin), and
//! the tenant's credential rules (issue 13). Every step is an entry of the tenant's audit chain.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hoheit_domain::credential::{CredentialSettings, TokenState};
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::Clock as _;
use hoheit_domain::tenant::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, Id, can, fmt_time};
use crate::credentials::{self, Issued};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(create_token, list_tokens), revoke_token, (get_credential_settings, put_credential_settings)]
}

/// Issues a token without a creator (the system: development mode and test harnesses, never
/// an operator path) and audits it.
pub async fn issue_token(
    state: &AppState,
    tenant: Option<TenantId>,
    role: Role,
    label: &str,
) -> ApiResult<(StaffId, String)> {
    let Issued { id, secret, .. } =
        credentials::issue(state, tenant, role, label, hoheit_domain::tenant::Actor::System, None).await?;
    Ok((id, secret))
}

/// Creates a token for the caller's tenant (admin); it expires after `expires_in_days` (default
/// 90, at most the tenant's `token_max_days`). Audited as `token.issued`.
#[utoipa::path(post, path = "/tokens", tag = "tenants", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller<can::IssueToken>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let tenant = caller.tenant;
    let role = Role::parse(&body.role).map_err(|e| ApiError::invalid(e.to_string()))?;
    if role == Role::Operator {
        return Err(ApiError::forbidden("operator tokens are created with the CLI"));
    }
    let label = body.label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(ApiError::invalid("label must be 1-100 characters"));
    }
    let issued = credentials::issue(&state, Some(tenant), role, label, caller.actor, body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: issued.id.to_string(),
            role: role.as_str().to_owned(),
            token: issued.secret,
            expires_at: issued.expires_at.map(fmt_time),
        }),
    ))
}

/// The tenant's tokens (admin, DPO): id, role, label, creator, issue, expiry, last use and
/// revocation times, state. Never a secret.
#[utoipa::path(get, path = "/tokens", tag = "tenants",
    responses((status = 200, body = [TokenView]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller<can::ListCredentials>,
) -> ApiResult<Json<Vec<TokenView>>> {
    let now = state.clock.now();
    let tokens = state.platform.tokens(Some(caller.tenant)).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|r| TokenView {
                id: r.token.id.to_string(),
                role: r.token.role.as_str().to_owned(),
                label: r.token.label.clone(),
                created_by: r.token.created_by.map(|s| s.to_string()),
                created_at: fmt_time(r.created_at),
                expires_at: r.token.expires_at.map(fmt_time),
                last_used_at: r.last_used_at.map(fmt_time),
                revoked_at: r.revoked_at.map(fmt_time),
                state: TokenState::at(r.revoked_at, r.token.expires_at, now).as_str().to_owned(),
            })
            .collect(),
    ))
}

/// Revokes a token of the tenant (admin); effective on every replica within 2 seconds.
/// Audited as `token.revoked`.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tenants",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller<can::RevokeToken>,
    Id(id): Id<StaffId>,
) -> ApiResult<StatusCode> {
    credentials::revoke(&state, Some(caller.tenant), id, caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's credential rules (admin, DPO).
#[utoipa::path(get, path = "/settings/credentials", tag = "tenants",
    responses((status = 200, body = CredentialSettingsDto), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_credential_settings(
    State(state): State<AppState>,
    caller: Caller<can::ListCredentials>,
) -> ApiResult<Json<CredentialSettingsDto>> {
    let config = state.app.tenant_config(caller.tenant).await?;
    Ok(Json(CredentialSettingsDto::from(config.tenant.credentials)))
}

/// Changes the credential rules (admin, DPO): `dpo_appointed_by_admin` lets a DPO whose
/// credential the registering admin created approve that admin's channels (R1; audited as
/// `credential.settings_changed`, shown in the Art. 30 record); `token_max_days` caps token
/// lifetimes (1-730).
#[utoipa::path(put, path = "/settings/credentials", tag = "tenants", request_body = CredentialSettingsDto,
    responses((status = 200, body = CredentialSettingsDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_credential_settings(
    State(state): State<AppState>,
    caller: Caller<can::ChangeCredentialSettings>,
    ApiJson(body): ApiJson<CredentialSettingsDto>,
) -> ApiResult<Json<CredentialSettingsDto>> {
    let current = state.app.tenant_config(caller.tenant).await?.tenant.credentials;
    let settings = CredentialSettings {
        dpo_appointed_by_admin: body.dpo_appointed_by_admin,
        token_max_days: body.token_max_days,
        recruiter_second_factor: body.recruiter_second_factor.unwrap_or(current.recruiter_second_factor),
    };
    let tenant = state.app.update_credential_settings(caller.tenant, caller.actor, settings).await?;
    Ok(Json(CredentialSettingsDto::from(tenant.credentials)))
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
    /// A label (not a person's name, e.g. "recruiting team Berlin").
    pub label: String,
    /// Lifetime in days (default 90; at most the tenant's `token_max_days`).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new token (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The identity the token acts as.
    pub id: String,
    /// The role.
    pub role: String,
    /// The bearer token. Shown only once.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires_at: Option<String>,
}

/// A token as listed (no secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Id (the identity it acts as).
    pub id: String,
    /// Role.
    pub role: String,
    /// Label.
    pub label: String,
    /// The identity that created it (`null`: the operator's invitation or the system).
    pub created_by: Option<String>,
    /// Issued.
    pub created_at: String,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Last use (recorded at most once a minute).
    pub last_used_at: Option<String>,
    /// Revocation.
    pub revoked_at: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub state: String,
}

/// A tenant's credential rules.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSettingsDto {
    /// Whether a DPO whose credential the channel's registering admin created may approve that
    /// channel ("DPO appointed by the admin"). Default `false`.
    pub dpo_appointed_by_admin: bool,
    /// The longest token lifetime in days (1-730, default 90).
    pub token_max_days: u32,
    /// Whether recruiters must set up a second factor (TOTP) for browser sign-in too; admins and
    /// DPOs always must (issue 16). Default `false`; left out, it is kept as it is.
    #[serde(default)]
    pub recruiter_second_factor: Option<bool>,
}

impl From<CredentialSettings> for CredentialSettingsDto {
    fn from(s: CredentialSettings) -> Self {
        Self {
            dpo_appointed_by_admin: s.dpo_appointed_by_admin,
            token_max_days: s.token_max_days,
            recruiter_second_factor: Some(s.recruiter_second_factor),
        }
    }
}
