//! Staff accounts (issue 16): admins invite staff (an account in status `invited` and a
//! single-use invitation link, shown once), list them (admin, DPO), change a role, disable an
//! account (its sessions end, its tokens are refused at once) and reset a second factor. The
//! rules (only admins, the last active admin, R1) are the domain's (`hoheit_domain::staff`).
//! E-mail and name are the employees' personal data: returned to the tenant's admin and DPO,
//! never logged or audited (the audit log names staff by id).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hoheit_domain::ids::StaffId;
use hoheit_domain::staff::StaffLanguage;
use hoheit_domain::tenant::Role;
use hoheit_domain::usecases::{StaffInvite, StaffView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, can, fmt_time, path_id};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![invite_staff, list_staff, change_role, disable_staff, reset_second_factor]
}

/// `POST /api/v1/staff/invitations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteStaff {
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
    /// The person's e-mail address (sealed at rest; how they sign in locally).
    pub email: String,
    /// The person's name as the UI shows it (sealed at rest).
    pub display_name: String,
    /// `de` (default) or `en`.
    #[serde(default)]
    pub language: Option<String>,
}

/// A staff invitation just created (the secret is shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffInvited {
    /// The account.
    pub staff: StaffDto,
    /// The invitation secret (`hoi_...`): hand it over as the invitation link. Shown once.
    pub invitation: String,
    /// Until when it can be accepted (72 hours).
    pub expires_at: String,
}

/// A staff account.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    /// Id (also the id its audit entries name).
    pub id: String,
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// Name (personal data of the employee).
    pub display_name: String,
    /// E-mail (personal data of the employee).
    pub email: String,
    /// `de` or `en`.
    pub language: String,
    /// Who created it (`null`: the operator's CLI or the system).
    pub created_by: Option<String>,
    /// Created.
    pub created_at: String,
    /// Whether it signs in with a local password.
    pub local_password: bool,
    /// Whether its TOTP second factor is set up.
    pub totp: bool,
    /// The identity provider it is bound to, if any.
    pub idp_issuer: Option<String>,
}

impl From<StaffView> for StaffDto {
    fn from(v: StaffView) -> Self {
        Self {
            id: v.id.to_string(),
            role: v.role.as_str().to_owned(),
            status: v.status.as_str().to_owned(),
            display_name: v.display_name.expose().clone(),
            email: v.email.expose().as_str().to_owned(),
            language: v.language.as_str().to_owned(),
            created_by: v.created_by.map(|s| s.to_string()),
            created_at: fmt_time(v.created_at),
            local_password: v.local_password,
            totp: v.totp,
            idp_issuer: v.idp_issuer,
        }
    }
}

/// `PATCH /api/v1/staff/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    /// The new role: `admin`, `dpo` or `recruiter`.
    pub role: String,
}

fn staff_id(raw: &str) -> Result<StaffId, ApiError> {
    path_id(raw, "staff")
}

/// Invites a staff member (admin): creates the account (`invited`) and a single-use invitation
/// valid 72 hours, shown once. Audited `invitation.issued` (by id, role).
#[utoipa::path(post, path = "/staff/invitations", tag = "staff", request_body = InviteStaff,
    responses((status = 201, body = StaffInvited), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "email_taken")),
    security(("bearer" = []), ("session" = [])))]
pub async fn invite_staff(
    State(state): State<AppState>,
    caller: Caller<can::ManageStaff>,
    ApiJson(body): ApiJson<InviteStaff>,
) -> ApiResult<(StatusCode, Json<StaffInvited>)> {
    let role = Role::parse(&body.role)?;
    let language = body.language.as_deref().map(StaffLanguage::parse).transpose()?;
    let invited = state
        .app
        .invite_staff(
            caller.actor,
            caller.tenant,
            StaffInvite { role, email: body.email, display_name: body.display_name, language },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffInvited {
            staff: invited.account.into(),
            invitation: invited.secret.expose().to_owned(),
            expires_at: fmt_time(invited.invitation.expires_at),
        }),
    ))
}

/// The tenant's staff accounts (admin, DPO), oldest first.
#[utoipa::path(get, path = "/staff", tag = "staff",
    responses((status = 200, body = [StaffDto]), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list_staff(
    State(state): State<AppState>,
    caller: Caller<can::ListStaff>,
) -> ApiResult<Json<Vec<StaffDto>>> {
    let staff = state.app.staff_list(caller.actor, caller.tenant).await?;
    Ok(Json(staff.into_iter().map(StaffDto::from).collect()))
}

/// Changes a role (admin). The last active admin stays admin (409 `last_active_admin`); an admin
/// never makes itself DPO (403 `dpo_not_independent`, R1). The account's sessions end. Audited.
#[utoipa::path(patch, path = "/staff/{id}", tag = "staff", request_body = ChangeRole,
    params(("id" = String, Path, description = "staff id")),
    responses((status = 200, body = StaffDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "last_active_admin, account_disabled")),
    security(("bearer" = []), ("session" = [])))]
pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller<can::ManageStaff>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> ApiResult<Json<StaffDto>> {
    let id = staff_id(&id)?;
    let role = Role::parse(&body.role)?;
    let view = state.app.change_staff_role(caller.actor, caller.tenant, id, role).await?;
    state.auth.clear();
    Ok(Json(view.into()))
}

/// Disables an account (admin; never the last active admin): its sessions end and its tokens
/// are refused at once (on other replicas within 2 s). Audited `staff.disabled`.
#[utoipa::path(post, path = "/staff/{id}/disable", tag = "staff",
    params(("id" = String, Path, description = "staff id")),
    responses((status = 200, body = StaffDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "last_active_admin")),
    security(("bearer" = []), ("session" = [])))]
pub async fn disable_staff(
    State(state): State<AppState>,
    caller: Caller<can::ManageStaff>,
    Path(id): Path<String>,
) -> ApiResult<Json<StaffDto>> {
    let id = staff_id(&id)?;
    let view = state.app.disable_staff(caller.actor, caller.tenant, id).await?;
    state.auth.clear();
    Ok(Json(view.into()))
}

/// Resets an account's second factor (admin): TOTP and recovery codes removed, sessions end;
/// the person sets up TOTP again at the next sign-in. Audited.
#[utoipa::path(post, path = "/staff/{id}/second-factor/reset", tag = "staff",
    params(("id" = String, Path, description = "staff id")),
    responses((status = 200, body = StaffDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    caller: Caller<can::ManageStaff>,
    Path(id): Path<String>,
) -> ApiResult<Json<StaffDto>> {
    let id = staff_id(&id)?;
    let view = state.app.reset_second_factor(caller.actor, caller.tenant, id).await?;
    Ok(Json(view.into()))
}
