//! API tokens of a tenant's roles (operator tokens are created with the CLI).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::tenant::Role;
use hoheit_persistence::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{ApiJson, Caller, can};
use crate::auth::new_token;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token))
}

/// Issues a token for a tenant role and stores its hash.
pub async fn issue_token(
    state: &AppState,
    tenant: Option<TenantId>,
    role: Role,
    label: &str,
) -> ApiResult<(StaffId, String)> {
    let id = StaffId::from_uuid(Uuid::now_v7());
    let token = new_token();
    let record = ApiToken { id, tenant, role, label: label.to_owned() };
    state.platform.create_token(&record, &token, hoheit_domain::ports::Clock::now(state.clock.as_ref())).await?;
    Ok((id, token))
}

/// Creates a token for the caller's tenant (admin).
#[utoipa::path(post, path = "/tokens", tag = "tenants", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
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
    let (id, token) = issue_token(&state, Some(tenant), role, label).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { id: id.to_string(), role: role.as_str().to_owned(), token })))
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
    /// A label (not a person's name, e.g. "recruiting team Berlin").
    pub label: String,
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
}
